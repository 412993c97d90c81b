/* ir/graph.c — graph construction, the op table's derived tables, use lists and topological order.
 *
 * Analyses are recomputed, not patched (QBE): passes mark nodes dead and rewire inputs, then call
 * ir_compact(), which drops dead nodes, sorts the rest topologically and rebuilds producers. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

const IrOpInfo ir_op_info[IR_OP_COUNT] = {
#define OP(id, onnx, dom, since, inmin, inmax, outmin, outmax, flags, rule) \
    [IR_OP_##id] = {#id, onnx, dom, since, inmin, inmax, outmin, outmax, flags},
#include "ops.def"
#undef OP
};

const char *ir_op_name(IrOp op)
{
    if (op >= IR_OP_COUNT) return "<unknown>";
    const IrOpInfo *info = &ir_op_info[op];
    return info->onnx ? info->onnx : info->name;
}

bool ir_domain_is_onnx(const char *domain)
{
    return !domain || !domain[0] || strcmp(domain, "ai.onnx") == 0;
}

IrOp ir_op_lookup(const char *domain, const char *op_type)
{
    bool onnx = ir_domain_is_onnx(domain);
    for (int op = 0; op < IR_OP_COUNT; op++) {
        const IrOpInfo *info = &ir_op_info[op];
        if (!info->onnx || strcmp(info->onnx, op_type) != 0) continue;
        if (onnx ? ir_domain_is_onnx(info->domain) : (info->domain && strcmp(info->domain, domain) == 0))
            return (IrOp)op;
    }
    /* ONNX Runtime registers SimplifiedLayerNormalization in the default domain too. */
    if (onnx && strcmp(op_type, "SimplifiedLayerNormalization") == 0) return IR_OP_MS_SIMPLIFIED_LAYER_NORM;
    /* Scatter (opsets 9-10) is ScatterElements without a reduction, renamed in opset 11. */
    if (onnx && strcmp(op_type, "Scatter") == 0) return IR_OP_SCATTER_ELEMENTS;
    /* Upsample (opsets 7-9) is Resize-10 with scales; frontend/upgrade.c gives it that signature. */
    if (onnx && strcmp(op_type, "Upsample") == 0) return IR_OP_RESIZE;
    return IR_OP_UNKNOWN;
}

IrGraph *ir_graph_new(const char *name)
{
    M2cArena *a = m2c_arena_new();
    IrGraph *g = m2c_alloc(a, sizeof *g);
    g->arena = a;
    g->name = m2c_strdup(a, name ? name : "model");
    g->file = "";
    ir_scope_get(g, "", NULL);
    return g;
}

typedef struct IrCleanup {
    struct IrCleanup *next;
    void (*fn)(void *arg);
    void *arg;
} IrCleanup;

void ir_graph_on_free(IrGraph *g, void (*fn)(void *arg), void *arg)
{
    IrCleanup *c = m2c_alloc(g->arena, sizeof *c);
    c->fn = fn;
    c->arg = arg;
    c->next = g->cleanups;
    g->cleanups = c;
}

void ir_graph_free(IrGraph *g)
{
    if (!g) return;
    for (IrCleanup *c = g->cleanups; c; c = c->next) c->fn(c->arg);
    m2c_arena_free(g->arena);
}

IrValue *ir_val(IrGraph *g, uint32_t v)
{
    M2C_ASSERT(v < g->values.n);
    return &g->values.v[v];
}

IrNode *ir_node(IrGraph *g, uint32_t n)
{
    M2C_ASSERT(n < g->nodes.n);
    return &g->nodes.v[n];
}

uint32_t ir_node_id(const IrGraph *g, const IrNode *n)
{
    M2C_ASSERT(n >= g->nodes.v && n < g->nodes.v + g->nodes.n);
    return (uint32_t)(n - g->nodes.v);
}

uint32_t ir_input(const IrNode *n, uint32_t i)
{
    return i < n->nin ? n->in[i] : IR_NONE;
}

const char *ir_unique_name(IrGraph *g, const char *hint)
{
    if (!hint || !hint[0]) hint = "t";
    if (!m2c_map_get(&g->value_by_name, hint, NULL)) return m2c_strdup(g->arena, hint);
    for (uint32_t k = 1;; k++) {
        const char *name = m2c_sprintf(g->arena, "%s_%u", hint, k);
        if (!m2c_map_get(&g->value_by_name, name, NULL)) return name;
    }
}

