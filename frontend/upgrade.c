/* frontend/upgrade.c — nodes of older opsets rewritten to their newest signature, so every later stage
 * knows one form per op: attributes that later opsets turned into inputs become constant inputs.
 *
 *   ReduceSum < 13, other Reduce* < 18: axes        Split < 13: split       Squeeze/Unsqueeze < 13: axes
 *   Pad < 11: pads, value                           Slice < 10: starts, ends, axes
 *   Clip < 11: min, max                             TopK < 10: k            Dropout < 12: ratio
 *   DFT < 20: axis                                  Resize 10: (X, scales) -> (X, roi, scales)
 */
#include "import.h"

#include <string.h>

static void set_input(IrGraph *g, IrNode *n, uint32_t idx, uint32_t v)
{
    if (idx >= n->nin) {
        uint32_t *in = m2c_alloc_array(g->arena, idx + 1, sizeof *in);
        memcpy(in, n->in, n->nin * sizeof *in);
        for (uint32_t i = n->nin; i < idx; i++) in[i] = IR_NONE;
        n->in = in;
        n->nin = idx + 1;
    }
    n->in[idx] = v;
}

static const char *hint(IrGraph *g, IrNode *n, const char *attr)
{
    const char *base = n->loc.node && n->loc.node[0] ? n->loc.node : n->op_type;
    return m2c_sprintf(g->arena, "%s_%s", base, attr);
}

/* ints attribute -> 1-D i64 constant input (absent attribute: input stays omitted) */
static void ints_to_input(IrGraph *g, IrNode *n, const char *attr, uint32_t idx)
{
    uint32_t count;
    const int64_t *v = ir_attr_ints(n, attr, &count);
    if (!v && !ir_attr(n, attr)) return;
    set_input(g, n, idx, ir_const_i64(g, hint(g, n, attr), v, (int)count, false));
    ir_attr_remove(n, attr);
}

static void int_to_input(IrGraph *g, IrNode *n, const char *attr, uint32_t idx, bool scalar, bool has_default,
                         int64_t dflt)
{
    const IrAttr *a = ir_attr(n, attr);
    if (!a && !has_default) return;
    int64_t v = a ? ir_attr_int(n, attr, dflt) : dflt;
    set_input(g, n, idx, ir_const_i64(g, hint(g, n, attr), &v, 1, scalar));
    ir_attr_remove(n, attr);
}

/* Old float attributes (Clip min/max, Pad value, Dropout ratio) were float-only ops; the constant is f32 and
 * shape inference casts it to the data's float type where the data is f16 or f64. */
static void float_to_input(IrGraph *g, IrNode *n, const char *attr, uint32_t idx, bool has_default, double dflt)
{
    const IrAttr *a = ir_attr(n, attr);
    if (!a && !has_default) return;
    IrTensor *t = ir_tensor_new(g, DT_F32, 0, NULL);
    ir_tensor_set_f64(t, 0, a ? ir_attr_float(n, attr, dflt) : dflt);
    set_input(g, n, idx, ir_const_new(g, hint(g, n, attr), t));
    ir_attr_remove(n, attr);
}

void onnx_upgrade_node(Importer *imp, IrNode *n)
{
    IrGraph *g = imp->g;
    int v = n->opset;
    switch (n->op) {
    case IR_OP_REDUCE_SUM:
        if (v < 13) ints_to_input(g, n, "axes", 1);
        break;
    case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP:
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_SUM_SQUARE:
        if (v < 18) ints_to_input(g, n, "axes", 1);
        break;
    case IR_OP_SPLIT:
        if (v < 13) ints_to_input(g, n, "split", 1);
        break;
    case IR_OP_SQUEEZE:
        if (v < 13) ints_to_input(g, n, "axes", 1);
        break;
    case IR_OP_UNSQUEEZE:
        if (v < 13) ints_to_input(g, n, "axes", 1);
        /* ops.def allows one input (the old form); in the new one axes is required, and shape inference
         * relies on it being there */
        if (n->nin >= 1 && ir_input(n, 1) == IR_NONE)
            m2c_error(&n->loc, "Unsqueeze needs axes (input 1 from opset 13, the attribute 'axes' before)");
        break;
    case IR_OP_PAD:
        if (v < 11) {
            ints_to_input(g, n, "pads", 1);
            float_to_input(g, n, "value", 2, false, 0);
        }
        break;
    case IR_OP_SLICE:
        if (v < 10) {
            ints_to_input(g, n, "starts", 1);
            ints_to_input(g, n, "ends", 2);
            ints_to_input(g, n, "axes", 3);
        }
        break;
    case IR_OP_CLIP:
        if (v < 11) {
            float_to_input(g, n, "min", 1, false, 0);
            float_to_input(g, n, "max", 2, false, 0);
        }
        break;
    case IR_OP_TOPK:
        if (v < 10) int_to_input(g, n, "k", 1, false, false, 0);
        break;
    case IR_OP_DROPOUT:
        if (v < 12) float_to_input(g, n, "ratio", 1, false, 0.5);
        ir_attr_remove(n, "is_test");
        break;
    case IR_OP_DFT:
        if (v < 20) int_to_input(g, n, "axis", 2, true, true, 1);
        break;
    case IR_OP_RESIZE:
        if (v < 11 && n->nin == 2) {
            uint32_t scales = n->in[1];
            n->in[1] = IR_NONE;
            set_input(g, n, 2, scales);
        }
        break;
    default:
        break;
    }
}
