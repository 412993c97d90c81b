/* backends/cuda/emit_elt.c — the elementwise kernel (also the GEMM epilogue: the matmul result is one more
 * pointwise input) and the row kernel (LayerNorm, RMSNorm, softmax, log-softmax over the trailing axes).
 *
 * Both are bound by memory: each thread moves 16 bytes per access (8 elements of f16/bf16, 4 of f32) where
 * every argument reads rows contiguously or not at all, and 16-byte alignment holds at run time; a scalar
 * path covers the rest.  The row kernel gives a row TPR threads (a block of up to 1024 for long rows, a few
 * lanes of a warp for short ones); with the row length known at compile time each thread keeps its CPT
 * chunks of the row in registers, so the row is read once and written once whatever the statistics need. */
#include "cuda_impl.h"

#include <string.h>

/* ROW_CPT: the 16-byte chunks of a row each thread holds when a row needs more than one warp (the threads per
 * row follow from it); a compile-time choice so that bench/kernels can measure others. */
#ifndef M2C_ROW_CPT
#define M2C_ROW_CPT 4
#endif
enum { ELT_THREADS = 256, ROW_WARPS = 4, ROW_CPT = M2C_ROW_CPT, ROW_CPT_MAX = 8 };

static bool is16(IrDType t) { return t == DT_F16 || t == DT_BF16; }

/* The vector path needs every argument that `root` reads to read its last axis either contiguously or not at
 * all, known at compile time (a run-time broadcast of the last axis keeps the scalar path). */
static bool vec_ok(CuOut *o, uint32_t root)
{
    const KirGroup *k = o->k;
    if (k->rank == 0) return false;
    for (uint32_t a = 0; a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int64_t c;
        if (arg->use != KIR_ARG_POINTWISE || !cu_uses_arg(k, root, (int)a)) continue;
        if (!ir_dim_const_value(o->g, arg->at[k->rank - 1], &c) || (c != 0 && c != 1)) return false;
    }
    return true;
}

static bool reads_last(CuOut *o, const KirArg *arg)
{
    int64_t c;
    return ir_dim_const_value(o->g, arg->at[o->k->rank - 1], &c) && c == 1;
}

static bool vec_arg(CuOut *o, uint32_t root, uint32_t a)
{
    const KirArg *arg = &o->k->args.v[a];
    return arg->use == KIR_ARG_POINTWISE && cu_uses_arg(o->k, root, (int)a) && reads_last(o, arg);
}

/* Elements per vector: 8 when a 16-bit tensor is among those read or written contiguously (16 bytes of it),
 * else 4 (16 bytes of f32). */
static int vec_width(CuOut *o, const uint32_t *roots, int nroots)
{
    const KirGroup *k = o->k;
    if (is16(k->args.v[k->args.n - 1].dtype)) return 8;
    for (int r = 0; r < nroots; r++)
        for (uint32_t a = 0; a + 1 < k->args.n; a++)
            if (vec_arg(o, roots[r], a) && is16(k->args.v[a].dtype)) return 8;
    return 4;
}

/* "(unsigned long long)out | (unsigned long long)in0 | ...": the pointers read or written by vectors */
static void align_expr(CuOut *o, const uint32_t *roots, int nroots, M2cBuf *b)
{
    const KirGroup *k = o->k;
    m2c_buf_puts(b, "(unsigned long long)out");
    for (uint32_t a = 0; a + 1 < k->args.n; a++) {
        bool used = false;
        for (int r = 0; r < nroots; r++) used = used || vec_arg(o, roots[r], a);
        if (used) m2c_buf_printf(b, " | (unsigned long long)in%u", a);
    }
}

/* The loads of `root`'s arguments for the vec elements from `idx` on (offsets first): arrays l<a>[vec] for the
 * contiguous ones, one scalar for the broadcast ones; the leaves that read them. */
