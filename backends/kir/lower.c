/* backends/kir/lower.c — a group's kernel IR from its IR nodes: the elementwise ops become expressions
 * (with the reference evaluator's semantics and attribute defaults), the fused op that anchors the group
 * (Linear, a norm, softmax, RoPE, depthwise conv1d, attention) becomes the kind and its parameters. */
#include "kir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The dtypes a kernel reads and writes. */
static bool dtype_ok(IrDType t)
{
    switch (t) {
    case DT_F32: case DT_F16: case DT_BF16: case DT_BOOL: case DT_U8: case DT_I8: case DT_I32: case DT_I64:
        return true;
    default:
        return false;
    }
}

static KirClass class_of(IrDType t) { return ir_dtype_is_float(t) ? KIR_F32 : KIR_I64; }

/* The unary ops that map to one expression op with the ref evaluator's defaults. */
static bool unary_xop(const IrNode *n, KirXop *op, double p[2])
{
    p[0] = p[1] = 0;
    switch (n->op) {
    case IR_OP_ABS: *op = KX_ABS; return true;
    case IR_OP_NEG: *op = KX_NEG; return true;
    case IR_OP_SIGN: *op = KX_SIGN; return true;
    case IR_OP_RELU: *op = KX_RELU; return true;
    case IR_OP_EXP: *op = KX_EXP; return true;
    case IR_OP_LOG: *op = KX_LOG; return true;
    case IR_OP_SQRT: *op = KX_SQRT; return true;
    case IR_OP_RECIPROCAL: *op = KX_RECIP; return true;
    case IR_OP_TANH: *op = KX_TANH; return true;
    case IR_OP_ERF: *op = KX_ERF; return true;
    case IR_OP_SIGMOID: *op = KX_SIGMOID; return true;
    case IR_OP_SIN: *op = KX_SIN; return true;
    case IR_OP_COS: *op = KX_COS; return true;
    case IR_OP_TAN: *op = KX_TAN; return true;
    case IR_OP_SINH: *op = KX_SINH; return true;
    case IR_OP_COSH: *op = KX_COSH; return true;
    case IR_OP_ASIN: *op = KX_ASIN; return true;
    case IR_OP_ACOS: *op = KX_ACOS; return true;
    case IR_OP_ATAN: *op = KX_ATAN; return true;
    case IR_OP_ASINH: *op = KX_ASINH; return true;
    case IR_OP_ACOSH: *op = KX_ACOSH; return true;
    case IR_OP_ATANH: *op = KX_ATANH; return true;
    case IR_OP_FLOOR: *op = KX_FLOOR; return true;
    case IR_OP_CEIL: *op = KX_CEIL; return true;
    case IR_OP_ROUND: *op = KX_ROUND; return true;
    case IR_OP_IS_NAN: *op = KX_ISNAN; return true;
    case IR_OP_IS_INF:
        *op = KX_ISINF;
        p[0] = ir_attr_int(n, "detect_positive", 1) != 0;
        p[1] = ir_attr_int(n, "detect_negative", 1) != 0;
        return true;
    case IR_OP_NOT: *op = KX_NOT; return true;
    case IR_OP_SILU: *op = KX_SILU; return true;
    case IR_OP_MISH: *op = KX_MISH; return true;
    case IR_OP_SOFTPLUS: *op = KX_SOFTPLUS; return true;
    case IR_OP_SOFTSIGN: *op = KX_SOFTSIGN; return true;
    case IR_OP_HARD_SWISH: *op = KX_HARD_SWISH; return true;
    case IR_OP_MS_GELU: *op = KX_GELU; return true;
    case IR_OP_GELU: {
        const char *a = ir_attr_str(n, "approximate", "none");
        if (strcmp(a, "none") != 0 && strcmp(a, "tanh") != 0) return false;
        *op = strcmp(a, "tanh") == 0 ? KX_GELU_TANH : KX_GELU;
        return true;
    }
    case IR_OP_QUICK_GELU: *op = KX_SWISH, p[0] = ir_attr_float(n, "alpha", 1.702); return true;
    case IR_OP_SWISH: *op = KX_SWISH, p[0] = ir_attr_float(n, "alpha", 1.0); return true;
    case IR_OP_LEAKY_RELU: *op = KX_LEAKY_RELU, p[0] = ir_attr_float(n, "alpha", 0.01f); return true;
    case IR_OP_ELU: *op = KX_ELU, p[0] = ir_attr_float(n, "alpha", 1.0); return true;
    case IR_OP_CELU: *op = KX_CELU, p[0] = ir_attr_float(n, "alpha", 1.0); return true;
    case IR_OP_THRESHOLDED_RELU: *op = KX_THRESHOLDED_RELU, p[0] = ir_attr_float(n, "alpha", 1.0); return true;
    case IR_OP_SELU:
        *op = KX_SELU;
        p[0] = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        p[1] = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        return true;
    case IR_OP_HARD_SIGMOID:
        *op = KX_HARD_SIGMOID;
        p[0] = ir_attr_float(n, "alpha", 0.2f);
        p[1] = ir_attr_float(n, "beta", 0.5f);
        return true;
    case IR_OP_SHRINK:
        *op = KX_SHRINK;
        p[0] = ir_attr_float(n, "lambd", 0.5);
        p[1] = ir_attr_float(n, "bias", 0.0);
        return true;
    default:
        return false;
    }
}

