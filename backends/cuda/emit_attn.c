/* backends/cuda/emit_attn.c — attention as one kernel: a block of 4 warps owns BM query rows of one (batch,
 * head); K and V go through shared memory in tiles of BN keys; each row keeps a running max, sum and output
 * (online softmax), so no Sq×T matrix is ever stored.  GQA maps query head h to KV head h / (Hq / Hk).
 *
 * Part A's kernel: straightforward and correct (f32 dot products on CUDA cores, one query row per warp at a
 * time).  The tuned flash kernel (tensor cores, register-tiled Q·Kᵀ and P·V) replaces this body later; the
 * argument layout and launch rule stay. */
#include "cuda_impl.h"

enum { ATTN_THREADS = 128, ATTN_SMEM_MAX = 48 * 1024 };

static unsigned smem_bytes(long long bm, long long bn, long long d, long long dv)
{
    return (unsigned)(4 * (bm * d + bn * (d + 1) + bn * dv + 4 * bn));
}

void cu_emit_attention(CuOut *o, CudaLaunch *l)
{
    const KirGroup *k = o->k;
    const KirAttn *a = &k->attn;
    const KirArg *q = &k->args.v[a->q], *kk = &k->args.v[a->k];
    long long d = a->head, dv = a->vhead, bm = 16, bn = 64;
    /* the largest tiles that fit the 48 KiB of static shared memory */
    while (smem_bytes(bm, bn, d, dv) > ATTN_SMEM_MAX && bn > 16) bn /= 2;
    while (smem_bytes(bm, bn, d, dv) > ATTN_SMEM_MAX && bm > 4) bm /= 2;
    l->block[0] = ATTN_THREADS;
    l->work[0] = q->dims[2], l->per[0] = (unsigned)bm;
    l->work[1] = q->dims[1];
    l->work[2] = q->dims[0];
    l->smem = smem_bytes(bm, bn, d, dv);
    const char *ninf = "__int_as_float(0xff800000)";
    cu_line(o, "// grid (ceil(Sq/%lld), Hq, B), block %d: %lld query rows by tiles of %lld keys", bm, ATTN_THREADS, bm, bn);
    cu_signature(o, ATTN_THREADS);
    cu_open(o, "{");
    cu_line(o, "constexpr int D = %lld, DV = %lld, BM = %lld, BN = %lld;", d, dv, bm, bn);
    cu_line(o, "constexpr int RPW = BM / 4, DVL = (DV + 31) / 32, KPL = (BN + 31) / 32;");
    cu_line(o, "const long long Hq = %s, Sq = %s, Hk = %s, T = %s;", cu_dim(o, q->dims[1]), cu_dim(o, q->dims[2]),
            cu_dim(o, kk->dims[1]), cu_dim(o, kk->dims[2]));
    cu_line(o, "__shared__ float qs[BM][D];");
    cu_line(o, "__shared__ float ks[BN][D + 1];   // +1: lanes read different keys, no bank conflicts");
    cu_line(o, "__shared__ float vs[BN][DV];");
    cu_line(o, "__shared__ float ps[4][BN];");
    cu_line(o, "const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;");
    cu_line(o, "const long long q0 = (long long)blockIdx.x * BM, h = blockIdx.y, b = blockIdx.z;");
    cu_line(o, "const long long hk = h / (Hq / Hk);");
    cu_line(o, "const long long qbase = (b * Hq + h) * Sq, kbase = (b * Hk + hk) * T;");
    cu_open(o, "for (int e = tid; e < BM * D; e += %d) {", ATTN_THREADS);
    cu_line(o, "const int r = e / D, dd = e %% D;");
    cu_line(o, "qs[r][dd] = q0 + r < Sq ? m2c_ld(in%d, (qbase + q0 + r) * D + dd) : 0.f;", a->q);
    cu_close(o, "}");
    cu_line(o, "float m[RPW], l[RPW], acc[RPW][DVL];");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int r = 0; r < RPW; r++) {");
    cu_line(o, "m[r] = %s, l[r] = 0.f;", ninf);
    cu_line(o, "#pragma unroll");
    cu_line(o, "for (int t = 0; t < DVL; t++) acc[r][t] = 0.f;");
    cu_close(o, "}");
    /* query i sits at key position i + off; keys outside [kstart, kend) are masked for every row of the block,
     * so their tiles are skipped */
    if (a->past_keys) cu_line(o, "const long long off = T - Sq;   // K holds the cached keys before these queries");
    else cu_line(o, "const long long off = 0;");
    cu_line(o, "long long kend = T, kstart = 0;");
    if (a->causal && a->rwin < 0) cu_line(o, "kend = q0 + BM + off < T ? q0 + BM + off : T;   // causal: key j <= i + off");
    else if (a->rwin >= 0)
        cu_line(o, "kend = q0 + BM + off + %lldLL < T ? q0 + BM + off + %lldLL : T;", (long long)a->rwin, (long long)a->rwin);
    if (a->lwin >= 0)
        cu_line(o, "kstart = q0 + off > %lldLL ? (q0 + off - %lldLL) / BN * BN : 0;", (long long)a->lwin, (long long)a->lwin);
    cu_open(o, "for (long long k0 = kstart; k0 < kend; k0 += BN) {");
    cu_line(o, "__syncthreads();   // the previous tile is consumed (and, the first time, qs is written)");
    cu_open(o, "for (int e = tid; e < BN * D; e += %d) {", ATTN_THREADS);
    cu_line(o, "const int j = e / D, dd = e %% D;");
    cu_line(o, "ks[j][dd] = k0 + j < T ? m2c_ld(in%d, (kbase + k0 + j) * D + dd) : 0.f;", a->k);
    cu_close(o, "}");
    cu_open(o, "for (int e = tid; e < BN * DV; e += %d) {", ATTN_THREADS);
    cu_line(o, "const int j = e / DV, dd = e %% DV;");
    cu_line(o, "vs[j][dd] = k0 + j < T ? m2c_ld(in%d, (kbase + k0 + j) * DV + dd) : 0.f;", a->v);
    cu_close(o, "}");
    cu_line(o, "__syncthreads();");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int r = 0; r < RPW; r++) {");
    cu_line(o, "const int qr = warp * RPW + r;");
    cu_line(o, "const long long qi = q0 + qr;");
    cu_line(o, "if (qi >= Sq) break;   // the same for the whole warp");
    cu_line(o, "float sc[KPL], mx = %s;", ninf);
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int u = 0; u < KPL; u++) {");
    cu_line(o, "const int j = lane + 32 * u;");
    cu_line(o, "const long long kj = k0 + j;");
    cu_line(o, "float s = %s;", ninf);
    cu_open(o, "if (j < BN && kj < T) {");
    cu_line(o, "float dot = 0.f;");
    cu_line(o, "#pragma unroll");
    cu_line(o, "for (int dd = 0; dd < D; dd++) dot += qs[qr][dd] * ks[j][dd];");
    cu_line(o, "s = dot * %af;", (double)(float)a->scale);
    if (a->softcap > 0) cu_line(o, "s = %af * tanhf(s / %af);", (double)(float)a->softcap, (double)(float)a->softcap);
    cu_line(o, "bool keep = true;");
    cu_line(o, "const long long dist = qi + off - kj;   // how far the key lies behind the query");
    if (a->causal) cu_line(o, "keep = keep && dist >= 0;");
    if (a->lwin >= 0) cu_line(o, "keep = keep && dist <= %lldLL;", (long long)a->lwin);
    if (a->rwin >= 0) cu_line(o, "keep = keep && -dist <= %lldLL;", (long long)a->rwin);
    if (a->mask >= 0) {
        cu_open(o, "if (kj >= %s) {", cu_dim(o, a->mask_last));
        cu_line(o, "keep = false;   // a mask shorter than the keys masks the rest");
        cu_close(o, "} else {");
        o->indent++;
        cu_line(o, "const long long at = b * %s + h * %s + qi * %s + kj * %s;", cu_dim(o, a->mask_at[0]),
                cu_dim(o, a->mask_at[1]), cu_dim(o, a->mask_at[2]), cu_dim(o, a->mask_at[3]));
        if (a->mask_bool) cu_line(o, "keep = keep && m2c_ld(in%d, at) != 0;", a->mask);
        else cu_line(o, "s += m2c_ld(in%d, at);", a->mask);
        cu_close(o, "}");
    }
    cu_line(o, "if (!keep) s = %s;", ninf);
    cu_close(o, "}");
    cu_line(o, "sc[u] = s;");
    cu_line(o, "mx = fmaxf(mx, s);");
    cu_close(o, "}");
    cu_line(o, "mx = m2c_warp_max(mx);");
    cu_line(o, "const float mnew = fmaxf(m[r], mx);");
    cu_line(o, "const bool none = mnew == %s;   // every key so far masked", ninf);
    cu_line(o, "const float alpha = none ? 1.f : expf(m[r] - mnew);");
    cu_line(o, "float psum = 0.f;");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int u = 0; u < KPL; u++) {");
    cu_line(o, "const float p = none ? 0.f : expf(sc[u] - mnew);");
    cu_line(o, "if (lane + 32 * u < BN) ps[warp][lane + 32 * u] = p;");
    cu_line(o, "psum += p;");
    cu_close(o, "}");
    cu_line(o, "l[r] = l[r] * alpha + m2c_warp_sum(psum);");
    cu_line(o, "m[r] = mnew;");
    cu_line(o, "__syncwarp();");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int t = 0; t < DVL; t++) {");
    cu_line(o, "const int dd = lane + 32 * t;");
    cu_line(o, "if (dd >= DV) break;");
    cu_line(o, "float s = acc[r][t] * alpha;");
    cu_line(o, "for (int j = 0; j < BN; j++) s += ps[warp][j] * vs[j][dd];");
    cu_line(o, "acc[r][t] = s;");
    cu_close(o, "}");
    cu_line(o, "__syncwarp();");
    cu_close(o, "}");
    cu_close(o, "}");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int r = 0; r < RPW; r++) {");
    cu_line(o, "const long long qi = q0 + warp * RPW + r;");
    cu_line(o, "if (qi >= Sq) break;");
    cu_line(o, "const float inv = l[r] > 0.f ? 1.f / l[r] : 0.f;   // every key masked: zeros, as the reference");
    cu_line(o, "#pragma unroll");
    cu_open(o, "for (int t = 0; t < DVL; t++) {");
    cu_line(o, "const int dd = lane + 32 * t;");
    cu_line(o, "if (dd < DV) m2c_st(out, (qbase + qi) * DV + dd, acc[r][t] * inv);");
    cu_close(o, "}");
    cu_close(o, "}");
    cu_close(o, "}");
}
