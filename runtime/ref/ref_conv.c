/* runtime/ref/ref_conv.c — sliding windows and resampling: Conv, ConvTranspose (any spatial rank, groups,
 * dilations, pads, auto_pad), Col2Im, AveragePool, MaxPool (with indices), GlobalAveragePool, GlobalMaxPool, and
 * Resize (nearest, linear and cubic, every coordinate transformation; not antialias).
 *
 * Output sizes follow the ONNX formulas; pooling with ceil_mode drops a last window that would start in the
 * right padding (ONNX 19 / PyTorch).  Everything accumulates in double. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Integer list attribute of exactly n entries, or n copies of dflt when absent. */
static bool attr_vec(RefCx *c, const char *name, int n, int64_t dflt, int64_t *out)
{
    uint32_t cnt;
    const int64_t *v = ir_attr_ints(c->n, name, &cnt);
    for (int i = 0; i < n; i++) out[i] = v ? 0 : dflt;
    if (!v) return true;
    if ((int)cnt != n) return ref_fail(c, "%s: attribute %s has %u entries, expected %d", ir_op_name(c->n->op), name, cnt, n);
    memcpy(out, v, cnt * sizeof *v);
    return true;
}

/* Window attributes beyond 2^31 are not a model anyone exported; bounding them keeps the size arithmetic
 * below from overflowing. */
#define WIN_MAX ((int64_t)1 << 31)
static bool in_range(int64_t v, int64_t lo)
{
    return v >= lo && v <= WIN_MAX;
}

/* The geometry of a sliding window over k spatial dims. */
typedef struct {
    int k;
    int64_t in[IR_MAX_RANK], kernel[IR_MAX_RANK], stride[IR_MAX_RANK], dil[IR_MAX_RANK];
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], out[IR_MAX_RANK];
} Window;

/* Strides, dilations, pads and auto_pad of Conv and the pools, then the output size. */
static bool window_init(RefCx *c, const IrTensor *x, const int64_t *kernel, bool ceil_mode, Window *w)
{
    w->k = x->rank - 2;
    if (w->k < 1) return ref_fail(c, "%s expects (N, C, D1, ...)", ir_op_name(c->n->op));
    int64_t pads[2 * IR_MAX_RANK];
    memcpy(w->in, x->shape + 2, (size_t)w->k * sizeof *w->in);
    memcpy(w->kernel, kernel, (size_t)w->k * sizeof *w->kernel);
    if (!attr_vec(c, "strides", w->k, 1, w->stride) || !attr_vec(c, "dilations", w->k, 1, w->dil) ||
        !attr_vec(c, "pads", 2 * w->k, 0, pads))
        return false;
    const char *ap = ir_attr_str(c->n, "auto_pad", "NOTSET");
    bool same_upper = strcmp(ap, "SAME_UPPER") == 0, same_lower = strcmp(ap, "SAME_LOWER") == 0;
    bool valid = strcmp(ap, "VALID") == 0;
    if (!same_upper && !same_lower && !valid && strcmp(ap, "NOTSET") != 0)
        return ref_fail(c, "%s: unknown auto_pad '%s'", ir_op_name(c->n->op), ap);
    for (int i = 0; i < w->k; i++) {
        int64_t s = w->stride[i], d = w->dil[i], kk = w->kernel[i];
        if (!in_range(s, 1) || !in_range(d, 1) || !in_range(kk, 1) || !in_range(pads[i], 0) ||
            !in_range(pads[i + w->k], 0))
            return ref_fail(c, "%s: bad strides, dilations, kernel or pads", ir_op_name(c->n->op));
        int64_t eff = (kk - 1) * d + 1;
        if (same_upper || same_lower) {
            w->out[i] = (w->in[i] + s - 1) / s;
            int64_t total = (w->out[i] - 1) * s + eff - w->in[i];
            if (total < 0) total = 0;
            w->pb[i] = same_upper ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
            continue;
        }
        w->pb[i] = valid ? 0 : pads[i];
        w->pe[i] = valid ? 0 : pads[i + w->k];
        int64_t num = w->in[i] + w->pb[i] + w->pe[i] - eff;
        if (num < 0) return ref_fail(c, "%s: the window is larger than the padded input", ir_op_name(c->n->op));
        w->out[i] = (ceil_mode ? (num + s - 1) / s : num / s) + 1;
        if (ceil_mode && (w->out[i] - 1) * s >= w->in[i] + w->pb[i]) w->out[i]--;
    }
    return true;
}