static bool binary_xop(IrOp op, KirXop *x)
{
    switch (op) {
    case IR_OP_ADD: *x = KX_ADD; return true;
    case IR_OP_SUB: *x = KX_SUB; return true;
    case IR_OP_MUL: *x = KX_MUL; return true;
    case IR_OP_DIV: *x = KX_DIV; return true;
    case IR_OP_POW: *x = KX_POW; return true;
    case IR_OP_PRELU: *x = KX_PRELU; return true;
    case IR_OP_EQUAL: *x = KX_EQ; return true;
    case IR_OP_LESS: *x = KX_LT; return true;
    case IR_OP_LESS_OR_EQUAL: *x = KX_LE; return true;
    case IR_OP_GREATER: *x = KX_GT; return true;
    case IR_OP_GREATER_OR_EQUAL: *x = KX_GE; return true;
    case IR_OP_AND: *x = KX_AND; return true;
    case IR_OP_OR: *x = KX_OR; return true;
    case IR_OP_XOR: *x = KX_XOR; return true;
    default: return false;
    }
}

/* GatedAct's activation names (fuse_ffn.c) as expression ops. */
static bool gated_xop(const IrNode *n, KirXop *op, double p[2])
{
    const char *a = ir_attr_str(n, "activation", "");
    p[0] = p[1] = 0;
    if (strcmp(a, "silu") == 0) *op = KX_SILU;
    else if (strcmp(a, "relu") == 0) *op = KX_RELU;
    else if (strcmp(a, "gelu") == 0) *op = KX_GELU;
    else if (strcmp(a, "gelu_tanh") == 0) *op = KX_GELU_TANH;
    else if (strcmp(a, "quick_gelu") == 0) *op = KX_SWISH, p[0] = ir_attr_float(n, "alpha", 1.702);
    else return false;
    return true;
}

