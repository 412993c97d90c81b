/* backends/candle/lower_reduce.c — reductions along axes: Reduce*, ArgMax/ArgMin, CumSum, TopK; the
 * softmax family is in lower_reduce_softmax.c.
 *
 * Axes that are constants become candle's own reductions (a tuple of dims, keepdim variants) written
 * inline.  What candle lacks comes from Rust snippets: a product (reduce_prod), a max-shifted
 * log-sum-exp, ArgMax/ArgMin with ONNX's tie order on every device, a scan for CumSum, TopK, and
 * reductions whose axes are a tensor known only at run time (reduce_axes). */
#include "lower_reduce.h"

#include <math.h>
#include <string.h>

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

static IrDType in_dtype(CgFn *f, const IrNode *n, uint32_t i)
{
    return ir_val(f->g, n->in[i])->dtype;
}

/* An integer scalar input (K, an axis, a size) as a Rust expression of type i64, or usize for `as_usize`:
 * a literal when it is a constant, the dim when its value is symbolic, else read back from the tensor at
 * run time. */
const char *cg_int_input(CgFn *f, const IrNode *n, uint32_t i, const char *hint, bool as_usize)
{
    IrDim d[1];
    uint32_t k = 0;
    int64_t c;
    if (ir_value_dims(f->g, n->in[i], d, 1, &k) && k == 1) {
        if (ir_dim_const_value(f->g, d[0], &c)) return m2c_sprintf(f->a, "%lld", (long long)c);
        return as_usize ? cg_dim(f, d[0]) : m2c_sprintf(f->a, "(%s as i64)", cg_dim(f, d[0]));
    }
    const char *name = cg_fresh(f, hint);
    cg_stmt(f, "let %s = %s(%s)?[0];", name, cg_helper(f, CG_HELPER_INTS), cg_in_ref(f, n, i));
    return as_usize ? m2c_sprintf(f->a, "%s as usize", name) : name;
}

/* --- Reduce* ------------------------------------------------------------------------------------------- */

typedef enum { AXES_CONST, AXES_RUNTIME, AXES_INVALID } AxesKind;

/* The axes of a Reduce* node, normalized and sorted (a repeated axis reduces once), when they are
 * constants; *na = 0 means the input passes through (noop_with_empty_axes). */
