/* backends/cuda/emit_attn.c — attention as one kernel: a block owns BM query rows of one (batch, head); K and
 * V go through shared memory in tiles of BN keys; each row keeps a running max, sum and output (online
 * softmax), so no Sq×T matrix is ever stored.  GQA maps query head h to KV head h / (Hq / Hk).
 *
 * Two bodies, one argument layout:
 *  - flash (f16/bf16 q, k, v and out; head sizes multiples of 16): tensor cores through mma.sync m16n8k16
 *    (f32 accumulators), operands fetched with ldmatrix from XOR-swizzled shared memory, tiles copied with
 *    cp.async (the V tile lands while Q·Kᵀ runs, the next K tile while P·V runs), P kept in registers as the
 *    A operand of P·V, softmax in base 2, per-element masking only on tiles that cross a boundary, causal
 *    tiles past the diagonal skipped, the longest query blocks scheduled first.  The fixed part is a
 *    template (FLASH_TEXT); each group adds a Policy (key range, which tiles need masking, the score of one
 *    element) and its tile shape.
 *  - simple (f32, other head sizes): f32 dot products on CUDA cores, one query row per warp at a time. */
#include "cuda_impl.h"

#include <string.h>

enum { ATTN_THREADS = 128, ATTN_SMEM_MAX = 48 * 1024 };

static unsigned smem_bytes(long long bm, long long bn, long long d, long long dv)
{
    return (unsigned)(4 * (bm * d + bn * (d + 1) + bn * dv + 4 * bn));
}

static void emit_simple(CuOut *o, CudaLaunch *l)
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

/* The output accumulators of 8 rows are rescaled only when one of those rows' maximum grew in this key tile (a
 * warp vote; else alpha is exactly 1) for value heads of 128 and more, where the rescale is NO·2 multiplies a row
 * group, an eighth of the loop's instructions: on the H100 +3% at (2,16,4096,128), and the register allocation
 * lost its spills.  At D = 64 the vote cost 7-11% (the allocation spilled instead), so smaller heads rescale
 * always.  M2C_FA_LAZY_RESCALE=0 turns it off everywhere (bench/kernels compares). */
#ifndef M2C_FA_LAZY_RESCALE
#define M2C_FA_LAZY_RESCALE 1
#endif
#if M2C_FA_LAZY_RESCALE
#define FA_RESCALE_IF "                if (NO < 16 || __any_sync(0xffffffffu, grew))\n"
#else
#define FA_RESCALE_IF "                (void)grew;\n"
#endif

/* The fixed part of the tensor-core kernel.  Fragment layouts are those of PTX's mma.m16n8k16 (row.col): lane
 * = 4·g + t4 holds rows g and g + 8 of a 16-row tile, columns 2·t4 and 2·t4 + 1 of each 8-column slice, so a
 * row's scores live in the 4 lanes of a quad; the score accumulators of two adjacent 8-key slices are, once
 * rounded to 16 bits, exactly the A operand of P·V for those 16 keys. */