static const char **vec_loads(CuOut *o, uint32_t root, const char *idx, int vec)
{
    const KirGroup *k = o->k;
    M2cArena *ar = o->g->arena;
    cu_offsets(o, root, idx);
    const char **leaf = m2c_alloc_array(ar, k->args.n, sizeof *leaf);
    for (uint32_t a = 0; a + 1 < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        if (arg->use != KIR_ARG_POINTWISE || !cu_uses_arg(k, root, (int)a)) continue;
        const char *ty = ir_dtype_is_float(arg->dtype) ? "float" : "long long";
        if (reads_last(o, arg)) {
            cu_line(o, "%s l%u[%d];", ty, a, vec);
            cu_line(o, "m2c_ld%d(in%u, o%u, l%u);", vec, a, a, a);
            leaf[a] = m2c_sprintf(ar, "l%u[u]", a);
        } else {
            cu_line(o, "const %s l%u = m2c_ld(in%u, o%u);", ty, a, a, a);
            leaf[a] = m2c_sprintf(ar, "l%u", a);
        }
    }
    return leaf;
}

/* r[u] = the epilogue at each of the vec elements (acc: the kind's result there, NULL for none); stored. */
static void vec_store(CuOut *o, const char *idx, int vec, const char *acc)
{
    const KirGroup *k = o->k;
    bool fout = ir_dtype_is_float(k->args.v[k->args.n - 1].dtype);
    const char **leaf = vec_loads(o, k->epi, idx, vec);
    cu_line(o, "%s r[%d];", fout ? "float" : "long long", vec);
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int u = 0; u < %d; u++) {", vec);
    const char *v = cu_dag(o, k->epi, leaf, acc);
    KirClass want = fout ? KIR_F32 : KIR_I64;
    cu_line(o, "r[u] = %s%s;", k->ex.v[k->epi].cls == want ? "" : fout ? "(float)" : "(long long)", v);
    cu_close(o, "}");
    cu_line(o, "m2c_st%d(out, %s, r);", vec, idx);
}

void cu_emit_eltwise(CuOut *o, CudaLaunch *l)
{
    IrGraph *g = o->g;
    const KirGroup *k = o->k;
    IrDim n = kir_numel(g, k->rank, k->space);
    bool vec = vec_ok(o, k->epi);
    int w = vec ? vec_width(o, &k->epi, 1) : 1;
    l->block[0] = ELT_THREADS;
    l->work[0] = n, l->per[0] = ELT_THREADS * (vec ? (unsigned)w : 4);
    cu_signature(o, ELT_THREADS);
    cu_open(o, "{");
    cu_line(o, "const long long n = %s;", cu_dim(o, n));
    cu_line(o, "const long long step = (long long)gridDim.x * blockDim.x;");
    cu_line(o, "const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;");
    if (vec) {
        M2cBuf align = {0};
        align_expr(o, &k->epi, 1, &align);
        cu_line(o, "// %d consecutive elements of one row per thread where rows are multiples of %d and aligned", w, w);
        cu_open(o, "if ((%s & %d) == 0 && ((%s) & 15) == 0) {", cu_dim(o, k->space[k->rank - 1]), w - 1, align.s);
        m2c_buf_free(&align);
        cu_open(o, "for (long long i = t * %d; i < n; i += step * %d) {", w, w);
        vec_store(o, "i", w, NULL);
        cu_close(o, "}");
        cu_line(o, "return;");
        cu_close(o, "}");
    }
    cu_open(o, "for (long long i = t; i < n; i += step) {");
    cu_offsets(o, k->epi, "i");
    const char *v = cu_dag(o, k->epi, NULL, NULL);
    cu_store(o, "i", v, k->epi);
    cu_close(o, "}");
    cu_close(o, "}");
}

/* The row kernel's shape: TPR threads per row, RPB rows per block, CPT chunks of VEC elements per thread
 * (CPT 0: no register path, the row length is not known or does not split into vectors). */
typedef struct {
    int tpr, rpb, cpt, vec;
    int64_t nch;
} RowShape;

