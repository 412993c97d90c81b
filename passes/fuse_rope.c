/* passes/fuse_rope.c — rotary position embedding written out as arithmetic, back to one RotaryEmbedding.
 *
 *   half-split (HF rotate_half)  x·cos + Concat(−x[..., D/2:], x[..., :D/2])·sin
 *   interleaved (GPT-J)          x·cos + Reshape(Concat(Unsqueeze(−x[..., 1::2]), Unsqueeze(x[..., ::2])))·sin
 *   partial rotary               Concat(rope(x[..., :R]), x[..., R:])
 *                                          -> RotaryEmbedding(x, cos, sin) {interleaved, rotary_embedding_dim} (ONNX 23)
 *
 * x is (B, H, S, D); cos and sin are multiplied at full width, (B|1, 1, S, R): a half-width table f doubled,
 * as Concat(f, f) (split form) or each entry twice (interleaved; Expand/Tile/Concat then Reshape), before or
 * after the Cos, or a constant cache whose halves are equal.  The fused op reads (B|1, S, R/2): walking from
 * the multiplied value back to the doubling, the same ops are rebuilt at half width (a Cos over f, a Gather
 * of the half cache, ...), once per source value, so the table stays computed once for all layers; the
 * full-width chain dies when its last reader is fused.  cos and sin must be the same chain of ops ending in
 * Cos(a) and Sin(a) of one angle, or constant caches with cos² + sin² constant and sin = 0 at position 0:
 * that is what tells cos from sin. */
#include "fuse.h"

#include <math.h>
#include <string.h>

enum { MAX_DEAD = 16, MAX_MEMO = 64, MAX_IN = 8 };

/* how v doubles a table f: halves [f, f], pairs [f0, f0, f1, f1, ...]; SQUEEZED: v without the head axis */
typedef enum { SPLIT, INTER, SQUEEZED } Mode;

typedef struct {
    IrGraph *g;
    struct { uint32_t src, out; Mode mode; } memo[MAX_MEMO];   /* half-width values built, shared by all layers */
    uint32_t nmemo;
    uint32_t head_axis;    /* the constant [1] the Squeezes share */
} Rope;

typedef struct {
    uint32_t x, cos, sin;  /* cos, sin: the full-width values multiplied */
    int64_t rot;           /* rotated dims R; 0: the whole head */
    bool inter;
    uint32_t dead[MAX_DEAD], n;   /* node ids: building the tables moves the node array */
    uint32_t last;
} Match;

static void kill_later(IrGraph *g, Match *m, const IrNode *n)
{
    if (m->n < MAX_DEAD) m->dead[m->n++] = ir_node_id(g, n);
}

/* --- small facts ------------------------------------------------------------------------------------- */

static int64_t last_dim(IrGraph *g, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    int64_t d;
    return val->rank >= 1 && ir_dim_const_value(g, val->dims[val->rank - 1], &d) ? d : -1;
}

static int norm_axis(int64_t a, int rank)
{
    if (a < 0) a += rank;
    return a >= 0 && a < rank ? (int)a : -1;
}

/* the single axis a constant 1-entry list names, normalized against rank; -1 otherwise */
static int one_axis(IrGraph *g, uint32_t v, int rank)
{
    int64_t a[IR_MAX_RANK];
    uint32_t n;
    if (!ir_value_ints(g, v, a, IR_MAX_RANK, &n) || n != 1) return -1;
    return norm_axis(a[0], rank);
}

/* no entry of the constant list v names the last axis of a rank-`rank` tensor */
static bool spares_last(IrGraph *g, uint32_t v, int rank)
{
    int64_t a[IR_MAX_RANK];
    uint32_t n;
    if (!ir_value_ints(g, v, a, IR_MAX_RANK, &n)) return false;
    for (uint32_t i = 0; i < n; i++)
        if (norm_axis(a[i], rank) < 0 || norm_axis(a[i], rank) == rank - 1) return false;
    return true;
}

static bool same_dims(IrGraph *g, uint32_t a, uint32_t b)
{
    const IrValue *va = ir_val(g, a), *vb = ir_val(g, b);
    if (va->rank != vb->rank || va->dtype != vb->dtype || va->rank < 0) return false;
    for (int i = 0; i < va->rank; i++)
        if (va->dims[i] != vb->dims[i]) return false;
    return true;
}

