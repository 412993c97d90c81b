/* backends/cuda/cuda_impl.h — what the CUDA emitters of backends/cuda/ share (private to it). */
#ifndef CUDA_IMPL_H
#define CUDA_IMPL_H

#include "cuda.h"

/* CUDA source lines at the current indentation (four spaces). */
typedef struct {
    M2cBuf *buf;
    int indent;
    IrGraph *g;
    const KirGroup *k;
    const CudaAttnTiles *tiles;   /* attention tiles asked for (NULL: the emitter's choice) */
} CuOut;

void cu_line(CuOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);
void cu_open(CuOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);    /* the line, then one level deeper */
void cu_close(CuOut *o, const char *fmt, ...) M2C_PRINTF(2, 3);   /* one level up, then the line */
void cu_text(CuOut *o, const char *text);   /* lines of fixed text (templates), each at the current indentation */

const char *cu_dim(CuOut *o, IrDim d);          /* a dim as a C expression of long longs (arena string) */
void cu_signature(CuOut *o, unsigned threads);  /* extern "C" __global__ ... ( */
/* Offsets `o<arg>` of the pointwise arguments that expression `root` reads, at element `idx` of the space. */
void cu_offsets(CuOut *o, uint32_t root, const char *idx);
/* Emits the expressions reachable from root; leaves read pointwise argument a as `leaf[a]` (NULL: the
 * default m2c_ld(in<a>, o<a>)) and ACC as `acc`.  Returns the C variable holding root. */
const char *cu_dag(CuOut *o, uint32_t root, const char *const *leaf, const char *acc);
bool cu_uses_arg(const KirGroup *k, uint32_t root, int arg);
const char *cu_store(CuOut *o, const char *idx, const char *var, uint32_t root);   /* m2c_st(out, idx, var) */

/* The kinds, emit_*.c: the kernel body after the signature; the launch rule. */
void cu_emit_eltwise(CuOut *o, CudaLaunch *l);    /* eltwise and GEMM epilogue */
void cu_emit_row(CuOut *o, CudaLaunch *l);
void cu_emit_rope(CuOut *o, CudaLaunch *l);
void cu_emit_dwconv(CuOut *o, CudaLaunch *l);
void cu_emit_attention(CuOut *o, CudaLaunch *l);

#endif