static RowShape row_shape(CuOut *o, IrDim cols)
{
    const KirGroup *k = o->k;
    RowShape s = {32, ROW_WARPS, 0, 1, 0};
    int64_t c, last;
    uint32_t roots[2] = {k->pro, k->epi};
    if (!ir_dim_const_value(o->g, cols, &c) || !ir_dim_const_value(o->g, k->space[k->rank - 1], &last) ||
        !vec_ok(o, k->pro) || !vec_ok(o, k->epi))
        return s;
    int vec = vec_width(o, roots, 2);
    if (last % vec != 0) return s;
    int64_t nch = c / vec;
    if (nch <= 32) {
        int tpr = 1;
        while (tpr < nch) tpr *= 2;
        return (RowShape){tpr, 256 / tpr, 1, vec, nch};
    }
    if (nch <= 32 * ROW_CPT) return (RowShape){32, ROW_WARPS, (int)((nch + 31) / 32), vec, nch};
    int64_t tpr = ((nch + ROW_CPT - 1) / ROW_CPT + 31) / 32 * 32;
    if (tpr > 1024) tpr = 1024;
    int64_t cpt = (nch + tpr - 1) / tpr;
    if (cpt > ROW_CPT_MAX) return s;
    return (RowShape){(int)tpr, 1, (int)cpt, vec, nch};
}

/* The scalar path: one pass over the row per statistic, TPR threads striding through it. */
static void row_loop_open(CuOut *o, const RowShape *s)
{
    cu_open(o, "for (long long c = threadIdx.x; live && c < cols; c += %d) {", s->tpr);
    cu_line(o, "const long long i = base + c;");
}

static const char *row_input(CuOut *o)
{
    cu_offsets(o, o->k->pro, "i");
    return cu_dag(o, o->k->pro, NULL, NULL);
}

static void emit_row_scalar(CuOut *o, const RowShape *s)
{
    const KirGroup *k = o->k;
    const KirRow *r = &k->row;
    const char *x;
    switch (r->op) {
    case KIR_ROW_LAYERNORM: case KIR_ROW_RMSNORM: {
        bool ln = r->op == KIR_ROW_LAYERNORM;
        if (ln) {
            cu_line(o, "float s = 0.f;");
            row_loop_open(o, s);
            x = row_input(o);
            cu_line(o, "s += %s;", x);
            cu_close(o, "}");
            cu_line(o, "const float mean = m2c_row_sum<%d>(s, sh) / (float)cols;", s->tpr);
        }
        /* the variance from the mean already known (two passes): no cancellation as in E[x²] - E[x]² */
        cu_line(o, "float q = 0.f;");
        row_loop_open(o, s);
        x = row_input(o);
        if (ln) cu_line(o, "const float d = %s - mean;", x);
        else cu_line(o, "const float d = %s;", x);
        cu_line(o, "q += d * d;");
        cu_close(o, "}");
        cu_line(o, "const float inv = 1.f / sqrtf(m2c_row_sum<%d>(q, sh) / (float)cols + %af);", s->tpr, (double)(float)r->eps);
        break;
    }
    case KIR_ROW_SOFTMAX: case KIR_ROW_LOGSOFTMAX:
        cu_line(o, "float m = __int_as_float(0xff800000);");
        row_loop_open(o, s);
        x = row_input(o);
        cu_line(o, "m = fmaxf(m, %s);", x);
        cu_close(o, "}");
        cu_line(o, "m = m2c_row_max<%d>(m, sh);", s->tpr);
        cu_line(o, "float s = 0.f;");
        row_loop_open(o, s);
        x = row_input(o);
        cu_line(o, "s += expf(%s - m);", x);
        cu_close(o, "}");
        cu_line(o, "s = m2c_row_sum<%d>(s, sh);", s->tpr);
        break;
    default: M2C_UNREACHABLE();
    }
    row_loop_open(o, s);
    cu_line(o, "float acc;");
    cu_open(o, "{");
    x = row_input(o);
    switch (r->op) {
    case KIR_ROW_LAYERNORM: cu_line(o, "acc = (%s - mean) * inv;", x); break;
    case KIR_ROW_RMSNORM: cu_line(o, "acc = %s * inv;", x); break;
    case KIR_ROW_SOFTMAX: cu_line(o, "acc = expf(%s - m) / s;", x); break;
    case KIR_ROW_LOGSOFTMAX: cu_line(o, "acc = %s - m - logf(s);", x); break;
    }
    cu_close(o, "}");
    cu_offsets(o, k->epi, "i");
    const char *v = cu_dag(o, k->epi, NULL, "acc");
    cu_store(o, "i", v, k->epi);
    cu_close(o, "}");
}

