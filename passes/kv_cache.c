/* passes/kv_cache.c — a causal decoder made incremental: a KV cache per attention, positions offset.
 *
 * An exported decoder (GPT-2, LLaMA) computes the whole sequence at once.  Generation feeds a few tokens at a
 * time and keeps every layer's keys and values: the graph is rewritten so that it computes positions
 * seqlen_offset .. seqlen_offset + seq given the cached ones, as candle-transformers' models do:
 *
 *   - each causal self-attention gets KvCache(k, v) -> (k_all, v_all) before it (the generated struct keeps a
 *     candle_nn::kv_cache::KvCache per layer) and `keys_include_past`: its causal mask is aligned on the last
 *     key, so query i sits at position seqlen_offset + i;
 *   - the position computations, Range(0, seq, 1), count from seqlen_offset instead;
 *   - the padding mask inputs (attention_mask) cover all seqlen_offset + seq positions: the fusion pass left
 *     them as a function of the mask alone, and the shape constants on that path are rewritten.
 * seqlen_offset is a new dim symbol; the generated forward takes it as an argument.  With seqlen_offset = 0
 * and an empty cache the graph computes what the export does, which the parity suite checks.
 *
 * Everything is checked before anything changes: a model that is not a causal decoder of this shape (no
 * attention, a non-causal or cross attention, an input on the sequence axis that is not a padding mask) is
 * left alone, and `why` says what stopped it. */
#include "passes.h"

#include <string.h>

enum { MAX_ATTN = 1024, MAX_INPUTS = 8 };

static bool in_set(const uint8_t *set, uint32_t v)
{
    return set[v] != 0;
}

/* Values computed from graph input `in` (transitively), marked in `slice`; nodes too, in `nodes`.  The walk
 * stops at attentions: a mask reaching one does not make the attention's result part of the mask. */
static void forward_slice(IrGraph *g, uint32_t in, uint8_t *slice, uint8_t *nodes)
{
    slice[in] = 1;
    for (uint32_t i = 0; i < g->nodes.n; i++) {   /* topological order: one sweep */
        const IrNode *n = &g->nodes.v[i];
        if (n->dead) continue;
        bool reads = false;
        for (uint32_t k = 0; k < n->nin && !reads; k++) reads = n->in[k] != IR_NONE && in_set(slice, n->in[k]);
        if (!reads) continue;
        nodes[i] = 1;
        if (n->op == IR_OP_ATTENTION) continue;   /* where a mask ends: its output is the attention's */
        for (uint32_t k = 0; k < n->nout; k++)
            if (n->out[k] != IR_NONE) slice[n->out[k]] = 1;
    }
}

/* The ops a padding mask is made of: casts, reshapes, logic and arithmetic with constants */
static bool mask_op(IrOp op)
{
    switch (op) {
    case IR_OP_CAST: case IR_OP_RESHAPE: case IR_OP_UNSQUEEZE: case IR_OP_SQUEEZE: case IR_OP_FLATTEN:
    case IR_OP_EXPAND: case IR_OP_NOT: case IR_OP_AND: case IR_OP_OR: case IR_OP_WHERE: case IR_OP_SUB:
    case IR_OP_MUL: case IR_OP_ADD: case IR_OP_EQUAL: case IR_OP_GREATER: case IR_OP_LESS:
        return true;
    default:
        return false;
    }
}

/* A scalar i64 constant holding the dim d (symbolic) */
static uint32_t scalar_dim(IrGraph *g, const char *hint, IrDim d)
{
    uint32_t v = ir_value_new(g, ir_unique_name(g, hint));
    ir_val(g, v)->flags = V_CONST;
    ir_value_set_shape(g, v, DT_I64, 0, NULL);
    ir_value_set_symval(g, v, &d, 1);
    return v;
}

static bool const_int(IrGraph *g, uint32_t v, int64_t want)
{
    int64_t x;
    uint32_t k;
    return ir_value_ints(g, v, &x, 1, &k) && k == 1 && x == want;
}

typedef struct {
    IrGraph *g;
    PassKvInfo *info;
    IrDim seq;
    uint32_t attn[MAX_ATTN], nattn;
    uint8_t *mask_vals, *mask_nodes;   /* the padding-mask slices of the mask inputs */
} Kv;

static bool fail(Kv *kv, const char *why)
{
    kv->info->why_not = why;
    return false;
}

