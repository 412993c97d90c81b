/* runtime/ref/ref_index.c — indexing and generators: Gather, GatherElements, GatherND, ScatterElements,
 * ScatterND, Constant, ConstantOfShape, Range, Trilu, EyeLike, OneHot, NonZero.
 *
 * Indices may be negative (counted from the back); one out of range is an invalid model, reported as a
 * failure rather than read past the data. */
#include "ref_impl.h"

#include <math.h>
#include <string.h>

/* idx[i] as a position along an axis of size dim. */
static bool index_at(RefCx *c, const IrTensor *idx, uint64_t i, int64_t dim, int64_t *out)
{
    int64_t v = ref_geti(idx, i);
    if (v < 0) v += dim;
    if (v < 0 || v >= dim)
        return ref_fail(c, "%s: index %lld out of range [%lld, %lld)", ir_op_name(c->n->op), (long long)ref_geti(idx, i),
                        (long long)-dim, (long long)dim);
    *out = v;
    return true;
}

static bool check_indices(RefCx *c, const IrTensor *idx)
{
    if (!ir_dtype_is_int(idx->dtype)) return ref_fail(c, "%s: indices must be integers", ir_op_name(c->n->op));
    return true;
}

bool ref_gather(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *idx = ref_need(c, 1);
    if (!x || !idx || !check_indices(c, idx)) return false;
    int axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", 0), x->rank, &axis)) return false;
    int r = x->rank - 1 + idx->rank;
    if (r > IR_MAX_RANK) return ref_fail(c, "Gather: rank above %d", IR_MAX_RANK);
    int64_t shape[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++) shape[k++] = x->shape[i];
    for (int i = 0; i < idx->rank; i++) shape[k++] = idx->shape[i];
    for (int i = axis + 1; i < x->rank; i++) shape[k++] = x->shape[i];
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    uint64_t outer = 1, inner = 1, dim = (uint64_t)x->shape[axis];
    for (int i = 0; i < axis; i++) outer *= (uint64_t)x->shape[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    size_t esz = ir_dtype_size(x->dtype), blk = (size_t)inner * esz;
    unsigned char *dst = (unsigned char *)y->data;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t j = 0; j < idx->numel; j++) {
            int64_t p = 0;
            if (!index_at(c, idx, j, (int64_t)dim, &p)) return false;
            if (blk) memcpy(dst, (const unsigned char *)x->data + ((o * dim + (uint64_t)p) * inner) * esz, blk);
            dst += blk;
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_gather_elements(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *idx = ref_need(c, 1);
    if (!x || !idx || !check_indices(c, idx)) return false;
    int r = x->rank, axis;
    if (idx->rank != r) return ref_fail(c, "GatherElements: indices rank differs from data rank");
    if (!ref_axis(c, ir_attr_int(c->n, "axis", 0), r, &axis)) return false;
    for (int i = 0; i < r; i++)
        if (i != axis && idx->shape[i] > x->shape[i]) return ref_fail(c, "GatherElements: indices larger than data");
    IrTensor *y = ref_new(c, x->dtype, r, idx->shape);
    if (!y) return false;
    int64_t xs[IR_MAX_RANK], pos[IR_MAX_RANK] = {0};
    ref_strides(r, x->shape, xs);
    for (uint64_t i = 0; i < y->numel; i++) {
        int64_t p = 0, off = 0;
        if (!index_at(c, idx, i, x->shape[axis], &p)) return false;
        for (int d = 0; d < r; d++) off += (d == axis ? p : pos[d]) * xs[d];
        ref_copy_elem(y, i, x, (uint64_t)off);
        for (int d = r - 1; d >= 0 && ++pos[d] == idx->shape[d]; d--) pos[d] = 0;
    }
    ref_set_out(c, 0, y);
    return true;
}

/* The common frame of GatherND and ScatterND: index tuples of length `last` over data dims
 * [batch_dims, batch_dims + last), each selecting a slice of `slice` elements. */
typedef struct {
    int64_t last, batch_dims;
    uint64_t tuples, per_batch, slice, batch_stride;
    int64_t dstr[IR_MAX_RANK];
} NdFrame;

static bool nd_frame(RefCx *c, const IrTensor *x, const IrTensor *idx, int64_t b, NdFrame *f)
{
    if (idx->rank < 1) return ref_fail(c, "%s: indices must have rank >= 1", ir_op_name(c->n->op));
    f->last = idx->shape[idx->rank - 1];
    f->batch_dims = b;
    if (b < 0 || b >= idx->rank || b > x->rank || f->last > x->rank - b)
        return ref_fail(c, "%s: bad batch_dims or index length", ir_op_name(c->n->op));
    for (int64_t i = 0; i < b; i++)
        if (idx->shape[i] != x->shape[i]) return ref_fail(c, "%s: batch dims differ", ir_op_name(c->n->op));
    f->tuples = 1;
    for (int i = 0; i < idx->rank - 1; i++) f->tuples *= (uint64_t)idx->shape[i];
    uint64_t batches = 1;
    for (int64_t i = 0; i < b; i++) batches *= (uint64_t)idx->shape[i];
    f->per_batch = batches ? f->tuples / batches : 0;
    f->slice = 1;
    for (int64_t i = b + f->last; i < x->rank; i++) f->slice *= (uint64_t)x->shape[i];
    ref_strides(x->rank, x->shape, f->dstr);
    f->batch_stride = b > 0 ? (uint64_t)f->dstr[b - 1] : 0;
    return true;
}

/* Element offset in x of the slice selected by tuple t. */
static bool nd_offset(RefCx *c, const IrTensor *x, const IrTensor *idx, const NdFrame *f, uint64_t t, uint64_t *off)
{
    uint64_t o = f->per_batch ? (t / f->per_batch) * f->batch_stride : 0;
    for (int64_t j = 0; j < f->last; j++) {
        int64_t p = 0;
        if (!index_at(c, idx, t * (uint64_t)f->last + (uint64_t)j, x->shape[f->batch_dims + j], &p)) return false;
        o += (uint64_t)p * (uint64_t)f->dstr[f->batch_dims + j];
    }
    *off = o;
    return true;
}

bool ref_gather_nd(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *idx = ref_need(c, 1);
    if (!x || !idx || !check_indices(c, idx)) return false;
    NdFrame f;
    if (!nd_frame(c, x, idx, ir_attr_int(c->n, "batch_dims", 0), &f)) return false;
    int64_t shape[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < idx->rank - 1; i++) shape[r++] = idx->shape[i];
    for (int64_t i = f.batch_dims + f.last; i < x->rank; i++) {
        if (r == IR_MAX_RANK) return ref_fail(c, "GatherND: rank above %d", IR_MAX_RANK);
        shape[r++] = x->shape[i];
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    size_t esz = ir_dtype_size(x->dtype);
    for (uint64_t t = 0; t < f.tuples && f.slice; t++) {
        uint64_t off;
        if (!nd_offset(c, x, idx, &f, t, &off)) return false;
        memcpy((unsigned char *)y->data + t * f.slice * esz, (const unsigned char *)x->data + off * esz, f.slice * esz);
    }
    ref_set_out(c, 0, y);
    return true;
}

typedef enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } Reduction;

static bool scatter_reduction(RefCx *c, Reduction *r)
{
    const char *s = ir_attr_str(c->n, "reduction", "none");
    if (strcmp(s, "none") == 0) *r = RED_NONE;
    else if (strcmp(s, "add") == 0) *r = RED_ADD;
    else if (strcmp(s, "mul") == 0) *r = RED_MUL;
    else if (strcmp(s, "max") == 0) *r = RED_MAX;
    else if (strcmp(s, "min") == 0) *r = RED_MIN;
    else return ref_fail(c, "%s: unknown reduction '%s'", ir_op_name(c->n->op), s);
    return true;
}

static void scatter_one(IrTensor *y, uint64_t di, const IrTensor *u, uint64_t si, Reduction r)
{
    if (r == RED_NONE) {
        ref_copy_elem(y, di, u, si);
    } else if (ref_is_float(y->dtype)) {
        double a = ref_get(y, di), b = ref_get(u, si);
        ref_put(y, di, r == RED_ADD ? a + b : r == RED_MUL ? a * b : r == RED_MAX ? (b > a ? b : a) : (b < a ? b : a));
    } else {
        int64_t a = ref_geti(y, di), b = ref_geti(u, si);
        bool gt = y->dtype == DT_U64 ? (uint64_t)b > (uint64_t)a : b > a;
        ref_puti(y, di, r == RED_ADD   ? (int64_t)((uint64_t)a + (uint64_t)b)
                        : r == RED_MUL ? (int64_t)((uint64_t)a * (uint64_t)b)
                        : r == RED_MAX ? (gt ? b : a)
                                       : (!gt && b != a ? b : a));
    }
}

static IrTensor *copy_of(RefCx *c, const IrTensor *x)
{
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (y && x->nbytes) memcpy((void *)y->data, x->data, x->nbytes);
    return y;
}

bool ref_scatter_elements(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *idx = ref_need(c, 1), *u = ref_need(c, 2);
    if (!x || !idx || !u || !check_indices(c, idx) || !ref_same_dtype(c, x, u)) return false;
    int r = x->rank, axis;
    Reduction red;
    if (!scatter_reduction(c, &red) || !ref_axis(c, ir_attr_int(c->n, "axis", 0), r, &axis)) return false;
    if (idx->rank != r || u->rank != r) return ref_fail(c, "ScatterElements: ranks differ");
    for (int i = 0; i < r; i++) {
        if (idx->shape[i] != u->shape[i]) return ref_fail(c, "ScatterElements: indices and updates differ");
        if (i != axis && idx->shape[i] > x->shape[i]) return ref_fail(c, "ScatterElements: indices larger than data");
    }
    IrTensor *y = copy_of(c, x);
    if (!y) return false;
    int64_t xs[IR_MAX_RANK], pos[IR_MAX_RANK] = {0};
    ref_strides(r, x->shape, xs);
    for (uint64_t i = 0; i < idx->numel; i++) {
        int64_t p = 0, off = 0;
        if (!index_at(c, idx, i, x->shape[axis], &p)) return false;
        for (int d = 0; d < r; d++) off += (d == axis ? p : pos[d]) * xs[d];
        scatter_one(y, (uint64_t)off, u, i, red);
        for (int d = r - 1; d >= 0 && ++pos[d] == idx->shape[d]; d--) pos[d] = 0;
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_scatter_nd(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *idx = ref_need(c, 1), *u = ref_need(c, 2);
    if (!x || !idx || !u || !check_indices(c, idx) || !ref_same_dtype(c, x, u)) return false;
    Reduction red;
    NdFrame f;
    if (!scatter_reduction(c, &red) || !nd_frame(c, x, idx, 0, &f)) return false;
    if (u->numel != f.tuples * f.slice) return ref_fail(c, "ScatterND: updates do not match indices");
    IrTensor *y = copy_of(c, x);
    if (!y) return false;
    for (uint64_t t = 0; t < f.tuples; t++) {
        uint64_t off;
        if (!nd_offset(c, x, idx, &f, t, &off)) return false;
        for (uint64_t k = 0; k < f.slice; k++) scatter_one(y, off + k, u, t * f.slice + k, red);
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_constant(RefCx *c)
{
    const IrAttr *a;
    IrTensor *y = NULL;
    if ((a = ir_attr(c->n, "value")) && a->kind == ATTR_TENSOR) {
        if (!ref_check_dtype(c, a->u.t)) return false;
        y = ref_view(c, a->u.t, a->u.t->rank, a->u.t->shape);
    } else if ((a = ir_attr(c->n, "value_float")) && a->kind == ATTR_FLOAT) {
        if ((y = ref_new(c, DT_F32, 0, NULL))) ref_put(y, 0, a->u.f);
    } else if ((a = ir_attr(c->n, "value_int")) && a->kind == ATTR_INT) {
        if ((y = ref_new(c, DT_I64, 0, NULL))) ref_puti(y, 0, a->u.i);
    } else if ((a = ir_attr(c->n, "value_floats")) && a->kind == ATTR_FLOATS) {
        int64_t n = a->n;
        if ((y = ref_new(c, DT_F32, 1, &n)))
            for (uint32_t i = 0; i < a->n; i++) ref_put(y, i, a->u.fs[i]);
    } else if ((a = ir_attr(c->n, "value_ints")) && a->kind == ATTR_INTS) {
        int64_t n = a->n;
        if ((y = ref_new(c, DT_I64, 1, &n)))
            for (uint32_t i = 0; i < a->n; i++) ref_puti(y, i, a->u.is[i]);
    } else {
        return ref_fail(c, "Constant: no value attribute this evaluator reads (strings and sparse are not)");
    }
    ref_set_out(c, 0, y);
    return y != NULL;
}

bool ref_constant_of_shape(RefCx *c)
{
    const IrTensor *s = ref_need(c, 0);
    int64_t shape[IR_MAX_RANK];
    uint32_t r;
    if (!s || !ref_ints(c, s, shape, IR_MAX_RANK, &r)) return false;
    const IrAttr *a = ir_attr(c->n, "value");
    const IrTensor *v = a && a->kind == ATTR_TENSOR ? a->u.t : NULL;
    if (v && (v->numel != 1 || !ref_check_dtype(c, v))) return ref_fail(c, "ConstantOfShape: value must be one element");
    for (uint32_t i = 0; i < r; i++)
        if (shape[i] < 0) return ref_fail(c, "ConstantOfShape: negative dim");
    IrTensor *y = ref_new(c, v ? v->dtype : DT_F32, (int)r, shape);   /* checks the size before allocating */
    if (!y) return false;
    if (v)
        for (uint64_t i = 0; i < y->numel; i++) ref_copy_elem(y, i, v, 0);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_range(RefCx *c)
{
    const IrTensor *ts = ref_need(c, 0), *tl = ref_need(c, 1), *td = ref_need(c, 2);
    if (!ts || !tl || !td || !ref_same_dtype(c, ts, tl) || !ref_same_dtype(c, ts, td)) return false;
    if (ts->numel != 1 || tl->numel != 1 || td->numel != 1) return ref_fail(c, "Range: inputs must be scalars");
    int64_t n;
    IrTensor *y;
    if (ref_is_float(ts->dtype)) {
        double start = ref_get(ts, 0), limit = ref_get(tl, 0), delta = ref_get(td, 0);
        double cnt = ceil((limit - start) / delta);
        if (delta == 0 || isnan(cnt)) return ref_fail(c, "Range: zero or NaN delta");
        if (cnt > 4e18) return ref_fail(c, "Range: %g elements", cnt);
        n = cnt > 0 ? (int64_t)cnt : 0;
        if (!(y = ref_new(c, ts->dtype, 1, &n))) return false;
        for (int64_t i = 0; i < n; i++) ref_put(y, (uint64_t)i, start + (double)i * delta);
    } else {
        int64_t start = ref_geti(ts, 0), limit = ref_geti(tl, 0), delta = ref_geti(td, 0);
        if (delta == 0) return ref_fail(c, "Range: zero delta");
        __int128 diff = (__int128)limit - start, d = delta;
        __int128 cnt = (diff > 0) == (d > 0) ? (diff + d - (d > 0 ? 1 : -1)) / d : 0;
        if (cnt > ((__int128)1 << 62)) return ref_fail(c, "Range: too many elements");
        n = cnt > 0 ? (int64_t)cnt : 0;
        if (!(y = ref_new(c, ts->dtype, 1, &n))) return false;
        for (int64_t i = 0; i < n; i++) ref_puti(y, (uint64_t)i, (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)delta));
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_trilu(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *tk = ref_in(c, 1);
    if (!x) return false;
    if (x->rank < 2) return ref_fail(c, "Trilu expects rank >= 2");
    if (tk && tk->numel != 1) return ref_fail(c, "Trilu: k must be a scalar");
    int64_t k = tk ? ref_geti(tk, 0) : 0;
    bool upper = ir_attr_int(c->n, "upper", 1) != 0;
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    int64_t R = x->shape[x->rank - 2], C = x->shape[x->rank - 1];
    for (uint64_t i = 0; i < x->numel; i++) {
        int64_t col = (int64_t)(i % (uint64_t)C), row = (int64_t)((i / (uint64_t)C) % (uint64_t)R);
        /* the kept part; the rest stays zero from ref_new */
        if (upper ? col - row >= k : col - row <= k) ref_copy_elem(y, i, x, i);
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_eye_like(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (x->rank != 2) return ref_fail(c, "EyeLike expects a 2-D input");
    IrDType t = (IrDType)ir_attr_int(c->n, "dtype", x->dtype);
    int64_t k = ir_attr_int(c->n, "k", 0), j;
    IrTensor *y = ref_new(c, t, 2, x->shape);
    if (!y) return false;
    for (int64_t i = 0; i < x->shape[0]; i++)
        if (!__builtin_add_overflow(i, k, &j) && j >= 0 && j < x->shape[1]) ref_puti(y, (uint64_t)(i * x->shape[1] + j), 1);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_one_hot(RefCx *c)
{
    const IrTensor *idx = ref_need(c, 0), *td = ref_need(c, 1), *vals = ref_need(c, 2);
    if (!idx || !td || !vals) return false;
    if (td->numel != 1 || vals->numel != 2) return ref_fail(c, "OneHot: depth must be a scalar, values two elements");
    double dd = ref_get(td, 0);
    if (!(dd >= 1) || dd > 4e18) return ref_fail(c, "OneHot: bad depth");
    int64_t depth = (int64_t)dd;
    int q = idx->rank, axis;
    if (q + 1 > IR_MAX_RANK) return ref_fail(c, "OneHot: rank above %d", IR_MAX_RANK);
    if (!ref_axis(c, ir_attr_int(c->n, "axis", -1), q + 1, &axis)) return false;
    int64_t shape[IR_MAX_RANK];
    for (int i = 0, k = 0; i <= q; i++) shape[i] = i == axis ? depth : idx->shape[k++];
    IrTensor *y = ref_new(c, vals->dtype, q + 1, shape);
    if (!y) return false;
    uint64_t inner = 1;
    for (int i = axis; i < q; i++) inner *= (uint64_t)idx->shape[i];
    for (uint64_t i = 0; i < y->numel; i++) {
        uint64_t in_inner = i % inner, d = (i / inner) % (uint64_t)depth, outer = i / inner / (uint64_t)depth;
        double v = ref_get(idx, outer * inner + in_inner);
        /* float indices truncate, as ONNX Runtime casts them; NaN and huge ones match nothing */
        int64_t p = v > -4e18 && v < 4e18 ? (int64_t)v : INT64_MIN;
        if (p < 0 && p != INT64_MIN) p += depth;
        ref_copy_elem(y, i, vals, p == (int64_t)d ? 1 : 0);
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_non_zero(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (x->rank < 1) return ref_fail(c, "NonZero of a scalar is not supported");
    int64_t nz = 0;
    bool isf = ref_is_float(x->dtype);
    for (uint64_t i = 0; i < x->numel; i++) nz += isf ? ref_get(x, i) != 0 : ref_geti(x, i) != 0;
    int64_t shape[2] = {x->rank, nz};
    IrTensor *y = ref_new(c, DT_I64, 2, shape);
    if (!y) return false;
    int64_t pos[IR_MAX_RANK] = {0}, k = 0;
    for (uint64_t i = 0; i < x->numel; i++) {
        if (isf ? ref_get(x, i) != 0 : ref_geti(x, i) != 0) {
            for (int d = 0; d < x->rank; d++) ref_puti(y, (uint64_t)(d * nz + k), pos[d]);
            k++;
        }
        for (int d = x->rank - 1; d >= 0 && ++pos[d] == x->shape[d]; d--) pos[d] = 0;
    }
    ref_set_out(c, 0, y);
    return true;
}
