/* backends/llvm/aot.c — ahead of time: a model's groups compiled into one static library, one object per CPU
 * variant, every kernel under the symbol <prefix><kernel>__<variant>.
 *
 * The portable default is two variants, x86-64-v2 (SSE4.2: every x86-64 CPU since 2009) and x86-64-v3 (AVX2,
 * FMA, F16C: Haswell/Zen and later), and the caller picks one at run time from the CPU's features
 * (llvm_cpu_features lists what a variant needs; the crate's wrappers test them with is_x86_feature_detected).
 * Why both: the kernels are mostly memory-bound, where SSE is nearly as fast, but attention, norms and the
 * polynomial math are not, and AVX2+FMA roughly halves their time; one library that runs everywhere and uses
 * the wider units where they exist costs only a second compile of each kernel.  `native` (or any CPU name)
 * builds one variant for that CPU alone.
 *
 * Groups whose IR is the same but for the name (the same block in every layer) are compiled once; the others
 * become aliases of it. */
#include "llvm.h"

#include <stdlib.h>
#include <string.h>

const char *llvm_cpu_suffix(M2cArena *a, const char *cpu)
{
    char *s = m2c_strdup(a, cpu);
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) *p = '_';
    return s;
}

const char *llvm_aot_symbol(M2cArena *a, const char *prefix, const char *kernel, const char *cpu)
{
    return m2c_sprintf(a, "%s%s__%s", prefix ? prefix : "", kernel, llvm_cpu_suffix(a, cpu));
}

const char *const *llvm_cpu_features(const char *cpu, uint32_t *n)
{
    /* the x86-64 psABI levels; a variant for a named CPU needs that CPU (no check: the caller chose it) */
    static const char *const v2[] = {"sse4.2", "popcnt", "ssse3"};
    static const char *const v3[] = {"sse4.2", "popcnt", "avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt", "movbe"};
    static const char *const v4[] = {"sse4.2", "popcnt", "avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt",
                                     "movbe", "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"};
    if (strcmp(cpu, "x86-64-v2") == 0) return *n = sizeof v2 / sizeof *v2, v2;
    if (strcmp(cpu, "x86-64-v3") == 0) return *n = sizeof v3 / sizeof *v3, v3;
    if (strcmp(cpu, "x86-64-v4") == 0) return *n = sizeof v4 / sizeof *v4, v4;
    *n = 0;
    return NULL;
}

/* For each group: the first group with the same IR (itself if none). */
static uint32_t *dedup(IrGraph *g, const KirGroup *ks, uint32_t n)
{
    uint32_t *first = malloc((n ? n : 1) * sizeof *first);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    LLVMContextRef cx = LLVMContextCreate();
    for (uint32_t i = 0; i < n; i++) {
        LLVMModuleRef m = LLVMModuleCreateWithNameInContext("m2c", cx);
        first[i] = i;
        if (llvm_emit(g, &ks[i], m, "kernel")) {
            keys[i] = llvm_module_text(m);
            for (uint32_t j = 0; j < i; j++)
                if (keys[j] && strcmp(keys[j], keys[i]) == 0) {
                    first[i] = j;
                    break;
                }
        }
        LLVMDisposeModule(m);
    }
    for (uint32_t i = 0; i < n; i++) free(keys[i]);
    free(keys);
    LLVMContextDispose(cx);
    return first;
}

bool llvm_aot_library(IrGraph *g, const KirGroup *ks, uint32_t n, const LlvmAotOptions *o, const char *path)
{
    uint32_t *first = dedup(g, ks, n);
    LlvmArMember *mem = calloc(o->ncpus ? o->ncpus : 1, sizeof *mem);
    char **objs = calloc(o->ncpus ? o->ncpus : 1, sizeof *objs);
    bool ok = true;
    for (uint32_t v = 0; v < o->ncpus && ok; v++) {
        const char *cpu = o->cpus[v];
        LLVMTargetMachineRef tm = llvm_target_machine(cpu);
        if (!tm) {
            ok = false;
            break;
        }
        LLVMContextRef cx = LLVMContextCreate();
        LLVMModuleRef m = LLVMModuleCreateWithNameInContext(m2c_sprintf(g->arena, "m2c_%s", llvm_cpu_suffix(g->arena, cpu)), cx);
        const char **syms = m2c_alloc_array(g->arena, n ? n : 1, sizeof *syms);
        for (uint32_t i = 0; i < n && ok; i++) {
            syms[i] = llvm_aot_symbol(g->arena, o->prefix, ks[i].name, cpu);
            if (first[i] == i) ok = llvm_emit(g, &ks[i], m, syms[i]);
        }
        for (uint32_t i = 0; i < n && ok; i++) {
            if (first[i] == i) continue;
            LLVMValueRef target = LLVMGetNamedFunction(m, syms[first[i]]);
            LLVMAddAlias2(m, LLVMGlobalGetValueType(target), 0, target, syms[i]);
        }
        ok = ok && llvm_optimize(m, tm, o->opt_level ? o->opt_level : 3);
        if (ok && o->ll_prefix) {
            char *text = llvm_module_text(m);
            const char *ll = m2c_sprintf(g->arena, "%s.%s.ll", o->ll_prefix, cpu);
            FILE *f = fopen(ll, "wb");
            ok = f && fputs(text, f) >= 0;
            if (f && fclose(f) != 0) ok = false;
            if (!ok) llvm_set_error("cannot write '%s'", ll);
            free(text);
        }
        size_t len = 0;
        ok = ok && llvm_emit_object(m, tm, &objs[v], &len);
        mem[v] = (LlvmArMember){m2c_sprintf(g->arena, "k%u.o", v), objs[v], len, syms, n};
        LLVMDisposeModule(m);
        LLVMContextDispose(cx);
        LLVMDisposeTargetMachine(tm);
    }
    ok = ok && llvm_write_archive(path, mem, o->ncpus);
    for (uint32_t v = 0; v < o->ncpus; v++) free(objs[v]);
    free(objs), free(mem), free(first);
    return ok;
}
