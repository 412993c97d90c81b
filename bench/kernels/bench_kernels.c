/* bench/kernels/bench_kernels.c — issue 5, deliverable 7: our CUDA kernels at benchmark sizes.
 *
 * Each case is a small text-IR graph (fp16), taken through the pipeline and the kernel IR exactly as
 * `ml2candle kernels` takes a model, emitted as CUDA C by backends/cuda, compiled by NVRTC for the device's
 * arch, loaded and launched through the driver (runtime/).  Inputs are random (fresh per run); the output is
 * first checked against a double-precision CPU reference on sampled rows (relative L2, threshold 1e-2 as for
 * fp16 validation), then timed with CUDA events: launches back to back in batches of about 5 ms, the median
 * of the batches.  Attention reports TFLOP/s (4·B·H·S²·D, half of it when causal, the convention torch and
 * FlashAttention use), the row kernels TB/s (the tensor read once and written once).
 *
 *   m2c_bench_kernels [--quick] [--tiles] [--csv FILE] [--dump DIR]
 *     --quick   the smallest attention shape and the first row shape only
 *     --tiles   also time other attention tile shapes than the emitter's choice
 *     --dump    write each kernel's CUDA C and PTX into DIR
 *
 * bench/kernels/run.sh runs it beside bench/kernels/torch_ref.py in one device call (RESULTS.md). */
#include "cuda.h"
#include "passes.h"
#include "runtime.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rng = 0x9E3779B97F4A7C15ULL;