/* v = Slice(x, start, end) over the last axis of x with constant bounds (clamped to [0, D]) and step */
static IrNode *slice_last(IrGraph *g, uint32_t v, int64_t *start, int64_t *end, int64_t *step)
{
    IrNode *s = fu_prod(g, v, IR_OP_SLICE);
    if (!s) return NULL;
    int rank = ir_val(g, s->in[0])->rank;
    int64_t d = last_dim(g, s->in[0]), b[2][IR_MAX_RANK], k[IR_MAX_RANK] = {1};
    uint32_t n0, n1, nk = 1;
    if (d < 0 || one_axis(g, ir_input(s, 3), rank) != rank - 1) return NULL;
    if (!ir_value_ints(g, s->in[1], b[0], IR_MAX_RANK, &n0) || !ir_value_ints(g, s->in[2], b[1], IR_MAX_RANK, &n1) ||
        n0 != 1 || n1 != 1)
        return NULL;
    if (ir_input(s, 4) != IR_NONE && (!ir_value_ints(g, s->in[4], k, IR_MAX_RANK, &nk) || nk != 1)) return NULL;
    for (int i = 0; i < 2; i++) {
        if (b[i][0] < 0) b[i][0] += d;
        b[i][0] = b[i][0] < 0 ? 0 : b[i][0] > d ? d : b[i][0];
    }
    *start = b[0][0], *end = b[1][0], *step = k[0];
    return s;
}

/* --- the rotated operand ----------------------------------------------------------------------------- */

/* Concat(−x[..., D/2:], x[..., :D/2]) on the last axis: x */
static uint32_t rotate_split(IrGraph *g, uint32_t v, Match *m)
{
    IrNode *c = fu_prod(g, v, IR_OP_CONCAT);
    int rank = ir_val(g, v)->rank;
    if (!c || c->nin != 2 || !fu_single(g, v) || norm_axis(ir_attr_int(c, "axis", 0), rank) != rank - 1) return IR_NONE;
    IrNode *neg = fu_prod(g, c->in[0], IR_OP_NEG);
    if (!neg || !fu_single(g, c->in[0]) || !fu_single(g, neg->in[0]) || !fu_single(g, c->in[1])) return IR_NONE;
    int64_t s1, e1, k1, s2, e2, k2;
    IrNode *hi = slice_last(g, neg->in[0], &s2, &e2, &k2), *lo = slice_last(g, c->in[1], &s1, &e1, &k1);
    if (!hi || !lo || hi->in[0] != lo->in[0]) return IR_NONE;
    int64_t d = last_dim(g, lo->in[0]);
    if (d < 2 || d % 2 || k1 != 1 || k2 != 1 || s1 != 0 || e1 != d / 2 || s2 != d / 2 || e2 != d) return IR_NONE;
    kill_later(g, m, c), kill_later(g, m, neg), kill_later(g, m, hi), kill_later(g, m, lo);
    return lo->in[0];
}

/* v = Unsqueeze(u, [last]) (single: v and u single-use): u, the node in *node */
static uint32_t unsqueezed_last(IrGraph *g, uint32_t v, IrNode **node, bool single)
{
    IrNode *u = fu_prod(g, v, IR_OP_UNSQUEEZE);
    int rank = ir_val(g, v)->rank;
    if (!u || (single && (!fu_single(g, v) || !fu_single(g, u->in[0]))) || one_axis(g, ir_input(u, 1), rank) != rank - 1)
        return IR_NONE;
    *node = u;
    return u->in[0];
}

/* x[..., which::2] of a single-use v: a Slice with step 2, or element `which` of the pairs Reshape(x, [..., D/2, 2])
 * (Gather, or unbind's Squeeze(Slice); kept: the Slice alone, [..., D/2, 1], once canon dropped the Squeeze and
 * the stack's Unsqueeze), the Reshape then read by both elements only (*pairs).  x, or IR_NONE. */
