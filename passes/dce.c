/* passes/dce.c — dead code elimination: nodes none of whose outputs reach a graph output, and the
 * initializers nothing reads any more (folding leaves them behind). Graph inputs stay: they are the
 * model's interface even when unused. */
#include "passes.h"

bool pass_dce(IrGraph *g)
{
    uint32_t nv = g->values.n;
    bool *live = m2c_alloc(g->arena, nv ? nv : 1);
    for (uint32_t i = 0; i < g->outputs.n; i++) live[g->outputs.v[i]] = true;
    bool changed = false;
    /* Nodes are in topological order: one backward sweep finds every live value. */
    for (uint32_t n = g->nodes.n; n-- > 0;) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        bool needed = false;
        for (uint32_t i = 0; i < node->nout; i++) needed |= node->out[i] != IR_NONE && live[node->out[i]];
        if (!needed) {
            ir_node_kill(g, n);
            changed = true;
            continue;
        }
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE) live[node->in[i]] = true;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < g->params.n; i++) {
        uint32_t v = g->params.v[i];
        if (live[v]) {
            g->params.v[kept++] = v;
        } else {
            ir_val(g, v)->flags &= ~(uint32_t)V_PARAM;
            changed = true;
        }
    }
    g->params.n = kept;
    return changed;
}