static AxesKind reduce_axes(CgFn *f, const IrNode *n, int *axes, int *na)
{
    int rank = ir_val(f->g, n->in[0])->rank;
    int64_t raw[IR_MAX_RANK];
    uint32_t k = 0;
    uint32_t ax = ir_input(n, 1);
    if (ax != IR_NONE && !ir_value_ints(f->g, ax, raw, IR_MAX_RANK, &k)) {
        /* an empty axes tensor is all axes (or none) whatever its contents */
        const IrValue *av = ir_val(f->g, ax);
        int64_t len;
        if (!(av->rank == 1 && ir_dim_const_value(f->g, av->dims[0], &len) && len == 0)) return AXES_RUNTIME;
    }
    *na = 0;
    if (k == 0 && ir_attr_int(n, "noop_with_empty_axes", 0)) return AXES_CONST;
    bool used[IR_MAX_RANK] = {false};
    if (k == 0)
        for (int i = 0; i < rank; i++) used[i] = true;
    for (uint32_t i = 0; i < k; i++) {
        int a = norm_axis(raw[i], rank);
        if (a < 0 || a >= rank) return AXES_INVALID;
        used[a] = true;
    }
    for (int i = 0; i < rank; i++)
        if (used[i]) axes[(*na)++] = i;
    return AXES_CONST;
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

static const char *axes_slice(CgFn *f, const int *axes, int na)
{
    M2cBuf b = {0};
    m2c_buf_puts(&b, "&[");
    for (int i = 0; i < na; i++) m2c_buf_printf(&b, "%s%d", i ? ", " : "", axes[i]);
    m2c_buf_puts(&b, "]");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

/* The smallest and largest value of an integer IR dtype (bool: 0 and 1). */
static void int_range(IrDType t, double *lo, double *hi)
{
    switch (t) {
    case DT_BOOL: *lo = 0, *hi = 1; return;
    case DT_U8: *lo = 0, *hi = 255; return;
    case DT_I8: *lo = -128, *hi = 127; return;
    case DT_U16: *lo = 0, *hi = 65535; return;
    case DT_I16: *lo = -32768, *hi = 32767; return;
    case DT_U32: *lo = 0, *hi = 4294967295.0; return;
    case DT_I32: *lo = -2147483648.0, *hi = 2147483647.0; return;
    case DT_U64: *lo = 0, *hi = 18446744073709551615.0; return;
    default: *lo = -9223372036854775808.0, *hi = 9223372036854775807.0; return;
    }
}

/* The value of a reduction over an empty set, as ONNX's reference gives it. */
static double empty_value(IrOp op, IrDType t)
{
    bool fl = ir_dtype_is_float(t);
    double lo = -INFINITY, hi = INFINITY;
    if (!fl) int_range(t, &lo, &hi);
    switch (op) {
    case IR_OP_REDUCE_PROD: return 1;
    case IR_OP_REDUCE_MAX: return lo;
    case IR_OP_REDUCE_MIN: return hi;
    case IR_OP_REDUCE_MEAN: return fl ? NAN : 0;
    case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP: return fl ? -INFINITY : lo;
    default: return 0;
    }
}

static const char *reduce_op_name(IrOp op)
{
    switch (op) {
    case IR_OP_REDUCE_SUM: return "sum";
    case IR_OP_REDUCE_MEAN: return "mean";
    case IR_OP_REDUCE_MAX: return "max";
    case IR_OP_REDUCE_MIN: return "min";
    case IR_OP_REDUCE_PROD: return "prod";
    case IR_OP_REDUCE_L1: return "l1";
    case IR_OP_REDUCE_L2: return "l2";
    case IR_OP_REDUCE_SUM_SQUARE: return "sum_square";
    case IR_OP_REDUCE_LOG_SUM: return "log_sum";
    case IR_OP_REDUCE_LOG_SUM_EXP: return "log_sum_exp";
    default: return NULL;
    }
}

/* Axes known only at run time: the reduce_axes snippet reads them and reduces. */
static bool reduce_runtime(CgFn *f, const IrNode *n)
{
    const char *h = cg_helper(f, CG_HELPER_REDUCE_AXES);
    cg_helper(f, CG_HELPER_REDUCE_PROD);   /* reduce_axes calls both */
    cg_helper(f, CG_HELPER_LOG_SUM_EXP);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s, \"%s\", %s)?;", cg_out(f, n, 0), h, cg_in_ref(f, n, 0), cg_in_ref(f, n, 1),
            ir_attr_int(n, "keepdims", 1) ? "true" : "false",
            ir_attr_int(n, "noop_with_empty_axes", 0) ? "true" : "false", reduce_op_name(n->op),
            cg_f64(f->a, empty_value(n->op, in_dtype(f, n, 0))));
    return true;
}

static bool reduce(CgFn *f, const IrNode *n)
{
    int axes[IR_MAX_RANK], na;
    AxesKind kind = reduce_axes(f, n, axes, &na);
    if (kind == AXES_INVALID) return cg_unsupported(f, n, "an axis is out of range");
    if (kind == AXES_RUNTIME) return reduce_runtime(f, n);
    const IrValue *in = ir_val(f->g, n->in[0]);
    IrDType t = in->dtype;
    bool fl = ir_dtype_is_float(t);
    const char *x = cg_in(f, n, 0), *xr = cg_in_ref(f, n, 0);
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    if (na == 0) {
        /* a reduction over no axes: the elementwise steps of the composite ops still apply */
        const char *y = cg_out(f, n, 0);
        switch (n->op) {
        case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: cg_stmt(f, "let %s = %s.abs()?;", y, x); break;
        case IR_OP_REDUCE_SUM_SQUARE: cg_stmt(f, "let %s = %s.mul(%s)?;", y, x, xr); break;
        case IR_OP_REDUCE_LOG_SUM:
            if (fl) cg_stmt(f, "let %s = %s.log()?;", y, x);
            else cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?.log()?.to_dtype(%s.dtype())?;", y, x, x);
            break;
        default: cg_stmt(f, "let %s = %s.clone();", y, x); break;
        }
        return true;
    }
    /* a reduced dim that is 0: the op's value over an empty set, in the output's shape */
    for (int i = 0; i < na; i++) {
        int64_t c;
        if (ir_dim_const_value(f->g, in->dims[axes[i]], &c) && c == 0) {
            const char *shape = cg_shape_of(f, n->out[0]);
            cg_stmt(f, "let %s = (Tensor::zeros(%s, DType::F64, %s.device())? + %s)?.to_dtype(%s.dtype())?;",
                    cg_out(f, n, 0), shape, x, cg_f64(f->a, empty_value(n->op, t)), x);
            return true;
        }
    }
    const char *kd = keep ? "_keepdim" : "";
    const char *tup = axes_tuple(f, axes, na);
    const char *y = cg_out(f, n, 0);
    switch (n->op) {
    case IR_OP_REDUCE_SUM:
        cg_stmt(f, "let %s = %s.sum%s(%s)?;", y, x, kd, tup);
        return true;
    case IR_OP_REDUCE_L1:
        cg_stmt(f, "let %s = %s.abs()?.sum%s(%s)?;", y, x, kd, tup);
        return true;
    case IR_OP_REDUCE_SUM_SQUARE:
        /* candle's sqr has no integer kernel; mul has */
        if (fl) cg_stmt(f, "let %s = %s.sqr()?.sum%s(%s)?;", y, x, kd, tup);
        else cg_stmt(f, "let %s = %s.mul(%s)?.sum%s(%s)?;", y, x, xr, kd, tup);
        return true;
    case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP: {
        /* fractions of integers: computed in f64, cast back (truncating, as ONNX's reference does) */
        const char *src = x, *srcr = xr;
        if (!fl) {
            src = cg_fresh(f, "wide");
            cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?;", src, x);
            srcr = m2c_sprintf(f->a, "&%s", src);
        }
        const char *dst = fl ? y : cg_fresh(f, "reduced");
        if (n->op == IR_OP_REDUCE_MEAN)
            cg_stmt(f, "let %s = %s.mean%s(%s)?;", dst, src, kd, tup);
        else if (n->op == IR_OP_REDUCE_L2)
            cg_stmt(f, "let %s = %s.sqr()?.sum%s(%s)?.sqrt()?;", dst, src, kd, tup);
        else if (n->op == IR_OP_REDUCE_LOG_SUM)
            cg_stmt(f, "let %s = %s.sum%s(%s)?.log()?;", dst, src, kd, tup);
        else if (keep)
            cg_stmt(f, "let %s = %s(%s, %s)?;", dst, cg_helper(f, CG_HELPER_LOG_SUM_EXP), srcr, axes_slice(f, axes, na));
        else
            cg_stmt(f, "let %s = %s(%s, %s)?.reshape(%s)?;", dst, cg_helper(f, CG_HELPER_LOG_SUM_EXP), srcr,
                    axes_slice(f, axes, na), cg_shape_of(f, n->out[0]));
        if (!fl) cg_stmt(f, "let %s = %s.to_dtype(%s.dtype())?;", y, dst, x);
        return true;
    }
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD: {
        /* one axis at a time, the highest first, so the lower indices stay valid without keepdims */
        const char *src = x;
        for (int i = na - 1; i >= 0; i--) {
            const char *dst = i == 0 ? y : cg_fresh(f, reduce_op_name(n->op));
            if (n->op == IR_OP_REDUCE_PROD)
                cg_stmt(f, "let %s = %s(%s%s, %d)?%s;", dst, cg_helper(f, CG_HELPER_REDUCE_PROD), src == x ? "" : "&",
                        src == x ? xr : src, axes[i], keep ? "" : m2c_sprintf(f->a, ".squeeze(%d)?", axes[i]));
            else
                cg_stmt(f, "let %s = %s.%s%s(%d)?;", dst, src, reduce_op_name(n->op), kd, axes[i]);
            src = dst;
        }
        return true;
    }
    default:
        return cg_unsupported(f, n, "not a reduction");
    }
}

/* --- ArgMax / ArgMin ----------------------------------------------------------------------------------- */

/* arg_extreme: candle's argmax on the CPU, an exact first/last position search elsewhere (candle's CUDA
 * argmax breaks ties by thread, not by position). */
static bool argminmax(CgFn *f, const IrNode *n)
{
    const IrValue *in = ir_val(f->g, n->in[0]);
    int axis = norm_axis(ir_attr_int(n, "axis", 0), in->rank);
    cg_stmt(f, "let %s = %s(%s, %d, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_ARG_EXTREME),
            cg_in_ref(f, n, 0), axis, n->op == IR_OP_ARGMAX ? "true" : "false",
            ir_attr_int(n, "select_last_index", 0) ? "true" : "false", ir_attr_int(n, "keepdims", 1) ? "true" : "false");
    return true;
}

/* --- CumSum, TopK -------------------------------------------------------------------------------------- */

static bool cumsum(CgFn *f, const IrNode *n)
{
    const char *axis = cg_int_input(f, n, 1, "axis", false);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_CUMSUM), cg_in_ref(f, n, 0), axis,
            ir_attr_int(n, "exclusive", 0) ? "true" : "false", ir_attr_int(n, "reverse", 0) ? "true" : "false");
    return true;
}

