/* passes/canon.c — canonicalization: ops that compute nothing at inference time disappear.
 * Identity, Cast to the type the value already has, Dropout (inference mode, mask unused), and reshapes that
 * keep the shape (Reshape, Expand, Squeeze, Unsqueeze, Flatten to the dims the input already has — dynamo's
 * `view(b, t)` of a (b, t) tensor).  After the fusions, a chain of reshapes becomes one (the `tidy` stage).  Gathers that read a tensor in order through arange indices become the
 * Reshape they are (canon_iota.c). */
#include "passes.h"

#include <string.h>

/* Make `out`'s readers read `in`.  A graph output keeps its ONNX name, which is part of the generated API:
 * when `in` is an internal value it takes the output's name over; otherwise the node must stay. */
static bool forward(IrGraph *g, IrNode *node, uint32_t in, uint32_t out)
{
    IrValue *vo = ir_val(g, out), *vi = ir_val(g, in);
    if (vo->flags & V_OUTPUT) {
        if (vi->flags & (V_INPUT | V_OUTPUT | V_PARAM | V_CONST) || vi->producer == IR_NONE) return false;
        const char *name = vo->name;
        vo->name = ir_unique_name(g, m2c_sprintf(g->arena, "%s_replaced", name));
        m2c_map_put(g->arena, &g->value_by_name, vo->name, out);
        m2c_map_put(g->arena, &g->value_by_name, vi->name, IR_NONE);
        vi->name = name;
        m2c_map_put(g->arena, &g->value_by_name, name, in);
    }
    ir_replace_uses(g, out, in);
    ir_node_kill(g, ir_node_id(g, node));
    return true;
}

uint32_t pass_shape_const(IrGraph *g, const char *hint, int rank, const IrDim *dims)
{
    uint32_t shape = ir_value_new(g, ir_unique_name(g, hint));
    ir_val(g, shape)->flags = V_CONST;
    IrDim r = ir_dim_const(g, rank);
    ir_value_set_shape(g, shape, DT_I64, 1, &r);
    ir_value_set_symval(g, shape, dims, (uint32_t)rank);
    return shape;
}

static bool reshape_like(const IrNode *n)
{
    return n->op == IR_OP_RESHAPE || n->op == IR_OP_FLATTEN || n->op == IR_OP_SQUEEZE || n->op == IR_OP_UNSQUEEZE;
}

/* Reshape-like of a Reshape-like whose result nothing else reads: one Reshape to the final dims */
static bool collapse_reshapes(IrGraph *g, IrNode *node)
{
    uint32_t mid = node->in[0], p = ir_val(g, mid)->producer;
    if (p == IR_NONE) return false;
    IrNode *inner = ir_node(g, p);
    if (inner->dead || !reshape_like(inner) || ir_use_count(g, mid) != 1 || (ir_val(g, mid)->flags & V_OUTPUT))
        return false;
    const IrValue *out = ir_val(g, node->out[0]);
    if (out->rank < 0 || out->rank > IR_MAX_RANK) return false;
    IrDim dims[IR_MAX_RANK];
    for (int i = 0; i < out->rank; i++) dims[i] = out->dims[i];
    uint32_t x = inner->in[0], y = node->out[0];
    uint32_t shape = pass_shape_const(g, m2c_sprintf(g->arena, "%s_shape", out->name), out->rank, dims);
    SrcLoc loc = node->loc;
    IrScopeId scope = node->scope;
    ir_node_kill(g, ir_node_id(g, node));
    ir_node_kill(g, p);
    uint32_t in[2] = {x, shape};
    IrNode *n = ir_node(g, ir_node_new(g, IR_OP_RESHAPE, 2, in, 1, &y));
    n->loc = loc;
    n->scope = scope;
    ir_fill_uses(g);
    return true;
}

/* After the fusions (whose matchers know the exporters' reshape sequences, not their merged form) */
bool pass_collapse_reshapes(IrGraph *g)
{
    bool changed = false;
    ir_fill_uses(g);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead || !reshape_like(node) || node->nout < 1 || node->out[0] == IR_NONE) continue;
        changed |= collapse_reshapes(g, node);
    }
    return changed;
}

bool pass_canon(IrGraph *g)
{
    /* the gathers first: the reshapes they become join the chains collapsed below */
    bool changed = pass_canon_iota(g);
    ir_fill_uses(g);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead || node->nout < 1 || node->out[0] == IR_NONE || node->nin < 1 || node->in[0] == IR_NONE)
            continue;
        uint32_t in = node->in[0], out = node->out[0];
        switch (node->op) {
        case IR_OP_IDENTITY:
            changed |= forward(g, node, in, out);
            break;
        case IR_OP_CAST:
            if (ir_val(g, in)->dtype != DT_UNDEF && ir_val(g, in)->dtype == ir_val(g, out)->dtype)
                changed |= forward(g, node, in, out);
            break;
        case IR_OP_RESHAPE:
        case IR_OP_EXPAND:
        case IR_OP_SQUEEZE:
        case IR_OP_UNSQUEEZE:
        case IR_OP_FLATTEN: {
            const IrValue *a = ir_val(g, in), *b = ir_val(g, out);
            bool same = a->rank >= 0 && a->rank == b->rank && a->dtype == b->dtype;
            for (int i = 0; same && i < a->rank; i++) same = a->dims[i] == b->dims[i];
            if (same) changed |= forward(g, node, in, out);
            break;
        }
        case IR_OP_DROPOUT: {
            double training = 0;
            uint32_t tm = ir_input(node, 2);
            if (tm != IR_NONE && !ir_value_scalar_f64(g, tm, &training)) break;   /* decided at run time */
            if (g->nuses_for != g->values.n) ir_fill_uses(g);
            bool mask_used = node->nout > 1 && node->out[1] != IR_NONE &&
                             (ir_val(g, node->out[1])->flags & V_OUTPUT || ir_use_count(g, node->out[1]) > 0);
            if (training == 0 && !mask_used) changed |= forward(g, node, in, out);
            break;
        }
        default:
            break;
        }
    }
    return changed;
}
