/* runtime/ref/ref_dft.c — spectral ops: DFT (forward, inverse, one-sided and the real inverse of a one-sided
 * spectrum) and STFT, as the audio front ends (torch.stft, torchaudio's mel spectrogram) export them.
 *
 * A direct O(n^2) transform in double over a table of the n roots of unity (index k*t mod n, so no angle
 * is ever computed from a large product); complex values are a trailing dim of 2 (re, im), real ones of 1. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>

/* exp(-2*pi*i*j/n) for j < n. */
static bool roots(RefCx *c, int64_t n, double **re, double **im)
{
    *re = ref_scratch(c, (uint64_t)n, sizeof **re);
    *im = *re ? ref_scratch(c, (uint64_t)n, sizeof **im) : NULL;
    if (!*im) {
        free(*re);
        return false;
    }
    for (int64_t j = 0; j < n; j++) {
        double a = -2.0 * M_PI * (double)j / (double)n;
        (*re)[j] = cos(a);
        (*im)[j] = sin(a);
    }
    return true;
}

/* X[k] = sum_{t < min(len, n)} x[t] w^(+-k t), k < nout (inverse: conjugate roots, scaled by 1/n). */
static void dft(const double *xr, const double *xi, int64_t len, int64_t n, int64_t nout, bool inverse,
                const double *wr, const double *wi, double *yr, double *yi)
{
    int64_t m = len < n ? len : n;
    for (int64_t k = 0; k < nout; k++) {
        double sr = 0, si = 0;
        for (int64_t t = 0; t < m; t++) {
            int64_t j = (int64_t)(((__int128)k * t) % n);
            double cr = wr[j], ci = inverse ? -wi[j] : wi[j];
            sr += xr[t] * cr - xi[t] * ci;
            si += xr[t] * ci + xi[t] * cr;
        }
        yr[k] = inverse ? sr / (double)n : sr;
        yi[k] = inverse ? si / (double)n : si;
    }
}

/* The full spectrum of length n from a one-sided one (Hermitian symmetry), for the real inverse. */
static void hermitian(const double *xr, const double *xi, int64_t len, int64_t n, double *fr, double *fi)
{
    int64_t half = n / 2 + 1;
    for (int64_t k = 0; k < n; k++) {
        int64_t src = k < half ? k : n - k;
        bool have = src < len;
        fr[k] = have ? xr[src] : 0;
        fi[k] = have ? (k < half ? xi[src] : -xi[src]) : 0;
    }
    /* numpy's irfft: the imaginary parts of DC and Nyquist do not exist in a real signal's spectrum */
    fi[0] = 0;
    if (n % 2 == 0) fi[n / 2] = 0;
}

static bool scalar_int(RefCx *c, uint32_t i, int64_t *out, bool *given)
{
    const IrTensor *t = ref_in(c, i);
    *given = t != NULL;
    if (!t) return true;
    if (!ir_dtype_is_int(t->dtype) || t->numel != 1) return ref_fail(c, "%s: input %u must be an integer scalar", ir_op_name(c->n->op), i);
    *out = ref_geti(t, 0);
    return true;
}

bool ref_dft(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    if (!ref_is_float(x->dtype) || x->rank < 2 || (x->shape[x->rank - 1] != 1 && x->shape[x->rank - 1] != 2))
        return ref_fail(c, "DFT expects floats with a last dim of 1 (real) or 2 (complex)");
    int r = x->rank;
    bool cplx = x->shape[r - 1] == 2, inverse = ir_attr_int(c->n, "inverse", 0) != 0;
    bool onesided = ir_attr_int(c->n, "onesided", 0) != 0;
    /* axis: an input from opset 20 (default -2); before, an attribute the importer moved there */
    int64_t axis = -2, n = 0;
    bool has_axis, has_len;
    if (!scalar_int(c, 2, &axis, &has_axis) || !scalar_int(c, 1, &n, &has_len)) return false;
    if (axis < -r || axis >= r - 1 || axis == -1) return ref_fail(c, "DFT: axis %lld", (long long)axis);
    int a = (int)(axis < 0 ? axis + r : axis);
    int64_t len = x->shape[a];
    if (!has_len) n = inverse && onesided ? 2 * (len - 1) : len;
    if (n <= 0 || n > ((int64_t)1 << 24)) return ref_fail(c, "DFT: length %lld", (long long)n);
    bool irfft = inverse && onesided;
    int64_t nout = irfft ? n : onesided ? n / 2 + 1 : n;
    int64_t shape[IR_MAX_RANK];
    ref_copy_dims(shape, x);
    shape[a] = nout;
    shape[r - 1] = irfft ? 1 : 2;
    IrTensor *y = ref_new(c, x->dtype, r, shape);
    if (!y) return false;
    uint64_t outer = 1, inner = 1;
    for (int i = 0; i < a; i++) outer *= (uint64_t)x->shape[i];
    for (int i = a + 1; i < r - 1; i++) inner *= (uint64_t)x->shape[i];
    if (!ref_work(c, (double)outer * (double)inner * (double)n * (double)nout)) return false;
    int64_t cx = cplx ? 2 : 1, cy = irfft ? 1 : 2, buf = len > n ? len : n;
    double *wr, *wi, *v = ref_scratch(c, 6 * (uint64_t)(buf > nout ? buf : nout), sizeof *v);
    if (!v) return false;
    if (!roots(c, n, &wr, &wi)) {
        free(v);
        return false;
    }
    double *xr = v, *xi = v + buf, *fr = v + 2 * buf, *fi = v + 3 * buf, *yr = v + 4 * buf, *yi = v + 5 * buf;
    for (uint64_t o = 0; o < outer; o++) {
        for (uint64_t in = 0; in < inner; in++) {
            for (int64_t t = 0; t < len; t++) {
                uint64_t at = ((o * (uint64_t)len + (uint64_t)t) * inner + in) * (uint64_t)cx;
                xr[t] = ref_get(x, at);
                xi[t] = cplx ? ref_get(x, at + 1) : 0;
            }
            if (irfft) {
                hermitian(xr, xi, len, n, fr, fi);
                dft(fr, fi, n, n, n, true, wr, wi, yr, yi);
            } else {
                dft(xr, xi, len, n, nout, inverse, wr, wi, yr, yi);
            }
            for (int64_t k = 0; k < nout; k++) {
                uint64_t at = ((o * (uint64_t)nout + (uint64_t)k) * inner + in) * (uint64_t)cy;
                ref_put(y, at, yr[k]);
                if (!irfft) ref_put(y, at + 1, yi[k]);
            }
        }
    }
    free(v);
    free(wr);
    free(wi);
    ref_set_out(c, 0, y);
    return true;
}

