/* passes/infer_shape.c — shape rules of the data-movement ops that change a shape but not the data:
 * Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand, Tile, Concat, Split, Slice.
 *
 * These are the exporters' shape idioms.  Their target shapes, axes, starts/ends are inputs whose contents are
 * often known only symbolically (Shape → Gather → Concat); ir_value_dims() gives those contents as dims, so a
 * Reshape to Concat(Shape(x)[0], Shape(x)[1], 4, 8) gets (batch, seq, 4, 8).  What stays unknown becomes a
 * named symbol, never an export-time size.
 */
#include "infer.h"

#include <string.h>

/* Constants beyond every symbol's bound (2^40, dim.c) stand for "to the end": INT64_MAX ends and the like. */
#define BEYOND ((int64_t)1 << 41)

/* Lengths of the axes/starts/... lists we track; longer lists are beyond IR_MAX_RANK anyway. */
enum { LIST_MAX = 64 };

bool infer_shape(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t r = x->rank;
    /* start/end exist from opset 15; axes clamp to [0, r] after adding r to negatives */
    int64_t start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    IrDim len = ir_dim_const(g, end > start ? end - start : 0);
    return infer_set(g, n, 0, DT_I64, 1, &len);
}

bool infer_size(IrGraph *g, IrNode *n)
{
    (void)infer_in(g, n, 0);
    return infer_set(g, n, 0, DT_I64, 0, NULL);
}

/* Rank-k output whose dims are all unknown. */
static bool set_unknown_dims(IrGraph *g, IrNode *n, IrDType t, int64_t k)
{
    if (k > IR_MAX_RANK)
        return infer_error(n, "output rank %lld exceeds the supported maximum %d", (long long)k, IR_MAX_RANK);
    IrDim dims[IR_MAX_RANK];
    for (int i = 0; i < k; i++) dims[i] = infer_sym(g, n, 0, i);
    return infer_set(g, n, 0, t, (int)k, dims);
}

/* A 1-D integer input of known length whose contents we may not know; false (reported) otherwise.  Axes
 * may also be a scalar (ONNX Runtime accepts one for Squeeze and Unsqueeze, and exporters write it). */
static bool list_input(IrGraph *g, IrNode *n, uint32_t i, const char *what, int64_t *len)
{
    const IrValue *v = infer_in(g, n, i);
    if (!v) return infer_error(n, "the %s input is missing", what);
    if (!infer_check_dtype(n, v, what, INFER_INT)) return false;
    bool scalar_ok = !strcmp(what, "axes") && (n->op == IR_OP_SQUEEZE || n->op == IR_OP_UNSQUEEZE);
    if (v->rank != 1 && !(scalar_ok && v->rank == 0))
        return infer_error(n, "%s must be 1-D, has shape %s", what, infer_value_shape_str(g, v));
    *len = infer_in_numel(g, n, i);
    return true;
}