/* Advance a k-dim odometer; false after the last position. */
static bool odometer(int64_t *idx, const int64_t *shape, int k)
{
    for (int d = k - 1; d >= 0; d--) {
        if (++idx[d] < shape[d]) return true;
        idx[d] = 0;
    }
    return false;
}

static uint64_t prod(const int64_t *v, int k)
{
    uint64_t p = 1;
    for (int i = 0; i < k; i++) p *= (uint64_t)v[i];
    return p;
}

bool ref_conv(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *wt = ref_need(c, 1), *b = ref_in(c, 2);
    if (!x || !wt || !ref_same_dtype(c, x, wt) || (b && !ref_same_dtype(c, x, b))) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "Conv on %s is not supported", ir_dtype_name(x->dtype));
    if (wt->rank != x->rank || x->rank < 3) return ref_fail(c, "Conv: weight rank %d for input rank %d", wt->rank, x->rank);
    int64_t N = x->shape[0], C = x->shape[1], M = wt->shape[0], G = ir_attr_int(c->n, "group", 1);
    if (G <= 0 || C % G || M % G || wt->shape[1] != C / G) return ref_fail(c, "Conv: channels and group disagree");
    if (b && b->numel != (uint64_t)M) return ref_fail(c, "Conv: bias of %llu for %lld outputs", (unsigned long long)b->numel,
                                                      (long long)M);
    Window w;
    int64_t ks[IR_MAX_RANK];
    if (!attr_vec(c, "kernel_shape", x->rank - 2, 0, ks)) return false;
    for (int i = 0; i < x->rank - 2; i++)
        if (ks[i] && ks[i] != wt->shape[i + 2]) return ref_fail(c, "Conv: kernel_shape disagrees with the weight");
    if (!window_init(c, x, wt->shape + 2, false, &w)) return false;
    int64_t shape[IR_MAX_RANK] = {N, M};
    memcpy(shape + 2, w.out, (size_t)w.k * sizeof *w.out);
    if (!ref_work(c, (double)N * (double)M * (double)prod(w.out, w.k) * (double)(C / G) * (double)prod(w.kernel, w.k)))
        return false;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return false;
    double *fx = ref_to_f64(c, x), *fw = fx ? ref_to_f64(c, wt) : NULL;
    if (!fw) {
        free(fx);
        return false;
    }
    uint64_t insz = prod(w.in, w.k), ksz = prod(w.kernel, w.k), osz = prod(w.out, w.k);
    int64_t Cg = C / G, Mg = M / G, istr[IR_MAX_RANK];
    ref_strides(w.k, w.in, istr);
    uint64_t at = 0;
    for (int64_t n = 0; n < N; n++) {
        for (int64_t m = 0; m < M; m++) {
            int64_t g = m / Mg, o[IR_MAX_RANK] = {0};
            for (uint64_t op = 0; op < osz; op++, odometer(o, w.out, w.k), at++) {
                double acc = b ? ref_get(b, (uint64_t)m) : 0;
                int64_t kk[IR_MAX_RANK] = {0};
                for (uint64_t kp = 0; kp < ksz; kp++, odometer(kk, w.kernel, w.k)) {
                    int64_t off = 0;
                    bool inside = true;
                    for (int d = 0; d < w.k && inside; d++) {
                        int64_t p = o[d] * w.stride[d] - w.pb[d] + kk[d] * w.dil[d];
                        inside = p >= 0 && p < w.in[d];
                        off += p * istr[d];
                    }
                    if (!inside) continue;
                    for (int64_t ci = 0; ci < Cg; ci++)
                        acc += fx[((uint64_t)(n * C + g * Cg + ci)) * insz + (uint64_t)off] *
                               fw[((uint64_t)(m * Cg + ci)) * ksz + kp];
                }
                ref_put(y, at, acc);
            }
        }
    }
    free(fx);
    free(fw);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_conv_transpose(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *wt = ref_need(c, 1), *b = ref_in(c, 2);
    if (!x || !wt || !ref_same_dtype(c, x, wt) || (b && !ref_same_dtype(c, x, b))) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "ConvTranspose on %s is not supported", ir_dtype_name(x->dtype));
    if (wt->rank != x->rank || x->rank < 3) return ref_fail(c, "ConvTranspose: weight and input ranks disagree");
    int k = x->rank - 2;
    int64_t N = x->shape[0], C = x->shape[1], G = ir_attr_int(c->n, "group", 1);
    if (G <= 0 || C % G || wt->shape[0] != C) return ref_fail(c, "ConvTranspose: channels and group disagree");
    int64_t Mg = wt->shape[1], M = Mg * G;
    if (b && b->numel != (uint64_t)M) return ref_fail(c, "ConvTranspose: bias size disagrees");
    int64_t stride[IR_MAX_RANK], dil[IR_MAX_RANK], opad[IR_MAX_RANK], pads[2 * IR_MAX_RANK], oshape[IR_MAX_RANK];
    int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], out[IR_MAX_RANK];
    const int64_t *in = x->shape + 2, *kern = wt->shape + 2;
    if (!attr_vec(c, "strides", k, 1, stride) || !attr_vec(c, "dilations", k, 1, dil) ||
        !attr_vec(c, "output_padding", k, 0, opad) || !attr_vec(c, "pads", 2 * k, 0, pads))
        return false;
    uint32_t nos;
    const int64_t *os = ir_attr_ints(c->n, "output_shape", &nos);
    if (os && (int)nos != k && (int)nos != k + 2) return ref_fail(c, "ConvTranspose: output_shape of %u entries", nos);
    if (os) memcpy(oshape, os + (nos == (uint32_t)k ? 0 : 2), (size_t)k * sizeof *oshape);
    const char *ap = ir_attr_str(c->n, "auto_pad", "NOTSET");
    bool same = strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0, upper = strcmp(ap, "SAME_UPPER") == 0;
    if (!same && strcmp(ap, "VALID") != 0 && strcmp(ap, "NOTSET") != 0)
        return ref_fail(c, "ConvTranspose: unknown auto_pad '%s'", ap);
    for (int i = 0; i < k; i++) {
        if (!in_range(stride[i], 1) || !in_range(dil[i], 1) || !in_range(pads[i], 0) || !in_range(pads[i + k], 0) ||
            !in_range(opad[i], 0) || (os && !in_range(oshape[i], 0)))
            return ref_fail(c, "ConvTranspose: bad strides, dilations, pads or output shape");
        int64_t full = stride[i] * (in[i] - 1) + opad[i] + (kern[i] - 1) * dil[i] + 1;
        if (os || same) {
            /* The spec's split of the total padding: SAME_UPPER puts the smaller half first. */
            out[i] = os ? oshape[i] : in[i] * stride[i];
            int64_t total = full - out[i];
            if (total < 0) total = 0;
            pb[i] = upper ? total / 2 : total - total / 2;
            pe[i] = total - pb[i];
        } else {
            bool valid = strcmp(ap, "VALID") == 0;
            pb[i] = valid ? 0 : pads[i];
            pe[i] = valid ? 0 : pads[i + k];
            out[i] = full - pb[i] - pe[i];
        }
        if (out[i] < 0) return ref_fail(c, "ConvTranspose: negative output size");
    }
    int64_t shape[IR_MAX_RANK] = {N, M};
    memcpy(shape + 2, out, (size_t)k * sizeof *out);
    if (!ref_work(c, (double)N * (double)C * (double)prod(in, k) * (double)prod(kern, k) * (double)Mg)) return false;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return false;
    double *fx = ref_to_f64(c, x), *fw = fx ? ref_to_f64(c, wt) : NULL, *acc = fw ? ref_scratch(c, y->numel, sizeof *acc) : NULL;
    if (!acc) {
        free(fx);
        free(fw);
        return false;
    }
    uint64_t insz = prod(in, k), ksz = prod(kern, k), osz = prod(out, k);
    int64_t ostr[IR_MAX_RANK], Cg = C / G;
    ref_strides(k, out, ostr);
    /* Scatter: each input element adds its kernel-weighted copy into the output. */
    for (int64_t n = 0; n < N; n++) {
        for (int64_t ci = 0; ci < C; ci++) {
            int64_t g = ci / Cg, i[IR_MAX_RANK] = {0};
            for (uint64_t ip = 0; ip < insz; ip++, odometer(i, in, k)) {
                double xv = fx[(uint64_t)(n * C + ci) * insz + ip];
                int64_t kk[IR_MAX_RANK] = {0};
                for (uint64_t kp = 0; kp < ksz; kp++, odometer(kk, kern, k)) {
                    int64_t off = 0;
                    bool inside = true;
                    for (int d = 0; d < k && inside; d++) {
                        int64_t p = i[d] * stride[d] - pb[d] + kk[d] * dil[d];
                        inside = p >= 0 && p < out[d];
                        off += p * ostr[d];
                    }
                    if (!inside) continue;
                    for (int64_t mm = 0; mm < Mg; mm++)
                        acc[(uint64_t)(n * M + g * Mg + mm) * osz + (uint64_t)off] +=
                            xv * fw[(uint64_t)(ci * Mg + mm) * ksz + kp];
                }
            }
        }
    }
    for (uint64_t j = 0; j < y->numel; j++) ref_put(y, j, acc[j] + (b ? ref_get(b, (j / osz) % (uint64_t)M) : 0));
    free(fx);
    free(fw);
    free(acc);
    ref_set_out(c, 0, y);
    return true;
}