/* x[j][u] over the thread's chunks j (chunk threadIdx.x + j·TPR of the row) and their elements u; `body`
 * runs where the chunk exists (`ok`). */
static void chunks_open(CuOut *o, const RowShape *s)
{
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int j = 0; j < %d; j++) {", s->cpt);
    cu_line(o, "const bool ok = live && threadIdx.x + j * %d < %lld;", s->tpr, (long long)s->nch);
}

static void emit_row_vector(CuOut *o, const RowShape *s)
{
    const KirGroup *k = o->k;
    const KirRow *r = &k->row;
    bool smax = r->op == KIR_ROW_SOFTMAX || r->op == KIR_ROW_LOGSOFTMAX;
    cu_line(o, "float x[%d][%d];   // the thread's chunks of the row, read once", s->cpt, s->vec);
    chunks_open(o, s);
    cu_open(o, "if (ok) {");
    cu_line(o, "const long long i = base + (threadIdx.x + j * %d) * %dLL;", s->tpr, s->vec);
    const char **leaf = vec_loads(o, k->pro, "i", s->vec);
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int u = 0; u < %d; u++) {", s->vec);
    const char *v = cu_dag(o, k->pro, leaf, NULL);
    cu_line(o, "x[j][u] = %s;", v);
    cu_close(o, "}");
    cu_close(o, "} else {");
    o->indent++;
    cu_line(o, "#pragma unroll");
    cu_line(o, "for (int u = 0; u < %d; u++) x[j][u] = %s;", s->vec, smax ? "__int_as_float(0xff800000)" : "0.f");
    cu_close(o, "}");
    cu_close(o, "}");
    const char *y = NULL;
    switch (r->op) {
    case KIR_ROW_LAYERNORM: case KIR_ROW_RMSNORM: {
        bool ln = r->op == KIR_ROW_LAYERNORM;
        if (ln) {
            cu_line(o, "float s = 0.f;");
            cu_line(o, "#pragma unroll");
            cu_line(o, "for (int j = 0; j < %d; j++)", s->cpt);
            cu_line(o, "    for (int u = 0; u < %d; u++) s += x[j][u];", s->vec);
            cu_line(o, "const float mean = m2c_row_sum<%d>(s, sh) / (float)cols;", s->tpr);
        }
        /* the variance about the mean already known, from registers: exact two-pass statistics, one read */
        cu_line(o, "float q = 0.f;");
        chunks_open(o, s);
        cu_line(o, "#pragma unroll");
        cu_line(o, "for (int u = 0; u < %d; u++) { const float d = x[j][u]%s; q += ok ? d * d : 0.f; }", s->vec,
                ln ? " - mean" : "");
        cu_close(o, "}");
        cu_line(o, "const float inv = 1.f / sqrtf(m2c_row_sum<%d>(q, sh) / (float)cols + %af);", s->tpr, (double)(float)r->eps);
        y = ln ? "(x[j][u] - mean) * inv" : "x[j][u] * inv";
        break;
    }
    case KIR_ROW_SOFTMAX: case KIR_ROW_LOGSOFTMAX:
        cu_line(o, "float m = __int_as_float(0xff800000);");
        cu_line(o, "#pragma unroll");
        cu_line(o, "for (int j = 0; j < %d; j++)", s->cpt);
        cu_line(o, "    for (int u = 0; u < %d; u++) m = fmaxf(m, x[j][u]);", s->vec);
        cu_line(o, "m = m2c_row_max<%d>(m, sh);", s->tpr);
        cu_line(o, "float s = 0.f;");
        cu_line(o, "#pragma unroll");
        cu_line(o, "for (int j = 0; j < %d; j++)", s->cpt);
        if (r->op == KIR_ROW_SOFTMAX) {
            cu_line(o, "    for (int u = 0; u < %d; u++) { x[j][u] = expf(x[j][u] - m); s += x[j][u]; }", s->vec);
            cu_line(o, "const float inv = 1.f / m2c_row_sum<%d>(s, sh);", s->tpr);
            y = "x[j][u] * inv";
        } else {
            cu_line(o, "    for (int u = 0; u < %d; u++) s += expf(x[j][u] - m);", s->vec);
            cu_line(o, "const float lse = m + logf(m2c_row_sum<%d>(s, sh));", s->tpr);
            y = "x[j][u] - lse";
        }
        break;
    default: M2C_UNREACHABLE();
    }
    chunks_open(o, s);
    cu_open(o, "if (ok) {");
    cu_line(o, "const long long i = base + (threadIdx.x + j * %d) * %dLL;", s->tpr, s->vec);
    cu_line(o, "float y[%d];", s->vec);
    cu_line(o, "#pragma unroll");
    cu_line(o, "for (int u = 0; u < %d; u++) y[u] = %s;", s->vec, y);
    vec_store(o, "i", s->vec, "y[u]");
    cu_close(o, "}");
    cu_close(o, "}");
}

