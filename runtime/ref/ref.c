/* runtime/ref/ref.c — the reference evaluator's entry point: one switch over the op table sending each op to
 * its family (ref_eltwise.c, ref_shape.c, ref_index.c, ref_reduce.c, ref_nn.c, ref_attn.c, ref_dft.c,
 * ref_conv.c, ref_extra.c, ref_extra_index.c), and the helpers they share: failure reasons, budgeted
 * allocation, typed element access, broadcasting. */
#include "ref_impl.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static bool dispatch(RefCx *c)
{
    switch (c->n->op) {
    case IR_OP_ABS: case IR_OP_ACOS: case IR_OP_ACOSH: case IR_OP_ASIN: case IR_OP_ASINH: case IR_OP_ATAN:
    case IR_OP_ATANH: case IR_OP_BITWISE_NOT: case IR_OP_CEIL: case IR_OP_CELU: case IR_OP_COS: case IR_OP_COSH:
    case IR_OP_ELU: case IR_OP_ERF: case IR_OP_EXP: case IR_OP_FLOOR: case IR_OP_GELU: case IR_OP_HARD_SIGMOID:
    case IR_OP_HARD_SWISH: case IR_OP_IS_INF: case IR_OP_IS_NAN: case IR_OP_LEAKY_RELU: case IR_OP_LOG:
    case IR_OP_MISH: case IR_OP_NEG: case IR_OP_NOT: case IR_OP_RECIPROCAL: case IR_OP_RELU: case IR_OP_ROUND:
    case IR_OP_SELU: case IR_OP_SHRINK: case IR_OP_SIGMOID: case IR_OP_SIGN: case IR_OP_SIN: case IR_OP_SINH:
    case IR_OP_SOFTPLUS: case IR_OP_SOFTSIGN: case IR_OP_SQRT: case IR_OP_SWISH: case IR_OP_TAN: case IR_OP_TANH:
    case IR_OP_THRESHOLDED_RELU: case IR_OP_MS_GELU: case IR_OP_MS_FAST_GELU: case IR_OP_SILU:
    case IR_OP_QUICK_GELU:
        return ref_unary(c);
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV: case IR_OP_MOD: case IR_OP_POW:
    case IR_OP_AND: case IR_OP_OR: case IR_OP_XOR: case IR_OP_EQUAL: case IR_OP_LESS: case IR_OP_LESS_OR_EQUAL:
    case IR_OP_GREATER: case IR_OP_GREATER_OR_EQUAL: case IR_OP_BITWISE_AND: case IR_OP_BITWISE_OR:
    case IR_OP_BITWISE_XOR: case IR_OP_PRELU: case IR_OP_MS_BIAS_GELU:
        return ref_binary(c);
    case IR_OP_MAX: case IR_OP_MIN: case IR_OP_SUM: case IR_OP_MEAN:
        return ref_variadic(c);
    case IR_OP_GATED_ACT: return ref_gated_act(c);
    case IR_OP_KV_CACHE:   /* evaluated with an empty cache (seqlen_offset 0): the new keys and values */
        for (uint32_t i = 0; i < 2; i++) {
            const IrTensor *t = ref_need(c, i);
            int64_t shape[IR_MAX_RANK];
            if (!t) return false;
            ref_copy_dims(shape, t);
            IrTensor *y = ref_view(c, t, t->rank, shape);
            if (!y) return false;
            ref_set_out(c, i, y);
        }
        return true;
    case IR_OP_WHERE: return ref_where(c);
    case IR_OP_CAST: case IR_OP_CAST_LIKE: return ref_cast(c);
    case IR_OP_CLIP: return ref_clip(c);
    case IR_OP_DROPOUT: return ref_dropout(c);
    case IR_OP_SHAPE: case IR_OP_SIZE: return ref_shape_op(c);
    case IR_OP_RESHAPE: case IR_OP_FLATTEN: case IR_OP_SQUEEZE: case IR_OP_UNSQUEEZE: case IR_OP_IDENTITY:
        return ref_reshape(c);
    case IR_OP_TRANSPOSE: return ref_transpose(c);
    case IR_OP_CONCAT: return ref_concat(c);
    case IR_OP_SPLIT: return ref_split(c);
    case IR_OP_SLICE: return ref_slice(c);
    case IR_OP_EXPAND: return ref_expand(c);
    case IR_OP_TILE: return ref_tile(c);
    case IR_OP_PAD: return ref_pad(c);
    case IR_OP_DEPTH_TO_SPACE: case IR_OP_SPACE_TO_DEPTH: return ref_space_depth(c);
    case IR_OP_GATHER: return ref_gather(c);
    case IR_OP_GATHER_ELEMENTS: return ref_gather_elements(c);
    case IR_OP_GATHER_ND: return ref_gather_nd(c);
    case IR_OP_SCATTER_ELEMENTS: return ref_scatter_elements(c);
    case IR_OP_SCATTER_ND: return ref_scatter_nd(c);
    case IR_OP_CONSTANT: return ref_constant(c);
    case IR_OP_CONSTANT_OF_SHAPE: return ref_constant_of_shape(c);
    case IR_OP_RANGE: return ref_range(c);
    case IR_OP_TRILU: return ref_trilu(c);
    case IR_OP_EYE_LIKE: return ref_eye_like(c);
    case IR_OP_ONE_HOT: return ref_one_hot(c);
    case IR_OP_NON_ZERO: return ref_non_zero(c);
    case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP:
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_SUM_SQUARE:
        return ref_reduce(c);
    case IR_OP_ARGMAX: case IR_OP_ARGMIN: return ref_arg_minmax(c);
    case IR_OP_CUMSUM: return ref_cumsum(c);
    case IR_OP_TOPK: return ref_topk(c);
    case IR_OP_SOFTMAX: case IR_OP_LOG_SOFTMAX: case IR_OP_HARDMAX: return ref_softmax(c);
    case IR_OP_MATMUL: return ref_matmul(c);
    case IR_OP_LINEAR: return ref_linear(c);
    case IR_OP_GEMM: return ref_gemm(c);
    case IR_OP_EINSUM: return ref_einsum(c);
    case IR_OP_LAYER_NORM: case IR_OP_RMS_NORM: case IR_OP_MS_SIMPLIFIED_LAYER_NORM: case IR_OP_MS_SKIP_LAYER_NORM:
        return ref_norm(c);
    case IR_OP_BATCH_NORM: return ref_batch_norm(c);
    case IR_OP_INSTANCE_NORM: return ref_instance_norm(c);
    case IR_OP_GROUP_NORM: return ref_group_norm(c);
    case IR_OP_CONV: return ref_conv(c);
    case IR_OP_CONV_TRANSPOSE: return ref_conv_transpose(c);
    case IR_OP_COL2IM: return ref_col2im(c);
    case IR_OP_AVERAGE_POOL: case IR_OP_MAX_POOL: return ref_pool(c);
    case IR_OP_GLOBAL_AVERAGE_POOL: case IR_OP_GLOBAL_MAX_POOL: return ref_global_pool(c);
    case IR_OP_RESIZE: return ref_resize(c);
    case IR_OP_ATTENTION: return ref_attention(c);
    case IR_OP_DFT: return ref_dft(c);
    case IR_OP_STFT: return ref_stft(c);
    case IR_OP_ROTARY_EMBEDDING: case IR_OP_MS_ROTARY_EMBEDDING: return ref_rotary(c);
    case IR_OP_NLL_LOSS: case IR_OP_SCE_LOSS: return ref_loss(c);
    case IR_OP_BIT_SHIFT: return ref_bit_shift(c);
    case IR_OP_CUMPROD: return ref_cumprod(c);
    case IR_OP_LP_NORM: return ref_lp_norm(c);
    case IR_OP_MVN: return ref_mvn(c);
    case IR_OP_LRN: return ref_lrn(c);
    case IR_OP_LP_POOL: return ref_lp_pool(c);
    case IR_OP_HANN_WINDOW: case IR_OP_HAMMING_WINDOW: case IR_OP_BLACKMAN_WINDOW: return ref_window(c);
    case IR_OP_REVERSE_SEQUENCE: return ref_reverse_sequence(c);
    case IR_OP_COMPRESS: return ref_compress(c);
    case IR_OP_CENTER_CROP_PAD: return ref_center_crop_pad(c);
    case IR_OP_DET: return ref_det(c);
    case IR_OP_AFFINE_GRID: return ref_affine_grid(c);
    case IR_OP_GRID_SAMPLE: return ref_grid_sample(c);
    default:
        return ref_fail(c, "the reference evaluator does not implement %s", ir_op_name(c->n->op));
    }
}

