/* passes/fuse_attention.c — scaled dot-product attention, in the forms both exporters write, as one ONNX
 * Attention node over 4-D (batch, heads, seq, head_dim) operands.
 *
 *   scores = MatMul(Q [·a], Kᵀ [·b]) [·c | /c] [Where(cond, scores, fill)] [+ mask]     a, b, c constants
 *   probs  = Softmax(scores) over the last axis [Where(IsNaN(probs), 0, probs)]          (SDPA's NaN guard)
 *   out    = MatMul(probs, V)                  -> Attention(Q, K, V[, attn_mask]) {scale = a·b·c[, is_causal]}
 *
 * BERT eager divides (or multiplies) the product; the SDPA decompositions of both exporters put √scale on Q
 * and on Kᵀ; whisper's has no scale at all once 1.0 is folded.  Kᵀ comes as Transpose(K, 0 1 3 2), as BERT's
 * merged Transpose(X, 0 2 3 1) of the reshaped key (K is then Transpose(X, 0 2 1 3): an existing one, or a new
 * one — other readers of X see nothing change), as dynamo's Reshape → Transpose(0 2 1) → Reshape, or as any
 * other tensor, whose transpose K then is.  Keys and values repeated for grouped-query heads
 * (Unsqueeze(2) → Expand → Reshape, both exporters) are read before the repeat: Attention groups the heads.
 * 3-D batched attention over (N, L, d) — nn.MultiheadAttention's need_weights path, N = batch·heads — is the
 * 4-D node over (1, N, L, d) views, which needs no knowledge of how N splits.
 *
 * Masks keep their meaning.  An additive mask goes in as it is (it must broadcast to the scores and span the
 * keys: Attention pads a shorter last axis with −inf instead of broadcasting it).  A Where on the scores
 * becomes a bool keep-mask when its fill is −inf, else the additive Where(cond, 0, fill).  A mask proven to
 * contain the causal condition (fuse_attn_mask.c) becomes is_causal plus the rest of it.  The one place the
 * fused node differs: a query row with every key masked gives zeros (ONNX Attention, our lowering and
 * reference), where the exporters' graphs give NaN (−inf fill; SDPA's guard then gives the same zeros) or,
 * with a finfo.min fill, a uniform average — and the causal split can only make such rows where the padding
 * part masks every key a query may see (left padding); the right-padded inputs of our fixtures never do.
 *
 * Every intermediate of the scores/probs chain must have one reader and be no graph output; the scale must be
 * constant; softmax over the last axis; Q, K, V, scores of one float dtype and consistent dims. */
#include "fuse_attn.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { MAX_DEAD = 16, MAX_HOPS = 8 };

typedef struct {
    uint32_t id[MAX_DEAD];
    uint32_t n;
} Dead;

/* The chain from the QK product to the softmax, read backwards. */
typedef struct {
    Dead dead;                 /* node ids: pointers do not survive the nodes this pass adds */
    int rank;                  /* 4, or 3 for batched (N, L, T) scores */
    const IrDim *dims;         /* of the scores: (B, H, S, T) or (N, S, T) */
    IrDType dtype;
    double scale;
    uint32_t qk;               /* the MatMul node */
    uint32_t add_mask;         /* additive mask, IR_NONE if none */
    uint32_t cond;             /* Where on the scores: its condition, IR_NONE if none */
    bool keep;                 /* cond true = attend */
    uint32_t fill;             /* the Where's constant */
} Scores;

static void kill_later(IrGraph *g, Dead *d, const IrNode *n)
{
    M2C_ASSERT(d->n < MAX_DEAD);
    d->id[d->n++] = ir_node_id(g, n);
}

static bool dims_are(IrGraph *g, uint32_t v, int rank, const IrDim *dims)
{
    const IrValue *val = ir_val(g, v);
    return val->rank == rank && memcmp(val->dims, dims, (size_t)rank * sizeof *dims) == 0;
}