/* Col2Im: the blocks of (N, C*prod(block), L) summed back into images (N, C, image...), the inverse of the
 * im2col unfolding that a Conv with these strides, dilations and pads would read. */
bool ref_col2im(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *ti = ref_need(c, 1), *tb = ref_need(c, 2);
    int64_t img[IR_MAX_RANK], blk[IR_MAX_RANK], str[IR_MAX_RANK], dil[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    uint32_t k, kb;
    if (!x || !ti || !tb || !ref_ints(c, ti, img, IR_MAX_RANK - 2, &k) || !ref_ints(c, tb, blk, IR_MAX_RANK - 2, &kb))
        return false;
    if (!ref_is_float(x->dtype) || x->rank != 3 || k != kb || k == 0)
        return ref_fail(c, "Col2Im expects float (N, C*prod(block), L) and image/block shapes of one length");
    int ik = (int)k;
    if (!attr_vec(c, "strides", ik, 1, str) || !attr_vec(c, "dilations", ik, 1, dil) || !attr_vec(c, "pads", 2 * ik, 0, pads))
        return false;
    int64_t outs[IR_MAX_RANK], shape[IR_MAX_RANK] = {x->shape[0], 0};
    uint64_t nblk = 1, L = 1;
    for (int d = 0; d < ik; d++) {
        if (!in_range(img[d], 1) || !in_range(blk[d], 1) || !in_range(str[d], 1) || !in_range(dil[d], 1) ||
            !in_range(pads[d], 0) || !in_range(pads[d + ik], 0))
            return ref_fail(c, "Col2Im: bad image, block, strides, dilations or pads");
        int64_t num = img[d] + pads[d] + pads[d + ik] - ((blk[d] - 1) * dil[d] + 1);
        if (num < 0) return ref_fail(c, "Col2Im: the block is larger than the padded image");
        outs[d] = num / str[d] + 1;
        nblk *= (uint64_t)blk[d];
        L *= (uint64_t)outs[d];
        shape[d + 2] = img[d];
    }
    if ((uint64_t)x->shape[1] % nblk || (uint64_t)x->shape[2] != L)
        return ref_fail(c, "Col2Im: input (%lld, %lld) does not match the blocks", (long long)x->shape[1], (long long)x->shape[2]);
    shape[1] = x->shape[1] / (int64_t)nblk;
    if (!ref_work(c, (double)x->numel)) return false;
    IrTensor *y = ref_new(c, x->dtype, ik + 2, shape);
    double *acc = y ? ref_scratch(c, y->numel, sizeof *acc) : NULL;
    if (!acc) return false;
    int64_t istr[IR_MAX_RANK];
    ref_strides(ik, img, istr);
    uint64_t planes = (uint64_t)(shape[0] * shape[1]), isz = prod(img, ik), at = 0;
    for (uint64_t pl = 0; pl < planes; pl++) {
        int64_t kk[IR_MAX_RANK] = {0};
        for (uint64_t kp = 0; kp < nblk; kp++, odometer(kk, blk, ik)) {
            int64_t o[IR_MAX_RANK] = {0};
            for (uint64_t l = 0; l < L; l++, odometer(o, outs, ik), at++) {
                int64_t off = 0;
                bool inside = true;
                for (int d = 0; d < ik && inside; d++) {
                    int64_t p = o[d] * str[d] - pads[d] + kk[d] * dil[d];
                    inside = p >= 0 && p < img[d];
                    off += p * istr[d];
                }
                if (inside) acc[pl * isz + (uint64_t)off] += ref_get(x, at);
            }
        }
    }
    for (uint64_t i = 0; i < y->numel; i++) ref_put(y, i, acc[i]);
    free(acc);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_pool(RefCx *c)
{
    bool is_max = c->n->op == IR_OP_MAX_POOL;
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype) && !(is_max && ir_dtype_is_int(x->dtype)))
        return ref_fail(c, "%s on %s is not supported", ir_op_name(c->n->op), ir_dtype_name(x->dtype));
    if (x->rank < 3) return ref_fail(c, "%s expects (N, C, D1, ...)", ir_op_name(c->n->op));
    int k = x->rank - 2;
    int64_t kernel[IR_MAX_RANK];
    if (!ir_attr(c->n, "kernel_shape")) return ref_fail(c, "%s without kernel_shape", ir_op_name(c->n->op));
    if (!attr_vec(c, "kernel_shape", k, 0, kernel)) return false;
    Window w;
    if (!window_init(c, x, kernel, ir_attr_int(c->n, "ceil_mode", 0) != 0, &w)) return false;
    bool include_pad = ir_attr_int(c->n, "count_include_pad", 0) != 0;
    int64_t order = ir_attr_int(c->n, "storage_order", 0);
    if (order != 0 && (order != 1 || k != 2)) return ref_fail(c, "MaxPool: storage_order %lld", (long long)order);
    int64_t shape[IR_MAX_RANK] = {x->shape[0], x->shape[1]};
    memcpy(shape + 2, w.out, (size_t)k * sizeof *w.out);
    if (!ref_work(c, (double)x->shape[0] * (double)x->shape[1] * (double)prod(w.out, k) * (double)prod(w.kernel, k)))
        return false;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    IrTensor *ind = y && is_max && c->n->nout > 1 ? ref_new(c, DT_I64, x->rank, shape) : NULL;
    if (!y || (is_max && c->n->nout > 1 && !ind)) return false;
    uint64_t planes = (uint64_t)(x->shape[0] * x->shape[1]), insz = prod(w.in, k), ksz = prod(w.kernel, k);
    uint64_t osz = prod(w.out, k), at = 0;
    int64_t istr[IR_MAX_RANK];
    ref_strides(k, w.in, istr);
    for (uint64_t pl = 0; pl < planes; pl++) {
        int64_t o[IR_MAX_RANK] = {0};
        for (uint64_t op = 0; op < osz; op++, odometer(o, w.out, k), at++) {
            double acc = is_max ? -INFINITY : 0, cnt = 0;
            int64_t best = -1, kk[IR_MAX_RANK] = {0};
            bool nan = false;
            for (uint64_t kp = 0; kp < ksz; kp++, odometer(kk, w.kernel, k)) {
                int64_t off = 0, col = 0;
                bool inside = true, in_padded = true;
                for (int d = 0; d < k; d++) {
                    int64_t p = o[d] * w.stride[d] - w.pb[d] + kk[d] * w.dil[d];
                    inside &= p >= 0 && p < w.in[d];
                    in_padded &= p >= -w.pb[d] && p < w.in[d] + w.pe[d];
                    off += p * istr[d];
                    col = d == 0 ? p : p * w.in[0] + col;   /* storage_order 1: column-major (2-D) */
                }
                if (!inside) {
                    cnt += include_pad && in_padded;
                    continue;
                }
                double v = ref_get(x, pl * insz + (uint64_t)off);
                cnt++;
                if (!is_max) acc += v;
                else if (isnan(v) && !nan) nan = true, acc = v, best = order ? col : off;
                else if (!nan && (v > acc || best < 0)) acc = v, best = order ? col : off;
            }
            if (is_max) {
                ref_put(y, at, acc);
                if (ind) ref_puti(ind, at, (int64_t)(pl * insz) + (best < 0 ? 0 : best));
            } else {
                ref_put(y, at, cnt > 0 ? acc / cnt : NAN);
            }
        }
    }
    ref_set_out(c, 0, y);
    if (ind) ref_set_out(c, 1, ind);
    return true;
}

