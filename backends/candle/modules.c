/* backends/candle/modules.c — the PyTorch module tree, recovered from the nodes' scopes, as Rust structs.
 *
 * Every scope that holds nodes is a module instance: its forward is the nodes of its scope plus calls to
 * its child modules, with the values that cross its boundary as parameters and results.  Leaf modules that
 * candle_nn has (Linear, Embedding, LayerNorm) become those types; activation-only scopes are inlined into
 * their parent; ModuleList scopes (`layer.0 … layer.N-1`) become a Vec field built in a loop.
 *
 * Instances of one module type must share one struct: each instance's code is generated with names relative
 * to the instance (weights by their path under the module, locals numbered locally), and instances whose code
 * is identical are one type.  Types are named after the PyTorch class (dynamo exports record it) or after the
 * module's place in the tree.  A child whose call cannot be separated from its parent (a value flows back
 * into it) is inlined rather than wrongly split. */
#include "modules.h"

#include <stdlib.h>
#include <string.h>

/* --- which scopes are modules -------------------------------------------------------------------------- */

static bool is_index(const char *seg)
{
    if (!*seg) return false;
    for (const char *s = seg; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static const char *last_segment(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* Elementwise-only scopes without weights (GELUActivation, Tanh, Dropout leftovers) read better inlined. */
static bool inline_scope(ModTree *t, IrScopeId s)
{
    IrGraph *g = t->g;
    bool any = false;
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        bool inside = false;
        for (IrScopeId x = t->node_scope[n]; x && !inside; x = g->scopes.v[x].parent) inside = x == s;
        if (!inside) continue;
        any = true;
        unsigned fl = node->op < IR_OP_COUNT ? ir_op_info[node->op].flags : 0;
        if (!(fl & (F_UNARY | F_BINARY)) && node->op != IR_OP_GELU && node->op != IR_OP_SOFTMAX) return false;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE && (ir_val(g, node->in[i])->flags & V_PARAM)) return false;
    }
    return any;
}

static Mod *new_mod(ModTree *t, IrScopeId s, Mod *parent)
{
    Mod *m = m2c_alloc(t->g->arena, sizeof *m);
    m->id = t->mods.n;
    m->scope = s;
    m->path = t->g->scopes.v[s].path;
    m->parent = parent;
    m->kind = MOD_STRUCT;
    m->index = -1;
    m->weight = m->bias = IR_NONE;
    m2c_vec_push(t->g->arena, &t->mods, m);
    return m;
}

/* The module a scope's nodes belong to: the scope's own when it is one, else its nearest module ancestor. */
static Mod *owner_of(ModTree *t, IrScopeId s)
{
    while (s && !t->mod_of_scope[s]) s = t->g->scopes.v[s].parent;
    return t->mod_of_scope[s];
}

static void build_tree(ModTree *t)
{
    IrGraph *g = t->g;
    uint32_t ns = g->scopes.n;
    t->mod_of_scope = m2c_alloc_array(g->arena, ns, sizeof *t->mod_of_scope);
    bool *has_nodes = m2c_alloc(g->arena, ns);
    for (uint32_t n = 0; n < g->nodes.n; n++)
        if (!g->nodes.v[n].dead)
            for (IrScopeId s = t->node_scope[n]; s; s = g->scopes.v[s].parent) has_nodes[s] = true;
    t->root = new_mod(t, 0, NULL);
    t->mod_of_scope[0] = t->root;
    /* scopes are created parent first, so one pass in id order sees every parent before its children */
    for (IrScopeId s = 1; s < ns; s++) {
        if (!has_nodes[s] || t->forced_inline[s] || inline_scope(t, s)) continue;
        const IrScope *sc = &g->scopes.v[s];
        bool list = true;   /* a ModuleList/Sequential container: only numbered children, no nodes of its own */
        for (uint32_t n = 0; n < g->nodes.n && list; n++)
            if (!g->nodes.v[n].dead && t->node_scope[n] == s) list = false;
        for (IrScopeId c = 1; c < ns && list; c++)
            if (g->scopes.v[c].parent == s && has_nodes[c] && !is_index(last_segment(g->scopes.v[c].path))) list = false;
        if (list && !is_index(last_segment(sc->path))) continue;   /* its children attach to its parent */
        Mod *parent = owner_of(t, sc->parent);
        Mod *m = new_mod(t, s, parent);
        t->mod_of_scope[s] = m;
        const char *seg = last_segment(sc->path);
        if (is_index(seg)) {
            /* layer.3: the field is the container's name ("layer"), or m3 directly under a Sequential */
            const IrScope *container = &g->scopes.v[sc->parent];
            bool via_list = sc->parent && owner_of(t, sc->parent) == parent && !t->mod_of_scope[sc->parent];
            m->field = via_list ? last_segment(container->path) : NULL;
            m->index = atoi(seg);
            m->vb_path = via_list ? m2c_sprintf(g->arena, "%s.%s", last_segment(container->path), seg) : seg;
        } else {
            m->field = seg;
            m->vb_path = seg;
        }
        m2c_vec_push(g->arena, &parent->children, m);
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        if (g->nodes.v[n].dead) continue;
        Mod *m = owner_of(t, t->node_scope[n]);
        m2c_vec_push(g->arena, &m->nodes, n);
    }
}

/* --- interfaces ---------------------------------------------------------------------------------------- */

bool mod_inside(const Mod *m, const Mod *x)
{
    for (; x; x = x->parent)
        if (x == m) return true;
    return false;
}

static bool is_value_const(const IrValue *v)
{
    return v->producer == IR_NONE && !(v->flags & V_INPUT);
}

/* Inputs: values a node inside m reads that come from outside m (not weights or constants).  Outputs: values
 * made inside m that something outside reads, or graph outputs.  Both in first-use / production order. */
static void compute_interface(ModTree *t, Mod *m)
{
    IrGraph *g = t->g;
    m->in.n = m->out.n = 0;
    if (m == t->root) return;
    bool *seen = m2c_alloc(g->arena, g->values.n);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead || !mod_inside(m, t->node_mod[n])) continue;
        for (uint32_t i = 0; i < node->nin; i++) {
            uint32_t v = node->in[i];
            if (v == IR_NONE || seen[v] || is_value_const(ir_val(g, v))) continue;
            uint32_t p = ir_val(g, v)->producer;
            if (p != IR_NONE && mod_inside(m, t->node_mod[p])) continue;
            seen[v] = true;
            m2c_vec_push(g->arena, &m->in, v);
        }
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead || !mod_inside(m, t->node_mod[n])) continue;
        for (uint32_t o = 0; o < node->nout; o++) {
            uint32_t v = node->out[o];
            if (v == IR_NONE) continue;
            bool escapes = (ir_val(g, v)->flags & V_OUTPUT) != 0;
            uint32_t nu;
            const uint32_t *uses = ir_uses(g, v, &nu);
            for (uint32_t k = 0; k < nu && !escapes; k++) escapes = !mod_inside(m, t->node_mod[uses[k]]);
            if (escapes) m2c_vec_push(g->arena, &m->out, v);
        }
    }
}

