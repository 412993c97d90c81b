/* backends/llvm/math.c — f32 math as our own IR: exp, expm1, log, log1p, tanh, erf, sigmoid and the 16-bit
 * float conversions, each an internal always-inline function defined once per module.
 *
 * Why not libm: a call to expf keeps a loop scalar (LLVM 14 vectorizes libm calls only with a vector library
 * wired in, which the JIT and a portable static library cannot assume), and an f16 conversion without F16C
 * (x86-64-v2) is a libcall too.  These are branchless (selects), so they vectorize, and they give the same
 * bits under the JIT and in the AOT library.  Accuracy: a few ulp over the whole f32 range (exp/log: Cody–Waite
 * reduction and Taylor polynomials; erf: a rational fit, erf_body); DESIGN §6 asks 1e-5. */
#include "llvm_impl.h"

#include <math.h>
#include <string.h>

typedef LLVMValueRef (*MathBody)(Lw *L, LLVMValueRef x);

static LLVMValueRef f(Lw *L, double v) { return lw_f32(L, v); }
static LLVMValueRef mul(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(L->b, a, b, ""); }
static LLVMValueRef add(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(L->b, a, b, ""); }
static LLVMValueRef sub(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(L->b, a, b, ""); }
static LLVMValueRef sel(Lw *L, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildSelect(L->b, c, a, b, "");
}
static LLVMValueRef cmp(Lw *L, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildFCmp(L->b, p, a, b, "");
}
static LLVMValueRef bits(Lw *L, LLVMValueRef x) { return LLVMBuildBitCast(L->b, x, L->i32, ""); }
static LLVMValueRef flt(Lw *L, LLVMValueRef i) { return LLVMBuildBitCast(L->b, i, L->f32, ""); }
static LLVMValueRef fabs_(Lw *L, LLVMValueRef x)
{
    LLVMTypeRef t = L->f32;
    return lw_intrinsic(L, "llvm.fabs", &t, 1, &x, 1);
}
static LLVMValueRef copysign_(Lw *L, LLVMValueRef mag, LLVMValueRef sgn)
{
    LLVMTypeRef t = L->f32;
    LLVMValueRef a[2] = {mag, sgn};
    return lw_intrinsic(L, "llvm.copysign", &t, 1, a, 2);
}

/* c[0] + x·(c[1] + x·(... c[n-1])), each step an llvm.fmuladd: one FMA where the CPU has it (x86-64-v3),
 * a multiply and an add where not — either is within the polynomials' error budget */
static LLVMValueRef horner(Lw *L, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef p = f(L, c[n - 1]);
    for (int i = n - 2; i >= 0; i--) p = lw_fma(L, p, x, f(L, c[i]));
    return p;
}

static LLVMValueRef define(Lw *L, const char *name, LLVMTypeRef ret, LLVMTypeRef arg, MathBody body, LLVMValueRef x)
{
    LLVMValueRef fn = LLVMGetNamedFunction(L->m, name);
    if (!fn) {
        fn = LLVMAddFunction(L->m, name, LLVMFunctionType(ret, &arg, 1, false));
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        const char *attrs[] = {"alwaysinline", "nounwind", "readnone"};
        for (int i = 0; i < 3; i++) {
            unsigned kind = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(L->cx, kind, 0));
        }
        LLVMBuilderRef b = L->b;
        LLVMValueRef cur = L->fn;
        L->b = LLVMCreateBuilderInContext(L->cx);
        L->fn = fn;
        LLVMPositionBuilderAtEnd(L->b, LLVMAppendBasicBlockInContext(L->cx, fn, "entry"));
        LLVMBuildRet(L->b, body(L, LLVMGetParam(fn, 0)));
        LLVMDisposeBuilder(L->b);
        L->b = b;
        L->fn = cur;
    }
    return lw_call(L, fn, &x, 1);
}

