/* backends/llvm/llvm.h — kernel IR → LLVM IR → native CPU code: table of contents of backends/llvm/.
 *
 * Every group of the kernel IR (backends/kir) becomes one function with one C ABI, the same for the JIT
 * (`validate --device cpu`, `run --engine llvm`) and for the static library (`kernels --target cpu`, the crate's
 * `--kernels cpu`):
 *
 *   void NAME(void *const *args, const int64_t *syms, int64_t part, int64_t nparts);
 *
 *   args    the group's arguments in order (inputs, then out): contiguous row-major storage of each argument's
 *           dtype (f16/bf16 as their 16-bit patterns, bool as one byte); for a GEMM epilogue the x·W input is
 *           the caller's matmul result, as for the CUDA kernels
 *   syms    one int64 per runtime symbol, in the group's `syms` order (sorted by name)
 *   part    the kernel does part `part` of `nparts` equal shares of its outer work (rows, chunks of elements,
 *           query blocks), so a caller runs parts 0..nparts-1 on as many threads as it likes, or part 0 of 1
 *
 * The loops are written for LLVM's loop vectorizer: the arguments reach an inner function as `noalias`
 * pointers; axes that every argument reads contiguously (or not at all) are merged so the innermost loop is
 * long and unit-stride; f16/bf16 are converted with integer operations (no libcall, so they vectorize on any
 * x86-64); float sums and maxima carry `llvm.loop.vectorize.enable`, which lets the vectorizer reorder them.
 * Everything is computed in f32 (floats) or i64 (ints, bools) as the kernel IR says.  exp, log, tanh, erf and
 * the activations built on them are our own f32 polynomials (math.c): vectorizable and the same bits under JIT
 * and AOT; the rare ones (sin, tan, pow, ...) call libm.
 *
 * Errors are returned, never fatal: a false/NULL return leaves a one-line reason in llvm_error().
 */
#ifndef M2C_LLVM_H
#define M2C_LLVM_H

#include "kir.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

typedef void (*LlvmKernelFn)(void *const *args, const int64_t *syms, int64_t part, int64_t nparts);

const char *llvm_error(void);
void llvm_set_error(const char *fmt, ...) M2C_PRINTF(1, 2);

/*
 * emit.c — one group as a function of module m (kinds: emit_elt.c, emit_misc.c, emit_attn.c; math: math.c)
 */
/* Adds `fname` (the ABI above) and its internal helpers to m; false if a dtype has no CPU form. */
bool llvm_emit(IrGraph *g, const KirGroup *k, LLVMModuleRef m, const char *fname);

/*
 * target.c — targets, the optimization pipeline, objects
 */
bool llvm_init(void);   /* the native target, once; false if LLVM has no backend for this machine */
/* A target machine for `cpu`: "native" (this machine's CPU and features) or an LLVM CPU name such as
 * "x86-64-v2", "x86-64-v3", "znver3"; position-independent code (the crate links into PIE executables). */
LLVMTargetMachineRef llvm_target_machine(const char *cpu);
bool llvm_cpu_known(const char *cpu);                  /* an LLVM CPU name for the native target, or "native" */
/* The new pass manager's default<O3> (level 3) or default<O2>, for tm's data layout and triple. */
bool llvm_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int level);
/* The module as an object file in memory (malloc'd bytes in *obj). */
bool llvm_emit_object(LLVMModuleRef m, LLVMTargetMachineRef tm, char **obj, size_t *len);
char *llvm_module_text(LLVMModuleRef m);               /* the IR text, malloc'd */

/*
 * jit.c — ORC LLJIT: groups compiled for this machine (or a named CPU) and looked up as function pointers
 */
typedef struct LlvmJit LlvmJit;
LlvmJit *llvm_jit_new(const char *cpu);                /* NULL: llvm_error() says why */
void llvm_jit_free(LlvmJit *j);
const char *llvm_jit_cpu(const LlvmJit *j);            /* the CPU name code is generated for */
/* Emits, optimizes (O3) and JIT-compiles group k.  A group whose optimized IR equals an earlier one but for
 * its name (the same block in another layer) reuses that code.  NULL on failure. */
LlvmKernelFn llvm_jit_compile(LlvmJit *j, IrGraph *g, const KirGroup *k);

/*
 * aot.c — a model's groups as one static library, one object per CPU variant (the default pair and why: aot.c)
 */
typedef struct {
    const char *const *cpus;   /* variants: LLVM CPU names or "native" */
    uint32_t ncpus;
    const char *prefix;        /* symbol prefix ("" or NULL: none) */
    int opt_level;             /* 0: O3 */
    const char *ll_prefix;     /* also write the optimized IR to <ll_prefix>.<cpu>.ll (NULL: no) */
} LlvmAotOptions;
/* The groups (retyped as wanted) compiled for every variant into the archive at `path`. */
bool llvm_aot_library(IrGraph *g, const KirGroup *ks, uint32_t n, const LlvmAotOptions *o, const char *path);
const char *llvm_aot_symbol(M2cArena *a, const char *prefix, const char *kernel, const char *cpu);
/* The library's C header: `what` (its first line), the ABI, per kernel its arguments, sizes and prototypes. */
void llvm_aot_header(IrGraph *g, const KirGroup *ks, uint32_t n, const LlvmAotOptions *o, const char *what, M2cBuf *h);
const char *llvm_cpu_suffix(M2cArena *a, const char *cpu);    /* "x86-64-v3" -> "x86_64_v3" */
/* The x86 features (is_x86_feature_detected names) a psABI-level variant needs; NULL for other CPU names. */
const char *const *llvm_cpu_features(const char *cpu, uint32_t *n);

/*
 * archive.c — a static library (ar format with a symbol index, as GNU ld and lld want it)
 */
typedef struct {
    const char *name;          /* member file name, < 16 characters is not required (GNU long names) */
    const char *data;
    size_t len;
    const char *const *syms;   /* global symbols it defines */
    uint32_t nsyms;
} LlvmArMember;
bool llvm_write_archive(const char *path, const LlvmArMember *m, uint32_t n);

#endif
