/* backends/candle/lower_eltwise.c — elementwise ops: unary math and activations, binary ops with
 * numpy broadcasting (candle never broadcasts implicitly: broadcast_* unless the shapes are the same),
 * comparisons and logic on U8 "bools", casts, Where, Clip, variadic Max/Min/Sum/Mean.
 *
 * Scalars that are constants become f64 literals (`(&x * 0.5)?`), which candle converts to the tensor's
 * dtype.  Math candle has no kernel for (tan, asin, ...) or has only for floats goes through the
 * `map_f64` helper, computed on the host. */
#include "cg.h"

#include <string.h>

static IrDType out_dtype(CgFn *f, const IrNode *n)
{
    return ir_val(f->g, n->out[0])->dtype;
}

static IrDType in_dtype(CgFn *f, const IrNode *n, uint32_t i)
{
    return ir_val(f->g, n->in[i])->dtype;
}

static bool same_shape(CgFn *f, uint32_t a, uint32_t b)
{
    const IrValue *x = ir_val(f->g, a), *y = ir_val(f->g, b);
    if (x->rank != y->rank || x->rank < 0) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return false;
    return true;
}

/* y = x.method()? */
static bool unary(CgFn *f, const IrNode *n, const char *method)
{
    const char *x = cg_in(f, n, 0);
    cg_stmt(f, "let %s = %s.%s()?;", cg_out(f, n, 0), x, method);
    return true;
}

/* y = map_f64(x, |v| expr) — host fallback */
static bool host_map(CgFn *f, const IrNode *n, const char *closure)
{
    const char *h = cg_helper(f, CG_HELPER_MAP_F64);
    const char *x = cg_in_ref(f, n, 0);
    cg_stmt(f, "let %s = %s(%s, %s)?;", cg_out(f, n, 0), h, x, closure);
    return true;
}

static const char *binary_method(IrOp op)
{
    switch (op) {
    case IR_OP_ADD: return "add";
    case IR_OP_SUB: return "sub";
    case IR_OP_MUL: return "mul";
    case IR_OP_DIV: return "div";
    case IR_OP_EQUAL: return "eq";
    case IR_OP_LESS: return "lt";
    case IR_OP_LESS_OR_EQUAL: return "le";
    case IR_OP_GREATER: return "gt";
    case IR_OP_GREATER_OR_EQUAL: return "ge";
    case IR_OP_MAX: return "maximum";
    case IR_OP_MIN: return "minimum";
    default: return NULL;
    }
}

static const char *mirrored(const char *method)
{
    if (!strcmp(method, "lt")) return "gt";
    if (!strcmp(method, "gt")) return "lt";
    if (!strcmp(method, "le")) return "ge";
    if (!strcmp(method, "ge")) return "le";
    return method;
}

/* out = a OP b with broadcasting; a scalar constant on one side of a comparison, maximum or minimum is a
 * literal (candle converts it to the other side's dtype). */
static void tensor_binary(CgFn *f, const char *out, const char *method, uint32_t a, uint32_t b)
{
    double c;
    bool scalar_ok = !strcmp(method, "eq") || !strcmp(method, "ne") || !strcmp(method, "lt") || !strcmp(method, "le") ||
                     !strcmp(method, "gt") || !strcmp(method, "ge") || !strcmp(method, "maximum") ||
                     !strcmp(method, "minimum");
    if (scalar_ok && cg_scalar_const(f, b, &c) && ir_val(f->g, a)->rank >= ir_val(f->g, b)->rank) {
        cg_stmt(f, "let %s = %s.%s(%s)?;", out, cg_v(f, a), method, cg_scalar_lit(f, b));
        return;
    }
    if (scalar_ok && cg_scalar_const(f, a, &c) && ir_val(f->g, b)->rank >= ir_val(f->g, a)->rank) {
        cg_stmt(f, "let %s = %s.%s(%s)?;", out, cg_v(f, b), mirrored(method), cg_scalar_lit(f, a));
        return;
    }
    if (same_shape(f, a, b))
        cg_stmt(f, "let %s = %s.%s(%s)?;", out, cg_v(f, a), method, cg_ref(f, b));
    else
        cg_stmt(f, "let %s = %s.broadcast_%s(%s)?;", out, cg_v(f, a), method, cg_ref(f, b));
}

