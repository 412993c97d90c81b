/* passes/fuse_norm.c — normalizations written out as arithmetic, back to one op.
 *
 *   LayerNorm  d = x − ReduceMean(x); d / Sqrt(ReduceMean(d²) + eps) [· γ] [+ β]          -> LayerNormalization
 *              (d² as Pow(d, 2) or d·d; the division as Div or ·Reciprocal)
 *   RMSNorm    x · 1/Sqrt(ReduceMean(x²) + eps) [· γ], 1/Sqrt as Div(1, ·) (TorchScript) or Reciprocal
 *              (dynamo) or x / Sqrt(..); HF's Casts to f32 and back around it             -> RMSNormalization
 *   com.microsoft / ONNX Runtime SimplifiedLayerNormalization                              -> RMSNormalization
 * Reductions must be over the last axis with keepdims; eps must be a small positive constant. */
#include "fuse.h"

#include <string.h>

enum { MAX_DEAD = 16 };

typedef struct {
    IrNode *dead[MAX_DEAD];
    uint32_t n;
} Dead;

static void kill_later(Dead *d, IrNode *n)
{
    if (d->n < MAX_DEAD) d->dead[d->n++] = n;
}

/* ReduceMean over the last axis, keepdims */
static bool mean_last(IrGraph *g, const IrNode *r)
{
    if (!r || r->op != IR_OP_REDUCE_MEAN || !ir_attr_int(r, "keepdims", 1)) return false;
    int64_t axes[IR_MAX_RANK];
    uint32_t n;
    int rank = ir_val(g, r->in[0])->rank;
    if (ir_input(r, 1) == IR_NONE || !ir_value_ints(g, r->in[1], axes, IR_MAX_RANK, &n) || n != 1) return false;
    return axes[0] == -1 || axes[0] == rank - 1;
}

/* v² as Pow(v, 2) or v·v: returns v */
static uint32_t square_of(IrGraph *g, uint32_t sq, Dead *d)
{
    IrNode *n = fu_prod(g, sq, IR_OP_UNKNOWN);
    if (!n || !fu_single(g, sq)) return IR_NONE;
    if ((n->op == IR_OP_POW && fu_splat_near(g, n->in[1], 2.0, 1e-9)) || (n->op == IR_OP_MUL && n->in[0] == n->in[1])) {
        kill_later(d, n);
        return n->in[0];
    }
    return IR_NONE;
}

/* Sqrt(mean + eps): the Sqrt's output from the ReduceMean's, with eps */
static uint32_t sqrt_plus_eps(IrGraph *g, uint32_t mean, double *eps, Dead *d)
{
    IrNode *a = fu_user(g, mean, IR_OP_ADD);
    if (!a || !fu_splat(g, fu_other(a, mean), eps) || !(*eps > 0 && *eps < 1e-2)) return IR_NONE;
    IrNode *s = fu_user(g, a->out[0], IR_OP_SQRT);
    if (!s) return IR_NONE;
    kill_later(d, a);
    kill_later(d, s);
    return s->out[0];
}

/* num / sq, written as Div(num, sq), Mul(num, Reciprocal(sq)) or Mul(num, Div(1, sq)): the node giving
 * the quotient, whose other input is num */
static IrNode *divide_by(IrGraph *g, uint32_t sq, uint32_t *num, Dead *d)
{
    IrNode *u = fu_user(g, sq, IR_OP_UNKNOWN);
    if (!u) return NULL;
    if (u->op == IR_OP_DIV && u->in[1] == sq) {
        double one;
        if (fu_splat(g, u->in[0], &one) && one == 1.0) {   /* 1 / sqrt, then times num */
            IrNode *m = fu_user(g, u->out[0], IR_OP_MUL);
            if (!m) return NULL;
            kill_later(d, u);
            kill_later(d, m);
            *num = fu_other(m, u->out[0]);
            return m;
        }
        kill_later(d, u);
        *num = u->in[0];
        return u;
    }
    if (u->op == IR_OP_RECIPROCAL) {
        IrNode *m = fu_user(g, u->out[0], IR_OP_MUL);
        if (!m) return NULL;
        kill_later(d, u);
        kill_later(d, m);
        *num = fu_other(m, u->out[0]);
        return m;
    }
    return NULL;
}

/* · γ then + β, each optional, each a 1-D constant over the last dim */
static IrNode *affine_tail(IrGraph *g, IrNode *last, int64_t dim, uint32_t *gamma, uint32_t *beta, Dead *d)
{
    *gamma = *beta = IR_NONE;
    IrNode *m = fu_user(g, last->out[0], IR_OP_MUL);
    if (m) {
        uint32_t k = fu_other(m, last->out[0]);
        if (fu_const(g, k, 1) && ir_val(g, k)->konst->shape[0] == dim) {
            *gamma = k;
            kill_later(d, m);
            last = m;
        }
    }
    IrNode *a = fu_user(g, last->out[0], IR_OP_ADD);
    if (a) {
        uint32_t k = fu_other(a, last->out[0]);
        if (fu_const(g, k, 1) && ir_val(g, k)->konst->shape[0] == dim) {
            *beta = k;
            kill_later(d, a);
            last = a;
        }
    }
    return last;
}

static uint32_t ones(IrGraph *g, IrDType t, int64_t dim)
{
    IrTensor *x = ir_tensor_new(g, t, 1, &dim);
    for (int64_t i = 0; i < dim; i++) ir_tensor_set_f64(x, (uint64_t)i, 1.0);
    return ir_const_new(g, "norm_weight_ones", x);
}

