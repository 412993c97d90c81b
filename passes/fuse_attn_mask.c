/* passes/fuse_attn_mask.c — attention masks: proving that a mask contains the causal condition, so that the
 * fused Attention says `is_causal` and keeps only the rest (a padding mask from a graph input, typically).
 *
 * The exporters never say "causal": transformers builds the mask as `kv_idx <= q_idx` over two aranges and ANDs
 * the padding mask into it (both exporters, SDPA and eager), older GPT-2 slices a lower-triangle buffer, and
 * hand-written models use torch.tril / triu.  The proof looks at the values themselves — aranges starting at 0
 * with step 1 placed on the query and key axes, triangles of ones, constant triangles — never at names or
 * scopes.  The forms proven are listed in fuse_attn.h.  Queries and keys both start at position 0 (no past),
 * which is how ONNX Attention aligns is_causal without a past_key. */
#include "fuse_attn.h"

#include <float.h>
#include <math.h>
#include <string.h>

enum { MAX_PARTS = 8, MAX_DEPTH = 8, MAX_CHECK = 1 << 22 };

/* The conjuncts of a keep-mask: And splits a keep-mask, Or a masked one, Not flips the sense. */
typedef struct {
    uint32_t v[MAX_PARTS];
    bool keep[MAX_PARTS];
    uint32_t n;
} Parts;

static bool conjuncts(IrGraph *g, uint32_t v, bool keep, Parts *p, int depth)
{
    if (depth > MAX_DEPTH) return false;
    IrNode *n = fu_prod(g, v, IR_OP_UNKNOWN);
    if (n && n->op == IR_OP_NOT) return conjuncts(g, n->in[0], !keep, p, depth + 1);
    if (n && n->op == (keep ? IR_OP_AND : IR_OP_OR))
        return conjuncts(g, n->in[0], keep, p, depth + 1) && conjuncts(g, n->in[1], keep, p, depth + 1);
    if (p->n == MAX_PARTS) return false;
    p->v[p->n] = v;
    p->keep[p->n++] = keep;
    return true;
}

bool attn_fill_masks(double fill, IrDType t)
{
    if (isinf(fill)) return fill < 0;
    double lowest = t == DT_F16 ? -65504.0 : t == DT_BF16 ? -3.3895313892515355e38 : t == DT_F64 ? -DBL_MAX : -FLT_MAX;
    return fill <= 0.5 * lowest;
}

/* A constant (or ConstantOfShape) whose every element is `truth` (nonzero = true). */
static bool splat_truth(IrGraph *g, uint32_t v, bool truth)
{
    double x;
    if (fu_splat(g, v, &x)) return (x != 0) == truth;
    IrNode *n = fu_prod(g, v, IR_OP_CONSTANT_OF_SHAPE);
    if (!n) return false;
    const IrAttr *a = ir_attr(n, "value");
    if (!a) return !truth;   /* the default value is 0 */
    return a->kind == ATTR_TENSOR && a->u.t->numel == 1 && (ir_tensor_get_f64(a->u.t, 0) != 0) == truth;
}

/* x = 0, 1, …, len−1 laid along one axis: a Range(0, ·, 1) moved there by Unsqueeze/Reshape (all other dims 1),
 * maybe through Casts from integers.  *from_end: the axis counted from the last (0 = last). */
static bool arange_axis(IrGraph *g, uint32_t x, int *from_end, IrDim *len)
{
    const IrValue *xv = ir_val(g, x);
    uint32_t v = x;
    IrNode *n;
    for (int hop = 0; (n = fu_prod(g, v, IR_OP_UNKNOWN)) && hop < MAX_DEPTH; hop++) {
        if (n->op == IR_OP_UNSQUEEZE || n->op == IR_OP_RESHAPE) v = n->in[0];
        else if (n->op == IR_OP_CAST && ir_dtype_is_int(ir_val(g, n->in[0])->dtype)) v = n->in[0];
        else break;
    }
    if (!n || n->op != IR_OP_RANGE || ir_val(g, v)->rank != 1) return false;
    double start, delta;
    if (!fu_splat(g, n->in[0], &start) || start != 0 || !fu_splat(g, n->in[2], &delta) || delta != 1) return false;
    *len = ir_val(g, v)->dims[0];
    IrDim one = ir_dim_const(g, 1);
    if (*len == one) return false;   /* a single position could sit on any axis */
    int axis = -1;
    for (int i = 0; i < xv->rank; i++) {
        if (xv->dims[i] == one) continue;
        if (xv->dims[i] != *len || axis >= 0) return false;
        axis = i;
    }
    if (axis < 0) return false;
    *from_end = xv->rank - 1 - axis;
    return true;
}