/* For Mul/Div by a splat constant: the other operand, with the factor folded into *scale; else IR_NONE. */
static uint32_t scaled_operand(IrGraph *g, const IrNode *n, double *scale)
{
    double c;
    if (n->op == IR_OP_MUL && fu_splat(g, n->in[1], &c)) return *scale *= c, n->in[0];
    if (n->op == IR_OP_MUL && fu_splat(g, n->in[0], &c)) return *scale *= c, n->in[1];
    if (n->op == IR_OP_DIV && fu_splat(g, n->in[1], &c) && c != 0) return *scale /= c, n->in[0];
    return IR_NONE;
}

/* The Where on the scores: Where(cond, x, fill) keeps where cond holds, Where(cond, fill, x) masks there. */
static uint32_t where_operand(IrGraph *g, const IrNode *n, IrDType t, bool *keep, uint32_t *fill)
{
    double f;
    if (fu_splat(g, n->in[2], &f) && attn_fill_masks(f, t) && !fu_splat(g, n->in[1], &f)) {
        *keep = true, *fill = n->in[2];
        return n->in[1];
    }
    if (fu_splat(g, n->in[1], &f) && attn_fill_masks(f, t) && !fu_splat(g, n->in[2], &f)) {
        *keep = false, *fill = n->in[1];
        return n->in[2];
    }
    return IR_NONE;
}

/* v is computed from a MatMul through scalings, masking Wheres and Adds: the scores side of an Add. */
static bool from_product(IrGraph *g, uint32_t v, IrDType t, int depth)
{
    IrNode *n = fu_prod(g, v, IR_OP_UNKNOWN);
    if (!n || depth > MAX_HOPS) return false;
    double s = 1;
    bool keep;
    uint32_t fill, x;
    if (n->op == IR_OP_MATMUL) return true;
    if ((x = scaled_operand(g, n, &s)) != IR_NONE || (n->op == IR_OP_WHERE && (x = where_operand(g, n, t, &keep, &fill)) != IR_NONE))
        return from_product(g, x, t, depth + 1);
    if (n->op == IR_OP_ADD) return from_product(g, n->in[0], t, depth + 1) || from_product(g, n->in[1], t, depth + 1);
    return false;
}

/* Backwards from the softmax input: [+ mask] [Where] [scalings] MatMul, in that order (a mask applied before a
 * scaling would be scaled with the scores). */
static bool read_scores(IrGraph *g, uint32_t v, Scores *sc)
{
    bool scaled = false;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        IrNode *n = fu_prod(g, v, IR_OP_UNKNOWN);
        if (!n || !fu_single(g, v) || !dims_are(g, v, sc->rank, sc->dims) || ir_val(g, v)->dtype != sc->dtype) return false;
        kill_later(g, &sc->dead, n);
        if (n->op == IR_OP_MATMUL) {
            sc->qk = ir_node_id(g, n);
            return true;
        }
        uint32_t next = scaled_operand(g, n, &sc->scale);
        if (next != IR_NONE) {
            scaled = true;
        } else if (scaled) {
            return false;
        } else if (n->op == IR_OP_ADD && sc->add_mask == IR_NONE && sc->cond == IR_NONE) {
            bool s0 = from_product(g, n->in[0], sc->dtype, 0), s1 = from_product(g, n->in[1], sc->dtype, 0);
            if (s0 == s1) return false;   /* neither side, or both (a positional bias from another product) */
            next = n->in[s0 ? 0 : 1];
            sc->add_mask = n->in[s0 ? 1 : 0];
        } else if (n->op == IR_OP_WHERE && sc->cond == IR_NONE) {
            next = where_operand(g, n, sc->dtype, &sc->keep, &sc->fill);
            sc->cond = n->in[0];
        }
        if (next == IR_NONE) return false;
        v = next;
    }
    return false;
}

/* x, or the operand of a single-use Mul/Div of x by a constant with the factor moved into *scale. */
static uint32_t unscaled(IrGraph *g, uint32_t x, double *scale, Dead *dead)
{
    IrNode *n = fu_prod(g, x, IR_OP_UNKNOWN);
    double s = 1;
    uint32_t in = n && fu_single(g, x) ? scaled_operand(g, n, &s) : IR_NONE;
    if (in == IR_NONE || !dims_are(g, in, ir_val(g, x)->rank, ir_val(g, x)->dims)) return x;
    *scale *= s;
    kill_later(g, dead, n);
    return in;
}