static void assign_nodes(ModTree *t)
{
    IrGraph *g = t->g;
    t->node_mod = m2c_alloc_array(g->arena, g->nodes.n ? g->nodes.n : 1, sizeof *t->node_mod);
    for (uint32_t i = 0; i < t->mods.n; i++)
        for (uint32_t k = 0; k < t->mods.v[i]->nodes.n; k++) t->node_mod[t->mods.v[i]->nodes.v[k]] = t->mods.v[i];
}

/* --- items: a module's own nodes and its children's calls, in dependency order ------------------------- */

/* m's body as a graph: one item per own node and per child call; item i reads what item j makes. */
typedef struct {
    ModItem *items;
    uint32_t n;
    uint32_t *item_of_value;            /* the item making each value, UINT32_MAX if none */
    M2C_VEC(uint32_t) *reads;           /* values each item reads */
} ItemGraph;

static void item_graph(ModTree *t, Mod *m, ItemGraph *ig)
{
    IrGraph *g = t->g;
    uint32_t nitems = m->nodes.n + m->children.n;
    ig->n = nitems;
    ig->items = m2c_alloc_array(g->arena, nitems ? nitems : 1, sizeof *ig->items);
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->nodes.n; i++) ig->items[k++] = (ModItem){m->nodes.v[i], NULL};
    for (uint32_t i = 0; i < m->children.n; i++) ig->items[k++] = (ModItem){UINT32_MAX, m->children.v[i]};
    ig->item_of_value = m2c_alloc_array(g->arena, g->values.n, sizeof *ig->item_of_value);
    memset(ig->item_of_value, 0xff, g->values.n * sizeof *ig->item_of_value);
    ig->reads = m2c_alloc_array(g->arena, nitems ? nitems : 1, sizeof *ig->reads);
    for (uint32_t i = 0; i < nitems; i++) {
        if (ig->items[i].child) {
            Mod *c = ig->items[i].child;
            for (uint32_t o = 0; o < c->out.n; o++) ig->item_of_value[c->out.v[o]] = i;
            for (uint32_t j = 0; j < c->in.n; j++) m2c_vec_push(g->arena, &ig->reads[i], c->in.v[j]);
        } else {
            const IrNode *node = ir_node(g, ig->items[i].node);
            for (uint32_t o = 0; o < node->nout; o++)
                if (node->out[o] != IR_NONE) ig->item_of_value[node->out[o]] = i;
            for (uint32_t j = 0; j < node->nin; j++)
                if (node->in[j] != IR_NONE) m2c_vec_push(g->arena, &ig->reads[i], node->in[j]);
        }
    }
}