/* STFT: frames of the signal (B, L, 1|2) every frame_step samples, each weighted by the window and
 * transformed at frame_length; one-sided by default. */
bool ref_stft(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *win = ref_in(c, 2);
    if (!x) return false;
    if (!ref_is_float(x->dtype) || x->rank != 3 || (x->shape[2] != 1 && x->shape[2] != 2))
        return ref_fail(c, "STFT expects a float signal (batch, length, 1 or 2)");
    int64_t step = 0, fl = 0;
    bool has_step, has_fl;
    if (!scalar_int(c, 1, &step, &has_step) || !scalar_int(c, 3, &fl, &has_fl)) return false;
    if (!has_step || step <= 0) return ref_fail(c, "STFT: frame_step must be positive");
    if (win && (win->rank != 1 || !ref_is_float(win->dtype))) return ref_fail(c, "STFT: window must be a float vector");
    int64_t wlen = win ? win->shape[0] : has_fl ? fl : x->shape[1];
    if (!has_fl) fl = wlen;
    int64_t B = x->shape[0], L = x->shape[1];
    if (fl <= 0 || fl > L || wlen <= 0 || wlen > L) return ref_fail(c, "STFT: frame length %lld for %lld samples", (long long)fl, (long long)L);
    bool cplx = x->shape[2] == 2, onesided = ir_attr_int(c->n, "onesided", 1) != 0;
    int64_t frames = 1 + (L - fl) / step, bins = onesided ? fl / 2 + 1 : fl;
    if (!ref_work(c, (double)B * (double)frames * (double)bins * (double)wlen)) return false;
    int64_t shape[4] = {B, frames, bins, 2};
    IrTensor *y = ref_new(c, x->dtype, 4, shape);
    if (!y) return false;
    int64_t buf = (wlen > fl ? wlen : fl) + bins;
    double *wr, *wi, *v = ref_scratch(c, 4 * (uint64_t)buf, sizeof *v);
    if (!v) return false;
    if (!roots(c, fl, &wr, &wi)) {
        free(v);
        return false;
    }
    double *xr = v, *xi = v + buf, *yr = v + 2 * buf, *yi = v + 3 * buf;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t f = 0; f < frames; f++) {
            /* the frame: wlen samples from f*step (zeros past the end), times the window */
            for (int64_t t = 0; t < wlen; t++) {
                int64_t p = f * step + t;
                double w = win ? ref_get(win, (uint64_t)t) : 1.0;
                uint64_t at = (uint64_t)((b * L + p) * (cplx ? 2 : 1));
                xr[t] = p < L ? ref_get(x, at) * w : 0;
                xi[t] = p < L && cplx ? ref_get(x, at + 1) * w : 0;
            }
            dft(xr, xi, wlen, fl, bins, false, wr, wi, yr, yi);
            for (int64_t k = 0; k < bins; k++) {
                uint64_t at = (uint64_t)(((b * frames + f) * bins + k) * 2);
                ref_put(y, at, yr[k]);
                ref_put(y, at + 1, yi[k]);
            }
        }
    }
    free(v);
    free(wr);
    free(wi);
    ref_set_out(c, 0, y);
    return true;
}
