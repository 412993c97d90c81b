/* tests/llvm/aot_main.c — links against a libm2c_kernels.a that `kernels --target cpu` built for the graph in
 * tests/llvm/aot.sh (y = 2·LayerNorm(x)·g + b over rows of 96) and checks each CPU variant this machine can
 * run against the same computation in double, with the work cut into 3 parts as a caller's threads would. */
#include "m2c_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*Kernel)(void *const *, const int64_t *, int64_t, int64_t);

static int check(const char *name, Kernel k, int64_t rows)
{
    enum { C = 96 };
    float *x = malloc(sizeof(float) * (size_t)(rows * C)), *y = malloc(sizeof(float) * (size_t)(rows * C));
    float g[C], b[C];
    for (int64_t i = 0; i < rows * C; i++) x[i] = (float)sin((double)i * 0.37) * 3.0f, y[i] = NAN;
    for (int c = 0; c < C; c++) g[c] = 1.0f + 0.01f * (float)c, b[c] = 0.1f * (float)(c % 7);
    void *args[4] = {x, g, b, y};
    int64_t syms[1] = {rows};
    for (int64_t p = 0; p < 3; p++) k(args, syms, p, 3);
    double worst = 0;
    for (int64_t r = 0; r < rows; r++) {
        double m = 0, v = 0;
        for (int c = 0; c < C; c++) m += x[r * C + c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[r * C + c] - m) * (x[r * C + c] - m);
        v /= C;
        for (int c = 0; c < C; c++) {
            double want = 2.0 * ((x[r * C + c] - m) / sqrt(v + 1e-5) * g[c] + b[c]);
            double d = fabs(y[r * C + c] - want) / (1 + fabs(want));
            if (!(d <= worst)) worst = d;   /* NaN (an element no part wrote) counts */
        }
    }
    printf("%-34s rows %-4lld max error %.2e %s\n", name, (long long)rows, worst, worst < 1e-5 ? "ok" : "FAIL");
    free(x), free(y);
    return worst < 1e-5 ? 0 : 1;
}

int main(void)
{
    int bad = 0;
    for (int64_t rows = 1; rows <= 37; rows += 36) {
        bad += check("m2c_layernorm_0__x86_64_v2", m2c_layernorm_0__x86_64_v2, rows);
#if defined(__x86_64__) && defined(__GNUC__)
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            bad += check("m2c_layernorm_0__x86_64_v3", m2c_layernorm_0__x86_64_v3, rows);
        else
            printf("m2c_layernorm_0__x86_64_v3: this CPU has no AVX2/FMA, not run\n");
#endif
    }
    return bad ? 1 : 0;
}