uint32_t ir_value_new(IrGraph *g, const char *name)
{
    IrValue v = {0};
    v.name = name ? m2c_strdup(g->arena, name) : ir_unique_name(g, "t");
    v.rank = -1;
    v.producer = IR_NONE;
    uint32_t id = g->values.n;
    m2c_vec_push(g->arena, &g->values, v);
    m2c_map_put(g->arena, &g->value_by_name, g->values.v[id].name, id);
    return id;
}

uint32_t ir_value_lookup(const IrGraph *g, const char *name)
{
    uint32_t id;
    return m2c_map_get(&g->value_by_name, name, &id) ? id : IR_NONE;
}

void ir_value_set_shape(IrGraph *g, uint32_t v, IrDType t, int rank, const IrDim *dims)
{
    IrValue *val = ir_val(g, v);
    val->dtype = t;
    val->rank = rank;
    val->dims = rank > 0 ? m2c_memdup(g->arena, dims, (size_t)rank * sizeof *dims) : NULL;
}

void ir_value_set_const(IrGraph *g, uint32_t v, const IrTensor *t)
{
    IrDim dims[IR_MAX_RANK];
    M2C_ASSERT(t->rank <= IR_MAX_RANK);
    for (int i = 0; i < t->rank; i++) dims[i] = ir_dim_const(g, t->shape[i]);
    ir_value_set_shape(g, v, t->dtype, t->rank, dims);
    ir_val(g, v)->konst = t;
}

void ir_value_set_symval(IrGraph *g, uint32_t v, const IrDim *vals, uint32_t n)
{
    IrValue *val = ir_val(g, v);
    val->symval = m2c_memdup(g->arena, vals, n * sizeof *vals);
    val->symval_n = n;
}

IrTensor *ir_tensor_new(IrGraph *g, IrDType t, int rank, const int64_t *shape)
{
    IrTensor *x = m2c_alloc(g->arena, sizeof *x);
    x->dtype = t;
    x->rank = rank;
    x->shape = rank > 0 ? m2c_memdup(g->arena, shape, (size_t)rank * sizeof *shape) : NULL;
    x->numel = 1;
    for (int i = 0; i < rank; i++) x->numel *= (uint64_t)shape[i];
    x->nbytes = x->numel * ir_dtype_size(t);
    x->data = m2c_alloc(g->arena, x->nbytes);
    return x;
}

uint32_t ir_const_new(IrGraph *g, const char *hint, const IrTensor *t)
{
    uint32_t v = ir_value_new(g, ir_unique_name(g, hint));
    ir_value_set_const(g, v, t);
    ir_val(g, v)->flags |= V_CONST;
    return v;
}

uint32_t ir_const_i64(IrGraph *g, const char *hint, const int64_t *vals, int n, bool scalar)
{
    int64_t shape[1] = {n};
    IrTensor *t = ir_tensor_new(g, DT_I64, scalar ? 0 : 1, shape);
    if (n) memcpy((void *)t->data, vals, (size_t)n * sizeof *vals);
    return ir_const_new(g, hint, t);
}

uint32_t ir_node_new(IrGraph *g, IrOp op, uint32_t nin, const uint32_t *in, uint32_t nout, const uint32_t *out)
{
    IrNode n = {0};
    n.op = op;
    n.op_type = op < IR_OP_COUNT ? ir_op_name(op) : "?";
    n.domain = op < IR_OP_COUNT && ir_op_info[op].domain ? ir_op_info[op].domain : "";
    n.opset = (int)ir_opset(g, n.domain);
    n.nin = nin;
    n.nout = nout;
    n.in = m2c_alloc_array(g->arena, nin ? nin : 1, sizeof *n.in);
    n.out = m2c_alloc_array(g->arena, nout ? nout : 1, sizeof *n.out);
    if (nin) memcpy(n.in, in, nin * sizeof *in);
    if (nout) memcpy(n.out, out, nout * sizeof *out);
    n.loc.index = -1;
    n.loc.op = n.op_type;
    uint32_t id = g->nodes.n;
    m2c_vec_push(g->arena, &g->nodes, n);
    for (uint32_t i = 0; i < nout; i++)
        if (out[i] != IR_NONE) ir_val(g, out[i])->producer = id;
    return id;
}

