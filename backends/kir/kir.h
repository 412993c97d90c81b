/* backends/kir/kir.h — the kernel IR: table of contents of backends/kir/.
 *
 * One KirGroup describes one fused group of the graph as the kernel that computes it: its tensor arguments
 * (dtype, symbolic shape, how each is read), its scalar arguments (the runtime values of the symbolic dims)
 * and a body of one of a few kinds.  It is written once for every backend: the CUDA backend (backends/cuda)
 * turns it into CUDA C, the LLVM CPU backend will turn the same groups into loops; the validator
 * (runtime/validate.c) uses `nodes` to rerun the group on the reference evaluator.
 *
 * The body is a loop nest implied by the kind plus scalar expressions:
 *
 *   eltwise     out[i] = epi(i)                         over the output's index space (the "space")
 *   epilogue    out[i] = epi(i), acc = (x·W)[i]         a GEMM's epilogue: the GEMM stays candle's/cuBLAS's
 *   row         y = normalize(pro(row, :)) over the trailing axes, out[i] = epi(i) with acc = y[i]
 *               (LayerNorm: (x-mean)/sqrt(var+eps), RMSNorm: x/sqrt(mean(x²)+eps), (log-)softmax; f32 sums)
 *   rope        acc = x rotated by (cos, sin) of its position, halves or interleaved pairs; out[i] = epi(i)
 *   dwconv1d    acc = Σ_k x[b, c/mult, t·stride + k·dil - pad]·w[c, 0, k]; out[i] = epi(i)
 *   attention   out = softmax(q·kᵀ·scale + mask, causal) · v, online softmax over key tiles, GQA
 *
 * Expressions (`ex`) form a DAG over leaves: LOAD of a pointwise argument at the current element (through
 * per-axis strides, 0 where it broadcasts), a constant, or ACC (the kind's own result at that element).
 * Every value is computed in f32 (floats) or i64 (integers and bool as 0/1) whatever the storage dtype; a
 * Cast to f16/bf16 inside a group rounds.  The group writes exactly one output, the last argument.
 */
#ifndef KIR_H
#define KIR_H

#include "ir.h"

typedef enum {
    KIR_ELTWISE,
    KIR_EPILOGUE,
    KIR_ROW,
    KIR_ROPE,
    KIR_DWCONV1D,
    KIR_ATTENTION,
    KIR_KIND_COUNT
} KirKind;

typedef enum { KIR_ROW_LAYERNORM, KIR_ROW_RMSNORM, KIR_ROW_SOFTMAX, KIR_ROW_LOGSOFTMAX } KirRowOp;

/* Expression ops: name, operand count.  Parameters live in KirExpr.p[]. */
#define KIR_XOPS(X)                                                                                        \
    X(LOAD, "load", 0) X(CONST, "const", 0) X(ACC, "acc", 0)                                             \
    X(ADD, "add", 2) X(SUB, "sub", 2) X(MUL, "mul", 2) X(DIV, "div", 2) X(POW, "pow", 2)                 \
    X(MIN, "min", 2) X(MAX, "max", 2) X(PRELU, "prelu", 2)                                               \
    X(EQ, "eq", 2) X(LT, "lt", 2) X(LE, "le", 2) X(GT, "gt", 2) X(GE, "ge", 2)                           \
    X(AND, "and", 2) X(OR, "or", 2) X(XOR, "xor", 2) X(NOT, "not", 1)                                    \
    X(WHERE, "where", 3) X(CAST, "cast", 1)                                                              \
    X(NEG, "neg", 1) X(ABS, "abs", 1) X(SIGN, "sign", 1) X(RELU, "relu", 1)                              \
    X(EXP, "exp", 1) X(LOG, "log", 1) X(SQRT, "sqrt", 1) X(RECIP, "recip", 1)                            \
    X(TANH, "tanh", 1) X(ERF, "erf", 1) X(SIGMOID, "sigmoid", 1)                                         \
    X(SIN, "sin", 1) X(COS, "cos", 1) X(TAN, "tan", 1) X(SINH, "sinh", 1) X(COSH, "cosh", 1)             \
    X(ASIN, "asin", 1) X(ACOS, "acos", 1) X(ATAN, "atan", 1)                                             \
    X(ASINH, "asinh", 1) X(ACOSH, "acosh", 1) X(ATANH, "atanh", 1)                                       \
    X(FLOOR, "floor", 1) X(CEIL, "ceil", 1) X(ROUND, "round", 1)                                         \
    X(ISNAN, "isnan", 1) X(ISINF, "isinf", 1)                      /* p0: detect +inf, p1: detect -inf */ \
    X(GELU, "gelu", 1) X(GELU_TANH, "gelu_tanh", 1) X(SILU, "silu", 1)                                   \
    X(SWISH, "swish", 1)                                           /* x·sigmoid(p0·x): QuickGELU, Swish */ \
    X(MISH, "mish", 1) X(SOFTPLUS, "softplus", 1) X(SOFTSIGN, "softsign", 1)                             \
    X(LEAKY_RELU, "leaky_relu", 1) X(ELU, "elu", 1) X(CELU, "celu", 1) X(SELU, "selu", 1)                \
    X(THRESHOLDED_RELU, "thresholded_relu", 1) X(HARD_SIGMOID, "hard_sigmoid", 1)                        \
    X(HARD_SWISH, "hard_swish", 1) X(SHRINK, "shrink", 1)