static uint32_t every_other(IrGraph *g, uint32_t v, int which, bool kept, Match *m, IrNode **pairs)
{
    int64_t s, e, k, i;
    IrNode *p = fu_prod(g, v, IR_OP_UNKNOWN), *q = NULL;
    int rank = ir_val(g, v)->rank + !kept;   /* the pairs' */
    uint32_t n;
    if (!p) return IR_NONE;
    if (p->op == IR_OP_SLICE && !kept) {
        if (!slice_last(g, v, &s, &e, &k) || k != 2 || s != which || e < last_dim(g, p->in[0]) - 1 + which)
            return IR_NONE;
        kill_later(g, m, p);
        return p->in[0];
    }
    if (p->op == IR_OP_GATHER && !kept) {
        if (norm_axis(ir_attr_int(p, "axis", 0), rank) != rank - 1 || ir_val(g, p->in[1])->rank != 0 ||
            !ir_value_ints(g, p->in[1], &i, 1, &n) || (i != which && i != which - 2))
            return IR_NONE;
    } else {
        if (p->op == IR_OP_SQUEEZE && !kept && one_axis(g, ir_input(p, 1), rank) == rank - 1 && fu_single(g, p->in[0]))
            q = slice_last(g, p->in[0], &s, &e, &k);
        else if (kept)
            q = slice_last(g, v, &s, &e, &k), p = NULL;
        if (!q || s != which || e != which + 1 || k != 1) return IR_NONE;
    }
    uint32_t pv = q ? q->in[0] : p->in[0];
    IrNode *rs = fu_prod(g, pv, IR_OP_RESHAPE);
    if (!rs || last_dim(g, pv) != 2 || ir_use_count(g, pv) != 2 || (ir_val(g, pv)->flags & V_OUTPUT)) return IR_NONE;
    const IrValue *x = ir_val(g, rs->in[0]), *pr = ir_val(g, pv);
    int64_t h;
    if (x->rank != rank - 1 || !ir_dim_const_value(g, pr->dims[rank - 2], &h) || last_dim(g, rs->in[0]) != 2 * h)
        return IR_NONE;
    for (int a = 0; a < rank - 2; a++)
        if (x->dims[a] != pr->dims[a]) return IR_NONE;
    if (p) kill_later(g, m, p);
    if (q) kill_later(g, m, q);
    *pairs = rs;
    return rs->in[0];
}

/* Reshape(Concat(Unsqueeze(−x[..., 1::2]), Unsqueeze(x[..., ::2])), shape of x): x — torch.stack((−x2, x1), −1)
 * .flatten(−2) of GPT-J's rotate_every_two, x1 and x2 sliced or taken from the pairs */
static uint32_t rotate_inter(IrGraph *g, uint32_t v, Match *m)
{
    IrNode *rs = fu_prod(g, v, IR_OP_RESHAPE), *u1, *u2 = NULL, *po = NULL, *pe = NULL;
    if (!rs || !fu_single(g, v) || !fu_single(g, rs->in[0])) return IR_NONE;
    IrNode *c = fu_prod(g, rs->in[0], IR_OP_CONCAT);
    int rank = ir_val(g, rs->in[0])->rank;
    if (!c || c->nin != 2 || norm_axis(ir_attr_int(c, "axis", 0), rank) != rank - 1 || last_dim(g, rs->in[0]) != 2 ||
        !fu_single(g, c->in[1]))
        return IR_NONE;
    uint32_t a = unsqueezed_last(g, c->in[0], &u1, true), b = unsqueezed_last(g, c->in[1], &u2, true);
    IrNode *neg = a != IR_NONE ? fu_prod(g, a, IR_OP_NEG) : NULL;
    if (!neg || !fu_single(g, neg->in[0])) return IR_NONE;
    uint32_t n0 = m->n, odd = every_other(g, neg->in[0], 1, false, m, &po);
    uint32_t even = every_other(g, b != IR_NONE ? b : c->in[1], 0, b == IR_NONE, m, &pe);
    int64_t d = last_dim(g, v);
    if (odd == IR_NONE || odd != even || po != pe || !same_dims(g, v, even) || d < 2 || d % 2) {
        m->n = n0;
        return IR_NONE;
    }
    kill_later(g, m, rs), kill_later(g, m, c), kill_later(g, m, u1), kill_later(g, m, neg);
    if (u2) kill_later(g, m, u2);
    if (pe) kill_later(g, m, pe);
    return even;
}