void ir_node_kill(IrGraph *g, uint32_t n)
{
    IrNode *node = ir_node(g, n);
    node->dead = true;
    for (uint32_t i = 0; i < node->nout; i++)
        if (node->out[i] != IR_NONE && ir_val(g, node->out[i])->producer == n) ir_val(g, node->out[i])->producer = IR_NONE;
}

void ir_replace_uses(IrGraph *g, uint32_t from, uint32_t to)
{
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] == from) node->in[i] = to;
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        if (g->outputs.v[i] != from) continue;
        /* A graph output keeps its name: the replacement takes it over when it is an internal value. */
        g->outputs.v[i] = to;
        ir_val(g, to)->flags |= V_OUTPUT;
    }
    g->nuses_for = 0;
}

bool ir_fill_uses(IrGraph *g)
{
    uint32_t nv = g->values.n;
    uint32_t *start = m2c_alloc_array(g->arena, (size_t)nv + 1, sizeof *start);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE) start[node->in[i] + 1]++;
    }
    for (uint32_t v = 0; v < nv; v++) start[v + 1] += start[v];
    uint32_t *fill = m2c_memdup(g->arena, start, ((size_t)nv + 1) * sizeof *start);
    uint32_t *use = m2c_alloc_array(g->arena, start[nv] ? start[nv] : 1, sizeof *use);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE) use[fill[node->in[i]]++] = n;
    }
    g->use_start = start;
    g->use_node = use;
    g->nuses_for = nv;
    return true;
}

const uint32_t *ir_uses(const IrGraph *g, uint32_t v, uint32_t *n)
{
    M2C_ASSERT(g->nuses_for == g->values.n && v < g->nuses_for);
    *n = g->use_start[v + 1] - g->use_start[v];
    return g->use_node + g->use_start[v];
}

uint32_t ir_use_count(const IrGraph *g, uint32_t v)
{
    uint32_t n;
    ir_uses(g, v, &n);
    for (uint32_t i = 0; i < g->outputs.n; i++) n += g->outputs.v[i] == v;
    return n;
}

void ir_fill_producers(IrGraph *g)
{
    for (uint32_t v = 0; v < g->values.n; v++) g->values.v[v].producer = IR_NONE;
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nout; i++)
            if (node->out[i] != IR_NONE) g->values.v[node->out[i]].producer = n;
    }
}

/* Kahn's algorithm, stable: among ready nodes the one first in the old order goes first, so a graph that
 * is already sorted keeps its order exactly. */
bool ir_compact(IrGraph *g)
{
    ir_fill_producers(g);
    uint32_t nn = g->nodes.n;
    uint32_t *pending = m2c_alloc_array(g->arena, nn ? nn : 1, sizeof *pending);
    uint32_t live = 0;
    for (uint32_t n = 0; n < nn; n++) {
        IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        live++;
        for (uint32_t i = 0; i < node->nin; i++) {
            uint32_t v = node->in[i];
            if (v != IR_NONE && g->values.v[v].producer != IR_NONE && g->values.v[v].producer != n) pending[n]++;
            if (v != IR_NONE && g->values.v[v].producer == n) pending[n] = UINT32_MAX / 2;   /* self-loop */
        }
    }
    ir_fill_uses(g);
    /* Min-heap of ready node ids. */
    uint32_t *heap = m2c_alloc_array(g->arena, nn ? nn : 1, sizeof *heap);
    uint32_t nheap = 0;
#define HEAP_PUSH(x)                                                                    \
    do {                                                                                \
        uint32_t i_ = nheap++;                                                          \
        heap[i_] = (x);                                                                 \
        while (i_ > 0 && heap[(i_ - 1) / 2] > heap[i_]) {                               \
            uint32_t p_ = (i_ - 1) / 2, t_ = heap[p_];                                  \
            heap[p_] = heap[i_];                                                        \
            heap[i_] = t_;                                                              \
            i_ = p_;                                                                    \
        }                                                                               \
    } while (0)
    for (uint32_t n = 0; n < nn; n++)
        if (!g->nodes.v[n].dead && pending[n] == 0) HEAP_PUSH(n);
    uint32_t *order = m2c_alloc_array(g->arena, nn ? nn : 1, sizeof *order);
    uint32_t norder = 0;
    while (nheap) {
        uint32_t n = heap[0];
        heap[0] = heap[--nheap];
        for (uint32_t i = 0;;) {
            uint32_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < nheap && heap[l] < heap[m]) m = l;
            if (r < nheap && heap[r] < heap[m]) m = r;
            if (m == i) break;
            uint32_t t = heap[m];
            heap[m] = heap[i];
            heap[i] = t;
            i = m;
        }
        order[norder++] = n;
        IrNode *node = &g->nodes.v[n];
        for (uint32_t o = 0; o < node->nout; o++) {
            if (node->out[o] == IR_NONE) continue;
            uint32_t nu;
            const uint32_t *us = ir_uses(g, node->out[o], &nu);
            for (uint32_t k = 0; k < nu; k++) {
                /* a node that reads the same value twice waits for it once per read */
                if (us[k] != n && --pending[us[k]] == 0) HEAP_PUSH(us[k]);
            }
        }
    }
