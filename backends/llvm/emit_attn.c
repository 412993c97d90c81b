/* backends/llvm/emit_attn.c — attention on the CPU: a work item is a block of query rows of one (batch, head);
 * keys go by tiles of ATT_BN, each row keeping a running max, sum and output (online softmax), so no Sq×T
 * matrix exists and a K/V tile is reused from cache by every row of the block.  GQA maps query head h to KV
 * head h / (Hq / Hk).  The block's key range is cut to what its causal frontier and windows leave visible, as
 * the CUDA kernel does.
 *
 * Two forms.  Head sizes that are multiples of 8 (all real models) take the register-blocked one: a block of
 * ATT_FM = 32 rows; per tile K is transposed once into f32 scratch (kt[d][j]), so the scores of 4 rows × 16
 * keys are 8 vector accumulators updated by two loads and 8 FMAs per d — no horizontal sums; probability·V keeps up
 * to 8 vectors of one row's output in registers over the tile's keys.  These are explicit <8 x float>
 * operations (two SSE registers each on x86-64-v2).  Other head sizes take the plain loops (ATT_BM = 8 rows,
 * a dot product per score) that the loop vectorizer handles. */
#include "llvm_impl.h"

#include <math.h>

enum { ATT_BM = 8, ATT_BN = 64, ATT_FM = 32, VW = 8, RG = 4 };

typedef struct {
    LLVMValueRef b, h, qi, kj, off;
} Pos;

/* The score of (query qi, key kj) from the dot product: scale, softcap, masks; -inf where the key is masked. */
static LLVMValueRef score(Lw *L, LLVMValueRef dot, const Pos *p)
{
    const KirAttn *a = &L->k->attn;
    LLVMBuilderRef b = L->b;
    LLVMValueRef s = LLVMBuildFMul(b, dot, lw_f32(L, a->scale), "");
    if (a->softcap > 0) {
        LLVMValueRef t = lw_math(L, LWM_TANH, LLVMBuildFMul(b, s, lw_f32(L, 1.0 / a->softcap), ""));
        s = LLVMBuildFMul(b, lw_f32(L, a->softcap), t, "");
    }
    LLVMValueRef keep = LLVMConstInt(L->i1, 1, false);
    LLVMValueRef dist = lw_sub(L, lw_add(L, p->qi, p->off), p->kj);   /* how far the key lies behind the query */
    if (a->causal) keep = LLVMBuildAnd(b, keep, LLVMBuildICmp(b, LLVMIntSGE, dist, lw_i64(L, 0), ""), "");
    if (a->lwin >= 0) keep = LLVMBuildAnd(b, keep, LLVMBuildICmp(b, LLVMIntSLE, dist, lw_i64(L, a->lwin), ""), "");
    if (a->rwin >= 0)
        keep = LLVMBuildAnd(b, keep, LLVMBuildICmp(b, LLVMIntSLE, LLVMBuildNeg(b, dist, ""), lw_i64(L, a->rwin), ""), "");
    if (a->mask >= 0) {
        /* a mask shorter than the keys masks the rest; the index is clamped so the load stays inside it */
        LLVMValueRef last = lw_dim(L, a->mask_last);
        LLVMValueRef inside = LLVMBuildICmp(b, LLVMIntSLT, p->kj, last, "");
        LLVMValueRef kj = lw_min(L, p->kj, lw_sub(L, last, lw_i64(L, 1)));
        LLVMValueRef at = lw_mul(L, p->b, lw_dim(L, a->mask_at[0]));
        at = lw_add(L, at, lw_mul(L, p->h, lw_dim(L, a->mask_at[1])));
        at = lw_add(L, at, lw_mul(L, p->qi, lw_dim(L, a->mask_at[2])));
        at = lw_add(L, at, lw_mul(L, kj, lw_dim(L, a->mask_at[3])));
        LLVMValueRef mv = lw_load(L, a->mask, at);
        keep = LLVMBuildAnd(b, keep, inside, "");
        if (a->mask_bool) keep = LLVMBuildAnd(b, keep, LLVMBuildICmp(b, LLVMIntNE, mv, lw_i64(L, 0), ""), "");
        else s = LLVMBuildFAdd(b, s, lw_to_f32(L, mv), "");
    }
    return LLVMBuildSelect(b, keep, s, lw_f32(L, -INFINITY), "");
}

