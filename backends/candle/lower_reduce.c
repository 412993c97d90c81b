/* backends/candle/lower_reduce.c — reductions along axes: Reduce*, ArgMax/ArgMin, Softmax, LogSoftmax.
 * candle reduces over a tuple of dims with keepdim variants; softmax over the last dim is candle's fused
 * kernel, which wants a contiguous tensor. */
#include "cg.h"

#include <string.h>

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

/* The axes of a Reduce* node, normalized and sorted; false when they are known only at run time. */
static bool reduce_axes(CgFn *f, const IrNode *n, int *axes, int *na)
{
    int rank = ir_val(f->g, n->in[0])->rank;
    int64_t raw[IR_MAX_RANK];
    uint32_t k = 0;
    uint32_t ax = ir_input(n, 1);
    if (ax != IR_NONE && !ir_value_ints(f->g, ax, raw, IR_MAX_RANK, &k)) return false;
    if (k == 0 && ir_attr_int(n, "noop_with_empty_axes", 0)) {
        *na = 0;
        return true;
    }
    bool used[IR_MAX_RANK] = {false};
    if (k == 0)
        for (int i = 0; i < rank; i++) used[i] = true;
    for (uint32_t i = 0; i < k; i++) used[norm_axis(raw[i], rank)] = true;
    *na = 0;
    for (int i = 0; i < rank; i++)
        if (used[i]) axes[(*na)++] = i;
    return true;
}

