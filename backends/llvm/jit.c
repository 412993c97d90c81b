/* backends/llvm/jit.c — ORC LLJIT: each group emitted into its own module, optimized at O3 for the JIT's CPU
 * and compiled on lookup.  Kernels equal but for their name (the same block in every layer) are compiled once:
 * the module is emitted under a fixed name, its text is the cache key, and only a miss is optimized and added
 * (under a fresh symbol, so modules never clash).  libm (sinf, powf, ...) resolves from the process. */
#include "llvm.h"

#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    LlvmKernelFn fn;
} JitEntry;

struct LlvmJit {
    LLVMOrcLLJITRef jit;
    LLVMOrcThreadSafeContextRef tsc;
    LLVMTargetMachineRef tm;   /* the optimizer's view of the target (the JIT owns its own copy) */
    char cpu[128];
    JitEntry *cache;
    uint32_t n, cap, serial;
};

static bool take_error(LLVMErrorRef e, const char *what)
{
    if (!e) return true;
    char *s = LLVMGetErrorMessage(e);
    llvm_set_error("%s: %s", what, s);
    LLVMDisposeErrorMessage(s);
    return false;
}

LlvmJit *llvm_jit_new(const char *cpu)
{
    if (!llvm_init()) return NULL;
    LlvmJit *j = calloc(1, sizeof *j);
    j->tm = llvm_target_machine(cpu);
    LLVMTargetMachineRef jtm = j->tm ? llvm_target_machine(cpu) : NULL;
    if (!jtm) {
        llvm_jit_free(j);
        return NULL;
    }
    char *c = LLVMGetTargetMachineCPU(j->tm);
    snprintf(j->cpu, sizeof j->cpu, "%s", c);
    LLVMDisposeMessage(c);
    LLVMOrcLLJITBuilderRef b = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(b, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jtm));
    if (!take_error(LLVMOrcCreateLLJIT(&j->jit, b), "cannot create the LLVM JIT")) {
        j->jit = NULL;
        llvm_jit_free(j);
        return NULL;
    }
    LLVMOrcDefinitionGeneratorRef gen;
    if (!take_error(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL,
                                                                          NULL),
                    "cannot make the process's symbols visible to the JIT")) {
        llvm_jit_free(j);
        return NULL;
    }
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
    j->tsc = LLVMOrcCreateNewThreadSafeContext();
    return j;
}

void llvm_jit_free(LlvmJit *j)
{
    if (!j) return;
    if (j->jit) LLVMOrcDisposeLLJIT(j->jit);
    if (j->tsc) LLVMOrcDisposeThreadSafeContext(j->tsc);
    if (j->tm) LLVMDisposeTargetMachine(j->tm);
    for (uint32_t i = 0; i < j->n; i++) free(j->cache[i].key);
    free(j->cache);
    free(j);
}

const char *llvm_jit_cpu(const LlvmJit *j) { return j->cpu; }

LlvmKernelFn llvm_jit_compile(LlvmJit *j, IrGraph *g, const KirGroup *k)
{
    LLVMContextRef cx = LLVMOrcThreadSafeContextGetContext(j->tsc);
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext("m2c", cx);
    if (!llvm_emit(g, k, m, "kernel")) {
        LLVMDisposeModule(m);
        return NULL;
    }
    char *key = llvm_module_text(m);
    for (uint32_t i = 0; i < j->n; i++)
        if (strcmp(j->cache[i].key, key) == 0) {
            free(key);
            LLVMDisposeModule(m);
            return j->cache[i].fn;
        }
    char name[64];
    snprintf(name, sizeof name, "m2c_jit_%u", j->serial++);
    LLVMSetValueName2(LLVMGetNamedFunction(m, "kernel"), name, strlen(name));
    if (!llvm_optimize(m, j->tm, 3)) {
        free(key);
        LLVMDisposeModule(m);
        return NULL;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, j->tsc);   /* owns m from here */
    LLVMOrcExecutorAddress addr = 0;
    if (!take_error(LLVMOrcLLJITAddLLVMIRModule(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), tsm), "JIT") ||
        !take_error(LLVMOrcLLJITLookup(j->jit, &addr, name), k->name)) {
        free(key);
        return NULL;
    }
    if (j->n == j->cap) {
        j->cap = j->cap ? 2 * j->cap : 16;
        j->cache = realloc(j->cache, j->cap * sizeof *j->cache);
    }
    LlvmKernelFn fn;
    memcpy(&fn, &addr, sizeof fn);   /* an address to a function pointer, without a cast C forbids */
    j->cache[j->n++] = (JitEntry){key, fn};
    return fn;
}