static double urand(void)
{
    rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
    return (double)((rng * 0x2545F4914F6CDD1DULL) >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct {
    uint16_t *h;               /* host copy (fp16) */
    RtDevPtr d;
    size_t n;
} Buf;

static bool buf_random(Buf *b, size_t n, double lo, double hi)
{
    b->n = n;
    b->h = malloc(n * 2);
    for (size_t i = 0; i < n; i++) b->h[i] = ir_f32_to_f16((float)(lo + (hi - lo) * urand()));
    return cudrv_alloc(&b->d, n * 2) && cudrv_htod(b->d, b->h, n * 2);
}

static bool buf_out(Buf *b, size_t n)
{
    b->n = n;
    b->h = malloc(n * 2);
    memset(b->h, 0xff, n * 2);   /* NaN: rows the kernel does not write are caught */
    return cudrv_alloc(&b->d, n * 2) && cudrv_htod(b->d, b->h, n * 2);
}

static void buf_free(Buf *b)
{
    if (b->d) cudrv_free(b->d);
    free(b->h);
    memset(b, 0, sizeof *b);
}

static float h2f(uint16_t h) { return ir_f16_to_f32(h); }

/* One kernel of a graph: the plan's only group, emitted with the given tiles, compiled, loaded. */
typedef struct {
    IrGraph *g;
    KirPlan plan;
    CudaLaunch l;
    void *mod, *fn;
    unsigned grid[3];
} Kern;

static const char *dump_dir;   /* --dump: each kernel's source and PTX */

static void dump(const char *name, const char *ext, const char *text)
{
    if (!dump_dir || !text) return;
    char path[1024];
    static int seq;
    snprintf(path, sizeof path, "%s/%02d_%s.%s", dump_dir, seq++ / 2, name, ext);
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

static bool kern_build(Kern *k, const char *ir, const CudaAttnTiles *tiles, NvrtcCache *cache)
{
    memset(k, 0, sizeof *k);
    k->g = ir_parse(ir, "bench");
    if (!k->g || !pass_run_pipeline(k->g, NULL)) return false;
    kir_plan(k->g, &k->plan);
    if (k->plan.groups.n != 1) {
        fprintf(stderr, "bench: %u groups, expected one\n", k->plan.groups.n);
        return false;
    }
    const KirGroup *grp = &k->plan.groups.v[0];
    M2cBuf src = {0}, log = {0};
    char *ptx = NULL;
    KirBind none = {0, NULL, NULL};
    bool ok = cuda_emit_tiles(k->g, grp, tiles, &src, &k->l) && cuda_launch_eval(k->g, &k->l, &none, k->grid);
    int arch = cudrv_arch() >= 90 ? 90 : cudrv_arch();
    if (ok && !nvrtc_compile(cache, grp->name, src.s, arch, &ptx, &log)) {
        fprintf(stderr, "bench: %s\n%s\n", rt_error(), log.s ? log.s : "");
        ok = false;
    }
    dump(grp->name, "cu", src.s), dump(grp->name, "ptx", ptx);
    ok = ok && cudrv_module_load(ptx, &k->mod, &log) && cudrv_function(k->mod, grp->name, &k->fn);
    free(ptx);
    m2c_buf_free(&src), m2c_buf_free(&log);
    return ok;
}

static void kern_free(Kern *k)
{
    if (k->mod) cudrv_module_unload(k->mod);
    if (k->g) ir_graph_free(k->g);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* Median time of one launch, ms: batches of back-to-back launches of about 5 ms after a warm-up. */
static bool time_kernel(Kern *k, void **args, float *ms)
{
    float one = 0;
    if (!cudrv_time(k->fn, k->grid, k->l.block, k->l.dsmem, args, 3, &one)) return false;
    int reps = one > 0 ? (int)(5.0f / one) : 100;
    reps = reps < 1 ? 1 : reps > 2000 ? 2000 : reps;
    float t[9];
    for (int i = 0; i < 9; i++)
        if (!cudrv_time(k->fn, k->grid, k->l.block, k->l.dsmem, args, reps, &t[i])) return false;
    qsort(t, 9, sizeof *t, cmp_float);
    *ms = t[4];
    return true;
}

static FILE *csv;

static void report(const char *kind, const char *shape, const char *variant, double err, float ms, double rate,
                   const char *unit)
{
    printf("%-10s %-22s %-16s rel_l2 %.1e %s  %9.4f ms  %7.2f %s\n", kind, shape, variant, err,
           err <= 1e-2 ? "ok  " : "FAIL", ms, rate, unit);
    if (csv) fprintf(csv, "%s,\"%s\",\"%s\",%.3e,%.5f,%.4f,%s\n", kind, shape, variant, err, ms, rate, unit);
    fflush(stdout);
}

/* --- attention ----------------------------------------------------------------------------------------- */

typedef struct {
    int b, h, s, d;
} AttnShape;

/* Relative L2 error of sampled query rows against a double reference. */
static double attn_check(const AttnShape *a, bool causal, const Buf *q, const Buf *k, const Buf *v, const Buf *o)
{
    double num = 0, den = 0, scale = 1.0 / sqrt((double)a->d);
    double *p = malloc(sizeof(double) * (size_t)a->s), *acc = malloc(sizeof(double) * (size_t)a->d);
    for (int t = 0; t < 48; t++) {
        /* rows spread over the sequence, the first and last included */
        int bb = (int)(urand() * a->b), hh = (int)(urand() * a->h);
        int i = t == 0 ? 0 : t == 1 ? a->s - 1 : (int)(urand() * a->s);
        size_t head = ((size_t)bb * a->h + hh) * a->s;
        int n = causal ? i + 1 : a->s;
        double m = -INFINITY, sum = 0;
        for (int j = 0; j < n; j++) {
            double dot = 0;
            for (int e = 0; e < a->d; e++)
                dot += (double)h2f(q->h[(head + i) * a->d + e]) * h2f(k->h[(head + j) * a->d + e]);
            p[j] = dot * scale;
            m = p[j] > m ? p[j] : m;
        }
        for (int e = 0; e < a->d; e++) acc[e] = 0;
        for (int j = 0; j < n; j++) {
            p[j] = exp(p[j] - m);
            sum += p[j];
            for (int e = 0; e < a->d; e++) acc[e] += p[j] * h2f(v->h[(head + j) * a->d + e]);
        }
        for (int e = 0; e < a->d; e++) {
            double want = acc[e] / sum, got = h2f(o->h[(head + i) * a->d + e]);
            num += (got - want) * (got - want), den += want * want;
            if (got != got) num = INFINITY;
        }
    }
    free(p), free(acc);
    return sqrt(num / (den > 0 ? den : 1));
}

static bool bench_attention(const AttnShape *a, bool causal, const CudaAttnTiles *tiles, NvrtcCache *cache)
{
    char ir[1024], shape[64], variant[64];
    snprintf(ir, sizeof ir,
             "graph g\nopset \"\" 23\ninput %%q: f16[%d, %d, %d, %d]\ninput %%k: f16[%d, %d, %d, %d]\n"
             "input %%v: f16[%d, %d, %d, %d]\n%%o: f16[%d, %d, %d, %d] = Attention(%%q, %%k, %%v)%s\noutput %%o\n",
             a->b, a->h, a->s, a->d, a->b, a->h, a->s, a->d, a->b, a->h, a->s, a->d, a->b, a->h, a->s, a->d,
             causal ? " {is_causal=1}" : "");
    snprintf(shape, sizeof shape, "%d,%d,%d,%d%s", a->b, a->h, a->s, a->d, causal ? " causal" : "");
    Kern kn;
    if (!kern_build(&kn, ir, tiles, cache)) {
        fprintf(stderr, "bench: attention %s: no kernel (%s)\n", shape, rt_error());
        kern_free(&kn);
        return false;
    }
    const KirAttn *at = &kn.plan.groups.v[0].attn;
    CudaAttnTiles t = tiles ? *tiles : (CudaAttnTiles){0, 0, 0};
    if (!tiles) {
        /* the emitter's choice, read back from the launch rule */
        t.bm = kn.l.per[2], t.warps = kn.l.block[0] / 32;
        t.bn = (unsigned)(kn.l.dsmem / 2 - t.bm * at->head) / (unsigned)(at->head + at->vhead);
    }
    snprintf(variant, sizeof variant, "%ux%u/%uw%s", t.bm, t.bn, t.warps, tiles ? "" : " (default)");
    size_t n = (size_t)a->b * a->h * a->s * a->d;
    Buf q = {0}, k = {0}, v = {0}, o = {0};
    bool ok = buf_random(&q, n, -1, 1) && buf_random(&k, n, -1, 1) && buf_random(&v, n, -1, 1) && buf_out(&o, n);
    void *args[4] = {&q.d, &k.d, &v.d, &o.d};
    float ms = 0;
    ok = ok && cudrv_launch(kn.fn, kn.grid, kn.l.block, kn.l.dsmem, args, NULL) && cudrv_dtoh(o.h, o.d, n * 2);
    double err = ok ? attn_check(a, causal, &q, &k, &v, &o) : INFINITY;
    ok = ok && time_kernel(&kn, args, &ms);
    if (ok) {
        double flop = 4.0 * a->b * a->h * (double)a->s * a->s * a->d * (causal ? 0.5 : 1.0);
        report("attention", shape, variant, err, ms, flop / (ms * 1e-3) / 1e12, "TFLOP/s");
    } else {
        fprintf(stderr, "bench: attention %s %s: %s\n", shape, variant, rt_error());
    }
    buf_free(&q), buf_free(&k), buf_free(&v), buf_free(&o);
    kern_free(&kn);
    return ok && err <= 1e-2;
}

/* --- row kernels and bias + GELU ------------------------------------------------------------------------ */

typedef enum { R_LAYERNORM, R_RMSNORM, R_SOFTMAX, R_BIAS_GELU } RowOp;
static const char *const row_names[] = {"layernorm", "rmsnorm", "softmax", "bias_gelu"};

static double row_check(RowOp op, int rows, int cols, const Buf *x, const Buf *w, const Buf *bias, const Buf *y)
{
    double num = 0, den = 0;
    double *r = malloc(sizeof(double) * (size_t)cols);
    for (int t = 0; t < 64; t++) {
        size_t row = t == 0 ? 0 : t == 1 ? (size_t)rows - 1 : (size_t)(urand() * rows), base = row * (size_t)cols;
        double s = 0, q = 0, m = -INFINITY;
        for (int c = 0; c < cols; c++) r[c] = h2f(x->h[base + c]), s += r[c], m = r[c] > m ? r[c] : m;
        double mean = s / cols;
        for (int c = 0; c < cols; c++) q += op == R_LAYERNORM ? (r[c] - mean) * (r[c] - mean) : r[c] * r[c];
        double e = 0;
        if (op == R_SOFTMAX)
            for (int c = 0; c < cols; c++) e += exp(r[c] - m);
        for (int c = 0; c < cols; c++) {
            double want;
            switch (op) {
            case R_LAYERNORM: want = (r[c] - mean) / sqrt(q / cols + 1e-5) * h2f(w->h[c]) + h2f(bias->h[c]); break;
            case R_RMSNORM: want = r[c] / sqrt(q / cols + 1e-6) * h2f(w->h[c]); break;
            case R_SOFTMAX: want = exp(r[c] - m) / e; break;
            default: {
                double h = r[c] + h2f(bias->h[c]);
                want = 0.5 * h * (1 + erf(h / sqrt(2.0)));
            }
            }
            double got = h2f(y->h[base + c]);
            num += (got - want) * (got - want), den += want * want;
            if (got != got) num = INFINITY;
        }
    }
    free(r);
    return sqrt(num / (den > 0 ? den : 1));
}

static bool bench_row(RowOp op, int rows, int cols, NvrtcCache *cache)
{
    char ir[1024], shape[64];
    const char *hdr = "graph g\nopset \"\" 23\n";
    switch (op) {
    case R_LAYERNORM:
        snprintf(ir, sizeof ir,
                 "%sinput %%x: f16[%d, %d]\ninput %%w: f16[%d]\ninput %%b: f16[%d]\n"
                 "%%y: f16[%d, %d] = LayerNormalization(%%x, %%w, %%b) {axis=-1, epsilon=1e-05}\noutput %%y\n",
                 hdr, rows, cols, cols, cols, rows, cols);
        break;
    case R_RMSNORM:
        snprintf(ir, sizeof ir,
                 "%sinput %%x: f16[%d, %d]\ninput %%w: f16[%d]\n"
                 "%%y: f16[%d, %d] = RMSNormalization(%%x, %%w) {axis=-1, epsilon=1e-06}\noutput %%y\n",
                 hdr, rows, cols, cols, rows, cols);
        break;
    case R_SOFTMAX:
        snprintf(ir, sizeof ir, "%sinput %%x: f16[%d, %d]\n%%y: f16[%d, %d] = Softmax(%%x) {axis=-1}\noutput %%y\n", hdr,
                 rows, cols, rows, cols);
        break;
    case R_BIAS_GELU:
        snprintf(ir, sizeof ir,
                 "%sinput %%x: f16[%d, %d]\ninput %%b: f16[%d]\n%%h: f16[%d, %d] = Add(%%x, %%b)\n"
                 "%%y: f16[%d, %d] = Gelu(%%h) {approximate=\"none\"}\noutput %%y\n",
                 hdr, rows, cols, cols, rows, cols, rows, cols);
        break;
    }
    snprintf(shape, sizeof shape, "%d,%d", rows, cols);
    Kern kn;
    if (!kern_build(&kn, ir, NULL, cache)) {
        fprintf(stderr, "bench: %s %s: no kernel (%s)\n", row_names[op], shape, rt_error());
        kern_free(&kn);
        return false;
    }
    size_t n = (size_t)rows * cols;
    Buf x = {0}, w = {0}, b = {0}, y = {0};
    bool ok = buf_random(&x, n, op == R_SOFTMAX ? -8 : -3, op == R_SOFTMAX ? 8 : 3) &&
              buf_random(&w, (size_t)cols, 0.5, 1.5) && buf_random(&b, (size_t)cols, -1, 1) && buf_out(&y, n);
    /* the group's arguments in its order: x, then the weight and/or bias it reads, then out */
    void *args[4];
    int na = 0;
    args[na++] = &x.d;
    if (op == R_LAYERNORM || op == R_RMSNORM) args[na++] = &w.d;
    if (op == R_LAYERNORM || op == R_BIAS_GELU) args[na++] = &b.d;
    args[na++] = &y.d;
    ok = ok && (int)kn.plan.groups.v[0].args.n == na && kn.plan.groups.v[0].syms.n == 0;
    float ms = 0;
    ok = ok && cudrv_launch(kn.fn, kn.grid, kn.l.block, kn.l.dsmem, args, NULL) && cudrv_dtoh(y.h, y.d, n * 2);
    double err = ok ? row_check(op, rows, cols, &x, &w, &b, &y) : INFINITY;
    ok = ok && time_kernel(&kn, args, &ms);
    if (ok) {
        char variant[64];
        snprintf(variant, sizeof variant, "%s %ux%u", kir_kind_name(&kn.plan.groups.v[0]), kn.l.block[0], kn.l.block[1]);
        report(row_names[op], shape, variant, err, ms, 2.0 * n * 2 / (ms * 1e-3) / 1e12, "TB/s");
    } else {
        fprintf(stderr, "bench: %s %s: %s\n", row_names[op], shape, rt_error());
    }
    buf_free(&x), buf_free(&w), buf_free(&b), buf_free(&y);
    kern_free(&kn);
    return ok && err <= 1e-2;
}

int main(int argc, char **argv)
{
    bool quick = false, tiles = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "--tiles") == 0) tiles = true;
        else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) csv = fopen(argv[++i], "w");
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump_dir = argv[++i];
        else {
            fprintf(stderr, "usage: m2c_bench_kernels [--quick] [--tiles] [--csv FILE] [--dump DIR]\n");
            return 2;
        }
    }
    if (!nvrtc_load() || !cudrv_load()) {
        fprintf(stderr, "bench: %s\n", rt_error());
        return 3;
    }
    int nmaj, nmin;
    nvrtc_version(&nmaj, &nmin);
    printf("device: %s (sm_%d); NVRTC %d.%d\n", cudrv_device_name(), cudrv_arch(), nmaj, nmin);
    if (csv) fprintf(csv, "kind,shape,variant,rel_l2,ms,rate,unit\n");
    rng ^= (uint64_t)time(NULL);
    NvrtcCache *cache = nvrtc_cache_new();
    bool ok = true;
    static const AttnShape shapes[] = {{8, 16, 512, 64}, {4, 16, 2048, 64}, {2, 16, 4096, 128}};
    /* other tile shapes worth a look, per head size */
    static const CudaAttnTiles alt64[] = {{128, 64, 4}, {64, 64, 4}, {128, 64, 8}, {128, 128, 8}};
    static const CudaAttnTiles alt128[] = {{128, 32, 4}, {64, 64, 4}, {128, 64, 8}, {64, 32, 4}};
    for (int s = 0; s < (quick ? 1 : 3); s++)
        for (int c = 0; c < 2; c++) {
            ok = bench_attention(&shapes[s], c, NULL, cache) && ok;
            const CudaAttnTiles *alt = shapes[s].d <= 64 ? alt64 : alt128;
            for (int t = 0; tiles && t < 4; t++) ok = bench_attention(&shapes[s], c, &alt[t], cache) && ok;
        }
    static const int rshape[2][2] = {{8192, 4096}, {16384, 11008}};
    for (int s = 0; s < (quick ? 1 : 2); s++)
        for (int op = 0; op < 4; op++) ok = bench_row((RowOp)op, rshape[s][0], rshape[s][1], cache) && ok;
    nvrtc_cache_free(cache);
    if (csv) fclose(csv);
    printf("%s\n", ok ? "all checks passed" : "SOME CHECKS FAILED");
    return ok ? 0 : 4;
}