static LLVMValueRef fidx(Lw *L, LLVMValueRef arr, LLVMValueRef i) { return lw_at(L, L->f32, arr, i); }
static LLVMValueRef fld(Lw *L, LLVMValueRef arr, LLVMValueRef i)
{
    return LLVMBuildLoad2(L->b, L->f32, fidx(L, arr, i), "");
}
static void fst(Lw *L, LLVMValueRef arr, LLVMValueRef i, LLVMValueRef v) { LLVMBuildStore(L->b, v, fidx(L, arr, i)); }

static void attention_plain(Lw *L)
{
    const KirGroup *k = L->k;
    const KirAttn *a = &k->attn;
    const KirArg *q = &k->args.v[a->q], *kk = &k->args.v[a->k];
    LLVMBuilderRef b = L->b;
    int64_t D = a->head, DV = a->vhead;
    LLVMValueRef B = lw_dim(L, q->dims[0]), Hq = lw_dim(L, q->dims[1]), Sq = lw_dim(L, q->dims[2]);
    LLVMValueRef Hk = lw_dim(L, kk->dims[1]), T = lw_dim(L, kk->dims[2]);
    LLVMValueRef nqb = LLVMBuildSDiv(b, lw_add(L, Sq, lw_i64(L, ATT_BM - 1)), lw_i64(L, ATT_BM), "");
    LLVMValueRef lo, hi;
    lw_share(L, lw_mul(L, lw_mul(L, B, Hq), nqb), &lo, &hi);
    LLVMValueRef qf = lw_array(L, L->f32, ATT_BM * D), acc = lw_array(L, L->f32, ATT_BM * DV);
    LLVMValueRef mrow = lw_array(L, L->f32, ATT_BM), lrow = lw_array(L, L->f32, ATT_BM);
    LLVMValueRef sc = lw_array(L, L->f32, ATT_BN), pr = lw_array(L, L->f32, ATT_BN);
    LwLoop il, rl, dl, tl, jl;
    LLVMValueRef it = lw_for(L, &il, lo, hi);
    Pos p;
    LLVMValueRef qb = LLVMBuildSRem(b, it, nqb, ""), bh = LLVMBuildSDiv(b, it, nqb, "");
    p.h = LLVMBuildSRem(b, bh, Hq, "h");
    p.b = LLVMBuildSDiv(b, bh, Hq, "b");
    LLVMValueRef hk = LLVMBuildSDiv(b, p.h, LLVMBuildSDiv(b, Hq, Hk, ""), "hk");
    LLVMValueRef q0 = lw_mul(L, qb, lw_i64(L, ATT_BM)), qn = lw_min(L, lw_i64(L, ATT_BM), lw_sub(L, Sq, q0));
    LLVMValueRef qbase = lw_mul(L, lw_add(L, lw_mul(L, p.b, Hq), p.h), Sq);
    LLVMValueRef kbase = lw_mul(L, lw_add(L, lw_mul(L, p.b, Hk), hk), T);
    /* query i sits at key position i + off (K holds the cached keys before these queries) */
    p.off = a->past_keys ? lw_sub(L, T, Sq) : lw_i64(L, 0);
    /* the block's rows as f32, their state cleared */
    LLVMValueRef r = lw_for(L, &rl, lw_i64(L, 0), qn);
    LLVMValueRef d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D));
    fst(L, qf, lw_add(L, lw_mul(L, r, lw_i64(L, D)), d),
        lw_load(L, a->q, lw_add(L, lw_mul(L, lw_add(L, lw_add(L, qbase, q0), r), lw_i64(L, D)), d)));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    fst(L, acc, lw_add(L, lw_mul(L, r, lw_i64(L, DV)), d), lw_f32(L, 0));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    fst(L, mrow, r, lw_f32(L, -INFINITY));
    fst(L, lrow, r, lw_f32(L, 0));
    lw_for_end(L, &rl, LW_VEC_AUTO);
    /* keys the whole block may see */
    LLVMValueRef last = lw_sub(L, lw_add(L, lw_add(L, q0, qn), p.off), lw_i64(L, 1));   /* the last row's position */
    LLVMValueRef kend = T, kstart = lw_i64(L, 0);
    if (a->rwin >= 0) kend = lw_min(L, T, lw_add(L, last, lw_i64(L, a->rwin + 1)));
    else if (a->causal) kend = lw_min(L, T, lw_add(L, last, lw_i64(L, 1)));
    if (a->lwin >= 0) kstart = lw_max(L, kstart, lw_sub(L, lw_add(L, q0, p.off), lw_i64(L, a->lwin)));
    LLVMValueRef ntiles = LLVMBuildSDiv(b, lw_add(L, lw_sub(L, kend, kstart), lw_i64(L, ATT_BN - 1)), lw_i64(L, ATT_BN), "");
    LLVMValueRef t = lw_for(L, &tl, lw_i64(L, 0), ntiles);
    LLVMValueRef k0 = lw_add(L, kstart, lw_mul(L, t, lw_i64(L, ATT_BN)));
    LLVMValueRef kn = lw_min(L, lw_i64(L, ATT_BN), lw_sub(L, kend, k0));
    r = lw_for(L, &rl, lw_i64(L, 0), qn);
    p.qi = lw_add(L, q0, r);
    LLVMValueRef qrow = lw_mul(L, r, lw_i64(L, D)), arow = lw_mul(L, r, lw_i64(L, DV));
    /* scores of the tile */
    LLVMValueRef j = lw_for(L, &jl, lw_i64(L, 0), kn);
    p.kj = lw_add(L, k0, j);
    LLVMValueRef krow = lw_mul(L, lw_add(L, kbase, p.kj), lw_i64(L, D));
    LLVMValueRef dot = lw_var(L, L->f32, lw_f32(L, 0));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D));
    lw_set(L, dot, lw_fma(L, fld(L, qf, lw_add(L, qrow, d)), lw_load(L, a->k, lw_add(L, krow, d)), lw_get(L, dot)));
    lw_for_end(L, &dl, LW_VEC_FORCE);
    fst(L, sc, j, score(L, lw_get(L, dot), &p));
    lw_for_end(L, &jl, LW_VEC_AUTO);
    /* the tile's max (integer keys vectorize), the new running max */
    LLVMValueRef key = lw_var(L, L->i32, lw_fmax_key(L, lw_f32(L, -INFINITY)));
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    lw_set(L, key, lw_max(L, lw_get(L, key), lw_fmax_key(L, fld(L, sc, j))));
    lw_for_end(L, &jl, LW_VEC_FORCE);
    LLVMValueRef mx = lw_fmax_unkey(L, lw_get(L, key)), mold = fld(L, mrow, r);
    LLVMValueRef mnew = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, mx, mold, ""), mx, mold, "");
    /* every key so far masked: nothing to add */
    LLVMBasicBlockRef after = lw_if(L, LLVMBuildFCmp(b, LLVMRealUNE, mnew, lw_f32(L, -INFINITY), ""));
    LLVMValueRef alpha = lw_math(L, LWM_EXP, LLVMBuildFSub(b, mold, mnew, ""));
    LLVMValueRef psum = lw_var(L, L->f32, lw_f32(L, 0));
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    LLVMValueRef pj = lw_math(L, LWM_EXP, LLVMBuildFSub(b, fld(L, sc, j), mnew, ""));
    fst(L, pr, j, pj);
    lw_set(L, psum, LLVMBuildFAdd(b, lw_get(L, psum), pj, ""));
    lw_for_end(L, &jl, LW_VEC_FORCE);
    fst(L, lrow, r, LLVMBuildFAdd(b, LLVMBuildFMul(b, fld(L, lrow, r), alpha, ""), lw_get(L, psum), ""));
    fst(L, mrow, r, mnew);
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    fst(L, acc, lw_add(L, arow, d), LLVMBuildFMul(b, fld(L, acc, lw_add(L, arow, d)), alpha, ""));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    /* acc += p_j · v_j */
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    LLVMValueRef pv = fld(L, pr, j);
    LLVMValueRef vrow = lw_mul(L, lw_add(L, kbase, lw_add(L, k0, j)), lw_i64(L, DV));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    LLVMValueRef ai = lw_add(L, arow, d);
    LLVMValueRef upd = lw_fma(L, pv, lw_load(L, a->v, lw_add(L, vrow, d)), fld(L, acc, ai));
    fst(L, acc, ai, upd);
    lw_for_end(L, &dl, LW_VEC_AUTO);
    lw_for_end(L, &jl, LW_VEC_AUTO);
    lw_endif(L, after);
    lw_for_end(L, &rl, LW_VEC_AUTO);
    lw_for_end(L, &tl, LW_VEC_AUTO);
    /* out = acc / l; a row whose every key is masked gives zeros, as the reference */
    r = lw_for(L, &rl, lw_i64(L, 0), qn);
    LLVMValueRef l = fld(L, lrow, r);
    LLVMValueRef inv = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, l, lw_f32(L, 0), ""),
                                       LLVMBuildFDiv(b, lw_f32(L, 1), l, ""), lw_f32(L, 0), "");
    LLVMValueRef orow = lw_mul(L, lw_add(L, lw_add(L, qbase, q0), r), lw_i64(L, DV));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    lw_store_out(L, lw_add(L, orow, d), LLVMBuildFMul(b, fld(L, acc, lw_add(L, lw_mul(L, r, lw_i64(L, DV)), d)), inv, ""));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    lw_for_end(L, &rl, LW_VEC_AUTO);
    lw_for_end(L, &il, LW_VEC_AUTO);
    LLVMBuildRetVoid(L->b);
}

