/* ir/verify.c — the IR's invariants, checked between passes in debug builds (QBE's ssacheck).
 * A failure here is a compiler bug, reported with the pass that broke it. */
#include "ir.h"

#include <string.h>

static bool fail(IrGraph *g, const char *after, const IrNode *node, const char *fmt, const char *detail)
{
    SrcLoc loc = node ? node->loc : (SrcLoc){NULL, -1, NULL};
    m2c_error(node ? &loc : NULL, "internal error: IR invalid after %s: %s%s%s", after ? after : "import", fmt,
              detail ? " " : "", detail ? detail : "");
    (void)g;
    return false;
}

bool ir_verify(IrGraph *g, const char *after)
{
    uint32_t nv = g->values.n;
    /* 0 = not yet defined, 1 = defined */
    unsigned char *defined = m2c_alloc(g->arena, nv ? nv : 1);
    bool ok = true;
    for (uint32_t v = 0; v < nv; v++) {
        const IrValue *val = &g->values.v[v];
        if (val->flags & (V_INPUT | V_PARAM)) defined[v] = 1;
        if (val->producer == IR_NONE && (val->konst || val->symval)) defined[v] = 1;
        if (val->rank > IR_MAX_RANK) ok = fail(g, after, NULL, "rank too large for value", val->name);
        for (int i = 0; i < val->rank; i++) {
            if (val->dims[i] == IR_DIM_INVALID || val->dims[i] >= ir_dim_count(g)) {
                ok = fail(g, after, NULL, "invalid dim in value", val->name);
                break;
            }
        }
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        if (node->op < IR_OP_COUNT) {
            const IrOpInfo *info = &ir_op_info[node->op];
            if ((int)node->nin < info->in_min || (info->in_max >= 0 && (int)node->nin > info->in_max))
                ok = fail(g, after, node, "input count outside the op table's range", NULL);
            if ((int)node->nout < info->out_min || (info->out_max >= 0 && (int)node->nout > info->out_max))
                ok = fail(g, after, node, "output count outside the op table's range", NULL);
        }
        for (uint32_t i = 0; i < node->nin; i++) {
            uint32_t v = node->in[i];
            if (v == IR_NONE) continue;
            if (v >= nv) {
                ok = fail(g, after, node, "input id out of range", NULL);
            } else if (!defined[v]) {
                ok = fail(g, after, node, "input used before it is defined:", g->values.v[v].name);
            }
        }
        for (uint32_t i = 0; i < node->nout; i++) {
            uint32_t v = node->out[i];
            if (v == IR_NONE) continue;
            if (v >= nv) {
                ok = fail(g, after, node, "output id out of range", NULL);
                continue;
            }
            if (defined[v]) ok = fail(g, after, node, "value defined twice:", g->values.v[v].name);
            if (g->values.v[v].producer != n) ok = fail(g, after, node, "stale producer of", g->values.v[v].name);
            defined[v] = 1;
        }
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        uint32_t v = g->outputs.v[i];
        if (v >= nv || !defined[v]) ok = fail(g, after, NULL, "graph output never defined:", v < nv ? g->values.v[v].name : "?");
    }
    return ok;
}