/* x transposed by perm: x itself for the identity, an existing Transpose of x, or a new one. */
static uint32_t transposed(IrGraph *g, const AttnSite *at, uint32_t x, const int64_t *perm, int rank)
{
    bool identity = true;
    IrDim dims[IR_MAX_RANK];
    const IrValue *xv = ir_val(g, x);
    for (int i = 0; i < rank; i++) {
        identity &= perm[i] == i;
        dims[i] = xv->dims[perm[i]];
    }
    if (identity) return x;
    char hint[256];
    snprintf(hint, sizeof hint, "%s_t", xv->name);
    return attn_node(g, at, IR_OP_TRANSPOSE, 1, &x, "perm", perm, (uint32_t)rank, hint, xv->dtype, rank, dims);
}

/* Dynamo's Kᵀ: Reshape(Transpose(Reshape(K, (B·H, T, D)), 0 2 1), (B, H, D, T)); K or IR_NONE. */
static uint32_t key_through_3d(IrGraph *g, uint32_t kt)
{
    IrNode *r2 = fu_prod(g, kt, IR_OP_RESHAPE);
    IrNode *tr = r2 ? fu_prod(g, r2->in[0], IR_OP_TRANSPOSE) : NULL;
    IrNode *r1 = tr ? fu_prod(g, tr->in[0], IR_OP_RESHAPE) : NULL;
    uint32_t np;
    const int64_t *perm = tr ? ir_attr_ints(tr, "perm", &np) : NULL;
    if (!r1 || !perm || np != 3 || perm[0] != 0 || perm[1] != 2 || perm[2] != 1) return IR_NONE;
    const IrValue *o = ir_val(g, kt), *t3 = ir_val(g, tr->in[0]), *k = ir_val(g, r1->in[0]);
    if (o->rank != 4 || t3->rank != 3 || k->rank != 4) return IR_NONE;
    bool ok = k->dims[0] == o->dims[0] && k->dims[1] == o->dims[1] && k->dims[2] == o->dims[3] && k->dims[3] == o->dims[2] &&
              t3->dims[0] == ir_dim_mul(g, k->dims[0], k->dims[1]) && t3->dims[1] == k->dims[2] && t3->dims[2] == k->dims[3];
    return ok ? r1->in[0] : IR_NONE;
}

/* K (…, T, D) from the Kᵀ (…, D, T) the product reads. */
static uint32_t key_from_transposed(IrGraph *g, const AttnSite *at, uint32_t kt, int rank)
{
    int64_t swap[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) swap[i] = i;
    swap[rank - 2] = rank - 1, swap[rank - 1] = rank - 2;
    IrNode *tr = fu_prod(g, kt, IR_OP_TRANSPOSE);
    uint32_t np;
    const int64_t *perm = tr ? ir_attr_ints(tr, "perm", &np) : NULL;
    if (perm && np == (uint32_t)rank) {   /* K = X transposed by perm, then the last two axes swapped back */
        int64_t kperm[IR_MAX_RANK];
        for (int i = 0; i < rank; i++) kperm[i] = perm[swap[i]];
        return transposed(g, at, tr->in[0], kperm, rank);
    }
    uint32_t k = rank == 4 ? key_through_3d(g, kt) : IR_NONE;
    return k != IR_NONE ? k : transposed(g, at, kt, swap, rank);
}