/* Add/Sub/Mul/Div with a scalar constant on either side, for float outputs: an f64 literal. */
static bool scalar_arith(CgFn *f, const IrNode *n)
{
    if (!ir_dtype_is_float(out_dtype(f, n))) return false;
    double c;
    uint32_t a = n->in[0], b = n->in[1];
    const IrValue *out = ir_val(f->g, n->out[0]);
    bool rhs = cg_scalar_const(f, b, &c) && same_shape(f, a, n->out[0]);
    bool lhs = !rhs && cg_scalar_const(f, a, &c) && same_shape(f, b, n->out[0]);
    (void)out;
    if (!rhs && !lhs) return false;
    const char *x = cg_ref(f, rhs ? a : b), *lit = cg_scalar_lit(f, rhs ? b : a), *y = cg_out(f, n, 0);
    switch (n->op) {
    case IR_OP_ADD: cg_stmt(f, "let %s = (%s + %s)?;", y, x, lit); return true;
    case IR_OP_MUL: cg_stmt(f, "let %s = (%s * %s)?;", y, x, lit); return true;
    case IR_OP_SUB:
        if (rhs) cg_stmt(f, "let %s = (%s - %s)?;", y, x, lit);
        else cg_stmt(f, "let %s = %s.affine(-1.0, %s)?;", y, cg_v(f, b), lit);
        return true;
    case IR_OP_DIV:
        if (rhs) cg_stmt(f, "let %s = (%s / %s)?;", y, x, lit);
        else if (c == 1.0) cg_stmt(f, "let %s = %s.recip()?;", y, cg_v(f, b));
        else cg_stmt(f, "let %s = (%s.recip()? * %s)?;", y, cg_v(f, b), lit);
        return true;
    default: return false;
    }
}

static bool binary(CgFn *f, const IrNode *n)
{
    const char *method = binary_method(n->op);
    if (scalar_arith(f, n)) return true;
    tensor_binary(f, cg_out(f, n, 0), method, n->in[0], n->in[1]);
    return true;
}

/* A binary op candle lacks, on the host in f64 with broadcasting. */
static bool host_binary(CgFn *f, const IrNode *n, const char *closure)
{
    const char *h = cg_helper(f, CG_HELPER_MAP2_F64);
    cg_stmt(f, "let %s = %s(%s, %s, %s)?;", cg_out(f, n, 0), h, cg_in_ref(f, n, 0), cg_in_ref(f, n, 1), closure);
    return true;
}

static bool variadic(CgFn *f, const IrNode *n)
{
    const char *method = n->op == IR_OP_MAX ? "maximum" : n->op == IR_OP_MIN ? "minimum" : "add";
    if (n->nin == 1) {
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        return true;
    }
    const char *acc = cg_fresh(f, n->op == IR_OP_MEAN || n->op == IR_OP_SUM ? "sum" : method);
    tensor_binary(f, n->op == IR_OP_MEAN ? acc : n->nin == 2 ? cg_out(f, n, 0) : acc, method, n->in[0], n->in[1]);
    for (uint32_t i = 2; i < n->nin; i++) {
        bool last = i + 1 == n->nin && n->op != IR_OP_MEAN;
        const char *dst = last ? cg_out(f, n, 0) : acc;
        cg_stmt(f, "let %s = %s.broadcast_%s(%s)?;", dst, acc, method, cg_in_ref(f, n, i));
    }
    if (n->op == IR_OP_MEAN) cg_stmt(f, "let %s = (%s / %u.0)?;", cg_out(f, n, 0), acc, n->nin);
    return true;
}

static bool cast(CgFn *f, const IrNode *n, IrDType to)
{
    IrDType from = in_dtype(f, n, 0);
    const char *x = cg_in(f, n, 0), *y = cg_out(f, n, 0);
    if (to == DT_BOOL && from != DT_BOOL)
        cg_stmt(f, "let %s = %s.ne(0.0)?;", y, x);
    else if (cg_storage_dtype(from) == cg_storage_dtype(to))
        cg_stmt(f, "let %s = %s.clone();", y, x);
    else
        cg_stmt(f, "let %s = %s.to_dtype(%s)?;", y, x, cg_candle_dtype(to));
    return true;
}

static bool where_(CgFn *f, const IrNode *n)
{
    const char *shape = cg_shape_of(f, n->out[0]);
    const char *c = cg_fresh(f, "cond"), *t = cg_fresh(f, "on_true"), *e = cg_fresh(f, "on_false");
    cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", c, cg_in(f, n, 0), shape);
    cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", t, cg_in(f, n, 1), shape);
    cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", e, cg_in(f, n, 2), shape);
    cg_stmt(f, "let %s = %s.where_cond(&%s, &%s)?;", cg_out(f, n, 0), c, t, e);
    return true;
}

