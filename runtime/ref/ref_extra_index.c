/* runtime/ref/ref_extra_index.c — reference kernels of the less common ops, part 2: the index-heavy ones
 * (ReverseSequence, Compress, CenterCropPad, Det, AffineGrid, GridSample).  Part 1 is ref_extra.c. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Advances a multi-index over `shape`. */
static void step(int64_t *idx, const int64_t *shape, int rank)
{
    for (int d = rank - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
}

static uint64_t flat(const int64_t *idx, const int64_t *shape, int rank)
{
    uint64_t at = 0;
    for (int d = 0; d < rank; d++) at = at * (uint64_t)shape[d] + (uint64_t)idx[d];
    return at;
}

/* --- ReverseSequence ------------------------------------------------------------------------------------------ */

bool ref_reverse_sequence(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *l = ref_need(c, 1);
    if (!x || !l) return false;
    int64_t ba = ir_attr_int(c->n, "batch_axis", 1), ta = ir_attr_int(c->n, "time_axis", 0);
    if (x->rank < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return ref_fail(c, "ReverseSequence: batch_axis and time_axis must be 0 and 1");
    if (!ir_dtype_is_int(l->dtype) || l->rank != 1 || l->shape[0] != x->shape[ba])
        return ref_fail(c, "ReverseSequence: sequence_lens must hold one length per batch entry");
    int64_t T = x->shape[ta];
    for (int64_t b = 0; b < l->shape[0]; b++) {
        int64_t len = ref_geti(l, (uint64_t)b);
        if (len < 0 || len > T) return ref_fail(c, "ReverseSequence: length %lld outside [0, %lld]", (long long)len, (long long)T);
    }
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    int64_t idx[IR_MAX_RANK] = {0};
    for (uint64_t i = 0; i < x->numel; i++, step(idx, x->shape, x->rank)) {
        int64_t t = idx[ta], len = ref_geti(l, (uint64_t)idx[ba]);
        int64_t src[IR_MAX_RANK];
        memcpy(src, idx, sizeof src);
        if (t < len) src[ta] = len - 1 - t;
        ref_copy_elem(y, i, x, flat(src, x->shape, x->rank));
    }
    ref_set_out(c, 0, y);
    return true;
}

/* --- Compress ------------------------------------------------------------------------------------------------- */

/* numpy.compress: the slices along axis (of the flattened input without one) whose condition is true; a shorter
 * condition leaves the rest out, a longer one may only be false beyond the extent. */
bool ref_compress(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *cond = ref_need(c, 1);
    if (!x || !cond) return false;
    if (cond->rank != 1) return ref_fail(c, "Compress: condition must be 1-D");
    bool has_axis = ir_attr(c->n, "axis") != NULL;
    int axis = 0;
    if (has_axis && !ref_axis(c, ir_attr_int(c->n, "axis", 0), x->rank, &axis)) return false;
    int rank = has_axis ? x->rank : 1;
    int64_t shape[IR_MAX_RANK];
    if (has_axis) ref_copy_dims(shape, x);
    else shape[0] = (int64_t)x->numel;
    uint64_t outer = 1, inner = 1, dim = (uint64_t)shape[axis], kept = 0;
    for (int i = 0; i < axis; i++) outer *= (uint64_t)shape[i];
    for (int i = axis + 1; i < rank; i++) inner *= (uint64_t)shape[i];
    for (uint64_t i = 0; i < cond->numel; i++) {
        if (!ref_geti(cond, i)) continue;
        if (i >= dim) return ref_fail(c, "Compress: condition selects index %llu beyond the extent %llu",
                                      (unsigned long long)i, (unsigned long long)dim);
        kept++;
    }
    shape[axis] = (int64_t)kept;
    IrTensor *y = ref_new(c, x->dtype, rank, shape);
    if (!y) return false;
    uint64_t at = 0;
    for (uint64_t o = 0; o < outer; o++)
        for (uint64_t k = 0; k < dim && k < cond->numel; k++)
            if (ref_geti(cond, k))
                for (uint64_t in = 0; in < inner; in++) ref_copy_elem(y, at++, x, (o * dim + k) * inner + in);
    ref_set_out(c, 0, y);
    return true;
}

/* --- CenterCropPad -------------------------------------------------------------------------------------------- */

bool ref_center_crop_pad(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *s = ref_need(c, 1);
    if (!x || !s) return false;
    int r = x->rank, axes[IR_MAX_RANK], na = r;
    uint32_t k;
    const int64_t *av = ir_attr_ints(c->n, "axes", &k);
    if (av) {
        na = (int)k;
        if (na > r) return ref_fail(c, "CenterCropPad: %d axes for rank %d", na, r);
        for (int i = 0; i < na; i++)
            if (!ref_axis(c, av[i], r, &axes[i])) return false;
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    int64_t want[IR_MAX_RANK];
    uint32_t ns;
    if (!ref_ints(c, s, want, IR_MAX_RANK, &ns)) return false;
    if ((int)ns != na) return ref_fail(c, "CenterCropPad: shape has %u entries for %d axes", ns, na);
    int64_t shape[IR_MAX_RANK], off[IR_MAX_RANK] = {0};   /* output index + off = input index */
    ref_copy_dims(shape, x);
    for (int i = 0; i < na; i++) {
        int64_t dim = x->shape[axes[i]], sh = want[i];
        if (sh < 0) return ref_fail(c, "CenterCropPad: negative size %lld", (long long)sh);
        shape[axes[i]] = sh;
        off[axes[i]] = sh <= dim ? (dim - sh) / 2 : -((sh - dim) / 2);
    }
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    int64_t idx[IR_MAX_RANK] = {0};
    for (uint64_t i = 0; i < y->numel; i++, step(idx, shape, r)) {
        int64_t src[IR_MAX_RANK];
        bool inside = true;
        for (int d = 0; d < r; d++) {
            src[d] = idx[d] + off[d];
            inside &= src[d] >= 0 && src[d] < x->shape[d];
        }
        if (inside) ref_copy_elem(y, i, x, flat(src, x->shape, r));
    }
    ref_set_out(c, 0, y);
    return true;
}

/* --- Det ------------------------------------------------------------------------------------------------------- */

/* LU with partial pivoting, per matrix. */
bool ref_det(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    int r = x->rank;
    if (!ref_is_float(x->dtype) || r < 2 || x->shape[r - 1] != x->shape[r - 2])
        return ref_fail(c, "Det expects float square matrices [*, M, M]");
    int64_t m = x->shape[r - 1];
    IrTensor *y = ref_new(c, x->dtype, r - 2, x->shape);
    if (!y) return false;
    if (!ref_work(c, (double)y->numel * (double)m * (double)m * (double)m)) return false;
    double *a = ref_scratch(c, (uint64_t)(m * m), sizeof *a);
    if (!a && m) return false;
    for (uint64_t b = 0; b < y->numel; b++) {
        for (int64_t i = 0; i < m * m; i++) a[i] = ref_get(x, b * (uint64_t)(m * m) + (uint64_t)i);
        double det = 1;
        for (int64_t col = 0; col < m && det != 0; col++) {
            int64_t piv = col;
            for (int64_t i = col + 1; i < m; i++)
                if (fabs(a[i * m + col]) > fabs(a[piv * m + col])) piv = i;
            if (a[piv * m + col] == 0) {
                det = 0;
                break;
            }
            if (piv != col) {
                for (int64_t j = 0; j < m; j++) {
                    double t = a[col * m + j];
                    a[col * m + j] = a[piv * m + j];
                    a[piv * m + j] = t;
                }
                det = -det;
            }
            det *= a[col * m + col];
            for (int64_t i = col + 1; i < m; i++) {
                double f = a[i * m + col] / a[col * m + col];
                for (int64_t j = col; j < m; j++) a[i * m + j] -= f * a[col * m + j];
            }
        }
        ref_put(y, b, det);
    }
    free(a);
    ref_set_out(c, 0, y);
    return true;
}

/* --- AffineGrid ------------------------------------------------------------------------------------------------- */

/* The normalized coordinate of position i of n: corner pixel centers at -1 and 1 (align_corners), else the
 * pixel edges. */
static double grid_coord(int64_t i, int64_t n, bool align)
{
    if (align) return n == 1 ? -1.0 : -1.0 + (double)i * (2.0 / (double)(n - 1));
    double st = 2.0 / (double)n;
    return -1.0 + st / 2 + (double)i * st;
}

bool ref_affine_grid(RefCx *c)
{
    const IrTensor *th = ref_need(c, 0), *s = ref_need(c, 1);
    if (!th || !s) return false;
    int64_t size[5];
    uint32_t ns;
    if (!ref_ints(c, s, size, 5, &ns)) return false;
    int r = (int)ns - 2;
    if (!ref_is_float(th->dtype) || (r != 2 && r != 3) || th->rank != 3 || th->shape[1] != r || th->shape[2] != r + 1 ||
        th->shape[0] != size[0])
        return ref_fail(c, "AffineGrid expects theta (N, 2, 3) with size (N, C, H, W), or (N, 3, 4) with (N, C, D, H, W)");
    int64_t shape[5] = {size[0]};
    for (int i = 0; i < r; i++) {
        if (size[2 + i] < 0) return ref_fail(c, "AffineGrid: negative size");
        shape[1 + i] = size[2 + i];
    }
    shape[1 + r] = r;
    IrTensor *y = ref_new(c, th->dtype, r + 2, shape);
    if (!y) return false;
    bool align = ir_attr_int(c->n, "align_corners", 0) != 0;
    uint64_t at = 0;
    for (int64_t n = 0; n < size[0]; n++) {
        int64_t idx[3] = {0};
        uint64_t pts = 1;
        for (int i = 0; i < r; i++) pts *= (uint64_t)size[2 + i];
        for (uint64_t p = 0; p < pts; p++, step(idx, size + 2, r)) {
            /* homogeneous (x, y[, z], 1): x runs along the last spatial axis */
            double base[4];
            for (int j = 0; j < r; j++) base[j] = grid_coord(idx[r - 1 - j], size[2 + r - 1 - j], align);
            base[r] = 1;
            for (int i = 0; i < r; i++) {
                double v = 0;
                for (int j = 0; j <= r; j++) v += ref_get(th, (uint64_t)((n * r + i) * (r + 1) + j)) * base[j];
                ref_put(y, at++, v);
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* --- GridSample ------------------------------------------------------------------------------------------------- */

/* Reflects x into [lo, hi] by bouncing off the nearer border (PyTorch's grid sampler). */
static double reflect(double x, double lo, double hi)
{
    double rng = hi - lo;
    if (rng <= 0) return lo;
    if (x < lo) {
        double dx = lo - x, n = trunc(dx / rng), rem = dx - n * rng;
        return fmod(n, 2) == 0 ? lo + rem : hi - rem;
    }
    if (x > hi) {
        double dx = x - hi, n = trunc(dx / rng), rem = dx - n * rng;
        return fmod(n, 2) == 0 ? hi - rem : lo + rem;
    }
    return x;
}

/* Keys' cubic convolution weights (a = -0.75) of the taps at -1, 0, 1, 2 from a fraction t. */
static void cubic_weights(double t, double *w)
{
    const double A = -0.75;
    double x = fabs(t);
    w[0] = ((A * (x + 1) - 5 * A) * (x + 1) + 8 * A) * (x + 1) - 4 * A;
    w[1] = ((A + 2) * x - (A + 3)) * x * x + 1;
    w[2] = ((A + 2) * (1 - x) - (A + 3)) * (1 - x) * (1 - x) + 1;
    w[3] = ((A * (2 - x) - 5 * A) * (2 - x) + 8 * A) * (2 - x) - 4 * A;
}

typedef enum { PAD_ZEROS, PAD_BORDER, PAD_REFLECT } GsPad;

bool ref_grid_sample(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *gr = ref_need(c, 1);
    if (!x || !gr) return false;
    int r = x->rank - 2;
    if (r < 1 || r > 3 || gr->rank != x->rank || gr->shape[0] != x->shape[0] || gr->shape[r + 1] != r ||
        !ref_is_float(gr->dtype))
        return ref_fail(c, "GridSample expects X (N, C, d1..dr) and a float grid (N, D1..Dr, r), r <= 3");
    const char *mode = ir_attr_str(c->n, "mode", c->n->opset > 0 && c->n->opset < 20 ? "bilinear" : "linear");
    const char *pm = ir_attr_str(c->n, "padding_mode", "zeros");
    int taps = !strcmp(mode, "nearest") ? 1 : !strcmp(mode, "linear") || !strcmp(mode, "bilinear") ? 2
             : !strcmp(mode, "cubic") || !strcmp(mode, "bicubic")                                   ? 4
                                                                                                     : 0;
    GsPad pad = !strcmp(pm, "zeros") ? PAD_ZEROS : !strcmp(pm, "border") ? PAD_BORDER : PAD_REFLECT;
    if (!taps || (pad == PAD_REFLECT && strcmp(pm, "reflection")))
        return ref_fail(c, "GridSample: mode '%s', padding_mode '%s'", mode, pm);
    bool align = ir_attr_int(c->n, "align_corners", 0) != 0;
    int64_t shape[IR_MAX_RANK] = {x->shape[0], x->shape[1]}, dims[3];
    for (int i = 0; i < r; i++) shape[2 + i] = gr->shape[1 + i], dims[i] = x->shape[2 + i];
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return false;
    uint64_t pts = 1, plane = 1, combos = 1;
    for (int i = 0; i < r; i++) pts *= (uint64_t)shape[2 + i], plane *= (uint64_t)dims[i], combos *= (uint64_t)taps;
    if (!ref_work(c, (double)y->numel * (double)combos)) return false;
    int64_t N = x->shape[0], C = x->shape[1];
    for (int64_t n = 0; n < N; n++) {
        for (uint64_t p = 0; p < pts; p++) {
            /* per spatial axis of X: the taps' indices (-1: outside, zero padding) and weights */
            int64_t ti[3][4];
            double tw[3][4];
            for (int i = 0; i < r; i++) {
                /* the grid's last axis lists x (the last spatial axis) first */
                float g = (float)ref_get(gr, ((uint64_t)n * pts + p) * (uint64_t)r + (uint64_t)(r - 1 - i));
                float len = (float)dims[i], xf;
                xf = align ? (g + 1.0f) / 2.0f * (len - 1.0f) : ((g + 1.0f) * len - 1.0f) / 2.0f;
                if (taps == 1) xf = rintf(xf);
                float lo = align ? 0.0f : -0.5f, hi = align ? len - 1.0f : len - 0.5f;
                if (xf < lo || xf > hi) {
                    if (pad == PAD_BORDER) xf = xf < 0 ? 0 : xf > len - 1 ? len - 1 : xf;
                    else if (pad == PAD_REFLECT) xf = (float)reflect(xf, lo, hi);
                }
                int64_t base = taps == 1 ? (int64_t)xf : (int64_t)floorf(xf) - (taps == 4);
                double t = (double)xf - floor((double)xf);
                if (taps == 1) tw[i][0] = 1;
                else if (taps == 2) tw[i][0] = 1 - t, tw[i][1] = t;
                else cubic_weights(t, tw[i]);
                for (int k = 0; k < taps; k++) {
                    int64_t j = base + k;
                    if (pad == PAD_BORDER) j = j < 0 ? 0 : j >= dims[i] ? dims[i] - 1 : j;
                    else if (pad == PAD_REFLECT) j = (int64_t)reflect((double)j, lo, hi);
                    ti[i][k] = j >= 0 && j < dims[i] ? j : -1;
                }
            }
            for (int64_t ch = 0; ch < C; ch++) {
                uint64_t src = (uint64_t)(n * C + ch) * plane;
                double acc = 0;
                for (uint64_t cb = 0; cb < combos; cb++) {
                    uint64_t rest = cb, off = 0;
                    double wt = 1;
                    bool inside = true;
                    for (int i = 0; i < r; i++) {
                        int k = (int)(rest % (uint64_t)taps);
                        rest /= (uint64_t)taps;
                        inside &= ti[i][k] >= 0;
                        off = off * (uint64_t)dims[i] + (uint64_t)(ti[i][k] < 0 ? 0 : ti[i][k]);
                        wt *= tw[i][k];
                    }
                    if (inside) acc += wt * ref_get(x, src + off);
                }
                ref_put(y, (uint64_t)(n * C + ch) * pts + p, acc);
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}