/* Grouped-query repeat: Reshape(Expand(Unsqueeze(x, 2), (B, Hk, r, T, D)), (B, Hk·r, T, D)) → x, r. */
static uint32_t unrepeated(IrGraph *g, uint32_t y, int64_t *rep)
{
    IrNode *rs = fu_prod(g, y, IR_OP_RESHAPE);
    IrNode *ex = rs ? fu_prod(g, rs->in[0], IR_OP_EXPAND) : NULL;
    IrNode *un = ex ? fu_prod(g, ex->in[0], IR_OP_UNSQUEEZE) : NULL;
    if (!un) return IR_NONE;
    const IrValue *yv = ir_val(g, y), *e = ir_val(g, ex->out[0]), *u = ir_val(g, un->out[0]), *x = ir_val(g, un->in[0]);
    int64_t heads;
    if (yv->rank != 4 || e->rank != 5 || u->rank != 5 || x->rank != 4 || !ir_dim_const_value(g, e->dims[2], rep) ||
        !ir_dim_const_value(g, x->dims[1], &heads))
        return IR_NONE;
    const IrDim unsq[5] = {x->dims[0], x->dims[1], ir_dim_const(g, 1), x->dims[2], x->dims[3]};
    const IrDim rep_dims[5] = {x->dims[0], x->dims[1], e->dims[2], x->dims[2], x->dims[3]};
    const IrDim merged[4] = {x->dims[0], ir_dim_mul(g, x->dims[1], e->dims[2]), x->dims[2], x->dims[3]};
    bool ok = !memcmp(u->dims, unsq, sizeof unsq) && !memcmp(e->dims, rep_dims, sizeof rep_dims) &&
              !memcmp(yv->dims, merged, sizeof merged);
    return ok ? un->in[0] : IR_NONE;
}

/* m broadcasts to the scores and spans the keys (Attention pads a short last axis instead of broadcasting). */
static bool mask_fits(IrGraph *g, uint32_t m, const Scores *sc)
{
    const IrValue *mv = ir_val(g, m);
    IrDim one = ir_dim_const(g, 1);
    if ((mv->dtype != DT_BOOL && mv->dtype != sc->dtype) || mv->rank < 1 || mv->rank > sc->rank) return false;
    for (int i = 1; i <= mv->rank; i++) {
        IrDim d = mv->dims[mv->rank - i], want = sc->dims[sc->rank - i];
        if (d != want && (i == 1 || d != one)) return false;
    }
    return true;
}

static uint32_t zero_like(IrGraph *g, IrDType t)
{
    IrTensor *z = ir_tensor_new(g, t, 0, NULL);
    return ir_const_new(g, "attn_zero", z);
}

/* The attn_mask the node gets and is_causal (only tried with `split`); false for a mask it cannot take. */
static bool build_mask(IrGraph *g, const Scores *sc, const AttnSite *at, bool split, uint32_t *mask, bool *causal)
{
    IrDim s = sc->dims[sc->rank - 2], t = sc->dims[sc->rank - 1];
    uint32_t add = sc->add_mask;
    *mask = add;
    *causal = false;
    if (sc->cond != IR_NONE) {
        uint32_t cond = sc->cond;
        bool keep = sc->keep;
        uint32_t rest = split ? attn_causal_split(g, cond, keep, s, t, at, causal) : IR_NONE;
        if (*causal) cond = rest, keep = true;
        double fill = 0;
        fu_splat(g, sc->fill, &fill);
        /* a −inf fill makes the condition the keep-mask itself; so does the causal split, as for additive masks */
        if (cond != IR_NONE && (isinf(fill) || *causal) && keep && add == IR_NONE) {
            *mask = cond;
        } else if (cond != IR_NONE) {   /* Where(cond, mask or 0, fill): the Where and the Add as one bias */
            uint32_t other = add != IR_NONE ? add : zero_like(g, sc->dtype);
            uint32_t in[3] = {cond, keep ? other : sc->fill, keep ? sc->fill : other};
            int rank;
            IrDim dims[IR_MAX_RANK];
            if (!attn_broadcast(g, ir_val(g, cond), ir_val(g, other), &rank, dims)) return false;
            *mask = attn_node(g, at, IR_OP_WHERE, 3, in, NULL, NULL, 0, "attn_bias", sc->dtype, rank, dims);
        }
    } else if (add != IR_NONE && split) {
        uint32_t rest = attn_causal_split_additive(g, add, s, t, at, causal);
        if (*causal) *mask = rest;
    }
    return *mask == IR_NONE || mask_fits(g, *mask, sc);
}