/* LessOrEqual(kpos, qpos) and its mirror/negations. */
static bool causal_compare(IrGraph *g, const IrNode *n, bool keep, IrDim s, IrDim t)
{
    uint32_t key, query;
    if (keep && n->op == IR_OP_LESS_OR_EQUAL) key = n->in[0], query = n->in[1];
    else if (keep && n->op == IR_OP_GREATER_OR_EQUAL) query = n->in[0], key = n->in[1];
    else if (!keep && n->op == IR_OP_GREATER) key = n->in[0], query = n->in[1];
    else if (!keep && n->op == IR_OP_LESS) query = n->in[0], key = n->in[1];
    else return false;
    int kax, qax;
    IrDim klen, qlen;
    return arange_axis(g, key, &kax, &klen) && kax == 0 && klen == t && arange_axis(g, query, &qax, &qlen) &&
           qax == 1 && qlen == s;
}

/* Element [i, j] of the trailing (rows, cols) matrix of a constant whose leading dims are all 1 is nonzero
 * exactly on the lower triangle j ≤ i (keep) or on the strict upper triangle j > i (masked). */
static bool const_triangle(const IrTensor *c, bool keep)
{
    if (c->rank < 2 || c->numel > MAX_CHECK) return false;
    for (int i = 0; i < c->rank - 2; i++)
        if (c->shape[i] != 1) return false;
    int64_t rows = c->shape[c->rank - 2], cols = c->shape[c->rank - 1];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            if ((ir_tensor_get_f64(c, (uint64_t)(i * cols + j)) != 0) != (keep ? j <= i : j > i)) return false;
    return true;
}

/* Trilu(ones): lower with k = 0 keeps the causal keys, upper with k = 1 marks the future ones. */
static bool causal_trilu(IrGraph *g, const IrNode *n, bool keep)
{
    double k = 0;
    uint32_t kv = ir_input(n, 1);
    if (kv != IR_NONE && !fu_splat(g, kv, &k)) return false;
    bool upper = ir_attr_int(n, "upper", 1) != 0;
    return upper == !keep && k == (keep ? 0 : 1) && splat_truth(g, n->in[0], true);
}

/* Slice(buffer, starts, ends[, axes[, steps]]) that starts the last two axes at 0 with step 1, of a constant
 * square triangle: the top-left corner of a triangle is the same triangle. */
static bool causal_slice(IrGraph *g, const IrNode *n, bool keep)
{
    const IrValue *b = ir_val(g, n->in[0]);
    if (!b->konst || b->rank < 2 || b->konst->shape[b->rank - 1] != b->konst->shape[b->rank - 2]) return false;
    if (!const_triangle(b->konst, keep)) return false;
    IrDim starts[IR_MAX_RANK], axes_d[IR_MAX_RANK], steps[IR_MAX_RANK];
    uint32_t ns, na = 0, nst = 0;
    if (!ir_value_dims(g, n->in[1], starts, IR_MAX_RANK, &ns)) return false;
    uint32_t axes = ir_input(n, 3), step = ir_input(n, 4);
    if (axes != IR_NONE && (!ir_value_dims(g, axes, axes_d, IR_MAX_RANK, &na) || na != ns)) return false;
    if (step != IR_NONE && (!ir_value_dims(g, step, steps, IR_MAX_RANK, &nst) || nst != ns)) return false;
    for (uint32_t i = 0; i < ns; i++) {
        int64_t ax = (int64_t)i, st = 0, sp = 1;
        if (axes != IR_NONE && !ir_dim_const_value(g, axes_d[i], &ax)) return false;
        if (ax < 0) ax += b->rank;
        if (step != IR_NONE && (!ir_dim_const_value(g, steps[i], &sp) || sp != 1)) return false;
        if (ax >= b->rank - 2 && (!ir_dim_const_value(g, starts[i], &st) || st != 0)) return false;
    }
    return true;
}

/* v (bool, or numbers read as nonzero = true) is the causal condition in the given sense, over (s, t). */
static bool causal_part(IrGraph *g, uint32_t v, bool keep, IrDim s, IrDim t, int depth)
{
    const IrValue *val = ir_val(g, v);
    if (depth > MAX_DEPTH || val->rank < 2 || val->dims[val->rank - 2] != s || val->dims[val->rank - 1] != t) return false;
    if (val->konst) return const_triangle(val->konst, keep);
    IrNode *n = fu_prod(g, v, IR_OP_UNKNOWN);
    if (!n) return false;
    switch (n->op) {
    case IR_OP_LESS_OR_EQUAL: case IR_OP_GREATER_OR_EQUAL: case IR_OP_LESS: case IR_OP_GREATER:
        return causal_compare(g, n, keep, s, t);
    case IR_OP_TRILU:
        return causal_trilu(g, n, keep);
    case IR_OP_SLICE:
        return causal_slice(g, n, keep);
    case IR_OP_CAST:   /* numbers to bool keep their truth */
        return ir_attr_int(n, "to", 0) == DT_BOOL && causal_part(g, n->in[0], keep, s, t, depth + 1);
    case IR_OP_NOT:
        return causal_part(g, n->in[0], !keep, s, t, depth + 1);
    case IR_OP_EQUAL: {   /* x == 0 is the opposite of x */
        uint32_t x = splat_truth(g, n->in[1], false) ? n->in[0] : splat_truth(g, n->in[0], false) ? n->in[1] : IR_NONE;
        return x != IR_NONE && causal_part(g, x, !keep, s, t, depth + 1);
    }
    default:
        return false;
    }
}

