/* backends/cuda/emit.c — what every kind's kernel is made of: source lines, symbolic dims as C, the
 * signature, pointwise offsets, the expression DAG as straight-line f32/i64 code; the dispatch over kinds. */
#include "cuda_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void vline(CuOut *o, const char *fmt, va_list ap)
{
    for (int i = 0; i < o->indent; i++) m2c_buf_puts(o->buf, "    ");
    m2c_buf_vprintf(o->buf, fmt, ap);
    m2c_buf_putc(o->buf, '\n');
}

void cu_line(CuOut *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
}

void cu_open(CuOut *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
    o->indent++;
}

void cu_close(CuOut *o, const char *fmt, ...)
{
    o->indent--;
    va_list ap;
    va_start(ap, fmt);
    vline(o, fmt, ap);
    va_end(ap);
}

void cu_text(CuOut *o, const char *text)
{
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        int n = e ? (int)(e - p) : (int)strlen(p);
        if (n > 0)
            for (int i = 0; i < o->indent; i++) m2c_buf_puts(o->buf, "    ");
        m2c_buf_printf(o->buf, "%.*s\n", n, p);
        p += n + (e != NULL);
    }
}

const char *cuda_ctype(IrDType t)
{
    switch (t) {
    case DT_F32: return "float";
    case DT_F16: return "m2c_f16";
    case DT_BF16: return "m2c_bf16";
    case DT_BOOL: case DT_U8: return "unsigned char";
    case DT_I8: return "signed char";
    case DT_I32: return "int";
    case DT_I64: return "long long";
    default: return NULL;
    }
}

static void dim_c(CuOut *o, IrDim d, M2cBuf *b)
{
    const IrDimExpr *e = ir_dim_expr(o->g, d);
    switch (e->kind) {
    case DIM_CONST: m2c_buf_printf(b, "%lldLL", (long long)e->c); return;
    case DIM_SYM:
        for (uint32_t i = 0; i < o->k->syms.n; i++)
            if (strcmp(o->k->syms.v[i].name, e->name) == 0) {
                m2c_buf_puts(b, o->k->syms.v[i].cname);
                return;
            }
        M2C_UNREACHABLE();
    case DIM_ADD: case DIM_MUL: {
        const char *op = e->kind == DIM_ADD ? " + " : " * ";
        m2c_buf_putc(b, '(');
        bool first = true;
        if (e->kind == DIM_ADD ? e->c != 0 : e->c != 1) m2c_buf_printf(b, "%lldLL", (long long)e->c), first = false;
        for (uint32_t i = 0; i < e->nops; i++) {
            if (!first) m2c_buf_puts(b, op);
            dim_c(o, e->ops[i], b);
            first = false;
        }
        m2c_buf_putc(b, ')');
        return;
    }
    case DIM_DIV: case DIM_MOD: case DIM_MAX: case DIM_MIN: {
        const char *fn = e->kind == DIM_DIV ? "m2c_fdiv" : e->kind == DIM_MOD ? "m2c_fmod" : e->kind == DIM_MAX ? "m2c_lmax" : "m2c_lmin";
        /* max/min take any number of operands: nest them */
        for (uint32_t i = 1; i < e->nops; i++) m2c_buf_printf(b, "%s(", fn);
        dim_c(o, e->ops[0], b);
        for (uint32_t i = 1; i < e->nops; i++) {
            m2c_buf_puts(b, ", ");
            dim_c(o, e->ops[i], b);
            m2c_buf_putc(b, ')');
        }
        return;
    }
    }
}

const char *cu_dim(CuOut *o, IrDim d)
{
    M2cBuf b = {0};
    dim_c(o, d, &b);
    const char *s = m2c_strdup(o->g->arena, b.s);
    m2c_buf_free(&b);
    return s;
}

void cu_signature(CuOut *o, unsigned threads)
{
    const KirGroup *k = o->k;
    cu_line(o, "extern \"C\" __global__ void __launch_bounds__(%u) %s(", threads, k->name);
    o->indent += 2;
    for (uint32_t i = 0; i < k->args.n; i++) {
        const KirArg *a = &k->args.v[i];
        bool last = i + 1 == k->args.n && k->syms.n == 0;
        cu_line(o, "%s%s *__restrict__ %s%s", a->use == KIR_ARG_OUTPUT ? "" : "const ", cuda_ctype(a->dtype), a->name,
                last ? ")" : ",");
    }
    for (uint32_t i = 0; i < k->syms.n; i++)
        cu_line(o, "long long %s%s", k->syms.v[i].cname, i + 1 == k->syms.n ? ")" : ",");
    o->indent -= 2;
}