/* Add(Mul(x, cos), Mul(rotate(x), sin)), any operand order */
static bool match_add(IrGraph *g, IrNode *add, Match *m)
{
    for (int i = 0; i < 2; i++) {
        IrNode *m1 = fu_prod(g, add->in[i], IR_OP_MUL), *m2 = fu_prod(g, add->in[1 - i], IR_OP_MUL);
        if (!m1 || !m2 || !fu_single(g, add->in[0]) || !fu_single(g, add->in[1])) continue;
        for (int j = 0; j < 2; j++) {
            m->n = 0;
            m->inter = false;
            uint32_t x = rotate_split(g, m2->in[j], m);
            if (x == IR_NONE) {
                m->inter = true;
                x = rotate_inter(g, m2->in[j], m);
            }
            uint32_t cos = x != IR_NONE ? fu_other(m1, x) : IR_NONE;
            if (cos == IR_NONE || cos == x) continue;
            m->x = x, m->cos = cos, m->sin = m2->in[1 - j], m->rot = 0;
            kill_later(g, m, m1), kill_later(g, m, m2), kill_later(g, m, add);
            m->last = ir_node_id(g, add);
            return true;
        }
    }
    return false;
}

/* Shapes: x (B, H, S, D) float; products and sum shaped like x; cos, sin (B|1, 1, S, D) of x's dtype. */
static bool shapes_ok(IrGraph *g, const Match *m)
{
    const IrValue *x = ir_val(g, m->x);
    if (x->rank != 4 || !ir_dtype_is_float(x->dtype)) return false;
    for (uint32_t i = m->n - 3; i < m->n; i++)
        if (!same_dims(g, ir_node(g, m->dead[i])->out[0], m->x)) return false;
    IrDim one = ir_dim_const(g, 1);
    for (int k = 0; k < 2; k++) {
        const IrValue *c = ir_val(g, k ? m->sin : m->cos);
        if (c->rank != 4 || c->dtype != x->dtype || c->dims[1] != one || c->dims[2] != x->dims[2] ||
            c->dims[3] != x->dims[3] || (c->dims[0] != x->dims[0] && c->dims[0] != one))
            return false;
    }
    return true;
}

/* Concat(rope(x[..., :R]), x[..., R:]): the rope turns the first R dims of x.  Widens the match when so. */
static void widen_partial(IrGraph *g, Match *m)
{
    int64_t s, e, k, s2, e2, k2;
    IrNode *head = slice_last(g, m->x, &s, &e, &k), *add = ir_node(g, m->last);
    IrNode *cat = fu_user(g, add->out[0], IR_OP_CONCAT);
    if (!head || !cat || cat->nin != 2 || cat->in[0] != add->out[0] || ir_use_count(g, m->x) != 3) return;
    uint32_t x = head->in[0];
    int64_t d = last_dim(g, x);
    int rank = ir_val(g, x)->rank;
    IrNode *tail = slice_last(g, cat->in[1], &s2, &e2, &k2);
    if (!tail || tail->in[0] != x || !fu_single(g, cat->in[1]) || (ir_val(g, m->x)->flags & V_OUTPUT)) return;
    if (norm_axis(ir_attr_int(cat, "axis", 0), rank) != rank - 1 || !same_dims(g, cat->out[0], x)) return;
    if (s != 0 || k != 1 || e >= d || s2 != e || e2 != d || k2 != 1) return;
    kill_later(g, m, head), kill_later(g, m, tail), kill_later(g, m, cat);
    m->x = x;
    m->rot = e;
    m->last = ir_node_id(g, cat);
}

/* --- cos and sin ------------------------------------------------------------------------------------- */

/* a and b hold the same thing: one value, or equal constants (shapes and bytes) or symbolic contents */
static bool same_operand(IrGraph *g, uint32_t a, uint32_t b)
{
    if (a == b) return true;
    if (a == IR_NONE || b == IR_NONE) return false;
    const IrValue *va = ir_val(g, a), *vb = ir_val(g, b);
    if (va->konst && vb->konst)
        return va->konst->dtype == vb->konst->dtype && va->konst->nbytes == vb->konst->nbytes &&
               same_dims(g, a, b) && memcmp(va->konst->data, vb->konst->data, va->konst->nbytes) == 0;
    if (va->symval && vb->symval)
        return va->symval_n == vb->symval_n && memcmp(va->symval, vb->symval, va->symval_n * sizeof *va->symval) == 0;
    return false;
}

