/* runtime/ref/ref_extra.c — reference kernels of the less common ops, part 1: the losses
 * (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), BitShift, CumProd, LpNormalization, LpPool,
 * MeanVarianceNormalization, LRN and the window generators.  Part 2 (ref_extra_index.c) has the
 * index-heavy ones.  Everything is computed in double (integers in 64 bits) and rounded once. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* --- losses ---------------------------------------------------------------------------------------------- */

/* loss[n, d] = -weight[c] * input[n, c, d] with c = target[n, d] (SCE: input = log_softmax(scores, 1)); zero
 * where the target is ignore_index.  mean divides the sum by the sum of the weights taken. */
bool ref_loss(RefCx *c)
{
    bool sce = c->n->op == IR_OP_SCE_LOSS;
    const char *op = ir_op_name(c->n->op);
    const IrTensor *x = ref_need(c, 0), *t = ref_need(c, 1), *w = ref_in(c, 2);
    if (!x || !t) return false;
    if (!ref_is_float(x->dtype) || !ir_dtype_is_int(t->dtype) || x->rank < 2 || t->rank != x->rank - 1)
        return ref_fail(c, "%s expects float input (N, C, d...) and integer target (N, d...)", op);
    for (int i = 0; i < t->rank; i++)
        if (t->shape[i] != x->shape[i ? i + 1 : 0]) return ref_fail(c, "%s: target shape does not match the input", op);
    int64_t N = x->shape[0], C = x->shape[1];
    uint64_t D = 1;
    for (int i = 2; i < x->rank; i++) D *= (uint64_t)x->shape[i];
    if (w && (!ref_same_dtype(c, x, w) || w->rank != 1 || w->shape[0] != C))
        return ref_fail(c, "%s: weight must have one entry per class", op);
    const char *red = ir_attr_str(c->n, "reduction", "mean");
    bool none = strcmp(red, "none") == 0, mean = strcmp(red, "mean") == 0;
    if (!none && !mean && strcmp(red, "sum")) return ref_fail(c, "%s: unknown reduction '%s'", op, red);
    bool has_ii = ir_attr(c->n, "ignore_index") != NULL;
    int64_t ii = ir_attr_int(c->n, "ignore_index", 0);
    if (!ref_work(c, (double)x->numel * 3)) return false;
    IrTensor *y = ref_new(c, x->dtype, none ? t->rank : 0, t->shape);
    IrTensor *lp = sce && c->n->nout > 1 ? ref_new(c, x->dtype, x->rank, x->shape) : NULL;
    double *v = y && (!sce || c->n->nout < 2 || lp) ? ref_to_f64(c, x) : NULL;
    if (!v) return false;
    if (sce) {
        /* log_softmax over the class axis, max-shifted */
        for (int64_t n = 0; n < N; n++) {
            for (uint64_t d = 0; d < D; d++) {
                double m = -INFINITY, s = 0;
                for (int64_t k = 0; k < C; k++) m = fmax(m, v[((uint64_t)(n * C + k)) * D + d]);
                for (int64_t k = 0; k < C; k++) s += exp(v[((uint64_t)(n * C + k)) * D + d] - m);
                for (int64_t k = 0; k < C; k++) {
                    uint64_t at = ((uint64_t)(n * C + k)) * D + d;
                    v[at] = v[at] - m - log(s);
                    if (lp) ref_put(lp, at, v[at]);
                }
            }
        }
    }
    double total = 0, wsum = 0;
    for (int64_t n = 0; n < N; n++) {
        for (uint64_t d = 0; d < D; d++) {
            uint64_t at = (uint64_t)n * D + d;
            int64_t k = ref_geti(t, at);
            double loss = 0;
            if (!(has_ii && k == ii)) {
                if (k < 0 || k >= C) {
                    free(v);
                    return ref_fail(c, "%s: target %lld is not a class in [0, %lld)", op, (long long)k, (long long)C);
                }
                double wt = w ? ref_get(w, (uint64_t)k) : 1.0;
                loss = -v[((uint64_t)(n * C + k)) * D + d] * wt;
                wsum += wt;
            }
            if (none) ref_put(y, at, loss);
            total += loss;
        }
    }
    free(v);
    if (!none) ref_put(y, 0, mean ? total / wsum : total);
    ref_set_out(c, 0, y);
    if (lp) ref_set_out(c, 1, lp);
    return true;
}

/* --- BitShift ---------------------------------------------------------------------------------------------- */

/* a shifted by b bits in a `bits`-wide type: a shift by a negative amount or by the width or more leaves only
 * the sign fill (-1 for a right shift of a negative signed value, else 0). */