static void reach(const KirGroup *k, uint32_t root, bool *seen)
{
    if (seen[root]) return;
    seen[root] = true;
    const KirExpr *e = &k->ex.v[root];
    for (int j = 0; j < kir_xop_arity(e->op); j++) reach(k, e->a[j], seen);
}

bool cu_uses_arg(const KirGroup *k, uint32_t root, int arg)
{
    bool *seen = calloc(k->ex.n, 1), used = false;
    reach(k, root, seen);
    for (uint32_t i = 0; i < k->ex.n; i++)
        if (seen[i] && k->ex.v[i].op == KX_LOAD && k->ex.v[i].arg == arg) used = true;
    free(seen);
    return used;
}

/* How a pointwise argument's offset follows from the element index. */
typedef enum { OFF_SAME, OFF_ZERO, OFF_SUFFIX, OFF_GENERAL } OffKind;

static OffKind off_kind(CuOut *o, const KirArg *a, int *suffix_from)
{
    IrGraph *g = o->g;
    const KirGroup *k = o->k;
    IrDim zero = ir_dim_const(g, 0), stride = ir_dim_const(g, 1);
    /* from the last axis: the space's contiguous strides while the argument reads every axis, then zeros */
    int i = k->rank - 1;
    for (; i >= 0 && a->at[i] == stride; i--) stride = ir_dim_mul(g, stride, k->space[i]);
    int m = i + 1;
    for (; i >= 0 && a->at[i] == zero; i--) {
    }
    if (i >= 0) return OFF_GENERAL;
    *suffix_from = m;
    if (m == 0) return OFF_SAME;
    if (m == k->rank) return OFF_ZERO;
    return OFF_SUFFIX;
}

void cu_offsets(CuOut *o, uint32_t root, const char *idx)
{
    const KirGroup *k = o->k;
    bool coords = false;
    for (uint32_t a = 0; a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int m;
        if (arg->use == KIR_ARG_POINTWISE && cu_uses_arg(k, root, (int)a) && off_kind(o, arg, &m) == OFF_GENERAL)
            coords = true;
    }
    if (coords) {
        /* the element's coordinates, last axis first */
        cu_line(o, "long long c_[%d], r_ = %s;", k->rank, idx);
        for (int i = k->rank - 1; i > 0; i--) {
            const char *d = cu_dim(o, k->space[i]);
            cu_line(o, "c_[%d] = r_ %% %s; r_ /= %s;", i, d, d);
        }
        cu_line(o, "c_[0] = r_;");
    }
    for (uint32_t a = 0; a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int m = 0;
        if (arg->use != KIR_ARG_POINTWISE || !cu_uses_arg(k, root, (int)a)) continue;
        switch (off_kind(o, arg, &m)) {
        case OFF_SAME: cu_line(o, "const long long o%u = %s;", a, idx); break;
        case OFF_ZERO: cu_line(o, "const long long o%u = 0;", a); break;
        case OFF_SUFFIX:
            cu_line(o, "const long long o%u = %s %% %s;", a, idx,
                    cu_dim(o, kir_numel(o->g, k->rank - m, k->space + m)));
            break;
        case OFF_GENERAL: {
            M2cBuf b = {0};
            for (int i = 0; i < k->rank; i++) {
                int64_t c;
                if (ir_dim_const_value(o->g, arg->at[i], &c) && c == 0) continue;
                m2c_buf_printf(&b, "%sc_[%d] * %s", b.len ? " + " : "", i, cu_dim(o, arg->at[i]));
            }
            cu_line(o, "const long long o%u = %s;", a, b.len ? b.s : "0");
            m2c_buf_free(&b);
            break;
        }
        }
    }
}

/* A float constant exactly (hexadecimal), infinities and NaN through their bits. */
static const char *fconst(CuOut *o, double v)
{
    float f = (float)v;
    if (isnan(f)) return "__int_as_float(0x7fc00000)";
    if (isinf(f)) return f > 0 ? "__int_as_float(0x7f800000)" : "__int_as_float(0xff800000)";
    return m2c_sprintf(o->g->arena, f < 0 ? "(%af)" : "%af", (double)f);
}

