/* backends/llvm/emit_misc.c — RoPE and depthwise conv1d: rows of the output shared between parts, each row
 * split into segments whose loops are branch-free and unit-stride (the rotated halves or pairs, the pass-through
 * tail; the convolution's interior, where every tap is inside the input, and its two borders). */
#include "llvm_impl.h"

/* Per-row offsets of the epilogue's pointwise arguments: coordinates of the outer axes times their strides. */
static void row_offsets(Lw *L, const bool *use, const LLVMValueRef *c, int n, LLVMValueRef *off)
{
    const KirGroup *k = L->k;
    for (uint32_t a = 0; a < k->args.n; a++) {
        off[a] = lw_i64(L, 0);
        if (!use[a]) continue;
        for (int i = 0; i < n; i++) {
            int64_t s;
            if (ir_dim_const_value(L->g, k->args.v[a].at[i], &s) && s == 0) continue;
            off[a] = lw_add(L, off[a], lw_mul(L, c[i], lw_dim(L, k->args.v[a].at[i])));
        }
    }
}

/* The epilogue at element `t` of the innermost axis, given its accumulator; stored at out[obase + t]. */
static void epilogue_at(Lw *L, const bool *use, const LLVMValueRef *roff, LLVMValueRef t, LLVMValueRef obase,
                        LLVMValueRef acc)
{
    const KirGroup *k = L->k;
    LLVMValueRef off[64];
    int last = k->rank - 1;
    for (uint32_t a = 0; a < k->args.n; a++) {
        off[a] = roff[a];
        int64_t s;
        if (use[a] && !(ir_dim_const_value(L->g, k->args.v[a].at[last], &s) && s == 0))
            off[a] = lw_add(L, off[a], lw_mul(L, t, lw_dim(L, k->args.v[a].at[last])));
    }
    lw_store_out(L, lw_add(L, obase, t), lw_dag(L, k->epi, off, acc));
}

static LLVMValueRef fmul(Lw *L, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(L->b, a, b, ""); }

/* x (B, H, S, D); cos/sin (B or 1, S, R/2) gathered, or (P, R/2) indexed by position_ids (B, S). */
void lw_emit_rope(Lw *L)
{
    const KirGroup *k = L->k;
    const KirRope *r = &k->rope;
    int64_t half = r->rotary_dim / 2;
    bool use[64] = {0};
    lw_uses(L, k->epi, use);
    LLVMValueRef H = lw_dim(L, k->space[1]), S = lw_dim(L, k->space[2]), D = lw_dim(L, k->space[3]);
    LLVMValueRef rows = lw_mul(L, lw_mul(L, lw_dim(L, k->space[0]), H), S), lo, hi;
    lw_share(L, rows, &lo, &hi);
    LwLoop rl, jl;
    LLVMValueRef row = lw_for(L, &rl, lo, hi);
    LLVMValueRef s = LLVMBuildSRem(L->b, row, S, ""), bh = LLVMBuildSDiv(L->b, row, S, "");
    LLVMValueRef h = LLVMBuildSRem(L->b, bh, H, ""), b = LLVMBuildSDiv(L->b, bh, H, "");
    LLVMValueRef c[3] = {b, h, s}, roff[64];
    row_offsets(L, use, c, 3, roff);
    LLVMValueRef xrow = lw_mul(L, row, D);
    LLVMValueRef cb;
    if (r->pos >= 0) cb = lw_mul(L, lw_load(L, r->pos, lw_add(L, lw_mul(L, b, S), s)), lw_i64(L, half));
    else if (r->shared_batch) cb = lw_mul(L, s, lw_i64(L, half));   /* one table for every batch */
    else cb = lw_mul(L, lw_add(L, lw_mul(L, b, S), s), lw_i64(L, half));
    LLVMValueRef j = lw_for(L, &jl, lw_i64(L, 0), lw_i64(L, half));
    LLVMValueRef cs = lw_load(L, r->cos, lw_add(L, cb, j)), sn = lw_load(L, r->sin, lw_add(L, cb, j));
    LLVMValueRef d1, d2;
    if (r->interleaved) {
        d1 = lw_mul(L, j, lw_i64(L, 2));   /* pairs (2j, 2j+1) */
        d2 = lw_add(L, d1, lw_i64(L, 1));
    } else {
        d1 = j;                             /* halves (j, j + R/2) */
        d2 = lw_add(L, j, lw_i64(L, half));
    }
    LLVMValueRef x1 = lw_load(L, r->x, lw_add(L, xrow, d1)), x2 = lw_load(L, r->x, lw_add(L, xrow, d2));
    LLVMValueRef a1 = LLVMBuildFSub(L->b, fmul(L, cs, x1), fmul(L, sn, x2), "");
    LLVMValueRef a2 = LLVMBuildFAdd(L->b, fmul(L, sn, x1), fmul(L, cs, x2), "");
    epilogue_at(L, use, roff, d1, xrow, a1);
    epilogue_at(L, use, roff, d2, xrow, a2);
    lw_for_end(L, &jl, LW_VEC_AUTO);
    if (r->rotary_dim < ir_dim_value(L->g, k->space[3])) {
        /* dims from R on pass through */
        LLVMValueRef d = lw_for(L, &jl, lw_i64(L, r->rotary_dim), D);
        epilogue_at(L, use, roff, d, xrow, lw_load(L, r->x, lw_add(L, xrow, d)));
        lw_for_end(L, &jl, LW_VEC_AUTO);
    }
    lw_for_end(L, &rl, LW_VEC_AUTO);
    LLVMBuildRetVoid(L->b);
}

