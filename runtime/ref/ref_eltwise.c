/* runtime/ref/ref_eltwise.c — elementwise ops: unary math and activations, broadcast binary ops, the variadic
 * Max/Min/Sum/Mean, Where, Cast/CastLike, Clip and inference-mode Dropout.
 *
 * Floats are computed in double and rounded once to the output type.  Integers are computed in 64 bits with
 * wrapping (through uint64_t, so no signed overflow is undefined) and stored wrapped to the output width;
 * u64 compares and divides as unsigned.  NaN propagates through Relu, Clip, Max and Min as in numpy, which
 * is what the ONNX reference implementation does. */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

double ref_gelu(double x, bool tanh_approx)
{
    if (tanh_approx) return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / M_SQRT2));
}

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* log(1 + e^x) without overflow for large x. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

/* Round half to even, independent of the current rounding mode; the sign of a zero result is x's (numpy). */
static double round_even(double x)
{
    if (!isfinite(x)) return x;
    double f = floor(x), d = x - f, r;
    if (d > 0.5) r = f + 1;
    else if (d < 0.5) r = f;
    else r = fmod(f, 2.0) == 0 ? f : f + 1;
    return copysign(r, x);
}

/* Attributes of the unary ops, read once per node.  Defaults are the ONNX float32 defaults, as ONNX Runtime
 * holds them. */
typedef struct {
    double alpha, beta, gamma, lambd, bias;
    bool tanh_approx, detect_pos, detect_neg;
} UnaryParams;

static void unary_params(const IrNode *n, UnaryParams *p)
{
    memset(p, 0, sizeof *p);
    switch (n->op) {
    case IR_OP_CELU: case IR_OP_ELU: case IR_OP_THRESHOLDED_RELU: case IR_OP_SWISH:
        p->alpha = ir_attr_float(n, "alpha", 1.0);
        break;
    case IR_OP_QUICK_GELU: p->alpha = ir_attr_float(n, "alpha", 1.702); break;
    case IR_OP_LEAKY_RELU: p->alpha = ir_attr_float(n, "alpha", 0.01f); break;
    case IR_OP_HARD_SIGMOID:
        p->alpha = ir_attr_float(n, "alpha", 0.2f);
        p->beta = ir_attr_float(n, "beta", 0.5f);
        break;
    case IR_OP_SELU:
        p->alpha = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        p->gamma = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        break;
    case IR_OP_SHRINK:
        p->lambd = ir_attr_float(n, "lambd", 0.5);
        p->bias = ir_attr_float(n, "bias", 0.0);
        break;
    case IR_OP_GELU: p->tanh_approx = strcmp(ir_attr_str(n, "approximate", "none"), "tanh") == 0; break;
    case IR_OP_MS_FAST_GELU: p->tanh_approx = true; break;
    case IR_OP_IS_INF:
        p->detect_pos = ir_attr_int(n, "detect_positive", 1) != 0;
        p->detect_neg = ir_attr_int(n, "detect_negative", 1) != 0;
        break;
    default: break;
    }
}