static const double LN2_HI = 0.693359375, LN2_LO = -2.12194440054690583e-4;   /* LN2_HI·n is exact for |n| < 2^15 */

/* exp(x) = 2^n·exp(r), r = x - n·ln2 in [-ln2/2, ln2/2]; 2^n applied in two halves so that results down to
 * the subnormals and up to the overflow are rounded once. */
static LLVMValueRef exp_body(Lw *L, LLVMValueRef x)
{
    LLVMValueRef xc = sel(L, cmp(L, LLVMRealOGE, x, f(L, -110)), x, f(L, -110));   /* NaN → -110, fixed below */
    xc = sel(L, cmp(L, LLVMRealOLE, xc, f(L, 89)), xc, f(L, 89));
    LLVMTypeRef t = L->f32;
    LLVMValueRef y = mul(L, xc, f(L, 1.4426950408889634));
    LLVMValueRef n = lw_intrinsic(L, "llvm.rint", &t, 1, &y, 1);
    LLVMValueRef r = sub(L, sub(L, xc, mul(L, n, f(L, LN2_HI))), mul(L, n, f(L, LN2_LO)));
    static const double c[8] = {1, 1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040};
    LLVMValueRef p = horner(L, r, c, 8);
    LLVMValueRef ni = LLVMBuildFPToSI(L->b, n, L->i32, "");
    LLVMValueRef n1 = LLVMBuildAShr(L->b, ni, lw_i32(L, 1), ""), n2 = LLVMBuildSub(L->b, ni, n1, "");
    LLVMValueRef s1 = flt(L, LLVMBuildShl(L->b, LLVMBuildAdd(L->b, n1, lw_i32(L, 127), ""), lw_i32(L, 23), ""));
    LLVMValueRef s2 = flt(L, LLVMBuildShl(L->b, LLVMBuildAdd(L->b, n2, lw_i32(L, 127), ""), lw_i32(L, 23), ""));
    LLVMValueRef res = mul(L, mul(L, p, s1), s2);
    return sel(L, cmp(L, LLVMRealUNO, x, x), x, res);
}

/* exp(x) - 1 without the cancellation near 0: Taylor to x⁹ below |x| = 0.5 */
static LLVMValueRef expm1_body(Lw *L, LLVMValueRef x)
{
    static const double c[9] = {1, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
                                1.0 / 362880};
    LLVMValueRef small = mul(L, x, horner(L, x, c, 9));
    LLVMValueRef big = sub(L, lw_math(L, LWM_EXP, x), f(L, 1));
    return sel(L, cmp(L, LLVMRealOLT, fabs_(L, x), f(L, 0.5)), small, big);
}

/* log(x) = e·ln2 + 2·atanh(s), x = m·2^e with m in [√½, √2), s = (m-1)/(m+1), |s| < 0.172 */
static LLVMValueRef log_body(Lw *L, LLVMValueRef x)
{
    LLVMValueRef sub_ = cmp(L, LLVMRealOLT, x, f(L, 1.17549435e-38));
    LLVMValueRef xs = sel(L, sub_, mul(L, x, f(L, 8388608.0)), x);   /* subnormals scaled by 2^23 */
    LLVMValueRef bi = bits(L, xs);
    LLVMValueRef e = LLVMBuildSub(L->b, LLVMBuildLShr(L->b, bi, lw_i32(L, 23), ""), lw_i32(L, 127), "");
    LLVMValueRef m = flt(L, LLVMBuildOr(L->b, LLVMBuildAnd(L->b, bi, lw_i32(L, 0x7fffff), ""), lw_i32(L, 0x3f800000), ""));
    LLVMValueRef big = cmp(L, LLVMRealOGT, m, f(L, 1.41421356237309505));
    m = sel(L, big, mul(L, m, f(L, 0.5)), m);
    e = LLVMBuildAdd(L->b, e, LLVMBuildZExt(L->b, big, L->i32, ""), "");
    e = LLVMBuildSub(L->b, e, sel(L, sub_, lw_i32(L, 23), lw_i32(L, 0)), "");
    LLVMValueRef s = LLVMBuildFDiv(L->b, sub(L, m, f(L, 1)), add(L, m, f(L, 1)), "");
    static const double c[6] = {1, 1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11};
    LLVMValueRef lm = mul(L, mul(L, f(L, 2), s), horner(L, mul(L, s, s), c, 6));
    LLVMValueRef ef = LLVMBuildSIToFP(L->b, e, L->f32, "");
    LLVMValueRef res = add(L, mul(L, ef, f(L, LN2_HI)), add(L, lm, mul(L, ef, f(L, LN2_LO))));
    res = sel(L, cmp(L, LLVMRealOEQ, x, f(L, INFINITY)), x, res);
    res = sel(L, cmp(L, LLVMRealOEQ, x, f(L, 0)), f(L, -INFINITY), res);
    res = sel(L, cmp(L, LLVMRealOLT, x, f(L, 0)), f(L, NAN), res);
    return sel(L, cmp(L, LLVMRealUNO, x, x), x, res);
}