typedef enum {
#define X(id, name, n) KX_##id,
    KIR_XOPS(X)
#undef X
    KX_COUNT
} KirXop;

typedef enum { KIR_F32, KIR_I64 } KirClass;   /* the register class a value is computed in */

typedef struct {
    KirXop op;
    KirClass cls;
    uint32_t a[3];             /* operand expression ids */
    int arg;                   /* KX_LOAD: the argument read */
    double p[2];               /* KX_CONST: p[0] is the value; op parameters (alpha, beta, ...) */
    IrDType to;                /* KX_CAST: the dtype cast to (rounds to f16/bf16, truncates to ints, != 0 to bool) */
} KirExpr;

/* How an argument is read: pointwise arguments at the current element through `at` strides (one per axis
 * of the space, in elements, 0 where it broadcasts); the others by the kind's own indexing (rope's x, cos,
 * sin; the convolution's x and w; attention's q, k, v, mask). */
typedef enum { KIR_ARG_POINTWISE, KIR_ARG_INDEXED, KIR_ARG_OUTPUT } KirArgUse;

typedef enum {
    KIR_SRC_VALUE,             /* the graph value `value` */
    KIR_SRC_GEMM_ACC,          /* x·W of Linear node `node` without its bias (the host's GEMM writes it) */
} KirSrc;

typedef struct {
    const char *name;          /* in0, in1, ..., out: the kernel parameter */
    KirArgUse use;
    KirSrc src;
    uint32_t value;            /* graph value (KIR_SRC_GEMM_ACC: the Linear's output) */
    uint32_t node;             /* KIR_SRC_GEMM_ACC: the Linear node */
    IrDType dtype;             /* storage dtype */
    int rank;
    const IrDim *dims;         /* its own shape; contiguous row-major */
    const IrDim *at;           /* KIR_ARG_POINTWISE: strides over the space's axes */
} KirArg;

/* A runtime dim the kernel takes as a `long long` scalar, and where a caller finds its value. */
typedef struct {
    const char *name;          /* the symbol as the IR spells it */
    const char *cname;         /* its C identifier in generated code */
    int arg, axis;             /* an argument whose dim `axis` is exactly this symbol; -1 if none */
} KirSym;

typedef struct {
    KirRowOp op;
    int axis;                  /* first normalized axis of the space; the row is the product of dims[axis:] */
    double eps;
} KirRow;

typedef struct {
    int x, cos, sin, pos;      /* argument indices; pos -1 without position_ids */
    bool interleaved;
    int64_t rotary_dim;        /* R <= head size D; dims from R on pass through */
    bool shared_batch;         /* gathered caches of batch 1 serve every batch */
} KirRope;

typedef struct {
    int x, w;                  /* x (B, Cin, L), w (Cout, 1, K); Cout = Cin·mult */
    int64_t k, stride, dilation, pad, mult;
} KirConv;