bool kir_elt_node_ok(IrGraph *g, const IrNode *n)
{
    if (n->dead || n->nout < 1 || n->out[0] == IR_NONE) return false;
    for (uint32_t i = 1; i < n->nout; i++)
        if (n->out[i] != IR_NONE && ir_use_count(g, n->out[i]) > 0) return false;
    const IrValue *o = ir_val(g, n->out[0]);
    if (o->rank < 0 || o->rank > 8 || !dtype_ok(o->dtype)) return false;
    bool of = ir_dtype_is_float(o->dtype);
    for (uint32_t i = 0; i < n->nin; i++) {
        if (n->in[i] == IR_NONE) continue;
        const IrValue *v = ir_val(g, n->in[i]);
        if (v->rank < 0 || v->rank > 8 || !dtype_ok(v->dtype)) return false;
    }
    uint32_t in0 = ir_input(n, 0);
    bool f0 = in0 != IR_NONE && ir_dtype_is_float(ir_val(g, in0)->dtype);
    KirXop op;
    double p[2];
    switch (n->op) {
    case IR_OP_ABS: case IR_OP_NEG: case IR_OP_SIGN: case IR_OP_RELU:
        return ir_dtype_is_float(o->dtype) || o->dtype == DT_I64 || o->dtype == DT_I32;
    case IR_OP_NOT: return o->dtype == DT_BOOL;
    case IR_OP_IS_NAN: case IR_OP_IS_INF: return f0;
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: return of || o->dtype == DT_I64 || o->dtype == DT_I32;
    case IR_OP_DIV: case IR_OP_POW: case IR_OP_PRELU: return of && f0;
    case IR_OP_EQUAL: case IR_OP_LESS: case IR_OP_LESS_OR_EQUAL: case IR_OP_GREATER: case IR_OP_GREATER_OR_EQUAL:
        return true;
    case IR_OP_AND: case IR_OP_OR: case IR_OP_XOR: return o->dtype == DT_BOOL;
    case IR_OP_WHERE: return n->nin == 3;
    case IR_OP_CAST: case IR_OP_CAST_LIKE: case IR_OP_IDENTITY: case IR_OP_DROPOUT: return n->nin >= 1;
    case IR_OP_MAX: case IR_OP_MIN: return n->nin >= 1 && (of || o->dtype == DT_I64 || o->dtype == DT_I32);
    case IR_OP_SUM: case IR_OP_MEAN: return n->nin >= 1 && of;
    case IR_OP_CLIP: return of && f0;
    case IR_OP_GATED_ACT: return of && gated_xop(n, &op, p);
    case IR_OP_MS_BIAS_GELU: case IR_OP_MS_FAST_GELU: return of && f0;
    default:
        return of && f0 && unary_xop(n, &op, p);
    }
}

/*
 * Building the expressions of a group.
 */
typedef struct {
    IrGraph *g;
    KirGroup *k;
    const bool *member;        /* per node */
    uint32_t anchor;
    M2C_VEC(uint32_t) memo_v;  /* value -> expression, for values already built */
    M2C_VEC(uint32_t) memo_e;
} Lower;

static uint32_t ex(Lower *L, KirXop op, KirClass cls, uint32_t a, uint32_t b, uint32_t c, double p0, double p1)
{
    KirExpr e = {op, cls, {a, b, c}, -1, {p0, p1}, DT_UNDEF};
    return kir_expr_add(L->g, L->k, e);
}

static uint32_t constant(Lower *L, double v, KirClass cls)
{
    return ex(L, KX_CONST, cls, 0, 0, 0, v, 0);
}

static uint32_t cast(Lower *L, uint32_t a, IrDType to)
{
    KirExpr e = {KX_CAST, class_of(to), {a, 0, 0}, -1, {0, 0}, to};
    return kir_expr_add(L->g, L->k, e);
}

/* A pointwise argument read at the current element. */
static uint32_t load(Lower *L, uint32_t v)
{
    IrGraph *g = L->g;
    const IrValue *val = ir_val(g, v);
    KirArg a = {0};
    a.use = KIR_ARG_POINTWISE;
    a.src = KIR_SRC_VALUE;
    a.value = v;
    a.node = IR_NONE;
    a.dtype = val->dtype;
    a.rank = val->rank;
    a.dims = val->dims;
    a.at = kir_bcast_strides(g, val->rank, val->dims, L->k->rank, L->k->space);
    int i = kir_arg_add(g, L->k, a);
    KirExpr e = {KX_LOAD, class_of(val->dtype), {0, 0, 0}, i, {0, 0}, DT_UNDEF};
    return kir_expr_add(g, L->k, e);
}

static uint32_t build(Lower *L, uint32_t v);

static uint32_t build_in(Lower *L, const IrNode *n, uint32_t i) { return build(L, n->in[i]); }

static KirClass cls_of_expr(Lower *L, uint32_t e) { return L->k->ex.v[e].cls; }

/* Operands of one class: ints promoted where an op computes in float (Pow's exponent). */
static uint32_t as_class(Lower *L, uint32_t e, KirClass cls)
{
    if (cls_of_expr(L, e) == cls) return e;
    return cast(L, e, cls == KIR_F32 ? DT_F32 : DT_I64);
}

