/* runtime/ref/ref_impl.h — what the reference evaluator's op families share: the evaluation context,
 * failure reporting, output allocation under the byte budget, typed element access and broadcasting.
 * Private to runtime/ref/; the public interface is ref.h. */
#ifndef REF_IMPL_H
#define REF_IMPL_H

#include "ref.h"

/* One node being evaluated. */
typedef struct {
    IrGraph *g;
    const IrNode *n;
    const IrTensor *const *in;
    IrTensor **out;
    uint64_t budget;         /* output bytes still allowed */
    double work;             /* multiply-adds (or like steps) allowed */
    RefStatus *st;
} RefCx;

/*
 * ref.c — context helpers
 */
bool ref_fail(RefCx *c, const char *fmt, ...) M2C_PRINTF(2, 3);     /* records the reason; returns false */
const IrTensor *ref_in(RefCx *c, uint32_t i);                        /* NULL when omitted or absent */
const IrTensor *ref_need(RefCx *c, uint32_t i);                      /* NULL after ref_fail when missing */
IrTensor *ref_new(RefCx *c, IrDType t, int rank, const int64_t *shape);   /* zeroed; NULL after ref_fail */
IrTensor *ref_view(RefCx *c, const IrTensor *src, int rank, const int64_t *shape);   /* same bytes */
void ref_set_out(RefCx *c, uint32_t i, IrTensor *t);                 /* ignored when the node has no slot i */
void *ref_scratch(RefCx *c, uint64_t n, size_t esz);                 /* malloc'd, NULL after ref_fail */
bool ref_work(RefCx *c, double steps);                               /* false after ref_fail when over the limit */
bool ref_axis(RefCx *c, int64_t axis, int rank, int *out);           /* [-rank, rank) -> [0, rank) */
/* An integer tensor's contents (axes, pads, shapes...), at most max of them. */
bool ref_ints(RefCx *c, const IrTensor *t, int64_t *out, uint32_t max, uint32_t *n);
/* An integer list from input i, or from attribute attr when the input is absent (opsets before it became an
 * input).  *present tells whether either was given. */
bool ref_int_list(RefCx *c, uint32_t i, const char *attr, int64_t *out, uint32_t max, uint32_t *n, bool *present);
bool ref_check_dtype(RefCx *c, const IrTensor *t);                   /* a dtype we compute with, data present */
bool ref_same_dtype(RefCx *c, const IrTensor *a, const IrTensor *b);

bool ref_numel(RefCx *c, int rank, const int64_t *shape, uint64_t *out);   /* fails on negative or overflow */
void ref_strides(int rank, const int64_t *shape, int64_t *strides);       /* row-major, in elements */
void ref_copy_dims(int64_t *dst, const IrTensor *t);                      /* t's shape (a scalar has none) */
bool ref_is_float(IrDType t);
bool ref_is_int(IrDType t);                                          /* integer or bool */

/* Element access.  Floats are read exactly and written rounded once (round-to-odd through f32 so f16 and
 * bf16 results are correctly rounded from double); integers wrap to the output width. */
double ref_get(const IrTensor *t, uint64_t i);
int64_t ref_geti(const IrTensor *t, uint64_t i);
void ref_put(IrTensor *t, uint64_t i, double v);
void ref_puti(IrTensor *t, uint64_t i, int64_t v);
void ref_copy_elem(IrTensor *dst, uint64_t di, const IrTensor *src, uint64_t si);
double *ref_to_f64(RefCx *c, const IrTensor *t);                     /* all elements, malloc'd; NULL after ref_fail */
bool ref_elem_lt(const IrTensor *t, uint64_t i, uint64_t j);         /* t[i] < t[j] in t's own order */

/* Multidirectional (numpy) broadcasting of up to nin inputs, walked in output order. */
typedef struct {
    int rank;
    int64_t shape[IR_MAX_RANK];
    uint64_t numel;
    int nin;
    int64_t (*strides)[IR_MAX_RANK];  /* per input, 0 along broadcast axes */
    uint64_t *off;                    /* per input: element offset of the current output element */
    int64_t idx[IR_MAX_RANK];
} RefBcast;
bool ref_bcast_init(RefCx *c, RefBcast *b, int nin, const IrTensor *const *ts);
void ref_bcast_next(RefBcast *b);
void ref_bcast_free(RefBcast *b);