bool ref_eval(IrGraph *g, const IrNode *n, const IrTensor *const *in, IrTensor **out, RefStatus *st)
{
    RefStatus local = {0};
    if (!st) st = &local;
    st->why[0] = 0;
    RefCx c = {g, n, in, out, st->max_bytes ? st->max_bytes : REF_MAX_BYTES, st->max_work > 0 ? st->max_work : INFINITY, st};
    for (uint32_t i = 0; i < n->nout; i++) out[i] = NULL;
    if (n->op >= IR_OP_COUNT) return ref_fail(&c, "unknown op %s", n->op_type ? n->op_type : "?");
    const IrOpInfo *info = &ir_op_info[n->op];
    if ((int)n->nin < info->in_min || (info->in_max >= 0 && (int)n->nin > info->in_max))
        return ref_fail(&c, "%s with %u inputs", ir_op_name(n->op), n->nin);
    if ((int)n->nout < info->out_min || (info->out_max >= 0 && (int)n->nout > info->out_max))
        return ref_fail(&c, "%s with %u outputs", ir_op_name(n->op), n->nout);
    for (uint32_t i = 0; i < n->nin; i++)
        if (in[i] && !ref_check_dtype(&c, in[i])) return false;
    if (!dispatch(&c)) {
        for (uint32_t i = 0; i < n->nout; i++) out[i] = NULL;
        return false;
    }
    /* An op family that forgot an output the graph reads is a bug in this evaluator, not in the model. */
    for (uint32_t i = 0; i < n->nout; i++) {
        if (!out[i] && n->out[i] != IR_NONE) {
            for (uint32_t k = 0; k < n->nout; k++) out[k] = NULL;
            return ref_fail(&c, "%s: output %u is not computed", ir_op_name(n->op), i);
        }
    }
    return true;
}

