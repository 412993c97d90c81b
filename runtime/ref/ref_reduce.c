/* runtime/ref/ref_reduce.c — ops that combine elements along axes: the Reduce* family, ArgMax/ArgMin, CumSum,
 * TopK, Softmax/LogSoftmax/Hardmax.
 *
 * A reduction splits the input's axes into kept and reduced ones; each output element walks the offsets of
 * its reduced block.  Reducing an empty set gives the identity of the reduction (0, 1, -inf for max...), as
 * ONNX 18 specifies.  Max and Min propagate NaN. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int nk;                                    /* kept axes, in order */
    int64_t kshape[IR_MAX_RANK], kstr[IR_MAX_RANK];
    uint64_t kcount;
    int64_t *roff;                             /* offsets of the reduced block, relative to its base */
    uint64_t rcount;
} Frame;

static bool frame_init(RefCx *c, const IrTensor *x, const bool *reduced, Frame *f)
{
    int64_t str[IR_MAX_RANK], rshape[IR_MAX_RANK], rstr[IR_MAX_RANK];
    int nr = 0;
    ref_strides(x->rank, x->shape, str);
    f->nk = 0;
    f->kcount = f->rcount = 1;
    for (int i = 0; i < x->rank; i++) {
        if (reduced[i]) {
            rshape[nr] = x->shape[i];
            rstr[nr++] = str[i];
            f->rcount *= (uint64_t)x->shape[i];
        } else {
            f->kshape[f->nk] = x->shape[i];
            f->kstr[f->nk++] = str[i];
            f->kcount *= (uint64_t)x->shape[i];
        }
    }
    f->roff = ref_scratch(c, f->rcount, sizeof *f->roff);
    if (!f->roff) return false;
    int64_t idx[IR_MAX_RANK] = {0}, off = 0;
    for (uint64_t r = 0; r < f->rcount; r++) {
        f->roff[r] = off;
        for (int d = nr - 1; d >= 0; d--) {
            if (++idx[d] < rshape[d]) {
                off += rstr[d];
                break;
            }
            off -= rstr[d] * (rshape[d] - 1);
            idx[d] = 0;
        }
    }
    return true;
}

/* Base offset of kept element o. */
static uint64_t frame_base(const Frame *f, uint64_t o)
{
    uint64_t base = 0;
    for (int d = f->nk - 1; d >= 0; d--) {
        uint64_t k = (uint64_t)f->kshape[d];
        base += (o % k) * (uint64_t)f->kstr[d];
        o /= k;
    }
    return base;
}

/* Output shape: reduced axes become 1 with keepdims, else disappear. */
static int reduced_shape(const IrTensor *x, const bool *reduced, bool keepdims, int64_t *shape)
{
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        if (!reduced[i]) shape[r++] = x->shape[i];
        else if (keepdims) shape[r++] = 1;
    }
    return r;
}

static void int_range(IrDType t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case DT_BOOL: *lo = 0; *hi = 1; return;
    case DT_I8: *lo = INT8_MIN; *hi = INT8_MAX; return;
    case DT_U8: *lo = 0; *hi = UINT8_MAX; return;
    case DT_I16: *lo = INT16_MIN; *hi = INT16_MAX; return;
    case DT_U16: *lo = 0; *hi = UINT16_MAX; return;
    case DT_I32: *lo = INT32_MIN; *hi = INT32_MAX; return;
    case DT_U32: *lo = 0; *hi = UINT32_MAX; return;
    case DT_U64: *lo = 0; *hi = -1; return;   /* UINT64_MAX, wrapped */
    default: *lo = INT64_MIN; *hi = INT64_MAX; return;
    }
}

