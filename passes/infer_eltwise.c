/* passes/infer_eltwise.c — shape rules of the elementwise ops: unary math and activations, binary arithmetic
 * with numpy broadcasting, comparisons and logic (bool out), Pow, variadic Max/Min/Sum/Mean, Where, Cast and
 * CastLike.  Each checks the element types the ONNX type constraints allow, so a model that mixes f32 and
 * i64 is reported here rather than miscompiled later.
 */
#include "infer.h"

#include <string.h>

/* Element types each unary op accepts (ONNX type constraints, widened where opsets differ). */
static unsigned unary_classes(IrOp op)
{
    switch (op) {
    case IR_OP_IDENTITY: return INFER_ANY;
    case IR_OP_NOT: return INFER_BOOL;
    case IR_OP_BITWISE_NOT: return INFER_INT;
    case IR_OP_ABS:
    case IR_OP_SIGN:
    case IR_OP_CLIP:
    case IR_OP_SHRINK: return INFER_NUM;
    case IR_OP_NEG:
    case IR_OP_RELU: return INFER_SIGNED;
    default: return INFER_FLOAT;   /* transcendental functions, activations, rounding */
    }
}

bool infer_unary(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", unary_classes(n->op))) return false;
    if (n->op == IR_OP_CLIP) {
        /* min and max (inputs since opset 11; the importer moves the older attributes) are scalars of x's type */
        for (uint32_t i = 1; i < 3; i++) {
            const IrValue *b = infer_in(g, n, i);
            if (!b) continue;
            const char *what = i == 1 ? "min" : "max";
            if (b->dtype != x->dtype)
                return infer_error(n, "%s has type %s, the input has %s", what, ir_dtype_name(b->dtype),
                                   ir_dtype_name(x->dtype));
            int64_t numel = infer_in_numel(g, n, i);
            if (numel >= 0 && numel != 1)
                return infer_error(n, "%s must be a scalar, has shape %s", what, infer_value_shape_str(g, b));
        }
    }
    IrDType t = (ir_op_info[n->op].flags & F_BOOL_OUT) ? DT_BOOL : x->dtype;
    return infer_set(g, n, 0, t, x->rank, x->dims);
}

/* IsInf, IsNaN: a float in, a bool mask of the same shape out. */
bool infer_unary_bool(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    return infer_set(g, n, 0, DT_BOOL, x->rank, x->dims);
}

/* Broadcast inputs [first, last) together into out/rank. */
static bool broadcast_inputs(IrGraph *g, IrNode *n, uint32_t first, uint32_t last, int *rank, IrDim *out)
{
    const IrValue *v = infer_in(g, n, first);
    *rank = v->rank;
    infer_copy(out, v->dims, v->rank);
    for (uint32_t i = first + 1; i < last; i++) {
        const IrValue *w = infer_in(g, n, i);
        if (!w) continue;
        IrDim cur[IR_MAX_RANK];
        memcpy(cur, out, (size_t)*rank * sizeof *cur);
        if (!infer_broadcast_dims(g, n, *rank, cur, w->rank, w->dims, rank, out)) return false;
    }
    return true;
}

/* Add, Sub, Mul, Div, Mod, PRelu, Bitwise{And,Or,Xor}, com.microsoft BiasGelu. */
bool infer_broadcast(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0), *b = infer_in(g, n, 1);
    if (!infer_same_dtype(g, n, 0, 1)) return false;
    unsigned classes = INFER_NUM;
    if (n->op == IR_OP_BITWISE_AND || n->op == IR_OP_BITWISE_OR || n->op == IR_OP_BITWISE_XOR) classes = INFER_INT;
    if (n->op == IR_OP_PRELU) classes = INFER_SIGNED;
    if (n->op == IR_OP_MS_BIAS_GELU) classes = INFER_FLOAT;
    if (!infer_check_dtype(n, a, "input", classes)) return false;
    /* opset 28 defined floating-point Mod with fmod=0 (floor); before, it was an error */
    if (n->op == IR_OP_MOD && ir_dtype_is_float(a->dtype) && ir_attr_int(n, "fmod", 0) == 0 && n->opset > 0 &&
        n->opset < 28)
        return infer_error(n, "fmod=0 is not defined for %s inputs before opset 28 (floating-point Mod needs fmod=1)",
                           ir_dtype_name(a->dtype));
    if (n->op == IR_OP_PRELU) {
        /* the slope broadcasts to X (unidirectionally since opset 7); the output is X's shape */
        if (!infer_unidirectional(g, n, "slope", b->rank, b->dims, a->rank, a->dims)) return false;
        return infer_set(g, n, 0, a->dtype, a->rank, a->dims);
    }
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, 2, &rank, dims)) return false;
    return infer_set(g, n, 0, a->dtype, rank, dims);
}

