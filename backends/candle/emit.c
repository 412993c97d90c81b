/* backends/candle/emit.c — the backend's one switch over the op table: which lowering family writes each
 * op.  No default case, so a new row in ops.def does not compile until it is placed here. */
#include "cg.h"

bool cg_lower_node(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    /* elementwise: unary, binary with broadcasting, variadic, casts, selections */
    case IR_OP_ABS: case IR_OP_ACOS: case IR_OP_ACOSH: case IR_OP_ADD: case IR_OP_AND: case IR_OP_ASIN:
    case IR_OP_ASINH: case IR_OP_ATAN: case IR_OP_ATANH: case IR_OP_BITWISE_AND: case IR_OP_BITWISE_NOT:
    case IR_OP_BITWISE_OR: case IR_OP_BITWISE_XOR: case IR_OP_CAST: case IR_OP_CAST_LIKE: case IR_OP_CEIL:
    case IR_OP_CELU: case IR_OP_CLIP: case IR_OP_COS: case IR_OP_COSH: case IR_OP_DIV: case IR_OP_ELU:
    case IR_OP_EQUAL: case IR_OP_ERF: case IR_OP_EXP: case IR_OP_FLOOR: case IR_OP_GELU: case IR_OP_GREATER:
    case IR_OP_GREATER_OR_EQUAL: case IR_OP_HARD_SIGMOID: case IR_OP_HARD_SWISH: case IR_OP_IDENTITY:
    case IR_OP_IS_INF: case IR_OP_IS_NAN: case IR_OP_LEAKY_RELU: case IR_OP_LESS: case IR_OP_LESS_OR_EQUAL:
    case IR_OP_LOG: case IR_OP_MAX: case IR_OP_MEAN: case IR_OP_MIN: case IR_OP_MISH: case IR_OP_MOD: case IR_OP_MUL:
    case IR_OP_NEG: case IR_OP_NOT: case IR_OP_OR: case IR_OP_POW: case IR_OP_PRELU: case IR_OP_RECIPROCAL:
    case IR_OP_RELU: case IR_OP_ROUND: case IR_OP_SELU: case IR_OP_SHRINK: case IR_OP_SIGMOID: case IR_OP_SIGN:
    case IR_OP_SIN: case IR_OP_SINH: case IR_OP_SOFTPLUS: case IR_OP_SOFTSIGN: case IR_OP_SQRT: case IR_OP_SUB:
    case IR_OP_SUM: case IR_OP_SWISH: case IR_OP_TAN: case IR_OP_TANH: case IR_OP_THRESHOLDED_RELU: case IR_OP_WHERE:
    case IR_OP_XOR: case IR_OP_MS_BIAS_GELU: case IR_OP_MS_FAST_GELU: case IR_OP_MS_GELU:
        return cg_lower_eltwise(f, n);
    /* data movement and shape */
    case IR_OP_CONCAT: case IR_OP_CONSTANT: case IR_OP_CONSTANT_OF_SHAPE: case IR_OP_DEPTH_TO_SPACE:
    case IR_OP_EXPAND: case IR_OP_EYE_LIKE: case IR_OP_FLATTEN: case IR_OP_GATHER: case IR_OP_GATHER_ELEMENTS:
    case IR_OP_GATHER_ND: case IR_OP_NON_ZERO: case IR_OP_ONE_HOT: case IR_OP_PAD: case IR_OP_RANGE:
    case IR_OP_RESHAPE: case IR_OP_SCATTER_ELEMENTS: case IR_OP_SCATTER_ND: case IR_OP_SHAPE: case IR_OP_SIZE:
    case IR_OP_SLICE: case IR_OP_SPACE_TO_DEPTH: case IR_OP_SPLIT: case IR_OP_SQUEEZE: case IR_OP_TILE:
    case IR_OP_TRANSPOSE: case IR_OP_TRILU: case IR_OP_UNSQUEEZE:
        return cg_lower_shape(f, n);
    /* reductions along axes */
    case IR_OP_ARGMAX: case IR_OP_ARGMIN: case IR_OP_CUMSUM: case IR_OP_HARDMAX: case IR_OP_LOG_SOFTMAX:
    case IR_OP_REDUCE_L1: case IR_OP_REDUCE_L2: case IR_OP_REDUCE_LOG_SUM: case IR_OP_REDUCE_LOG_SUM_EXP:
    case IR_OP_REDUCE_MAX: case IR_OP_REDUCE_MEAN: case IR_OP_REDUCE_MIN: case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_SUM: case IR_OP_REDUCE_SUM_SQUARE: case IR_OP_SOFTMAX: case IR_OP_TOPK:
        return cg_lower_reduce(f, n);
    /* layers: matmul, convolution, pooling, normalization, attention */
    case IR_OP_ATTENTION: case IR_OP_AVERAGE_POOL: case IR_OP_BATCH_NORM: case IR_OP_CONV: case IR_OP_CONV_TRANSPOSE:
    case IR_OP_DROPOUT: case IR_OP_EINSUM: case IR_OP_GEMM: case IR_OP_GLOBAL_AVERAGE_POOL: case IR_OP_GLOBAL_MAX_POOL:
    case IR_OP_GROUP_NORM: case IR_OP_INSTANCE_NORM: case IR_OP_LAYER_NORM: case IR_OP_MATMUL: case IR_OP_MAX_POOL:
    case IR_OP_RESIZE: case IR_OP_RMS_NORM: case IR_OP_ROTARY_EMBEDDING: case IR_OP_MS_ROTARY_EMBEDDING:
    case IR_OP_MS_SIMPLIFIED_LAYER_NORM: case IR_OP_MS_SKIP_LAYER_NORM:
        return cg_lower_nn(f, n);
    /* signal processing and the rest */
    case IR_OP_COL2IM: case IR_OP_DFT: case IR_OP_STFT:
        return cg_lower_misc(f, n);
    /* the less common ops: losses, bit shifts, windows, crops, grids */
    case IR_OP_AFFINE_GRID: case IR_OP_BIT_SHIFT: case IR_OP_BLACKMAN_WINDOW: case IR_OP_CENTER_CROP_PAD:
    case IR_OP_COMPRESS: case IR_OP_CUMPROD: case IR_OP_DET: case IR_OP_GRID_SAMPLE: case IR_OP_HAMMING_WINDOW:
    case IR_OP_HANN_WINDOW: case IR_OP_LP_NORM: case IR_OP_LP_POOL: case IR_OP_LRN: case IR_OP_MVN: case IR_OP_NLL_LOSS:
    case IR_OP_REVERSE_SEQUENCE: case IR_OP_SCE_LOSS:
        return cg_lower_extra(f, n);
    /* ours: made by the fusion passes */
    case IR_OP_LINEAR: case IR_OP_SILU: case IR_OP_QUICK_GELU: case IR_OP_GATED_ACT: case IR_OP_KV_CACHE:
        return cg_lower_fused(f, n);
    case IR_OP_UNKNOWN:
        return cg_unsupported(f, n, "unsupported op");
    }
    return cg_unsupported(f, n, "unsupported op");
}