typedef struct {
    int q, k, v, mask;         /* argument indices; mask -1 if none */
    bool mask_bool;            /* true: keep where nonzero; false: added to the scores */
    bool causal;
    bool past_keys;            /* keys_include_past (passes/kv_cache.c): K holds the cache too, so the causal
                                * frontier and the windows align on the last key: query i sits at i + T - Sq */
    double scale, softcap;     /* softcap 0: none */
    int64_t lwin, rwin;        /* sliding window, -1: none */
    int64_t head, vhead;       /* D and Dv, known at compile time */
    const IrDim *mask_at;      /* mask strides over (B, Hq, Sq, T) axes, 0 where it broadcasts */
    IrDim mask_last;           /* the mask's last dim: keys at or beyond it are masked */
} KirAttn;

typedef struct {
    const char *name;          /* m2c_<kind>_<n>: stable across runs */
    KirKind kind;
    uint32_t root;             /* the node whose output the group writes */
    M2C_VEC(uint32_t) nodes;   /* the IR nodes it replaces, in topological order */
    M2C_VEC(KirArg) args;      /* inputs, then the output (always last) */
    M2C_VEC(KirSym) syms;      /* scalar arguments, in this order, after the pointers */
    M2C_VEC(KirExpr) ex;
    uint32_t epi;              /* the output element (all kinds but attention) */
    uint32_t pro;              /* KIR_ROW: the row's input element */
    int rank;                  /* the space: the output's shape */
    const IrDim *space;
    KirRow row;
    KirRope rope;
    KirConv conv;
    KirAttn attn;
    uint32_t linear;           /* KIR_EPILOGUE: the Linear node */
} KirGroup;

typedef struct {
    IrGraph *g;
    M2C_VEC(KirGroup) groups;  /* in topological order of their roots */
} KirPlan;

/* Values of the symbols, for evaluating dims (launch geometry, validation sizes). */
typedef struct {
    uint32_t n;
    const char **names;
    int64_t *vals;
} KirBind;

/*
 * group.c — choosing the fused groups of a graph
 */
/* Every fused op (Linear with a bias or an elementwise consumer, the norms, softmax, RoPE, depthwise conv1d,
 * attention) and every maximal chain of elementwise ops whose intermediates are used only inside the chain,
 * each as one group.  Deterministic.  Nodes no group can express are left to the Candle backend. */
void kir_plan(IrGraph *g, KirPlan *plan);
const char *kir_kind_name(const KirGroup *k);      /* "eltwise", "layernorm", "attention", ... */

/*
 * lower.c — a group's body from its nodes (used by group.c)
 */
bool kir_lower(IrGraph *g, KirGroup *k, uint32_t anchor);   /* false: the group cannot be expressed */
bool kir_elt_node_ok(IrGraph *g, const IrNode *n);          /* an elementwise node the expressions cover */
int kir_anchor_kind(IrGraph *g, const IrNode *n);           /* the KirKind a fused op anchors, or -1 */

/*
 * kir.c — building blocks, dims, dtype override
 */
uint32_t kir_expr_add(IrGraph *g, KirGroup *k, KirExpr e);
int kir_arg_add(IrGraph *g, KirGroup *k, KirArg a);
const IrDim *kir_value_dims(IrGraph *g, uint32_t v);
const IrDim *kir_bcast_strides(IrGraph *g, int rank, const IrDim *dims, int srank, const IrDim *space);
IrDim kir_numel(IrGraph *g, int rank, const IrDim *dims);
void kir_collect_syms(IrGraph *g, KirGroup *k);
bool kir_dim_eval(const IrGraph *g, IrDim d, const KirBind *b, int64_t *out);   /* false: an unbound symbol */
/* Store every float argument as `t` (f16/bf16 variants of a group for validation and export). */
void kir_retype(KirGroup *k, IrDType t);
int kir_xop_arity(KirXop op);
const char *kir_xop_name(KirXop op);

/*
 * print.c — the text form (tests, `kernels` manifest comments)
 */
void kir_print(IrGraph *g, const KirGroup *k, M2cBuf *out);

#endif