bool ref_global_pool(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype) || x->rank < 2) return ref_fail(c, "%s expects float (N, C, ...)", ir_op_name(c->n->op));
    bool is_max = c->n->op == IR_OP_GLOBAL_MAX_POOL;
    int64_t shape[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = i < 2 ? x->shape[i] : 1;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return false;
    uint64_t inner = prod(x->shape + 2, x->rank - 2);
    for (uint64_t pl = 0; pl < y->numel; pl++) {
        double acc = is_max ? -INFINITY : 0;
        for (uint64_t i = 0; i < inner; i++) {
            double v = ref_get(x, pl * inner + i);
            if (!is_max) acc += v;
            else if (isnan(v) || v > acc) acc = isnan(acc) ? acc : v;
        }
        ref_put(y, pl, is_max ? acc : acc / (double)inner);
    }
    ref_set_out(c, 0, y);
    return true;
}

/*
 * Resize
 */
typedef enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYM, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_CROP } CoordMode;
typedef enum { NR_PREFER_FLOOR, NR_PREFER_CEIL, NR_FLOOR, NR_CEIL } NearestMode;
typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } ResizeMode;

/* Input coordinate of output index xo along an axis (ONNX Resize's coordinate_transformation_mode).
 * Computed in float, as ONNX Runtime and PyTorch do: which input pixel "nearest" picks depends on it at
 * exact halves (1.5 / 0.6f is 2.5 in float, 2.4999999 in double). */