static bool topk(CgFn *f, const IrNode *n)
{
    const IrValue *in = ir_val(f->g, n->in[0]);
    int axis = norm_axis(ir_attr_int(n, "axis", -1), in->rank);
    const char *k = cg_int_input(f, n, 1, "k", true);
    const char *vals = n->out[0] != IR_NONE ? cg_out(f, n, 0) : "_";
    const char *idx = n->nout > 1 && n->out[1] != IR_NONE ? cg_out(f, n, 1) : "_";
    /* sorted=0 leaves the order to the implementation; sorted order is one such order */
    cg_stmt(f, "let (%s, %s) = %s(%s, %s, %d, %s)?;", vals, idx, cg_helper(f, CG_HELPER_TOP_K), cg_in_ref(f, n, 0), k, axis,
            ir_attr_int(n, "largest", 1) ? "true" : "false");
    return true;
}

bool cg_lower_reduce(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_SOFTMAX: case IR_OP_LOG_SOFTMAX: case IR_OP_HARDMAX:
        return cg_lower_softmax(f, n);
    case IR_OP_ARGMAX: case IR_OP_ARGMIN:
        return argminmax(f, n);
    case IR_OP_CUMSUM:
        return cumsum(f, n);
    case IR_OP_TOPK:
        return topk(f, n);
    case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP:
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_SUM_SQUARE:
        return reduce(f, n);
    default:
        return cg_unsupported(f, n, "not a reduction");
    }
}