static bool same_attrs(const IrNode *a, const IrNode *b)
{
    if (a->nattrs != b->nattrs) return false;
    for (uint32_t i = 0; i < a->nattrs; i++) {
        const IrAttr *x = &a->attrs[i], *y = ir_attr(b, x->name);
        if (!y || y->kind != x->kind || y->n != x->n) return false;
        if ((x->kind == ATTR_INT && x->u.i != y->u.i) || (x->kind == ATTR_FLOAT && x->u.f != y->u.f) ||
            (x->kind == ATTR_INTS && memcmp(x->u.is, y->u.is, x->n * sizeof *x->u.is)) ||
            (x->kind == ATTR_STRING && strcmp(x->u.s, y->u.s)))
            return false;
    }
    return true;
}

/* a one-element constant: it scales a table of any width */
static bool scalar(IrGraph *g, uint32_t v)
{
    double k;
    return fu_splat(g, v, &k) && ir_val(g, v)->konst->numel == 1;
}

/* The input of p that carries the table's last axis through p unchanged, -1 if p does something else to it. */
static int carrier(IrGraph *g, const IrNode *p)
{
    int rin = p->nin ? ir_val(g, p->in[0])->rank : -1, rout = ir_val(g, p->out[0])->rank;
    switch (p->op) {
    case IR_OP_CAST: case IR_OP_COS: case IR_OP_SIN:
        return 0;
    case IR_OP_MUL:   /* attention_scaling */
        return scalar(g, p->in[1]) ? 0 : scalar(g, p->in[0]) ? 1 : -1;
    case IR_OP_DIV:
        return scalar(g, p->in[1]) ? 0 : -1;
    case IR_OP_UNSQUEEZE:
        return spares_last(g, ir_input(p, 1), rout) ? 0 : -1;
    case IR_OP_SQUEEZE:
        return ir_input(p, 1) != IR_NONE ? (spares_last(g, p->in[1], rin) ? 0 : -1) : last_dim(g, p->in[0]) > 1 ? 0 : -1;
    case IR_OP_GATHER:
        return norm_axis(ir_attr_int(p, "axis", 0), rin) != rin - 1 ? 0 : -1;
    case IR_OP_GATHER_ND: {
        int64_t idx = last_dim(g, p->in[1]);
        return idx >= 0 && ir_attr_int(p, "batch_dims", 0) + idx < rin ? 0 : -1;
    }
    case IR_OP_SLICE:
        return ir_input(p, 3) != IR_NONE && spares_last(g, p->in[3], rin) ? 0 : -1;
    case IR_OP_TRANSPOSE: {
        uint32_t n;
        const int64_t *perm = ir_attr_ints(p, "perm", &n);
        return perm && n == (uint32_t)rin && perm[rin - 1] == rin - 1 ? 0 : -1;
    }
    default:
        return -1;
    }
}

/* v doubles f: Concat(f, f) (SPLIT), or each entry twice, Reshape(Concat(u, u) | Expand(u) | Tile(u)) of
 * u = Unsqueeze(f, [last]) (INTER): f.  head: v also has the head axis (B|1, 1, S, R), when canon merged the
 * Unsqueeze(1) into that Reshape. */