static uint32_t build_node(Lower *L, const IrNode *n)
{
    IrGraph *g = L->g;
    IrDType odt = ir_val(g, n->out[0])->dtype;
    KirClass oc = class_of(odt);
    KirXop op;
    double p[2];
    switch (n->op) {
    case IR_OP_IDENTITY: case IR_OP_DROPOUT: return build_in(L, n, 0);
    case IR_OP_CAST: case IR_OP_CAST_LIKE: return cast(L, build_in(L, n, 0), odt);
    case IR_OP_WHERE: {
        uint32_t c = build_in(L, n, 0);
        uint32_t a = as_class(L, build_in(L, n, 1), oc), b = as_class(L, build_in(L, n, 2), oc);
        return ex(L, KX_WHERE, oc, c, a, b, 0, 0);
    }
    case IR_OP_MAX: case IR_OP_MIN: case IR_OP_SUM: case IR_OP_MEAN: {
        KirXop x = n->op == IR_OP_MAX ? KX_MAX : n->op == IR_OP_MIN ? KX_MIN : KX_ADD;
        uint32_t acc = as_class(L, build_in(L, n, 0), oc);
        for (uint32_t i = 1; i < n->nin; i++) acc = ex(L, x, oc, acc, as_class(L, build_in(L, n, i), oc), 0, 0, 0);
        if (n->op == IR_OP_MEAN) acc = ex(L, KX_DIV, oc, acc, constant(L, (double)n->nin, oc), 0, 0, 0);
        return acc;
    }
    case IR_OP_CLIP: {
        uint32_t x = build_in(L, n, 0);
        if (ir_input(n, 1) != IR_NONE) x = ex(L, KX_MAX, oc, x, build_in(L, n, 1), 0, 0, 0);
        if (ir_input(n, 2) != IR_NONE) x = ex(L, KX_MIN, oc, x, build_in(L, n, 2), 0, 0, 0);
        return x;
    }
    case IR_OP_GATED_ACT:
        gated_xop(n, &op, p);
        return ex(L, KX_MUL, oc, ex(L, op, oc, build_in(L, n, 0), 0, 0, p[0], p[1]), build_in(L, n, 1), 0, 0, 0);
    case IR_OP_MS_BIAS_GELU:
        return ex(L, KX_GELU, oc, ex(L, KX_ADD, oc, build_in(L, n, 0), build_in(L, n, 1), 0, 0, 0), 0, 0, 0, 0);
    case IR_OP_MS_FAST_GELU: {
        uint32_t x = build_in(L, n, 0);
        if (ir_input(n, 1) != IR_NONE) x = ex(L, KX_ADD, oc, x, build_in(L, n, 1), 0, 0, 0);
        return ex(L, KX_GELU_TANH, oc, x, 0, 0, 0, 0);
    }
    default:
        break;
    }
    if (binary_xop(n->op, &op)) {
        uint32_t a = build_in(L, n, 0), b = build_in(L, n, 1);
        KirClass c = (op == KX_DIV || op == KX_POW || op == KX_PRELU) ? KIR_F32 : cls_of_expr(L, a);
        return ex(L, op, op >= KX_EQ && op <= KX_XOR ? KIR_I64 : c, a, as_class(L, b, c), 0, 0, 0);
    }
    if (unary_xop(n, &op, p)) {
        uint32_t a = build_in(L, n, 0);
        KirClass c = (op == KX_ISNAN || op == KX_ISINF || op == KX_NOT) ? KIR_I64 : cls_of_expr(L, a);
        return ex(L, op, c, a, 0, 0, p[0], p[1]);
    }
    M2C_UNREACHABLE();
}

