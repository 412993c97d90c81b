/* backends/llvm/emit_elt.c — the elementwise function (also the GEMM epilogue: x·W is one more pointwise
 * input) and the row function (LayerNorm, RMSNorm, softmax, log-softmax over the trailing axes).
 *
 * Both walk merged axes (emit.c) so the innermost loop is as long and as contiguous as the arguments allow:
 * bert's bias + GELU over (batch, seq, 3072) is rows of 3072 with the bias read along them.  Work is shared
 * between parts by rows; a space that merges into one axis is cut into rows of ELT_CHUNK elements. */
#include "llvm_impl.h"

#include <math.h>

enum { ELT_CHUNK = 4096 };

typedef struct {
    uint32_t root;
} EltCx;

static void elt_body(Lw *L, const LLVMValueRef *off, LLVMValueRef lin, void *ud)
{
    const EltCx *c = ud;
    lw_store_out(L, lin, lw_dag(L, c->root, off, NULL));
}

static void zero_offsets(Lw *L, LLVMValueRef *off)
{
    for (uint32_t a = 0; a < L->k->args.n; a++) off[a] = lw_i64(L, 0);
}

void lw_emit_eltwise(Lw *L)
{
    const KirGroup *k = L->k;
    bool use[64] = {0};
    lw_uses(L, k->epi, use);
    LwAxes ax;
    lw_axes(L, 0, k->rank, use, &ax);
    EltCx cx = {k->epi};
    LLVMValueRef off[64], lo, hi;
    zero_offsets(L, off);
    if (ax.n == 0) {
        /* one element: part 0 writes it */
        LLVMBasicBlockRef after = lw_if(L, LLVMBuildICmp(L->b, LLVMIntEQ, L->part, lw_i64(L, 0), ""));
        elt_body(L, off, lw_i64(L, 0), &cx);
        lw_endif(L, after);
    } else if (ax.n == 1) {
        /* every argument reads the space as one axis: rows of ELT_CHUNK elements */
        LLVMValueRef n = lw_dim(L, ax.dim[0]);
        LLVMValueRef rows = LLVMBuildSDiv(L->b, lw_add(L, n, lw_i64(L, ELT_CHUNK - 1)), lw_i64(L, ELT_CHUNK), "");
        lw_share(L, rows, &lo, &hi);
        LwLoop rl, jl;
        LLVMValueRef r = lw_for(L, &rl, lo, hi);
        LLVMValueRef j0 = lw_mul(L, r, lw_i64(L, ELT_CHUNK));
        LLVMValueRef j = lw_for(L, &jl, j0, lw_min(L, lw_add(L, j0, lw_i64(L, ELT_CHUNK)), n));
        LLVMValueRef c[1] = {j};
        lw_offsets(L, &ax, 1, use, c, off);
        elt_body(L, off, j, &cx);
        lw_for_end(L, &jl, LW_VEC_AUTO);
        lw_for_end(L, &rl, LW_VEC_AUTO);
    } else {
        /* rows over the outer axes, one contiguous loop over the innermost */
        IrDim nrows = kir_numel(L->g, ax.n - 1, ax.dim);
        lw_share(L, lw_dim(L, nrows), &lo, &hi);
        LwLoop rl;
        LLVMValueRef r = lw_for(L, &rl, lo, hi), c[IR_MAX_RANK];
        lw_coords(L, &ax, ax.n - 1, r, c);
        lw_offsets(L, &ax, ax.n - 1, use, c, off);
        LLVMValueRef lin = lw_mul(L, r, lw_dim(L, ax.dim[ax.n - 1]));
        lw_walk(L, &ax, ax.n - 1, use, off, lin, LW_VEC_AUTO, elt_body, &cx);
        lw_for_end(L, &rl, LW_VEC_AUTO);
    }
    LLVMBuildRetVoid(L->b);
}

/*
 * Rows.
 */
enum { P_SUM, P_SUMSQ, P_MAX, P_EXPSUM, P_OUT };

typedef struct {
    int pass;
    LLVMValueRef var;          /* the pass's accumulator (a stack variable) */
    LLVMValueRef mean, inv, m, s;
} RowCx;