static uint32_t doubled(IrGraph *g, uint32_t v, Mode mode, bool head)
{
    IrNode *p = fu_prod(g, v, IR_OP_UNKNOWN);
    const IrValue *vv = ir_val(g, v);
    if (!p) return IR_NONE;
    if (mode == SPLIT)
        return !head && p->op == IR_OP_CONCAT && p->nin == 2 && p->in[0] == p->in[1] &&
               norm_axis(ir_attr_int(p, "axis", 0), vv->rank) == vv->rank - 1 ? p->in[0] : IR_NONE;
    if (mode != INTER || p->op != IR_OP_RESHAPE || last_dim(g, p->in[0]) != 2) return IR_NONE;
    IrNode *w = fu_prod(g, p->in[0], IR_OP_UNKNOWN);
    const IrValue *wv = ir_val(g, p->in[0]);
    int rank = wv->rank - 1;   /* f's */
    if (!w || (w->op != IR_OP_CONCAT && w->op != IR_OP_EXPAND && w->op != IR_OP_TILE)) return IR_NONE;
    if (w->op == IR_OP_CONCAT && (w->nin != 2 || w->in[0] != w->in[1] ||
                                  norm_axis(ir_attr_int(w, "axis", 0), rank + 1) != rank))
        return IR_NONE;
    IrNode *u;
    uint32_t f = unsqueezed_last(g, w->in[0], &u, false);
    const IrValue *fv = f != IR_NONE ? ir_val(g, f) : NULL;
    if (!fv || fv->rank != rank || rank < 1 || vv->rank != rank + head || (head && vv->dims[1] != ir_dim_const(g, 1)))
        return IR_NONE;
    /* nothing but the new last axis grew: f's dims are w's, and v is w with its last two axes merged */
    for (int i = 0; i < rank; i++)
        if (wv->dims[i] != fv->dims[i] || (i < rank - 1 && vv->dims[i + (head && i > 0)] != fv->dims[i]))
            return IR_NONE;
    return last_dim(g, v) == 2 * last_dim(g, f) && last_dim(g, f) > 0 ? f : IR_NONE;
}

static uint32_t memo_get(const Rope *r, uint32_t src, Mode mode)
{
    for (uint32_t i = 0; i < r->nmemo; i++)
        if (r->memo[i].src == src && r->memo[i].mode == mode) return r->memo[i].out;
    return IR_NONE;
}

static uint32_t memo_put(Rope *r, uint32_t src, Mode mode, uint32_t out)
{
    if (r->nmemo < MAX_MEMO) r->memo[r->nmemo].src = src, r->memo[r->nmemo].out = out, r->memo[r->nmemo++].mode = mode;
    return out;
}

/* A new value shaped like `like`, last axis halved (or the head axis dropped). */
static uint32_t new_value(IrGraph *g, uint32_t like, Mode mode)
{
    const IrValue *v = ir_val(g, like);
    IrDim dims[IR_MAX_RANK];
    int rank = v->rank;
    IrDType t = v->dtype;
    memcpy(dims, v->dims, (size_t)rank * sizeof *dims);
    if (mode == SQUEEZED) memmove(dims + 1, dims + 2, (size_t)(rank - 2) * sizeof *dims), rank--;
    else dims[rank - 1] = ir_dim_const(g, last_dim(g, like) / 2);
    const char *name = ir_unique_name(g, m2c_sprintf(g->arena, "%s_%s", v->name, mode == SQUEEZED ? "3d" : "half"));
    uint32_t out = ir_value_new(g, name);
    ir_value_set_shape(g, out, t, rank, dims);
    return out;
}

/* A copy of node `pid` reading `in` as input k: its output is `like` at half width. */
static uint32_t rebuild(Rope *r, uint32_t pid, int k, uint32_t in, uint32_t like)
{
    IrGraph *g = r->g;
    uint32_t out = new_value(g, like, SPLIT), ins[MAX_IN];
    const IrNode *p = ir_node(g, pid);
    uint32_t nin = p->nin < MAX_IN ? p->nin : MAX_IN;
    memcpy(ins, p->in, nin * sizeof *ins);
    ins[k] = in;
    IrNode *n = ir_node(g, ir_node_new(g, p->op, nin, ins, 1, &out));
    p = ir_node(g, pid);   /* ir_node_new may have moved the array */
    n->op_type = p->op_type, n->domain = p->domain, n->opset = p->opset;
    n->loc = p->loc, n->scope = p->scope;
    for (uint32_t i = 0; i < p->nattrs; i++) {
        IrAttr *a = ir_attr_add(g, n, p->attrs[i].name, p->attrs[i].kind);
        a->n = p->attrs[i].n, a->u = p->attrs[i].u;
    }
    return out;
}