bool ref_fail(RefCx *c, const char *fmt, ...)
{
    /* The first reason is the root cause; helpers that fail inside an op must not overwrite it. */
    if (c->st->why[0]) return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->st->why, sizeof c->st->why, fmt, ap);
    va_end(ap);
    return false;
}

const IrTensor *ref_in(RefCx *c, uint32_t i)
{
    return i < c->n->nin ? c->in[i] : NULL;
}

const IrTensor *ref_need(RefCx *c, uint32_t i)
{
    const IrTensor *t = ref_in(c, i);
    if (!t) ref_fail(c, "%s: input %u is missing", ir_op_name(c->n->op), i);
    return t;
}

bool ref_numel(RefCx *c, int rank, const int64_t *shape, uint64_t *out)
{
    if (rank < 0 || rank > IR_MAX_RANK) return ref_fail(c, "rank %d out of range", rank);
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (shape[i] < 0) return ref_fail(c, "negative dim %lld", (long long)shape[i]);
        if (__builtin_mul_overflow(n, (uint64_t)shape[i], &n)) return ref_fail(c, "element count overflows");
    }
    *out = n;
    return true;
}

IrTensor *ref_new(RefCx *c, IrDType t, int rank, const int64_t *shape)
{
    uint64_t numel = 0, bytes = 0;
    size_t esz = ir_dtype_size(t);
    if (!esz) {
        ref_fail(c, "cannot compute with dtype %s", ir_dtype_name(t));
        return NULL;
    }
    if (!ref_numel(c, rank, shape, &numel)) return NULL;
    if (__builtin_mul_overflow(numel, (uint64_t)esz, &bytes) || bytes > c->budget) {
        ref_fail(c, "%s: result of %llu elements exceeds the %llu-byte limit", ir_op_name(c->n->op),
                 (unsigned long long)numel, (unsigned long long)c->budget);
        return NULL;
    }
    c->budget -= bytes;
    return ir_tensor_new(c->g, t, rank, shape);
}