static double reduce_f(IrOp op, const IrTensor *x, uint64_t base, const Frame *f)
{
    uint64_t n = f->rcount;
    double acc = op == IR_OP_REDUCE_PROD ? 1 : op == IR_OP_REDUCE_MAX ? -INFINITY : op == IR_OP_REDUCE_MIN ? INFINITY : 0;
    if (op == IR_OP_REDUCE_LOG_SUM_EXP) {
        double m = -INFINITY;
        for (uint64_t r = 0; r < n; r++) {
            double v = ref_get(x, base + (uint64_t)f->roff[r]);
            if (isnan(v) || v > m) m = v;
            if (isnan(v)) break;
        }
        if (isnan(m) || isinf(m)) return m;   /* also the empty set: -inf */
        for (uint64_t r = 0; r < n; r++) acc += exp(ref_get(x, base + (uint64_t)f->roff[r]) - m);
        return m + log(acc);
    }
    for (uint64_t r = 0; r < n; r++) {
        double v = ref_get(x, base + (uint64_t)f->roff[r]);
        switch (op) {
        case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_LOG_SUM: acc += v; break;
        case IR_OP_REDUCE_SUM_SQUARE: case IR_OP_REDUCE_L2: acc += v * v; break;
        case IR_OP_REDUCE_L1: acc += fabs(v); break;
        case IR_OP_REDUCE_PROD: acc *= v; break;
        case IR_OP_REDUCE_MAX: acc = isnan(acc) || v > acc || isnan(v) ? (isnan(acc) ? acc : v) : acc; break;
        case IR_OP_REDUCE_MIN: acc = isnan(acc) || v < acc || isnan(v) ? (isnan(acc) ? acc : v) : acc; break;
        default: break;
        }
    }
    switch (op) {
    case IR_OP_REDUCE_MEAN: return acc / (double)n;
    case IR_OP_REDUCE_L2: return sqrt(acc);
    case IR_OP_REDUCE_LOG_SUM: return log(acc);
    default: return acc;
    }
}

/* Integer reductions that stay exact in 64 bits (wrapping); false for the ones computed in double. */
static bool reduce_i(IrOp op, const IrTensor *x, uint64_t base, const Frame *f, int64_t *out)
{
    int64_t lo, hi;
    int_range(x->dtype, &lo, &hi);
    bool uns = x->dtype == DT_U64;
    uint64_t acc = op == IR_OP_REDUCE_PROD ? 1 : 0;
    int64_t m = op == IR_OP_REDUCE_MAX ? lo : hi;
    switch (op) {
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_SUM_SQUARE: case IR_OP_REDUCE_L1:
    case IR_OP_REDUCE_PROD: case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MIN:
        break;
    default:
        return false;
    }
    for (uint64_t r = 0; r < f->rcount; r++) {
        int64_t v = ref_geti(x, base + (uint64_t)f->roff[r]);
        switch (op) {
        case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_MEAN: acc += (uint64_t)v; break;
        case IR_OP_REDUCE_SUM_SQUARE: acc += (uint64_t)v * (uint64_t)v; break;
        case IR_OP_REDUCE_L1: acc += v < 0 && !uns ? 0 - (uint64_t)v : (uint64_t)v; break;
        case IR_OP_REDUCE_PROD: acc *= (uint64_t)v; break;
        case IR_OP_REDUCE_MAX: if (uns ? (uint64_t)v > (uint64_t)m : v > m) m = v; break;
        case IR_OP_REDUCE_MIN: if (uns ? (uint64_t)v < (uint64_t)m : v < m) m = v; break;
        default: break;
        }
    }
    if (op == IR_OP_REDUCE_MAX || op == IR_OP_REDUCE_MIN) *out = m;
    else if (op == IR_OP_REDUCE_MEAN) *out = uns ? (int64_t)(acc / f->rcount) : (int64_t)acc / (int64_t)f->rcount;
    else *out = (int64_t)acc;
    return true;
}

bool ref_reduce(RefCx *c)
{
    IrOp op = c->n->op;
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int64_t axes[IR_MAX_RANK];
    uint32_t na;
    bool given;
    if (!ref_int_list(c, 1, "axes", axes, IR_MAX_RANK, &na, &given)) return false;
    bool keepdims = ir_attr_int(c->n, "keepdims", 1) != 0;
    bool noop = ir_attr_int(c->n, "noop_with_empty_axes", 0) != 0;
    bool reduced[IR_MAX_RANK] = {0};
    for (uint32_t i = 0; i < na; i++) {
        int a;
        if (!ref_axis(c, axes[i], x->rank, &a)) return false;
        reduced[a] = true;
    }
    /* No axes: every axis, unless noop_with_empty_axes, which reduces none (ReduceSumSquare squares). */
    if (na == 0 && !noop)
        for (int i = 0; i < x->rank; i++) reduced[i] = true;
    int64_t shape[IR_MAX_RANK];
    int r = reduced_shape(x, reduced, keepdims, shape);
    Frame f;
    if (!frame_init(c, x, reduced, &f)) return false;
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    bool ok = y != NULL;
    bool isf = ref_is_float(x->dtype);
    if (ok && !isf && f.rcount == 0 && (op == IR_OP_REDUCE_MEAN || op == IR_OP_REDUCE_LOG_SUM ||
                                        op == IR_OP_REDUCE_LOG_SUM_EXP) && f.kcount)
        ok = ref_fail(c, "%s of an empty integer set", ir_op_name(op));
    for (uint64_t o = 0; ok && o < f.kcount; o++) {
        uint64_t base = frame_base(&f, o);
        int64_t v;
        if (!isf && reduce_i(op, x, base, &f, &v)) ref_puti(y, o, v);
        else ref_put(y, o, reduce_f(op, x, base, &f));
    }
    free(f.roff);
    if (ok) ref_set_out(c, 0, y);
    return ok;
}