bool infer_reshape(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t k;
    if (!list_input(g, n, 1, "shape", &k)) return false;
    IrDim t[IR_MAX_RANK], out[IR_MAX_RANK];
    uint32_t nt;
    if (!infer_in_dims(g, n, 1, t, IR_MAX_RANK, &nt)) {
        if (k < 0) return infer_error(n, "the output rank is unknown (the target shape has a symbolic length)");
        return set_unknown_dims(g, n, x->dtype, k);
    }
    bool allowzero = ir_attr_int(n, "allowzero", 0) != 0;
    int neg = -1;
    bool unknown = false, has_zero = false;
    for (uint32_t i = 0; i < nt; i++) {
        int64_t c, lo, hi;
        if (!ir_dim_const_value(g, t[i], &c)) {
            ir_dim_bounds(g, t[i], &lo, &hi);
            /* a symbolic entry is a size (a 0 there would be the model's degenerate case); one that may be
             * negative might be -1 at run time, so its meaning is unknown */
            if (lo >= 0) {
                out[i] = t[i];
            } else {
                out[i] = infer_sym(g, n, 0, (int)i);
                unknown = true;
            }
        } else if (c == -1) {
            if (neg >= 0)
                return infer_error(n, "more than one -1 in the target shape %s", infer_shape_str(g, (int)nt, t));
            neg = (int)i;
            out[i] = IR_DIM_INVALID;
        } else if (c == 0 && !allowzero) {
            if ((int)i >= x->rank)
                return infer_error(n, "target %s copies dim %u (0) of an input of shape %s",
                                   infer_shape_str(g, (int)nt, t),
                                   i, infer_value_shape_str(g, x));
            out[i] = x->dims[i];
        } else if (c < 0) {
            return infer_error(n, "invalid dim %lld in the target shape %s", (long long)c,
                               infer_shape_str(g, (int)nt, t));
        } else {
            has_zero |= c == 0;
            out[i] = t[i];
        }
    }
    if (allowzero && has_zero && neg >= 0)
        return infer_error(n, "with allowzero=1 the target shape %s cannot hold both 0 and -1",
                           infer_shape_str(g, (int)nt, t));
    IrDim total = infer_prod(g, x->dims, 0, x->rank);
    int64_t ctotal, cother;
    if (neg >= 0) {
        IrDim other = ir_dim_const(g, 1);
        for (uint32_t i = 0; i < nt; i++)
            if ((int)i != neg) other = ir_dim_mul(g, other, out[i]);
        if (unknown) {
            out[neg] = infer_sym(g, n, 0, neg);
        } else if (ir_dim_const_value(g, total, &ctotal) && ir_dim_const_value(g, other, &cother)) {
            if (cother == 0 ? ctotal != 0 : ctotal % cother != 0)
                return infer_error(n, "cannot reshape %s (%lld elements) into %s", infer_value_shape_str(g, x),
                                   (long long)ctotal, infer_shape_str(g, (int)nt, t));
            /* 0 elements into a shape with a 0: -1 is free; ONNX Runtime makes it 0 */
            out[neg] = ir_dim_const(g, cother == 0 ? 0 : ctotal / cother);
        } else {
            out[neg] = infer_dim_div(g, total, other);
        }
    } else if (!unknown) {
        IrDim prod = infer_prod(g, out, 0, (int)nt);
        if (ir_dim_const_value(g, total, &ctotal) && ir_dim_const_value(g, prod, &cother) && ctotal != cother)
            return infer_error(n, "cannot reshape %s (%lld elements) into %s (%lld elements)",
                               infer_value_shape_str(g, x),
                               (long long)ctotal, infer_shape_str(g, (int)nt, t), (long long)cother);
    }
    return infer_set(g, n, 0, x->dtype, (int)nt, out);
}

bool infer_flatten(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t axis = ir_attr_int(n, "axis", 1);
    if (axis < -x->rank || axis > x->rank)
        return infer_error(n, "axis %lld is out of range for rank %d (expects [%d, %d])", (long long)axis, x->rank,
                           -x->rank, x->rank);
    if (axis < 0) axis += x->rank;
    IrDim out[2] = {infer_prod(g, x->dims, 0, (int)axis), infer_prod(g, x->dims, (int)axis, x->rank)};
    return infer_set(g, n, 0, x->dtype, 2, out);
}

/* Normalizes `axes` (k entries) against `rank` into a mask; reports range errors and repeats. */
static bool axes_mask(const IrNode *n, const int64_t *axes, uint32_t k, int rank, bool *mask)
{
    memset(mask, 0, (size_t)(rank > 0 ? rank : 1) * sizeof *mask);
    for (uint32_t i = 0; i < k; i++) {
        int a;
        if (!infer_axis(n, "axis", axes[i], rank, &a)) return false;
        if (mask[a]) return infer_error(n, "axis %lld is repeated", (long long)axes[i]);
        mask[a] = true;
    }
    return true;
}