static float resize_coord(CoordMode m, float xo, float scale, int64_t in, int64_t out, float r0, float r1)
{
    float fin = (float)in, fout = (float)out;
    switch (m) {
    case CT_HALF_PIXEL: return (xo + 0.5f) / scale - 0.5f;
    case CT_HALF_PIXEL_SYM: {   /* ONNX Runtime finishes this one in double */
        float adj = fout / (scale * fin), center = fin / 2, offset = center * (1 - adj);
        return (float)((double)offset + ((double)xo + 0.5) / (double)scale - 0.5);
    }
    case CT_PYTORCH_HALF_PIXEL: return out > 1 ? (xo + 0.5f) / scale - 0.5f : 0;
    case CT_ALIGN_CORNERS:
        /* length_resized is the integer output length, as in ONNX Runtime and PyTorch (the ONNX reference
         * uses in * scale, which differs when scales do not divide evenly) */
        return out == 1 ? 0 : xo * (fin - 1) / (fout - 1);
    case CT_ASYMMETRIC: return xo / scale;
    case CT_TF_CROP:
        return out > 1 ? r0 * (fin - 1) + xo * (r1 - r0) * (fin - 1) / (fout - 1)
                       : (float)(0.5 * (double)(r0 + r1) * (double)(fin - 1));
    }
    return 0;
}

