/* backends/kir/print.c — the text form of a group: what the unit tests compare and what `kernels` writes
 * beside each .cu, so a reader sees the fused group before its CUDA. */
#include "kir.h"

static void dims(IrGraph *g, int rank, const IrDim *d, M2cBuf *out)
{
    m2c_buf_putc(out, '[');
    for (int i = 0; i < rank; i++) {
        if (i) m2c_buf_puts(out, ", ");
        ir_dim_print(g, d[i], out);
    }
    m2c_buf_putc(out, ']');
}

static const char *node_name(IrGraph *g, uint32_t n)
{
    const IrNode *node = ir_node(g, n);
    if (node->loc.node && node->loc.node[0]) return node->loc.node;
    return node->nout ? ir_val(g, node->out[0])->name : "?";
}

static void expr(const KirGroup *k, uint32_t i, M2cBuf *out)
{
    const KirExpr *e = &k->ex.v[i];
    m2c_buf_printf(out, "  e%u = %s%s", i, e->cls == KIR_I64 ? "i:" : "", kir_xop_name(e->op));
    switch (e->op) {
    case KX_LOAD: m2c_buf_printf(out, " %s", k->args.v[e->arg].name); break;
    case KX_CONST: m2c_buf_printf(out, " %.9g", e->p[0]); break;
    case KX_CAST: m2c_buf_printf(out, " e%u to %s", e->a[0], ir_dtype_name(e->to)); break;
    default:
        for (int j = 0; j < kir_xop_arity(e->op); j++) m2c_buf_printf(out, " e%u", e->a[j]);
        break;
    }
    switch (e->op) {
    case KX_ISINF: case KX_SELU: case KX_HARD_SIGMOID: case KX_SHRINK:
        m2c_buf_printf(out, " {%.9g, %.9g}", e->p[0], e->p[1]);
        break;
    case KX_SWISH: case KX_LEAKY_RELU: case KX_ELU: case KX_CELU: case KX_THRESHOLDED_RELU:
        m2c_buf_printf(out, " {%.9g}", e->p[0]);
        break;
    default: break;
    }
    m2c_buf_putc(out, '\n');
}

static void params(IrGraph *g, const KirGroup *k, M2cBuf *out)
{
    switch (k->kind) {
    case KIR_ROW:
        m2c_buf_printf(out, "  row: axis %d", k->row.axis);
        if (k->row.op == KIR_ROW_LAYERNORM || k->row.op == KIR_ROW_RMSNORM) m2c_buf_printf(out, ", eps %.9g", k->row.eps);
        m2c_buf_putc(out, '\n');
        break;
    case KIR_EPILOGUE:
        m2c_buf_printf(out, "  gemm: %s\n", node_name(g, k->linear));
        break;
    case KIR_ROPE:
        m2c_buf_printf(out, "  rope: x %s, cos %s, sin %s, pos %s, rotary_dim %lld, %s%s\n", k->args.v[k->rope.x].name,
                       k->args.v[k->rope.cos].name, k->args.v[k->rope.sin].name,
                       k->rope.pos >= 0 ? k->args.v[k->rope.pos].name : "none", (long long)k->rope.rotary_dim,
                       k->rope.interleaved ? "interleaved" : "halves", k->rope.shared_batch ? ", batch-1 caches" : "");
        break;
    case KIR_DWCONV1D:
        m2c_buf_printf(out, "  conv: x %s, w %s, k %lld, stride %lld, dilation %lld, pad %lld, mult %lld\n",
                       k->args.v[k->conv.x].name, k->args.v[k->conv.w].name, (long long)k->conv.k,
                       (long long)k->conv.stride, (long long)k->conv.dilation, (long long)k->conv.pad,
                       (long long)k->conv.mult);
        break;
    case KIR_ATTENTION: {
        const KirAttn *a = &k->attn;
        m2c_buf_printf(out, "  attention: q %s, k %s, v %s, head %lld/%lld, scale %.9g%s", k->args.v[a->q].name,
                       k->args.v[a->k].name, k->args.v[a->v].name, (long long)a->head, (long long)a->vhead, a->scale,
                       a->causal ? (a->past_keys ? ", causal (keys include the past)" : ", causal") : "");
        if (a->softcap > 0) m2c_buf_printf(out, ", softcap %.9g", a->softcap);
        if (a->lwin >= 0 || a->rwin >= 0) m2c_buf_printf(out, ", window %lld/%lld", (long long)a->lwin, (long long)a->rwin);
        if (a->mask >= 0) {
            m2c_buf_printf(out, ", mask %s (%s) at ", k->args.v[a->mask].name, a->mask_bool ? "bool" : "additive");
            dims(g, 4, a->mask_at, out);
            m2c_buf_puts(out, " keys < ");
            ir_dim_print(g, a->mask_last, out);
        }
        m2c_buf_putc(out, '\n');
        break;
    }
    default: break;
    }
}

void kir_print(IrGraph *g, const KirGroup *k, M2cBuf *out)
{
    m2c_buf_printf(out, "kernel %s: %s over ", k->name ? k->name : "?", kir_kind_name(k));
    dims(g, k->rank, k->space, out);
    m2c_buf_puts(out, "\n  replaces");
    for (uint32_t i = 0; i < k->nodes.n; i++) m2c_buf_printf(out, " %s", node_name(g, k->nodes.v[i]));
    m2c_buf_putc(out, '\n');
    for (uint32_t i = 0; i < k->args.n; i++) {
        const KirArg *a = &k->args.v[i];
        m2c_buf_printf(out, "  %s: %s", a->name, ir_dtype_name(a->dtype));
        dims(g, a->rank, a->dims, out);
        if (a->src == KIR_SRC_GEMM_ACC) m2c_buf_printf(out, " = matmul of %s", node_name(g, a->node));
        else m2c_buf_printf(out, " = %%%s", ir_val(g, a->value)->name);
        if (a->use == KIR_ARG_POINTWISE) {
            m2c_buf_puts(out, " at ");
            dims(g, k->rank, a->at, out);
        } else if (a->use == KIR_ARG_INDEXED) {
            m2c_buf_puts(out, " indexed");
        }
        m2c_buf_putc(out, '\n');
    }
    if (k->syms.n) {
        m2c_buf_puts(out, "  scalars:");
        for (uint32_t i = 0; i < k->syms.n; i++) {
            const KirSym *s = &k->syms.v[i];
            m2c_buf_printf(out, " %s", s->name);
            if (s->arg >= 0) m2c_buf_printf(out, "(%s.%d)", k->args.v[s->arg].name, s->axis);
        }
        m2c_buf_putc(out, '\n');
    }
    params(g, k, out);
    for (uint32_t i = 0; i < k->ex.n; i++) expr(k, i, out);
    if (k->kind == KIR_ROW) m2c_buf_printf(out, "  pro = e%u\n", k->pro);
    if (k->kind != KIR_ATTENTION) m2c_buf_printf(out, "  epi = e%u\n", k->epi);
}
