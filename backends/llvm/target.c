/* backends/llvm/target.c — LLVM's native target, target machines for a named CPU, the optimization pipeline
 * (the new pass manager's default<O3> through LLVMRunPasses), object files, and the backend's error slot. */
#include "llvm.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdlib.h>
#include <string.h>

static char llvm_err[1024];

const char *llvm_error(void) { return llvm_err; }

void llvm_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(llvm_err, sizeof llvm_err, fmt, ap);
    va_end(ap);
}

bool llvm_init(void)
{
    static int state;   /* 0 not tried, 1 ready, -1 failed */
    if (state == 0)
        state = LLVMInitializeNativeTarget() || LLVMInitializeNativeAsmPrinter() || LLVMInitializeNativeAsmParser() ? -1 : 1;
    if (state < 0) llvm_set_error("LLVM has no code generator for this machine");
    return state > 0;
}

/* x86-64 CPU names LLVM 14 knows (LLVM only warns on an unknown one and falls back to a generic CPU, which
 * would silently build slow code): the psABI levels and the common server and desktop families. */
static const char *const x86_cpus[] = {
    "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "nehalem", "westmere", "sandybridge", "ivybridge", "haswell",
    "broadwell", "skylake", "skylake-avx512", "cascadelake", "cooperlake", "cannonlake", "icelake-client",
    "icelake-server", "tigerlake", "sapphirerapids", "alderlake", "znver1", "znver2", "znver3", "btver2", "bdver4",
};

bool llvm_cpu_known(const char *cpu)
{
    if (strcmp(cpu, "native") == 0) return true;
    char *triple = LLVMGetDefaultTargetTriple();
    bool x86 = strncmp(triple, "x86_64", 6) == 0;
    LLVMDisposeMessage(triple);
    if (!x86) return true;   /* no list for other targets: LLVM's warning is all there is */
    for (size_t i = 0; i < sizeof x86_cpus / sizeof *x86_cpus; i++)
        if (strcmp(cpu, x86_cpus[i]) == 0) return true;
    return false;
}

LLVMTargetMachineRef llvm_target_machine(const char *cpu)
{
    if (!llvm_init()) return NULL;
    char *triple = LLVMGetDefaultTargetTriple(), *err = NULL;
    LLVMTargetRef t;
    if (LLVMGetTargetFromTriple(triple, &t, &err)) {
        llvm_set_error("no LLVM target for %s: %s", triple, err ? err : "?");
        LLVMDisposeMessage(err);
        LLVMDisposeMessage(triple);
        return NULL;
    }
    bool native = strcmp(cpu, "native") == 0;
    char *hcpu = native ? LLVMGetHostCPUName() : NULL, *hfeat = native ? LLVMGetHostCPUFeatures() : NULL;
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, triple, native ? hcpu : cpu, native ? hfeat : "",
                                                      LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
    if (native) LLVMDisposeMessage(hcpu), LLVMDisposeMessage(hfeat);
    LLVMDisposeMessage(triple);
    if (!tm) llvm_set_error("LLVM cannot make a target machine for CPU '%s'", cpu);
    return tm;
}

bool llvm_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int level)
{
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        /* an emitter bug: say which, rather than let the optimizer crash on it */
        llvm_set_error("invalid LLVM IR emitted: %.900s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return false;
    }
    LLVMDisposeMessage(msg);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, dl);
    LLVMDisposeTargetData(dl);
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMPassBuilderOptionsRef opt = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opt, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opt, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(opt, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(opt, 1);
    LLVMErrorRef e = LLVMRunPasses(m, level >= 3 ? "default<O3>" : "default<O2>", tm, opt);
    LLVMDisposePassBuilderOptions(opt);
    if (e) {
        char *s = LLVMGetErrorMessage(e);
        llvm_set_error("LLVM optimization failed: %s", s);
        LLVMDisposeErrorMessage(s);
        return false;
    }
    return true;
}

bool llvm_emit_object(LLVMModuleRef m, LLVMTargetMachineRef tm, char **obj, size_t *len)
{
    char *err = NULL;
    LLVMMemoryBufferRef buf = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &err, &buf)) {
        llvm_set_error("LLVM code generation failed: %s", err ? err : "?");
        LLVMDisposeMessage(err);
        return false;
    }
    *len = LLVMGetBufferSize(buf);
    *obj = malloc(*len ? *len : 1);
    memcpy(*obj, LLVMGetBufferStart(buf), *len);
    LLVMDisposeMemoryBuffer(buf);
    return true;
}

char *llvm_module_text(LLVMModuleRef m)
{
    char *s = LLVMPrintModuleToString(m);
    char *r = strdup(s);
    LLVMDisposeMessage(s);
    return r;
}