static int64_t shift(int64_t a, int64_t b, bool left, int bits, bool sign)
{
    bool out = sign ? (b < 0 || b >= bits) : (uint64_t)b >= (uint64_t)bits;
    if (out) return !left && sign && a < 0 ? -1 : 0;
    if (left) return (int64_t)((uint64_t)a << b);   /* the store wraps to the width */
    if (sign) return a < 0 ? ~(~a >> b) : a >> b;
    uint64_t ua = (uint64_t)a;
    if (bits < 64) ua &= ((uint64_t)1 << bits) - 1;
    return (int64_t)(ua >> b);
}

bool ref_bit_shift(RefCx *c)
{
    const IrTensor *a = ref_need(c, 0), *b = ref_need(c, 1);
    if (!a || !b || !ref_same_dtype(c, a, b)) return false;
    if (!ir_dtype_is_int(a->dtype)) return ref_fail(c, "BitShift on %s", ir_dtype_name(a->dtype));
    const char *dir = ir_attr_str(c->n, "direction", "");
    bool left = strcmp(dir, "LEFT") == 0;
    if (!left && strcmp(dir, "RIGHT")) return ref_fail(c, "BitShift: direction '%s'", dir);
    RefBcast bc;
    const IrTensor *ts[2] = {a, b};
    if (!ref_bcast_init(c, &bc, 2, ts)) return false;
    IrTensor *y = ref_new(c, a->dtype, bc.rank, bc.shape);
    if (!y) {
        ref_bcast_free(&bc);
        return false;
    }
    int bits = (int)(8 * ir_dtype_size(a->dtype));
    bool sign = ir_dtype_is_signed(a->dtype);
    for (uint64_t i = 0; i < bc.numel; i++, ref_bcast_next(&bc))
        ref_puti(y, i, shift(ref_geti(a, bc.off[0]), ref_geti(b, bc.off[1]), left, bits, sign));
    ref_bcast_free(&bc);
    ref_set_out(c, 0, y);
    return true;
}

/* --- CumProd ----------------------------------------------------------------------------------------------- */