/* log(1+y) = log(u)·y/(u-1), u = 1+y rounded: the rounding of u cancels (Goldberg's trick) */
static LLVMValueRef log1p_body(Lw *L, LLVMValueRef y)
{
    LLVMValueRef u = add(L, f(L, 1), y), d = sub(L, u, f(L, 1));
    LLVMValueRef r = mul(L, lw_math(L, LWM_LOG, u), LLVMBuildFDiv(L->b, y, d, ""));
    r = sel(L, cmp(L, LLVMRealOEQ, d, f(L, 0)), y, r);
    return sel(L, cmp(L, LLVMRealOEQ, u, f(L, INFINITY)), u, r);
}

/* tanh: odd Taylor series to x¹¹ below 0.3125, else 1 - 2/(exp(2|x|)+1) */
static LLVMValueRef tanh_body(Lw *L, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(L, x), z = mul(L, a, a);
    static const double c[6] = {1, -1.0 / 3, 2.0 / 15, -17.0 / 315, 62.0 / 2835, -1382.0 / 155925};
    LLVMValueRef small = mul(L, a, horner(L, z, c, 6));
    LLVMValueRef e = lw_math(L, LWM_EXP, add(L, a, a));
    LLVMValueRef big = sub(L, f(L, 1), LLVMBuildFDiv(L->b, f(L, 2), add(L, e, f(L, 1)), ""));
    return copysign_(L, sel(L, cmp(L, LLVMRealOLT, a, f(L, 0.3125)), small, big), x);
}

/* erf(x) = x·P(x²)/Q(x²) on [-4, 4] (a rational minimax fit, degree 6 over 4, as Eigen and XLA evaluate f32
 * erf), ±1 beyond: one division and 12 FMAs, no exp — GELU's cost is mostly this.  Max relative error 4.3e-7
 * over f32 (checked against libm in tests/unit/test_llvm.c); NaN stays NaN through the ordered clamps. */
static LLVMValueRef erf_body(Lw *L, LLVMValueRef x)
{
    static const double P[7] = {-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04,
                                -5.69250639462346e-05, -2.10102402082508e-06, 2.77068142495902e-08,
                                -2.72614225801306e-10};
    static const double Q[5] = {-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03,
                                -2.13374055278905e-04, -1.45660718464996e-05};
    LLVMValueRef xc = sel(L, cmp(L, LLVMRealOLT, x, f(L, -4)), f(L, -4), x);
    xc = sel(L, cmp(L, LLVMRealOGT, xc, f(L, 4)), f(L, 4), xc);
    LLVMValueRef z = mul(L, xc, xc);
    /* x·(P/Q), not (x·P)/Q: no underflow for subnormal x */
    return mul(L, xc, LLVMBuildFDiv(L->b, horner(L, z, P, 7), horner(L, z, Q, 5), ""));
}