bool infer_squeeze(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    bool mask[IR_MAX_RANK];
    IrDim out[IR_MAX_RANK];
    int r = 0;
    if (infer_in(g, n, 1)) {
        int64_t axes[LIST_MAX], k;
        uint32_t na;
        if (!list_input(g, n, 1, "axes", &k)) return false;
        if (!infer_in_ints(g, n, 1, axes, LIST_MAX, &na)) {
            if (k < 0) return infer_error(n, "the output rank is unknown (axes has a symbolic length)");
            return set_unknown_dims(g, n, x->dtype, x->rank - k);
        }
        if (!axes_mask(n, axes, na, x->rank, mask)) return false;
        for (int i = 0; i < x->rank; i++) {
            if (!mask[i]) continue;
            int64_t c;
            if (ir_dim_const_value(g, x->dims[i], &c) && c != 1)
                return infer_error(n, "cannot squeeze axis %d of size %lld (shape %s)", i, (long long)c,
                                   infer_value_shape_str(g, x));
        }
    } else {
        /* no axes: every dim that is 1; a symbolic dim is assumed not to be 1 */
        for (int i = 0; i < x->rank; i++) {
            int64_t c;
            mask[i] = ir_dim_const_value(g, x->dims[i], &c) && c == 1;
        }
    }
    for (int i = 0; i < x->rank; i++)
        if (!mask[i]) out[r++] = x->dims[i];
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_unsqueeze(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t axes[LIST_MAX], k;
    uint32_t na;
    if (!list_input(g, n, 1, "axes", &k)) return false;
    if (!infer_in_ints(g, n, 1, axes, LIST_MAX, &na)) {
        if (k < 0) return infer_error(n, "the output rank is unknown (axes has a symbolic length)");
        return set_unknown_dims(g, n, x->dtype, x->rank + k);
    }
    int r = x->rank + (int)na;
    if (r > IR_MAX_RANK) return infer_error(n, "output rank %d exceeds the supported maximum %d", r, IR_MAX_RANK);
    bool mask[IR_MAX_RANK];
    if (!axes_mask(n, axes, na, r, mask)) return false;
    IrDim out[IR_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) out[i] = mask[i] ? ir_dim_const(g, 1) : x->dims[j++];
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_transpose(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    uint32_t k;
    const int64_t *perm = ir_attr_ints(n, "perm", &k);
    IrDim out[IR_MAX_RANK];
    bool seen[IR_MAX_RANK] = {0};
    if (!perm) {   /* default: reverse the axes */
        for (int i = 0; i < x->rank; i++) out[i] = x->dims[x->rank - 1 - i];
        return infer_set(g, n, 0, x->dtype, x->rank, out);
    }
    bool ok = (int)k == x->rank;
    for (uint32_t i = 0; ok && i < k; i++) {
        ok = perm[i] >= 0 && perm[i] < x->rank && !seen[perm[i]];
        if (ok) {
            seen[perm[i]] = true;
            out[i] = x->dims[perm[i]];
        }
    }
    if (!ok) {
        M2cBuf b = {0};
        for (uint32_t i = 0; i < k; i++) m2c_buf_printf(&b, "%s%lld", i ? ", " : "", (long long)perm[i]);
        bool reported = infer_error(n, "perm [%s] is not a permutation of the %d axes of %s", b.s ? b.s : "", x->rank,
                                    infer_value_shape_str(g, x));
        m2c_buf_free(&b);
        return reported;
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}

bool infer_expand(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t k;
    if (!list_input(g, n, 1, "shape", &k)) return false;
    IrDim t[IR_MAX_RANK], out[IR_MAX_RANK];
    uint32_t nt;
    int r;
    if (infer_in_dims(g, n, 1, t, IR_MAX_RANK, &nt)) {
        if (!infer_broadcast_dims(g, n, x->rank, x->dims, (int)nt, t, &r, out)) return false;
        return infer_set(g, n, 0, x->dtype, r, out);
    }
    if (k < 0) return infer_error(n, "the output rank is unknown (the target shape has a symbolic length)");
    r = x->rank > k ? x->rank : (int)k;
    if (r > IR_MAX_RANK) return infer_error(n, "output rank %d exceeds the supported maximum %d", r, IR_MAX_RANK);
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->rank);
        int64_t c;
        /* a dim other than 1 survives any valid target; 1 or a symbol may grow */
        if (xi >= 0 && ir_dim_const_value(g, x->dims[xi], &c) && c != 1)
            out[i] = x->dims[xi];
        else
            out[i] = infer_sym(g, n, 0, i);
    }
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_tile(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int64_t k;
    if (!list_input(g, n, 1, "repeats", &k)) return false;
    if (k >= 0 && k != x->rank)
        return infer_error(n, "repeats has %lld values for an input of rank %d", (long long)k, x->rank);
    IrDim rep[IR_MAX_RANK], out[IR_MAX_RANK];
    uint32_t nr;
    bool known = infer_in_dims(g, n, 1, rep, IR_MAX_RANK, &nr);
    for (int i = 0; i < x->rank; i++) {
        int64_t c;
        if (known && ir_dim_const_value(g, rep[i], &c) && c < 0)
            return infer_error(n, "negative repeat %lld on axis %d", (long long)c, i);
        out[i] = known ? ir_dim_mul(g, x->dims[i], rep[i]) : infer_sym(g, n, 0, i);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}

bool infer_concat(IrGraph *g, IrNode *n)
{
    const IrValue *first = infer_in(g, n, 0);
    const IrAttr *a = ir_attr(n, "axis");
    if (!a && n->opset >= 4) return infer_error(n, "missing attribute 'axis'");
    int64_t axis = a ? ir_attr_int(n, "axis", 1) : 1;   /* opsets 1-3: default 1 */
    int r = first->rank, ax;
    if (r == 0) return infer_error(n, "cannot concatenate scalars");
    if (!infer_axis(n, "axis", axis, r, &ax)) return false;
    IrDim out[IR_MAX_RANK];
    infer_copy(out, first->dims, r);
    IrDim sum = ir_dim_const(g, 0);
    for (uint32_t i = 0; i < n->nin; i++) {
        const IrValue *v = infer_in(g, n, i);
        if (!v) return infer_error(n, "input %u is missing", i);
        if (v->dtype != first->dtype)
            return infer_error(n, "input dtypes differ (%s vs %s)", ir_dtype_name(first->dtype),
                               ir_dtype_name(v->dtype));
        if (v->rank != r) return infer_error(n, "input ranks differ (%d vs %d)", r, v->rank);
        for (int d = 0; d < r; d++) {
            if (d == ax) continue;
            if (infer_const_conflict(g, out[d], v->dims[d]))
                return infer_error(n, "input %u has shape %s, incompatible with %s on axis %d", i,
                                   infer_value_shape_str(g, v), infer_value_shape_str(g, first), d);
            /* a constant is the better name for a dim that two inputs share */
            if (ir_dim_is_const(g, v->dims[d])) out[d] = v->dims[d];
        }
        sum = ir_dim_add(g, sum, v->dims[ax]);
    }
    out[ax] = sum;
    return infer_set(g, n, 0, first->dtype, r, out);
}

bool infer_split(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
    uint32_t k = n->nout;
    IrDim d = x->dims[ax], sizes[LIST_MAX];
    IrDim out[IR_MAX_RANK];
    infer_copy(out, x->dims, x->rank);
    bool known = true;
    if (k > LIST_MAX) return infer_error(n, "%u outputs are more than the %d supported", k, LIST_MAX);
    if (infer_in(g, n, 1)) {
        int64_t len;
        uint32_t ns;
        if (!list_input(g, n, 1, "split", &len)) return false;
        if (len >= 0 && len != (int64_t)k)
            return infer_error(n, "split has %lld values for %u outputs", (long long)len, k);
        known = infer_in_dims(g, n, 1, sizes, LIST_MAX, &ns);
        if (known) {
            IrDim sum = ir_dim_const(g, 0);
            for (uint32_t i = 0; i < k; i++) {
                int64_t c;
                if (ir_dim_const_value(g, sizes[i], &c) && c < 0)
                    return infer_error(n, "negative split size %lld", (long long)c);
                sum = ir_dim_add(g, sum, sizes[i]);
            }
            if (infer_const_conflict(g, sum, d))
                return infer_error(n, "split sizes add up to %s, the axis has size %s", ir_dim_str(g, sum),
                                   ir_dim_str(g, d));
        }
    } else {
        const IrAttr *num = ir_attr(n, "num_outputs");
        int64_t c;
        if (num && ir_attr_int(n, "num_outputs", 0) != (int64_t)k)
            return infer_error(n, "num_outputs=%lld but the node has %u outputs",
                               (long long)ir_attr_int(n, "num_outputs", 0), k);
        IrDim kk = ir_dim_const(g, k);
        if (num) {
            /* opset 18: chunks of ceil(d/k), the last one smaller */
            IrDim chunk = ir_dim_ceil_div(g, d, kk);
            for (uint32_t i = 0; i + 1 < k; i++) sizes[i] = chunk;
            sizes[k - 1] = ir_dim_sub(g, d, ir_dim_mul(g, chunk, ir_dim_const(g, k - 1)));
            if (ir_dim_const_value(g, sizes[k - 1], &c) && c < 0)
                return infer_error(n, "cannot split size %s into %u chunks", ir_dim_str(g, d), k);
        } else {
            if (ir_dim_const_value(g, d, &c) && c % (int64_t)k != 0)
                return infer_error(n, "cannot split size %lld into %u equal parts", (long long)c, k);
            for (uint32_t i = 0; i < k; i++) sizes[i] = ir_dim_div(g, d, kk);
        }
    }
    for (uint32_t i = 0; i < k; i++) {
        out[ax] = known ? sizes[i] : infer_sym(g, n, i, ax);
        if (!infer_set(g, n, i, x->dtype, x->rank, out)) return false;
    }
    return true;
}

/* --- Slice ------------------------------------------------------------------------------------------ */

/* An effective start or end: negatives count from the end, then clamp to [lo, hi].  IR_DIM_INVALID when a
 * symbolic index may be negative or not, which decides whether dim is added. */
static IrDim slice_index(IrGraph *g, IrDim x, IrDim dim, IrDim lo, IrDim hi)
{
    int64_t c, l, h;
    if (ir_dim_const_value(g, x, &c)) {
        if (c <= -BEYOND) return lo;
        if (c >= BEYOND) return hi;
        if (c < 0) x = ir_dim_add(g, dim, x);
    } else {
        ir_dim_bounds(g, x, &l, &h);
        if (h < 0)
            x = ir_dim_add(g, dim, x);
        else if (!infer_dim_nonneg(g, x))
            return IR_DIM_INVALID;
    }
    return infer_dim_min(g, infer_dim_max(g, x, lo), hi);
}

/* e - s, distributed over a max in s or a min in e (e - max(a, b) = min(e - a, e - b)), so clamped ends
 * still cancel: seq - max(0, seq - 3) is min(seq, 3). */
static IrDim span_of(IrGraph *g, IrDim e, IrDim s, int depth)
{
    if (e == IR_DIM_INVALID || s == IR_DIM_INVALID) return IR_DIM_INVALID;
    const IrDimExpr *xs = ir_dim_expr(g, s), *xe = ir_dim_expr(g, e);
    bool split_s = xs->kind == DIM_MAX, split_e = !split_s && xe->kind == DIM_MIN;
    if (depth > 3 || (!split_s && !split_e)) return ir_dim_sub(g, e, s);
    const IrDimExpr *x = split_s ? xs : xe;
    IrDim ops[LIST_MAX], acc = IR_DIM_INVALID;
    uint32_t n = x->nops < LIST_MAX ? x->nops : 0;
    if (n == 0) return ir_dim_sub(g, e, s);
    memcpy(ops, x->ops, n * sizeof *ops);   /* copied: new dims may move the expression table */
    for (uint32_t i = 0; i < n; i++) {
        IrDim t = split_s ? span_of(g, e, ops[i], depth + 1) : span_of(g, ops[i], s, depth + 1);
        acc = i == 0 ? t : infer_dim_min(g, acc, t);
    }
    return acc;
}

static IrDim slice_len(IrGraph *g, IrDim dim, IrDim start, IrDim end, int64_t step)
{
    IrDim zero = ir_dim_const(g, 0), len;
    if (step > 0) {
        IrDim s = slice_index(g, start, dim, zero, dim), e = slice_index(g, end, dim, zero, dim);
        if (s == IR_DIM_INVALID || e == IR_DIM_INVALID) return IR_DIM_INVALID;
        IrDim span = span_of(g, e, s, 0);
        len = ir_dim_ceil_div(g, span, ir_dim_const(g, step));
        if (infer_dim_nonneg(g, span)) return len;   /* the ceiling of a non-negative span needs no clamp */
    } else {
        /* backwards: start in [0, dim-1], end in [-1, dim-1] (-1 = before the first element) */
        IrDim hi = ir_dim_sub(g, dim, ir_dim_const(g, 1));
        IrDim s = slice_index(g, start, dim, zero, hi), e = slice_index(g, end, dim, ir_dim_const(g, -1), hi);
        if (s == IR_DIM_INVALID || e == IR_DIM_INVALID) return IR_DIM_INVALID;
        IrDim span = span_of(g, s, e, 0);
        len = ir_dim_ceil_div(g, span, ir_dim_const(g, -step));
        if (infer_dim_nonneg(g, span)) return len;
    }
    return infer_dim_max(g, len, zero);
}

bool infer_slice(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    IrDim starts[LIST_MAX], ends[LIST_MAX], out[IR_MAX_RANK];
    int64_t axes[LIST_MAX], steps[LIST_MAX], len[5] = {-1, -1, -1, -1, -1};
    uint32_t ns = 0, ne = 0, na = 0, nst = 0;
    static const char *const names[5] = {"data", "starts", "ends", "axes", "steps"};
    for (uint32_t i = 1; i < 5; i++)
        if (infer_in(g, n, i) && !list_input(g, n, i, names[i], &len[i])) return false;
    bool have_s = infer_in_dims(g, n, 1, starts, LIST_MAX, &ns);
    bool have_e = infer_in_dims(g, n, 2, ends, LIST_MAX, &ne);
    bool have_axes = infer_in(g, n, 3) ? infer_in_ints(g, n, 3, axes, LIST_MAX, &na) : false;
    bool have_steps = infer_in(g, n, 4) ? infer_in_ints(g, n, 4, steps, LIST_MAX, &nst) : false;
    int64_t cnt = have_s ? ns : have_e ? ne : len[1] >= 0 ? len[1] : len[2];
    if (!infer_in(g, n, 3) && cnt >= 0 && cnt <= LIST_MAX) {
        have_axes = true;
        na = (uint32_t)cnt;
        for (uint32_t i = 0; i < na; i++) axes[i] = i;
    }
    if (!infer_in(g, n, 4) && cnt >= 0 && cnt <= LIST_MAX) {
        have_steps = true;
        nst = (uint32_t)cnt;
        for (uint32_t i = 0; i < nst; i++) steps[i] = 1;
    }
    infer_copy(out, x->dims, x->rank);
    if (!have_axes) {
        /* which axes are sliced is unknown: any of them may change */
        for (int i = 0; i < x->rank; i++) out[i] = infer_sym(g, n, 0, i);
        return infer_set(g, n, 0, x->dtype, x->rank, out);
    }
    if ((have_s && ns != na) || (have_e && ne != na) || (have_steps && nst != na))
        return infer_error(n, "starts, ends, axes and steps have different lengths");
    bool mask[IR_MAX_RANK];
    if (!axes_mask(n, axes, na, x->rank, mask)) return false;
    for (uint32_t i = 0; i < na; i++) {
        int a = (int)(axes[i] < 0 ? axes[i] + x->rank : axes[i]);
        if (have_steps && steps[i] == 0) return infer_error(n, "step 0 on axis %d", a);
        IrDim d = IR_DIM_INVALID;
        if (have_s && have_e && have_steps) d = slice_len(g, x->dims[a], starts[i], ends[i], steps[i]);
        out[a] = d != IR_DIM_INVALID ? d : infer_sym(g, n, 0, a);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}
