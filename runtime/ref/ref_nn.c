/* runtime/ref/ref_nn.c — linear algebra and normalization: MatMul, Gemm, Einsum, LayerNormalization,
 * RMSNormalization (and the com.microsoft SimplifiedLayerNormalization / SkipLayerNormalization),
 * BatchNormalization (inference), InstanceNormalization, GroupNormalization.
 *
 * Products accumulate in double (in wrapping 64-bit integers for integer MatMul/Einsum); statistics are the
 * population mean and variance in double, whatever stash_type asks, which only makes them more exact. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool ref_matmul(RefCx *c)
{
    const IrTensor *a = ref_need(c, 0), *b = ref_need(c, 1);
    if (!a || !b || !ref_same_dtype(c, a, b)) return false;
    if (a->rank < 1 || b->rank < 1) return ref_fail(c, "MatMul of a scalar");
    if (a->dtype == DT_BOOL) return ref_fail(c, "MatMul of bool");
    /* numpy: a 1-D operand gains a unit dim that the result drops again */
    int64_t M = a->rank >= 2 ? a->shape[a->rank - 2] : 1, K = a->shape[a->rank - 1];
    int64_t Kb = b->rank >= 2 ? b->shape[b->rank - 2] : b->shape[0], N = b->rank >= 2 ? b->shape[b->rank - 1] : 1;
    if (K != Kb) return ref_fail(c, "MatMul: inner dims %lld and %lld differ", (long long)K, (long long)Kb);
    int ba = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0, br = ba > bb ? ba : bb;
    int64_t shape[IR_MAX_RANK], astr[IR_MAX_RANK], bstr[IR_MAX_RANK];
    int r = 0;
    for (int i = 0; i < br; i++) {
        int ia = i - (br - ba), ib = i - (br - bb);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        if (da != db && da != 1 && db != 1) return ref_fail(c, "MatMul: batch dims do not broadcast");
        shape[r++] = da == 1 ? db : da;
    }
    /* batch strides in elements, 0 where broadcast */
    {
        int64_t sa = M * K, sb = K * N;
        for (int i = br - 1; i >= 0; i--) {
            int ia = i - (br - ba), ib = i - (br - bb);
            int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
            astr[i] = da == 1 ? 0 : sa;
            bstr[i] = db == 1 ? 0 : sb;
            sa *= da;
            sb *= db;
        }
    }
    if (a->rank >= 2) shape[r++] = M;
    if (b->rank >= 2) shape[r++] = N;
    uint64_t batches = 1;
    for (int i = 0; i < br; i++) batches *= (uint64_t)shape[i];
    if (!ref_work(c, (double)batches * (double)M * (double)N * (double)K)) return false;
    IrTensor *y = ref_new(c, a->dtype, r, shape);
    if (!y) return false;
    bool isf = ref_is_float(a->dtype);
    double *fa = isf ? ref_to_f64(c, a) : NULL, *fb = isf && fa ? ref_to_f64(c, b) : NULL;
    if (isf && !fb) {
        free(fa);
        return false;
    }
    int64_t idx[IR_MAX_RANK] = {0};
    for (uint64_t bi = 0; bi < batches; bi++) {
        int64_t oa = 0, ob = 0;
        for (int i = 0; i < br; i++) oa += idx[i] * astr[i], ob += idx[i] * bstr[i];
        for (int64_t m = 0; m < M; m++) {
            for (int64_t n = 0; n < N; n++) {
                uint64_t at = (bi * (uint64_t)M + (uint64_t)m) * (uint64_t)N + (uint64_t)n;
                if (isf) {
                    double s = 0;
                    for (int64_t k = 0; k < K; k++) s += fa[oa + m * K + k] * fb[ob + k * N + n];
                    ref_put(y, at, s);
                } else {
                    uint64_t s = 0;
                    for (int64_t k = 0; k < K; k++)
                        s += (uint64_t)ref_geti(a, (uint64_t)(oa + m * K + k)) * (uint64_t)ref_geti(b, (uint64_t)(ob + k * N + n));
                    ref_puti(y, at, (int64_t)s);
                }
            }
        }
        for (int i = br - 1; i >= 0 && ++idx[i] == shape[i]; i--) idx[i] = 0;
    }
    free(fa);
    free(fb);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_gemm(RefCx *c)
{
    const IrTensor *a = ref_need(c, 0), *b = ref_need(c, 1), *cc = ref_in(c, 2);
    if (!a || !b || !ref_same_dtype(c, a, b) || (cc && !ref_same_dtype(c, a, cc))) return false;
    if (a->rank != 2 || b->rank != 2) return ref_fail(c, "Gemm expects 2-D A and B");
    bool ta = ir_attr_int(c->n, "transA", 0) != 0, tb = ir_attr_int(c->n, "transB", 0) != 0;
    double alpha = ir_attr_float(c->n, "alpha", 1.0), beta = ir_attr_float(c->n, "beta", 1.0);
    int64_t M = a->shape[ta ? 1 : 0], K = a->shape[ta ? 0 : 1], Kb = b->shape[tb ? 1 : 0], N = b->shape[tb ? 0 : 1];
    if (K != Kb) return ref_fail(c, "Gemm: inner dims %lld and %lld differ", (long long)K, (long long)Kb);
    /* C broadcasts one way to (M, N) */
    int64_t cs0 = 0, cs1 = 0;
    if (cc) {
        if (cc->rank > 2) return ref_fail(c, "Gemm: C of rank %d", cc->rank);
        int64_t c0 = cc->rank == 2 ? cc->shape[0] : 1, c1 = cc->rank >= 1 ? cc->shape[cc->rank - 1] : 1;
        if ((c0 != 1 && c0 != M) || (c1 != 1 && c1 != N)) return ref_fail(c, "Gemm: C does not broadcast to (M, N)");
        cs0 = c0 == 1 ? 0 : c1;
        cs1 = c1 == 1 ? 0 : 1;
    }
    if (!ref_is_float(a->dtype)) return ref_fail(c, "Gemm on %s is not supported", ir_dtype_name(a->dtype));
    int64_t shape[2] = {M, N};
    if (!ref_work(c, (double)M * (double)N * (double)K)) return false;
    IrTensor *y = ref_new(c, a->dtype, 2, shape);
    if (!y) return false;
    double *fa = ref_to_f64(c, a), *fb = fa ? ref_to_f64(c, b) : NULL;
    for (int64_t m = 0; fb && m < M; m++) {
        for (int64_t n = 0; n < N; n++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += fa[ta ? k * M + m : m * K + k] * fb[tb ? n * K + k : k * N + n];
            s *= alpha;
            if (cc) s += beta * ref_get(cc, (uint64_t)(m * cs0 + n * cs1));
            ref_put(y, (uint64_t)(m * N + n), s);
        }
    }
    bool ok = fb != NULL;
    free(fa);
    free(fb);
    ref_set_out(c, 0, y);
    return ok;
}