static void row_body(Lw *L, const LLVMValueRef *off, LLVMValueRef lin, void *ud)
{
    RowCx *c = ud;
    const KirGroup *k = L->k;
    LLVMValueRef x = lw_to_f32(L, lw_dag(L, k->pro, off, NULL)), v;
    switch (c->pass) {
    case P_SUM: lw_set(L, c->var, LLVMBuildFAdd(L->b, lw_get(L, c->var), x, "")); return;
    case P_SUMSQ:
        if (c->mean) x = LLVMBuildFSub(L->b, x, c->mean, "");
        lw_set(L, c->var, LLVMBuildFAdd(L->b, lw_get(L, c->var), LLVMBuildFMul(L->b, x, x, ""), ""));
        return;
    case P_MAX: {
        LLVMValueRef kx = lw_fmax_key(L, x), cur = lw_get(L, c->var);
        lw_set(L, c->var, lw_max(L, cur, kx));
        return;
    }
    case P_EXPSUM:
        v = lw_math(L, LWM_EXP, LLVMBuildFSub(L->b, x, c->m, ""));
        lw_set(L, c->var, LLVMBuildFAdd(L->b, lw_get(L, c->var), v, ""));
        return;
    case P_OUT:
        switch (k->row.op) {
        case KIR_ROW_LAYERNORM: v = LLVMBuildFMul(L->b, LLVMBuildFSub(L->b, x, c->mean, ""), c->inv, ""); break;
        case KIR_ROW_RMSNORM: v = LLVMBuildFMul(L->b, x, c->inv, ""); break;
        case KIR_ROW_SOFTMAX: v = LLVMBuildFMul(L->b, lw_math(L, LWM_EXP, LLVMBuildFSub(L->b, x, c->m, "")), c->inv, ""); break;
        case KIR_ROW_LOGSOFTMAX: v = LLVMBuildFSub(L->b, LLVMBuildFSub(L->b, x, c->m, ""), c->inv, ""); break;
        default: M2C_UNREACHABLE();
        }
        lw_store_out(L, lin, lw_dag(L, k->epi, off, v));
        return;
    }
}

/* One pass over the row: accumulator `init` (f32 or i32), the walk, its final value. */
static LLVMValueRef pass(Lw *L, RowCx *c, int which, LLVMValueRef init, const LwAxes *ax, const bool *use,
                         const LLVMValueRef *base, LLVMValueRef lin)
{
    c->pass = which;
    c->var = init ? lw_var(L, LLVMTypeOf(init), init) : NULL;
    /* the sums and the maximum are reductions: the hint lets the vectorizer reorder them */
    lw_walk(L, ax, 0, use, base, lin, which != P_OUT ? LW_VEC_FORCE : LW_VEC_AUTO, row_body, c);
    return init ? lw_get(L, c->var) : NULL;
}

void lw_emit_row(Lw *L)
{
    IrGraph *g = L->g;
    const KirGroup *k = L->k;
    const KirRow *r = &k->row;
    bool use[64] = {0};
    lw_uses(L, k->pro, use);
    lw_uses(L, k->epi, use);
    LwAxes oax, iax;
    lw_axes(L, 0, r->axis, use, &oax);
    lw_axes(L, r->axis, k->rank, use, &iax);
    LLVMValueRef cols = lw_dim(L, kir_numel(g, k->rank - r->axis, k->space + r->axis));
    LLVMValueRef fcols = LLVMBuildSIToFP(L->b, cols, L->f32, "");
    LLVMValueRef lo, hi, off[64], c[IR_MAX_RANK];
    lw_share(L, lw_dim(L, kir_numel(g, r->axis, k->space)), &lo, &hi);
    LwLoop rl;
    LLVMValueRef row = lw_for(L, &rl, lo, hi);
    for (uint32_t a = 0; a < k->args.n; a++) off[a] = lw_i64(L, 0);
    lw_coords(L, &oax, oax.n, row, c);
    lw_offsets(L, &oax, oax.n, use, c, off);
    LLVMValueRef base = lw_mul(L, row, cols);
    RowCx cx = {0};
    LLVMValueRef zero = lw_f32(L, 0), one = lw_f32(L, 1);
    switch (r->op) {
    case KIR_ROW_LAYERNORM: case KIR_ROW_RMSNORM: {
        if (r->op == KIR_ROW_LAYERNORM)
            cx.mean = LLVMBuildFDiv(L->b, pass(L, &cx, P_SUM, zero, &iax, use, off, base), fcols, "mean");
        /* the variance from the mean already known (two passes): no cancellation as in E[x²] - E[x]² */
        LLVMValueRef q = pass(L, &cx, P_SUMSQ, zero, &iax, use, off, base);
        LLVMValueRef var = LLVMBuildFAdd(L->b, LLVMBuildFDiv(L->b, q, fcols, ""), lw_f32(L, r->eps), "");
        LLVMTypeRef t = L->f32;
        cx.inv = LLVMBuildFDiv(L->b, one, lw_intrinsic(L, "llvm.sqrt", &t, 1, &var, 1), "inv");
        break;
    }
    case KIR_ROW_SOFTMAX: case KIR_ROW_LOGSOFTMAX: {
        /* the maximum through integer keys: an integer max reduction vectorizes without fast-math flags */
        LLVMValueRef key = pass(L, &cx, P_MAX, lw_fmax_key(L, lw_f32(L, -INFINITY)), &iax, use, off, base);
        cx.m = lw_fmax_unkey(L, key);
        LLVMValueRef s = pass(L, &cx, P_EXPSUM, zero, &iax, use, off, base);
        cx.inv = r->op == KIR_ROW_SOFTMAX ? LLVMBuildFDiv(L->b, one, s, "inv") : lw_math(L, LWM_LOG, s);
        break;
    }
    }
    pass(L, &cx, P_OUT, NULL, &iax, use, off, base);
    lw_for_end(L, &rl, LW_VEC_AUTO);
    LLVMBuildRetVoid(L->b);
}