static uint32_t build(Lower *L, uint32_t v)
{
    for (uint32_t i = 0; i < L->memo_v.n; i++)
        if (L->memo_v.v[i] == v) return L->memo_e.v[i];
    IrGraph *g = L->g;
    const IrValue *val = ir_val(g, v);
    uint32_t e;
    if (val->konst && val->konst->numel == 1 && dtype_ok(val->dtype)) {
        e = ir_dtype_is_float(val->dtype) ? constant(L, ir_tensor_get_f64(val->konst, 0), KIR_F32)
                                          : constant(L, (double)ir_tensor_get_i64(val->konst, 0), KIR_I64);
    } else if (val->producer != IR_NONE && L->member[val->producer] && val->producer != L->anchor) {
        e = build_node(L, ir_node(g, val->producer));
    } else {
        e = load(L, v);
    }
    m2c_vec_push(g->arena, &L->memo_v, v);
    m2c_vec_push(g->arena, &L->memo_e, e);
    return e;
}

static void memo(Lower *L, uint32_t v, uint32_t e)
{
    m2c_vec_push(L->g->arena, &L->memo_v, v);
    m2c_vec_push(L->g->arena, &L->memo_e, e);
}

/* An argument the kind indexes itself. */
static int indexed(Lower *L, uint32_t v)
{
    const IrValue *val = ir_val(L->g, v);
    KirArg a = {0};
    a.use = KIR_ARG_INDEXED;
    a.src = KIR_SRC_VALUE;
    a.value = v;
    a.node = IR_NONE;
    a.dtype = val->dtype;
    a.rank = val->rank;
    a.dims = val->dims;
    return kir_arg_add(L->g, L->k, a);
}

static bool dims_equal(int ra, const IrDim *a, int rb, const IrDim *b)
{
    if (ra != rb) return false;
    for (int i = 0; i < ra; i++)
        if (a[i] != b[i]) return false;
    return true;
}

/*
 * Anchors.
 */
static bool only_first_output(IrGraph *g, const IrNode *n)
{
    for (uint32_t i = 1; i < n->nout; i++)
        if (n->out[i] != IR_NONE && ir_use_count(g, n->out[i]) > 0) return false;
    return n->nout >= 1 && n->out[0] != IR_NONE;
}

static bool float_value(IrGraph *g, uint32_t v)
{
    if (v == IR_NONE) return false;
    const IrValue *val = ir_val(g, v);
    return val->rank >= 0 && (val->dtype == DT_F32 || val->dtype == DT_F16 || val->dtype == DT_BF16);
}