/*
 * Einsum: every label (and each ellipsis dim, right-aligned across operands) becomes one loop; an operand's
 * stride for a label sums the strides of its dims with that label (a repeated label walks the diagonal) and
 * is 0 where the operand broadcasts.
 */
enum { EIN_MAX_LABELS = 52 + IR_MAX_RANK, EIN_MAX_OPS = 16, EIN_MAX_ITERS = 1 << 30 };

typedef struct {
    int n;
    int lab[IR_MAX_RANK];          /* label id per dim */
} EinTerm;

static int label_id(char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return 26 + ch - 'a';
    return -1;
}

/* One term of the equation for an operand of rank `rank` (-1 for the output, whose ellipsis takes `nell`). */
static bool ein_term(RefCx *c, const char **p, int rank, int *nell, EinTerm *t)
{
    int before = 0, after = 0, ell = -1;
    t->n = 0;
    int labs[IR_MAX_RANK + 3], nl = 0;
    for (const char *s = *p; *s && *s != ',' && *s != '-'; s++) {
        if (*s == ' ') continue;
        if (s[0] == '.' && s[1] == '.' && s[2] == '.') {
            if (ell >= 0) return ref_fail(c, "Einsum: two ellipses in one term");
            ell = nl;
            s += 2;
            continue;
        }
        int id = label_id(*s);
        if (id < 0) return ref_fail(c, "Einsum: bad character '%c'", *s);
        if (nl == IR_MAX_RANK) return ref_fail(c, "Einsum: term too long");
        labs[nl++] = id;
    }
    while (**p && **p != ',' && **p != '-') (*p)++;
    before = ell >= 0 ? ell : nl;
    after = nl - before;
    int ne = 0;
    if (rank >= 0) {
        ne = rank - nl;
        if (ne < 0 || (ne > 0 && ell < 0)) return ref_fail(c, "Einsum: term does not match an operand of rank %d", rank);
        if (ne > *nell) *nell = ne;
    } else {
        ne = ell >= 0 ? *nell : 0;
    }
    if (before + ne + after > IR_MAX_RANK) return ref_fail(c, "Einsum: rank too large");
    for (int i = 0; i < before; i++) t->lab[t->n++] = labs[i];
    /* ellipsis dims are labels 52.., counted from the right so operands align as in broadcasting */
    for (int i = 0; i < ne; i++) t->lab[t->n++] = 52 + (ne - 1 - i);
    for (int i = 0; i < after; i++) t->lab[t->n++] = labs[before + i];
    return true;
}