/* The probabilities the value product reads: the softmax's output, or the SDPA guard Where(IsNaN(p), 0, p). */
static uint32_t guarded_probs(IrGraph *g, const IrNode *sm, Dead *dead)
{
    uint32_t p = sm->out[0], n;
    if (ir_val(g, p)->flags & V_OUTPUT) return IR_NONE;
    const uint32_t *uses = ir_uses(g, p, &n);
    if (n == 1) return p;
    if (n != 2) return IR_NONE;
    IrNode *a = ir_node(g, uses[0]), *b = ir_node(g, uses[1]);
    IrNode *isnan = a->op == IR_OP_IS_NAN ? a : b, *w = a->op == IR_OP_IS_NAN ? b : a;
    double zero;
    if (isnan->op != IR_OP_IS_NAN || w->op != IR_OP_WHERE || fu_user(g, isnan->out[0], IR_OP_WHERE) != w ||
        w->in[0] != isnan->out[0] || w->in[2] != p || !fu_splat(g, w->in[1], &zero) || zero != 0)
        return IR_NONE;
    kill_later(g, dead, isnan);
    kill_later(g, dead, w);
    return w->out[0];
}

static bool softmax_last(IrGraph *g, const IrNode *sm)
{
    int rank = ir_val(g, sm->in[0])->rank;
    int64_t axis = ir_attr_int(sm, "axis", sm->opset >= 13 ? -1 : 1);   /* opset < 13 flattens from axis: same for the last */
    return axis == -1 || axis == rank - 1;
}

/* Unsqueeze(x, 0): the 4-D view (1, N, L, d) of batched 3-D operands. */
static uint32_t as_4d(IrGraph *g, const AttnSite *at, uint32_t x, uint32_t axes0)
{
    const IrValue *xv = ir_val(g, x);
    IrDim dims[4] = {ir_dim_const(g, 1), xv->dims[0], xv->dims[1], xv->dims[2]};
    IrDType t = xv->dtype;
    char hint[256];
    snprintf(hint, sizeof hint, "%s_4d", xv->name);   /* xv dangles once attn_node adds a value */
    uint32_t in[2] = {x, axes0};
    return attn_node(g, at, IR_OP_UNSQUEEZE, 2, in, NULL, NULL, 0, hint, t, 4, dims);
}

/* Attention(in) {scale, is_causal} in place of the pattern whose last node is `last` (3-D scores: the 4-D node,
 * then a Squeeze back to (N, L, dv)). */
static void emit(IrGraph *g, const Scores *sc, uint32_t last, const AttnSite *at, const uint32_t *in, uint32_t nin,
                 bool causal, uint32_t axes0)
{
    uint32_t y = ir_node(g, last)->out[0];
    if (sc->rank == 3) {
        const IrValue *o = ir_val(g, y);
        IrDim dims[4] = {ir_dim_const(g, 1), o->dims[0], o->dims[1], o->dims[2]};
        IrDType t = o->dtype;
        char hint[256];
        snprintf(hint, sizeof hint, "%s_4d", o->name);
        y = ir_value_new(g, ir_unique_name(g, hint));   /* o dangles from here */
        ir_value_set_shape(g, y, t, 4, dims);
    }
    IrNode *dead[MAX_DEAD];
    for (uint32_t i = 0; i < sc->dead.n; i++) dead[i] = ir_node(g, sc->dead.id[i]);
    IrNode *n;
    if (sc->rank == 3) {
        n = ir_node(g, ir_node_new(g, IR_OP_ATTENTION, nin, in, 1, &y));
        n->scope = at->scope;
        n->loc = at->loc;
    } else {
        n = fu_replace(g, ir_node(g, last), dead, sc->dead.n, IR_OP_ATTENTION, nin, in);
    }
    ir_attr_set_float(g, n, "scale", sc->scale);
    if (causal) ir_attr_set_int(g, n, "is_causal", 1);
    if (sc->rank == 3) {
        uint32_t sq[2] = {y, axes0};
        for (uint32_t i = 0; i < sc->dead.n; i++) dead[i] = ir_node(g, sc->dead.id[i]);
        fu_replace(g, ir_node(g, last), dead, sc->dead.n, IR_OP_SQUEEZE, 2, sq);
    }
}

