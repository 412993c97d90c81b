/* backends/llvm/expr.c — the kernel IR's expression DAG at one element, as straight-line f32/i64 code with the
 * reference evaluator's semantics (NaN-propagating min/max, saturating float→int casts, ONNX defaults). */
#include "llvm_impl.h"

#include <math.h>
#include <stdlib.h>

LLVMValueRef lw_to_f32(Lw *L, LLVMValueRef v)
{
    return LLVMTypeOf(v) == L->f32 ? v : LLVMBuildSIToFP(L->b, v, L->f32, "");
}

static LLVMValueRef fcmp(Lw *L, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFCmp(L->b, p, a, b, "");
}

static LLVMValueRef sel(Lw *L, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(L->b, c, a, b, "");
}

static LLVMValueRef bool64(Lw *L, LLVMValueRef c) { return LLVMBuildZExt(L->b, c, L->i64, ""); }

static LLVMValueRef nz(Lw *L, LLVMValueRef v)
{
    if (LLVMTypeOf(v) == L->f32) return fcmp(L, LLVMRealUNE, v, lw_f32(L, 0));
    return LLVMBuildICmp(L->b, LLVMIntNE, v, lw_i64(L, 0), "");
}

static LLVMValueRef fmul(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(L->b, a, b, ""); }
static LLVMValueRef fadd(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(L->b, a, b, ""); }

static LLVMValueRef unary(Lw *L, const char *intr, LLVMValueRef x)
{
    LLVMTypeRef t = L->f32;
    return lw_intrinsic(L, intr, &t, 1, &x, 1);
}

static LLVMValueRef clamp01(Lw *L, LLVMValueRef x)
{
    LLVMValueRef z = lw_f32(L, 0), o = lw_f32(L, 1);
    return sel(L, fcmp(L, LLVMRealOLT, x, z), z, sel(L, fcmp(L, LLVMRealOGT, x, o), o, x));
}

/* f32 → i64 as C's (long long) but saturating (no poison for NaN or out-of-range values). */
static LLVMValueRef f2i(Lw *L, LLVMValueRef v)
{
    LLVMTypeRef over[2] = {L->i64, L->f32};
    return lw_intrinsic(L, "llvm.fptosi.sat", over, 2, &v, 1);
}

static LLVMValueRef cast(Lw *L, const KirExpr *e, LLVMValueRef a)
{
    bool isf = LLVMTypeOf(a) == L->f32;
    switch (e->to) {
    case DT_F32: return lw_to_f32(L, a);
    case DT_F16: return lw_math(L, LWM_H2F, lw_math(L, LWM_F2H, lw_to_f32(L, a)));
    case DT_BF16: {
        LLVMValueRef h = LLVMBuildZExt(L->b, lw_math(L, LWM_F2B, lw_to_f32(L, a)), L->i32, "");
        return LLVMBuildBitCast(L->b, LLVMBuildShl(L->b, h, lw_i32(L, 16), ""), L->f32, "");
    }
    case DT_BOOL: return bool64(L, nz(L, a));
    case DT_I64: return isf ? f2i(L, a) : a;
    case DT_I32: case DT_U8: case DT_I8: {
        LLVMValueRef w = isf ? f2i(L, a) : a;
        LLVMTypeRef t = e->to == DT_I32 ? L->i32 : L->i8;
        LLVMValueRef n = LLVMBuildTrunc(L->b, w, t, "");
        return e->to == DT_U8 ? LLVMBuildZExt(L->b, n, L->i64, "") : LLVMBuildSExt(L->b, n, L->i64, "");
    }
    default: M2C_UNREACHABLE();
    }
}