static const char *axes_tuple(CgFn *f, const int *axes, int na)
{
    M2cBuf b = {0};
    if (na == 1) {
        m2c_buf_printf(&b, "%d", axes[0]);
    } else {
        m2c_buf_puts(&b, "(");
        for (int i = 0; i < na; i++) m2c_buf_printf(&b, "%s%d", i ? ", " : "", axes[i]);
        m2c_buf_puts(&b, ")");
    }
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

static bool reduce(CgFn *f, const IrNode *n)
{
    int axes[IR_MAX_RANK], na;
    if (!reduce_axes(f, n, axes, &na)) return cg_unsupported(f, n, "reduction axes known only at run time");
    const char *x = cg_in(f, n, 0), *y = cg_out(f, n, 0);
    if (na == 0) {
        cg_stmt(f, "let %s = %s.clone();", y, x);
        return true;
    }
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    const char *kd = keep ? "_keepdim" : "";
    const char *t = axes_tuple(f, axes, na);
    const char *src = x;
    switch (n->op) {
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MEAN:
        cg_stmt(f, "let %s = %s.%s%s(%s)?;", y, x, n->op == IR_OP_REDUCE_SUM ? "sum" : "mean", kd, t);
        return true;
    case IR_OP_REDUCE_SUM_SQUARE:
        cg_stmt(f, "let %s = %s.sqr()?.sum%s(%s)?;", y, x, kd, t);
        return true;
    case IR_OP_REDUCE_L1:
        cg_stmt(f, "let %s = %s.abs()?.sum%s(%s)?;", y, x, kd, t);
        return true;
    case IR_OP_REDUCE_L2:
        cg_stmt(f, "let %s = %s.sqr()?.sum%s(%s)?.sqrt()?;", y, x, kd, t);
        return true;
    case IR_OP_REDUCE_LOG_SUM:
        cg_stmt(f, "let %s = %s.sum%s(%s)?.log()?;", y, x, kd, t);
        return true;
    case IR_OP_REDUCE_LOG_SUM_EXP: {
        /* max-shifted, so large inputs do not overflow exp */
        const char *m = cg_fresh(f, "max");
        const char *cur = x;
        for (int i = 0; i < na; i++) {
            const char *dst = cg_fresh(f, "max");
            cg_stmt(f, "let %s = %s.max_keepdim(%d)?;", dst, cur, axes[i]);
            cur = dst;
        }
        cg_stmt(f, "let %s = %s;", m, cur);
        cg_stmt(f, "let %s = (%s.broadcast_sub(&%s)?.exp()?.sum_keepdim(%s)?.log()? + %s)?%s;", y, x, m, t, m,
                keep ? "" : m2c_sprintf(f->a, ".squeeze(%d)?", axes[0]));
        if (!keep && na > 1) return cg_unsupported(f, n, "ReduceLogSumExp over several axes without keepdims");
        return true;
    }
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD: {
        const char *m = n->op == IR_OP_REDUCE_MAX ? "max" : n->op == IR_OP_REDUCE_MIN ? "min" : NULL;
        if (!m) return cg_unsupported(f, n, "ReduceProd is not lowered to Candle yet");
        /* one axis at a time, the highest first so the lower indices stay valid without keepdims */
        for (int i = na - 1; i >= 0; i--) {
            const char *dst = i == 0 ? y : cg_fresh(f, m);
            cg_stmt(f, "let %s = %s.%s%s(%d)?;", dst, src, m, kd, axes[i]);
            src = dst;
        }
        return true;
    }
    default:
        return cg_unsupported(f, n, "not a reduction");
    }
}

static bool softmax(CgFn *f, const IrNode *n)
{
    const IrValue *in = ir_val(f->g, n->in[0]);
    int rank = in->rank;
    int axis = norm_axis(ir_attr_int(n, "axis", n->opset < 13 ? 1 : -1), rank);
    const char *y = cg_out(f, n, 0);
    bool log = n->op == IR_OP_LOG_SOFTMAX;
    if (n->opset < 13 && axis != rank - 1) {
        /* before opset 13 the input is seen as a matrix [prod(dims[..axis]), prod(dims[axis..])] */
        IrDim rows = ir_dim_const(f->g, 1), cols = ir_dim_const(f->g, 1);
        for (int i = 0; i < rank; i++) {
            if (i < axis) rows = ir_dim_mul(f->g, rows, in->dims[i]);
            else cols = ir_dim_mul(f->g, cols, in->dims[i]);
        }
        const char *m = cg_fresh(f, "matrix"), *s = cg_fresh(f, "soft");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", m, cg_in(f, n, 0), cg_dim(f, rows), cg_dim(f, cols));
        if (log) cg_stmt(f, "let %s = candle_nn::ops::log_softmax(&%s, 1)?;", s, m);
        else cg_stmt(f, "let %s = candle_nn::ops::softmax_last_dim(&%s)?;", s, m);
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, s, cg_shape_of(f, n->in[0]));
        return true;
    }
    if (log)
        cg_stmt(f, "let %s = candle_nn::ops::log_softmax(%s, %d)?;", y, cg_in_ref(f, n, 0), axis);
    else if (axis == rank - 1 && ir_dtype_is_float(in->dtype))
        cg_stmt(f, "let %s = candle_nn::ops::softmax_last_dim(&%s)?;", y, cg_contig(f, n->in[0], false));
    else
        cg_stmt(f, "let %s = candle_nn::ops::softmax(%s, %d)?;", y, cg_in_ref(f, n, 0), axis);
    return true;
}

static bool argminmax(CgFn *f, const IrNode *n)
{
    int rank = ir_val(f->g, n->in[0])->rank;
    int axis = norm_axis(ir_attr_int(n, "axis", 0), rank);
    if (ir_attr_int(n, "select_last_index", 0)) return cg_unsupported(f, n, "select_last_index=1 is not lowered yet");
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    cg_stmt(f, "let %s = %s.%s%s(%d)?.to_dtype(DType::I64)?;", cg_out(f, n, 0), cg_in(f, n, 0),
            n->op == IR_OP_ARGMAX ? "argmax" : "argmin", keep ? "_keepdim" : "", axis);
    return true;
}

bool cg_lower_reduce(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_SOFTMAX: case IR_OP_LOG_SOFTMAX: return softmax(f, n);
    case IR_OP_ARGMAX: case IR_OP_ARGMIN: return argminmax(f, n);
    case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP:
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_SUM_SQUARE:
        return reduce(f, n);
    default:
        return cg_unsupported(f, n, "not lowered to Candle yet");
    }
}
