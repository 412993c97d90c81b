/* runtime/cpu.c — the LLVM backend's JIT (backends/llvm) as a device of the validator and the model runner: a
 * group is compiled on first use (the JIT caches equal kernels), then its parts run one after the other on this
 * thread or at once on `threads` threads.  Without the LLVM backend built in, every entry point says so. */
#include "runtime.h"

#include <stdlib.h>

#ifdef M2C_HAVE_LLVM
#include "llvm.h"

#include <llvm/Config/llvm-config.h>
#include <pthread.h>
#include <time.h>

typedef struct {
    RtDevice dev;
    LlvmJit *jit;
    int threads, parts;
    char desc[256];
} CpuDev;

typedef struct {
    LlvmKernelFn fn;
    void *const *args;
    const int64_t *syms;
    int64_t part, nparts, stride;
} Work;

static void *worker(void *arg)
{
    Work *w = arg;
    for (int64_t p = w->part; p < w->nparts; p += w->stride) w->fn(w->args, w->syms, p, w->nparts);
    return NULL;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cpu_run(RtDevice *d, IrGraph *g, const KirGroup *k, void *const *args, const uint64_t *numel,
                   const int64_t *syms, float *ms, char *why, size_t nwhy)
{
    CpuDev *c = d->ctx;
    LlvmKernelFn fn = llvm_jit_compile(c->jit, g, k);
    if (!fn) {
        snprintf(why, nwhy, "%s", llvm_error());
        return 0;
    }
    double t0 = now_ms();
    int nt = c->threads < c->parts ? c->threads : c->parts;
    pthread_t th[64];
    Work w[64];
    bool started[64] = {0};
    for (int t = 0; t < nt; t++) w[t] = (Work){fn, args, syms, t, c->parts, nt};
    for (int t = 1; t < nt; t++) started[t] = pthread_create(&th[t], NULL, worker, &w[t]) == 0;
    /* this thread takes share 0 and those of any thread that could not start */
    for (int t = 0; t < nt; t++)
        if (!started[t]) worker(&w[t]);
    for (int t = 1; t < nt; t++)
        if (started[t]) pthread_join(th[t], NULL);
    if (ms) *ms = (float)(now_ms() - t0);
    return 1;
}

RtDevice *rt_cpu_new(const char *cpu, int threads, int parts)
{
    if (!llvm_cpu_known(cpu)) {
        rt_set_error("unknown CPU '%s' (native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4 or an LLVM CPU name)", cpu);
        return NULL;
    }
    LlvmJit *j = llvm_jit_new(cpu);
    if (!j) {
        rt_set_error("LLVM JIT: %s", llvm_error());
        return NULL;
    }
    CpuDev *c = calloc(1, sizeof *c);
    c->jit = j;
    c->threads = threads < 1 ? 1 : threads > 64 ? 64 : threads;
    c->parts = parts < 1 ? 1 : parts;
    snprintf(c->desc, sizeof c->desc, "LLVM %s JIT, CPU %s, %d part%s on %d thread%s", LLVM_VERSION_STRING,
             llvm_jit_cpu(j), c->parts, c->parts == 1 ? "" : "s", c->threads, c->threads == 1 ? "" : "s");
    c->dev = (RtDevice){"cpu", c, cpu_run};
    return &c->dev;
}

const char *rt_cpu_describe(RtDevice *d) { return ((CpuDev *)d->ctx)->desc; }

void rt_cpu_free(RtDevice *d)
{
    if (!d) return;
    CpuDev *c = d->ctx;
    llvm_jit_free(c->jit);
    free(c);
}

#else

RtDevice *rt_cpu_new(const char *cpu, int threads, int parts)
{
    (void)cpu, (void)threads, (void)parts;
    rt_set_error("the LLVM backend is not built in (configure with -DML2CANDLE_LLVM=ON and llvm-14-dev)");
    return NULL;
}

const char *rt_cpu_describe(RtDevice *d) { return d ? d->name : "?"; }
void rt_cpu_free(RtDevice *d) { (void)d; }

#endif