static LLVMValueRef expr(Lw *L, const KirExpr *e, const LLVMValueRef *off, LLVMValueRef acc)
{
    LLVMBuilderRef b = L->b;
    bool f = e->cls == KIR_F32;
    int n = kir_xop_arity(e->op);
    LLVMValueRef a = n > 0 ? L->xv[e->a[0]] : NULL, y = n > 1 ? L->xv[e->a[1]] : NULL;
    LLVMValueRef p0 = lw_f32(L, e->p[0]), p1 = lw_f32(L, e->p[1]), zero = lw_f32(L, 0), one = lw_f32(L, 1);
    /* comparisons and logic take their operands' class; the result is i64 */
    bool af = a && LLVMTypeOf(a) == L->f32;
    switch (e->op) {
    case KX_LOAD: return lw_load(L, e->arg, off[e->arg]);
    case KX_CONST: return f ? lw_f32(L, e->p[0]) : lw_i64(L, (int64_t)e->p[0]);
    case KX_ACC: return f ? lw_to_f32(L, acc) : acc;
    case KX_ADD: return f ? fadd(L, a, y) : LLVMBuildAdd(b, a, y, "");
    case KX_SUB: return f ? LLVMBuildFSub(b, a, y, "") : LLVMBuildSub(b, a, y, "");
    case KX_MUL: return f ? fmul(L, a, y) : LLVMBuildMul(b, a, y, "");
    case KX_DIV: return LLVMBuildFDiv(b, a, y, "");
    case KX_POW: {
        LLVMTypeRef t = L->f32;
        LLVMValueRef ops[2] = {a, y};
        return lw_intrinsic(L, "llvm.pow", &t, 1, ops, 2);
    }
    case KX_MIN: case KX_MAX: {
        bool mx = e->op == KX_MAX;
        if (!f) return mx ? lw_max(L, a, y) : lw_min(L, a, y);
        /* numpy's: a NaN operand wins */
        LLVMValueRef c = LLVMBuildOr(b, fcmp(L, LLVMRealUNO, a, a), fcmp(L, mx ? LLVMRealOGT : LLVMRealOLT, a, y), "");
        return sel(L, c, a, y);
    }
    case KX_PRELU: return sel(L, fcmp(L, LLVMRealOLT, a, zero), fmul(L, a, y), a);
    case KX_EQ: return bool64(L, af ? fcmp(L, LLVMRealOEQ, a, y) : LLVMBuildICmp(b, LLVMIntEQ, a, y, ""));
    case KX_LT: return bool64(L, af ? fcmp(L, LLVMRealOLT, a, y) : LLVMBuildICmp(b, LLVMIntSLT, a, y, ""));
    case KX_LE: return bool64(L, af ? fcmp(L, LLVMRealOLE, a, y) : LLVMBuildICmp(b, LLVMIntSLE, a, y, ""));
    case KX_GT: return bool64(L, af ? fcmp(L, LLVMRealOGT, a, y) : LLVMBuildICmp(b, LLVMIntSGT, a, y, ""));
    case KX_GE: return bool64(L, af ? fcmp(L, LLVMRealOGE, a, y) : LLVMBuildICmp(b, LLVMIntSGE, a, y, ""));
    case KX_AND: return bool64(L, LLVMBuildAnd(b, nz(L, a), nz(L, y), ""));
    case KX_OR: return bool64(L, LLVMBuildOr(b, nz(L, a), nz(L, y), ""));
    case KX_XOR: return bool64(L, LLVMBuildXor(b, nz(L, a), nz(L, y), ""));
    case KX_NOT: return bool64(L, LLVMBuildNot(b, nz(L, a), ""));
    case KX_WHERE: return sel(L, nz(L, a), y, L->xv[e->a[2]]);
    case KX_CAST: return cast(L, e, a);
    case KX_NEG: return f ? LLVMBuildFNeg(b, a, "") : LLVMBuildNeg(b, a, "");
    case KX_ABS:
        if (f) return unary(L, "llvm.fabs", a);
        return sel(L, LLVMBuildICmp(b, LLVMIntSLT, a, lw_i64(L, 0), ""), LLVMBuildNeg(b, a, ""), a);
    case KX_SIGN:
        if (f) return sel(L, fcmp(L, LLVMRealOGT, a, zero), one, sel(L, fcmp(L, LLVMRealOLT, a, zero), lw_f32(L, -1), a));
        return sel(L, LLVMBuildICmp(b, LLVMIntSGT, a, lw_i64(L, 0), ""), lw_i64(L, 1),
                   sel(L, LLVMBuildICmp(b, LLVMIntSLT, a, lw_i64(L, 0), ""), lw_i64(L, -1), lw_i64(L, 0)));
    case KX_RELU:
        if (f) return sel(L, fcmp(L, LLVMRealOLT, a, zero), zero, a);
        return sel(L, LLVMBuildICmp(b, LLVMIntSLT, a, lw_i64(L, 0), ""), lw_i64(L, 0), a);
    case KX_EXP: return lw_math(L, LWM_EXP, a);
    case KX_LOG: return lw_math(L, LWM_LOG, a);
    case KX_SQRT: return unary(L, "llvm.sqrt", a);
    case KX_RECIP: return LLVMBuildFDiv(b, one, a, "");
    case KX_TANH: return lw_math(L, LWM_TANH, a);
    case KX_ERF: return lw_math(L, LWM_ERF, a);
    case KX_SIGMOID: return lw_math(L, LWM_SIGMOID, a);
    case KX_SIN: return lw_libm(L, "sinf", a);
    case KX_COS: return lw_libm(L, "cosf", a);
    case KX_TAN: return lw_libm(L, "tanf", a);
    case KX_SINH: return lw_libm(L, "sinhf", a);
    case KX_COSH: return lw_libm(L, "coshf", a);
    case KX_ASIN: return lw_libm(L, "asinf", a);
    case KX_ACOS: return lw_libm(L, "acosf", a);
    case KX_ATAN: return lw_libm(L, "atanf", a);
    case KX_ASINH: return lw_libm(L, "asinhf", a);
    case KX_ACOSH: return lw_libm(L, "acoshf", a);
    case KX_ATANH: return lw_libm(L, "atanhf", a);
    case KX_FLOOR: return unary(L, "llvm.floor", a);
    case KX_CEIL: return unary(L, "llvm.ceil", a);
    case KX_ROUND: return unary(L, "llvm.rint", a);   /* half to even: the default rounding mode */
    case KX_ISNAN: return bool64(L, fcmp(L, LLVMRealUNO, a, a));
    case KX_ISINF: {
        LLVMValueRef inf = fcmp(L, LLVMRealOEQ, unary(L, "llvm.fabs", a), lw_f32(L, INFINITY));
        LLVMValueRef pos = LLVMBuildAnd(b, fcmp(L, LLVMRealOGT, a, zero), LLVMConstInt(L->i1, e->p[0] != 0, false), "");
        LLVMValueRef neg = LLVMBuildAnd(b, fcmp(L, LLVMRealOLT, a, zero), LLVMConstInt(L->i1, e->p[1] != 0, false), "");
        return bool64(L, LLVMBuildAnd(b, inf, LLVMBuildOr(b, pos, neg, ""), ""));
    }
    case KX_GELU: {
        LLVMValueRef t = lw_math(L, LWM_ERF, fmul(L, a, lw_f32(L, 0.70710678118654752)));
        return fmul(L, fmul(L, lw_f32(L, 0.5), a), fadd(L, one, t));
    }
    case KX_GELU_TANH: {
        LLVMValueRef x3 = fmul(L, fmul(L, fmul(L, lw_f32(L, 0.044715), a), a), a);
        LLVMValueRef t = lw_math(L, LWM_TANH, fmul(L, lw_f32(L, 0.79788456080286536), fadd(L, a, x3)));
        return fmul(L, fmul(L, lw_f32(L, 0.5), a), fadd(L, one, t));
    }
    case KX_SILU: return fmul(L, a, lw_math(L, LWM_SIGMOID, a));
    case KX_SWISH: return fmul(L, a, lw_math(L, LWM_SIGMOID, fmul(L, p0, a)));
    case KX_MISH: {
        LLVMValueRef sp = fadd(L, sel(L, fcmp(L, LLVMRealOGT, a, zero), a, zero),
                               lw_math(L, LWM_LOG1P, lw_math(L, LWM_EXP, LLVMBuildFNeg(b, unary(L, "llvm.fabs", a), ""))));
        return fmul(L, a, lw_math(L, LWM_TANH, sp));
    }
    case KX_SOFTPLUS:
        /* max(x, 0) + log1p(exp(-|x|)): no overflow either way */
        return fadd(L, sel(L, fcmp(L, LLVMRealOGT, a, zero), a, zero),
                    lw_math(L, LWM_LOG1P, lw_math(L, LWM_EXP, LLVMBuildFNeg(b, unary(L, "llvm.fabs", a), ""))));
    case KX_SOFTSIGN: return LLVMBuildFDiv(b, a, fadd(L, one, unary(L, "llvm.fabs", a)), "");
    case KX_LEAKY_RELU: return sel(L, fcmp(L, LLVMRealOGE, a, zero), a, fmul(L, p0, a));
    case KX_ELU: return sel(L, fcmp(L, LLVMRealOGE, a, zero), a, fmul(L, p0, lw_math(L, LWM_EXPM1, a)));
    case KX_CELU:
        return sel(L, fcmp(L, LLVMRealOGT, a, zero), a, fmul(L, p0, lw_math(L, LWM_EXPM1, LLVMBuildFDiv(b, a, p0, ""))));
    case KX_SELU:
        return sel(L, fcmp(L, LLVMRealOGT, a, zero), fmul(L, p1, a), fmul(L, fmul(L, p1, p0), lw_math(L, LWM_EXPM1, a)));
    case KX_THRESHOLDED_RELU: return sel(L, fcmp(L, LLVMRealOGT, a, p0), a, zero);
    case KX_HARD_SIGMOID: return clamp01(L, fadd(L, fmul(L, p0, a), p1));
    case KX_HARD_SWISH: return fmul(L, a, clamp01(L, fadd(L, fmul(L, a, lw_f32(L, 1.0 / 6.0)), lw_f32(L, 0.5))));
    case KX_SHRINK: {
        LLVMValueRef lo = fcmp(L, LLVMRealOLT, a, LLVMBuildFNeg(b, p0, "")), hi = fcmp(L, LLVMRealOGT, a, p0);
        return sel(L, lo, fadd(L, a, p1), sel(L, hi, LLVMBuildFSub(b, a, p1, ""), zero));
    }
    case KX_COUNT: break;
    }
    M2C_UNREACHABLE();
}

static void reach(const KirGroup *k, uint32_t root, bool *seen)
{
    if (seen[root]) return;
    seen[root] = true;
    const KirExpr *e = &k->ex.v[root];
    for (int j = 0; j < kir_xop_arity(e->op); j++) reach(k, e->a[j], seen);
}

LLVMValueRef lw_dag(Lw *L, uint32_t root, const LLVMValueRef *off, LLVMValueRef acc)
{
    const KirGroup *k = L->k;
    bool *seen = calloc(k->ex.n, 1);
    reach(k, root, seen);
    /* operands always have smaller ids than their users: id order is an evaluation order */
    for (uint32_t i = 0; i < k->ex.n; i++) {
        if (!seen[i]) continue;
        const KirExpr *e = &k->ex.v[i];
        LLVMValueRef v = expr(L, e, off, acc);
        /* the class the kernel IR says (an i64 operand of a float op was cast where the IR built it) */
        if (e->cls == KIR_F32 && LLVMTypeOf(v) != L->f32) v = lw_to_f32(L, v);
        else if (e->cls == KIR_I64 && LLVMTypeOf(v) == L->f32) v = f2i(L, v);
        L->xv[i] = v;
    }
    free(seen);
    return L->xv[root];
}