enum { CONV_UNROLL_MAX = 64 };

typedef struct {
    const bool *use;
    LLVMValueRef *roff, xb, obase, L, w[CONV_UNROLL_MAX], wb;
} ConvCx;

/* Σ_k x[xb + t·stride + k·dil - pad]·w[k]; `checked`: taps outside [0, L) read as 0 (borders) */
static void conv_at(Lw *L, ConvCx *cx, LLVMValueRef t, bool checked)
{
    const KirConv *c = &L->k->conv;
    LLVMValueRef p0 = lw_sub(L, lw_mul(L, t, lw_i64(L, c->stride)), lw_i64(L, c->pad));
    LLVMValueRef acc = lw_f32(L, 0);
    LwLoop kl;
    LLVMValueRef var = NULL, kk = NULL;
    int64_t taps = c->k;
    if (c->k > CONV_UNROLL_MAX) {
        var = lw_var(L, L->f32, acc);
        kk = lw_for(L, &kl, lw_i64(L, 0), lw_i64(L, c->k));
        taps = 1;
    }
    for (int64_t i = 0; i < taps; i++) {
        LLVMValueRef ki = kk ? kk : lw_i64(L, i);
        LLVMValueRef p = lw_add(L, p0, lw_mul(L, ki, lw_i64(L, c->dilation)));
        LLVMValueRef w = kk ? lw_load(L, c->w, lw_add(L, cx->wb, kk)) : cx->w[i];
        LLVMValueRef x;
        if (checked) {
            /* clamp the index so the load is always valid, then drop the tap */
            LLVMValueRef in = LLVMBuildAnd(L->b, LLVMBuildICmp(L->b, LLVMIntSGE, p, lw_i64(L, 0), ""),
                                           LLVMBuildICmp(L->b, LLVMIntSLT, p, cx->L, ""), "");
            LLVMValueRef pc = lw_max(L, lw_min(L, p, lw_sub(L, cx->L, lw_i64(L, 1))), lw_i64(L, 0));
            x = LLVMBuildSelect(L->b, in, lw_load(L, c->x, lw_add(L, cx->xb, pc)), lw_f32(L, 0), "");
        } else {
            x = lw_load(L, c->x, lw_add(L, cx->xb, p));
        }
        if (var) lw_set(L, var, lw_fma(L, x, w, lw_get(L, var)));
        else acc = i == 0 ? fmul(L, x, w) : lw_fma(L, x, w, acc);
    }
    if (var) {
        lw_for_end(L, &kl, LW_VEC_AUTO);
        acc = lw_get(L, var);
    }
    epilogue_at(L, cx->use, cx->roff, t, cx->obase, acc);
}

