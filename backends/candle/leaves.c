/* backends/candle/leaves.c — leaf modules candle_nn already has, recognized from their nodes:
 *
 *   Linear      MatMul(x, W[in,out]) [+ Add(b)]   (W stored transposed: PyTorch's (out, in))
 *               Gemm(x, W, b, transB=1)            (W as is)
 *   Embedding   Gather(W[vocab, dim], ids, axis=0)
 *   LayerNorm   LayerNormalization(x, w, b, axis=-1)
 *   RmsNorm     RMSNormalization(x, w, axis=-1)   (what the RMSNorm fusion makes of HF's LlamaRMSNorm)
 *
 * The scope is only a hint: the nodes must be exactly this, with weights as parameters, one tensor in and
 * one out.  Anything else stays a struct of ours. */
#include "modules.h"

static const IrValue *val(ModTree *t, uint32_t v)
{
    return ir_val(t->g, v);
}

/* A weight of the layer: an initializer of the model, or a constant the export folded it into (a Linear's
 * transposed weight) — the layer names it after its PyTorch place either way. */
static bool is_param(ModTree *t, uint32_t v, int rank)
{
    return v != IR_NONE && val(t, v)->producer == IR_NONE && val(t, v)->konst && val(t, v)->rank == rank &&
           ir_dtype_is_float(val(t, v)->dtype);
}

static const IrNode *node(ModTree *t, const Mod *m, uint32_t i)
{
    return ir_node(t->g, m->nodes.v[i]);
}

static bool linear(ModTree *t, Mod *m)
{
    const IrNode *a = node(t, m, 0);
    const IrNode *add = m->nodes.n == 2 ? node(t, m, 1) : NULL;
    if (m->nodes.n > 2) return false;
    if (a->op == IR_OP_LINEAR && !add) {
        if (a->in[0] != m->in.v[0] || !is_param(t, a->in[1], 2)) return false;
        uint32_t b = ir_input(a, 2);
        if (b != IR_NONE && !is_param(t, b, 1)) return false;
        m->weight = a->in[1];
        m->bias = b;
        m->weight_transposed = !ir_attr_int(a, "trans_w", 1);
    } else if (a->op == IR_OP_GEMM && !add) {
        if (ir_attr_int(a, "transA", 0) || ir_attr_float(a, "alpha", 1) != 1 || ir_attr_float(a, "beta", 1) != 1)
            return false;
        if (a->in[0] != m->in.v[0] || !is_param(t, a->in[1], 2)) return false;
        uint32_t b = ir_input(a, 2);
        if (b != IR_NONE && !is_param(t, b, 1)) return false;
        m->weight = a->in[1];
        m->bias = b;
        m->weight_transposed = !ir_attr_int(a, "transB", 0);
    } else if (a->op == IR_OP_MATMUL) {
        if (a->in[0] != m->in.v[0] || !is_param(t, a->in[1], 2) || val(t, a->in[0])->rank < 2) return false;
        m->weight = a->in[1];
        m->bias = IR_NONE;
        m->weight_transposed = true;
        if (add) {
            if (add->op != IR_OP_ADD || ir_use_count(t->g, a->out[0]) != 1) return false;
            uint32_t other = add->in[0] == a->out[0] ? add->in[1] : add->in[1] == a->out[0] ? add->in[0] : IR_NONE;
            if (!is_param(t, other, 1)) return false;
            m->bias = other;
        }
    } else {
        return false;
    }
    /* A weight the model keeps as (in, out) under its own PyTorch name (HF's Conv1D) is not nn.Linear's: storing
     * it transposed would break loading the PyTorch checkpoint.  Only anonymous (folded) ones are transposed. */
    if (m->weight_transposed && (val(t, m->weight)->flags & V_PARAM)) return false;
    const int64_t *ws = val(t, m->weight)->konst->shape;
    m->in_features = m->weight_transposed ? ws[0] : ws[1];
    m->out_features = m->weight_transposed ? ws[1] : ws[0];
    if (m->bias != IR_NONE && val(t, m->bias)->konst->shape[0] != m->out_features) return false;
    m->kind = MOD_LINEAR;
    return true;
}

static bool embedding(ModTree *t, Mod *m)
{
    const IrNode *a = node(t, m, 0);
    if (m->nodes.n != 1 || a->op != IR_OP_GATHER || ir_attr_int(a, "axis", 0) != 0) return false;
    if (!is_param(t, a->in[0], 2) || a->in[1] != m->in.v[0]) return false;
    IrDType ids = val(t, a->in[1])->dtype;
    if (ids != DT_I64 && ids != DT_U32 && ids != DT_U8) return false;
    m->weight = a->in[0];
    m->in_features = val(t, m->weight)->konst->shape[0];
    m->out_features = val(t, m->weight)->konst->shape[1];
    m->kind = MOD_EMBEDDING;
    return true;
}

static bool layer_norm(ModTree *t, Mod *m)
{
    const IrNode *a = node(t, m, 0);
    if (m->nodes.n != 1 || a->op != IR_OP_LAYER_NORM || a->in[0] != m->in.v[0]) return false;
    int rank = val(t, a->in[0])->rank;
    int64_t axis = ir_attr_int(a, "axis", -1);
    if (axis != -1 && axis != rank - 1) return false;
    if (!is_param(t, a->in[1], 1)) return false;
    uint32_t b = ir_input(a, 2);
    if (b != IR_NONE && !is_param(t, b, 1)) return false;
    for (uint32_t o = 1; o < a->nout; o++)
        if (a->out[o] != IR_NONE && ir_use_count(t->g, a->out[o]) > 0) return false;
    m->weight = a->in[1];
    m->bias = b;
    m->eps = ir_attr_float(a, "epsilon", 1e-5);
    m->in_features = val(t, m->weight)->konst->shape[0];
    m->kind = MOD_LAYER_NORM;
    return true;
}

/* RMSNormalization over the last axis with f32 statistics (HF's LlamaRMSNorm after fusion): candle_nn's
 * RmsNorm, whose forward is the same fused kernel on contiguous input */
static bool rms_norm(ModTree *t, Mod *m)
{
    const IrNode *a = node(t, m, 0);
    if (m->nodes.n != 1 || a->op != IR_OP_RMS_NORM || a->in[0] != m->in.v[0]) return false;
    int rank = val(t, a->in[0])->rank;
    int64_t axis = ir_attr_int(a, "axis", -1);
    if ((axis != -1 && axis != rank - 1) || !is_param(t, a->in[1], 1)) return false;
    if (val(t, a->in[1])->dtype != val(t, a->in[0])->dtype) return false;
    m->weight = a->in[1];
    m->bias = IR_NONE;
    m->eps = ir_attr_float(a, "epsilon", 1e-5);
    m->in_features = val(t, m->weight)->konst->shape[0];
    m->kind = MOD_RMS_NORM;
    return true;
}

void mod_classify_leaves(ModTree *t)
{
    for (uint32_t i = 1; i < t->mods.n; i++) {
        Mod *m = t->mods.v[i];
        if (m->children.n || m->nodes.n == 0 || m->in.n != 1 || m->out.n != 1) continue;
        if (linear(t, m) || embedding(t, m) || layer_norm(t, m) || rms_norm(t, m)) continue;
    }
}