void cu_emit_row(CuOut *o, CudaLaunch *l)
{
    IrGraph *g = o->g;
    const KirGroup *k = o->k;
    IrDim cols = kir_numel(g, k->rank - k->row.axis, k->space + k->row.axis), rows = kir_numel(g, k->row.axis, k->space);
    RowShape s = row_shape(o, cols);
    l->block[0] = (unsigned)s.tpr, l->block[1] = (unsigned)s.rpb;
    l->work[0] = rows, l->per[0] = (unsigned)s.rpb;
    if (s.cpt)
        cu_line(o, "// %d threads per row of %s elements, %d rows per block; each thread holds %d chunk%s of %d in registers",
                s.tpr, cu_dim(o, cols), s.rpb, s.cpt, s.cpt > 1 ? "s" : "", s.vec);
    else cu_line(o, "// %d threads per row of %s elements, %d rows per block; sums in f32", s.tpr, cu_dim(o, cols), s.rpb);
    cu_signature(o, (unsigned)(s.tpr * s.rpb));
    cu_open(o, "{");
    cu_line(o, "const long long cols = %s;", cu_dim(o, cols));
    cu_line(o, "const long long rows = %s;", cu_dim(o, rows));
    cu_line(o, "__shared__ float red[%d][%d];   // partial sums of the warps of a row (rows of more than 32 threads)", s.rpb,
            s.tpr > 32 ? s.tpr / 32 : 1);
    cu_line(o, "float *sh = red[threadIdx.y];");
    if (s.cpt) {
        uint32_t roots[2] = {k->pro, k->epi};
        M2cBuf align = {0};
        align_expr(o, roots, 2, &align);
        cu_line(o, "const bool vec = ((%s) & 15) == 0;", align.s);
        m2c_buf_free(&align);
    }
    /* every thread runs every iteration (the reductions synchronize); rows past the end only compute */
    cu_open(o, "for (long long r0 = (long long)blockIdx.x * %d; r0 < rows; r0 += (long long)gridDim.x * %d) {", s.rpb, s.rpb);
    cu_line(o, "const long long row = r0 + threadIdx.y;");
    cu_line(o, "const bool live = row < rows;");
    cu_line(o, "const long long base = row * cols;");
    if (s.cpt) {
        cu_open(o, "if (vec) {");
        emit_row_vector(o, &s);
        cu_line(o, "continue;");
        cu_close(o, "}");
    }
    emit_row_scalar(o, &s);
    cu_close(o, "}");
    cu_close(o, "}");
}