bool ref_arg_minmax(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", 0), x->rank, &axis)) return false;
    if (x->shape[axis] == 0) return ref_fail(c, "%s over an empty axis", ir_op_name(c->n->op));
    bool keepdims = ir_attr_int(c->n, "keepdims", 1) != 0, last = ir_attr_int(c->n, "select_last_index", 0) != 0;
    bool is_max = c->n->op == IR_OP_ARGMAX, isf = ref_is_float(x->dtype);
    bool reduced[IR_MAX_RANK] = {0};
    reduced[axis] = true;
    int64_t shape[IR_MAX_RANK];
    int r = reduced_shape(x, reduced, keepdims, shape);
    Frame f;
    if (!frame_init(c, x, reduced, &f)) return false;
    IrTensor *y = ref_new(c, DT_I64, r, shape);
    for (uint64_t o = 0; y && o < f.kcount; o++) {
        uint64_t base = frame_base(&f, o), best = base;
        int64_t bi = 0;
        for (uint64_t k = 1; k < f.rcount; k++) {
            uint64_t at = base + (uint64_t)f.roff[k];
            bool better, equal;
            if (isf) {
                /* NaN wins, as in numpy: the first NaN, or the last one with select_last_index */
                double v = ref_get(x, at), b = ref_get(x, best);
                if (isnan(b)) better = false, equal = isnan(v);
                else if (isnan(v)) better = true, equal = false;
                else better = is_max ? v > b : v < b, equal = v == b;
            } else {
                better = is_max ? ref_elem_lt(x, best, at) : ref_elem_lt(x, at, best);
                equal = !ref_elem_lt(x, best, at) && !ref_elem_lt(x, at, best);
            }
            if (better || (last && equal)) best = at, bi = (int64_t)k;
        }
        ref_puti(y, o, bi);
    }
    free(f.roff);
    ref_set_out(c, 0, y);
    return y != NULL;
}