static bool clip(CgFn *f, const IrNode *n)
{
    const char *cur = cg_in(f, n, 0);
    uint32_t lo = ir_input(n, 1), hi = ir_input(n, 2);
    double c;
    const char *y = cg_out(f, n, 0);
    if (lo == IR_NONE && hi == IR_NONE) {
        cg_stmt(f, "let %s = %s.clone();", y, cur);
        return true;
    }
    const char *tmp = hi != IR_NONE && lo != IR_NONE ? cg_fresh(f, "clipped") : y;
    if (lo != IR_NONE) {
        if (cg_scalar_const(f, lo, &c)) cg_stmt(f, "let %s = %s.maximum(%s)?;", tmp, cur, cg_scalar_lit(f, lo));
        else cg_stmt(f, "let %s = %s.broadcast_maximum(%s)?;", tmp, cur, cg_ref(f, lo));
        cur = tmp;
    }
    if (hi != IR_NONE) {
        if (cg_scalar_const(f, hi, &c)) cg_stmt(f, "let %s = %s.minimum(%s)?;", y, cur, cg_scalar_lit(f, hi));
        else cg_stmt(f, "let %s = %s.broadcast_minimum(%s)?;", y, cur, cg_ref(f, hi));
    }
    return true;
}

/* Activations and math with attributes. */
static bool activation(CgFn *f, const IrNode *n)
{
    const char *x = cg_in(f, n, 0), *xr = cg_in_ref(f, n, 0);
    const char *y = cg_out(f, n, 0);
    M2cArena *a = f->a;
    double alpha, beta;
    switch (n->op) {
    case IR_OP_SIGMOID:
        cg_stmt(f, "let %s = candle_nn::ops::sigmoid(%s)?;", y, xr);
        return true;
    case IR_OP_SOFTPLUS:
        cg_stmt(f, "let %s = (%s.exp()? + 1.0)?.log()?;", y, x);
        return true;
    case IR_OP_SOFTSIGN:
        cg_stmt(f, "let %s = %s.div(&(%s.abs()? + 1.0)?)?;", y, x, x);
        return true;
    case IR_OP_ELU:
        cg_stmt(f, "let %s = %s.elu(%s)?;", y, x, cg_f32(a, ir_attr_float(n, "alpha", 1.0)));
        return true;
    case IR_OP_SELU:
        alpha = ir_attr_float(n, "alpha", 1.67326319217681884765625);
        beta = ir_attr_float(n, "gamma", 1.05070102214813232421875);
        cg_stmt(f, "let %s = (%s.elu(%s)? * %s)?;", y, x, cg_f32(a, alpha), cg_f32(a, beta));
        return true;
    case IR_OP_CELU:
        alpha = ir_attr_float(n, "alpha", 1.0);
        cg_stmt(f, "let %s = (%s.relu()? + ((((%s / %s)?.exp()? - 1.0)? * %s)?.minimum(0.0))?)?;", y, x, xr,
                cg_f32(a, alpha), cg_f32(a, alpha));
        return true;
    case IR_OP_LEAKY_RELU:
        cg_stmt(f, "let %s = candle_nn::ops::leaky_relu(%s, %s)?;", y, xr, cg_f32(a, ir_attr_float(n, "alpha", 0.01)));
        return true;
    case IR_OP_HARD_SIGMOID:
        cg_stmt(f, "let %s = %s.affine(%s, %s)?.clamp(0.0, 1.0)?;", y, x, cg_f32(a, ir_attr_float(n, "alpha", 0.2)),
                cg_f32(a, ir_attr_float(n, "beta", 0.5)));
        return true;
    case IR_OP_HARD_SWISH:
        cg_stmt(f, "let %s = (%s * %s.affine(1.0 / 6.0, 0.5)?.clamp(0.0, 1.0)?)?;", y, xr, x);
        return true;
    case IR_OP_MISH:
        cg_stmt(f, "let %s = (%s * (%s.exp()? + 1.0)?.log()?.tanh()?)?;", y, xr, x);
        return true;
    case IR_OP_SWISH:
        alpha = ir_attr_float(n, "alpha", 1.0);
        if (alpha == 1.0) cg_stmt(f, "let %s = %s.silu()?;", y, x);
        else cg_stmt(f, "let %s = (%s * candle_nn::ops::sigmoid(&(%s * %s)?)?)?;", y, xr, xr, cg_f32(a, alpha));
        return true;
    case IR_OP_THRESHOLDED_RELU:
        alpha = ir_attr_float(n, "alpha", 1.0);
        cg_stmt(f, "let %s = (%s * %s.gt(%s)?.to_dtype(%s.dtype())?)?;", y, xr, x, cg_f32(a, alpha), x);
        return true;
    case IR_OP_SHRINK: {
        double bias = ir_attr_float(n, "bias", 0.0), lambd = ir_attr_float(n, "lambd", 0.5);
        const char *h = cg_helper(f, CG_HELPER_MAP_F64);
        cg_stmt(f, "let %s = %s(%s, |v| if v < -%s { v + %s } else if v > %s { v - %s } else { 0.0 })?;", y, h, xr,
                cg_f32(a, lambd), cg_f32(a, bias), cg_f32(a, lambd), cg_f32(a, bias));
        return true;
    }
    case IR_OP_IS_NAN:
        cg_stmt(f, "let %s = %s.ne(%s)?;", y, x, xr);
        return true;
    case IR_OP_IS_INF: {
        bool pos = ir_attr_int(n, "detect_positive", 1) != 0, neg = ir_attr_int(n, "detect_negative", 1) != 0;
        if (pos && neg) cg_stmt(f, "let %s = %s.abs()?.eq(f64::INFINITY)?;", y, x);
        else if (pos) cg_stmt(f, "let %s = %s.eq(f64::INFINITY)?;", y, x);
        else if (neg) cg_stmt(f, "let %s = %s.eq(f64::NEG_INFINITY)?;", y, x);
        else cg_stmt(f, "let %s = %s.zeros_like()?.to_dtype(DType::U8)?;", y, x);
        return true;
    }
    case IR_OP_GELU:
    case IR_OP_MS_GELU:
        return unary(f, n, n->op == IR_OP_GELU && strcmp(ir_attr_str(n, "approximate", "none"), "tanh") == 0
                               ? "gelu"
                               : "gelu_erf");
    case IR_OP_MS_FAST_GELU:
    case IR_OP_MS_BIAS_GELU:
        if (ir_input(n, 1) != IR_NONE) {
            const char *biased = cg_fresh(f, "biased");
            tensor_binary(f, biased, "add", n->in[0], n->in[1]);
            cg_stmt(f, "let %s = %s.%s()?;", y, biased, n->op == IR_OP_MS_FAST_GELU ? "gelu" : "gelu_erf");
            return true;
        }
        return unary(f, n, n->op == IR_OP_MS_FAST_GELU ? "gelu" : "gelu_erf");
    case IR_OP_PRELU: {
        const char *neg = cg_fresh(f, "negative");
        cg_stmt(f, "let %s = %s.minimum(0.0)?.broadcast_mul(%s)?;", neg, x, cg_in_ref(f, n, 1));
        cg_stmt(f, "let %s = %s.relu()?.broadcast_add(&%s)?;", y, x, neg);
        return true;
    }
    default:
        return false;
    }
}

