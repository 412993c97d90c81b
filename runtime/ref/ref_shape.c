/* runtime/ref/ref_shape.c — data movement: Shape, Size, the reshaping ops, Transpose, Concat, Split, Slice,
 * Expand, Tile, Pad, DepthToSpace/SpaceToDepth.
 *
 * Elements are moved as bytes, never through double, so int64 beyond 2^53 and NaN payloads survive; ops that
 * only relabel the shape share the input's bytes (ref_view). */
#include "ref_impl.h"

#include <stdlib.h>
#include <string.h>

/* dst (contiguous, `shape`) [idx] = src[base + sum(idx[i] * sstrides[i])]. */
void ref_strided_copy(IrTensor *dst, const IrTensor *src, int rank, const int64_t *shape, const int64_t *sstrides,
                      int64_t base)
{
    if (dst->numel == 0) return;
    int64_t idx[IR_MAX_RANK] = {0};
    int64_t off = base;
    for (uint64_t i = 0; i < dst->numel; i++) {
        ref_copy_elem(dst, i, src, (uint64_t)off);
        for (int d = rank - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) {
                off += sstrides[d];
                break;
            }
            off -= sstrides[d] * (shape[d] - 1);
            idx[d] = 0;
        }
    }
}

bool ref_shape_op(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (c->n->op == IR_OP_SIZE) {
        IrTensor *y = ref_new(c, DT_I64, 0, NULL);
        if (!y) return false;
        ref_puti(y, 0, (int64_t)x->numel);
        ref_set_out(c, 0, y);
        return true;
    }
    /* Shape-15 start/end: negative counts from the back, both clamp to [0, rank]. */
    int64_t r = x->rank;
    int64_t start = ir_attr_int(c->n, "start", 0), end = ir_attr_int(c->n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    IrTensor *y = ref_new(c, DT_I64, 1, &len);
    if (!y) return false;
    for (int64_t i = 0; i < len; i++) ref_puti(y, (uint64_t)i, x->shape[start + i]);
    ref_set_out(c, 0, y);
    return true;
}

static bool reshape_target(RefCx *c, const IrTensor *x, int *rank, int64_t *shape)
{
    const IrTensor *s = ref_need(c, 1);
    uint32_t n;
    if (!s || !ref_ints(c, s, shape, IR_MAX_RANK, &n)) return false;
    bool allowzero = ir_attr_int(c->n, "allowzero", 0) != 0;
    int infer = -1;
    uint64_t known = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (shape[i] == 0 && !allowzero) {
            if ((int)i >= x->rank) return ref_fail(c, "Reshape: 0 copies a dim the input does not have");
            shape[i] = x->shape[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) return ref_fail(c, "Reshape: two -1 dims");
            infer = (int)i;
            continue;
        }
        if (shape[i] < 0) return ref_fail(c, "Reshape: negative dim %lld", (long long)shape[i]);
        if (__builtin_mul_overflow(known, (uint64_t)shape[i], &known)) return ref_fail(c, "Reshape: overflow");
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known) return ref_fail(c, "Reshape: cannot infer the -1 dim");
        shape[infer] = (int64_t)(x->numel / known);
    }
    *rank = (int)n;
    return true;
}

/* The axes of Squeeze/Unsqueeze: input 1, or the attribute before opset 13. */
static bool axes_set(RefCx *c, int rank, bool *mark, bool *given)
{
    int64_t axes[IR_MAX_RANK];
    uint32_t n;
    if (!ref_int_list(c, 1, "axes", axes, IR_MAX_RANK, &n, given)) return false;
    memset(mark, 0, IR_MAX_RANK * sizeof *mark);
    for (uint32_t i = 0; i < n; i++) {
        int a;
        if (!ref_axis(c, axes[i], rank, &a)) return false;
        if (mark[a]) return ref_fail(c, "%s: axis %d given twice", ir_op_name(c->n->op), a);
        mark[a] = true;
    }
    if (n == 0) *given = false;
    return true;
}

