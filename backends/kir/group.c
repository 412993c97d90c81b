/* backends/kir/group.c — choosing the fused groups of a graph, each one kernel: inputs read once, one output.
 *
 * Nodes are visited from the last to the first, so a group starts at its consumer-most node (the root, whose
 * output the kernel writes) and grows toward the producers: an elementwise producer joins when every use of
 * its output is inside the group (its value then never needs to reach memory), and so does, at most once per
 * group, a fused op whose result the elementwise ops consume (a Linear, a norm, softmax, RoPE or a depthwise
 * conv: it becomes the group's anchor and the elementwise ops its epilogue).  A norm or softmax also takes
 * the elementwise producers of its input as a prologue.  Attention stays alone.  The visiting order and the
 * naming (`m2c_<kind>_<n>`, numbered per kind in graph order) make the plan the same on every run. */
#include "kir.h"

#include <stdlib.h>
#include <string.h>

enum { C_NONE, C_ELT, C_ANCHOR };

typedef M2C_VEC(uint32_t) NodeVec;

typedef struct {
    IrGraph *g;
    uint8_t *cls;          /* per node: C_* */
    int8_t *akind;         /* per node: KirKind of an anchor */
    uint32_t *owner;       /* per node: group index + 1, 0 if none */
    bool *in_group;        /* per node: member of the group being grown */
} Planner;

const char *kir_kind_name(const KirGroup *k)
{
    switch (k->kind) {
    case KIR_ELTWISE: return "eltwise";
    case KIR_EPILOGUE: return "epilogue";
    case KIR_ROW:
        switch (k->row.op) {
        case KIR_ROW_LAYERNORM: return "layernorm";
        case KIR_ROW_RMSNORM: return "rmsnorm";
        case KIR_ROW_SOFTMAX: return "softmax";
        case KIR_ROW_LOGSOFTMAX: return "logsoftmax";
        }
        return "row";
    case KIR_ROPE: return "rope";
    case KIR_DWCONV1D: return "dwconv1d";
    case KIR_ATTENTION: return "attention";
    default: return "?";
    }
}

/* A group may only end in a value the rest of the graph can take as a tensor of our dtypes. */
static bool root_ok(IrGraph *g, const IrNode *n)
{
    IrDType t = ir_val(g, n->out[0])->dtype;
    return t == DT_F32 || t == DT_F16 || t == DT_BF16 || t == DT_BOOL;
}

static bool all_uses_inside(Planner *P, uint32_t v)
{
    IrGraph *g = P->g;
    for (uint32_t i = 0; i < g->outputs.n; i++)
        if (g->outputs.v[i] == v) return false;
    uint32_t n;
    const uint32_t *uses = ir_uses(g, v, &n);
    for (uint32_t i = 0; i < n; i++)
        if (!P->in_group[uses[i]]) return false;
    return n > 0;
}

