/* passes/fuse_ffn.c — feed-forward blocks.
 *
 * A gated FFN (LLaMA's SwiGLU, GeGLU) multiplies an activated projection by another: act(x·Wg) · (x·Wu).
 * That product becomes one GatedAct(gate, up) {activation}: one elementwise pass instead of two (one kernel
 * on a GPU), and a name that says what it is.  The block around it, Linear → activation (or GatedAct) →
 * Linear, stays as its Linear nodes: they are the fields of the PyTorch module, which the backend emits as a
 * struct of its own, so the block is only counted (pass_count_blocks), the way ONNX Runtime's optimizer
 * reports fused-operator statistics. */
#include "fuse.h"

#include <string.h>

static bool from_linear(IrGraph *g, uint32_t v)
{
    return fu_prod(g, v, IR_OP_LINEAR) != NULL;
}

/* The activation a GatedAct may hold, by name; NULL for any other node. */
static const char *activation_name(const IrNode *n)
{
    switch (n->op) {
    case IR_OP_SILU: return "silu";
    case IR_OP_RELU: return "relu";
    case IR_OP_QUICK_GELU: return "quick_gelu";
    case IR_OP_GELU: return strcmp(ir_attr_str(n, "approximate", "none"), "tanh") == 0 ? "gelu_tanh" : "gelu";
    default: return NULL;
    }
}

static bool same_shape(IrGraph *g, uint32_t a, uint32_t b)
{
    const IrValue *x = ir_val(g, a), *y = ir_val(g, b);
    if (x->rank != y->rank || x->dtype != y->dtype) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return false;   /* dims are canonical: one id per expression */
    return true;
}

/* act(Linear) · Linear -> GatedAct(gate, up), either operand order */
static uint32_t gated(IrGraph *g, IrNode *m)
{
    for (int side = 0; side < 2; side++) {
        IrNode *act = fu_prod(g, m->in[side], IR_OP_UNKNOWN);
        uint32_t up = m->in[1 - side];
        const char *name = act ? activation_name(act) : NULL;
        if (!name || !fu_single(g, m->in[side])) continue;
        uint32_t gate = act->in[0];
        if (!from_linear(g, gate) || !from_linear(g, up) || !same_shape(g, gate, up) ||
            !same_shape(g, gate, m->out[0]))
            continue;
        double alpha = ir_attr_float(act, "alpha", 1.702);
        IrNode *dead[2] = {act, m};
        uint32_t in[2] = {gate, up};
        IrNode *n = fu_replace(g, m, dead, 2, IR_OP_GATED_ACT, 2, in);
        ir_attr_set_str(g, n, "activation", name);
        if (act->op == IR_OP_QUICK_GELU) ir_attr_set_float(g, n, "alpha", alpha);
        return 1;
    }
    return 0;
}

uint32_t fuse_ffn(IrGraph *g)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (!n->dead && n->op == IR_OP_MUL && ir_dtype_is_float(ir_val(g, n->out[0])->dtype)) count += gated(g, n);
    }
    return count;
}

/* Linear → activation → Linear, or Linear, Linear → GatedAct → Linear: counted at the second Linear */
static bool ffn_at(IrGraph *g, const IrNode *down, bool *is_gated)
{
    IrNode *act = fu_prod(g, down->in[0], IR_OP_UNKNOWN);
    if (!act) return false;
    if (act->op == IR_OP_GATED_ACT) {
        *is_gated = true;
        return from_linear(g, act->in[0]) && from_linear(g, act->in[1]);
    }
    *is_gated = false;
    return (activation_name(act) || act->op == IR_OP_MISH || act->op == IR_OP_TANH || act->op == IR_OP_SIGMOID) &&
           from_linear(g, act->in[0]);
}

void pass_count_blocks(IrGraph *g, PassBlockCounts *out)
{
    memset(out, 0, sizeof *out);
    ir_fill_uses(g);
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        const IrNode *n = &g->nodes.v[i];
        if (n->dead) continue;
        bool is_gated;
        switch (n->op) {
        case IR_OP_ATTENTION:
            out->attention++;
            break;
        case IR_OP_LAYER_NORM: case IR_OP_RMS_NORM: case IR_OP_MS_SKIP_LAYER_NORM:
        case IR_OP_MS_SIMPLIFIED_LAYER_NORM: {
            out->norms++;
            /* a residual + norm pair (ORT's SkipLayerNorm): the norm of the sum of two computed tensors; kept as
             * two ops in the Candle code (the sum is the residual stream), one kernel for the GPU backends */
            IrNode *add = fu_prod(g, n->in[0], IR_OP_ADD);
            out->residual_norms += n->op == IR_OP_MS_SKIP_LAYER_NORM ||
                                   (add && !ir_val(g, add->in[0])->konst && !ir_val(g, add->in[1])->konst);
            break;
        }
        case IR_OP_ROTARY_EMBEDDING: case IR_OP_MS_ROTARY_EMBEDDING:
            out->rope++;
            break;
        case IR_OP_LINEAR:
            if (ffn_at(g, n, &is_gated)) {
                out->ffn++;
                out->gated_ffn += is_gated;
            }
            break;
        default:
            break;
        }
    }
}