static uint32_t fuse_one(IrGraph *g, IrNode *sm)
{
    const IrValue *sv = ir_val(g, sm->in[0]);
    if ((sv->rank != 4 && sv->rank != 3) || !ir_dtype_is_float(sv->dtype) || !softmax_last(g, sm)) return 0;
    Scores sc = {.rank = sv->rank, .dims = sv->dims, .dtype = sv->dtype, .scale = 1, .add_mask = IR_NONE, .cond = IR_NONE};
    if (!read_scores(g, sm->in[0], &sc)) return 0;
    kill_later(g, &sc.dead, sm);
    uint32_t probs = guarded_probs(g, sm, &sc.dead);
    IrNode *pv = probs != IR_NONE ? fu_user(g, probs, IR_OP_MATMUL) : NULL;
    if (!pv || pv->in[0] != probs) return 0;
    kill_later(g, &sc.dead, pv);
    uint32_t last = ir_node_id(g, pv);   /* node pointers dangle once K's transpose or a mask node is added */
    AttnSite at = {pv->scope, pv->loc};
    const IrNode *qk = ir_node(g, sc.qk);
    uint32_t q = unscaled(g, qk->in[0], &sc.scale, &sc.dead), kt = unscaled(g, qk->in[1], &sc.scale, &sc.dead);
    uint32_t v = pv->in[1], out = pv->out[0];
    int r = sc.rank;
    const IrValue *qv = ir_val(g, q), *ktv = ir_val(g, kt), *vv = ir_val(g, v), *ov = ir_val(g, out);
    /* Q (…, S, D), Kᵀ (…, D, T), V (…, T, Dv), batch and heads those of the scores (no broadcasting product) */
    if (qv->rank != r || ktv->rank != r || vv->rank != r || ov->rank != r || qv->dtype != sc.dtype ||
        ktv->dtype != sc.dtype || vv->dtype != sc.dtype)
        return 0;
    if (memcmp(qv->dims, sc.dims, (size_t)(r - 1) * sizeof *sc.dims) || memcmp(ktv->dims, sc.dims, (size_t)(r - 2) * sizeof *sc.dims) ||
        memcmp(vv->dims, sc.dims, (size_t)(r - 2) * sizeof *sc.dims) || ktv->dims[r - 2] != qv->dims[r - 1] ||
        ktv->dims[r - 1] != sc.dims[r - 1] || vv->dims[r - 2] != sc.dims[r - 1])
        return 0;
    uint32_t k = key_from_transposed(g, &at, kt, r);
    if (r == 4) {   /* grouped-query heads: both K and V read before their repeat, or neither */
        int64_t rk = 0, rv = 0;
        uint32_t k0 = unrepeated(g, k, &rk), v0 = unrepeated(g, v, &rv);
        if (k0 != IR_NONE && v0 != IR_NONE && rk == rv) k = k0, v = v0;
    }
    uint32_t mask;
    bool causal;
    /* a causal split whose rest Attention cannot take (a mask over the queries only): the whole mask instead */
    if (!build_mask(g, &sc, &at, true, &mask, &causal) && !build_mask(g, &sc, &at, false, &mask, &causal)) return 0;
    uint32_t axes0 = IR_NONE;
    if (r == 3) {
        int64_t zero = 0;
        axes0 = ir_const_i64(g, "axes_0", &zero, 1, false);
        q = as_4d(g, &at, q, axes0), k = as_4d(g, &at, k, axes0), v = as_4d(g, &at, v, axes0);
    }
    uint32_t in[4] = {q, k, v, mask};
    emit(g, &sc, last, &at, in, mask != IR_NONE ? 4 : 3, causal, axes0);
    return 1;
}

uint32_t fuse_attention(IrGraph *g)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (!n->dead && n->op == IR_OP_SOFTMAX) count += fuse_one(g, n);
    }
    return count;
}