#undef HEAP_PUSH
    if (norder != live) return false;
    IrNode *nodes = m2c_alloc_array(g->arena, norder ? norder : 1, sizeof *nodes);
    for (uint32_t i = 0; i < norder; i++) nodes[i] = g->nodes.v[order[i]];
    g->nodes.v = nodes;
    g->nodes.n = g->nodes.cap = norder;
    ir_fill_producers(g);
    g->nuses_for = 0;
    return true;
}

IrScopeId ir_scope_get(IrGraph *g, const char *path, const char *cls)
{
    uint32_t id;
    if (m2c_map_get(&g->scope_by_path, path, &id)) {
        if (cls && !g->scopes.v[id].cls) g->scopes.v[id].cls = m2c_strdup(g->arena, cls);
        return id;
    }
    IrScope s = {m2c_strdup(g->arena, path), cls ? m2c_strdup(g->arena, cls) : NULL, 0};
    if (path[0]) {
        const char *dot = strrchr(path, '.');
        s.parent = dot ? ir_scope_get(g, m2c_strndup(g->arena, path, (size_t)(dot - path)), NULL) : 0;
    }
    id = g->scopes.n;
    m2c_vec_push(g->arena, &g->scopes, s);
    m2c_map_put(g->arena, &g->scope_by_path, g->scopes.v[id].path, id);
    return id;
}

int64_t ir_opset(const IrGraph *g, const char *domain)
{
    bool onnx = ir_domain_is_onnx(domain);
    for (uint32_t i = 0; i < g->opsets.n; i++) {
        const char *d = g->opsets.v[i].domain;
        if (onnx ? ir_domain_is_onnx(d) : (d && strcmp(d, domain) == 0)) return g->opsets.v[i].version;
    }
    return -1;
}

/* Initializers some node still reads (or that are outputs): weights and folded constants alike. */
static bool init_in_use(const IrGraph *g, const bool *used, uint32_t v)
{
    const IrValue *val = &g->values.v[v];
    return (val->flags & V_INIT) && val->konst && (used[v] || (val->flags & V_OUTPUT));
}

static bool *used_values(const IrGraph *g)
{
    bool *used = m2c_alloc(g->arena, g->values.n ? g->values.n : 1);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE) used[node->in[i]] = true;
    }
    return used;
}

uint64_t ir_param_bytes(const IrGraph *g)
{
    bool *used = used_values(g);
    uint64_t total = 0;
    for (uint32_t v = 0; v < g->values.n; v++)
        if (init_in_use(g, used, v)) total += g->values.v[v].konst->nbytes;
    return total;
}

uint32_t ir_param_count(const IrGraph *g)
{
    bool *used = used_values(g);
    uint32_t n = 0;
    for (uint32_t v = 0; v < g->values.n; v++) n += init_in_use(g, used, v);
    return n;
}

void ir_symbol_bind(IrGraph *g, const char *name, uint32_t value, int axis)
{
    if (m2c_map_get(&g->symbol_by_name, name, NULL)) return;   /* the first binding of a symbol stays */
    IrSymbol s = {m2c_strdup(g->arena, name), value, axis};
    m2c_map_put(g->arena, &g->symbol_by_name, s.name, g->symbols.n);
    m2c_vec_push(g->arena, &g->symbols, s);
}