static double unary_f(IrOp op, double x, const UnaryParams *p)
{
    switch (op) {
    case IR_OP_ABS: return fabs(x);
    case IR_OP_ACOS: return acos(x);
    case IR_OP_ACOSH: return acosh(x);
    case IR_OP_ASIN: return asin(x);
    case IR_OP_ASINH: return asinh(x);
    case IR_OP_ATAN: return atan(x);
    case IR_OP_ATANH: return atanh(x);
    case IR_OP_CEIL: return ceil(x);
    case IR_OP_CELU: return x > 0 ? x : p->alpha * expm1(x / p->alpha);
    case IR_OP_COS: return cos(x);
    case IR_OP_COSH: return cosh(x);
    case IR_OP_ELU: return x >= 0 ? x : p->alpha * expm1(x);
    case IR_OP_ERF: return erf(x);
    case IR_OP_EXP: return exp(x);
    case IR_OP_FLOOR: return floor(x);
    case IR_OP_GELU: case IR_OP_MS_GELU: case IR_OP_MS_FAST_GELU: return ref_gelu(x, p->tanh_approx);
    case IR_OP_HARD_SIGMOID: {
        double v = p->alpha * x + p->beta;
        return v < 0 ? 0 : v > 1 ? 1 : v;
    }
    case IR_OP_HARD_SWISH: {
        double v = x / 6.0 + 0.5;
        return x * (v < 0 ? 0 : v > 1 ? 1 : v);
    }
    case IR_OP_IS_INF: return isinf(x) && ((x > 0 && p->detect_pos) || (x < 0 && p->detect_neg));
    case IR_OP_IS_NAN: return isnan(x);
    case IR_OP_LEAKY_RELU: return x >= 0 ? x : p->alpha * x;
    case IR_OP_LOG: return log(x);
    case IR_OP_MISH: return x * tanh(softplus(x));
    case IR_OP_NEG: return -x;
    case IR_OP_RECIPROCAL: return 1.0 / x;
    case IR_OP_RELU: return x < 0 ? 0 : x;
    case IR_OP_ROUND: return round_even(x);
    case IR_OP_SELU: return x > 0 ? p->gamma * x : p->gamma * p->alpha * expm1(x);
    case IR_OP_SHRINK: return x < -p->lambd ? x + p->bias : x > p->lambd ? x - p->bias : 0;
    case IR_OP_SIGMOID: return sigmoid(x);
    case IR_OP_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x;
    case IR_OP_SIN: return sin(x);
    case IR_OP_SINH: return sinh(x);
    case IR_OP_SOFTPLUS: return softplus(x);
    case IR_OP_SOFTSIGN: return x / (1 + fabs(x));
    case IR_OP_SQRT: return sqrt(x);
    case IR_OP_SWISH: return x * sigmoid(p->alpha * x);
    case IR_OP_SILU: return x * sigmoid(x);
    case IR_OP_QUICK_GELU: return x * sigmoid(p->alpha * x);
    case IR_OP_TAN: return tan(x);
    case IR_OP_TANH: return tanh(x);
    case IR_OP_THRESHOLDED_RELU: return x > p->alpha ? x : 0;
    default: return NAN;
    }
}

/* The unary ops ONNX defines on integers, computed exactly. */
static bool unary_i(IrOp op, int64_t x, int64_t *y)
{
    switch (op) {
    case IR_OP_ABS: *y = x < 0 ? (int64_t)(0 - (uint64_t)x) : x; return true;
    case IR_OP_NEG: *y = (int64_t)(0 - (uint64_t)x); return true;
    case IR_OP_SIGN: *y = x > 0 ? 1 : x < 0 ? -1 : 0; return true;
    case IR_OP_RELU: *y = x < 0 ? 0 : x; return true;
    case IR_OP_BITWISE_NOT: *y = ~x; return true;
    case IR_OP_NOT: *y = !x; return true;
    default: return false;
    }
}