static uint32_t layer_norm(IrGraph *g, IrNode *r1)
{
    if (!mean_last(g, r1)) return 0;
    uint32_t x = r1->in[0];
    const IrValue *xv = ir_val(g, x);
    int64_t dim;
    if (!ir_dtype_is_float(xv->dtype) || xv->rank < 1 || !ir_dim_const_value(g, xv->dims[xv->rank - 1], &dim)) return 0;
    Dead d = {{0}, 0};
    kill_later(&d, r1);
    IrNode *sub = fu_user(g, r1->out[0], IR_OP_SUB);
    if (!sub || sub->in[0] != x || sub->in[1] != r1->out[0]) return 0;
    kill_later(&d, sub);
    uint32_t dv = sub->out[0];
    /* d feeds exactly the square and the division */
    uint32_t nu;
    const uint32_t *uses = ir_uses(g, dv, &nu);
    if (nu != 2 || (ir_val(g, dv)->flags & V_OUTPUT)) return 0;
    IrNode *sq = NULL;
    for (uint32_t i = 0; i < nu && !sq; i++) {
        IrNode *u = ir_node(g, uses[i]);
        if ((u->op == IR_OP_POW && u->in[0] == dv) || (u->op == IR_OP_MUL && u->in[0] == dv && u->in[1] == dv)) sq = u;
    }
    if (!sq || square_of(g, sq->out[0], &d) != dv) return 0;
    IrNode *r2 = fu_user(g, sq->out[0], IR_OP_REDUCE_MEAN);
    if (!mean_last(g, r2)) return 0;
    kill_later(&d, r2);
    double eps;
    uint32_t s = sqrt_plus_eps(g, r2->out[0], &eps, &d);
    uint32_t num;
    IrNode *q = s != IR_NONE ? divide_by(g, s, &num, &d) : NULL;
    if (!q || num != dv) return 0;
    uint32_t gamma, beta;
    IrNode *last = affine_tail(g, q, dim, &gamma, &beta, &d);
    if (gamma == IR_NONE) gamma = ones(g, xv->dtype, dim);
    uint32_t in[3] = {x, gamma, beta};
    IrNode *n = fu_replace(g, last, d.dead, d.n, IR_OP_LAYER_NORM, beta != IR_NONE ? 3 : 2, in);
    ir_attr_set_int(g, n, "axis", -1);
    ir_attr_set_float(g, n, "epsilon", eps);
    return 1;
}

/* a Cast node's input when v is made by one (HF casts to f32 around the norm), else v */
static uint32_t uncast(IrGraph *g, uint32_t v, IrNode **cast)
{
    IrNode *c = fu_prod(g, v, IR_OP_CAST);
    *cast = c;
    return c ? c->in[0] : v;
}

static uint32_t rms_norm(IrGraph *g, IrNode *r)
{
    if (!mean_last(g, r)) return 0;
    Dead d = {{0}, 0};
    kill_later(&d, r);
    uint32_t x = square_of(g, r->in[0], &d);
    if (x == IR_NONE) return 0;
    const IrValue *xv = ir_val(g, x);
    int64_t dim;
    if (!ir_dtype_is_float(xv->dtype) || xv->rank < 1 || !ir_dim_const_value(g, xv->dims[xv->rank - 1], &dim)) return 0;
    double eps;
    uint32_t s = sqrt_plus_eps(g, r->out[0], &eps, &d);
    uint32_t num;
    IrNode *q = s != IR_NONE ? divide_by(g, s, &num, &d) : NULL;
    if (!q || num != x) return 0;
    /* the input in its own dtype: through the Cast to f32 HF puts first, and the Cast back after */
    IrNode *cast_in, *cast_out = NULL;
    uint32_t orig = uncast(g, x, &cast_in);
    IrNode *last = q;
    if (cast_in) {
        cast_out = fu_user(g, q->out[0], IR_OP_CAST);
        if (!cast_out || ir_attr_int(cast_out, "to", 0) != (int64_t)ir_val(g, orig)->dtype) {
            orig = x;   /* only one Cast: the norm reads the f32 value */
            cast_in = NULL;
        } else {
            kill_later(&d, cast_out);
            last = cast_out;
        }
    }
    uint32_t gamma, beta;
    last = affine_tail(g, last, dim, &gamma, &beta, &d);
    if (beta != IR_NONE) return 0;   /* RMSNorm has no bias; an Add after it is the model's own */
    if (gamma != IR_NONE && ir_val(g, gamma)->dtype != ir_val(g, orig)->dtype) return 0;
    if (gamma == IR_NONE) gamma = ones(g, ir_val(g, orig)->dtype, dim);
    uint32_t in[2] = {orig, gamma};
    IrNode *n = fu_replace(g, last, d.dead, d.n, IR_OP_RMS_NORM, 2, in);
    ir_attr_set_int(g, n, "axis", -1);
    ir_attr_set_float(g, n, "epsilon", eps);
    ir_attr_set_int(g, n, "stash_type", 1);
    return 1;
}

uint32_t fuse_norms(IrGraph *g)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (n->dead) continue;
        if (n->op == IR_OP_REDUCE_MEAN) {
            uint32_t k = layer_norm(g, n);
            count += k ? k : rms_norm(g, &g->nodes.v[i]);
        } else if (n->op == IR_OP_MS_SIMPLIFIED_LAYER_NORM && (n->nout < 2 || n->out[1] == IR_NONE ||
                                                               ir_use_count(g, n->out[1]) == 0)) {
            uint32_t in[2] = {n->in[0], n->in[1]};
            double eps = ir_attr_float(n, "epsilon", 1e-5);
            int64_t axis = ir_attr_int(n, "axis", -1);
            IrNode *r = fu_replace(g, n, &n, 1, IR_OP_RMS_NORM, 2, in);
            ir_attr_set_int(g, r, "axis", axis);
            ir_attr_set_float(g, r, "epsilon", eps);
            count++;
        }
    }
    return count;
}
