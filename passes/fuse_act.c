/* passes/fuse_act.c — activations written out as arithmetic, back to one op each.
 *
 *   GELU (exact)  Erf(x / √2 | x · 1/√2) + 1, times x and 0.5 in any grouping          -> Gelu(x)
 *   GELU (tanh)   Tanh(0.79788456 · (x + 0.044715 · x³)) + 1, times x and 0.5; x³ as Pow(x, 3) or x·x·x
 *                                                                                      -> Gelu(x) {approximate=tanh}
 *   QuickGELU     x · Sigmoid(1.702 · x)                                               -> QuickGelu(x) {alpha}
 *   SiLU          x · Sigmoid(x), Swish {alpha=1}                                      -> Silu(x)
 *   Mish          x · Tanh(Softplus(x))                                                -> Mish(x)
 *   com.microsoft Gelu / FastGelu without bias                                         -> Gelu(x)
 * Constants match within a relative tolerance (exporters write them rounded to f32 or to 4–8 digits). */
#include "fuse.h"

#include <string.h>

enum { MAX_DEAD = 12 };

typedef struct {
    IrNode *dead[MAX_DEAD];
    uint32_t n;
} Dead;

static void kill_later(Dead *d, IrNode *n)
{
    if (d->n < MAX_DEAD) d->dead[d->n++] = n;
}

/* The tail every GELU form shares: t (= 1 + erf(..) or 1 + tanh(..)) multiplied by x and by 0.5, grouped as
 * (x·t)·0.5, x·(t·0.5), (x·0.5)·t.  Returns the last node, recording the dead ones. */
static IrNode *times_half_x(IrGraph *g, uint32_t t, uint32_t x, Dead *d)
{
    IrNode *m1 = fu_user(g, t, IR_OP_MUL);
    if (!m1) return NULL;
    uint32_t other = fu_other(m1, t);
    kill_later(d, m1);
    if (other == x) {   /* (x·t)·0.5 */
        IrNode *m2 = fu_user(g, m1->out[0], IR_OP_MUL);
        if (!m2 || !fu_splat_near(g, fu_other(m2, m1->out[0]), 0.5, 1e-6)) return NULL;
        kill_later(d, m2);
        return m2;
    }
    if (fu_splat_near(g, other, 0.5, 1e-6)) {   /* x·(t·0.5) */
        IrNode *m2 = fu_user(g, m1->out[0], IR_OP_MUL);
        if (!m2 || fu_other(m2, m1->out[0]) != x) return NULL;
        kill_later(d, m2);
        return m2;
    }
    IrNode *hx = fu_prod(g, other, IR_OP_MUL);   /* (x·0.5)·t */
    if (!hx || !fu_single(g, other) || fu_other(hx, x) == IR_NONE || !fu_splat_near(g, fu_other(hx, x), 0.5, 1e-6))
        return NULL;
    kill_later(d, hx);
    return m1;
}

/* 1 + v, either order; the Add's output */
static uint32_t plus_one(IrGraph *g, uint32_t v, Dead *d)
{
    IrNode *a = fu_user(g, v, IR_OP_ADD);
    if (!a || !fu_splat_near(g, fu_other(a, v), 1.0, 1e-6)) return IR_NONE;
    kill_later(d, a);
    return a->out[0];
}

static uint32_t gelu(IrGraph *g, IrNode *last, uint32_t x, const char *approx, Dead *d)
{
    if (!last) return 0;
    uint32_t in[1] = {x};
    IrNode *n = fu_replace(g, last, d->dead, d->n, IR_OP_GELU, 1, in);
    ir_attr_set_str(g, n, "approximate", approx);
    return 1;
}

static uint32_t gelu_erf(IrGraph *g, IrNode *erf)
{
    Dead d = {{0}, 0};
    kill_later(&d, erf);
    IrNode *scale = fu_prod(g, erf->in[0], IR_OP_UNKNOWN);
    if (!scale || !fu_single(g, erf->in[0])) return 0;
    uint32_t x;
    if (scale->op == IR_OP_DIV && fu_splat_near(g, scale->in[1], 1.4142135623730951, 1e-5))
        x = scale->in[0];
    else if (scale->op == IR_OP_MUL && fu_splat_near(g, scale->in[1], 0.7071067811865476, 1e-5))
        x = scale->in[0];
    else if (scale->op == IR_OP_MUL && fu_splat_near(g, scale->in[0], 0.7071067811865476, 1e-5))
        x = scale->in[1];
    else
        return 0;
    kill_later(&d, scale);
    uint32_t t = plus_one(g, erf->out[0], &d);
    if (t == IR_NONE) return 0;
    return gelu(g, times_half_x(g, t, x, &d), x, "none", &d);
}

/* x³ as Pow(x, 3), x·(x·x) or (x·x)·x: returns x */
static uint32_t cube_of(IrGraph *g, uint32_t v, Dead *d)
{
    IrNode *n = fu_prod(g, v, IR_OP_UNKNOWN);
    if (!n || !fu_single(g, v)) return IR_NONE;
    if (n->op == IR_OP_POW && fu_splat_near(g, n->in[1], 3.0, 1e-9)) {
        kill_later(d, n);
        return n->in[0];
    }
    if (n->op != IR_OP_MUL) return IR_NONE;
    for (int s = 0; s < 2; s++) {
        IrNode *sq = fu_prod(g, n->in[s], IR_OP_MUL);
        uint32_t x = n->in[1 - s];
        if (sq && fu_single(g, n->in[s]) && sq->in[0] == x && sq->in[1] == x) {
            kill_later(d, n);
            kill_later(d, sq);
            return x;
        }
    }
    return IR_NONE;
}

