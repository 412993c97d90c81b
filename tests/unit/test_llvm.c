/* tests/unit/test_llvm.c — the LLVM backend below the validator: the math and the 16-bit conversions at the
 * values random inputs never reach, the validator's own power to fail, and the sharing of work between parts.
 *
 *   - exp, log, tanh, erf, sigmoid, expm1 (ELU), log1p (Softplus) as JIT-compiled kernels on ±0, ±inf, NaN,
 *     subnormals, the overflow and underflow edges and a sweep of finite values, against libm in double;
 *   - f16 → f32 for all 65536 bit patterns, f32 → f16 and → bf16 for a million bit patterns spread over the
 *     whole range (every rounding case), bit-exact against ir/dtype.c;
 *   - the validator with a device that writes nothing: every kernel fails (outputs are poisoned);
 *   - a kernel run with one of its 4 parts left out: every kernel's output has holes, so its work really is
 *     shared; all parts run: every kernel passes. */
#include "check.h"
#include "llvm.h"
#include "passes.h"
#include "runtime.h"

#include <math.h>
#include <stdlib.h>

static IrGraph *graph(const char *text)
{
    IrGraph *g = ir_parse(text, "test_llvm");
    CHECK(g != NULL);
    if (g) CHECK(pass_run_pipeline(g, NULL));
    return g;
}

static const char *const math_graph =
    "graph g\n"
    "opset \"\" 17\n"
    "input %x: f32[n]\n"
    "%e: f32[n] = Exp(%x)\n"
    "%l: f32[n] = Log(%x)\n"
    "%t: f32[n] = Tanh(%x)\n"
    "%r: f32[n] = Erf(%x)\n"
    "%s: f32[n] = Sigmoid(%x)\n"
    "%u: f32[n] = Elu(%x) {alpha=1.0}\n"
    "%p: f32[n] = Softplus(%x)\n"
    "output %e\noutput %l\noutput %t\noutput %r\noutput %s\noutput %u\noutput %p\n";

static double ref_math(int i, double x)
{
    switch (i) {
    case 0: return exp(x);
    case 1: return log(x);
    case 2: return tanh(x);
    case 3: return erf(x);
    case 4: return 1 / (1 + exp(-x));
    case 5: return x >= 0 ? x : expm1(x);
    default: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    }
}

static void test_math(LlvmJit *j)
{
    enum { N = 4096 };
    static float x[N], y[N];
    static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-45f, -1e-45f, 1e-40f, 1.17549435e-38f,
                                    88.7f, 88.73f, 89.0f, -87.3f, -103.9f, -110.0f, 1e30f, -1e30f, 0.3125f, 0.99999f,
                                    1.0f, 3.95f, -3.95f, 1e-7f, -1e-7f, 0.5f, -0.5f, 20.0f, -20.0f};
    int ns = (int)(sizeof special / sizeof *special);
    for (int i = 0; i < N; i++) x[i] = i < ns ? special[i] : (float)(((i * 7919) % 20000) - 10000) * 0.00131f;
    IrGraph *g = graph(math_graph);
    if (!g) return;
    KirPlan plan;
    kir_plan(g, &plan);
    CHECK_EQ_INT(plan.groups.n, 7);
    const char *names[7] = {"exp", "log", "tanh", "erf", "sigmoid", "elu", "softplus"};
    for (uint32_t gi = 0; gi < plan.groups.n && gi < 7; gi++) {
        LlvmKernelFn fn = llvm_jit_compile(j, g, &plan.groups.v[gi]);
        CHECK(fn != NULL);
        if (!fn) continue;
        void *args[2] = {x, y};
        int64_t n = N;
        fn(args, &n, 0, 1);
        /* the groups come in graph order: the op is the group's index */
        double worst = 0;
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double want = ref_math((int)gi, x[i]), got = y[i];
            float wf = (float)want;
            if (isnan(wf) || isinf(wf) || isnan(got) || isinf(got)) {
                if (!((isnan(wf) && isnan(got)) || wf == got)) bad++, fprintf(stderr, "%s(%g) = %g, want %g\n", names[gi], x[i], got, want);
                continue;
            }
            /* relative, with an absolute floor at the smallest normal float (results below it are subnormal) */
            double err = fabs(got - want) / fmax(fabs(want), 1.17549435e-38);
            if (err > worst) worst = err;
            if (err > 2e-6) bad++, fprintf(stderr, "%s(%.9g) = %.9g, want %.9g (rel %.2e)\n", names[gi], x[i], got, want, err);
        }
        fprintf(stderr, "  %-8s worst relative error %.2e over %d inputs\n", names[gi], worst, N);
        CHECK_EQ_INT(bad, 0);
    }
    ir_graph_free(g);
}