bool ref_einsum(RefCx *c)
{
    const char *eq = ir_attr_str(c->n, "equation", NULL);
    int nop = (int)c->n->nin;
    if (!eq) return ref_fail(c, "Einsum without an equation");
    if (nop > EIN_MAX_OPS) return ref_fail(c, "Einsum with %d operands", nop);
    EinTerm terms[EIN_MAX_OPS + 1];
    const IrTensor *ops[EIN_MAX_OPS];
    int nell = 0;
    const char *p = eq;
    for (int k = 0; k < nop; k++) {
        if (!(ops[k] = ref_need(c, (uint32_t)k))) return false;
        if (k && !ref_same_dtype(c, ops[0], ops[k])) return false;
        if (!ein_term(c, &p, ops[k]->rank, &nell, &terms[k])) return false;
        if (k + 1 < nop && *p++ != ',') return ref_fail(c, "Einsum: %d terms for %d operands", k + 1, nop);
    }
    int64_t size[EIN_MAX_LABELS];
    int count[EIN_MAX_LABELS] = {0};
    for (int i = 0; i < EIN_MAX_LABELS; i++) size[i] = -1;
    for (int k = 0; k < nop; k++) {
        bool seen[EIN_MAX_LABELS] = {0};
        for (int i = 0; i < terms[k].n; i++) {
            int l = terms[k].lab[i];
            int64_t d = ops[k]->shape[i];
            if (!seen[l]) count[l]++;
            seen[l] = true;
            /* named labels must agree exactly; ellipsis dims broadcast */
            if (size[l] < 0 || (l >= 52 && size[l] == 1)) size[l] = d;
            else if (d != size[l] && !(l >= 52 && d == 1)) return ref_fail(c, "Einsum: label sizes disagree");
        }
    }
    EinTerm *out = &terms[nop];
    if (p[0] == '-' && p[1] == '>') {
        p += 2;
        if (!ein_term(c, &p, -1, &nell, out)) return false;
        if (*p) return ref_fail(c, "Einsum: trailing text in the equation");
    } else {
        if (*p) return ref_fail(c, "Einsum: malformed equation");
        /* implicit output: the ellipsis, then the labels used once, in alphabetical (ASCII) order */
        out->n = 0;
        for (int i = 0; i < nell; i++) out->lab[out->n++] = 52 + (nell - 1 - i);
        for (int l = 0; l < 52; l++)
            if (count[l] == 1 && out->n < IR_MAX_RANK) out->lab[out->n++] = l;
    }
    /* loop order: output labels, then the summed ones */
    int loops[EIN_MAX_LABELS], nloops = 0;
    bool in_out[EIN_MAX_LABELS] = {0};
    int64_t oshape[IR_MAX_RANK];
    for (int i = 0; i < out->n; i++) {
        int l = out->lab[i];
        if (size[l] < 0) return ref_fail(c, "Einsum: output label not in any input");
        if (in_out[l]) return ref_fail(c, "Einsum: output label repeated");
        in_out[l] = true;
        loops[nloops++] = l;
        oshape[i] = size[l];
    }
    for (int l = 0; l < EIN_MAX_LABELS; l++)
        if (size[l] >= 0 && !in_out[l]) loops[nloops++] = l;
    uint64_t iters = 1;
    for (int i = 0; i < nloops; i++)
        if (__builtin_mul_overflow(iters, (uint64_t)size[loops[i]], &iters) || iters > EIN_MAX_ITERS)
            return ref_fail(c, "Einsum: too much work for the reference evaluator");
    if (!ref_work(c, (double)iters * nop)) return false;
    IrTensor *y = ref_new(c, ops[0]->dtype, out->n, oshape);
    if (!y) return false;
    int64_t str[EIN_MAX_OPS + 1][EIN_MAX_LABELS];
    memset(str, 0, sizeof str);
    for (int k = 0; k <= nop; k++) {
        const EinTerm *t = &terms[k];
        int64_t s[IR_MAX_RANK];
        ref_strides(t->n, k < nop ? ops[k]->shape : oshape, s);
        for (int i = 0; i < t->n; i++)
            if ((k < nop ? ops[k]->shape[i] : oshape[i]) != 1) str[k][t->lab[i]] += s[i];
    }
    bool isf = ref_is_float(y->dtype);
    double *facc = ref_scratch(c, y->numel, sizeof *facc);
    if (!facc) return false;
    int64_t idx[EIN_MAX_LABELS] = {0}, off[EIN_MAX_OPS + 1] = {0};
    for (uint64_t it = 0; it < iters; it++) {
        if (isf) {
            double v = 1;
            for (int k = 0; k < nop; k++) v *= ref_get(ops[k], (uint64_t)off[k]);
            facc[off[nop]] += v;
        } else {
            uint64_t v = 1;
            for (int k = 0; k < nop; k++) v *= (uint64_t)ref_geti(ops[k], (uint64_t)off[k]);
            ref_puti(y, (uint64_t)off[nop], (int64_t)((uint64_t)ref_geti(y, (uint64_t)off[nop]) + v));
        }
        for (int i = nloops - 1; i >= 0; i--) {
            int l = loops[i];
            if (++idx[i] < size[l]) {
                for (int k = 0; k <= nop; k++) off[k] += str[k][l];
                break;
            }
            for (int k = 0; k <= nop; k++) off[k] -= str[k][l] * (size[l] - 1);
            idx[i] = 0;
        }
    }
    if (isf)
        for (uint64_t i = 0; i < y->numel; i++) ref_put(y, i, facc[i]);
    free(facc);
    ref_set_out(c, 0, y);
    return true;
}