static void conv_segment(Lw *L, ConvCx *cx, LLVMValueRef from, LLVMValueRef to, bool checked)
{
    LwLoop tl;
    LLVMValueRef t = lw_for(L, &tl, from, to);
    conv_at(L, cx, t, checked);
    /* a border is at most (K-1)·dil elements: vector code for it would only be code */
    lw_for_end(L, &tl, checked ? LW_VEC_OFF : LW_VEC_AUTO);
}

/* x (B, Cin, L), w (Cout, 1, K), Cout = Cin·mult: out (b, c, t) = Σ_k x[b, c/mult, t·stride + k·dil − pad]·w[c, k] */
void lw_emit_dwconv(Lw *L)
{
    const KirGroup *k = L->k;
    const KirConv *c = &k->conv;
    const KirArg *x = &k->args.v[c->x];
    bool use[64] = {0};
    lw_uses(L, k->epi, use);
    LLVMValueRef Cout = lw_dim(L, k->space[1]), Lout = lw_dim(L, k->space[2]);
    LLVMValueRef Cin = lw_dim(L, x->dims[1]), Lx = lw_dim(L, x->dims[2]);
    LLVMValueRef rows = lw_mul(L, lw_dim(L, k->space[0]), Cout), lo, hi;
    /* the interior: t·stride - pad >= 0 and t·stride + (K-1)·dil - pad < L */
    LLVMValueRef tlo = lw_min(L, lw_i64(L, (c->pad + c->stride - 1) / c->stride), Lout);
    LLVMValueRef num = lw_add(L, lw_sub(L, Lx, lw_i64(L, 1 + (c->k - 1) * c->dilation)), lw_i64(L, c->pad));
    LLVMValueRef thi = LLVMBuildSelect(L->b, LLVMBuildICmp(L->b, LLVMIntSLT, num, lw_i64(L, 0), ""), lw_i64(L, 0),
                                       lw_add(L, LLVMBuildSDiv(L->b, num, lw_i64(L, c->stride), ""), lw_i64(L, 1)), "");
    thi = lw_max(L, lw_min(L, thi, Lout), tlo);
    lw_share(L, rows, &lo, &hi);
    LwLoop rl;
    LLVMValueRef row = lw_for(L, &rl, lo, hi);
    LLVMValueRef ch = LLVMBuildSRem(L->b, row, Cout, ""), b = LLVMBuildSDiv(L->b, row, Cout, "");
    LLVMValueRef co[2] = {b, ch}, roff[64];
    row_offsets(L, use, co, 2, roff);
    ConvCx cx = {use, roff, NULL, NULL, Lx, {0}, NULL};
    cx.xb = lw_mul(L, lw_add(L, lw_mul(L, b, Cin), LLVMBuildSDiv(L->b, ch, lw_i64(L, c->mult), "")), Lx);
    cx.obase = lw_mul(L, row, Lout);
    cx.wb = lw_mul(L, ch, lw_i64(L, c->k));
    for (int64_t i = 0; i < c->k && c->k <= CONV_UNROLL_MAX; i++) cx.w[i] = lw_load(L, c->w, lw_add(L, cx.wb, lw_i64(L, i)));
    conv_segment(L, &cx, lw_i64(L, 0), tlo, true);
    conv_segment(L, &cx, tlo, thi, false);
    conv_segment(L, &cx, thi, Lout, true);
    lw_for_end(L, &rl, LW_VEC_AUTO);
    LLVMBuildRetVoid(L->b);
}