bool ref_cumprod(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *ta = ref_need(c, 1);
    if (!x || !ta) return false;
    if (ta->numel != 1 || !ir_dtype_is_int(ta->dtype)) return ref_fail(c, "CumProd: axis must be an integer scalar");
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
            double facc = 1;
            uint64_t iacc = 1;   /* products wrap modulo 2^64, then to the width */
            for (uint64_t k = 0; k < dim; k++) {
                uint64_t j = rev ? dim - 1 - k : k, at = (o * dim + j) * inner + in;
                if (excl) {
                    if (isf) ref_put(y, at, facc);
                    else ref_puti(y, at, (int64_t)iacc);
                }
                if (isf) facc *= ref_get(x, at);
                else iacc *= (uint64_t)ref_geti(x, at);
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

/* --- normalizations ------------------------------------------------------------------------------------------ */

/* y = x / ||x||_p along axis, 0 where the norm is 0. */
bool ref_lp_norm(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "LpNormalization on %s", ir_dtype_name(x->dtype));
    int axis;
    if (!ref_axis(c, ir_attr_int(c->n, "axis", -1), x->rank, &axis)) return false;
    int64_t p = ir_attr_int(c->n, "p", 2);
    if (p != 1 && p != 2) return ref_fail(c, "LpNormalization: p %lld", (long long)p);
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    uint64_t inner = 1, outer = 1, dim = (uint64_t)x->shape[axis];
    for (int i = 0; i < axis; i++) outer *= (uint64_t)x->shape[i];
    for (int i = axis + 1; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t in = 0; in < inner; in++) {
            double s = 0;
            for (uint64_t k = 0; k < dim; k++) {
                double v = ref_get(x, (o * dim + k) * inner + in);
                s += p == 1 ? fabs(v) : v * v;
            }
            double norm = p == 1 ? s : sqrt(s);
            for (uint64_t k = 0; k < dim; k++) {
                uint64_t at = (o * dim + k) * inner + in;
                ref_put(y, at, norm == 0 ? 0 : ref_get(x, at) / norm);
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* (x - mean) / (std + 1e-9), statistics over `axes` (default 0, 2, 3), as the ONNX function defines it. */
bool ref_mvn(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "MeanVarianceNormalization on %s", ir_dtype_name(x->dtype));
    uint32_t k;
    const int64_t *axes = ir_attr_ints(c->n, "axes", &k);
    static const int64_t dflt[3] = {0, 2, 3};
    if (!axes) axes = dflt, k = 3;
    bool red[IR_MAX_RANK] = {false};
    for (uint32_t i = 0; i < k; i++) {
        int a;
        if (!ref_axis(c, axes[i], x->rank, &a)) return false;
        red[a] = true;
    }
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    double *v = y ? ref_to_f64(c, x) : NULL;
    /* per element: the index of its group (the kept axes) */
    uint64_t groups = 1, per = 1;
    for (int i = 0; i < x->rank; i++) *(red[i] ? &per : &groups) *= (uint64_t)x->shape[i];
    double *sum = v ? ref_scratch(c, 2 * groups, sizeof *sum) : NULL;
    if (!sum) {
        free(v);
        return false;
    }
    double *sq = sum + groups;
    int64_t idx[IR_MAX_RANK] = {0};
    uint64_t *grp = ref_scratch(c, x->numel, sizeof *grp);
    if (!grp) {
        free(v);
        free(sum);
        return false;
    }
    for (uint64_t i = 0; i < x->numel; i++) {
        uint64_t gi = 0;
        for (int d = 0; d < x->rank; d++)
            if (!red[d]) gi = gi * (uint64_t)x->shape[d] + (uint64_t)idx[d];
        grp[i] = gi;
        sum[gi] += v[i];
        for (int d = x->rank - 1; d >= 0 && ++idx[d] == x->shape[d]; d--) idx[d] = 0;
    }
    for (uint64_t i = 0; i < x->numel; i++) {
        double m = sum[grp[i]] / (double)per, e = v[i] - m;
        sq[grp[i]] += e * e;
    }
    for (uint64_t i = 0; i < x->numel; i++) {
        double m = sum[grp[i]] / (double)per;
        ref_put(y, i, (v[i] - m) / (sqrt(sq[grp[i]] / (double)per) + 1e-9));
    }
    free(v);
    free(sum);
    free(grp);
    ref_set_out(c, 0, y);
    return true;
}

/* y = x / (bias + alpha / size * sum of squares over the channel window)^beta. */
bool ref_lrn(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype) || x->rank < 3) return ref_fail(c, "LRN expects float (N, C, d...)");
    int64_t size = ir_attr_int(c->n, "size", 0);
    if (size < 1) return ref_fail(c, "LRN: size %lld", (long long)size);
    double alpha = ir_attr_float(c->n, "alpha", 1e-4), beta = ir_attr_float(c->n, "beta", 0.75);
    double bias = ir_attr_float(c->n, "bias", 1.0);
    int64_t C = x->shape[1], before = (size - 1) / 2, after = size - 1 - before;
    uint64_t inner = 1;
    for (int i = 2; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    if (!ref_work(c, (double)x->numel * (double)size)) return false;
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    for (int64_t n = 0; n < x->shape[0]; n++) {
        for (int64_t ch = 0; ch < C; ch++) {
            int64_t lo = ch - before < 0 ? 0 : ch - before, hi = ch + after >= C ? C - 1 : ch + after;
            for (uint64_t in = 0; in < inner; in++) {
                double s = 0;
                for (int64_t k = lo; k <= hi; k++) {
                    double v = ref_get(x, ((uint64_t)(n * C + k)) * inner + in);
                    s += v * v;
                }
                uint64_t at = ((uint64_t)(n * C + ch)) * inner + in;
                ref_put(y, at, ref_get(x, at) / pow(bias + alpha / (double)size * s, beta));
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* --- LpPool -------------------------------------------------------------------------------------------------- */

/* (sum over the window of |x|^p)^(1/p); padding contributes zeros.  Window geometry as in ref_conv.c. */
bool ref_lp_pool(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype) || x->rank < 3) return ref_fail(c, "LpPool expects float (N, C, d...)");
    int k = x->rank - 2;
    uint32_t cnt;
    const int64_t *ks = ir_attr_ints(c->n, "kernel_shape", &cnt);
    if (!ks || (int)cnt != k) return ref_fail(c, "LpPool: kernel_shape must have %d entries", k);
    const int64_t *st = ir_attr_ints(c->n, "strides", &cnt), *dl = ir_attr_ints(c->n, "dilations", &cnt);
    const int64_t *pd = ir_attr_ints(c->n, "pads", &cnt);
    const char *ap = ir_attr_str(c->n, "auto_pad", "NOTSET");
    bool upper = strcmp(ap, "SAME_UPPER") == 0, lower = strcmp(ap, "SAME_LOWER") == 0, valid = strcmp(ap, "VALID") == 0;
    bool ceil_mode = ir_attr_int(c->n, "ceil_mode", 0) != 0;
    double p = ir_attr_float(c->n, "p", 2.0);
    if (!(p > 0)) return ref_fail(c, "LpPool: p %g", p);
    int64_t in[IR_MAX_RANK], kern[IR_MAX_RANK], s[IR_MAX_RANK], d[IR_MAX_RANK], pb[IR_MAX_RANK], out[IR_MAX_RANK + 2];
    out[0] = x->shape[0];
    out[1] = x->shape[1];
    for (int i = 0; i < k; i++) {
        in[i] = x->shape[2 + i];
        kern[i] = ks[i];
        s[i] = st ? st[i] : 1;
        d[i] = dl ? dl[i] : 1;
        if (kern[i] < 1 || s[i] < 1 || d[i] < 1 || kern[i] > (1 << 30) || s[i] > (1 << 30) || d[i] > (1 << 30))
            return ref_fail(c, "LpPool: bad kernel, strides or dilations");
        int64_t eff = (kern[i] - 1) * d[i] + 1, o;
        if (upper || lower) {
            o = (in[i] + s[i] - 1) / s[i];
            int64_t total = (o - 1) * s[i] + eff - in[i];
            if (total < 0) total = 0;
            pb[i] = upper ? total / 2 : total - total / 2;
        } else {
            int64_t lo = valid || !pd ? 0 : pd[i], hi = valid || !pd ? 0 : pd[k + i];
            if (lo < 0 || hi < 0) return ref_fail(c, "LpPool: negative pads");
            int64_t num = in[i] + lo + hi - eff;
            if (num < 0) return ref_fail(c, "LpPool: the window is larger than the padded input");
            o = (ceil_mode ? (num + s[i] - 1) / s[i] : num / s[i]) + 1;
            if (ceil_mode && (o - 1) * s[i] >= in[i] + lo) o--;
            pb[i] = lo;
        }
        out[2 + i] = o;
    }
    IrTensor *y = ref_new(c, x->dtype, x->rank, out);
    if (!y) return false;
    uint64_t ksz = 1, insz = 1;
    for (int i = 0; i < k; i++) ksz *= (uint64_t)kern[i], insz *= (uint64_t)in[i];
    if (!ref_work(c, (double)y->numel * (double)ksz)) return false;
    int64_t istr[IR_MAX_RANK];
    ref_strides(k, in, istr);
    uint64_t planes = (uint64_t)(x->shape[0] * x->shape[1]), per = y->numel / (planes ? planes : 1);
    for (uint64_t at = 0; at < y->numel; at++) {
        uint64_t pl = at / per, rest = at % per;
        int64_t o[IR_MAX_RANK];
        for (int i = k - 1; i >= 0; i--) {
            o[i] = (int64_t)(rest % (uint64_t)out[2 + i]);
            rest /= (uint64_t)out[2 + i];
        }
        double acc = 0;
        for (uint64_t kp = 0; kp < ksz; kp++) {
            uint64_t r = kp;
            int64_t off = 0;
            bool inside = true;
            for (int i = k - 1; i >= 0; i--) {
                int64_t pos = o[i] * s[i] - pb[i] + (int64_t)(r % (uint64_t)kern[i]) * d[i];
                r /= (uint64_t)kern[i];
                inside &= pos >= 0 && pos < in[i];
                off += pos * istr[i];
            }
            if (inside) acc += pow(fabs(ref_get(x, pl * insz + (uint64_t)off)), p);
        }
        ref_put(y, at, pow(acc, 1.0 / p));
    }
    ref_set_out(c, 0, y);
    return true;
}

/* --- windows ------------------------------------------------------------------------------------------------- */

/* Hann, Hamming, Blackman at n of `size`: N = size (periodic) or size - 1, in the reference's own terms
 * (Hann as sin^2(pi n / N), the others as cosine sums), so integer output types truncate alike. */
static double window_value(IrOp op, int64_t i, int64_t size, bool periodic)
{
    double N = (double)(periodic ? size : size - 1), n = (double)i;
    switch (op) {
    case IR_OP_HANN_WINDOW: {
        double s = sin(n * M_PI / N);
        return s * s;
    }
    case IR_OP_HAMMING_WINDOW: return 25.0 / 46.0 - cos(n * M_PI * 2 / N) * (1 - 25.0 / 46.0);
    default: return cos(n * (M_PI * 2) / N) * -0.5 + cos(n * (M_PI * 4) / N) * 0.08 + 0.42;
    }
}

bool ref_window(RefCx *c)
{
    const IrTensor *s = ref_need(c, 0);
    if (!s) return false;
    if (!ir_dtype_is_int(s->dtype) || s->numel != 1) return ref_fail(c, "%s: size must be an integer scalar", ir_op_name(c->n->op));
    int64_t size = ref_geti(s, 0);
    if (size < 0) return ref_fail(c, "%s: size %lld", ir_op_name(c->n->op), (long long)size);
    IrDType t = (IrDType)ir_attr_int(c->n, "output_datatype", DT_F32);
    bool periodic = ir_attr_int(c->n, "periodic", 1) != 0;
    IrTensor *y = ref_new(c, t, 1, &size);
    if (!y) return false;
    for (int64_t i = 0; i < size; i++) ref_put(y, (uint64_t)i, window_value(c->n->op, i, size, periodic));
    ref_set_out(c, 0, y);
    return true;
}