bool ref_reshape(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int rank = 0;
    int64_t shape[IR_MAX_RANK];
    bool mark[IR_MAX_RANK], given;
    switch (c->n->op) {
    case IR_OP_IDENTITY:
        rank = x->rank;
        ref_copy_dims(shape, x);
        break;
    case IR_OP_RESHAPE:
        if (!reshape_target(c, x, &rank, shape)) return false;
        break;
    case IR_OP_FLATTEN: {
        int64_t axis = ir_attr_int(c->n, "axis", 1);
        if (axis < 0) axis += x->rank;
        if (axis < 0 || axis > x->rank) return ref_fail(c, "Flatten: axis out of range");
        shape[0] = shape[1] = 1;
        for (int i = 0; i < x->rank; i++) shape[i < axis ? 0 : 1] *= x->shape[i];
        rank = 2;
        break;
    }
    case IR_OP_SQUEEZE:
        if (!axes_set(c, x->rank, mark, &given)) return false;
        for (int i = 0; i < x->rank; i++) {
            if (given && mark[i] && x->shape[i] != 1) return ref_fail(c, "Squeeze: dim %d is not 1", i);
            if (given ? !mark[i] : x->shape[i] != 1) shape[rank++] = x->shape[i];
        }
        break;
    case IR_OP_UNSQUEEZE: {
        int64_t axes[IR_MAX_RANK];
        uint32_t n;
        if (!ref_int_list(c, 1, "axes", axes, IR_MAX_RANK, &n, &given)) return false;
        rank = x->rank + (int)n;
        if (rank > IR_MAX_RANK) return ref_fail(c, "Unsqueeze: rank above %d", IR_MAX_RANK);
        memset(mark, 0, sizeof mark);
        for (uint32_t i = 0; i < n; i++) {
            int a;
            if (!ref_axis(c, axes[i], rank, &a)) return false;
            if (mark[a]) return ref_fail(c, "Unsqueeze: axis %d given twice", a);
            mark[a] = true;
        }
        for (int i = 0, k = 0; i < rank; i++) shape[i] = mark[i] ? 1 : x->shape[k++];
        break;
    }
    default:
        return ref_fail(c, "ref_reshape: unexpected op");
    }
    IrTensor *y = ref_view(c, x, rank, shape);
    if (!y) return false;
    ref_set_out(c, 0, y);
    return true;
}