/* Every attention is a 4-D causal self-attention without a cache, over one sequence symbol */
static bool find_attention(Kv *kv)
{
    IrGraph *g = kv->g;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        const IrNode *n = &g->nodes.v[i];
        if (n->dead || n->op != IR_OP_ATTENTION) continue;
        if (kv->nattn == MAX_ATTN) return fail(kv, "too many attention nodes");
        if (!ir_attr_int(n, "is_causal", 0)) return fail(kv, "an attention is not causal (an encoder)");
        for (uint32_t k = 4; k < n->nin; k++)
            if (n->in[k] != IR_NONE) return fail(kv, "an attention already takes a cache or sequence lengths");
        for (uint32_t k = 1; k < n->nout; k++)
            if (n->out[k] != IR_NONE && ir_use_count(g, n->out[k]) > 0)
                return fail(kv, "an attention's present keys or scores are read");
        const IrValue *q = ir_val(g, n->in[0]), *k = ir_val(g, n->in[1]), *v = ir_val(g, n->in[2]);
        if (q->rank != 4 || k->rank != 4 || v->rank != 4) return fail(kv, "an attention is not 4-D (batch, heads, seq, dim)");
        if (q->dims[2] != k->dims[2] || k->dims[2] != v->dims[2])
            return fail(kv, "an attention's keys are not as long as its queries (cross-attention)");
        if (!ir_dim_is_sym(g, q->dims[2])) return fail(kv, "the sequence length is not a dynamic dim");
        if (kv->nattn && q->dims[2] != kv->seq) return fail(kv, "attentions over different sequence lengths");
        kv->seq = q->dims[2];
        kv->attn[kv->nattn++] = i;
    }
    return kv->nattn > 0 || fail(kv, "no fused attention");
}

/* The graph inputs: one token input (batch, seq); the others on the sequence axis must be padding masks
 * whose every use ends in an attention's mask */
static bool find_inputs(Kv *kv)
{
    IrGraph *g = kv->g;
    PassKvInfo *info = kv->info;
    info->tokens = IR_NONE;
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        uint32_t in = g->inputs.v[i];
        const IrValue *val = ir_val(g, in);
        bool on_seq = false;
        for (int k = 0; k < val->rank; k++) on_seq |= val->dims[k] == kv->seq;
        if (!on_seq) continue;
        if (val->rank != 2 || val->dims[1] != kv->seq || !(ir_dtype_is_int(val->dtype) || val->dtype == DT_BOOL))
            return fail(kv, "an input on the sequence axis is not (batch, seq) integers");
        uint8_t *vals = m2c_alloc(g->arena, g->values.n), *nodes = m2c_alloc(g->arena, g->nodes.n);
        forward_slice(g, in, vals, nodes);
        /* a mask: its slice reaches the rest of the graph only as attention masks */
        bool is_mask = true, reaches_attention = false;
        for (uint32_t n = 0; n < g->nodes.n && is_mask; n++) {
            const IrNode *node = &g->nodes.v[n];
            if (node->dead) continue;
            if (nodes[n]) {
                if (node->op == IR_OP_ATTENTION) {
                    for (uint32_t k = 0; k < node->nin; k++)
                        if (k != 3 && node->in[k] != IR_NONE && vals[node->in[k]]) is_mask = false;
                    reaches_attention = true;
                } else if (!mask_op(node->op)) {
                    is_mask = false;
                }
            }
        }
        for (uint32_t o = 0; o < g->outputs.n; o++) is_mask &= !vals[g->outputs.v[o]];
        if (is_mask && reaches_attention) {
            if (info->nmasks == PASS_KV_MAX_MASKS) return fail(kv, "too many mask inputs");
            info->masks[info->nmasks++] = in;
            for (uint32_t v = 0; v < g->values.n; v++) kv->mask_vals[v] |= vals[v];
            for (uint32_t n = 0; n < g->nodes.n; n++) kv->mask_nodes[n] |= nodes[n] && g->nodes.v[n].op != IR_OP_ATTENTION;
        } else if (info->tokens == IR_NONE && ir_dtype_is_int(val->dtype)) {
            info->tokens = in;   /* the token ids: they reach everything */
        } else {
            return fail(kv, "an input on the sequence axis is neither the tokens nor a padding mask");
        }
    }
    return info->tokens != IR_NONE || fail(kv, "no token input on the sequence axis");
}