bool attn_broadcast(IrGraph *g, const IrValue *a, const IrValue *b, int *rank, IrDim *dims)
{
    IrDim one = ir_dim_const(g, 1);
    *rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < *rank; i++) {
        int ia = a->rank - *rank + i, ib = b->rank - *rank + i;
        IrDim da = ia >= 0 ? a->dims[ia] : one, db = ib >= 0 ? b->dims[ib] : one;
        if (da != db && da != one && db != one) return false;
        dims[i] = da == one ? db : da;
    }
    return true;
}

uint32_t attn_node(IrGraph *g, const AttnSite *at, IrOp op, uint32_t nin, const uint32_t *in, const char *ints_name,
                   const int64_t *ints, uint32_t nints, const char *hint, IrDType t, int rank, const IrDim *dims)
{
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        const IrNode *n = &g->nodes.v[i];
        if (n->dead || n->op != op || n->nin != nin || n->nout != 1 || memcmp(n->in, in, nin * sizeof *in) != 0) continue;
        uint32_t have = 0;
        const int64_t *is = ints_name ? ir_attr_ints(n, ints_name, &have) : NULL;
        if (ints_name && (!is || have != nints || memcmp(is, ints, nints * sizeof *ints) != 0)) continue;
        return n->out[0];
    }
    uint32_t out = ir_value_new(g, ir_unique_name(g, hint));
    ir_value_set_shape(g, out, t, rank, dims);
    IrNode *n = ir_node(g, ir_node_new(g, op, nin, in, 1, &out));
    n->scope = at->scope;
    n->loc = at->loc;
    n->loc.op = n->op_type;
    if (ints_name) ir_attr_set_ints(g, n, ints_name, ints, nints);
    return out;
}

/* a AND b as a new (or existing) And node */
static uint32_t and_of(IrGraph *g, const AttnSite *at, uint32_t a, uint32_t b)
{
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!attn_broadcast(g, ir_val(g, a), ir_val(g, b), &rank, dims)) return IR_NONE;
    uint32_t in[2] = {a, b};
    return attn_node(g, at, IR_OP_AND, 2, in, NULL, NULL, 0, "attn_keep", DT_BOOL, rank, dims);
}

uint32_t attn_causal_split(IrGraph *g, uint32_t cond, bool keep, IrDim s, IrDim t, const AttnSite *at, bool *causal)
{
    *causal = false;
    Parts p = {{0}, {0}, 0};
    if (ir_val(g, cond)->dtype != DT_BOOL || !conjuncts(g, cond, keep, &p, 0)) return IR_NONE;
    bool is_causal[MAX_PARTS] = {0}, any = false;
    for (uint32_t i = 0; i < p.n; i++) any |= is_causal[i] = causal_part(g, p.v[i], p.keep[i], s, t, 0);
    if (!any) return IR_NONE;
    /* the rest as a keep-mask: trivially true parts dropped, masked-sense parts negated, the others ANDed */
    uint32_t rest = IR_NONE;
    for (uint32_t i = 0; i < p.n; i++) {
        if (is_causal[i] || splat_truth(g, p.v[i], p.keep[i])) continue;
        uint32_t part = p.v[i];
        if (!p.keep[i]) {
            const IrValue *pv = ir_val(g, part);
            part = attn_node(g, at, IR_OP_NOT, 1, &part, NULL, NULL, 0, "attn_keep", DT_BOOL, pv->rank, pv->dims);
        }
        rest = rest == IR_NONE ? part : and_of(g, at, rest, part);
        if (rest == IR_NONE) return IR_NONE;
    }
    *causal = true;
    return rest;
}

uint32_t attn_causal_split_additive(IrGraph *g, uint32_t mask, IrDim s, IrDim t, const AttnSite *at, bool *causal)
{
    *causal = false;
    IrNode *w = fu_prod(g, mask, IR_OP_WHERE);
    IrDType dt = ir_val(g, mask)->dtype;
    double zero, fill;
    if (!w) return IR_NONE;
    if (fu_splat(g, w->in[1], &zero) && zero == 0 && fu_splat(g, w->in[2], &fill) && attn_fill_masks(fill, dt))
        return attn_causal_split(g, w->in[0], true, s, t, at, causal);
    if (fu_splat(g, w->in[2], &zero) && zero == 0 && fu_splat(g, w->in[1], &fill) && attn_fill_masks(fill, dt))
        return attn_causal_split(g, w->in[0], false, s, t, at, causal);
    return IR_NONE;
}