static bool same_shape(IrGraph *g, uint32_t a, uint32_t b)
{
    const IrValue *x = ir_val(g, a), *y = ir_val(g, b);
    if (x->rank != y->rank) return false;
    for (int i = 0; i < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return false;
    return true;
}

/* Grows the group from its members to a fixpoint; returns the anchor (IR_NONE if none). */
static uint32_t grow(Planner *P, NodeVec *mem, uint32_t root, uint32_t anchor)
{
    IrGraph *g = P->g;
    uint32_t space = ir_node(g, root)->out[0];
    bool changed = true;
    while (changed) {
        changed = false;
        for (uint32_t mi = 0; mi < mem->n; mi++) {
            uint32_t m = mem->v[mi];
            const IrNode *mn = ir_node(g, m);
            /* which inputs may pull producers in: all of an elementwise op's, a norm's or softmax's data input */
            uint32_t nin = 0;
            if (P->cls[m] == C_ELT) nin = mn->nin;
            else if (m == anchor && P->akind[m] == KIR_ROW) nin = 1;
            for (uint32_t i = 0; i < nin; i++) {
                uint32_t v = mn->in[i];
                if (v == IR_NONE) continue;
                uint32_t p = ir_val(g, v)->producer;
                if (p == IR_NONE || P->owner[p] || P->in_group[p] || ir_node(g, p)->out[0] != v) continue;
                if (!all_uses_inside(P, v)) continue;
                if (P->cls[p] == C_ELT) {
                    /* fine */
                } else if (P->cls[p] == C_ANCHOR && anchor == IR_NONE && P->cls[m] == C_ELT &&
                           P->akind[p] != KIR_ATTENTION && same_shape(g, v, space)) {
                    anchor = p;
                } else {
                    continue;
                }
                P->in_group[p] = true;
                m2c_vec_push(g->arena, mem, p);
                changed = true;
            }
        }
    }
    return anchor;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* One group rooted at node r: grown, lowered, and if the anchor cannot be lowered, the elementwise part
 * alone.  Returns false if nothing could be made of it. */
static bool make_group(Planner *P, uint32_t r, KirGroup *out)
{
    IrGraph *g = P->g;
    for (int attempt = 0; attempt < 2; attempt++) {
        NodeVec mem = {0};
        m2c_vec_push(g->arena, &mem, r);
        P->in_group[r] = true;
        uint32_t anchor = P->cls[r] == C_ANCHOR ? r : IR_NONE;
        if (attempt == 0) anchor = grow(P, &mem, r, anchor);
        KirGroup k = {0};
        k.root = r;
        if (mem.n > 1) qsort(mem.v, mem.n, sizeof *mem.v, cmp_u32);
        k.nodes.v = mem.v, k.nodes.n = mem.n, k.nodes.cap = mem.cap;
        bool ok = kir_lower(g, &k, anchor);
        for (uint32_t i = 0; i < mem.n; i++) P->in_group[mem.v[i]] = false;
        if (ok) {
            *out = k;
            return true;
        }
        if (P->cls[r] == C_ANCHOR) return false;
    }
    return false;
}

static void name_groups(IrGraph *g, KirPlan *plan)
{
    const char *kinds[16];
    uint32_t counts[16], nk = 0;
    for (uint32_t i = 0; i < plan->groups.n; i++) {
        KirGroup *k = &plan->groups.v[i];
        const char *kn = kir_kind_name(k);
        uint32_t j = 0;
        while (j < nk && strcmp(kinds[j], kn) != 0) j++;
        if (j == nk && nk < 16) kinds[nk] = kn, counts[nk++] = 0;
        k->name = m2c_sprintf(g->arena, "m2c_%s_%u", kn, j < nk ? counts[j]++ : 0);
    }
}

void kir_plan(IrGraph *g, KirPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    plan->g = g;
    ir_fill_producers(g);
    ir_fill_uses(g);
    uint32_t nn = g->nodes.n;
    Planner P = {g, calloc(nn + 1, 1), calloc(nn + 1, 1), calloc(nn + 1, sizeof(uint32_t)), calloc(nn + 1, 1)};
    for (uint32_t n = 0; n < nn; n++) {
        const IrNode *node = ir_node(g, n);
        int ak = kir_anchor_kind(g, node);
        if (ak >= 0) P.cls[n] = C_ANCHOR, P.akind[n] = (int8_t)ak;
        else if (kir_elt_node_ok(g, node)) P.cls[n] = C_ELT;
    }
    M2C_VEC(KirGroup) rev = {0};
    for (uint32_t n = nn; n-- > 0;) {
        const IrNode *node = ir_node(g, n);
        if (P.owner[n] || P.cls[n] == C_NONE || !root_ok(g, node)) continue;
        /* a Linear without a bias and without an elementwise consumer leaves nothing to fuse */
        if (P.cls[n] == C_ANCHOR && node->op == IR_OP_LINEAR && ir_input(node, 2) == IR_NONE) continue;
        KirGroup k;
        if (!make_group(&P, n, &k)) continue;
        for (uint32_t i = 0; i < k.nodes.n; i++) P.owner[k.nodes.v[i]] = rev.n + 1;
        m2c_vec_push(g->arena, &rev, k);
    }
    for (uint32_t i = rev.n; i-- > 0;) m2c_vec_push(g->arena, &plan->groups, rev.v[i]);
    name_groups(g, plan);
    free(P.cls), free(P.akind), free(P.owner), free(P.in_group);
}