/*
 * Op families: each returns false after ref_fail.
 */
/* ref_eltwise.c */
bool ref_unary(RefCx *c);
bool ref_binary(RefCx *c);
bool ref_gated_act(RefCx *c);
bool ref_variadic(RefCx *c);
bool ref_where(RefCx *c);
bool ref_cast(RefCx *c);
bool ref_clip(RefCx *c);
bool ref_dropout(RefCx *c);
double ref_gelu(double x, bool tanh_approx);
/* ref_shape.c */
/* dst (contiguous, of `shape`)[idx] = src[base + sum(idx[i] * sstrides[i])] */
void ref_strided_copy(IrTensor *dst, const IrTensor *src, int rank, const int64_t *shape, const int64_t *sstrides,
                      int64_t base);
bool ref_shape_op(RefCx *c);          /* Shape, Size */
bool ref_reshape(RefCx *c);           /* Reshape, Flatten, Squeeze, Unsqueeze, Identity */
bool ref_transpose(RefCx *c);
bool ref_concat(RefCx *c);
bool ref_split(RefCx *c);
bool ref_slice(RefCx *c);
bool ref_expand(RefCx *c);
bool ref_tile(RefCx *c);
bool ref_pad(RefCx *c);
bool ref_space_depth(RefCx *c);       /* DepthToSpace, SpaceToDepth */
/* ref_index.c */
bool ref_gather(RefCx *c);
bool ref_gather_elements(RefCx *c);
bool ref_gather_nd(RefCx *c);
bool ref_scatter_elements(RefCx *c);
bool ref_scatter_nd(RefCx *c);
bool ref_constant(RefCx *c);
bool ref_constant_of_shape(RefCx *c);
bool ref_range(RefCx *c);
bool ref_trilu(RefCx *c);
bool ref_eye_like(RefCx *c);
bool ref_one_hot(RefCx *c);
bool ref_non_zero(RefCx *c);
/* ref_reduce.c */
bool ref_reduce(RefCx *c);
bool ref_arg_minmax(RefCx *c);
bool ref_cumsum(RefCx *c);
bool ref_topk(RefCx *c);
bool ref_softmax(RefCx *c);           /* Softmax, LogSoftmax, Hardmax */
/* ref_nn.c */
bool ref_matmul(RefCx *c);
bool ref_linear(RefCx *c);
bool ref_gemm(RefCx *c);
bool ref_einsum(RefCx *c);
bool ref_norm(RefCx *c);              /* LayerNormalization, RMSNormalization and the contrib forms */
bool ref_batch_norm(RefCx *c);
bool ref_instance_norm(RefCx *c);
bool ref_group_norm(RefCx *c);
/* ref_attn.c */
bool ref_attention(RefCx *c);
bool ref_rotary(RefCx *c);            /* RotaryEmbedding, ONNX and com.microsoft */
/* ref_dft.c */
bool ref_dft(RefCx *c);
bool ref_stft(RefCx *c);
/* ref_conv.c */
bool ref_conv(RefCx *c);
bool ref_conv_transpose(RefCx *c);
bool ref_col2im(RefCx *c);
bool ref_pool(RefCx *c);              /* AveragePool, MaxPool */
bool ref_global_pool(RefCx *c);
bool ref_resize(RefCx *c);
/* ref_extra.c */
bool ref_loss(RefCx *c);              /* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss */
bool ref_bit_shift(RefCx *c);
bool ref_cumprod(RefCx *c);
bool ref_lp_norm(RefCx *c);
bool ref_mvn(RefCx *c);
bool ref_lrn(RefCx *c);
bool ref_lp_pool(RefCx *c);
bool ref_window(RefCx *c);            /* HannWindow, HammingWindow, BlackmanWindow */
/* ref_extra_index.c */
bool ref_reverse_sequence(RefCx *c);
bool ref_compress(RefCx *c);
bool ref_center_crop_pad(RefCx *c);
bool ref_det(RefCx *c);
bool ref_affine_grid(RefCx *c);
bool ref_grid_sample(RefCx *c);

#endif