IrTensor *ref_view(RefCx *c, const IrTensor *src, int rank, const int64_t *shape)
{
    uint64_t numel = 0;
    if (!ref_numel(c, rank, shape, &numel)) return NULL;
    if (numel != src->numel) {
        ref_fail(c, "%s: cannot view %llu elements as %llu", ir_op_name(c->n->op), (unsigned long long)src->numel,
                 (unsigned long long)numel);
        return NULL;
    }
    /* Counted like a copy: folding measures what the result would add to the weights. */
    if (src->nbytes > c->budget) {
        ref_fail(c, "%s: result exceeds the %llu-byte limit", ir_op_name(c->n->op), (unsigned long long)c->budget);
        return NULL;
    }
    c->budget -= src->nbytes;
    IrTensor *t = m2c_alloc(c->g->arena, sizeof *t);
    *t = *src;
    t->rank = rank;
    t->shape = rank > 0 ? m2c_memdup(c->g->arena, shape, (size_t)rank * sizeof *shape) : NULL;
    return t;
}

void ref_set_out(RefCx *c, uint32_t i, IrTensor *t)
{
    if (i < c->n->nout) c->out[i] = t;
}

void *ref_scratch(RefCx *c, uint64_t n, size_t esz)
{
    uint64_t bytes;
    if (__builtin_mul_overflow(n, (uint64_t)esz, &bytes) || bytes > REF_MAX_BYTES) {
        ref_fail(c, "%s: scratch space of %llu elements is too large", ir_op_name(c->n->op), (unsigned long long)n);
        return NULL;
    }
    void *p = calloc(bytes ? (size_t)bytes : 1, 1);
    if (!p) ref_fail(c, "%s: out of memory", ir_op_name(c->n->op));
    return p;
}

bool ref_work(RefCx *c, double steps)
{
    if (steps <= c->work) return true;
    return ref_fail(c, "%s: %.3g steps of work exceed the limit of %.3g", ir_op_name(c->n->op), steps, c->work);
}