/* Orders m's items so every value is made before it is read; false if a child's call cannot be placed
 * (something it needs depends on what it returns). */
static bool order_items(ModTree *t, Mod *m)
{
    IrGraph *g = t->g;
    ItemGraph ig;
    item_graph(t, m, &ig);
    uint32_t nitems = ig.n;
    uint32_t *pending = m2c_alloc_array(g->arena, nitems ? nitems : 1, sizeof *pending);
    bool *done = m2c_alloc(g->arena, nitems ? nitems : 1);
    for (uint32_t i = 0; i < nitems; i++) {
        for (uint32_t j = 0; j < ig.reads[i].n; j++) {
            uint32_t src = ig.item_of_value[ig.reads[i].v[j]];
            if (src == i) return false;   /* reads its own result */
            if (src != UINT32_MAX) pending[i]++;
        }
    }
    M2C_VEC(ModItem) order = {0};
    for (;;) {
        /* the ready item whose earliest node comes first in the graph keeps the export's order */
        uint32_t best = UINT32_MAX, best_key = UINT32_MAX;
        for (uint32_t i = 0; i < nitems; i++) {
            if (done[i] || pending[i]) continue;
            uint32_t key = ig.items[i].child ? ig.items[i].child->first_node : ig.items[i].node;
            if (key < best_key) best = i, best_key = key;
        }
        if (best == UINT32_MAX) break;
        done[best] = true;
        m2c_vec_push(g->arena, &order, ig.items[best]);
        for (uint32_t i = 0; i < nitems; i++)
            for (uint32_t j = 0; j < ig.reads[i].n; j++)
                if (!done[i] && ig.item_of_value[ig.reads[i].v[j]] == best) pending[i]--;
    }
    if (order.n != nitems) return false;
    m->items = order.v;
    m->nitems = order.n;
    return true;
}

/* reach[i] for every item reachable from `from` along reads (forward) or against them (backward). */
static void reach(const ItemGraph *ig, uint32_t from, bool forward, bool *seen)
{
    uint32_t *stack = malloc((size_t)(ig->n ? ig->n : 1) * sizeof *stack);
    uint32_t sp = 0;
    stack[sp++] = from;
    while (sp) {
        uint32_t x = stack[--sp];
        for (uint32_t i = 0; i < ig->n; i++) {
            if (seen[i]) continue;
            bool edge = false;
            if (forward) {   /* i reads something x makes */
                for (uint32_t j = 0; j < ig->reads[i].n && !edge; j++) edge = ig->item_of_value[ig->reads[i].v[j]] == x;
            } else {         /* x reads something i makes */
                for (uint32_t j = 0; j < ig->reads[x].n && !edge; j++) edge = ig->item_of_value[ig->reads[x].v[j]] == i;
            }
            if (edge) {
                seen[i] = true;
                stack[sp++] = i;
            }
        }
    }
    free(stack);
}

/* m's items have a cycle through a child C: the parent computes something from C's results and feeds it back
 * into C.  Exporters scope such code (a mask built from the embeddings) one level too high; it belongs inside
 * C, so its nodes move there.  A cycle through another child means the calls cannot be separated: C is
 * inlined instead. */
static void resolve_cycle(ModTree *t, Mod *m)
{
    IrGraph *g = t->g;
    ItemGraph ig;
    item_graph(t, m, &ig);
    bool *down = m2c_alloc(g->arena, ig.n ? ig.n : 1), *up = m2c_alloc(g->arena, ig.n ? ig.n : 1);
    for (uint32_t c = 0; c < ig.n; c++) {
        Mod *child = ig.items[c].child;
        if (!child) continue;
        memset(down, 0, ig.n), memset(up, 0, ig.n);
        reach(&ig, c, true, down);
        reach(&ig, c, false, up);
        bool cycle = false, through_child = false;
        for (uint32_t i = 0; i < ig.n; i++) {
            if (i == c || !(down[i] && up[i])) continue;
            cycle = true;
            through_child |= ig.items[i].child != NULL;
        }
        if (!cycle && !down[c]) continue;
        bool debug = getenv("ML2CANDLE_DEBUG_MODULES") != NULL;
        if (through_child || !cycle) {
            t->forced_inline[child->scope] = true;
            if (debug) fprintf(stderr, "modules: %s: inlining %s (its call cannot be separated)\n", m->path, child->path);
            return;
        }
        for (uint32_t i = 0; i < ig.n; i++) {
            if (i == c || !(down[i] && up[i])) continue;
            t->node_scope[ig.items[i].node] = child->scope;
            if (debug)
                fprintf(stderr, "modules: node '%s' moves from %s into %s\n", ir_node(g, ig.items[i].node)->loc.node,
                        m->path, child->path);
        }
        return;
    }
    /* no cycle through a child: a node reading its own result cannot happen in a sorted graph */
    for (uint32_t c = 0; c < m->children.n; c++) {
        if (t->forced_inline[m->children.v[c]->scope]) continue;
        t->forced_inline[m->children.v[c]->scope] = true;
        return;
    }
}