static const char *cast_text(CuOut *o, const KirExpr *e, KirClass from, const char *a)
{
    M2cArena *ar = o->g->arena;
    switch (e->to) {
    case DT_F32: return from == KIR_F32 ? a : m2c_sprintf(ar, "(float)%s", a);
    case DT_F16: return m2c_sprintf(ar, from == KIR_F32 ? "m2c_rf16(%s)" : "m2c_rf16((float)%s)", a);
    case DT_BF16: return m2c_sprintf(ar, from == KIR_F32 ? "m2c_rbf16(%s)" : "m2c_rbf16((float)%s)", a);
    case DT_BOOL: return m2c_sprintf(ar, "(long long)(%s != 0)", a);
    case DT_I64: return m2c_sprintf(ar, "(long long)%s", a);
    case DT_I32: return m2c_sprintf(ar, "(long long)(int)(long long)%s", a);
    case DT_U8: return m2c_sprintf(ar, "(long long)(unsigned char)(long long)%s", a);
    case DT_I8: return m2c_sprintf(ar, "(long long)(signed char)(long long)%s", a);
    default: M2C_UNREACHABLE();
    }
}

static const char *expr_text(CuOut *o, uint32_t i, const char *const *leaf, const char *acc)
{
    M2cArena *ar = o->g->arena;
    const KirGroup *k = o->k;
    const KirExpr *e = &k->ex.v[i];
    bool f = e->cls == KIR_F32;
    const char *a = m2c_sprintf(ar, "x%u", e->a[0]), *b = m2c_sprintf(ar, "x%u", e->a[1]);
    const char *c = m2c_sprintf(ar, "x%u", e->a[2]);
    const char *p0 = fconst(o, e->p[0]), *p1 = fconst(o, e->p[1]);
    switch (e->op) {
    case KX_LOAD: return leaf && leaf[e->arg] ? leaf[e->arg] : m2c_sprintf(ar, "m2c_ld(in%d, o%d)", e->arg, e->arg);
    case KX_CONST: return f ? p0 : m2c_sprintf(ar, "%lldLL", (long long)e->p[0]);
    case KX_ACC: return acc;
    case KX_ADD: return m2c_sprintf(ar, "%s + %s", a, b);
    case KX_SUB: return m2c_sprintf(ar, "%s - %s", a, b);
    case KX_MUL: return m2c_sprintf(ar, "%s * %s", a, b);
    case KX_DIV: return m2c_sprintf(ar, "%s / %s", a, b);
    case KX_POW: return m2c_sprintf(ar, "powf(%s, %s)", a, b);
    case KX_MIN: return m2c_sprintf(ar, "m2c_min(%s, %s)", a, b);
    case KX_MAX: return m2c_sprintf(ar, "m2c_max(%s, %s)", a, b);
    case KX_PRELU: return m2c_sprintf(ar, "%s < 0.f ? %s * %s : %s", a, a, b, a);
    case KX_EQ: return m2c_sprintf(ar, "(long long)(%s == %s)", a, b);
    case KX_LT: return m2c_sprintf(ar, "(long long)(%s < %s)", a, b);
    case KX_LE: return m2c_sprintf(ar, "(long long)(%s <= %s)", a, b);
    case KX_GT: return m2c_sprintf(ar, "(long long)(%s > %s)", a, b);
    case KX_GE: return m2c_sprintf(ar, "(long long)(%s >= %s)", a, b);
    case KX_AND: return m2c_sprintf(ar, "(long long)(%s != 0 && %s != 0)", a, b);
    case KX_OR: return m2c_sprintf(ar, "(long long)(%s != 0 || %s != 0)", a, b);
    case KX_XOR: return m2c_sprintf(ar, "(long long)((%s != 0) != (%s != 0))", a, b);
    case KX_NOT: return m2c_sprintf(ar, "(long long)(%s == 0)", a);
    case KX_WHERE: return m2c_sprintf(ar, "%s != 0 ? %s : %s", a, b, c);
    case KX_CAST: return cast_text(o, e, k->ex.v[e->a[0]].cls, a);
    case KX_NEG: return m2c_sprintf(ar, "-%s", a);
    case KX_ABS: return f ? m2c_sprintf(ar, "fabsf(%s)", a) : m2c_sprintf(ar, "%s < 0 ? -%s : %s", a, a, a);
    case KX_SIGN:
        return f ? m2c_sprintf(ar, "%s > 0.f ? 1.f : %s < 0.f ? -1.f : %s", a, a, a)
                 : m2c_sprintf(ar, "%s > 0 ? 1LL : %s < 0 ? -1LL : 0LL", a, a);
    case KX_RELU: return f ? m2c_sprintf(ar, "%s < 0.f ? 0.f : %s", a, a) : m2c_sprintf(ar, "%s < 0 ? 0LL : %s", a, a);
    case KX_EXP: return m2c_sprintf(ar, "expf(%s)", a);
    case KX_LOG: return m2c_sprintf(ar, "logf(%s)", a);
    case KX_SQRT: return m2c_sprintf(ar, "sqrtf(%s)", a);
    case KX_RECIP: return m2c_sprintf(ar, "1.f / %s", a);
    case KX_TANH: return m2c_sprintf(ar, "tanhf(%s)", a);
    case KX_ERF: return m2c_sprintf(ar, "erff(%s)", a);
    case KX_SIGMOID: return m2c_sprintf(ar, "m2c_sigmoid(%s)", a);
    case KX_SIN: return m2c_sprintf(ar, "sinf(%s)", a);
    case KX_COS: return m2c_sprintf(ar, "cosf(%s)", a);
    case KX_TAN: return m2c_sprintf(ar, "tanf(%s)", a);
    case KX_SINH: return m2c_sprintf(ar, "sinhf(%s)", a);
    case KX_COSH: return m2c_sprintf(ar, "coshf(%s)", a);
    case KX_ASIN: return m2c_sprintf(ar, "asinf(%s)", a);
    case KX_ACOS: return m2c_sprintf(ar, "acosf(%s)", a);
    case KX_ATAN: return m2c_sprintf(ar, "atanf(%s)", a);
    case KX_ASINH: return m2c_sprintf(ar, "asinhf(%s)", a);
    case KX_ACOSH: return m2c_sprintf(ar, "acoshf(%s)", a);
    case KX_ATANH: return m2c_sprintf(ar, "atanhf(%s)", a);
    case KX_FLOOR: return m2c_sprintf(ar, "floorf(%s)", a);
    case KX_CEIL: return m2c_sprintf(ar, "ceilf(%s)", a);
    case KX_ROUND: return m2c_sprintf(ar, "rintf(%s)", a);   /* half to even, the default rounding mode */
    case KX_ISNAN: return m2c_sprintf(ar, "(long long)(%s != %s)", a, a);
    case KX_ISINF:
        return m2c_sprintf(ar, "(long long)(isinf(%s) && ((%s > 0.f && %d) || (%s < 0.f && %d)))", a, a, e->p[0] != 0,
                           a, e->p[1] != 0);
    case KX_GELU: return m2c_sprintf(ar, "m2c_gelu(%s)", a);
    case KX_GELU_TANH: return m2c_sprintf(ar, "m2c_gelu_tanh(%s)", a);
    case KX_SILU: return m2c_sprintf(ar, "%s * m2c_sigmoid(%s)", a, a);
    case KX_SWISH: return m2c_sprintf(ar, "%s * m2c_sigmoid(%s * %s)", a, p0, a);
    case KX_MISH: return m2c_sprintf(ar, "%s * tanhf(m2c_softplus(%s))", a, a);
    case KX_SOFTPLUS: return m2c_sprintf(ar, "m2c_softplus(%s)", a);
    case KX_SOFTSIGN: return m2c_sprintf(ar, "%s / (1.f + fabsf(%s))", a, a);
    case KX_LEAKY_RELU: return m2c_sprintf(ar, "%s >= 0.f ? %s : %s * %s", a, a, p0, a);
    case KX_ELU: return m2c_sprintf(ar, "%s >= 0.f ? %s : %s * expm1f(%s)", a, a, p0, a);
    case KX_CELU: return m2c_sprintf(ar, "%s > 0.f ? %s : %s * expm1f(%s / %s)", a, a, p0, a, p0);
    case KX_SELU: return m2c_sprintf(ar, "%s > 0.f ? %s * %s : %s * %s * expm1f(%s)", a, p1, a, p1, p0, a);
    case KX_THRESHOLDED_RELU: return m2c_sprintf(ar, "%s > %s ? %s : 0.f", a, p0, a);
    case KX_HARD_SIGMOID: return m2c_sprintf(ar, "m2c_clamp01(%s * %s + %s)", p0, a, p1);
    case KX_HARD_SWISH: return m2c_sprintf(ar, "%s * m2c_clamp01(%s / 6.f + 0.5f)", a, a);
    case KX_SHRINK:
        return m2c_sprintf(ar, "%s < -%s ? %s + %s : %s > %s ? %s - %s : 0.f", a, p0, a, p1, a, p0, a, p1);
    case KX_COUNT: break;
    }
    M2C_UNREACHABLE();
}

