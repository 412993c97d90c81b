/* backends/candle/kernels.h — what kernels.c (the plan, the call sites in the model's code) shares with a
 * kernel target (kernels_cuda.c: CUDA C, PTX by NVRTC, the CustomOp launcher; kernels_cpu.c: a static library
 * by the LLVM backend).  A target turns a fused group
 * into a source text; groups whose sources are equal but for the kernel's name share one kernel. */
#ifndef CG_KERNELS_H
#define CG_KERNELS_H

#include "cg.h"
#include "cuda.h"

typedef struct {
    const char *name;          /* the entry point: its first group's name */
    const char *cname;         /* the Rust constant: LAYERNORM_1 */
    uint32_t group;            /* its first group */
    char *src;                 /* the target's source text (CUDA C) */
    const char *key;           /* the source with the name masked, for sharing */
    char *bin[2];              /* what it compiles to, one per architecture (CUDA: PTX for sm_80, sm_90) */
    CudaLaunch launch;         /* CUDA: the launch rule */
    bool used;                 /* some call site launches it */
} CgKernel;

struct CgKernels {
    CgKernelTarget target;
    KirPlan plan;
    uint32_t *group_of_node;   /* per node: group index + 1, 0 if none */
    uint32_t *kernel_of;       /* per group: its kernel, UINT32_MAX if it stays candle code */
    bool *replaced;            /* per group: the model's code launches its kernel */
    bool linear_product, bias; /* the call sites use these helpers of src/fused.rs */
    M2C_VEC(CgKernel) kernels;
    void *state;               /* the target's own while preparing (CUDA: the NVRTC cache) */
    const char *crate;         /* the crate's name (CPU: the library's name and symbol prefix) */
};

/* kernels.c */
const char *cg_kernel_group_ops(IrGraph *g, const KirGroup *k);   /* "Add, LayerNormalization" */

/* kernels_cuda.c — the CUDA target */
bool cg_cuda_kernels_init(CgKernels *K);                               /* false after reporting */
bool cg_cuda_kernel_source(IrGraph *g, const KirGroup *k, CgKernel *kn);   /* src, launch; false: no kernel */
bool cg_cuda_kernel_compile(CgKernels *K, CgKernel *kn);               /* bin[]; false after reporting */
void cg_cuda_kernels_done(CgKernels *K);                               /* frees K->state */
const char *cg_cuda_kernels_rust(CgKernels *K, IrGraph *g);            /* src/fused.rs */
bool cg_cuda_kernels_write(CgKernels *K, IrGraph *g, const char *dir); /* DIR/src/kernels/ */
const char *cg_cuda_kernels_summary(CgKernels *K, IrGraph *g);
/* shared with the CPU target: a kernel's `pub const` in src/fused.rs; text without the Rust item starting
 * with sig (and its doc comment) */
void cg_kernel_const(CgKernels *K, IrGraph *g, const CgKernel *kn, CgOut *o);
const char *cg_drop_item(M2cArena *a, const char *text, const char *sig);

/* kernels_cpu.c — the CPU target: the same kernels (CUDA C is their identity and gives the Rust constants)
 * compiled by the LLVM backend when the crate is written, into kernels/lib<crate>_kernels.a and build.rs */
bool cg_cpu_kernels_init(CgKernels *K);                                /* false after reporting */
const char *cg_cpu_kernels_rust(CgKernels *K, IrGraph *g);             /* src/fused.rs */
bool cg_cpu_kernels_write(CgKernels *K, IrGraph *g, const char *dir);  /* DIR/kernels/, DIR/build.rs */
const char *cg_cpu_kernels_summary(CgKernels *K, IrGraph *g);

#endif