static void first_nodes(ModTree *t)
{
    for (uint32_t i = t->mods.n; i-- > 0;) {
        Mod *m = t->mods.v[i];
        m->first_node = UINT32_MAX;
        for (uint32_t k = 0; k < m->nodes.n; k++)
            if (m->nodes.v[k] < m->first_node) m->first_node = m->nodes.v[k];
    }
    /* children were created after their parents: a reverse pass folds each child's first node upward */
    for (uint32_t i = t->mods.n; i-- > 1;) {
        Mod *m = t->mods.v[i];
        if (m->parent && m->first_node < m->parent->first_node) m->parent->first_node = m->first_node;
    }
}

/* Code an exporter placed inside one module but shares with others: a node of C that reads only what comes
 * from outside C, and whose result C uses and also something outside C (GPT-2's additive mask, built inside the
 * first layer and reused by the next).  It moves up to C's parent, so every instance of C stays the same. */
static bool hoist_shared(ModTree *t)
{
    IrGraph *g = t->g;
    bool moved = false;
    for (uint32_t i = 1; i < t->mods.n; i++) {
        Mod *c = t->mods.v[i];
        for (uint32_t k = 0; k < c->nodes.n; k++) {
            uint32_t n = c->nodes.v[k];
            const IrNode *node = ir_node(g, n);
            bool outside_inputs = true;
            for (uint32_t j = 0; j < node->nin && outside_inputs; j++) {
                uint32_t v = node->in[j];
                if (v == IR_NONE) continue;
                uint32_t p = ir_val(g, v)->producer;
                outside_inputs = p == IR_NONE || !mod_inside(c, t->node_mod[p]);
            }
            if (!outside_inputs) continue;
            bool shared = false;
            for (uint32_t o = 0; o < node->nout && !shared; o++) {
                if (node->out[o] == IR_NONE) continue;
                uint32_t nu;
                const uint32_t *uses = ir_uses(g, node->out[o], &nu);
                bool in = false, out = false;
                for (uint32_t u = 0; u < nu; u++) {
                    if (mod_inside(c, t->node_mod[uses[u]])) in = true;
                    else out = true;
                }
                shared = in && out;
            }
            if (!shared) continue;
            t->node_scope[n] = c->parent->scope;
            moved = true;
            if (getenv("ML2CANDLE_DEBUG_MODULES"))
                fprintf(stderr, "modules: node '%s' is shared: moves from %s up to %s\n", node->loc.node, c->path,
                        c->parent->path);
        }
    }
    return moved;
}

bool mod_tree_build(ModTree *t, IrGraph *g)
{
    memset(t, 0, sizeof *t);
    t->g = g;
    t->forced_inline = m2c_alloc(g->arena, g->scopes.n);
    t->node_scope = m2c_alloc_array(g->arena, g->nodes.n ? g->nodes.n : 1, sizeof *t->node_scope);
    for (uint32_t n = 0; n < g->nodes.n; n++) t->node_scope[n] = g->nodes.v[n].scope;
    ir_fill_uses(g);
    for (int attempt = 0; attempt < 256; attempt++) {
        t->mods.n = 0;
        build_tree(t);
        assign_nodes(t);
        for (uint32_t i = 0; i < t->mods.n; i++) compute_interface(t, t->mods.v[i]);
        first_nodes(t);
        bool ok = true;
        for (uint32_t i = 0; i < t->mods.n && ok; i++) {
            Mod *m = t->mods.v[i];
            if (order_items(t, m)) continue;
            ok = false;
            resolve_cycle(t, m);
        }
        if (ok && hoist_shared(t)) ok = false;
        if (ok) {
            mod_classify_leaves(t);
            return true;
        }
    }
    return false;
}
