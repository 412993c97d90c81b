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
 * grid of at least one block is correct; the rule gives the one they are tuned for.  A kernel may need
 * dynamic shared memory (`dsmem` bytes, passed at launch; above 48 KiB the function's
 * CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES must be raised to it first, as runtime/cudadrv.c does).
 * Tensor pointers must be 16-byte aligned (what cuMemAlloc and candle's allocations give): the tensor-core
 * attention copies 16-byte chunks; the other kinds test alignment and keep a scalar path.
 */
#ifndef CUDA_H
#define CUDA_H

#include "kir.h"

typedef struct {
    IrDim work[3];             /* grid dim i = ceil(work[i] / per[i]) */
    unsigned per[3];
    unsigned block[3];
    unsigned smem;             /* static shared memory in bytes (informational: the kernel declares it) */
    unsigned dsmem;            /* dynamic shared memory in bytes the launch must pass (0: none) */
} CudaLaunch;

/* Tile shape of the tensor-core attention kernel: query rows per block (a multiple of 16·warps), keys per
 * tile (a multiple of 16), warps per block.  Zeros: the emitter's choice; benchmarks try others. */
typedef struct {
    unsigned bm, bn, warps;
} CudaAttnTiles;

/* emit.c */
/* The whole translation unit of group k into src (appended); its launch rule in *launch. */
bool cuda_emit(IrGraph *g, const KirGroup *k, M2cBuf *src, CudaLaunch *launch);
/* The same with the attention tiles chosen by the caller (NULL: the emitter's choice). */
bool cuda_emit_tiles(IrGraph *g, const KirGroup *k, const CudaAttnTiles *tiles, M2cBuf *src, CudaLaunch *launch);
/* grid dims under concrete symbol values; false if a symbol is unbound or a dim is not positive */
bool cuda_launch_eval(const IrGraph *g, const CudaLaunch *l, const KirBind *b, unsigned grid[3]);
const char *cuda_ctype(IrDType t);   /* the C type a tensor of t is passed as */
const char *cuda_launch_rule(IrGraph *g, const CudaLaunch *l, int axis);   /* "ceil(batch*seq / 1024)" */

/* prelude.c */
extern const char cuda_prelude_name[];    /* "m2c_prelude.cuh" */
extern const char cuda_prelude_text[];

#endif