const char *cu_dag(CuOut *o, uint32_t root, const char *const *leaf, const char *acc)
{
    const KirGroup *k = o->k;
    bool *seen = calloc(k->ex.n, 1);
    reach(k, root, seen);
    /* operands always have smaller ids than their users, so id order is a valid evaluation order */
    for (uint32_t i = 0; i < k->ex.n; i++)
        if (seen[i])
            cu_line(o, "const %s x%u = %s;", k->ex.v[i].cls == KIR_F32 ? "float" : "long long", i,
                    expr_text(o, i, leaf, acc));
    free(seen);
    return m2c_sprintf(o->g->arena, "x%u", root);
}

const char *cu_store(CuOut *o, const char *idx, const char *var, uint32_t root)
{
    const KirGroup *k = o->k;
    const KirArg *out = &k->args.v[k->args.n - 1];
    KirClass want = ir_dtype_is_float(out->dtype) ? KIR_F32 : KIR_I64;
    const char *v = var;
    if (k->ex.v[root].cls != want) v = m2c_sprintf(o->g->arena, want == KIR_F32 ? "(float)%s" : "(long long)%s", var);
    cu_line(o, "m2c_st(out, %s, %s);", idx, v);
    return v;
}

bool cuda_emit(IrGraph *g, const KirGroup *k, M2cBuf *src, CudaLaunch *launch)
{
    return cuda_emit_tiles(g, k, NULL, src, launch);
}