static uint32_t gelu_tanh(IrGraph *g, IrNode *th)
{
    Dead d = {{0}, 0};
    kill_later(&d, th);
    IrNode *m = fu_prod(g, th->in[0], IR_OP_MUL);
    if (!m || !fu_single(g, th->in[0])) return 0;
    uint32_t inner = fu_splat_near(g, m->in[1], 0.7978845608028654, 1e-5) ? m->in[0]
                     : fu_splat_near(g, m->in[0], 0.7978845608028654, 1e-5) ? m->in[1]
                                                                            : IR_NONE;
    IrNode *add = inner != IR_NONE && fu_single(g, inner) ? fu_prod(g, inner, IR_OP_ADD) : NULL;
    if (!add) return 0;
    kill_later(&d, m);
    kill_later(&d, add);
    for (int s = 0; s < 2; s++) {
        uint32_t x = add->in[s], term = add->in[1 - s];
        IrNode *k = fu_prod(g, term, IR_OP_MUL);
        if (!k || !fu_single(g, term)) continue;
        uint32_t cube = fu_splat_near(g, k->in[0], 0.044715, 1e-4) ? k->in[1]
                        : fu_splat_near(g, k->in[1], 0.044715, 1e-4) ? k->in[0]
                                                                     : IR_NONE;
        Dead d2 = d;
        kill_later(&d2, k);
        if (cube == IR_NONE || cube_of(g, cube, &d2) != x) continue;
        uint32_t t = plus_one(g, th->out[0], &d2);
        if (t == IR_NONE) return 0;
        return gelu(g, times_half_x(g, t, x, &d2), x, "tanh", &d2);
    }
    return 0;
}

/* x · Sigmoid(x) -> Silu(x); x · Sigmoid(α·x) -> QuickGelu(x) {alpha} */
static uint32_t sigmoid_gate(IrGraph *g, IrNode *sig)
{
    IrNode *m = fu_user(g, sig->out[0], IR_OP_MUL);
    if (!m) return 0;
    uint32_t x = fu_other(m, sig->out[0]), s_in = sig->in[0];
    IrNode *dead[3] = {sig, m, NULL};
    uint32_t in[1] = {x};
    if (s_in == x) {
        fu_replace(g, m, dead, 2, IR_OP_SILU, 1, in);
        return 1;
    }
    IrNode *scale = fu_prod(g, s_in, IR_OP_MUL);
    double alpha;
    if (!scale || !fu_single(g, s_in) || fu_other(scale, x) == IR_NONE || !fu_splat(g, fu_other(scale, x), &alpha))
        return 0;
    if (!fu_near(alpha, 1.702, 2e-3)) return 0;   /* CLIP's QuickGELU; other scales are a different function */
    dead[2] = scale;
    IrNode *n = fu_replace(g, m, dead, 3, IR_OP_QUICK_GELU, 1, in);
    ir_attr_set_float(g, n, "alpha", alpha);
    return 1;
}

/* x · Tanh(Softplus(x)) -> Mish(x) */
static uint32_t mish(IrGraph *g, IrNode *th)
{
    IrNode *sp = fu_prod(g, th->in[0], IR_OP_SOFTPLUS);
    IrNode *m = fu_user(g, th->out[0], IR_OP_MUL);
    if (!sp || !m || !fu_single(g, th->in[0]) || fu_other(m, th->out[0]) != sp->in[0]) return 0;
    IrNode *dead[3] = {sp, th, m};
    uint32_t in[1] = {sp->in[0]};
    fu_replace(g, m, dead, 3, IR_OP_MISH, 1, in);
    return 1;
}

/* Forms already one op, to the one the backends know: Swish(α=1), com.microsoft Gelu and FastGelu. */
static uint32_t canonical(IrGraph *g, IrNode *n)
{
    uint32_t in[1] = {n->in[0]};
    if (n->op == IR_OP_SWISH && ir_attr_float(n, "alpha", 1.0) == 1.0) {
        fu_replace(g, n, &n, 1, IR_OP_SILU, 1, in);
        return 1;
    }
    if (n->op == IR_OP_MS_GELU || (n->op == IR_OP_MS_FAST_GELU && ir_input(n, 1) == IR_NONE)) {
        const char *approx = n->op == IR_OP_MS_GELU ? "none" : "tanh";
        IrNode *r = fu_replace(g, n, &n, 1, IR_OP_GELU, 1, in);
        ir_attr_set_str(g, r, "approximate", approx);
        return 1;
    }
    return 0;
}

uint32_t fuse_activations(IrGraph *g)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (n->dead || n->nout < 1 || n->out[0] == IR_NONE || !ir_dtype_is_float(ir_val(g, n->out[0])->dtype)) continue;
        switch (n->op) {
        case IR_OP_ERF: count += gelu_erf(g, n); break;
        case IR_OP_TANH: {
            uint32_t k = gelu_tanh(g, n);
            count += k ? k : mish(g, &g->nodes.v[i]);
            break;
        }
        case IR_OP_SIGMOID: count += sigmoid_gate(g, n); break;
        case IR_OP_SWISH: case IR_OP_MS_GELU: case IR_OP_MS_FAST_GELU: count += canonical(g, n); break;
        default: break;
        }
    }
    return count;
}