bool ref_transpose(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int r = x->rank;
    int64_t perm[IR_MAX_RANK];
    uint32_t np;
    const int64_t *p = ir_attr_ints(c->n, "perm", &np);
    if (p) {
        if ((int)np != r) return ref_fail(c, "Transpose: perm has %u entries for rank %d", np, r);
        memcpy(perm, p, np * sizeof *p);
    } else {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
    }
    bool seen[IR_MAX_RANK] = {0};
    int64_t shape[IR_MAX_RANK], istr[IR_MAX_RANK], sstr[IR_MAX_RANK];
    ref_strides(r, x->shape, istr);
    for (int i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) return ref_fail(c, "Transpose: perm is not a permutation");
        seen[perm[i]] = true;
        shape[i] = x->shape[perm[i]];
        sstr[i] = istr[perm[i]];
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    ref_strided_copy(y, x, r, shape, sstr, 0);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_concat(RefCx *c)
{
    uint32_t nin = c->n->nin;
    const IrTensor *x0 = ref_need(c, 0);
    if (!x0) return false;
    int r = x0->rank, axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", 0), r, &axis)) return false;
    int64_t shape[IR_MAX_RANK];
    ref_copy_dims(shape, x0);
    shape[axis] = 0;
    for (uint32_t k = 0; k < nin; k++) {
        const IrTensor *x = ref_need(c, k);
        if (!x || !ref_same_dtype(c, x0, x)) return false;
        if (x->rank != r) return ref_fail(c, "Concat: inputs of rank %d and %d", r, x->rank);
        for (int i = 0; i < r; i++)
            if (i != axis && x->shape[i] != x0->shape[i]) return ref_fail(c, "Concat: shapes differ on axis %d", i);
        shape[axis] += x->shape[axis];
    }
    IrTensor *y = ref_new(c, x0->dtype, r, shape);
    if (!y) return false;
    /* Each input contributes one contiguous block per outer index. */
    uint64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= (uint64_t)shape[i];
    for (int i = axis + 1; i < r; i++) inner *= (uint64_t)shape[i];
    size_t esz = ir_dtype_size(x0->dtype);
    unsigned char *dst = (unsigned char *)y->data;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint32_t k = 0; k < nin; k++) {
            const IrTensor *x = c->in[k];
            size_t blk = (size_t)((uint64_t)x->shape[axis] * inner) * esz;
            if (blk) memcpy(dst, (const unsigned char *)x->data + o * blk, blk);
            dst += blk;
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* Copy x[..., start:start+len, ...] along axis into a new tensor. */
static IrTensor *axis_block(RefCx *c, const IrTensor *x, int axis, int64_t start, int64_t len)
{
    int64_t shape[IR_MAX_RANK];
    ref_copy_dims(shape, x);
    shape[axis] = len;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return NULL;
    uint64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++) outer *= (uint64_t)shape[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= (uint64_t)shape[i];
    size_t esz = ir_dtype_size(x->dtype), blk = (size_t)((uint64_t)len * inner) * esz;
    for (uint64_t o = 0; o < outer && blk; o++)
        memcpy((unsigned char *)y->data + o * blk,
               (const unsigned char *)x->data + ((o * (uint64_t)x->shape[axis] + (uint64_t)start) * inner) * esz, blk);
    return y;
}

bool ref_split(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", 0), x->rank, &axis)) return false;
    uint32_t nout = c->n->nout;
    int64_t dim = x->shape[axis];
    int64_t *sizes = ref_scratch(c, nout, sizeof *sizes);
    if (!sizes) return false;
    uint32_t ns;
    bool given, ok = ref_int_list(c, 1, "split", sizes, nout, &ns, &given);
    if (ok && given) {
        int64_t total = 0;
        for (uint32_t i = 0; ok && i < ns; i++)
            if (sizes[i] < 0 || __builtin_add_overflow(total, sizes[i], &total)) ok = ref_fail(c, "Split: bad sizes");
        if (ok && (ns != nout || total != dim)) ok = ref_fail(c, "Split: sizes do not cover the axis");
    } else if (ok) {
        /* Split-18 num_outputs: chunks of ceil(dim / n), the last one smaller.  Earlier: equal parts. */
        int64_t parts = ir_attr_int(c->n, "num_outputs", (int64_t)nout);
        if (parts != (int64_t)nout) ok = ref_fail(c, "Split: num_outputs %lld for %u outputs", (long long)parts, nout);
        int64_t chunk = ok ? (dim + parts - 1) / parts : 0;
        if (ok && ir_attr(c->n, "num_outputs") == NULL && dim % parts) ok = ref_fail(c, "Split: uneven split");
        if (ok && dim - chunk * (parts - 1) < 0) ok = ref_fail(c, "Split: %lld does not split in %lld", (long long)dim,
                                                              (long long)parts);
        for (uint32_t i = 0; ok && i < nout; i++) sizes[i] = i + 1 < nout ? chunk : dim - chunk * (parts - 1);
    }
    int64_t start = 0;
    for (uint32_t i = 0; ok && i < nout; i++) {
        IrTensor *y = axis_block(c, x, axis, start, sizes[i]);
        ok = y != NULL;
        ref_set_out(c, i, y);
        start += sizes[i];
    }
    free(sizes);
    return ok;
}

bool ref_slice(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int r = x->rank;
    int64_t starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    uint32_t ns, ne, na, nst;
    bool has_s, has_e, has_a, has_st;
    if (!ref_int_list(c, 1, "starts", starts, IR_MAX_RANK, &ns, &has_s) ||
        !ref_int_list(c, 2, "ends", ends, IR_MAX_RANK, &ne, &has_e) ||
        !ref_int_list(c, 3, "axes", axes, IR_MAX_RANK, &na, &has_a) ||
        !ref_int_list(c, 4, NULL, steps, IR_MAX_RANK, &nst, &has_st))
        return false;
    if (!has_s || !has_e || ns != ne || (has_a && na != ns) || (has_st && nst != ns))
        return ref_fail(c, "Slice: starts, ends, axes and steps disagree");
    int64_t shape[IR_MAX_RANK], istr[IR_MAX_RANK], sstr[IR_MAX_RANK], base = 0;
    bool seen[IR_MAX_RANK] = {0};
    ref_strides(r, x->shape, istr);
    ref_copy_dims(shape, x);
    memcpy(sstr, istr, (size_t)r * sizeof *sstr);
    for (uint32_t i = 0; i < ns; i++) {
        int a;
        if (!ref_axis(c, has_a ? axes[i] : (int64_t)i, r, &a)) return false;
        if (seen[a]) return ref_fail(c, "Slice: axis %d given twice", a);
        seen[a] = true;
        int64_t d = x->shape[a], s = starts[i], e = ends[i], st = has_st ? steps[i] : 1;
        if (st == 0) return ref_fail(c, "Slice: step 0");
        if (s < 0) s += d;
        if (e < 0) e += d;
        uint64_t len;
        if (st > 0) {
            s = s < 0 ? 0 : s > d ? d : s;
            e = e < 0 ? 0 : e > d ? d : e;
            len = e > s ? ((uint64_t)(e - s) - 1) / (uint64_t)st + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
            e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
            len = s > e ? ((uint64_t)(s - e) - 1) / ((uint64_t)0 - (uint64_t)st) + 1 : 0;
        }
        shape[a] = (int64_t)len;
        if (len) {
            base += s * istr[a];
            sstr[a] = len > 1 ? istr[a] * st : 0;   /* a single element needs no step (and st may be huge) */
        }
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    ref_strided_copy(y, x, r, shape, sstr, base);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_expand(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *s = ref_need(c, 1);
    int64_t want[IR_MAX_RANK];
    uint32_t n;
    if (!x || !s || !ref_ints(c, s, want, IR_MAX_RANK, &n)) return false;
    int r = x->rank > (int)n ? x->rank : (int)n;
    int64_t shape[IR_MAX_RANK], istr[IR_MAX_RANK], sstr[IR_MAX_RANK];
    ref_strides(x->rank, x->shape, istr);
    for (int i = 0; i < r; i++) {
        int xi = i - (r - x->rank), si = i - (r - (int)n);
        int64_t a = xi >= 0 ? x->shape[xi] : 1, b = si >= 0 ? want[si] : 1;
        if (b < 0) return ref_fail(c, "Expand: negative dim");
        if (a != b && a != 1 && b != 1) return ref_fail(c, "Expand: %lld does not broadcast to %lld", (long long)a,
                                                        (long long)b);
        shape[i] = a == 1 ? b : a;
        sstr[i] = (xi >= 0 && a != 1) ? istr[xi] : 0;
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    ref_strided_copy(y, x, r, shape, sstr, 0);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_tile(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *rep = ref_need(c, 1);
    int64_t reps[IR_MAX_RANK];
    uint32_t n;
    if (!x || !rep || !ref_ints(c, rep, reps, IR_MAX_RANK, &n)) return false;
    int r = x->rank;
    if ((int)n != r) return ref_fail(c, "Tile: %u repeats for rank %d", n, r);
    int64_t shape[IR_MAX_RANK], istr[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        if (reps[i] < 0) return ref_fail(c, "Tile: negative repeat");
        if (__builtin_mul_overflow(x->shape[i], reps[i], &shape[i])) return ref_fail(c, "Tile: overflow");
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    ref_strides(r, x->shape, istr);
    int64_t idx[IR_MAX_RANK] = {0};
    for (uint64_t i = 0; i < y->numel; i++) {
        int64_t off = 0;
        for (int d = 0; d < r; d++) off += (idx[d] % x->shape[d]) * istr[d];
        ref_copy_elem(y, i, x, (uint64_t)off);
        for (int d = r - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    ref_set_out(c, 0, y);
    return true;
}

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;

/* Source index along one axis for output index o, or -1 for the constant. */
static int64_t pad_source(PadMode m, int64_t o, int64_t begin, int64_t d)
{
    int64_t s = o - begin;
    if (s >= 0 && s < d) return s;
    switch (m) {
    case PAD_CONSTANT: return -1;
    case PAD_EDGE: return s < 0 ? 0 : d - 1;
    case PAD_WRAP: return ((s % d) + d) % d;
    case PAD_REFLECT: {
        if (d == 1) return 0;
        int64_t period = 2 * (d - 1), k = ((s % period) + period) % period;   /* numpy's repeated reflection */
        return k < d ? k : period - k;
    }
    }
    return -1;
}

bool ref_pad(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int r = x->rank;
    const char *mode_s = ir_attr_str(c->n, "mode", "constant");
    PadMode mode;
    if (strcmp(mode_s, "constant") == 0) mode = PAD_CONSTANT;
    else if (strcmp(mode_s, "reflect") == 0) mode = PAD_REFLECT;
    else if (strcmp(mode_s, "edge") == 0) mode = PAD_EDGE;
    else if (strcmp(mode_s, "wrap") == 0) mode = PAD_WRAP;
    else return ref_fail(c, "Pad: unknown mode '%s'", mode_s);
    int64_t pads[2 * IR_MAX_RANK], axes_v[IR_MAX_RANK];
    uint32_t np, na;
    bool has_p, has_a;
    if (!ref_int_list(c, 1, ir_attr(c->n, "paddings") ? "paddings" : "pads", pads, 2 * IR_MAX_RANK, &np, &has_p) ||
        !ref_int_list(c, 3, NULL, axes_v, IR_MAX_RANK, &na, &has_a))
        return false;
    int axes[IR_MAX_RANK];
    if (!has_a) {
        na = (uint32_t)r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    for (uint32_t i = 0; has_a && i < na; i++)
        if (!ref_axis(c, axes_v[i], r, &axes[i])) return false;
    if (np != 2 * na) return ref_fail(c, "Pad: %u pads for %u axes", np, na);
    int64_t begin[IR_MAX_RANK] = {0}, end[IR_MAX_RANK] = {0}, shape[IR_MAX_RANK];
    for (uint32_t i = 0; i < na; i++) {
        begin[axes[i]] = pads[i];
        end[axes[i]] = pads[i + na];
    }
    for (int i = 0; i < r; i++) {
        if (__builtin_add_overflow(x->shape[i], begin[i], &shape[i]) || __builtin_add_overflow(shape[i], end[i], &shape[i]))
            return ref_fail(c, "Pad: output dim overflows");
        if (shape[i] < 0) return ref_fail(c, "Pad: negative output dim");
        if (mode != PAD_CONSTANT && (begin[i] < 0 || end[i] < 0))
            return ref_fail(c, "Pad: negative pads with mode %s", mode_s);
        if (mode != PAD_CONSTANT && x->shape[i] == 0 && shape[i] > 0)
            return ref_fail(c, "Pad: cannot %s-pad an empty axis", mode_s);
    }
    /* The constant, as one element of x's dtype: input 2 (the importer turns the `value` attribute of
     * Pad < 11 into an f32 input, whatever the data's float type). */
    const IrTensor *cv = ref_in(c, 2);
    if (cv && cv->numel > 1) return ref_fail(c, "Pad: constant_value must be a scalar");
    if (cv && cv->numel == 1 && ref_is_float(cv->dtype) != ref_is_float(x->dtype)) return ref_same_dtype(c, x, cv);
    IrTensor *fill = ir_tensor_new(c->g, x->dtype, 0, NULL);
    if (cv && cv->numel == 1 && cv->dtype == x->dtype) ref_copy_elem(fill, 0, cv, 0);
    else if (cv && cv->numel == 1) ref_put(fill, 0, ref_get(cv, 0));
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    int64_t istr[IR_MAX_RANK], idx[IR_MAX_RANK] = {0};
    ref_strides(r, x->shape, istr);
    for (uint64_t i = 0; i < y->numel; i++) {
        int64_t off = 0;
        bool inside = true;
        for (int d = 0; d < r && inside; d++) {
            int64_t s = pad_source(mode, idx[d], begin[d], x->shape[d]);
            if (s < 0) inside = false;
            else off += s * istr[d];
        }
        if (inside) ref_copy_elem(y, i, x, (uint64_t)off);
        else ref_copy_elem(y, i, fill, 0);
        for (int d = r - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_space_depth(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    bool d2s = c->n->op == IR_OP_DEPTH_TO_SPACE;
    int64_t b = ir_attr_int(c->n, "blocksize", 0);
    if (x->rank != 4) return ref_fail(c, "%s expects a 4-D input", ir_op_name(c->n->op));
    if (b <= 0 || b > (1 << 20)) return ref_fail(c, "%s: bad blocksize", ir_op_name(c->n->op));
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    /* DCR puts the block offset outside the channel, CRD inside it (SpaceToDepth has the mode from opset 26) */
    bool crd = strcmp(ir_attr_str(c->n, "mode", "DCR"), "CRD") == 0;
    int64_t shape[4];
    if (d2s) {
        if (C % (b * b)) return ref_fail(c, "DepthToSpace: channels not divisible by blocksize^2");
        shape[0] = N, shape[1] = C / (b * b), shape[2] = H * b, shape[3] = W * b;
    } else {
        if (H % b || W % b) return ref_fail(c, "SpaceToDepth: spatial dims not divisible by blocksize");
        shape[0] = N, shape[1] = C * b * b, shape[2] = H / b, shape[3] = W / b;
    }
    IrTensor *y = ref_new(c, x->dtype, 4, shape);
    if (!y) return false;
    int64_t OC = shape[1], OH = shape[2], OW = shape[3];
    uint64_t i = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t oc = 0; oc < OC; oc++)
            for (int64_t h = 0; h < OH; h++)
                for (int64_t w = 0; w < OW; w++, i++) {
                    int64_t sc, sh, sw;
                    if (d2s) {
                        int64_t bh = h % b, bw = w % b;
                        sc = crd ? oc * b * b + bh * b + bw : (bh * b + bw) * OC + oc;
                        sh = h / b, sw = w / b;
                    } else {
                        int64_t bh = crd ? (oc / b) % b : oc / (b * C), bw = crd ? oc % b : (oc / C) % b;
                        sc = crd ? oc / (b * b) : oc % C, sh = h * b + bh, sw = w * b + bw;
                    }
                    ref_copy_elem(y, i, x, (uint64_t)(((n * C + sc) * H + sh) * W + sw));
                }
    ref_set_out(c, 0, y);
    return true;
}