/* --- the register-blocked form ------------------------------------------------------------------------ */

static LLVMTypeRef vty(Lw *L) { return LLVMVectorType(L->f32, VW); }

static LLVMValueRef vptr(Lw *L, LLVMValueRef base, LLVMValueRef i)
{
    return LLVMBuildBitCast(L->b, fidx(L, base, i), LLVMPointerType(vty(L), 0), "");
}

static LLVMValueRef vload(Lw *L, LLVMValueRef base, LLVMValueRef i)
{
    LLVMValueRef v = LLVMBuildLoad2(L->b, vty(L), vptr(L, base, i), "");
    LLVMSetAlignment(v, 4);
    return v;
}

static void vstore(Lw *L, LLVMValueRef base, LLVMValueRef i, LLVMValueRef v)
{
    LLVMSetAlignment(LLVMBuildStore(L->b, v, vptr(L, base, i)), 4);
}

static LLVMValueRef vsplat(Lw *L, LLVMValueRef x)
{
    LLVMValueRef u = LLVMGetUndef(vty(L));
    u = LLVMBuildInsertElement(L->b, u, x, lw_i32(L, 0), "");
    return LLVMBuildShuffleVector(L->b, u, u, LLVMConstNull(LLVMVectorType(L->i32, VW)), "");
}

