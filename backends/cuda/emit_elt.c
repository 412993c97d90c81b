/* backends/cuda/emit_elt.c — the elementwise kernel (also the GEMM epilogue: the matmul result is one more
 * pointwise input) and the row kernel (LayerNorm, RMSNorm, softmax, log-softmax over the trailing axes). */
#include "cuda_impl.h"

#include <string.h>

enum { ELT_THREADS = 256, ELT_VEC = 4, ROW_WARPS = 4 };

/* The vector path needs every argument to read its last axis either contiguously or not at all, known at
 * compile time (a run-time broadcast of the last axis keeps the scalar path). */
static bool vec_ok(CuOut *o)
{
    const KirGroup *k = o->k;
    if (k->rank == 0) return false;
    for (uint32_t a = 0; a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        int64_t c;
        if (arg->use != KIR_ARG_POINTWISE || !cu_uses_arg(k, k->epi, (int)a)) continue;
        if (!ir_dim_const_value(o->g, arg->at[k->rank - 1], &c) || (c != 0 && c != 1)) return false;
    }
    return true;
}

static bool reads_last(CuOut *o, const KirArg *arg)
{
    int64_t c;
    return ir_dim_const_value(o->g, arg->at[o->k->rank - 1], &c) && c == 1;
}

void cu_emit_eltwise(CuOut *o, CudaLaunch *l)
{
    IrGraph *g = o->g;
    const KirGroup *k = o->k;
    M2cArena *ar = g->arena;
    IrDim n = kir_numel(g, k->rank, k->space);
    l->block[0] = ELT_THREADS;
    l->work[0] = n, l->per[0] = ELT_THREADS * ELT_VEC;
    cu_signature(o, ELT_THREADS);
    cu_open(o, "{");
    cu_line(o, "const long long n = %s;", cu_dim(o, n));
    cu_line(o, "const long long step = (long long)gridDim.x * blockDim.x;");
    cu_line(o, "const long long t = (long long)blockIdx.x * blockDim.x + threadIdx.x;");
    const KirArg *out = &k->args.v[k->args.n - 1];
    bool fout = ir_dtype_is_float(out->dtype);
    if (vec_ok(o)) {
        /* four elements of one row per thread: 16-byte loads of f32, 8-byte loads of f16/bf16 */
        M2cBuf align = {0};
        m2c_buf_puts(&align, "(unsigned long long)out");
        for (uint32_t a = 0; a + 1 < k->args.n; a++)
            if (k->args.v[a].use == KIR_ARG_POINTWISE && cu_uses_arg(k, k->epi, (int)a) && reads_last(o, &k->args.v[a]))
                m2c_buf_printf(&align, " | (unsigned long long)in%u", a);
        cu_line(o, "// four consecutive elements of one row per thread where rows are multiples of 4 and aligned");
        cu_open(o, "if ((%s & 3) == 0 && ((%s) & 15) == 0) {", cu_dim(o, k->space[k->rank - 1]), align.s);
        m2c_buf_free(&align);
        cu_open(o, "for (long long i = t * %d; i < n; i += step * %d) {", ELT_VEC, ELT_VEC);
        cu_offsets(o, k->epi, "i");
        const char **leaf = m2c_alloc_array(ar, k->args.n, sizeof *leaf);
        for (uint32_t a = 0; a + 1 < k->args.n; a++) {
            const KirArg *arg = &k->args.v[a];
            if (arg->use != KIR_ARG_POINTWISE || !cu_uses_arg(k, k->epi, (int)a)) continue;
            const char *ty = ir_dtype_is_float(arg->dtype) ? "float" : "long long";
            if (reads_last(o, arg)) {
                cu_line(o, "%s l%u[4];", ty, a);
                cu_line(o, "m2c_ld4(in%u, o%u, l%u);", a, a, a);
                leaf[a] = m2c_sprintf(ar, "l%u[j]", a);
            } else {
                cu_line(o, "const %s l%u = m2c_ld(in%u, o%u);", ty, a, a, a);
                leaf[a] = m2c_sprintf(ar, "l%u", a);
            }
        }
        cu_line(o, "%s r[4];", fout ? "float" : "long long");
        cu_line(o, "#pragma unroll");
        cu_open(o, "for (int j = 0; j < 4; j++) {");
        const char *v = cu_dag(o, k->epi, leaf, NULL);
        KirClass want = fout ? KIR_F32 : KIR_I64;
        cu_line(o, "r[j] = %s%s;", k->ex.v[k->epi].cls == want ? "" : fout ? "(float)" : "(long long)", v);
        cu_close(o, "}");
        cu_line(o, "m2c_st4(out, i, r);");
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

/* One pass over the row: `body` runs per element with the row input in `x`. */
static void row_loop_open(CuOut *o)
{
    cu_open(o, "for (long long c = threadIdx.x; c < cols; c += 32) {");
    cu_line(o, "const long long i = base + c;");
}

static const char *row_input(CuOut *o)
{
    cu_offsets(o, o->k->pro, "i");
    return cu_dag(o, o->k->pro, NULL, NULL);
}

void cu_emit_row(CuOut *o, CudaLaunch *l)
{
    IrGraph *g = o->g;
    const KirGroup *k = o->k;
    const KirRow *r = &k->row;
    IrDim cols = kir_numel(g, k->rank - r->axis, k->space + r->axis), rows = kir_numel(g, r->axis, k->space);
    l->block[0] = 32, l->block[1] = ROW_WARPS;
    l->work[0] = rows, l->per[0] = ROW_WARPS;
    cu_line(o, "// one warp per row of %s elements; sums in f32", cu_dim(o, cols));
    cu_signature(o, 32 * ROW_WARPS);
    cu_open(o, "{");
    cu_line(o, "const long long cols = %s;", cu_dim(o, cols));
    cu_line(o, "const long long rows = %s;", cu_dim(o, rows));
    cu_line(o, "const long long row = (long long)blockIdx.x * blockDim.y + threadIdx.y;");
    cu_line(o, "if (row >= rows) return;");
    cu_line(o, "const long long base = row * cols;");
    const char *x;
    switch (r->op) {
    case KIR_ROW_LAYERNORM: case KIR_ROW_RMSNORM: {
        bool ln = r->op == KIR_ROW_LAYERNORM;
        if (ln) {
            cu_line(o, "float s = 0.f;");
            row_loop_open(o);
            x = row_input(o);
            cu_line(o, "s += %s;", x);
            cu_close(o, "}");
            cu_line(o, "const float mean = m2c_warp_sum(s) / (float)cols;");
        }
        /* the variance from the mean already known (two passes): no cancellation as in E[x²] - E[x]² */
        cu_line(o, "float q = 0.f;");
        row_loop_open(o);
        x = row_input(o);
        if (ln) cu_line(o, "const float d = %s - mean;", x);
        else cu_line(o, "const float d = %s;", x);
        cu_line(o, "q += d * d;");
        cu_close(o, "}");
        cu_line(o, "const float inv = 1.f / sqrtf(m2c_warp_sum(q) / (float)cols + %af);", (double)(float)r->eps);
        break;
    }
    case KIR_ROW_SOFTMAX: case KIR_ROW_LOGSOFTMAX:
        cu_line(o, "float m = __int_as_float(0xff800000);");
        row_loop_open(o);
        x = row_input(o);
        cu_line(o, "m = fmaxf(m, %s);", x);
        cu_close(o, "}");
        cu_line(o, "m = m2c_warp_max(m);");
        cu_line(o, "float s = 0.f;");
        row_loop_open(o);
        x = row_input(o);
        cu_line(o, "s += expf(%s - m);", x);
        cu_close(o, "}");
        cu_line(o, "s = m2c_warp_sum(s);");
        break;
    default: M2C_UNREACHABLE();
    }
    row_loop_open(o);
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
    cu_close(o, "}");
}