static int64_t nearest_index(NearestMode m, float x, int64_t in)
{
    if (!(x > -1e18f && x < 1e18f)) x = 0;   /* no undefined conversions, whatever the scale */
    float f = floorf(x);
    int64_t i;
    switch (m) {
    case NR_PREFER_FLOOR: i = (int64_t)(x - f == 0.5f ? f : roundf(x)); break;
    case NR_PREFER_CEIL: i = (int64_t)(x - f == 0.5f ? f + 1 : roundf(x)); break;
    case NR_FLOOR: i = (int64_t)f; break;
    default: i = (int64_t)ceilf(x); break;
    }
    return i < 0 ? 0 : i >= in ? in - 1 : i;
}

bool ref_resize(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (c->n->opset > 0 && c->n->opset < 11) return ref_fail(c, "Resize-10 is not supported");
    const char *mode_s = ir_attr_str(c->n, "mode", "nearest");
    ResizeMode mode;
    if (strcmp(mode_s, "nearest") == 0) mode = RS_NEAREST;
    else if (strcmp(mode_s, "linear") == 0) mode = RS_LINEAR;
    else if (strcmp(mode_s, "cubic") == 0) mode = RS_CUBIC;
    else return ref_fail(c, "Resize mode '%s' is not supported", mode_s);
    if (ir_attr_int(c->n, "antialias", 0) != 0) return ref_fail(c, "Resize with antialias is not supported");
    if (!ref_is_float(x->dtype) && mode != RS_NEAREST) return ref_fail(c, "%s Resize of %s", mode_s, ir_dtype_name(x->dtype));
    const char *ct = ir_attr_str(c->n, "coordinate_transformation_mode", "half_pixel");
    CoordMode cm;
    if (strcmp(ct, "half_pixel") == 0) cm = CT_HALF_PIXEL;
    else if (strcmp(ct, "half_pixel_symmetric") == 0) cm = CT_HALF_PIXEL_SYM;
    else if (strcmp(ct, "pytorch_half_pixel") == 0) cm = CT_PYTORCH_HALF_PIXEL;
    else if (strcmp(ct, "align_corners") == 0) cm = CT_ALIGN_CORNERS;
    else if (strcmp(ct, "asymmetric") == 0) cm = CT_ASYMMETRIC;
    else if (strcmp(ct, "tf_crop_and_resize") == 0) cm = CT_TF_CROP;
    else return ref_fail(c, "Resize: unknown coordinate_transformation_mode '%s'", ct);
    const char *nm_s = ir_attr_str(c->n, "nearest_mode", "round_prefer_floor");
    NearestMode nm;
    if (strcmp(nm_s, "round_prefer_floor") == 0) nm = NR_PREFER_FLOOR;
    else if (strcmp(nm_s, "round_prefer_ceil") == 0) nm = NR_PREFER_CEIL;
    else if (strcmp(nm_s, "floor") == 0) nm = NR_FLOOR;
    else if (strcmp(nm_s, "ceil") == 0) nm = NR_CEIL;
    else return ref_fail(c, "Resize: unknown nearest_mode '%s'", nm_s);
    int r = x->rank;
    /* axes (opset 18): scales/sizes/roi cover only these axes */
    int64_t axes_v[IR_MAX_RANK];
    int axes[IR_MAX_RANK];
    uint32_t na;
    const int64_t *av = ir_attr_ints(c->n, "axes", &na);
    if (av) {
        if (na > (uint32_t)r) return ref_fail(c, "Resize: too many axes");
        memcpy(axes_v, av, na * sizeof *av);
        for (uint32_t i = 0; i < na; i++)
            if (!ref_axis(c, axes_v[i], r, &axes[i])) return false;
    } else {
        na = (uint32_t)r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    const IrTensor *roi = ref_in(c, 1), *ts = ref_in(c, 2), *tz = ref_in(c, 3);
    if (roi && roi->numel == 0) roi = NULL;   /* an empty tensor stands for an omitted input (opset 11-12) */
    if (ts && ts->numel == 0) ts = NULL;
    if (tz && tz->numel == 0) tz = NULL;
    if (!ts == !tz) return ref_fail(c, "Resize needs exactly one of scales and sizes");
    float scale[IR_MAX_RANK], r0[IR_MAX_RANK], r1[IR_MAX_RANK];
    int64_t out[IR_MAX_RANK];
    for (int i = 0; i < r; i++) scale[i] = 1, out[i] = x->shape[i], r0[i] = 0, r1[i] = 1;
    if (roi && cm == CT_TF_CROP) {
        if (roi->numel != 2 * na) return ref_fail(c, "Resize: roi has %llu entries", (unsigned long long)roi->numel);
        for (uint32_t i = 0; i < na; i++) r0[axes[i]] = (float)ref_get(roi, i), r1[axes[i]] = (float)ref_get(roi, i + na);
    }
    if (ts) {
        if (ts->numel != na || !ref_is_float(ts->dtype)) return ref_fail(c, "Resize: scales do not match the axes");
        for (uint32_t i = 0; i < na; i++) {
            int a = axes[i];
            double sc = ref_get(ts, i);
            if (!(sc > 0) || sc > 1e9) return ref_fail(c, "Resize: bad scale");
            scale[a] = (float)sc;
            double o = floor((double)x->shape[a] * (cm == CT_TF_CROP ? r1[a] - r0[a] : 1) * sc);
            if (!(o >= 0 && o < 4e18)) return ref_fail(c, "Resize: output size %g", o);
            out[a] = (int64_t)o;
        }
    } else {
        int64_t sz[IR_MAX_RANK];
        uint32_t nz;
        if (!ref_ints(c, tz, sz, IR_MAX_RANK, &nz)) return false;
        if (nz != na) return ref_fail(c, "Resize: sizes do not match the axes");
        const char *pol = ir_attr_str(c->n, "keep_aspect_ratio_policy", "stretch");
        bool stretch = strcmp(pol, "stretch") == 0, not_larger = strcmp(pol, "not_larger") == 0;
        if (!stretch && !not_larger && strcmp(pol, "not_smaller") != 0)
            return ref_fail(c, "Resize: unknown keep_aspect_ratio_policy '%s'", pol);
        float common = not_larger ? INFINITY : 0;
        for (uint32_t i = 0; i < na; i++) {
            int a = axes[i];
            if (sz[i] < 0 || x->shape[a] == 0) return ref_fail(c, "Resize: bad sizes");
            scale[a] = (float)sz[i] / (float)x->shape[a];
            common = not_larger ? fminf(common, scale[a]) : fmaxf(common, scale[a]);
            out[a] = sz[i];
        }
        if (!stretch && !(common > 0 && common < 1e9f)) return ref_fail(c, "Resize: bad sizes");
        if (!stretch)
            for (uint32_t i = 0; i < na; i++) {
                int a = axes[i];
                scale[a] = common;
                out[a] = (int64_t)roundf((float)x->shape[a] * common);   /* round half away, as the spec's round_int */
            }
    }
    double outn = 1;
    for (int i = 0; i < r; i++) outn *= (double)out[i];
    if (!ref_work(c, outn * pow(mode == RS_CUBIC ? 4 : mode == RS_LINEAR ? 2 : 1, r))) return false;
    double extrap = ir_attr_float(c->n, "extrapolation_value", 0.0);
    float ca = (float)ir_attr_float(c->n, "cubic_coeff_a", -0.75);
    bool exclude = ir_attr_int(c->n, "exclude_outside", 0) != 0;
    IrTensor *y = ref_new(c, x->dtype, r, out);
    if (!y) return false;
    int64_t istr[IR_MAX_RANK], o[IR_MAX_RANK] = {0};
    ref_strides(r, x->shape, istr);
    for (uint64_t at = 0; at < y->numel; at++, odometer(o, out, r)) {
        /* per axis, the input positions that contribute and their weights (zero weights dropped, so an axis
         * that is not resized costs one tap) */
        int ntap[IR_MAX_RANK];
        int64_t tidx[IR_MAX_RANK][4];
        double tw[IR_MAX_RANK][4];
        bool outside = false;
        int64_t off = 0;
        for (int d = 0; d < r; d++) {
            int64_t in = x->shape[d];
            float xi = resize_coord(cm, (float)o[d], scale[d], in, out[d], r0[d], r1[d]);
            if (cm == CT_TF_CROP && (xi < 0 || xi > (float)(in - 1))) outside = true;
            if (!(xi > -1e18f && xi < 1e18f)) xi = 0;   /* NaN or absurd: keep the index arithmetic defined */
            ntap[d] = 0;
            if (mode == RS_NEAREST) {
                off += nearest_index(nm, xi, in) * istr[d];
                continue;
            }
            float w[4];
            int64_t base;
            int nw;
            if (mode == RS_LINEAR) {
                xi = xi < 0 ? 0 : xi > (float)(in - 1) ? (float)(in - 1) : xi;
                base = (int64_t)floorf(xi);
                w[1] = xi - (float)base, w[0] = 1 - w[1];
                nw = 2;
            } else {
                /* Keys' cubic convolution with coefficient a (ONNX Runtime's float arithmetic) */
                base = (int64_t)floorf(xi) - 1;
                float t = xi - floorf(xi), t1 = t + 1, u = 1 - t, u1 = 2 - t;
                w[0] = ((ca * t1 - 5 * ca) * t1 + 8 * ca) * t1 - 4 * ca;
                w[1] = ((ca + 2) * t - (ca + 3)) * t * t + 1;
                w[2] = ((ca + 2) * u - (ca + 3)) * u * u + 1;
                w[3] = ((ca * u1 - 5 * ca) * u1 + 8 * ca) * u1 - 4 * ca;
                nw = 4;
            }
            double sum = 0;
            for (int k = 0; k < nw; k++) {
                int64_t p = base + k;
                if (exclude && mode == RS_CUBIC && (p < 0 || p >= in)) w[k] = 0;
                sum += w[k];
            }
            for (int k = 0; k < nw; k++) {
                int64_t p = base + k;
                double wk = exclude && mode == RS_CUBIC ? w[k] / sum : w[k];
                if (wk == 0 && !(k == nw - 1 && ntap[d] == 0)) continue;
                tidx[d][ntap[d]] = p < 0 ? 0 : p >= in ? in - 1 : p;
                tw[d][ntap[d]++] = wk;
            }
        }
        if (outside) {
            ref_put(y, at, extrap);
        } else if (mode == RS_NEAREST) {
            ref_copy_elem(y, at, x, (uint64_t)off);
        } else {
            double acc = 0;
            int sel[IR_MAX_RANK] = {0};
            for (;;) {
                double wgt = 1;
                int64_t coff = 0;
                for (int d = 0; d < r; d++) {
                    wgt *= tw[d][sel[d]];
                    coff += tidx[d][sel[d]] * istr[d];
                }
                acc += wgt * ref_get(x, (uint64_t)coff);
                int d = r - 1;
                while (d >= 0 && ++sel[d] == ntap[d]) sel[d--] = 0;
                if (d < 0) break;
            }
            ref_put(y, at, acc);
        }
    }
    ref_set_out(c, 0, y);
    return true;
}