/* And, Or, Xor. */
bool infer_logic(IrGraph *g, IrNode *n)
{
    for (uint32_t i = 0; i < 2; i++)
        if (!infer_check_dtype(n, infer_in(g, n, i), i ? "input 1" : "input 0", INFER_BOOL)) return false;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, 2, &rank, dims)) return false;
    return infer_set(g, n, 0, DT_BOOL, rank, dims);
}

/* Equal, Less, LessOrEqual, Greater, GreaterOrEqual. */
bool infer_compare(IrGraph *g, IrNode *n)
{
    if (!infer_same_dtype(g, n, 0, 1)) return false;
    if (!infer_check_dtype(n, infer_in(g, n, 0), "input", n->op == IR_OP_EQUAL ? INFER_ANY : INFER_NUM)) return false;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, 2, &rank, dims)) return false;
    return infer_set(g, n, 0, DT_BOOL, rank, dims);
}

/* Pow: base and exponent may have different types (opset 12); the result has the base's. */
bool infer_pow(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0);
    if (!infer_check_dtype(n, a, "base", INFER_NUM)) return false;
    if (!infer_check_dtype(n, infer_in(g, n, 1), "exponent", INFER_NUM)) return false;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, 2, &rank, dims)) return false;
    return infer_set(g, n, 0, a->dtype, rank, dims);
}

/* Max, Min, Sum, Mean: any number of inputs of one type, broadcast together. */
bool infer_variadic(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0);
    if (!infer_check_dtype(n, a, "input", n->op == IR_OP_MEAN ? INFER_FLOAT : INFER_NUM)) return false;
    for (uint32_t i = 1; i < n->nin; i++)
        if (!infer_same_dtype(g, n, 0, i)) return false;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, n->nin, &rank, dims)) return false;
    return infer_set(g, n, 0, a->dtype, rank, dims);
}

bool infer_where(IrGraph *g, IrNode *n)
{
    if (!infer_check_dtype(n, infer_in(g, n, 0), "condition", INFER_BOOL)) return false;
    if (!infer_same_dtype(g, n, 1, 2)) return false;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!broadcast_inputs(g, n, 0, 3, &rank, dims)) return false;
    return infer_set(g, n, 0, infer_in(g, n, 1)->dtype, rank, dims);
}

bool infer_cast(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    const IrAttr *to = ir_attr(n, "to");
    if (!to || to->kind != ATTR_INT) return infer_error(n, "missing the integer attribute 'to'");
    IrDType t = (IrDType)to->u.i;
    if (to->u.i <= 0 || to->u.i > DT_ONNX_MAX) return infer_error(n, "unknown target type %lld", (long long)to->u.i);
    if (!ir_dtype_supported(t)) return infer_error(n, "unsupported target type %s", ir_dtype_onnx_name(t));
    if (!ir_dtype_supported(x->dtype)) return infer_error(n, "unsupported input type %s", ir_dtype_onnx_name(x->dtype));
    return infer_set(g, n, 0, t, x->rank, x->dims);
}

bool infer_cast_like(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *like = infer_in(g, n, 1);
    if (!ir_dtype_supported(like->dtype))
        return infer_error(n, "unsupported target type %s", ir_dtype_onnx_name(like->dtype));
    if (!ir_dtype_supported(x->dtype)) return infer_error(n, "unsupported input type %s", ir_dtype_onnx_name(x->dtype));
    return infer_set(g, n, 0, like->dtype, x->rank, x->dims);
}