/* Statistics output (Mean, InvStdDev): x's shape with the normalized axes set to 1. */
static IrTensor *stat_output(RefCx *c, const IrTensor *x, int axis, IrDType t)
{
    int64_t shape[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = i < axis ? x->shape[i] : 1;
    return ref_new(c, t, x->rank, shape);
}

static bool wanted(RefCx *c, uint32_t i)
{
    return i < c->n->nout && c->n->out[i] != IR_NONE;
}

/* LayerNormalization, RMSNormalization and the contrib SimplifiedLayerNormalization/SkipLayerNormalization:
 * normalize over [axis:), then scale (and bias) broadcast against x. */
bool ref_norm(RefCx *c)
{
    IrOp op = c->n->op;
    bool skip = op == IR_OP_MS_SKIP_LAYER_NORM;
    bool rms = op == IR_OP_RMS_NORM || op == IR_OP_MS_SIMPLIFIED_LAYER_NORM;
    const IrTensor *x = ref_need(c, 0);
    const IrTensor *scale = ref_need(c, skip ? 2 : 1), *bias = rms ? NULL : ref_in(c, skip ? 3 : 2);
    const IrTensor *skipt = skip ? ref_need(c, 1) : NULL, *sbias = skip ? ref_in(c, 4) : NULL;
    if (!x || !scale || (skip && !skipt)) return false;
    if (!ref_is_float(x->dtype)) return ref_fail(c, "%s expects floats", ir_op_name(op));
    int axis;
    if (!ref_axis(c, skip ? -1 : ir_attr_int(c->n, "axis", -1), x->rank, &axis)) return false;
    double eps = ir_attr_float(c->n, "epsilon", skip ? 1e-12f : 1e-5f);
    if (skip && (wanted(c, 1) || wanted(c, 2)))
        return ref_fail(c, "SkipLayerNormalization: the mean/inv_std_var outputs are not supported");
    /* SkipLayerNormalization normalizes input + skip (+ bias), and may return that sum. */
    const IrTensor *ts[5] = {x, scale, bias ? bias : scale, skipt ? skipt : x, sbias ? sbias : x};
    RefBcast b;
    if (!ref_bcast_init(c, &b, 5, ts)) return false;
    bool ok = b.rank == x->rank;
    for (int i = 0; ok && i < b.rank; i++) ok = b.shape[i] == x->shape[i];
    if (!ok) ref_fail(c, "%s: parameters do not broadcast to the input", ir_op_name(op));
    IrTensor *y = ok ? ref_new(c, x->dtype, x->rank, x->shape) : NULL;
    double *v = y ? ref_scratch(c, x->numel, sizeof *v) : NULL;
    ok = v != NULL;
    uint64_t inner = 1;
    for (int i = axis; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    uint64_t outer = inner ? x->numel / inner : 0;
    double *sc = ok ? ref_scratch(c, x->numel, sizeof *sc) : NULL, *bi = sc ? ref_scratch(c, x->numel, sizeof *bi) : NULL;
    ok = bi != NULL;
    for (uint64_t i = 0; ok && i < x->numel; i++, ref_bcast_next(&b)) {
        v[i] = ref_get(x, b.off[0]);
        if (skip) v[i] += ref_get(skipt, b.off[3]) + (sbias ? ref_get(sbias, b.off[4]) : 0);
        sc[i] = ref_get(scale, b.off[1]);
        bi[i] = bias ? ref_get(bias, b.off[2]) : 0;
    }
    ref_bcast_free(&b);
    IrTensor *mean_t = NULL, *inv_t = NULL, *sum_t = NULL;
    IrDType st = (IrDType)ir_attr_int(c->n, "stash_type", DT_F32);
    if (ok && !ref_is_float(st)) ok = ref_fail(c, "%s: stash_type %d", ir_op_name(op), (int)st);
    if (ok && !skip && !rms && wanted(c, 1)) ok = (mean_t = stat_output(c, x, axis, st)) != NULL;
    if (ok && !skip && wanted(c, rms ? 1 : 2)) ok = (inv_t = stat_output(c, x, axis, st)) != NULL;
    if (ok && skip && wanted(c, 3)) ok = (sum_t = ref_new(c, x->dtype, x->rank, x->shape)) != NULL;
    for (uint64_t o = 0; ok && o < outer; o++) {
        double *row = v + o * inner, mean = 0, var = 0;
        if (!rms) {
            for (uint64_t k = 0; k < inner; k++) mean += row[k];
            mean /= (double)inner;
        }
        for (uint64_t k = 0; k < inner; k++) var += (row[k] - mean) * (row[k] - mean);
        double inv = 1.0 / sqrt(var / (double)inner + eps);
        for (uint64_t k = 0; k < inner; k++) {
            uint64_t at = o * inner + k;
            if (sum_t) ref_put(sum_t, at, row[k]);
            ref_put(y, at, (row[k] - mean) * inv * sc[at] + bi[at]);
        }
        if (mean_t) ref_put(mean_t, o, mean);
        if (inv_t) ref_put(inv_t, o, inv);
    }
    free(v);
    free(sc);
    free(bi);
    if (!ok) return false;
    ref_set_out(c, 0, y);
    if (skip) {
        ref_set_out(c, 3, sum_t);
    } else {
        ref_set_out(c, rms ? 1 : 2, inv_t);
        if (!rms) ref_set_out(c, 1, mean_t);
    }
    return true;
}

/* Per-channel parameters of BatchNormalization/InstanceNormalization: a 1-D tensor of C elements. */
static bool channel_param(RefCx *c, const IrTensor *t, int64_t C)
{
    if (t->numel != (uint64_t)C) return ref_fail(c, "%s: a parameter has %llu elements for %lld channels",
                                                 ir_op_name(c->n->op), (unsigned long long)t->numel, (long long)C);
    return true;
}

bool ref_batch_norm(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *sc = ref_need(c, 1), *bi = ref_need(c, 2), *mu = ref_need(c, 3),
                   *var = ref_need(c, 4);
    if (!x || !sc || !bi || !mu || !var) return false;
    if (ir_attr_int(c->n, "training_mode", 0) != 0 || wanted(c, 1) || wanted(c, 2))
        return ref_fail(c, "BatchNormalization in training mode is not supported");
    if (ir_attr_int(c->n, "spatial", 1) == 0) return ref_fail(c, "BatchNormalization with spatial=0 is not supported");
    if (!ref_is_float(x->dtype) || x->rank < 2) return ref_fail(c, "BatchNormalization expects float (N, C, ...)");
    int64_t C = x->shape[1];
    if (!channel_param(c, sc, C) || !channel_param(c, bi, C) || !channel_param(c, mu, C) || !channel_param(c, var, C))
        return false;
    double eps = ir_attr_float(c->n, "epsilon", 1e-5f);
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    uint64_t inner = 1;
    for (int i = 2; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    for (uint64_t i = 0; i < x->numel; i++) {
        uint64_t ch = (i / inner) % (uint64_t)C;
        double s = ref_get(sc, ch) / sqrt(ref_get(var, ch) + eps);
        ref_put(y, i, (ref_get(x, i) - ref_get(mu, ch)) * s + ref_get(bi, ch));
    }
    ref_set_out(c, 0, y);
    return true;
}

/* Normalize groups of `count` consecutive elements of x, element i taking scale/bias entry pidx(i). */
static void normalize_groups(IrTensor *y, const IrTensor *x, uint64_t count, double eps, const IrTensor *sc,
                             const IrTensor *bi, uint64_t inner, uint64_t nparam)
{
    uint64_t groups = count ? x->numel / count : 0;
    for (uint64_t g = 0; g < groups; g++) {
        double mean = 0, var = 0;
        for (uint64_t k = 0; k < count; k++) mean += ref_get(x, g * count + k);
        mean /= (double)count;
        for (uint64_t k = 0; k < count; k++) {
            double d = ref_get(x, g * count + k) - mean;
            var += d * d;
        }
        double inv = 1.0 / sqrt(var / (double)count + eps);
        for (uint64_t k = 0; k < count; k++) {
            uint64_t i = g * count + k, p = (i / inner) % nparam;
            ref_put(y, i, (ref_get(x, i) - mean) * inv * ref_get(sc, p) + ref_get(bi, p));
        }
    }
}

bool ref_instance_norm(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *sc = ref_need(c, 1), *bi = ref_need(c, 2);
    if (!x || !sc || !bi) return false;
    if (!ref_is_float(x->dtype) || x->rank < 3) return ref_fail(c, "InstanceNormalization expects float (N, C, D...)");
    int64_t C = x->shape[1];
    if (!channel_param(c, sc, C) || !channel_param(c, bi, C)) return false;
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    uint64_t inner = 1;
    for (int i = 2; i < x->rank; i++) inner *= (uint64_t)x->shape[i];
    normalize_groups(y, x, inner, ir_attr_float(c->n, "epsilon", 1e-5f), sc, bi, inner, (uint64_t)C);
    ref_set_out(c, 0, y);
    return true;
}

bool ref_group_norm(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *sc = ref_need(c, 1), *bi = ref_need(c, 2);
    if (!x || !sc || !bi) return false;
    if (!ref_is_float(x->dtype) || x->rank < 3) return ref_fail(c, "GroupNormalization expects float (N, C, D...)");
    int64_t C = x->shape[1], G = ir_attr_int(c->n, "num_groups", 0);
    if (G <= 0 || C % G) return ref_fail(c, "GroupNormalization: %lld groups for %lld channels", (long long)G, (long long)C);
    uint64_t spatial = 1;
    for (int i = 2; i < x->rank; i++) spatial *= (uint64_t)x->shape[i];
    /* Opset 18 has one scale/bias per group, opset 21 one per channel; the element count says which. */
    uint64_t inner;
    if (sc->numel == (uint64_t)C && bi->numel == (uint64_t)C) inner = spatial;
    else if (sc->numel == (uint64_t)G && bi->numel == (uint64_t)G) inner = spatial * (uint64_t)(C / G);
    else return ref_fail(c, "GroupNormalization: scale/bias match neither channels nor groups");
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    normalize_groups(y, x, spatial * (uint64_t)(C / G), ir_attr_float(c->n, "epsilon", 1e-5f), sc, bi, inner,
                     sc->numel);
    ref_set_out(c, 0, y);
    return true;
}

/* Linear (ours): y = x·Wᵀ + b (trans_w=1, W (out, in)) or x·W + b (trans_w=0, W (in, out)), over the last dim. */
bool ref_linear(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0), *w = ref_need(c, 1);
    const IrTensor *b = ref_in(c, 2);
    if (!x || !w) return false;
    if (!ref_is_float(x->dtype) || x->rank < 1 || w->rank != 2) return ref_fail(c, "Linear: a float input and a 2-D weight");
    bool trans = ir_attr_int(c->n, "trans_w", 1) != 0;
    int64_t K = x->shape[x->rank - 1], in = trans ? w->shape[1] : w->shape[0], N = trans ? w->shape[0] : w->shape[1];
    if (K != in || (b && (b->rank != 1 || b->shape[0] != N))) return ref_fail(c, "Linear: shapes do not match");
    uint64_t rows = K ? x->numel / (uint64_t)K : 0;
    if (!ref_work(c, (double)rows * (double)N * (double)K)) return false;
    int64_t shape[IR_MAX_RANK];
    memcpy(shape, x->shape, (size_t)x->rank * sizeof *shape);
    shape[x->rank - 1] = N;
    IrTensor *y = ref_new(c, x->dtype, x->rank, shape);
    if (!y) return false;
    double *fx = ref_to_f64(c, x), *fw = fx ? ref_to_f64(c, w) : NULL, *fb = fw && b ? ref_to_f64(c, b) : NULL;
    if (!fx || !fw || (b && !fb)) {
        free(fx), free(fw), free(fb);
        return false;
    }
    for (uint64_t r = 0; r < rows; r++)
        for (int64_t n = 0; n < N; n++) {
            double s = fb ? fb[n] : 0;
            for (int64_t k = 0; k < K; k++) s += fx[r * (uint64_t)K + (uint64_t)k] * (trans ? fw[n * K + k] : fw[k * N + n]);
            ref_put(y, r * (uint64_t)N + (uint64_t)n, s);
        }
    free(fx), free(fw), free(fb);
    ref_set_out(c, 0, y);
    return true;
}
