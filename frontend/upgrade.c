/* frontend/upgrade.c — nodes of older opsets rewritten to their newest signature, so every later stage
 * knows one form per op: attributes that later opsets turned into inputs become constant inputs.
 *
 *   ReduceSum < 13, other Reduce* < 18: axes        Split < 13: split       Squeeze/Unsqueeze < 13: axes
 *   Pad < 11: pads, value                           Slice < 10: starts, ends, axes
 *   Clip < 11: min, max                             TopK < 10: k            Dropout < 12: ratio
 *   DFT < 20: axis                                  Resize 10: (X, scales) -> (X, roi, scales)
 *   Upsample 7-9 (read as Resize, ir_op_lookup): scales attribute -> input, then as Resize 10
 *
 * Opsets 1-6 read like 7 except where an op meant something else; those forms are rewritten (Cast's type
 * name, Pad's paddings) or refused (broadcasting along an axis, BatchNormalization and PRelu before 7,
 * Upsample before 7).  consumed_inputs and broadcast without axis need nothing.
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

/* Opsets 1-6: the forms whose meaning opset 7 changed. */
static void upgrade_legacy(IrGraph *g, IrNode *n)
{
    switch (n->op) {
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV: case IR_OP_POW: case IR_OP_AND: case IR_OP_OR:
    case IR_OP_XOR: case IR_OP_EQUAL: case IR_OP_GREATER: case IR_OP_LESS:
        /* broadcast=1 without axis matches the trailing dims, as numpy does; with axis it starts at that dim */
        if (ir_attr_int(n, "broadcast", 0) && ir_attr(n, "axis"))
            m2c_error(&n->loc, "%s-%d broadcasting along 'axis' (before opset 7) is not supported", n->op_type, n->opset);
        break;
    case IR_OP_BATCH_NORM:
    case IR_OP_PRELU:
        m2c_error(&n->loc, "%s before opset 7 (%s) is not supported", n->op_type,
                  n->op == IR_OP_PRELU ? "a per-channel slope" : "training mode unless is_test, spatial");
        break;
    case IR_OP_CAST: {
        /* Cast-1 named the type */
        const char *to = ir_attr_str(n, "to", NULL);
        if (!to) break;
        for (int t = 1; t <= DT_ONNX_MAX; t++) {
            if (strcmp(ir_dtype_onnx_name((IrDType)t), to) == 0) {
                ir_attr_set_int(g, n, "to", t);
                return;
            }
        }
        m2c_error(&n->loc, "Cast to unknown type '%s'", to);
        break;
    }
    case IR_OP_PAD: {
        /* Pad-1 called pads paddings */
        uint32_t k;
        const int64_t *p = ir_attr_ints(n, "paddings", &k);
        if (p && !ir_attr(n, "pads")) {
            ir_attr_set_ints(g, n, "pads", p, k);
            ir_attr_remove(n, "paddings");
        }
        break;
    }
    default:
        break;
    }
}

/* Upsample-7/9 as Resize-10: mode (nearest or linear) means the same; scales (an attribute in 7-8) become
 * the input that the Resize-10 rewrite below moves to its place. */
static void upgrade_upsample(IrGraph *g, IrNode *n)
{
    if (n->opset < 7 || n->opset >= 10) {
        m2c_error(&n->loc, "Upsample-%d is not supported (Upsample is defined in opsets 7 to 9; Resize replaced it)",
                  n->opset);
        return;
    }
    const IrAttr *a = ir_attr(n, "scales");
    if (a && a->kind == ATTR_FLOATS && n->nin == 1) {
        int64_t len = a->n;
        IrTensor *t = ir_tensor_new(g, DT_F32, 1, &len);
        for (uint32_t i = 0; i < a->n; i++) ir_tensor_set_f64(t, i, a->u.fs[i]);
        set_input(g, n, 1, ir_const_new(g, hint(g, n, "scales"), t));
        ir_attr_remove(n, "scales");
    }
    if (n->nin != 2) m2c_error(&n->loc, "Upsample needs scales (input 1 from opset 9, the attribute before)");
}

void onnx_upgrade_node(Importer *imp, IrNode *n)
{
    IrGraph *g = imp->g;
    int v = n->opset;
    if (v < 7) upgrade_legacy(g, n);
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
        if (strcmp(n->op_type, "Upsample") == 0) upgrade_upsample(g, n);
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