static const char FLASH_TEXT[] =
    "namespace {\n"
    "// the shared-memory address of p; volatile, so that the compiler rebuilds addresses from it at each use\n"
    "// instead of holding one register per fragment address across the key loop\n"
    "M2C_DF unsigned fa_smem(const void *p)\n"
    "{\n"
    "    unsigned r;\n"
    "    asm volatile(\"{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }\" : \"=r\"(r) : \"l\"(p));\n"
    "    return r;\n"
    "}\n"
    "M2C_DF void fa_cp16(unsigned dst, const void *src, bool full)\n"
    "{\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16, %2;\" ::\"r\"(dst), \"l\"(src), \"r\"(full ? 16 : 0));\n"
    "}\n"
    "M2C_DF void fa_cp16(unsigned dst, const void *src)\n"
    "{\n"
    "    asm volatile(\"cp.async.cg.shared.global [%0], [%1], 16;\" ::\"r\"(dst), \"l\"(src));\n"
    "}\n"
    "M2C_DF void fa_commit() { asm volatile(\"cp.async.commit_group;\"); }\n"
    "M2C_DF void fa_wait() { asm volatile(\"cp.async.wait_group 0;\" ::: \"memory\"); }\n"
    "M2C_DF void fa_ldsm(unsigned a, unsigned r[4])\n"
    "{\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : \"r\"(a));\n"
    "}\n"
    "M2C_DF void fa_ldsm_t(unsigned a, unsigned r[4])\n"
    "{\n"
    "    asm volatile(\"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\"\n"
    "                 : \"=r\"(r[0]), \"=r\"(r[1]), \"=r\"(r[2]), \"=r\"(r[3]) : \"r\"(a));\n"
    "}\n"
    "// c += a·b for one 16x8x16 tile: a 16x16 (4 registers), b 16x8 (2), c 16x8 in f32\n"
    "template <bool BF> M2C_DF void fa_mma(float c[4], const unsigned a[4], unsigned b0, unsigned b1)\n"
    "{\n"
    "    if (BF)\n"
    "        asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, \"\n"
    "                     \"{%8, %9}, {%0, %1, %2, %3};\"\n"
    "                     : \"+f\"(c[0]), \"+f\"(c[1]), \"+f\"(c[2]), \"+f\"(c[3])\n"
    "                     : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b0), \"r\"(b1));\n"
    "    else\n"
    "        asm volatile(\"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, \"\n"
    "                     \"{%8, %9}, {%0, %1, %2, %3};\"\n"
    "                     : \"+f\"(c[0]), \"+f\"(c[1]), \"+f\"(c[2]), \"+f\"(c[3])\n"
    "                     : \"r\"(a[0]), \"r\"(a[1]), \"r\"(a[2]), \"r\"(a[3]), \"r\"(b0), \"r\"(b1));\n"
    "}\n"
    "// two floats rounded into one register of two 16-bit values, lo in the low half\n"
    "template <bool BF> M2C_DF unsigned fa_pack(float lo, float hi)\n"
    "{\n"
    "    unsigned r;\n"
    "    if (BF) asm(\"cvt.rn.bf16x2.f32 %0, %1, %2;\" : \"=r\"(r) : \"f\"(hi), \"f\"(lo));\n"
    "    else asm(\"cvt.rn.f16x2.f32 %0, %1, %2;\" : \"=r\"(r) : \"f\"(hi), \"f\"(lo));\n"
    "    return r;\n"
    "}\n"
    "M2C_DF float fa_exp2(float x) { float y; asm(\"ex2.approx.ftz.f32 %0, %1;\" : \"=f\"(y) : \"f\"(x)); return y; }\n"
    "// chunk c (16 bytes) of row r, XOR-swizzled: 8 rows read at one chunk hit 8 different bank groups\n"
    "template <int NCH> M2C_DF int fa_swz(int r, int c)\n"
    "{\n"
    "    if (NCH % 8 == 0) return c ^ (r & 7);\n"
    "    if (NCH == 4) return c ^ ((r >> 1) & 3);\n"
    "    if (NCH == 2) return c ^ ((r >> 2) & 1);\n"
    "    return c;   // other widths: unswizzled, bank conflicts but correct\n"
    "}\n"
    "// A thread's byte offset o = 16·(r·NCH + swz(r, c_thread)) moved to chunk c_thread + cc of the same row, for\n"
    "// a constant cc whose bits miss c_thread's and rows r whose swizzle does not change: XOR for the swizzled\n"
    "// (power of two) widths, addition for the others.\n"
    "template <int NCH> M2C_DF unsigned fa_cc(unsigned o, int cc)\n"
    "{\n"
    "    return (NCH & (NCH - 1)) == 0 ? o ^ (unsigned)(cc << 4) : o + (unsigned)(cc << 4);\n"
    "}\n"
    "// ROWS rows of W 16-bit values from src (the tile's first row) into shared memory at dst; rows from `valid` on\n"
    "// are zeros (the first row must exist)\n"
    "template <int ROWS, int W, int NT>\n"
    "M2C_DF void fa_load(unsigned dst, const unsigned short *src, int valid, int tid)\n"
    "{\n"
    "    constexpr int NCH = W / 8, RS = NT / NCH;\n"
    "    if (NT % NCH == 0 && RS % 8 == 0) {\n"
    "        // each pass of the block covers RS whole rows, a multiple of the swizzle's period: one offset per thread\n"
    "        const int r0 = tid / NCH, c = tid % NCH;\n"
    "        const unsigned d = dst + (r0 * NCH + fa_swz<NCH>(r0, c)) * 16;\n"
    "        const unsigned short *s = src + r0 * W + c * 8;\n"
    "        if (valid >= ROWS) {   // a whole tile (the common case): constant offsets, no bounds\n"
    "#pragma unroll\n"
    "            for (int i = 0; i < (ROWS + RS - 1) / RS; i++)\n"
    "                if (ROWS % RS == 0 || r0 + i * RS < ROWS) fa_cp16(d + i * RS * NCH * 16, s + i * RS * W);\n"
    "        } else {\n"
    "#pragma unroll\n"
    "            for (int i = 0; i < (ROWS + RS - 1) / RS; i++)\n"
    "                if (ROWS % RS == 0 || r0 + i * RS < ROWS) {\n"
    "                    const bool full = r0 + i * RS < valid;\n"
    "                    fa_cp16(d + i * RS * NCH * 16, full ? s + i * RS * W : src, full);\n"
    "                }\n"
    "        }\n"
    "    } else {\n"
    "        constexpr int N = ROWS * NCH;\n"
    "#pragma unroll\n"
    "        for (int i = 0; i < (N + NT - 1) / NT; i++) {\n"
    "            const int e = tid + i * NT, r = e / NCH, c = e % NCH;\n"
    "            if (N % NT == 0 || e < N) {\n"
    "                const bool full = r < valid;\n"
    "                fa_cp16(dst + (r * NCH + fa_swz<NCH>(r, c)) * 16, src + (full ? r : 0) * W + c * 8, full);\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "}\n"
    "\n"
    "// Query rows [q0, q0 + BM) of one head: q and o from row qrow, k and v from row krow.  Scores are kept raw\n"
    "// (TRANSFORM false: exp2(s·F - m·F) with F = scale·log2 e) or as Policy::score made them (TRANSFORM: F = 1).\n"
    "template <int D, int DV, int BM, int BN, int NW, bool BF, bool TRANSFORM, class Policy>\n"
    "M2C_DF void fa_run(const unsigned short *__restrict__ q, const unsigned short *__restrict__ k,\n"
    "                   const unsigned short *__restrict__ v, unsigned short *__restrict__ o, const Policy &pol,\n"
    "                   long long q0, long long qrow, long long krow, float F)\n"
    "{\n"
    "    constexpr int NT = 32 * NW, MT = BM / (16 * NW), NS = BN / 8, NO = DV / 8, QCH = D / 8, VCH = DV / 8;\n"
    "    extern __shared__ __align__(128) unsigned char fa_shared[];\n"
    "    constexpr unsigned SK = BM * D * 2, SV = SK + BN * D * 2;   // K and V tiles after Q in shared memory\n"
    "    const int tid = threadIdx.x, lane = tid & 31, g = lane >> 2, t4 = lane & 3;\n"
    "    const int wr = (tid >> 5) * MT * 16;   // the warp's first row in the block\n"
    "    // this lane's ldmatrix rows and chunks (fa_cc moves them to a fragment's chunk)\n"
    "    const int rq = wr + (lane & 15), rk = (lane & 7) + ((lane >> 4) << 3), rv = lane & 15;\n"
    "    const unsigned oq = (rq * QCH + fa_swz<QCH>(rq, lane >> 4)) * 16;\n"
    "    const unsigned ok = SK + (rk * QCH + fa_swz<QCH>(rk, (lane >> 3) & 1)) * 16;\n"
    "    const unsigned ov = SV + (rv * VCH + fa_swz<VCH>(rv, lane >> 4)) * 16;\n"
    "    const float NEG = __int_as_float(0xff800000);\n"
    "    long long ks, ke;\n"
    "    pol.range(q0, ks, ke);\n"
    "    fa_load<BM, D, NT>(fa_smem(fa_shared), q + (qrow + q0) * D, (int)m2c_lmin(pol.Sq - q0, BM), tid);\n"
    "    if (ks < ke) fa_load<BN, D, NT>(fa_smem(fa_shared) + SK, k + (krow + ks) * D, (int)m2c_lmin(pol.T - ks, BN), tid);\n"
    "    fa_commit();\n"
    "    float acc[MT][NO][4], mx[MT][2], sum[MT][2];\n"
    "#pragma unroll\n"
    "    for (int mt = 0; mt < MT; mt++) {\n"
    "        mx[mt][0] = mx[mt][1] = NEG, sum[mt][0] = sum[mt][1] = 0.f;\n"
    "#pragma unroll\n"
    "        for (int j = 0; j < NO; j++) acc[mt][j][0] = acc[mt][j][1] = acc[mt][j][2] = acc[mt][j][3] = 0.f;\n"
    "    }\n"
    "    for (long long k0 = ks; k0 < ke; k0 += BN) {\n"
    "        fa_wait();\n"
    "        __syncthreads();   // this K tile (and Q) landed; every warp is done with the last V tile\n"
    "        fa_load<BN, DV, NT>(fa_smem(fa_shared) + SV, v + (krow + k0) * DV, (int)m2c_lmin(pol.T - k0, BN), tid);\n"
    "        fa_commit();\n"
    "        // S = Q·Kᵀ\n"
    "        float s[MT][NS][4];\n"
    "#pragma unroll\n"
    "        for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "            for (int j = 0; j < NS; j++) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < D / 16; kk++) {\n"
    "            unsigned a[MT][4];\n"
    "#pragma unroll\n"
    "            for (int mt = 0; mt < MT; mt++) {\n"
    "                fa_ldsm(fa_smem(fa_shared) + mt * 16 * QCH * 16 + fa_cc<QCH>(oq, 2 * kk), a[mt]);\n"
    "            }\n"
    "#pragma unroll\n"
    "            for (int nb = 0; nb < BN / 16; nb++) {\n"
    "                unsigned b[4];\n"
    "                fa_ldsm(fa_smem(fa_shared) + nb * 16 * QCH * 16 + fa_cc<QCH>(ok, 2 * kk), b);\n"
    "#pragma unroll\n"
    "                for (int mt = 0; mt < MT; mt++) {\n"
    "                    fa_mma<BF>(s[mt][2 * nb], a[mt], b[0], b[1]);\n"
    "                    fa_mma<BF>(s[mt][2 * nb + 1], a[mt], b[2], b[3]);\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "        // masks, bounds, softcap: per element only where the policy says the tile needs it\n"
    "        if (TRANSFORM || pol.edge(q0, k0)) {\n"
    "            const typename Policy::Tile tile = pol.tile(q0, k0);\n"
    "#pragma unroll\n"
    "            for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < NS; j++)\n"
    "#pragma unroll\n"
    "                    for (int e = 0; e < 4; e++)\n"
    "                        s[mt][j][e] = pol.score(tile, wr + mt * 16 + g + (e >> 1) * 8, j * 8 + t4 * 2 + (e & 1), s[mt][j][e]);\n"
    "        }\n"
    "        // online softmax of rows g and g + 8 of each 16-row tile, each held by the 4 lanes of a quad\n"
    "#pragma unroll\n"
    "        for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "            for (int h = 0; h < 2; h++) {\n"
    "                float m = mx[mt][h];\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < NS; j++) m = fmaxf(m, fmaxf(s[mt][j][2 * h], s[mt][j][2 * h + 1]));\n"
    "                m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 1));\n"
    "                m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, 2));\n"
    "                const float ms = m == NEG ? 0.f : m * F;   // every key so far masked: p = 0, no NaN\n"
    "                const float alpha = fa_exp2(mx[mt][h] * F - ms);\n"
    "                const bool grew = m != mx[mt][h];   // else alpha is 1 (or acc is still 0)\n"
    "                mx[mt][h] = m;\n"
    "                float ls = 0.f;\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < NS; j++)\n"
    "#pragma unroll\n"
    "                    for (int e = 2 * h; e < 2 * h + 2; e++) {\n"
    "                        const float p = fa_exp2(fmaf(s[mt][j][e], F, -ms));\n"
    "                        s[mt][j][e] = p;\n"
    "                        ls += p;\n"
    "                    }\n"
    "                sum[mt][h] = sum[mt][h] * alpha + ls;   // this lane's part of the row; the quad's sum at the end\n"
    FA_RESCALE_IF
    "#pragma unroll\n"
    "                for (int j = 0; j < NO; j++) acc[mt][j][2 * h] *= alpha, acc[mt][j][2 * h + 1] *= alpha;\n"
    "            }\n"
    "        fa_wait();\n"
    "        __syncthreads();   // the V tile landed; every warp is done with this K tile\n"
    "        if (k0 + BN < ke)\n"
    "            fa_load<BN, D, NT>(fa_smem(fa_shared) + SK, k + (krow + k0 + BN) * D, (int)m2c_lmin(pol.T - k0 - BN, BN), tid);\n"
    "        fa_commit();\n"
    "        // O += P·V, P rounded to 16 bits straight from the score registers\n"
    "#pragma unroll\n"
    "        for (int kk = 0; kk < BN / 16; kk++) {\n"
    "            unsigned a[MT][4];\n"
    "#pragma unroll\n"
    "            for (int mt = 0; mt < MT; mt++) {\n"
    "                a[mt][0] = fa_pack<BF>(s[mt][2 * kk][0], s[mt][2 * kk][1]);\n"
    "                a[mt][1] = fa_pack<BF>(s[mt][2 * kk][2], s[mt][2 * kk][3]);\n"
    "                a[mt][2] = fa_pack<BF>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);\n"
    "                a[mt][3] = fa_pack<BF>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);\n"
    "            }\n"
    "#pragma unroll\n"
    "            for (int nb = 0; nb < DV / 16; nb++) {\n"
    "                unsigned b[4];\n"
    "                fa_ldsm_t(fa_smem(fa_shared) + kk * 16 * VCH * 16 + fa_cc<VCH>(ov, 2 * nb), b);\n"
    "#pragma unroll\n"
    "                for (int mt = 0; mt < MT; mt++) {\n"
    "                    fa_mma<BF>(acc[mt][2 * nb], a[mt], b[0], b[1]);\n"
    "                    fa_mma<BF>(acc[mt][2 * nb + 1], a[mt], b[2], b[3]);\n"
    "                }\n"
    "            }\n"
    "        }\n"
    "    }\n"
    "    fa_wait();\n"
    "    // out = acc / sum; a row whose keys are all masked gets zeros, as the reference\n"
    "#pragma unroll\n"
    "    for (int mt = 0; mt < MT; mt++)\n"
    "#pragma unroll\n"
    "        for (int h = 0; h < 2; h++) {\n"
    "            float l = sum[mt][h];\n"
    "            l += __shfl_xor_sync(0xffffffffu, l, 1);\n"
    "            l += __shfl_xor_sync(0xffffffffu, l, 2);\n"
    "            const float inv = l > 0.f ? 1.f / l : 0.f;\n"
    "            const long long row = q0 + wr + mt * 16 + g + h * 8;\n"
    "            if (row < pol.Sq) {\n"
    "                unsigned *dst = reinterpret_cast<unsigned *>(o + (qrow + row) * DV + t4 * 2);\n"
    "#pragma unroll\n"
    "                for (int j = 0; j < NO; j++) dst[j * 4] = fa_pack<BF>(acc[mt][j][2 * h] * inv, acc[mt][j][2 * h + 1] * inv);\n"
    "            }\n"
    "        }\n"
    "}\n"
    "}   // namespace\n";

/* The tensor-core path takes 16-bit q, k, v and out of one dtype and head sizes that are multiples of 16. */
static bool flash_ok(const KirGroup *k)
{
    const KirAttn *a = &k->attn;
    IrDType t = k->args.v[a->q].dtype;
    if (t != DT_F16 && t != DT_BF16) return false;
    if (k->args.v[a->k].dtype != t || k->args.v[a->v].dtype != t || k->args.v[k->args.n - 1].dtype != t) return false;
    return a->head % 16 == 0 && a->vhead % 16 == 0 && a->head <= 256 && a->vhead <= 256;
}

/* Tiles: 128 query rows by 128 keys for heads up to 64, by 64 keys up to 128 (both: 4 warps of 32 rows, the
 * shape FlashAttention-2 uses on Hopper), 64 by 64 beyond. */
static CudaAttnTiles flash_tiles(const KirAttn *a, const CudaAttnTiles *want)
{
    if (want && want->bm && want->bn && want->warps && want->bm % (16 * want->warps) == 0 && want->bn % 16 == 0)
        return *want;
    long long d = a->head > a->vhead ? a->head : a->vhead;
    if (d <= 64) return (CudaAttnTiles){128, 128, 4};
    if (d <= 128) return (CudaAttnTiles){128, 64, 4};
    return (CudaAttnTiles){64, 64, 4};
}

static void emit_flash(CuOut *o, CudaLaunch *l)
{
    const KirGroup *k = o->k;
    const KirAttn *a = &k->attn;
    const KirArg *q = &k->args.v[a->q], *kk = &k->args.v[a->k];
    CudaAttnTiles t = flash_tiles(a, o->tiles);
    bool bf = q->dtype == DT_BF16, transform = a->softcap > 0 || (a->mask >= 0 && !a->mask_bool);
    long long lw = a->lwin, rw = a->rwin;
    const double log2e = 1.4426950408889634;
    l->block[0] = 32 * t.warps;
    /* heads fastest, then batches, then blocks of query rows (the kernel takes the longest causal ones first) */
    l->work[0] = q->dims[1];
    l->work[1] = q->dims[0];
    l->work[2] = q->dims[2], l->per[2] = t.bm;
    l->dsmem = (unsigned)(2 * (t.bm * a->head + t.bn * a->head + t.bn * a->vhead));
    cu_text(o, FLASH_TEXT);
    m2c_buf_putc(o->buf, '\n');
    cu_line(o, "// Which keys the query rows [q0, q0 + BM) may see, which key tiles need per-element treatment, and the");
    cu_line(o, "// score of one element (%s).", transform ? "scaled, in base 2" : "raw, or -inf where masked");
    cu_line(o, "struct Policy {");
    o->indent++;
    cu_line(o, "static constexpr long long BM = %u, BN = %u;", t.bm, t.bn);
    cu_line(o, "long long Sq, T, off, b, h;");
    if (a->mask >= 0) cu_line(o, "const %s *mask;", cuda_ctype(k->args.v[a->mask].dtype));
    for (uint32_t i = 0; i < k->syms.n; i++) cu_line(o, "long long %s;   // the kernel's scalar", k->syms.v[i].cname);
    cu_open(o, "M2C_DF void range(long long q0, long long &ks, long long &ke) const {");
    cu_line(o, "ks = 0, ke = T;");
    if (a->causal) cu_line(o, "ke = m2c_lmin(ke, q0 + BM + off);   // causal: key j <= i + off");
    if (rw >= 0) cu_line(o, "ke = m2c_lmin(ke, q0 + BM + off + %lldLL);", rw);
    if (lw >= 0) cu_line(o, "ks = m2c_lmax(0, q0 + off - %lldLL) / BN * BN;", lw);
    cu_close(o, "}");
    cu_open(o, "M2C_DF bool edge(long long q0, long long k0) const {");
    M2cBuf e = {0};
    m2c_buf_puts(&e, "k0 + BN > T");
    if (a->causal) m2c_buf_puts(&e, " || k0 + BN - 1 > q0 + off");
    if (rw >= 0) m2c_buf_printf(&e, " || k0 + BN - 1 - q0 - off > %lldLL", rw);
    if (lw >= 0) m2c_buf_printf(&e, " || q0 + BM - 1 + off - k0 > %lldLL", lw);
    if (a->mask >= 0) m2c_buf_puts(&e, " || true");
    cu_line(o, "return %s;", e.s);
    m2c_buf_free(&e);
    cu_close(o, "}");
    /* per tile, once: what the elements need, in ints relative to the tile (distances clamped to ±2^30) */
    cu_line(o, "struct Tile { int rows, cols, d%s; long long at; };", a->mask >= 0 ? ", mcols" : "");
    cu_open(o, "M2C_DF Tile tile(long long q0, long long k0) const {");
    cu_line(o, "Tile t;");
    cu_line(o, "t.rows = (int)m2c_lmin(Sq - q0, BM), t.cols = (int)m2c_lmin(T - k0, BN);");
    cu_line(o, "t.d = (int)m2c_lmax(-(1LL << 30), m2c_lmin(q0 + off - k0, 1LL << 30));   // key k0 behind query q0");
    if (a->mask >= 0) {
        cu_line(o, "t.mcols = (int)m2c_lmax(0, m2c_lmin(%s - k0, BN));   // a mask shorter than the keys masks the rest",
                cu_dim(o, a->mask_last));
        cu_line(o, "t.at = b * %s + h * %s + q0 * %s + k0 * %s;", cu_dim(o, a->mask_at[0]), cu_dim(o, a->mask_at[1]),
                cu_dim(o, a->mask_at[2]), cu_dim(o, a->mask_at[3]));
    } else {
        cu_line(o, "t.at = 0;");
    }
    cu_line(o, "return t;");
    cu_close(o, "}");
    cu_line(o, "// element (q0 + r, k0 + c)");
    cu_open(o, "M2C_DF float score(const Tile &t, int r, int c, float s) const {");
    cu_line(o, "const float NEG = __int_as_float(0xff800000);");
    cu_line(o, "if (r >= t.rows || c >= t.cols) return NEG;");
    cu_line(o, "const int dist = t.d + r - c;   // how far the key lies behind the query");
    cu_line(o, "(void)dist;");
    if (a->causal) cu_line(o, "if (dist < 0) return NEG;");
    if (lw >= 0) cu_line(o, "if (dist > %lld) return NEG;", lw < (1LL << 30) ? lw : (1LL << 30));
    if (rw >= 0) cu_line(o, "if (-dist > %lld) return NEG;", rw < (1LL << 30) ? rw : (1LL << 30));
    if (a->mask >= 0) {
        cu_line(o, "if (c >= t.mcols) return NEG;");
        cu_line(o, "const long long at = t.at + r * %s + c * %s;", cu_dim(o, a->mask_at[2]), cu_dim(o, a->mask_at[3]));
        if (a->mask_bool) cu_line(o, "if (m2c_ld(mask, at) == 0) return NEG;");
    }
    if (transform) {
        cu_line(o, "float x = s * %af;", (double)(float)a->scale);
        if (a->softcap > 0) cu_line(o, "x = %af * tanhf(x / %af);", (double)(float)a->softcap, (double)(float)a->softcap);
        if (a->mask >= 0 && !a->mask_bool) cu_line(o, "x += m2c_ld(mask, at);");
        cu_line(o, "return x * %af;", log2e);
    } else {
        cu_line(o, "return s;");
    }
    cu_close(o, "}");
    o->indent--;
    cu_line(o, "};");
    m2c_buf_putc(o->buf, '\n');
    cu_line(o, "// grid (Hq, B, ceil(Sq/%u)), block %u, %u bytes of dynamic shared memory: %u query rows by tiles of %u keys",
            t.bm, 32 * t.warps, l->dsmem, t.bm, t.bn);
    cu_signature(o, 32 * t.warps);
    cu_open(o, "{");
    cu_line(o, "constexpr int D = %lld, DV = %lld, BM = %u, BN = %u, NW = %u;", (long long)a->head, (long long)a->vhead,
            t.bm, t.bn, t.warps);
    cu_line(o, "const long long Hq = %s, Sq = %s, Hk = %s, T = %s;", cu_dim(o, q->dims[1]), cu_dim(o, q->dims[2]),
            cu_dim(o, kk->dims[1]), cu_dim(o, kk->dims[2]));
    cu_line(o, "const long long h = blockIdx.x, b = blockIdx.y, hk = h / (Hq / Hk);");
    cu_line(o, "const long long off = %s;", a->past_keys ? "T - Sq   /* K holds the cached keys before these queries */" : "0");
    M2cBuf init = {0};
    if (a->mask >= 0) m2c_buf_printf(&init, ", in%d", a->mask);
    for (uint32_t i = 0; i < k->syms.n; i++) m2c_buf_printf(&init, ", %s", k->syms.v[i].cname);
    cu_line(o, "const Policy pol{Sq, T, off, b, h%s};", init.s ? init.s : "");
    m2c_buf_free(&init);
    cu_line(o, "const long long nblk = (Sq + BM - 1) / BM;");
    cu_open(o, "for (long long i = blockIdx.z; i < nblk; i += gridDim.z) {");
    cu_line(o, "if (i != blockIdx.z) __syncthreads();   // shared memory free for the next block of rows");
    cu_line(o, "const long long q0 = (nblk - 1 - i) * BM;   // the longest causal blocks first");
    cu_line(o, "fa_run<D, DV, BM, BN, NW, %s, %s>(reinterpret_cast<const unsigned short *>(in%d),", bf ? "true" : "false",
            transform ? "true" : "false", a->q);
    o->indent += 2;
    cu_line(o, "reinterpret_cast<const unsigned short *>(in%d), reinterpret_cast<const unsigned short *>(in%d),", a->k, a->v);
    cu_line(o, "reinterpret_cast<unsigned short *>(out), pol, q0, (b * Hq + h) * Sq, (b * Hk + hk) * T, %af);",
            transform ? 1.0 : (double)(float)(a->scale * log2e));
    o->indent -= 2;
    cu_close(o, "}");
    cu_close(o, "}");
}

void cu_emit_attention(CuOut *o, CudaLaunch *l)
{
    if (flash_ok(o->k)) emit_flash(o, l);
    else emit_simple(o, l);
}