bool ref_unary(RefCx *c)
{
    IrOp op = c->n->op;
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    bool isf = ref_is_float(x->dtype);
    IrDType odt = (ir_op_info[op].flags & F_BOOL_OUT) ? DT_BOOL : x->dtype;
    if (op == IR_OP_NOT && x->dtype != DT_BOOL) return ref_fail(c, "Not expects bool");
    if (op == IR_OP_BITWISE_NOT && !ir_dtype_is_int(x->dtype)) return ref_fail(c, "BitwiseNot expects integers");
    if ((op == IR_OP_IS_INF || op == IR_OP_IS_NAN) && !isf) return ref_fail(c, "%s expects floats", ir_op_name(op));
    UnaryParams p;
    unary_params(c->n, &p);
    /* FastGelu (com.microsoft) adds an optional bias before the activation. */
    const IrTensor *bias = op == IR_OP_MS_FAST_GELU ? ref_in(c, 1) : NULL;
    if (bias) {
        if (!isf || !ref_same_dtype(c, x, bias)) return ref_fail(c, "FastGelu expects float inputs of one dtype");
        const IrTensor *ts[2] = {x, bias};
        RefBcast b;
        if (!ref_bcast_init(c, &b, 2, ts)) return false;
        IrTensor *y = ref_new(c, odt, b.rank, b.shape);
        if (y)
            for (uint64_t i = 0; i < b.numel; i++, ref_bcast_next(&b))
                ref_put(y, i, ref_gelu(ref_get(x, b.off[0]) + ref_get(bias, b.off[1]), true));
        ref_bcast_free(&b);
        ref_set_out(c, 0, y);
        return y != NULL;
    }
    IrTensor *y = ref_new(c, odt, x->rank, x->shape);
    if (!y) return false;
    if (isf) {
        for (uint64_t i = 0; i < x->numel; i++) ref_put(y, i, unary_f(op, ref_get(x, i), &p));
    } else if (op == IR_OP_SHRINK) {
        for (uint64_t i = 0; i < x->numel; i++) ref_put(y, i, unary_f(op, ref_get(x, i), &p));
    } else {
        int64_t v;
        if (x->numel == 0 && !unary_i(op, 0, &v)) return ref_fail(c, "%s is not defined on %s", ir_op_name(op),
                                                                   ir_dtype_name(x->dtype));
        for (uint64_t i = 0; i < x->numel; i++) {
            if (!unary_i(op, ref_geti(x, i), &v))
                return ref_fail(c, "%s is not defined on %s", ir_op_name(op), ir_dtype_name(x->dtype));
            ref_puti(y, i, v);
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

/* ml2candle's GatedAct (fuse_ffn.c): act(gate) · up, the product of a gated FFN (SwiGLU, GeGLU) */
bool ref_gated_act(RefCx *c)
{
    const IrTensor *g = ref_need(c, 0), *u = ref_need(c, 1);
    if (!g || !u || !ref_same_dtype(c, g, u)) return false;
    if (!ref_is_float(g->dtype)) return ref_fail(c, "GatedAct expects floats");
    const char *name = ir_attr_str(c->n, "activation", "");
    UnaryParams p;
    memset(&p, 0, sizeof p);
    IrOp act;
    if (strcmp(name, "silu") == 0) act = IR_OP_SILU;
    else if (strcmp(name, "relu") == 0) act = IR_OP_RELU;
    else if (strcmp(name, "gelu") == 0) act = IR_OP_GELU;
    else if (strcmp(name, "gelu_tanh") == 0) act = IR_OP_GELU, p.tanh_approx = true;
    else if (strcmp(name, "quick_gelu") == 0) act = IR_OP_QUICK_GELU, p.alpha = ir_attr_float(c->n, "alpha", 1.702);
    else return ref_fail(c, "GatedAct: unknown activation '%s'", name);
    const IrTensor *ts[2] = {g, u};
    RefBcast b;
    if (!ref_bcast_init(c, &b, 2, ts)) return false;
    IrTensor *y = ref_new(c, g->dtype, b.rank, b.shape);
    if (y)
        for (uint64_t i = 0; i < b.numel; i++, ref_bcast_next(&b))
            ref_put(y, i, unary_f(act, ref_get(g, b.off[0]), &p) * ref_get(u, b.off[1]));
    ref_bcast_free(&b);
    ref_set_out(c, 0, y);
    return y != NULL;
}

/* Mod with fmod=0: floor modulo, the result takes the divisor's sign (numpy.mod; the spec for floats from
 * opset 28, and what the ONNX reference computes for every opset). */
static double floor_mod(double a, double b)
{
    double r = fmod(a, b);
    if (r == 0) return copysign(0.0, b);
    return (r < 0) != (b < 0) ? r + b : r;
}

static double binary_f(IrOp op, double a, double b, bool fmod_mode)
{
    switch (op) {
    case IR_OP_ADD: return a + b;
    case IR_OP_SUB: return a - b;
    case IR_OP_MUL: return a * b;
    case IR_OP_DIV: return a / b;
    case IR_OP_MOD: return fmod_mode ? fmod(a, b) : floor_mod(a, b);
    case IR_OP_POW: return pow(a, b);
    case IR_OP_EQUAL: return a == b;
    case IR_OP_LESS: return a < b;
    case IR_OP_LESS_OR_EQUAL: return a <= b;
    case IR_OP_GREATER: return a > b;
    case IR_OP_GREATER_OR_EQUAL: return a >= b;
    case IR_OP_PRELU: return a < 0 ? a * b : a;
    case IR_OP_MS_BIAS_GELU: return ref_gelu(a + b, false);
    case IR_OP_AND: return (a != 0) && (b != 0);
    case IR_OP_OR: return (a != 0) || (b != 0);
    case IR_OP_XOR: return (a != 0) != (b != 0);
    default: return NAN;
    }
}

/* Integer power with wrapping; a negative exponent gives the truncated fraction (0 unless |base| is 1). */
static bool ipow(int64_t base, int64_t e, int64_t *out)
{
    if (e < 0) {
        if (base == 0) return false;
        *out = base == 1 ? 1 : base == -1 ? ((e & 1) ? -1 : 1) : 0;
        return true;
    }
    uint64_t r = 1, b = (uint64_t)base;
    for (uint64_t k = (uint64_t)e; k; k >>= 1) {
        if (k & 1) r *= b;
        b *= b;
    }
    *out = (int64_t)r;
    return true;
}

/* Integer ops; false for division by zero, the one case with no defined answer. */
static bool binary_i(IrOp op, int64_t a, int64_t b, bool uns, bool fmod_mode, int64_t *out)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case IR_OP_ADD: *out = (int64_t)(ua + ub); return true;
    case IR_OP_SUB: *out = (int64_t)(ua - ub); return true;
    case IR_OP_MUL: *out = (int64_t)(ua * ub); return true;
    case IR_OP_DIV:   /* truncates toward zero, as C and ONNX Runtime do */
        if (b == 0) return false;
        if (uns) *out = (int64_t)(ua / ub);
        else *out = (a == INT64_MIN && b == -1) ? INT64_MIN : a / b;
        return true;
    case IR_OP_MOD: {
        if (b == 0) return false;
        if (uns) {
            *out = (int64_t)(ua % ub);
            return true;
        }
        int64_t r = b == -1 ? 0 : a % b;
        /* fmod=0: the result takes the divisor's sign (Python); fmod=1: the dividend's (C) */
        if (!fmod_mode && r != 0 && ((r < 0) != (b < 0))) r += b;
        *out = r;
        return true;
    }
    case IR_OP_POW: return ipow(a, b, out);
    case IR_OP_EQUAL: *out = a == b; return true;
    case IR_OP_LESS: *out = uns ? ua < ub : a < b; return true;
    case IR_OP_LESS_OR_EQUAL: *out = uns ? ua <= ub : a <= b; return true;
    case IR_OP_GREATER: *out = uns ? ua > ub : a > b; return true;
    case IR_OP_GREATER_OR_EQUAL: *out = uns ? ua >= ub : a >= b; return true;
    case IR_OP_AND: *out = a && b; return true;
    case IR_OP_OR: *out = a || b; return true;
    case IR_OP_XOR: *out = !a != !b; return true;
    case IR_OP_BITWISE_AND: *out = a & b; return true;
    case IR_OP_BITWISE_OR: *out = a | b; return true;
    case IR_OP_BITWISE_XOR: *out = a ^ b; return true;
    case IR_OP_PRELU: *out = a < 0 ? (int64_t)(ua * ub) : a; return true;
    default: return false;
    }
}

bool ref_binary(RefCx *c)
{
    IrOp op = c->n->op;
    const IrTensor *a = ref_need(c, 0), *b = ref_need(c, 1);
    if (!a || !b) return false;
    /* Pow's exponent may have its own type; every other binary op takes one dtype. */
    if (op != IR_OP_POW && !ref_same_dtype(c, a, b)) return false;
    bool isf = ref_is_float(a->dtype);
    if ((op == IR_OP_AND || op == IR_OP_OR || op == IR_OP_XOR) && a->dtype != DT_BOOL)
        return ref_fail(c, "%s expects bool", ir_op_name(op));
    if ((op == IR_OP_BITWISE_AND || op == IR_OP_BITWISE_OR || op == IR_OP_BITWISE_XOR) && !ir_dtype_is_int(a->dtype))
        return ref_fail(c, "%s expects integers", ir_op_name(op));
    if (op == IR_OP_MS_BIAS_GELU && !isf) return ref_fail(c, "BiasGelu expects floats");
    IrDType odt = (ir_op_info[op].flags & F_BOOL_OUT) ? DT_BOOL : a->dtype;
    const IrTensor *ts[2] = {a, b};
    RefBcast bc;
    if (!ref_bcast_init(c, &bc, 2, ts)) return false;
    IrTensor *y = ref_new(c, odt, bc.rank, bc.shape);
    bool ok = y != NULL;
    bool uns = a->dtype == DT_U64;
    bool fmod_mode = ir_attr_int(c->n, "fmod", 0) != 0;
    /* Integer base with a float exponent: pow in double, then truncated to the base's type. */
    bool fpow = op == IR_OP_POW && !isf && ref_is_float(b->dtype);
    for (uint64_t i = 0; ok && i < bc.numel; i++, ref_bcast_next(&bc)) {
        if (isf || fpow) {
            ref_put(y, i, binary_f(op, ref_get(a, bc.off[0]), ref_get(b, bc.off[1]), fmod_mode));
        } else {
            int64_t v;
            if (!binary_i(op, ref_geti(a, bc.off[0]), ref_geti(b, bc.off[1]), uns, fmod_mode, &v))
                ok = ref_fail(c, "%s: integer division by zero", ir_op_name(op));
            else
                ref_puti(y, i, v);
        }
    }
    ref_bcast_free(&bc);
    if (ok) ref_set_out(c, 0, y);
    return ok;
}

bool ref_variadic(RefCx *c)
{
    IrOp op = c->n->op;
    int nin = (int)c->n->nin;
    const IrTensor **ts = ref_scratch(c, (uint64_t)(nin ? nin : 1), sizeof *ts);
    if (!ts) return false;
    bool ok = nin > 0 || ref_fail(c, "%s without inputs", ir_op_name(op));
    for (int k = 0; ok && k < nin; k++) {
        ts[k] = ref_need(c, (uint32_t)k);
        ok = ts[k] && ref_same_dtype(c, ts[0], ts[k]);
    }
    bool isf = ok && ref_is_float(ts[0]->dtype);
    if (ok && op == IR_OP_MEAN && !isf) ok = ref_fail(c, "Mean expects floats");
    RefBcast b = {0};
    IrTensor *y = NULL;
    if (ok) ok = ref_bcast_init(c, &b, nin, ts) && (y = ref_new(c, ts[0]->dtype, b.rank, b.shape)) != NULL;
    bool uns = ok && ts[0]->dtype == DT_U64;
    for (uint64_t i = 0; ok && i < b.numel; i++, ref_bcast_next(&b)) {
        if (isf) {
            double acc = ref_get(ts[0], b.off[0]);
            for (int k = 1; k < nin; k++) {
                double v = ref_get(ts[k], b.off[k]);
                if (op == IR_OP_SUM || op == IR_OP_MEAN) acc += v;
                else if (isnan(v) || isnan(acc)) acc = NAN;
                else if (op == IR_OP_MAX) acc = v > acc ? v : acc;
                else acc = v < acc ? v : acc;
            }
            ref_put(y, i, op == IR_OP_MEAN ? acc / nin : acc);
        } else {
            int64_t acc = ref_geti(ts[0], b.off[0]);
            for (int k = 1; k < nin; k++) {
                int64_t v = ref_geti(ts[k], b.off[k]);
                bool gt = uns ? (uint64_t)v > (uint64_t)acc : v > acc;
                if (op == IR_OP_SUM) acc = (int64_t)((uint64_t)acc + (uint64_t)v);
                else if (op == IR_OP_MAX) acc = gt ? v : acc;
                else acc = (!gt && v != acc) ? v : acc;
            }
            ref_puti(y, i, acc);
        }
    }
    ref_bcast_free(&b);
    free(ts);
    if (ok) ref_set_out(c, 0, y);
    return ok;
}

bool ref_where(RefCx *c)
{
    const IrTensor *cond = ref_need(c, 0), *x = ref_need(c, 1), *y = ref_need(c, 2);
    if (!cond || !x || !y || !ref_same_dtype(c, x, y)) return false;
    if (cond->dtype != DT_BOOL) return ref_fail(c, "Where expects a bool condition");
    const IrTensor *ts[3] = {cond, x, y};
    RefBcast b;
    if (!ref_bcast_init(c, &b, 3, ts)) return false;
    IrTensor *out = ref_new(c, x->dtype, b.rank, b.shape);
    if (out)
        for (uint64_t i = 0; i < b.numel; i++, ref_bcast_next(&b))
            ref_copy_elem(out, i, ref_geti(cond, b.off[0]) ? x : y, ref_geti(cond, b.off[0]) ? b.off[1] : b.off[2]);
    ref_bcast_free(&b);
    ref_set_out(c, 0, out);
    return out != NULL;
}

bool ref_cast(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    IrDType to;
    if (c->n->op == IR_OP_CAST_LIKE) {
        const IrTensor *like = ref_need(c, 1);
        if (!like) return false;
        to = like->dtype;
    } else {
        to = (IrDType)ir_attr_int(c->n, "to", DT_UNDEF);
    }
    if (!ir_dtype_supported(to) || to == DT_STRING)
        return ref_fail(c, "Cast to %s is not supported", ir_dtype_name(to));
    IrTensor *y = ref_new(c, to, x->rank, x->shape);
    if (!y) return false;
    if (to == x->dtype) {
        if (x->nbytes) memcpy((void *)y->data, x->data, x->nbytes);   /* exact, NaN payloads included */
    } else if (ref_is_float(to)) {
        for (uint64_t i = 0; i < x->numel; i++) {
            /* 64-bit integers to f32 in one rounding, not two through double */
            if (to == DT_F32 && x->dtype == DT_I64) ref_put(y, i, (double)(float)ref_geti(x, i));
            else if (to == DT_F32 && x->dtype == DT_U64) ref_put(y, i, (double)(float)(uint64_t)ref_geti(x, i));
            else ref_put(y, i, ref_get(x, i));
        }
    } else if (ref_is_float(x->dtype)) {
        /* Float to integer truncates toward zero and saturates, NaN gives 0: Rust's `as`, which is what the
         * generated candle code does (ONNX leaves out-of-range values undefined).  ref_put does exactly that. */
        for (uint64_t i = 0; i < x->numel; i++) ref_put(y, i, ref_get(x, i));
    } else {
        for (uint64_t i = 0; i < x->numel; i++) ref_puti(y, i, ref_geti(x, i));   /* integers wrap */
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_clip(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    const IrTensor *tlo = ref_in(c, 1), *thi = ref_in(c, 2);
    bool isf = ref_is_float(x->dtype);
    /* Float bounds may be f32 for f16/f64 data: the importer makes Clip < 11's attributes f32 inputs. */
    for (int k = 0; k < 2; k++) {
        const IrTensor *t = k ? thi : tlo;
        if (t && (isf ? !ref_is_float(t->dtype) : t->dtype != x->dtype)) return ref_same_dtype(c, x, t);
        if (t && t->numel > 1) return ref_fail(c, "Clip bounds must be scalars");
    }
    if (tlo && tlo->numel == 0) tlo = NULL;
    if (thi && thi->numel == 0) thi = NULL;
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    if (isf) {
        double lo = tlo ? ref_get(tlo, 0) : -INFINITY, hi = thi ? ref_get(thi, 0) : INFINITY;
        for (uint64_t i = 0; i < x->numel; i++) {
            double v = ref_get(x, i);
            v = v < lo ? lo : v;   /* max with lo, then min with hi: hi wins when lo > hi */
            ref_put(y, i, v > hi ? hi : v);
        }
    } else {
        bool uns = x->dtype == DT_U64;
        for (uint64_t i = 0; i < x->numel; i++) {
            int64_t v = ref_geti(x, i);
            if (tlo) {
                int64_t lo = ref_geti(tlo, 0);
                if (uns ? (uint64_t)v < (uint64_t)lo : v < lo) v = lo;
            }
            if (thi) {
                int64_t hi = ref_geti(thi, 0);
                if (uns ? (uint64_t)v > (uint64_t)hi : v > hi) v = hi;
            }
            ref_puti(y, i, v);
        }
    }
    ref_set_out(c, 0, y);
    return true;
}

bool ref_dropout(RefCx *c)
{
    const IrTensor *x = ref_need(c, 0);
    if (!x) return false;
    const IrTensor *training = ref_in(c, 2);
    if (training && (training->numel != 1 || ref_geti(training, 0) != 0))
        return ref_fail(c, "Dropout in training mode is random");
    IrTensor *y = ref_view(c, x, x->rank, x->shape);
    if (!y) return false;
    ref_set_out(c, 0, y);
    if (c->n->nout > 1) {
        IrTensor *mask = ref_new(c, DT_BOOL, x->rank, x->shape);
        if (!mask) return false;
        memset((void *)mask->data, 1, mask->nbytes);
        ref_set_out(c, 1, mask);
    }
    return true;
}