/* 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below: neither overflows */
static LLVMValueRef sigmoid_body(Lw *L, LLVMValueRef x)
{
    LLVMValueRef e = lw_math(L, LWM_EXP, LLVMBuildFNeg(L->b, fabs_(L, x), ""));
    LLVMValueRef s = LLVMBuildFDiv(L->b, f(L, 1), add(L, f(L, 1), e), "");
    return sel(L, cmp(L, LLVMRealOGE, x, f(L, 0)), s, mul(L, e, s));
}

/* f16 bits (i16) → f32: normals rebias the exponent, subnormals are m·2^-24 exactly, inf/NaN keep all ones */
static LLVMValueRef h2f_body(Lw *L, LLVMValueRef h)
{
    LLVMBuilderRef b = L->b;
    LLVMValueRef w = LLVMBuildZExt(b, h, L->i32, "");
    LLVMValueRef sign = LLVMBuildShl(b, LLVMBuildAnd(b, w, lw_i32(L, 0x8000), ""), lw_i32(L, 16), "");
    LLVMValueRef em = LLVMBuildAnd(b, w, lw_i32(L, 0x7fff), "");
    LLVMValueRef nb = LLVMBuildAdd(b, LLVMBuildShl(b, em, lw_i32(L, 13), ""), lw_i32(L, 0x38000000), "");
    LLVMValueRef norm = flt(L, nb);
    LLVMValueRef infnan = flt(L, LLVMBuildAdd(b, nb, lw_i32(L, 0x38000000), ""));
    LLVMValueRef den = mul(L, LLVMBuildSIToFP(b, em, L->f32, ""), f(L, 5.9604644775390625e-8));
    LLVMValueRef r = sel(L, LLVMBuildICmp(b, LLVMIntULT, em, lw_i32(L, 0x400), ""), den,
                         sel(L, LLVMBuildICmp(b, LLVMIntUGE, em, lw_i32(L, 0x7c00), ""), infnan, norm));
    return flt(L, LLVMBuildOr(b, bits(L, r), sign, ""));
}

/* f32 → f16 bits, round to nearest even: subnormal results through the FPU's own rounding (adding 0.5 puts
 * the f16 subnormal's bits at the bottom of the mantissa), normal ones by adding half an f16 ulp (minus one
 * unless the kept bit is odd) before truncating. */
static LLVMValueRef f2h_body(Lw *L, LLVMValueRef x)
{
    LLVMBuilderRef b = L->b;
    LLVMValueRef bi = bits(L, x);
    LLVMValueRef sign = LLVMBuildAnd(b, LLVMBuildLShr(b, bi, lw_i32(L, 16), ""), lw_i32(L, 0x8000), "");
    LLVMValueRef a = LLVMBuildAnd(b, bi, lw_i32(L, 0x7fffffff), "");
    LLVMValueRef den = LLVMBuildSub(b, bits(L, add(L, flt(L, a), f(L, 0.5))), lw_i32(L, 0x3f000000), "");
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, a, lw_i32(L, 13), ""), lw_i32(L, 1), "");
    LLVMValueRef nr = LLVMBuildAdd(b, LLVMBuildAdd(b, a, lw_i32(L, (int32_t)(0xc8000000u + 0xfff)), ""), odd, "");
    LLVMValueRef norm = LLVMBuildLShr(b, nr, lw_i32(L, 13), "");
    LLVMValueRef r = sel(L, LLVMBuildICmp(b, LLVMIntULT, a, lw_i32(L, 0x38800000), ""), den, norm);
    r = sel(L, LLVMBuildICmp(b, LLVMIntUGE, a, lw_i32(L, 0x477ff000), ""), lw_i32(L, 0x7c00), r);
    r = sel(L, LLVMBuildICmp(b, LLVMIntUGT, a, lw_i32(L, 0x7f800000), ""), lw_i32(L, 0x7e00), r);
    return LLVMBuildTrunc(b, LLVMBuildOr(b, r, sign, ""), L->i16, "");
}