int kir_anchor_kind(IrGraph *g, const IrNode *n)
{
    if (n->dead || !only_first_output(g, n) || !float_value(g, n->out[0])) return -1;
    const IrValue *o = ir_val(g, n->out[0]);
    int64_t c;
    switch (n->op) {
    case IR_OP_LINEAR:
        if (!float_value(g, n->in[0]) || (ir_input(n, 2) != IR_NONE && ir_val(g, n->in[2])->rank != 1)) return -1;
        return o->rank <= 8 ? KIR_EPILOGUE : -1;
    case IR_OP_LAYER_NORM: case IR_OP_RMS_NORM: case IR_OP_MS_SIMPLIFIED_LAYER_NORM:
        if (o->rank < 1 || o->rank > 8 || !float_value(g, n->in[0])) return -1;
        return KIR_ROW;
    case IR_OP_SOFTMAX: case IR_OP_LOG_SOFTMAX: {
        if (o->rank < 1 || o->rank > 8) return -1;
        int64_t axis = ir_attr_int(n, "axis", n->opset < 13 ? 1 : -1);
        if (axis < 0) axis += o->rank;
        /* from opset 13 the axis alone is normalized; before, the input is flattened at it (trailing axes) */
        if (axis < 0 || axis >= o->rank || (n->opset >= 13 && axis != o->rank - 1)) return -1;
        return KIR_ROW;
    }
    case IR_OP_ROTARY_EMBEDDING: {
        const IrValue *x = ir_val(g, n->in[0]);
        if (x->rank != 4 || !ir_dim_const_value(g, x->dims[3], &c)) return -1;
        int64_t r = ir_attr_int(n, "rotary_embedding_dim", 0);
        if (r < 0 || r > c || (r ? r : c) % 2) return -1;
        bool pos = ir_input(n, 3) != IR_NONE;
        const IrValue *cs = ir_val(g, n->in[1]);
        if (cs->rank != (pos ? 2 : 3) || ir_val(g, n->in[2])->rank != cs->rank) return -1;
        if (pos && !ir_dtype_is_int(ir_val(g, n->in[3])->dtype)) return -1;
        return KIR_ROPE;
    }
    case IR_OP_CONV: {
        const IrValue *x = ir_val(g, n->in[0]), *w = ir_val(g, n->in[1]);
        int64_t groups = ir_attr_int(n, "group", 1), cin, cout, one;
        if (x->rank != 3 || w->rank != 3 || o->rank != 3 || !float_value(g, n->in[0])) return -1;
        if (!ir_dim_const_value(g, x->dims[1], &cin) || !ir_dim_const_value(g, w->dims[0], &cout) ||
            !ir_dim_const_value(g, w->dims[1], &one) || !ir_dim_const_value(g, w->dims[2], &c))
            return -1;
        if (groups != cin || cin <= 1 || one != 1 || cout % cin) return -1;
        const char *ap = ir_attr_str(n, "auto_pad", "NOTSET");
        if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0) return -1;
        return KIR_DWCONV1D;
    }
    case IR_OP_ATTENTION: {
        const IrValue *q = ir_val(g, n->in[0]), *k = ir_val(g, n->in[1]), *v = ir_val(g, n->in[2]);
        int64_t d, dv;
        if (q->rank != 4 || k->rank != 4 || v->rank != 4) return -1;
        if (ir_input(n, 4) != IR_NONE || ir_input(n, 5) != IR_NONE || ir_input(n, 6) != IR_NONE) return -1;
        if (!ir_dim_const_value(g, q->dims[3], &d) || !ir_dim_const_value(g, v->dims[3], &dv)) return -1;
        if (d < 1 || d > 256 || dv < 1 || dv > 256 || k->dtype != q->dtype || v->dtype != q->dtype) return -1;
        uint32_t m = ir_input(n, 3);
        if (m != IR_NONE) {
            const IrValue *mv = ir_val(g, m);
            if (mv->rank < 1 || mv->rank > 4 || (mv->dtype != DT_BOOL && mv->dtype != q->dtype)) return -1;
        }
        return KIR_ATTENTION;
    }
    default:
        return -1;
    }
}

