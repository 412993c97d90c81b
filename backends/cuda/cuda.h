/* backends/cuda/cuda.h — kernel IR → CUDA C: table of contents of backends/cuda/.
 *
 * One `extern "C" __global__` kernel per group, in a translation unit of its own that includes only our
 * prelude (m2c_prelude.cuh, prelude.c): NVRTC has no CUDA headers, so f16/bf16 are 16-bit storage types
 * converted with the PTX instructions cuda_fp16.h would use.  The same source builds with nvcc.
 *
 * Argument layout of every kernel (the manifest spells it out per kernel):
 *   the inputs in the group's order (`in0`, `in1`, ...: device pointers to contiguous row-major tensors of the
 *   argument's dtype), then `out` (the one output, contiguous), then one `long long` per runtime symbol in the
 *   group's `syms` order (sorted by name).
 * Launch geometry: block sizes are constants per kind; grid dims are symbolic dims (CudaLaunch), evaluated
 * with the symbols' values (cuda_launch_eval).  Kernels loop where the grid does not cover the work, so any
 * grid of at least one block is correct; the rule gives the one they are tuned for.
 */
#ifndef CUDA_H
#define CUDA_H

#include "kir.h"

typedef struct {
    IrDim work[3];             /* grid dim i = ceil(work[i] / per[i]) */
    unsigned per[3];
    unsigned block[3];
    unsigned smem;             /* static shared memory in bytes (informational: the kernel declares it) */
} CudaLaunch;

/* emit.c */
/* The whole translation unit of group k into src (appended); its launch rule in *launch. */
bool cuda_emit(IrGraph *g, const KirGroup *k, M2cBuf *src, CudaLaunch *launch);
/* grid dims under concrete symbol values; false if a symbol is unbound or a dim is not positive */
bool cuda_launch_eval(const IrGraph *g, const CudaLaunch *l, const KirBind *b, unsigned grid[3]);
const char *cuda_ctype(IrDType t);   /* the C type a tensor of t is passed as */
const char *cuda_launch_rule(IrGraph *g, const CudaLaunch *l, int axis);   /* "ceil(batch*seq / 1024)" */

/* prelude.c */
extern const char cuda_prelude_name[];    /* "m2c_prelude.cuh" */
extern const char cuda_prelude_text[];

#endif