/* A constant table whose two halves (or pairs) are equal, cut to one. */
static uint32_t half_const(Rope *r, uint32_t v, Mode mode, bool build)
{
    IrGraph *g = r->g;
    const IrTensor *t = ir_val(g, v)->konst;
    if (!ir_dtype_is_float(t->dtype) || t->rank < 1 || t->shape[t->rank - 1] < 2 || t->shape[t->rank - 1] % 2)
        return IR_NONE;
    uint64_t d = (uint64_t)t->shape[t->rank - 1], h = d / 2, rows = t->numel / d;
    int64_t shape[IR_MAX_RANK];
    memcpy(shape, t->shape, (size_t)t->rank * sizeof *shape);
    shape[t->rank - 1] = (int64_t)h;
    IrTensor *half = build ? ir_tensor_new(g, t->dtype, t->rank, shape) : NULL;
    for (uint64_t row = 0; row < rows; row++)
        for (uint64_t i = 0; i < h; i++) {
            double a = ir_tensor_get_f64(t, row * d + (mode == SPLIT ? i : 2 * i));
            if (a != ir_tensor_get_f64(t, row * d + (mode == SPLIT ? h + i : 2 * i + 1))) return IR_NONE;
            if (half) ir_tensor_set_f64(half, row * h + i, a);
        }
    if (!build) return v;
    uint32_t out = ir_const_new(g, m2c_sprintf(g->arena, "%s_half", ir_val(g, v)->name), half);
    return memo_put(r, v, mode, out);
}

/* The half-width table v doubles, built (build) or only checked (returns v then): walks through the ops that
 * leave the last axis alone down to the doubling or a constant. */
static uint32_t half(Rope *r, uint32_t v, Mode mode, bool build)
{
    IrGraph *g = r->g;
    uint32_t done = memo_get(r, v, mode);
    if (done != IR_NONE) return build ? done : v;
    const IrValue *val = ir_val(g, v);
    if (val->konst && val->producer == IR_NONE) return half_const(r, v, mode, build);
    uint32_t f = doubled(g, v, mode, false);
    if (f != IR_NONE) return build ? f : v;
    IrNode *p = fu_prod(g, v, IR_OP_UNKNOWN);
    int k = p ? carrier(g, p) : -1;
    if (k < 0) return IR_NONE;
    double s;
    if ((p->op == IR_OP_MUL || p->op == IR_OP_DIV) && fu_splat(g, p->in[1 - k], &s) && s == 1.0)
        return half(r, p->in[k], mode, build);   /* attention_scaling 1 */
    uint32_t pid = ir_node_id(g, p), in = half(r, p->in[k], mode, build);
    if (in == IR_NONE || !build) return in;
    return memo_put(r, v, mode, rebuild(r, pid, k, in, v));
}

/* The (B|1, S, R/2) table for the fused op from the (B|1, 1, S, R) one multiplied: through the Unsqueeze(1)
 * that made the head axis, else a Squeeze of it. */
static uint32_t table(Rope *r, uint32_t v, Mode mode, bool build, uint32_t where)
{
    IrGraph *g = r->g;
    IrNode *u = fu_prod(g, v, IR_OP_UNSQUEEZE);
    if (u && one_axis(g, ir_input(u, 1), 4) == 1) return half(r, u->in[0], mode, build);
    uint32_t h = doubled(g, v, mode, true);
    if (h != IR_NONE) return build ? h : v;
    h = half(r, v, mode, build);
    if (h == IR_NONE || !build) return h;
    uint32_t done = memo_get(r, h, SQUEEZED);
    if (done != IR_NONE) return done;
    int64_t one = 1;
    if (r->head_axis == IR_NONE) r->head_axis = ir_const_i64(g, "rope_head_axis", &one, 1, false);
    uint32_t in[2] = {h, r->head_axis}, out = new_value(g, h, SQUEEZED);
    IrNode *sq = ir_node(g, ir_node_new(g, IR_OP_SQUEEZE, 2, in, 1, &out));
    sq->loc = ir_node(g, where)->loc, sq->scope = ir_node(g, where)->scope;
    return memo_put(r, h, SQUEEZED, out);
}

/* Constant caches: the same angle (cos² + sin² constant, the attention scaling squared) and sin = 0 at
 * position 0 (the first run along the last axis), which cos is not. */
