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

static void dims_text(IrGraph *g, int rank, const IrDim *d, M2cBuf *b)
{
    m2c_buf_putc(b, '[');
    for (int i = 0; i < rank; i++) {
        if (i) m2c_buf_puts(b, ", ");
        ir_dim_print(g, d[i], b);
    }
    m2c_buf_putc(b, ']');
}

void llvm_aot_header(IrGraph *g, const KirGroup *ks, uint32_t n, const LlvmAotOptions *o, const char *what, M2cBuf *h)
{
    m2c_buf_printf(h, "/* %s\n", what);
    m2c_buf_puts(h, " *\n"
                    " * The ABI, the same for every kernel and every ml2candle version:\n"
                    " *\n"
                    " *     void NAME__VARIANT(void *const *args, const int64_t *syms, int64_t part, int64_t nparts);\n"
                    " *\n"
                    " * args    the inputs in the order the comment above each kernel lists them, then the output:\n"
                    " *         contiguous row-major buffers of the argument's dtype (f32 as float; f16/bf16 as uint16_t\n"
                    " *         bits; bool as one byte, 0 or 1; i64 as int64_t).  Inputs are only read; the output is\n"
                    " *         written whole and never read.  An input `= x·Wᵀ of NODE` is a GEMM epilogue's product,\n"
                    " *         computed by the caller without the bias.\n"
                    " * syms    the sizes the kernel takes, int64_t, in the order listed.\n"
                    " * part, nparts  the call computes share `part` of `nparts` equal shares of the kernel's outer work\n"
                    " *         (rows, chunks of elements, blocks of query rows); nparts >= 1 is the caller's choice (a\n"
                    " *         share may be empty).  Shares write disjoint parts of the output and share nothing else,\n"
                    " *         so parts 0..nparts-1 may run at once on as many threads, or one after the other.  The\n"
                    " *         kernels start no threads, allocate nothing and keep no state: threading is the caller's\n"
                    " *         (a generated crate runs the shares on candle's rayon pool).  Scratch is on the calling\n"
                    " *         thread's stack, under 256 KiB.\n"
                    " * VARIANT one object per CPU in the library; the caller checks at run time that the CPU has what\n"
                    " *         a variant needs (x86_64_v3: AVX2, FMA, F16C, BMI1/2, LZCNT, MOVBE; x86_64_v2: SSE4.2,\n"
                    " *         POPCNT, SSSE3) and calls the best one.\n"
                    " */\n"
                    "#include <stdint.h>\n");
    for (uint32_t i = 0; i < n; i++) {
        const KirGroup *k = &ks[i];
        m2c_buf_printf(h, "\n/* %s (%s):", k->name, kir_kind_name(k));
        for (uint32_t a = 0; a < k->args.n; a++) {
            const KirArg *arg = &k->args.v[a];
            m2c_buf_printf(h, "%s %s %s", a ? "," : "", arg->name, ir_dtype_name(arg->dtype));
            dims_text(g, arg->rank, arg->dims, h);
            if (arg->src == KIR_SRC_GEMM_ACC) {
                const IrNode *lin = ir_node(g, arg->node);
                m2c_buf_printf(h, " = x·Wᵀ of %s", lin->loc.node && lin->loc.node[0] ? lin->loc.node : "its Linear");
            }
        }
        m2c_buf_puts(h, "; sizes:");
        for (uint32_t s = 0; s < k->syms.n; s++) m2c_buf_printf(h, "%s %s", s ? "," : "", k->syms.v[s].name);
        if (!k->syms.n) m2c_buf_puts(h, " none");
        m2c_buf_puts(h, " */\n");
        for (uint32_t v = 0; v < o->ncpus; v++)
            m2c_buf_printf(h, "void %s(void *const *args, const int64_t *syms, int64_t part, int64_t nparts);\n",
                           llvm_aot_symbol(g->arena, o->prefix, k->name, o->cpus[v]));
    }
}