static LLVMValueRef vfma(Lw *L, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c)
{
    LLVMTypeRef t = vty(L);
    LLVMValueRef ops[3] = {a, b, c};
    return lw_intrinsic(L, "llvm.fmuladd", &t, 1, ops, 3);
}

static bool fast_ok(const KirAttn *a) { return a->head % VW == 0 && a->vhead % VW == 0 && a->head <= 256 && a->vhead <= 256; }

static void attention_fast(Lw *L)
{
    const KirGroup *k = L->k;
    const KirAttn *a = &k->attn;
    const KirArg *q = &k->args.v[a->q], *kk = &k->args.v[a->k];
    LLVMBuilderRef b = L->b;
    int64_t D = a->head, DV = a->vhead;
    bool v_f32 = k->args.v[a->v].dtype == DT_F32;
    LLVMValueRef B = lw_dim(L, q->dims[0]), Hq = lw_dim(L, q->dims[1]), Sq = lw_dim(L, q->dims[2]);
    LLVMValueRef Hk = lw_dim(L, kk->dims[1]), T = lw_dim(L, kk->dims[2]);
    LLVMValueRef nqb = LLVMBuildSDiv(b, lw_add(L, Sq, lw_i64(L, ATT_FM - 1)), lw_i64(L, ATT_FM), "");
    LLVMValueRef lo, hi;
    lw_share(L, lw_mul(L, lw_mul(L, B, Hq), nqb), &lo, &hi);
    LLVMValueRef qf = lw_array(L, L->f32, ATT_FM * D), acc = lw_array(L, L->f32, ATT_FM * DV);
    LLVMValueRef mrow = lw_array(L, L->f32, ATT_FM), lrow = lw_array(L, L->f32, ATT_FM);
    LLVMValueRef sc = lw_array(L, L->f32, ATT_FM * ATT_BN), kt = lw_array(L, L->f32, D * ATT_BN);
    LLVMValueRef vt = v_f32 ? NULL : lw_array(L, L->f32, ATT_BN * DV);
    LwLoop il, rl, dl, tl, jl, gl, cl;
    /* the transposed tile's columns past the keys are read (and their scores never used): defined once */
    LLVMValueRef d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D * ATT_BN));
    fst(L, kt, d, lw_f32(L, 0));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    LLVMValueRef it = lw_for(L, &il, lo, hi);
    Pos p;
    LLVMValueRef qb = LLVMBuildSRem(b, it, nqb, ""), bh = LLVMBuildSDiv(b, it, nqb, "");
    p.h = LLVMBuildSRem(b, bh, Hq, "h");
    p.b = LLVMBuildSDiv(b, bh, Hq, "b");
    LLVMValueRef hk = LLVMBuildSDiv(b, p.h, LLVMBuildSDiv(b, Hq, Hk, ""), "hk");
    LLVMValueRef q0 = lw_mul(L, qb, lw_i64(L, ATT_FM)), qn = lw_min(L, lw_i64(L, ATT_FM), lw_sub(L, Sq, q0));
    /* row groups of RG: the rows past qn in the last group are zeros, their scores unused */
    LLVMValueRef ng = LLVMBuildSDiv(b, lw_add(L, qn, lw_i64(L, RG - 1)), lw_i64(L, RG), "");
    LLVMValueRef qbase = lw_mul(L, lw_add(L, lw_mul(L, p.b, Hq), p.h), Sq);
    LLVMValueRef kbase = lw_mul(L, lw_add(L, lw_mul(L, p.b, Hk), hk), T);
    p.off = a->past_keys ? lw_sub(L, T, Sq) : lw_i64(L, 0);
    LLVMValueRef r = lw_for(L, &rl, lw_i64(L, 0), lw_i64(L, ATT_FM));
    LLVMValueRef live = LLVMBuildICmp(b, LLVMIntSLT, r, qn, "");
    LLVMValueRef qrow = lw_mul(L, lw_add(L, lw_add(L, qbase, q0), lw_min(L, r, lw_sub(L, qn, lw_i64(L, 1)))), lw_i64(L, D));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D));
    fst(L, qf, lw_add(L, lw_mul(L, r, lw_i64(L, D)), d),
        LLVMBuildSelect(b, live, lw_load(L, a->q, lw_add(L, qrow, d)), lw_f32(L, 0), ""));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    fst(L, acc, lw_add(L, lw_mul(L, r, lw_i64(L, DV)), d), lw_f32(L, 0));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    fst(L, mrow, r, lw_f32(L, -INFINITY));
    fst(L, lrow, r, lw_f32(L, 0));
    lw_for_end(L, &rl, LW_VEC_AUTO);
    /* keys the whole block may see */
    LLVMValueRef last = lw_sub(L, lw_add(L, lw_add(L, q0, qn), p.off), lw_i64(L, 1));
    LLVMValueRef kend = T, kstart = lw_i64(L, 0);
    if (a->rwin >= 0) kend = lw_min(L, T, lw_add(L, last, lw_i64(L, a->rwin + 1)));
    else if (a->causal) kend = lw_min(L, T, lw_add(L, last, lw_i64(L, 1)));
    if (a->lwin >= 0) kstart = lw_max(L, kstart, lw_sub(L, lw_add(L, q0, p.off), lw_i64(L, a->lwin)));
    LLVMValueRef ntiles = LLVMBuildSDiv(b, lw_add(L, lw_sub(L, kend, kstart), lw_i64(L, ATT_BN - 1)), lw_i64(L, ATT_BN), "");
    LLVMValueRef t = lw_for(L, &tl, lw_i64(L, 0), ntiles);
    LLVMValueRef k0 = lw_add(L, kstart, lw_mul(L, t, lw_i64(L, ATT_BN)));
    LLVMValueRef kn = lw_min(L, lw_i64(L, ATT_BN), lw_sub(L, kend, k0));
    /* K tile transposed to f32: kt[d·BN + j]; the V tile as f32 rows unless V is f32 already */
    LLVMValueRef j = lw_for(L, &jl, lw_i64(L, 0), kn);
    LLVMValueRef krow = lw_mul(L, lw_add(L, kbase, lw_add(L, k0, j)), lw_i64(L, D));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D));
    fst(L, kt, lw_add(L, lw_mul(L, d, lw_i64(L, ATT_BN)), j), lw_load(L, a->k, lw_add(L, krow, d)));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    lw_for_end(L, &jl, LW_VEC_AUTO);
    LLVMValueRef vbase;
    if (v_f32) {
        vbase = lw_at(L, L->f32, L->arg[a->v], lw_mul(L, lw_add(L, kbase, k0), lw_i64(L, DV)));
    } else {
        j = lw_for(L, &jl, lw_i64(L, 0), kn);
        LLVMValueRef vrow = lw_mul(L, lw_add(L, kbase, lw_add(L, k0, j)), lw_i64(L, DV));
        d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
        fst(L, vt, lw_add(L, lw_mul(L, j, lw_i64(L, DV)), d), lw_load(L, a->v, lw_add(L, vrow, d)));
        lw_for_end(L, &dl, LW_VEC_AUTO);
        lw_for_end(L, &jl, LW_VEC_AUTO);
        vbase = vt;
    }
    /* raw scores q·k of RG rows × 2·VW keys: 2·RG independent vector accumulators over d (an FMA's latency
     * hidden), one broadcast query element per row and two K vectors per d */
    LLVMValueRef nc2 = LLVMBuildSDiv(b, lw_add(L, kn, lw_i64(L, 2 * VW - 1)), lw_i64(L, 2 * VW), "");
    LLVMValueRef g = lw_for(L, &gl, lw_i64(L, 0), ng);
    LLVMValueRef c = lw_for(L, &cl, lw_i64(L, 0), nc2);
    LLVMValueRef av[RG][2];
    for (int i = 0; i < RG; i++)
        for (int h = 0; h < 2; h++) av[i][h] = lw_var(L, vty(L), LLVMConstNull(vty(L)));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, D));
    LLVMValueRef kat = lw_add(L, lw_mul(L, d, lw_i64(L, ATT_BN)), lw_mul(L, c, lw_i64(L, 2 * VW)));
    LLVMValueRef kv[2] = {vload(L, kt, kat), vload(L, kt, lw_add(L, kat, lw_i64(L, VW)))};
    for (int i = 0; i < RG; i++) {
        LLVMValueRef row = lw_add(L, lw_mul(L, g, lw_i64(L, RG)), lw_i64(L, i));
        LLVMValueRef qv = vsplat(L, fld(L, qf, lw_add(L, lw_mul(L, row, lw_i64(L, D)), d)));
        for (int h = 0; h < 2; h++) lw_set(L, av[i][h], vfma(L, qv, kv[h], lw_get(L, av[i][h])));
    }
    lw_for_end(L, &dl, LW_VEC_OFF);
    for (int i = 0; i < RG; i++) {
        LLVMValueRef row = lw_add(L, lw_mul(L, g, lw_i64(L, RG)), lw_i64(L, i));
        LLVMValueRef at = lw_add(L, lw_mul(L, row, lw_i64(L, ATT_BN)), lw_mul(L, c, lw_i64(L, 2 * VW)));
        for (int h = 0; h < 2; h++) vstore(L, sc, lw_add(L, at, lw_i64(L, h * VW)), lw_get(L, av[i][h]));
    }
    lw_for_end(L, &cl, LW_VEC_OFF);
    lw_for_end(L, &gl, LW_VEC_OFF);
    /* per row: scale and masks, the running max and sum, probability·V */
    r = lw_for(L, &rl, lw_i64(L, 0), qn);
    p.qi = lw_add(L, q0, r);
    LLVMValueRef srow = lw_mul(L, r, lw_i64(L, ATT_BN)), arow = lw_mul(L, r, lw_i64(L, DV));
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    p.kj = lw_add(L, k0, j);
    fst(L, sc, lw_add(L, srow, j), score(L, fld(L, sc, lw_add(L, srow, j)), &p));
    lw_for_end(L, &jl, LW_VEC_AUTO);
    LLVMValueRef key = lw_var(L, L->i32, lw_fmax_key(L, lw_f32(L, -INFINITY)));
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    lw_set(L, key, lw_max(L, lw_get(L, key), lw_fmax_key(L, fld(L, sc, lw_add(L, srow, j)))));
    lw_for_end(L, &jl, LW_VEC_FORCE);
    LLVMValueRef mx = lw_fmax_unkey(L, lw_get(L, key)), mold = fld(L, mrow, r);
    LLVMValueRef mnew = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, mx, mold, ""), mx, mold, "");
    LLVMBasicBlockRef after = lw_if(L, LLVMBuildFCmp(b, LLVMRealUNE, mnew, lw_f32(L, -INFINITY), ""));
    LLVMValueRef alpha = lw_math(L, LWM_EXP, LLVMBuildFSub(b, mold, mnew, ""));
    LLVMValueRef psum = lw_var(L, L->f32, lw_f32(L, 0));
    j = lw_for(L, &jl, lw_i64(L, 0), kn);
    LLVMValueRef pj = lw_math(L, LWM_EXP, LLVMBuildFSub(b, fld(L, sc, lw_add(L, srow, j)), mnew, ""));
    fst(L, sc, lw_add(L, srow, j), pj);
    lw_set(L, psum, LLVMBuildFAdd(b, lw_get(L, psum), pj, ""));
    lw_for_end(L, &jl, LW_VEC_FORCE);
    fst(L, lrow, r, LLVMBuildFAdd(b, LLVMBuildFMul(b, fld(L, lrow, r), alpha, ""), lw_get(L, psum), ""));
    fst(L, mrow, r, mnew);
    /* acc = acc·alpha + Σ_j p_j·v_j, up to 8 vectors of the row at a time held over the keys */
    LLVMValueRef va = vsplat(L, alpha);
    for (int64_t g0 = 0; g0 < DV; g0 += 8 * VW) {
        int nv = (int)((DV - g0) / VW < 8 ? (DV - g0) / VW : 8);
        LLVMValueRef ov[8];
        for (int i = 0; i < nv; i++)
            ov[i] = lw_var(L, vty(L), LLVMBuildFMul(b, vload(L, acc, lw_add(L, arow, lw_i64(L, g0 + i * VW))), va, ""));
        j = lw_for(L, &jl, lw_i64(L, 0), kn);
        LLVMValueRef pv = vsplat(L, fld(L, sc, lw_add(L, srow, j)));
        LLVMValueRef vrow = lw_mul(L, j, lw_i64(L, DV));
        for (int i = 0; i < nv; i++)
            lw_set(L, ov[i], vfma(L, pv, vload(L, vbase, lw_add(L, vrow, lw_i64(L, g0 + i * VW))), lw_get(L, ov[i])));
        lw_for_end(L, &jl, LW_VEC_OFF);
        for (int i = 0; i < nv; i++) vstore(L, acc, lw_add(L, arow, lw_i64(L, g0 + i * VW)), lw_get(L, ov[i]));
    }
    lw_endif(L, after);
    lw_for_end(L, &rl, LW_VEC_OFF);
    lw_for_end(L, &tl, LW_VEC_AUTO);
    /* out = acc / l; a row whose every key is masked gives zeros, as the reference */
    r = lw_for(L, &rl, lw_i64(L, 0), qn);
    LLVMValueRef l = fld(L, lrow, r);
    LLVMValueRef inv = LLVMBuildSelect(b, LLVMBuildFCmp(b, LLVMRealOGT, l, lw_f32(L, 0), ""),
                                       LLVMBuildFDiv(b, lw_f32(L, 1), l, ""), lw_f32(L, 0), "");
    LLVMValueRef orow = lw_mul(L, lw_add(L, lw_add(L, qbase, q0), r), lw_i64(L, DV));
    d = lw_for(L, &dl, lw_i64(L, 0), lw_i64(L, DV));
    lw_store_out(L, lw_add(L, orow, d), LLVMBuildFMul(b, fld(L, acc, lw_add(L, lw_mul(L, r, lw_i64(L, DV)), d)), inv, ""));
    lw_for_end(L, &dl, LW_VEC_AUTO);
    lw_for_end(L, &rl, LW_VEC_AUTO);
    lw_for_end(L, &il, LW_VEC_AUTO);
    LLVMBuildRetVoid(L->b);
}

void lw_emit_attention(Lw *L)
{
    if (fast_ok(&L->k->attn)) attention_fast(L);
    else attention_plain(L);
}