static bool trig_consts(const IrTensor *c, const IrTensor *s)
{
    if (c->dtype != s->dtype || c->numel != s->numel || c->rank != s->rank || c->rank < 1 || !c->numel) return false;
    for (int i = 0; i < c->rank; i++)
        if (c->shape[i] != s->shape[i]) return false;
    double c0 = ir_tensor_get_f64(c, 0), k = c0 * c0;
    if (!(c0 > 0)) return false;
    for (uint64_t i = 0; i < c->numel; i++) {
        double a = ir_tensor_get_f64(c, i), b = ir_tensor_get_f64(s, i);
        if (!(fabs(a * a + b * b - k) <= 1e-2 * k)) return false;
        if (i < (uint64_t)c->shape[c->rank - 1] && !(fabs(b) <= 1e-3 * c0 && fabs(a - c0) <= 1e-3 * c0)) return false;
    }
    return true;
}

/* cos and sin are the same chain of ops over Cos(a) and Sin(a), or over constant cos and sin caches */
static bool trig_pair(IrGraph *g, uint32_t c, uint32_t s)
{
    for (int depth = 0; depth < 32; depth++) {
        if (c == s) return false;
        const IrValue *cv = ir_val(g, c), *sv = ir_val(g, s);
        if (cv->konst && sv->konst && cv->producer == IR_NONE && sv->producer == IR_NONE)
            return trig_consts(cv->konst, sv->konst);
        IrNode *pc = fu_prod(g, c, IR_OP_UNKNOWN), *ps = fu_prod(g, s, IR_OP_UNKNOWN);
        if (!pc || !ps) return false;
        if (pc->op == IR_OP_COS && ps->op == IR_OP_SIN) return pc->in[0] == ps->in[0];
        if (pc->op != ps->op || pc->nin != ps->nin || pc->op == IR_OP_COS || pc->op == IR_OP_SIN || !same_attrs(pc, ps))
            return false;
        /* the doubling's ops pass too (half() checks their structure) */
        bool dbl = pc->op == IR_OP_CONCAT || pc->op == IR_OP_RESHAPE || pc->op == IR_OP_EXPAND || pc->op == IR_OP_TILE ||
                   pc->op == IR_OP_UNSQUEEZE;
        int k = dbl ? 0 : carrier(g, pc);
        if (k < 0) return false;
        /* the other inputs alike (a Concat doubles its one input: each side repeats its own) */
        for (uint32_t i = 0; i < pc->nin; i++) {
            if ((int)i == k) continue;
            bool ok = pc->op == IR_OP_CONCAT ? pc->in[i] == pc->in[k] && ps->in[i] == ps->in[k]
                                             : same_operand(g, pc->in[i], ps->in[i]);
            if (!ok) return false;
        }
        c = pc->in[k], s = ps->in[k];
    }
    return false;
}

/* --- the pass ---------------------------------------------------------------------------------------- */

static uint32_t rope_at(Rope *r, uint32_t id)
{
    IrGraph *g = r->g;
    Match m = {0};
    if (!match_add(g, ir_node(g, id), &m) || !shapes_ok(g, &m)) return 0;
    widen_partial(g, &m);
    Mode mode = m.inter ? INTER : SPLIT;
    if (!trig_pair(g, m.cos, m.sin) || table(r, m.cos, mode, false, id) == IR_NONE ||
        table(r, m.sin, mode, false, id) == IR_NONE)
        return 0;
    uint32_t in[3] = {m.x, table(r, m.cos, mode, true, id), table(r, m.sin, mode, true, id)};
    IrNode *dead[MAX_DEAD];
    for (uint32_t i = 0; i < m.n; i++) dead[i] = ir_node(g, m.dead[i]);
    IrNode *n = fu_replace(g, ir_node(g, m.last), dead, m.n, IR_OP_ROTARY_EMBEDDING, 3, in);
    ir_attr_set_int(g, n, "interleaved", m.inter);
    if (m.rot) ir_attr_set_int(g, n, "rotary_embedding_dim", m.rot);
    return 1;
}

uint32_t fuse_rope(IrGraph *g)
{
    Rope r = {.g = g, .head_axis = IR_NONE};
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++)
        if (!g->nodes.v[i].dead && g->nodes.v[i].op == IR_OP_ADD) count += rope_at(&r, i);
    return count;
}