bool cuda_emit_tiles(IrGraph *g, const KirGroup *k, const CudaAttnTiles *tiles, M2cBuf *src, CudaLaunch *launch)
{
    for (uint32_t i = 0; i < k->args.n; i++)
        if (!cuda_ctype(k->args.v[i].dtype)) return false;
    CuOut o = {src, 0, g, k, tiles};
    memset(launch, 0, sizeof *launch);
    for (int i = 0; i < 3; i++) launch->work[i] = ir_dim_const(g, 1), launch->per[i] = launch->block[i] = 1;
    cu_line(&o, "// %s — generated by ml2candle %s; the group it computes: %s.kir", k->name, M2C_VERSION, k->name);
    cu_line(&o, "#include \"%s\"", cuda_prelude_name);
    m2c_buf_putc(src, '\n');
    switch (k->kind) {
    case KIR_ELTWISE: case KIR_EPILOGUE: cu_emit_eltwise(&o, launch); break;
    case KIR_ROW: cu_emit_row(&o, launch); break;
    case KIR_ROPE: cu_emit_rope(&o, launch); break;
    case KIR_DWCONV1D: cu_emit_dwconv(&o, launch); break;
    case KIR_ATTENTION: cu_emit_attention(&o, launch); break;
    default: return false;
    }
    return true;
}

bool cuda_launch_eval(const IrGraph *g, const CudaLaunch *l, const KirBind *b, unsigned grid[3])
{
    for (int i = 0; i < 3; i++) {
        int64_t v;
        if (!kir_dim_eval(g, l->work[i], b, &v) || v < 1) return false;
        v = (v + l->per[i] - 1) / l->per[i];
        if (v > (i == 0 ? 0x7fffffff : 65535)) return false;
        grid[i] = (unsigned)v;
    }
    return true;
}

const char *cuda_launch_rule(IrGraph *g, const CudaLaunch *l, int axis)
{
    const char *w = ir_dim_str(g, l->work[axis]);
    if (l->per[axis] == 1) return w;
    return m2c_sprintf(g->arena, "ceil(%s / %u)", w, l->per[axis]);
}