/* Parameters and the anchor's own value (what the epilogue sees where the graph reads its output). */
static bool lower_anchor(Lower *L, const IrNode *n, KirKind kind)
{
    IrGraph *g = L->g;
    KirGroup *k = L->k;
    /* the kind's own result at the element; the GEMM epilogue reads it from its argument instead */
    uint32_t accx = kind == KIR_EPILOGUE ? 0 : ex(L, KX_ACC, KIR_F32, 0, 0, 0, 0, 0), val = accx;
    switch (kind) {
    case KIR_EPILOGUE: {
        const IrValue *o = ir_val(g, n->out[0]);
        KirArg a = {0};
        a.use = KIR_ARG_POINTWISE;
        a.src = KIR_SRC_GEMM_ACC;
        a.value = n->out[0];
        a.node = ir_node_id(g, n);
        a.dtype = o->dtype;
        a.rank = o->rank;
        a.dims = o->dims;
        a.at = kir_bcast_strides(g, o->rank, o->dims, k->rank, k->space);
        int i = kir_arg_add(g, k, a);
        KirExpr e = {KX_LOAD, KIR_F32, {0, 0, 0}, i, {0, 0}, DT_UNDEF};
        val = kir_expr_add(g, k, e);
        if (ir_input(n, 2) != IR_NONE) val = ex(L, KX_ADD, KIR_F32, val, build(L, n->in[2]), 0, 0, 0);
        k->linear = ir_node_id(g, n);
        break;
    }
    case KIR_ROW: {
        bool soft = n->op == IR_OP_SOFTMAX || n->op == IR_OP_LOG_SOFTMAX;
        int64_t axis = ir_attr_int(n, "axis", soft && n->opset < 13 ? 1 : -1);
        if (axis < 0) axis += k->rank;
        if (axis < 0 || axis >= k->rank) return false;
        k->row.axis = (int)axis;
        k->row.op = n->op == IR_OP_SOFTMAX       ? KIR_ROW_SOFTMAX
                    : n->op == IR_OP_LOG_SOFTMAX ? KIR_ROW_LOGSOFTMAX
                    : n->op == IR_OP_LAYER_NORM  ? KIR_ROW_LAYERNORM
                                                 : KIR_ROW_RMSNORM;
        k->row.eps = ir_attr_float(n, "epsilon", 1e-5f);
        k->pro = as_class(L, build(L, n->in[0]), KIR_F32);
        if (!soft) {
            val = ex(L, KX_MUL, KIR_F32, accx, build(L, n->in[1]), 0, 0, 0);
            if (k->row.op == KIR_ROW_LAYERNORM && ir_input(n, 2) != IR_NONE)
                val = ex(L, KX_ADD, KIR_F32, val, build(L, n->in[2]), 0, 0, 0);
        }
        break;
    }
    case KIR_ROPE: {
        const IrValue *x = ir_val(g, n->in[0]), *cs = ir_val(g, n->in[1]);
        int64_t d = ir_dim_value(g, x->dims[3]), r = ir_attr_int(n, "rotary_embedding_dim", 0);
        int64_t c;
        k->rope.rotary_dim = r ? r : d;
        k->rope.interleaved = ir_attr_int(n, "interleaved", 0) != 0;
        k->rope.x = indexed(L, n->in[0]);
        k->rope.cos = indexed(L, n->in[1]);
        k->rope.sin = indexed(L, n->in[2]);
        k->rope.pos = ir_input(n, 3) != IR_NONE ? indexed(L, n->in[3]) : -1;
        k->rope.shared_batch = k->rope.pos < 0 && ir_dim_const_value(g, cs->dims[0], &c) && c == 1;
        if (k->rope.pos < 0 && !k->rope.shared_batch && cs->dims[0] != x->dims[0]) return false;
        if (k->rope.pos < 0 && cs->dims[1] != x->dims[2]) return false;
        if (!ir_dim_const_value(g, cs->dims[cs->rank - 1], &c) || c != k->rope.rotary_dim / 2) return false;
        break;
    }
    case KIR_DWCONV1D: {
        const IrValue *w = ir_val(g, n->in[1]), *x = ir_val(g, n->in[0]);
        uint32_t cnt, ns, nd;
        const int64_t *pads = ir_attr_ints(n, "pads", &cnt), *st = ir_attr_ints(n, "strides", &ns);
        const int64_t *dl = ir_attr_ints(n, "dilations", &nd);
        k->conv.k = ir_dim_value(g, w->dims[2]);
        k->conv.stride = st && ns ? st[0] : 1;
        k->conv.dilation = dl && nd ? dl[0] : 1;
        k->conv.pad = pads && cnt >= 1 ? pads[0] : 0;
        k->conv.mult = ir_dim_value(g, w->dims[0]) / ir_dim_value(g, x->dims[1]);
        if (k->conv.stride < 1 || k->conv.dilation < 1 || k->conv.pad < 0) return false;
        k->conv.x = indexed(L, n->in[0]);
        k->conv.w = indexed(L, n->in[1]);
        if (ir_input(n, 2) != IR_NONE) {
            /* the bias is per channel: axis 1 of the output, not numpy-aligned */
            const IrValue *b = ir_val(g, n->in[2]);
            if (b->rank != 1) return false;
            KirArg a = {0};
            a.use = KIR_ARG_POINTWISE;
            a.src = KIR_SRC_VALUE;
            a.value = n->in[2];
            a.node = IR_NONE;
            a.dtype = b->dtype;
            a.rank = 1;
            a.dims = b->dims;
            IrDim *at = m2c_alloc_array(g->arena, 3, sizeof *at);
            at[0] = at[2] = ir_dim_const(g, 0);
            at[1] = ir_dim_const(g, 1);
            a.at = at;
            KirExpr e = {KX_LOAD, KIR_F32, {0, 0, 0}, kir_arg_add(g, k, a), {0, 0}, DT_UNDEF};
            val = ex(L, KX_ADD, KIR_F32, accx, kir_expr_add(g, k, e), 0, 0, 0);
        }
        break;
    }
    case KIR_ATTENTION: {
        KirAttn *at = &k->attn;
        const IrValue *q = ir_val(g, n->in[0]), *kv = ir_val(g, n->in[1]);
        at->head = ir_dim_value(g, q->dims[3]);
        at->vhead = ir_dim_value(g, ir_val(g, n->in[2])->dims[3]);
        at->q = indexed(L, n->in[0]);
        at->k = indexed(L, n->in[1]);
        at->v = indexed(L, n->in[2]);
        at->causal = ir_attr_int(n, "is_causal", 0) != 0;
        at->past_keys = ir_attr_int(n, "keys_include_past", 0) != 0;
        at->scale = ir_attr(n, "scale") ? ir_attr_float(n, "scale", 1.0) : 1.0 / sqrt((double)at->head);
        at->softcap = ir_attr_float(n, "softcap", 0.0);
        at->lwin = ir_attr_int(n, "left_window_size", -1);
        at->rwin = ir_attr_int(n, "right_window_size", -1);
        at->mask = -1;
        uint32_t m = ir_input(n, 3);
        if (m != IR_NONE) {
            const IrValue *mv = ir_val(g, m);
            at->mask = indexed(L, m);
            at->mask_bool = mv->dtype == DT_BOOL;
            /* right-aligned against (B, Hq, Sq, T); the last axis is padded with "masked", never broadcast */
            const IrDim want[4] = {q->dims[0], q->dims[1], q->dims[2], kv->dims[2]};
            IrDim *ms = m2c_alloc_array(g->arena, 4, sizeof *ms);
            IrDim s = ir_dim_const(g, 1), one = s;
            for (int i = 3, j = mv->rank - 1; i >= 0; i--, j--) {
                int64_t c;
                if (j < 0) ms[i] = ir_dim_const(g, 0);
                else if (i == 3 || mv->dims[j] == want[i]) ms[i] = s;
                else if (ir_dim_const_value(g, mv->dims[j], &c) && c == 1) ms[i] = ir_dim_const(g, 0);
                else ms[i] = ir_dim_mul(g, s, ir_dim_min(g, ir_dim_sub(g, mv->dims[j], one), one));
                if (j >= 0) s = ir_dim_mul(g, s, mv->dims[j]);
            }
            at->mask_at = ms;
            at->mask_last = mv->dims[mv->rank - 1];
        }
        break;
    }
    default:
        return false;
    }
    memo(L, n->out[0], val);
    return true;
}