/* Range(0, seq, 1) outside the masks: a position computation */
static bool is_positions(Kv *kv, const IrNode *n)
{
    IrGraph *g = kv->g;
    IrDim lim[1];
    uint32_t k;
    return n->op == IR_OP_RANGE && const_int(g, n->in[0], 0) && const_int(g, n->in[2], 1) &&
           ir_value_dims(g, n->in[1], lim, 1, &k) && k == 1 && lim[0] == kv->seq;
}

/* The shape constants the mask nodes read, with seq replaced by offset + seq (new constants) */
static void extend_mask_shapes(Kv *kv, IrDim total)
{
    IrGraph *g = kv->g;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        if (!kv->mask_nodes[i]) continue;
        IrNode *n = &g->nodes.v[i];
        for (uint32_t k = 0; k < n->nin; k++) {
            uint32_t v = n->in[k];
            if (v == IR_NONE || kv->mask_vals[v]) continue;
            const IrValue *val = ir_val(g, v);
            if (!val->symval || val->symval_n > IR_MAX_RANK) continue;
            IrDim d[IR_MAX_RANK];
            bool any = false;
            for (uint32_t j = 0; j < val->symval_n; j++) {
                d[j] = ir_dim_subst(g, val->symval[j], kv->seq, total);
                any |= d[j] != val->symval[j];
            }
            if (!any) continue;
            uint32_t nv = ir_value_new(g, ir_unique_name(g, m2c_sprintf(g->arena, "%s_with_past", val->name)));
            val = ir_val(g, v);
            ir_val(g, nv)->flags = V_CONST;
            ir_value_set_shape(g, nv, val->dtype, val->rank, val->dims);
            ir_value_set_symval(g, nv, d, val->symval_n);
            ir_node(g, i)->in[k] = nv;
            n = ir_node(g, i);
        }
    }
}

bool pass_kv_cache(IrGraph *g, PassKvInfo *info, bool apply)
{
    memset(info, 0, sizeof *info);
    ir_fill_uses(g);
    Kv kv = {.g = g, .info = info};
    kv.mask_vals = m2c_alloc(g->arena, g->values.n ? g->values.n : 1);
    kv.mask_nodes = m2c_alloc(g->arena, g->nodes.n ? g->nodes.n : 1);
    if (!find_attention(&kv) || !find_inputs(&kv)) return false;
    if (!apply) return true;
    /* all checks done: rewrite */
    IrDim past = ir_dim_fresh(g, "seqlen_offset");
    IrDim total = ir_dim_add(g, past, kv.seq);
    info->offset = ir_dim_expr(g, past)->name;
    uint32_t nodes_before = g->nodes.n;
    extend_mask_shapes(&kv, total);
    for (uint32_t i = 0; i < info->nmasks; i++) {
        IrValue *m = ir_val(g, info->masks[i]);
        IrDim dims[2] = {m->dims[0], total};
        ir_value_set_shape(g, info->masks[i], m->dtype, 2, dims);
    }
    for (uint32_t i = 0; i < nodes_before; i++) {
        IrNode *n = &g->nodes.v[i];
        if (n->dead || kv.mask_nodes[i] || !is_positions(&kv, n)) continue;
        uint32_t start = scalar_dim(g, "positions_start", past), limit = scalar_dim(g, "positions_end", total);
        n = ir_node(g, i);
        n->in[0] = start;
        n->in[1] = limit;
        info->positions++;
    }
    for (uint32_t a = 0; a < kv.nattn; a++) {
        IrNode *n = ir_node(g, kv.attn[a]);
        const char *base = ir_val(g, n->out[0])->name;
        uint32_t in[2] = {n->in[1], n->in[2]}, out[2];
        out[0] = ir_value_new(g, ir_unique_name(g, m2c_sprintf(g->arena, "%s_keys", base)));
        out[1] = ir_value_new(g, ir_unique_name(g, m2c_sprintf(g->arena, "%s_values", base)));
        uint32_t id = ir_node_new(g, IR_OP_KV_CACHE, 2, in, 2, out);
        IrNode *c = ir_node(g, id);
        n = ir_node(g, kv.attn[a]);
        c->scope = n->scope;
        c->loc = n->loc;
        c->loc.op = c->op_type;
        ir_attr_set_str(g, c, "offset", info->offset);
        n->in[1] = out[0];
        n->in[2] = out[1];
        ir_attr_set_int(g, n, "keys_include_past", 1);
        info->caches++;
    }
    info->applied = true;
    return true;
}