bool ref_cumsum(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *ta = ref_need(c, 1);
    if (!x || !ta) return false;
    if (ta->numel != 1 || !ir_dtype_is_int(ta->dtype)) return ref_fail(c, "CumSum: axis must be an integer scalar");
    int axis;
    if (!ref_axis(c, ref_geti(ta, 0), x->rank, &axis)) return false;
    bool excl = ir_attr_int(c->n, "exclusive", 0) != 0, rev = ir_attr_int(c->n, "reverse", 0) != 0;
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    uint64_t inner = 1, outer = 1, dim = (uint64_t)x->shape[axis];
    for (int i = 0; i < axis; i++) outer *= (uint64_t)x->shape[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    bool isf = ref_is_float(x->dtype);
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t in = 0; in < inner; in++) {
            double facc = 0;
            uint64_t iacc = 0;
            for (uint64_t k = 0; k < dim; k++) {
                uint64_t j = rev ? dim - 1 - k : k, at = (o * dim + j) * inner + in;
                if (excl) {
                    if (isf) ref_put(y, at, facc);
                    else ref_puti(y, at, (int64_t)iacc);
                }
                if (isf) facc += ref_get(x, at);
                else iacc += (uint64_t)ref_geti(x, at);
                if (!excl) {
                    if (isf) ref_put(y, at, facc);
                    else ref_puti(y, at, (int64_t)iacc);
                }
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* TopK order: larger (or smaller) first, NaN counted as the largest, ties by lower index. */
typedef struct {
    const IrTensor *x;
    bool largest, isf;
} TopKOrder;

static bool topk_before(const TopKOrder *o, uint64_t a, uint64_t b)
{
    int cmp;
    if (o->isf) {
        double va = ref_get(o->x, a), vb = ref_get(o->x, b);
        bool na = isnan(va), nb = isnan(vb);
        cmp = na || nb ? (na && nb ? 0 : na ? 1 : -1) : (va > vb) - (va < vb);
    } else {
        cmp = ref_elem_lt(o->x, b, a) - ref_elem_lt(o->x, a, b);
    }
    if (!o->largest) cmp = -cmp;
    return cmp > 0 || (cmp == 0 && a < b);
}

/* Stable merge sort of element offsets (dims can be a vocabulary: no quadratic sorts). */
static void topk_sort(const TopKOrder *o, uint64_t *v, uint64_t *tmp, uint64_t n)
{
    if (n < 2) return;
    uint64_t h = n / 2;
    topk_sort(o, v, tmp, h);
    topk_sort(o, v + h, tmp, n - h);
    uint64_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = topk_before(o, v[j], v[i]) ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

bool ref_topk(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int64_t kv[1];
    uint32_t nk;
    bool given;
    if (!ref_int_list(c, 1, NULL, kv, 1, &nk, &given)) return false;
    if (!given) {
        if (!ir_attr(c->n, "k")) return ref_fail(c, "TopK: k is missing");
        kv[0] = ir_attr_int(c->n, "k", 0);
    } else if (nk != 1) {
        return ref_fail(c, "TopK: k must have one element");
    }
    int axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", -1), x->rank, &axis)) return false;
    int64_t k = kv[0], dim = x->shape[axis];
    if (k < 0 || k > dim) return ref_fail(c, "TopK: k=%lld for an axis of %lld", (long long)k, (long long)dim);
    int64_t shape[IR_MAX_RANK];
    ref_copy_dims(shape, x);
    shape[axis] = k;
    IrTensor *vals = ref_new(c, x->dtype, x->rank, shape), *idx = vals ? ref_new(c, DT_I64, x->rank, shape) : NULL;
    if (!idx) return false;
    uint64_t *ord = ref_scratch(c, 2 * (uint64_t)dim, sizeof *ord);
    if (!ord) return false;
    TopKOrder o = {x, ir_attr_int(c->n, "largest", 1) != 0, ref_is_float(x->dtype)};
    uint64_t inner = 1, outer = 1;
    for (int i = 0; i < axis; i++) outer *= (uint64_t)x->shape[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    /* Always sorted: with sorted=0 any order is allowed, and this one is deterministic. */
    for (uint64_t out = 0; out < outer; out++) {
        for (uint64_t in = 0; in < inner; in++) {
            for (int64_t j = 0; j < dim; j++) ord[j] = (out * (uint64_t)dim + (uint64_t)j) * inner + in;
            topk_sort(&o, ord, ord + dim, (uint64_t)dim);
            for (int64_t j = 0; j < k; j++) {
                uint64_t at = (out * (uint64_t)k + (uint64_t)j) * inner + in;
                ref_copy_elem(vals, at, x, ord[j]);
                ref_puti(idx, at, (int64_t)(((ord[j] - in) / inner) % (uint64_t)dim));
            }
        }
    }
    free(ord);
    ref_set_out(c, 0, vals);
    ref_set_out(c, 1, idx);
    return true;
}

bool ref_softmax(RefCx *c)
{
    IrOp op = c->n->op;
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "%s expects floats", ir_op_name(op));
    /* Before opset 13 the input is coerced to 2-D at axis (default 1) and normalized over all of [axis:);
     * from 13 on, over the one axis (default -1). */
    bool legacy = c->n->opset > 0 && c->n->opset < 13;
    int axis;
    int64_t a = ir_attr_int(c->n, "axis", legacy ? 1 : -1);
    if (legacy && x->rank == 0) a = 0;
    if (legacy ? (a < -x->rank || a > x->rank) : !ref_axis(c, a, x->rank, &axis))
        return ref_fail(c, "%s: axis out of range", ir_op_name(op));
    if (legacy) axis = (int)(a < 0 ? a + x->rank : a);
    uint64_t outer = 1, dim = 1, inner = 1;
    for (int i = 0; i < x->rank; i++) {
        uint64_t d = (uint64_t)x->shape[i];
        if (i < axis) outer *= d;
        else if (i == axis || legacy) dim *= d;
        else inner *= d;
    }
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t in = 0; in < inner; in++) {
            uint64_t at0 = o * dim * inner + in;
            double m = -INFINITY;
            uint64_t arg = 0;
            for (uint64_t k = 0; k < dim; k++) {
                double v = ref_get(x, at0 + k * inner);
                if (v > m || isnan(v)) {
                    if (!isnan(m)) arg = k;
                    m = isnan(m) ? m : v;
                }
            }
            if (op == IR_OP_HARDMAX) {
                if (dim) ref_put(y, at0 + arg * inner, 1.0);
                continue;
            }
            double s = 0;
            for (uint64_t k = 0; k < dim; k++) s += exp(ref_get(x, at0 + k * inner) - m);
            for (uint64_t k = 0; k < dim; k++) {
                double v = ref_get(x, at0 + k * inner) - m;
                ref_put(y, at0 + k * inner, op == IR_OP_LOG_SOFTMAX ? v - log(s) : exp(v) / s);
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}
