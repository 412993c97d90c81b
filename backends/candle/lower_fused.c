/* backends/candle/lower_fused.c — the ops of ours that the fusion passes make (Linear, Silu, QuickGelu,
 * GatedAct, KvCache), where they are not a candle_nn layer of their own (modules.c turns a Linear module into
 * candle_nn::Linear). */
#include "cg.h"

#include <string.h>

static bool linear(CgFn *f, const IrNode *n)
{
    const IrValue *x = ir_val(f->g, n->in[0]);
    bool trans = ir_attr_int(n, "trans_w", 1) != 0;
    /* the weight is a field (contiguous): its .t() is a transposed view GEMMs take as is */
    const char *w = trans ? m2c_sprintf(f->a, "%s.t()?", cg_v(f, n->in[1])) : cg_contig(f, n->in[1], true);
    uint32_t b = ir_input(n, 2);
    const char *y = cg_out(f, n, 0);
    const char *prod = b != IR_NONE ? cg_fresh(f, "product") : y;
    if (x->rank == 2) {
        cg_stmt(f, "let %s = %s.matmul(&%s)?;", prod, cg_contig(f, n->in[0], true), w);
    } else {
        /* a batch of rows is one GEMM over the flattened batch, as candle_nn::Linear does */
        IrDim rows = ir_dim_const(f->g, 1);
        for (int i = 0; i < x->rank - 1; i++) rows = ir_dim_mul(f->g, rows, x->dims[i]);
        const char *flat = cg_fresh(f, "rows");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", flat, cg_in(f, n, 0), cg_dim(f, rows), cg_dim(f, x->dims[x->rank - 1]));
        const char *mm = cg_fresh(f, "product");
        cg_stmt(f, "let %s = %s.matmul(&%s)?;", mm, flat, w);
        cg_stmt(f, "let %s = %s.reshape(%s)?;", prod, mm, cg_shape_of(f, n->out[0]));
    }
    if (b != IR_NONE) cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", y, prod, cg_ref(f, b));
    return true;
}

/* act(gate) · up: candle's fused activations on the gate, then one product */
static bool gated_act(CgFn *f, const IrNode *n)
{
    const char *act = ir_attr_str(n, "activation", ""), *gate = cg_in(f, n, 0), *a;
    if (strcmp(act, "silu") == 0) a = m2c_sprintf(f->a, "%s.silu()?", gate);
    else if (strcmp(act, "relu") == 0) a = m2c_sprintf(f->a, "%s.relu()?", gate);
    else if (strcmp(act, "gelu") == 0) a = m2c_sprintf(f->a, "%s.gelu_erf()?", gate);
    else if (strcmp(act, "gelu_tanh") == 0) a = m2c_sprintf(f->a, "%s.gelu()?", gate);
    else if (strcmp(act, "quick_gelu") == 0) {
        const char *g = cg_in_ref(f, n, 0);
        a = m2c_sprintf(f->a, "(%s * candle_nn::ops::sigmoid(&(%s * %s)?)?)?", g, g,
                        cg_f32(f->a, ir_attr_float(n, "alpha", 1.702)));
    } else {
        return cg_unsupported(f, n, m2c_sprintf(f->a, "GatedAct with activation '%s'", act));
    }
    cg_stmt(f, "let %s = %s.broadcast_mul(%s)?;", cg_out(f, n, 0), a, cg_ref(f, n->in[1]));
    return true;
}

/* The keys and values of the new positions after the cached ones: the struct keeps a
 * candle_nn::kv_cache::KvCache (structs.c adds the field), whose append wants contiguous tensors and returns
 * views of its buffers. */
static bool kv_cache(CgFn *f, const IrNode *n)
{
    if (!f->instance) return cg_unsupported(f, n, "a KV cache outside a module struct");
    const char *field = cg_kv_field(f->a, f->kv_caches++);
    const char *k = cg_contig(f, n->in[0], false), *v = cg_contig(f, n->in[1], false);
    const char *ko = cg_out(f, n, 0), *vo = cg_out(f, n, 1);
    cg_stmt(f, "let (%s, %s) = self.%s.append(&%s, &%s)?;", ko, vo, field, k, v);
    cg_set_layout(f, n->out[0], LAYOUT_VIEW);
    cg_set_layout(f, n->out[1], LAYOUT_VIEW);
    return true;
}

bool cg_lower_fused(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_LINEAR:
        return linear(f, n);
    case IR_OP_SILU:
        cg_stmt(f, "let %s = %s.silu()?;", cg_out(f, n, 0), cg_in(f, n, 0));
        return true;
    case IR_OP_QUICK_GELU: {
        const char *x = cg_in_ref(f, n, 0);
        cg_stmt(f, "let %s = (%s * candle_nn::ops::sigmoid(&(%s * %s)?)?)?;", cg_out(f, n, 0), x, x,
                cg_f32(f->a, ir_attr_float(n, "alpha", 1.702)));
        return true;
    }
    case IR_OP_GATED_ACT:
        return gated_act(f, n);
    case IR_OP_KV_CACHE:
        return kv_cache(f, n);
    default:
        return cg_unsupported(f, n, "not one of the fused ops");
    }
}