bool kir_lower(IrGraph *g, KirGroup *k, uint32_t anchor)
{
    const IrNode *root = ir_node(g, k->root);
    const IrValue *o = ir_val(g, root->out[0]);
    k->rank = o->rank;
    k->space = o->dims;
    k->args.n = k->ex.n = k->syms.n = 0;
    k->linear = IR_NONE;
    bool *member = calloc(g->nodes.n, sizeof *member);
    for (uint32_t i = 0; i < k->nodes.n; i++) member[k->nodes.v[i]] = true;
    Lower L = {g, k, member, anchor, {0}, {0}};
    bool ok = true;
    k->kind = KIR_ELTWISE;
    if (anchor != IR_NONE) {
        const IrNode *an = ir_node(g, anchor);
        int kind = kir_anchor_kind(g, an);
        ok = kind >= 0 && dims_equal(ir_val(g, an->out[0])->rank, ir_val(g, an->out[0])->dims, k->rank, k->space);
        if (ok) {
            k->kind = (KirKind)kind;
            ok = lower_anchor(&L, an, k->kind);
        }
    }
    if (ok) {
        k->epi = build(&L, root->out[0]);
        /* a value written as it was read (a lone Identity) is no kernel */
        ok = k->ex.n > 1 || k->kind != KIR_ELTWISE;
    }
    free(member);
    if (!ok) return false;
    KirArg out = {0};
    out.use = KIR_ARG_OUTPUT;
    out.src = KIR_SRC_VALUE;
    out.value = root->out[0];
    out.node = IR_NONE;
    out.dtype = o->dtype;
    out.rank = o->rank;
    out.dims = o->dims;
    m2c_vec_push(g->arena, &k->args, out);
    k->args.v[k->args.n - 1].name = "out";
    kir_collect_syms(g, k);
    return true;
}
