/* backends/candle/lower_nn.h — table of contents of the layers family (lower_nn*.c), private to it.
 *
 * emit.c routes every layer op to cg_lower_nn (lower_nn.c), which dispatches to the files below, so the
 * family can grow without touching the shared header.  The small helpers shared by those files (f32
 * literals, axis tuples, window geometry) live in lower_nn.c under the cg_nn_ prefix.
 */
#ifndef LOWER_NN_H
#define LOWER_NN_H

#include "cg.h"

/* lower_nn.c — shared pieces */
const IrValue *cg_nn_val(CgFn *f, uint32_t v);
const char *cg_nn_f32(CgFn *f, double v);                       /* "1e-5": an f32 literal that reads back exactly */
const char *cg_nn_axes(CgFn *f, int from, int to);              /* "2" or "(2, 3)": dims [from, to) */
bool cg_nn_output_used(CgFn *f, const IrNode *n, uint32_t i);   /* output i exists and something reads it */
const char *cg_nn_arg(CgFn *f, const char *recv);                /* a receiver as a &Tensor argument: "x" or "&x" */
const char *cg_nn_matmul(CgFn *f, const char *a, const char *b, IrDType t);   /* "a.matmul(&b)?" for any dtype */
const char *cg_nn_dim_as(CgFn *f, IrDim d, const char *ty);    /* "4u32" or "(seq + 1) as u32" (no literal casts) */
const char *cg_nn_ones_shape(CgFn *f, int rank, int axis, IrDim d);  /* "(1, c, 1)": d at axis, 1 elsewhere */

/* A size the generated code needs: a constant, or a Rust usize expression computed at run time. */
typedef struct {
    int64_t c;
    const char *rs;      /* NULL: the constant c */
} CgSize;
const char *cg_nn_size(CgFn *f, CgSize s);                      /* Rust text of s */

/* Window geometry shared by Conv, ConvTranspose and the pools, per spatial axis.  Conv and the pools
 * resolve auto_pad here (SAME on a symbolic length with a stride > 1 gives a run-time padding). */
typedef struct {
    int ns;                                  /* spatial rank */
    int64_t k[IR_MAX_RANK], stride[IR_MAX_RANK], dil[IR_MAX_RANK];
    CgSize lo[IR_MAX_RANK], hi[IR_MAX_RANK];  /* padding before and after */
    const char *auto_pad;
} CgWindow;
/* k: the kernel sizes (NULL: from kernel_shape).  False after reporting what is not supported. */
bool cg_nn_window(CgFn *f, const IrNode *n, const IrValue *x, const int64_t *k, CgWindow *w);
bool cg_nn_pads_zero(const CgWindow *w);
/* Pads x (the Rust expression of a tensor of rank 2 + ns) on every spatial axis whose padding is not zero:
 * with zeros, or with `fill` (an f64 Rust literal) through the pad_const helper.  Returns the padded local. */
const char *cg_nn_pad_spatial(CgFn *f, const char *x, const CgWindow *w, const char *fill);
/* Strided slice along `axis`: `count` elements from `start`, every `step`-th.  Returns an expression. */
const char *cg_nn_take_every(CgFn *f, const char *x, int axis, const char *start, const char *count, int64_t step);

/* lower_conv.c */
bool cg_lower_conv(CgFn *f, const IrNode *n);          /* Conv */
bool cg_lower_conv_transpose(CgFn *f, const IrNode *n);

/* lower_pool.c */
bool cg_lower_pool(CgFn *f, const IrNode *n);          /* AveragePool, MaxPool, Global*Pool */

/* lower_norm.c */
bool cg_lower_norm(CgFn *f, const IrNode *n);          /* Batch/Instance/Group/Layer/RMS norms, com.microsoft norms */

/* lower_attention.c */
bool cg_lower_attention(CgFn *f, const IrNode *n);     /* Attention-23 */
bool cg_lower_rotary(CgFn *f, const IrNode *n);        /* RotaryEmbedding-23 and com.microsoft */

/* lower_resize.c */
bool cg_lower_resize(CgFn *f, const IrNode *n);

/* lower_einsum.c */
bool cg_lower_einsum(CgFn *f, const IrNode *n);

#endif
