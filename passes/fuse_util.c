/* passes/fuse_util.c — the matchers' vocabulary (see fuse.h) and pass_fuse, which runs the families. */
#include "fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

IrNode *fu_prod(IrGraph *g, uint32_t v, IrOp op)
{
    if (v == IR_NONE) return NULL;
    uint32_t p = ir_val(g, v)->producer;
    if (p == IR_NONE || g->nodes.v[p].dead) return NULL;
    IrNode *n = ir_node(g, p);
    return op == IR_OP_UNKNOWN || n->op == op ? n : NULL;
}

bool fu_single(IrGraph *g, uint32_t v)
{
    if (v == IR_NONE || (ir_val(g, v)->flags & V_OUTPUT)) return false;
    uint32_t n;
    ir_uses(g, v, &n);
    return n == 1;
}

IrNode *fu_user(IrGraph *g, uint32_t v, IrOp op)
{
    if (!fu_single(g, v)) return NULL;
    uint32_t n;
    const uint32_t *u = ir_uses(g, v, &n);
    IrNode *node = ir_node(g, u[0]);
    if (node->dead) return NULL;
    return op == IR_OP_UNKNOWN || node->op == op ? node : NULL;
}

bool fu_splat(IrGraph *g, uint32_t v, double *out)
{
    if (v == IR_NONE) return false;
    const IrValue *val = ir_val(g, v);
    if (!val->konst || val->konst->numel == 0 || val->konst->numel > 4096) return false;
    double x = ir_tensor_get_f64(val->konst, 0);
    for (uint64_t i = 1; i < val->konst->numel; i++)
        if (ir_tensor_get_f64(val->konst, i) != x) return false;
    *out = x;
    return true;
}

bool fu_near(double a, double b, double rel_tol)
{
    return fabs(a - b) <= rel_tol * fabs(b);
}

bool fu_splat_near(IrGraph *g, uint32_t v, double want, double rel_tol)
{
    double x;
    return fu_splat(g, v, &x) && fu_near(x, want, rel_tol);
}

uint32_t fu_other(const IrNode *n, uint32_t v)
{
    if (n->nin != 2) return IR_NONE;
    if (n->in[0] == v) return n->in[1];
    if (n->in[1] == v) return n->in[0];
    return IR_NONE;
}

bool fu_const(IrGraph *g, uint32_t v, int rank)
{
    if (v == IR_NONE) return false;
    const IrValue *val = ir_val(g, v);
    return val->konst && val->producer == IR_NONE && (rank < 0 || val->rank == rank);
}

IrNode *fu_replace(IrGraph *g, IrNode *last, IrNode **dead, uint32_t ndead, IrOp op, uint32_t nin, const uint32_t *in)
{
    uint32_t out = last->out[0];
    SrcLoc loc = last->loc;
    IrScopeId scope = last->scope;
    for (uint32_t i = 0; i < ndead; i++) ir_node_kill(g, ir_node_id(g, dead[i]));
    uint32_t id = ir_node_new(g, op, nin, in, 1, &out);   /* may move g->nodes: no node pointer survives */
    IrNode *n = ir_node(g, id);
    n->loc = loc;
    n->scope = scope;
    g->nuses_for = 0;
    ir_fill_uses(g);
    return n;
}

/* The families, in the order that lets each see the previous ones' results: Linear first (attention and FFN
 * patterns are written over Linear nodes), then activations and norms, then RoPE and attention. */
bool pass_fuse(IrGraph *g)
{
    ir_fill_uses(g);
    uint32_t n = 0;
    n += fuse_linear(g);
    n += fuse_activations(g);
    n += fuse_norms(g);
    n += fuse_rope(g);
    n += fuse_attention(g);
    n += fuse_ffn(g);
    return n > 0;
}