static void test_f16(LlvmJit *j)
{
    IrGraph *g = graph("graph g\nopset \"\" 17\ninput %h: f16[n]\ninput %x: f32[n]\n"
                       "%f: f32[n] = Cast(%h) {to=1}\n%xh: f16[n] = Cast(%x) {to=10}\n%xb: bf16[n] = Cast(%x) {to=16}\n"
                       "output %f\noutput %xh\noutput %xb\n");
    if (!g) return;
    KirPlan plan;
    kir_plan(g, &plan);
    CHECK_EQ_INT(plan.groups.n, 3);
    if (plan.groups.n != 3) return;
    LlvmKernelFn h2f = llvm_jit_compile(j, g, &plan.groups.v[0]), f2h = llvm_jit_compile(j, g, &plan.groups.v[1]);
    LlvmKernelFn f2b = llvm_jit_compile(j, g, &plan.groups.v[2]);
    CHECK(h2f && f2h && f2b);
    if (!h2f || !f2h || !f2b) return;
    enum { NH = 65536, NF = 1 << 20 };
    uint16_t *h = malloc(NH * sizeof *h), *hh = malloc(NF * sizeof *hh), *bb = malloc(NF * sizeof *bb);
    float *f = malloc(NH * sizeof *f), *x = malloc(NF * sizeof *x);
    for (int i = 0; i < NH; i++) h[i] = (uint16_t)i;
    int64_t n = NH;
    void *a0[2] = {h, f};
    h2f(a0, &n, 0, 1);
    int bad = 0;
    for (int i = 0; i < NH; i++) {
        float want = ir_f16_to_f32((uint16_t)i);
        if (isnan(want) ? !isnan(f[i]) : memcmp(&want, &f[i], 4) != 0) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    /* f32 bit patterns: a stride that is odd and not a power of two visits every mantissa tail and exponent */
    for (uint32_t i = 0; i < NF; i++) {
        uint32_t b = i * 4099u + (i >> 7);
        memcpy(&x[i], &b, 4);
    }
    n = NF;
    void *a1[2] = {x, hh}, *a2[2] = {x, bb};
    f2h(a1, &n, 0, 1);
    f2b(a2, &n, 0, 1);
    int badh = 0, badb = 0;
    for (uint32_t i = 0; i < NF; i++) {
        if (isnan(x[i])) {
            badh += (hh[i] & 0x7c00) != 0x7c00 || !(hh[i] & 0x3ff);
            badb += (bb[i] & 0x7f80) != 0x7f80 || !(bb[i] & 0x7f);
            continue;
        }
        badh += hh[i] != ir_f32_to_f16(x[i]);
        badb += bb[i] != ir_f32_to_bf16(x[i]);
    }
    CHECK_EQ_INT(badh, 0);
    CHECK_EQ_INT(badb, 0);
    free(h), free(hh), free(bb), free(f), free(x);
    ir_graph_free(g);
}

/* A graph with a group of every kind, sized so each kernel's work has at least 4 shares. */
static const char *const kinds_graph =
    "graph g\n"
    "opset \"\" 23\n"
    "input %x: f32[batch, seq, 64]\n"
    "param %w: f32[64, 64]\n"
    "param %b: f32[64]\n"
    "param %gam: f32[64]\n"
    "input %q: f32[batch, 4, seq, 16]\n"
    "input %k: f32[batch, 2, seq, 16]\n"
    "input %v: f32[batch, 2, seq, 16]\n"
    "input %cos: f32[1, seq, 8]\n"
    "input %sin: f32[1, seq, 8]\n"
    "input %c: f32[batch, 16, seq]\n"
    "param %cw: f32[16, 1, 3]\n"
    "%h: f32[batch, seq, 64] = ml2candle::Linear(%x, %w, %b) {trans_w=0}\n"
    "%a: f32[batch, seq, 64] = Gelu(%h) {approximate=\"tanh\"}\n"
    "%n: f32[batch, seq, 64] = RMSNormalization(%a, %gam) {axis=-1, epsilon=1e-06}\n"
    "%s: f32[batch, seq, 64] = Softmax(%n) {axis=-1}\n"
    "%qr: f32[batch, 4, seq, 16] = RotaryEmbedding(%q, %cos, %sin) {interleaved=0}\n"
    "%o: f32[batch, 4, seq, 16] = Attention(%qr, %k, %v) {is_causal=1}\n"
    "%cv: f32[batch, 16, seq] = Conv(%c, %cw) {group=16, kernel_shape=[3], pads=[1, 1]}\n"
    "%cr: f32[batch, 16, seq] = Relu(%cv)\n"
    "output %s\noutput %o\noutput %cr\n";

/* A device that writes nothing, and one that runs a JIT kernel's parts 0, 1, 2 of 4 (or all of them). */
typedef struct {
    LlvmJit *jit;
    bool skip_last;
} Fake;

static int run_nothing(RtDevice *d, IrGraph *g, const KirGroup *k, void *const *args, const uint64_t *numel,
                       const int64_t *syms, float *ms, char *why, size_t nwhy)
{
    (void)d, (void)g, (void)k, (void)args, (void)numel, (void)syms, (void)why, (void)nwhy;
    *ms = 0;
    return 1;
}

static int run_parts(RtDevice *d, IrGraph *g, const KirGroup *k, void *const *args, const uint64_t *numel,
                     const int64_t *syms, float *ms, char *why, size_t nwhy)
{
    Fake *f = d->ctx;
    (void)numel;
    LlvmKernelFn fn = llvm_jit_compile(f->jit, g, k);
    if (!fn) {
        snprintf(why, nwhy, "%s", llvm_error());
        return 0;
    }
    for (int64_t p = 0; p < (f->skip_last ? 3 : 4); p++) fn(args, syms, p, 4);
    *ms = 0;
    return 1;
}

static void test_validator(LlvmJit *j)
{
    IrGraph *g = graph(kinds_graph);
    if (!g) return;
    KirPlan plan;
    kir_plan(g, &plan);
    CHECK_EQ_INT(plan.groups.n, 6);   /* epilogue+rmsnorm... as the planner groups them */
    static const char *names[1] = {"seq"};
    static int64_t vals[1] = {40};
    FILE *devnull = fopen("/dev/null", "w");
    RtValidateOptions opt = {DT_UNDEF, {1, names, vals}, 11, NULL, devnull};
    RtValidateReport rep;
    Fake f = {j, false};
    RtDevice nothing = {"nothing", &f, run_nothing}, parts = {"parts", &f, run_parts};
    CHECK(rt_validate(g, &plan, &opt, &nothing, &rep));
    CHECK(rep.kernels == plan.groups.n && rep.failed == rep.kernels);
    CHECK(rt_validate(g, &plan, &opt, &parts, &rep));
    CHECK(rep.kernels == plan.groups.n && rep.passed == rep.kernels);
    f.skip_last = true;
    CHECK(rt_validate(g, &plan, &opt, &parts, &rep));
    CHECK(rep.kernels == plan.groups.n && rep.failed == rep.kernels);
    opt.dtype = DT_BF16;
    f.skip_last = false;
    CHECK(rt_validate(g, &plan, &opt, &parts, &rep));
    CHECK(rep.kernels == plan.groups.n && rep.passed == rep.kernels);
    fclose(devnull);
    ir_graph_free(g);
}

int main(void)
{
    m2c_diag_reset("test_llvm");
    LlvmJit *j = llvm_jit_new("native");
    CHECK(j != NULL);
    if (!j) {
        fprintf(stderr, "%s\n", llvm_error());
        CHECK_DONE();
    }
    test_math(j);
    test_f16(j);
    test_validator(j);
    llvm_jit_free(j);
    CHECK_DONE();
}