bool cg_lower_eltwise(CgFn *f, const IrNode *n)
{
    IrDType t = n->nin ? in_dtype(f, n, 0) : DT_UNDEF;
    bool fl = ir_dtype_is_float(t);
    switch (n->op) {
    case IR_OP_IDENTITY:
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        return true;
    case IR_OP_ABS: return fl || t == DT_I64 ? unary(f, n, "abs") : host_map(f, n, "f64::abs");
    case IR_OP_NEG:
        if (fl) return unary(f, n, "neg");
        /* candle's neg has no integer kernel (todo!() at run time); affine has */
        cg_stmt(f, "let %s = %s.affine(-1.0, 0.0)?;", cg_out(f, n, 0), cg_in(f, n, 0));
        return true;
    case IR_OP_SIGN: return fl ? unary(f, n, "sign") : host_map(f, n, "f64::signum");
    case IR_OP_EXP: return unary(f, n, "exp");
    case IR_OP_LOG: return unary(f, n, "log");
    case IR_OP_SQRT: return unary(f, n, "sqrt");
    case IR_OP_RECIPROCAL: return unary(f, n, "recip");
    case IR_OP_SIN: return unary(f, n, "sin");
    case IR_OP_COS: return unary(f, n, "cos");
    case IR_OP_TANH: return unary(f, n, "tanh");
    case IR_OP_RELU: return fl ? unary(f, n, "relu") : host_map(f, n, "|v| v.max(0.0)");
    case IR_OP_ERF: return unary(f, n, "erf");
    case IR_OP_CEIL: return unary(f, n, "ceil");
    case IR_OP_FLOOR: return unary(f, n, "floor");
    case IR_OP_TAN: return host_map(f, n, "f64::tan");
    case IR_OP_ASIN: return host_map(f, n, "f64::asin");
    case IR_OP_ACOS: return host_map(f, n, "f64::acos");
    case IR_OP_ATAN: return host_map(f, n, "f64::atan");
    case IR_OP_SINH: return host_map(f, n, "f64::sinh");
    case IR_OP_COSH: return host_map(f, n, "f64::cosh");
    case IR_OP_ASINH: return host_map(f, n, "f64::asinh");
    case IR_OP_ACOSH: return host_map(f, n, "f64::acosh");
    case IR_OP_ATANH: return host_map(f, n, "f64::atanh");
    case IR_OP_ROUND:
        cg_stmt(f, "let %s = %s(%s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_ROUND_HALF_EVEN), cg_in_ref(f, n, 0));
        return true;
    case IR_OP_NOT:
        cg_stmt(f, "let %s = %s.eq(0.0)?;", cg_out(f, n, 0), cg_in(f, n, 0));
        return true;
    case IR_OP_BITWISE_NOT: {
        if (ir_dtype_is_signed(t)) return host_map(f, n, "|v| !(v as i64) as f64");
        size_t bits = 8 * ir_dtype_size(t);
        unsigned long long mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
        return host_map(f, n, m2c_sprintf(f->a, "|v| (!(v as u64) & 0x%llx) as f64", mask));
    }
    case IR_OP_ADD: case IR_OP_SUB: case IR_OP_MUL: case IR_OP_DIV:
    case IR_OP_EQUAL: case IR_OP_LESS: case IR_OP_LESS_OR_EQUAL: case IR_OP_GREATER: case IR_OP_GREATER_OR_EQUAL:
        return binary(f, n);
    case IR_OP_AND:
    case IR_OP_OR: {
        /* with a constant side: x & true = x, x | false = x (the shapes permitting) */
        double c;
        for (int side = 0; side < 2; side++) {
            uint32_t k = n->in[side], x = n->in[1 - side];
            if (cg_scalar_const(f, k, &c) && same_shape(f, x, n->out[0]) && (c != 0) == (n->op == IR_OP_AND)) {
                cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_v(f, x));
                return true;
            }
        }
        tensor_binary(f, cg_out(f, n, 0), n->op == IR_OP_AND ? "mul" : "maximum", n->in[0], n->in[1]);
        return true;
    }
    case IR_OP_XOR:
        tensor_binary(f, cg_out(f, n, 0), "ne", n->in[0], n->in[1]);
        return true;
    case IR_OP_BITWISE_AND: return host_binary(f, n, "|a, b| ((a as i64) & (b as i64)) as f64");
    case IR_OP_BITWISE_OR: return host_binary(f, n, "|a, b| ((a as i64) | (b as i64)) as f64");
    case IR_OP_BITWISE_XOR: return host_binary(f, n, "|a, b| ((a as i64) ^ (b as i64)) as f64");
    case IR_OP_POW: {
        double e;
        if (fl && cg_scalar_const(f, n->in[1], &e) && same_shape(f, n->in[0], n->out[0])) {
            const char *x = cg_in(f, n, 0), *y = cg_out(f, n, 0);
            if (e == 2.0) cg_stmt(f, "let %s = %s.sqr()?;", y, x);
            else if (e == 0.5) cg_stmt(f, "let %s = %s.sqrt()?;", y, x);
            else if (e == 1.0) cg_stmt(f, "let %s = %s.clone();", y, x);
            else cg_stmt(f, "let %s = %s.powf(%s)?;", y, x, cg_f64(f->a, e));
            return true;
        }
        return host_binary(f, n, ir_dtype_is_float(out_dtype(f, n)) ? "f64::powf" : "|a, b| (a as i64).pow(b as u32) as f64");
    }
    case IR_OP_MOD:
        if (ir_attr_int(n, "fmod", 0)) return host_binary(f, n, "|a, b| a % b");
        return host_binary(f, n, "|a, b| { let r = a % b; if r != 0.0 && (r < 0.0) != (b < 0.0) { r + b } else { r } }");
    case IR_OP_MAX: case IR_OP_MIN: case IR_OP_SUM: case IR_OP_MEAN:
        return variadic(f, n);
    case IR_OP_CAST:
        return cast(f, n, (IrDType)ir_attr_int(n, "to", DT_F32));
    case IR_OP_CAST_LIKE:
        return cast(f, n, in_dtype(f, n, 1));
    case IR_OP_WHERE:
        return where_(f, n);
    case IR_OP_CLIP:
        return clip(f, n);
    default:
        if (activation(f, n)) return true;
        return cg_unsupported(f, n, "not an elementwise op");
    }
}