/* f32 → bf16 bits, round to nearest even; NaN stays a (quiet) NaN */
static LLVMValueRef f2b_body(Lw *L, LLVMValueRef x)
{
    LLVMBuilderRef b = L->b;
    LLVMValueRef bi = bits(L, x);
    LLVMValueRef odd = LLVMBuildAnd(b, LLVMBuildLShr(b, bi, lw_i32(L, 16), ""), lw_i32(L, 1), "");
    LLVMValueRef r = LLVMBuildLShr(b, LLVMBuildAdd(b, LLVMBuildAdd(b, bi, lw_i32(L, 0x7fff), ""), odd, ""), lw_i32(L, 16), "");
    LLVMValueRef nan = LLVMBuildOr(b, LLVMBuildLShr(b, bi, lw_i32(L, 16), ""), lw_i32(L, 0x40), "");
    r = sel(L, cmp(L, LLVMRealUNO, x, x), nan, r);
    return LLVMBuildTrunc(b, r, L->i16, "");
}

LLVMValueRef lw_math(Lw *L, LwMath fn, LLVMValueRef x)
{
    switch (fn) {
    case LWM_EXP: return define(L, "m2c.expf", L->f32, L->f32, exp_body, x);
    case LWM_EXPM1: return define(L, "m2c.expm1f", L->f32, L->f32, expm1_body, x);
    case LWM_LOG: return define(L, "m2c.logf", L->f32, L->f32, log_body, x);
    case LWM_LOG1P: return define(L, "m2c.log1pf", L->f32, L->f32, log1p_body, x);
    case LWM_TANH: return define(L, "m2c.tanhf", L->f32, L->f32, tanh_body, x);
    case LWM_ERF: return define(L, "m2c.erff", L->f32, L->f32, erf_body, x);
    case LWM_SIGMOID: return define(L, "m2c.sigmoidf", L->f32, L->f32, sigmoid_body, x);
    case LWM_H2F: return define(L, "m2c.h2f", L->f32, L->i16, h2f_body, x);
    case LWM_F2H: return define(L, "m2c.f2h", L->i16, L->f32, f2h_body, x);
    case LWM_F2B: return define(L, "m2c.f2bf", L->i16, L->f32, f2b_body, x);
    case LWM_COUNT: break;
    }
    M2C_UNREACHABLE();
}

LLVMValueRef lw_libm(Lw *L, const char *name, LLVMValueRef x)
{
    LLVMValueRef fn = LLVMGetNamedFunction(L->m, name);
    if (!fn) {
        LLVMTypeRef t = L->f32;
        fn = LLVMAddFunction(L->m, name, LLVMFunctionType(L->f32, &t, 1, false));
        unsigned kind = LLVMGetEnumAttributeKindForName("nounwind", 8);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(L->cx, kind, 0));
    }
    return lw_call(L, fn, &x, 1);
}

/* The float's bits with the magnitude bits flipped for negatives: signed integer order = float order. */
LLVMValueRef lw_fmax_key(Lw *L, LLVMValueRef x)
{
    LLVMValueRef bi = bits(L, x);
    LLVMValueRef m = LLVMBuildAnd(L->b, LLVMBuildAShr(L->b, bi, lw_i32(L, 31), ""), lw_i32(L, 0x7fffffff), "");
    return LLVMBuildXor(L->b, bi, m, "");
}

LLVMValueRef lw_fmax_unkey(Lw *L, LLVMValueRef key)
{
    LLVMValueRef m = LLVMBuildAnd(L->b, LLVMBuildAShr(L->b, key, lw_i32(L, 31), ""), lw_i32(L, 0x7fffffff), "");
    return flt(L, LLVMBuildXor(L->b, key, m, ""));
}
