/* backends/cuda/emit_misc.c — RoPE and depthwise conv1d: one thread per output element, the epilogue
 * applied where the element is written. */
#include "cuda_impl.h"

enum { MISC_THREADS = 256 };

static void grid_per_element(CuOut *o, CudaLaunch *l)
{
    IrGraph *g = o->g;
    l->block[0] = MISC_THREADS;
    l->work[0] = kir_numel(g, o->k->rank, o->k->space), l->per[0] = MISC_THREADS;
}

static void loop_open(CuOut *o)
{
    cu_line(o, "const long long n = %s;", cu_dim(o, kir_numel(o->g, o->k->rank, o->k->space)));
    cu_line(o, "const long long step = (long long)gridDim.x * blockDim.x;");
    cu_open(o, "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += step) {");
}

static void epilogue_close(CuOut *o)
{
    const KirGroup *k = o->k;
    cu_offsets(o, k->epi, "i");
    const char *v = cu_dag(o, k->epi, NULL, "acc");
    cu_store(o, "i", v, k->epi);
    cu_close(o, "}");
    cu_close(o, "}");
}

/* x (B, H, S, D); cos/sin (B or 1, S, R/2) gathered, or (P, R/2) indexed by position_ids (B, S). */
void cu_emit_rope(CuOut *o, CudaLaunch *l)
{
    const KirGroup *k = o->k;
    const KirRope *r = &k->rope;
    long long half = (long long)r->rotary_dim / 2;
    grid_per_element(o, l);
    cu_line(o, "// one thread per output element; dims from %lld on pass through", (long long)r->rotary_dim);
    cu_signature(o, MISC_THREADS);
    cu_open(o, "{");
    cu_line(o, "const long long H = %s, S = %s, D = %s;", cu_dim(o, k->space[1]), cu_dim(o, k->space[2]),
            cu_dim(o, k->space[3]));
    loop_open(o);
    cu_line(o, "const long long d = i %% D, s = (i / D) %% S, b = i / (D * S * H);");
    cu_line(o, "float acc;");
    cu_open(o, "if (d >= %lldLL) {", (long long)r->rotary_dim);
    cu_line(o, "acc = m2c_ld(in%d, i);", r->x);
    cu_close(o, "} else {");
    o->indent++;
    if (r->interleaved) {
        cu_line(o, "const long long j = d >> 1;   // pairs (2j, 2j+1)");
        cu_line(o, "const bool second = (d & 1) != 0;");
        cu_line(o, "const float x1 = m2c_ld(in%d, i - d + 2 * j), x2 = m2c_ld(in%d, i - d + 2 * j + 1);", r->x, r->x);
    } else {
        cu_line(o, "const bool second = d >= %lldLL;   // halves (j, j + %lld)", half, half);
        cu_line(o, "const long long j = second ? d - %lldLL : d;", half);
        cu_line(o, "const float x1 = m2c_ld(in%d, i - d + j), x2 = m2c_ld(in%d, i - d + j + %lldLL);", r->x, r->x, half);
    }
    if (r->pos >= 0) cu_line(o, "const long long cb = m2c_ld(in%d, b * S + s) * %lldLL;", r->pos, half);
    else if (r->shared_batch) cu_line(o, "const long long cb = s * %lldLL;   // one table for every batch", half);
    else cu_line(o, "const long long cb = (b * S + s) * %lldLL;", half);
    cu_line(o, "const float c = m2c_ld(in%d, cb + j), sn = m2c_ld(in%d, cb + j);", r->cos, r->sin);
    cu_line(o, "acc = second ? sn * x1 + c * x2 : c * x1 - sn * x2;");
    cu_close(o, "}");
    epilogue_close(o);
}

/* x (B, Cin, L), w (Cout, 1, K), Cout = Cin·mult: out (b, c, t) = Σ_k x[b, c/mult, t·stride + k·dil − pad]·w[c, k] */
void cu_emit_dwconv(CuOut *o, CudaLaunch *l)
{
    const KirGroup *k = o->k;
    const KirConv *c = &k->conv;
    const KirArg *x = &k->args.v[c->x];
    grid_per_element(o, l);
    cu_line(o, "// one thread per output element, %lld taps", (long long)c->k);
    cu_signature(o, MISC_THREADS);
    cu_open(o, "{");
    cu_line(o, "const long long Cout = %s, Lout = %s, Cin = %s, L = %s;", cu_dim(o, k->space[1]), cu_dim(o, k->space[2]),
            cu_dim(o, x->dims[1]), cu_dim(o, x->dims[2]));
    loop_open(o);
    cu_line(o, "const long long t = i %% Lout, ch = (i / Lout) %% Cout, b = i / (Lout * Cout);");
    cu_line(o, "const long long xb = (b * Cin + ch / %lldLL) * L;", (long long)c->mult);
    cu_line(o, "float acc = 0.f;");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int k = 0; k < %lld; k++) {", (long long)c->k);
    cu_line(o, "const long long p = t * %lldLL + k * %lldLL - %lldLL;", (long long)c->stride, (long long)c->dilation,
            (long long)c->pad);
    cu_line(o, "if (p >= 0 && p < L) acc += m2c_ld(in%d, xb + p) * m2c_ld(in%d, ch * %lldLL + k);", c->x, c->w,
            (long long)c->k);
    cu_close(o, "}");
    epilogue_close(o);
}