bool ref_axis(RefCx *c, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank)
        return ref_fail(c, "%s: axis %lld out of range for rank %d", ir_op_name(c->n->op), (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

bool ref_ints(RefCx *c, const IrTensor *t, int64_t *out, uint32_t max, uint32_t *n)
{
    if (!ref_is_int(t->dtype) || t->dtype == DT_BOOL)
        return ref_fail(c, "%s: expected an integer tensor, got %s", ir_op_name(c->n->op), ir_dtype_name(t->dtype));
    if (t->numel > max) return ref_fail(c, "%s: %llu integers where at most %u make sense", ir_op_name(c->n->op),
                                        (unsigned long long)t->numel, max);
    for (uint64_t i = 0; i < t->numel; i++) out[i] = ref_geti(t, i);
    *n = (uint32_t)t->numel;
    return true;
}

bool ref_int_list(RefCx *c, uint32_t i, const char *attr, int64_t *out, uint32_t max, uint32_t *n, bool *present)
{
    const IrTensor *t = ref_in(c, i);
    *n = 0;
    *present = false;
    if (t) {
        *present = true;
        return ref_ints(c, t, out, max, n);
    }
    uint32_t cnt;
    const int64_t *v = attr ? ir_attr_ints(c->n, attr, &cnt) : NULL;
    if (!v) return true;
    if (cnt > max) return ref_fail(c, "%s: attribute %s has %u entries", ir_op_name(c->n->op), attr, cnt);
    memcpy(out, v, cnt * sizeof *v);
    *n = cnt;
    *present = true;
    return true;
}

bool ref_check_dtype(RefCx *c, const IrTensor *t)
{
    if (!ir_dtype_supported(t->dtype) || t->dtype == DT_STRING)
        return ref_fail(c, "%s: cannot compute with dtype %s", ir_op_name(c->n->op), ir_dtype_name(t->dtype));
    if (t->rank < 0 || t->rank > IR_MAX_RANK) return ref_fail(c, "%s: bad rank", ir_op_name(c->n->op));
    if (t->numel && !t->data) return ref_fail(c, "%s: input data is not loaded", ir_op_name(c->n->op));
    return true;
}

bool ref_same_dtype(RefCx *c, const IrTensor *a, const IrTensor *b)
{
    if (a->dtype == b->dtype) return true;
    return ref_fail(c, "%s: mixed dtypes %s and %s", ir_op_name(c->n->op), ir_dtype_name(a->dtype),
                    ir_dtype_name(b->dtype));
}

void ref_strides(int rank, const int64_t *shape, int64_t *strides)
{
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= shape[i];
    }
}

void ref_copy_dims(int64_t *dst, const IrTensor *t)
{
    for (int i = 0; i < t->rank; i++) dst[i] = t->shape[i];
}

bool ref_is_float(IrDType t)
{
    return ir_dtype_is_float(t);
}

bool ref_is_int(IrDType t)
{
    return ir_dtype_is_int(t) || t == DT_BOOL;
}

double ref_get(const IrTensor *t, uint64_t i)
{
    return ir_tensor_get_f64(t, i);
}

int64_t ref_geti(const IrTensor *t, uint64_t i)
{
    return ir_tensor_get_i64(t, i);
}

/* double -> float rounded to odd: truncate, and set the last bit when inexact.  Rounding that float to
 * nearest-even at 11 (f16) or 8 (bf16) bits then equals rounding the double directly, since f32 keeps more
 * than two extra bits (Boldo & Melquiond). */
static float to_f32_odd(double v)
{
    float f = (float)v;
    if (isnan(v) || (double)f == v) return f;
    if (fabs((double)f) > fabs(v)) f = nextafterf(f, 0.0f);
    uint32_t b;
    memcpy(&b, &f, 4);
    b |= 1;
    memcpy(&f, &b, 4);
    return f;
}

/* A double into an integer type: truncated toward zero, saturated to the type's range, NaN as 0. */
static void put_int(IrTensor *t, uint64_t i, double v)
{
    double lo, hi;
    switch (t->dtype) {
    case DT_I8: lo = -128.0; hi = 127.0; break;
    case DT_U8: lo = 0; hi = 255.0; break;
    case DT_I16: lo = -32768.0; hi = 32767.0; break;
    case DT_U16: lo = 0; hi = 65535.0; break;
    case DT_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case DT_U32: lo = 0; hi = 4294967295.0; break;
    case DT_U64:
        if (!(v > 0)) ir_tensor_set_i64(t, i, 0);
        else if (v >= 18446744073709551616.0) ir_tensor_set_i64(t, i, (int64_t)UINT64_MAX);
        else ir_tensor_set_i64(t, i, (int64_t)(uint64_t)v);
        return;
    default:   /* i64 */
        if (isnan(v)) ir_tensor_set_i64(t, i, 0);
        else if (v >= 9223372036854775808.0) ir_tensor_set_i64(t, i, INT64_MAX);
        else if (v < -9223372036854775808.0) ir_tensor_set_i64(t, i, INT64_MIN);
        else ir_tensor_set_i64(t, i, (int64_t)v);
        return;
    }
    if (isnan(v)) v = 0;
    ir_tensor_set_i64(t, i, (int64_t)(v < lo ? lo : v > hi ? hi : trunc(v)));
}

void ref_put(IrTensor *t, uint64_t i, double v)
{
    unsigned char *p = (unsigned char *)t->data + i * ir_dtype_size(t->dtype);
    uint16_t h;
    switch (t->dtype) {
    case DT_F16: h = ir_f32_to_f16(to_f32_odd(v)); memcpy(p, &h, 2); return;
    case DT_BF16: h = ir_f32_to_bf16(to_f32_odd(v)); memcpy(p, &h, 2); return;
    case DT_F32: case DT_F64: ir_tensor_set_f64(t, i, v); return;   /* one rounding */
    case DT_BOOL: *p = v != 0; return;                               /* NaN is true, as in C */
    default: put_int(t, i, v); return;
    }
}

void ref_puti(IrTensor *t, uint64_t i, int64_t v)
{
    if (ref_is_float(t->dtype))
        ref_put(t, i, (double)v);
    else
        ir_tensor_set_i64(t, i, v);   /* wraps to the width */
}

double *ref_to_f64(RefCx *c, const IrTensor *t)
{
    double *v = ref_scratch(c, t->numel, sizeof *v);
    if (v)
        for (uint64_t i = 0; i < t->numel; i++) v[i] = ref_get(t, i);
    return v;
}

void ref_copy_elem(IrTensor *dst, uint64_t di, const IrTensor *src, uint64_t si)
{
    size_t esz = ir_dtype_size(src->dtype);
    memcpy((unsigned char *)dst->data + di * esz, (const unsigned char *)src->data + si * esz, esz);
}

bool ref_elem_lt(const IrTensor *t, uint64_t i, uint64_t j)
{
    if (ref_is_float(t->dtype)) return ref_get(t, i) < ref_get(t, j);
    if (t->dtype == DT_U64) return (uint64_t)ref_geti(t, i) < (uint64_t)ref_geti(t, j);
    return ref_geti(t, i) < ref_geti(t, j);
}

static bool bcast_shape(RefCx *c, int nin, const IrTensor *const *ts, int *rank, int64_t *shape)
{
    int r = 0;
    for (int k = 0; k < nin; k++)
        if (ts[k]->rank > r) r = ts[k]->rank;
    for (int i = 0; i < r; i++) {
        int64_t d = 1;
        for (int k = 0; k < nin; k++) {
            int j = i - (r - ts[k]->rank);
            if (j < 0) continue;
            int64_t e = ts[k]->shape[j];
            if (e == d || e == 1) continue;
            if (d != 1) return ref_fail(c, "%s: shapes do not broadcast (%lld vs %lld on axis %d)",
                                        ir_op_name(c->n->op), (long long)d, (long long)e, i);
            d = e;
        }
        shape[i] = d;
    }
    *rank = r;
    return true;
}

bool ref_bcast_init(RefCx *c, RefBcast *b, int nin, const IrTensor *const *ts)
{
    memset(b, 0, sizeof *b);
    if (!bcast_shape(c, nin, ts, &b->rank, b->shape)) return false;
    if (!ref_numel(c, b->rank, b->shape, &b->numel)) return false;
    b->nin = nin;
    b->strides = calloc((size_t)nin, sizeof *b->strides);
    b->off = calloc((size_t)nin, sizeof *b->off);
    if (!b->strides || !b->off) {
        ref_bcast_free(b);
        return ref_fail(c, "out of memory");
    }
    for (int k = 0; k < nin; k++) {
        int64_t s = 1;
        for (int i = b->rank - 1; i >= 0; i--) {
            int j = i - (b->rank - ts[k]->rank);
            int64_t d = j >= 0 ? ts[k]->shape[j] : 1;
            b->strides[k][i] = d == 1 ? 0 : s;
            s *= d;
        }
    }
    return true;
}

void ref_bcast_next(RefBcast *b)
{
    for (int i = b->rank - 1; i >= 0; i--) {
        if (++b->idx[i] < b->shape[i]) {
            for (int k = 0; k < b->nin; k++) b->off[k] += (uint64_t)b->strides[k][i];
            return;
        }
        b->idx[i] = 0;
        for (int k = 0; k < b->nin; k++) b->off[k] -= (uint64_t)(b->strides[k][i] * (b->shape[i] - 1));
    }
}

void ref_bcast_free(RefBcast *b)
{
    free(b->strides);
    free(b->off);
    b->strides = NULL;
    b->off = NULL;
}
