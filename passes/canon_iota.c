/* passes/canon_iota.c — gathers that only read a tensor in order, back to a Reshape.
 *
 * transformers builds its padding mask by indexing the (batch, kv) attention mask with index tensors made of
 * aranges — the dynamo export as GatherND over stacked (batch, kv) aranges, the TorchScript export as a Gather
 * from the flattened mask at batch·kv_len + kv.  Both read every element once, in order: the result is the
 * mask reshaped to (batch, 1, 1, kv).  As a Reshape it is plain to read in the generated code, costs no index
 * tensors, and — what the KV cache needs — it depends on the mask alone, so a longer mask gives a longer one.
 *
 * An iota is a tensor whose element at index i is i[axis] (0, 1, 2, … along one axis, repeated along the
 * others): Range(0, n, 1), moved by Unsqueeze/Reshape that insert 1-dims, broadcast by Expand, cast between
 * integer types. */
#include "passes.h"

#include <string.h>

enum { MAX_DEPTH = 12 };

static IrNode *producer(IrGraph *g, uint32_t v, IrOp op)
{
    uint32_t p = ir_val(g, v)->producer;
    if (p == IR_NONE) return NULL;
    IrNode *n = ir_node(g, p);
    return !n->dead && n->op == op ? n : NULL;
}

static bool is_one(IrGraph *g, IrDim d)
{
    int64_t c;
    return ir_dim_const_value(g, d, &c) && c == 1;
}

/* v is an iota along *axis of its own shape, of length *len (that axis's dim) */
static bool iota(IrGraph *g, uint32_t v, int *axis, int depth)
{
    if (depth > MAX_DEPTH) return false;
    const IrValue *val = ir_val(g, v);
    if (!ir_dtype_is_int(val->dtype) || val->rank < 1) return false;
    IrNode *n = producer(g, v, IR_OP_RANGE);
    if (n) {
        int64_t start, delta;
        uint32_t k;
        if (val->rank != 1 || !ir_value_ints(g, n->in[0], &start, 1, &k) || start != 0 ||
            !ir_value_ints(g, n->in[2], &delta, 1, &k) || delta != 1)
            return false;
        *axis = 0;
        return true;
    }
    uint32_t p = val->producer;
    if (p == IR_NONE) return false;
    n = ir_node(g, p);
    if (n->dead) return false;
    int a;
    switch (n->op) {
    case IR_OP_CAST:
        return ir_dtype_is_int(ir_val(g, n->in[0])->dtype) && iota(g, n->in[0], axis, depth + 1);
    case IR_OP_UNSQUEEZE: case IR_OP_RESHAPE: {
        const IrValue *in = ir_val(g, n->in[0]);
        if (!iota(g, n->in[0], &a, depth + 1)) return false;
        /* only 1-dims inserted or removed: the one dim that is not 1 is the iota's, on both sides */
        for (int i = 0; i < in->rank; i++)
            if (i != a && !is_one(g, in->dims[i])) return false;
        int out = -1;
        for (int i = 0; i < val->rank; i++)
            if (!is_one(g, val->dims[i])) {
                if (out >= 0) return false;
                out = i;
            }
        if (out < 0) out = 0;   /* all ones: a single 0, an iota along any axis */
        else if (val->dims[out] != in->dims[a]) return false;
        *axis = out;
        return true;
    }
    case IR_OP_EXPAND: {
        const IrValue *in = ir_val(g, n->in[0]);
        if (!iota(g, n->in[0], &a, depth + 1)) return false;
        int shift = val->rank - in->rank;
        if (shift < 0 || val->dims[a + shift] != in->dims[a]) return false;
        *axis = a + shift;
        return true;
    }
    default:
        return false;
    }
}

/* A new Reshape(x, dims) replacing the node at `old`, which keeps its output value */
static void to_reshape(IrGraph *g, uint32_t old, uint32_t x, int rank, const IrDim *dims)
{
    uint32_t out = ir_node(g, old)->out[0];
    uint32_t shape = pass_shape_const(g, m2c_sprintf(g->arena, "%s_shape", ir_val(g, out)->name), rank, dims);
    SrcLoc loc = ir_node(g, old)->loc;
    IrScopeId scope = ir_node(g, old)->scope;
    ir_node_kill(g, old);
    uint32_t in[2] = {x, shape};
    IrNode *n = ir_node(g, ir_node_new(g, IR_OP_RESHAPE, 2, in, 1, &out));
    n->loc = loc;
    n->scope = scope;
}

/* The output dims are R ++ rest; R's dims are 1 except at the iota axes, which are `want` in order */
static bool dims_in_order(IrGraph *g, const IrValue *r, int rrank, const int *axes, const IrDim *want, int k)
{
    for (int j = 0; j < k; j++) {
        if (axes[j] < 0 || axes[j] >= rrank || r->dims[axes[j]] != want[j]) return false;
        if (j > 0 && axes[j] <= axes[j - 1]) return false;
    }
    for (int i = 0; i < rrank; i++) {
        bool at = false;
        for (int j = 0; j < k; j++) at |= axes[j] == i;
        if (!at && !is_one(g, r->dims[i])) return false;
    }
    return true;
}

/* GatherND(data, Concat(Unsqueeze(iota_0, -1), …, axis=-1)) with iota_j along increasing axes, each as long
 * as data's dim j: data reshaped */
static bool gather_nd(IrGraph *g, uint32_t id)
{
    IrNode *n = ir_node(g, id);
    if (ir_attr_int(n, "batch_dims", 0) != 0) return false;
    const IrValue *data = ir_val(g, n->in[0]), *idx = ir_val(g, n->in[1]), *out = ir_val(g, n->out[0]);
    IrNode *cat = producer(g, n->in[1], IR_OP_CONCAT);
    if (!cat || idx->rank < 2 || data->rank < 1 || (int)cat->nin > data->rank || (int)cat->nin > IR_MAX_RANK) return false;
    int64_t ax = ir_attr_int(cat, "axis", 0);
    if (ax != -1 && ax != idx->rank - 1) return false;
    int k = (int)cat->nin, axes[IR_MAX_RANK];
    for (int j = 0; j < k; j++) {
        IrNode *u = producer(g, cat->in[j], IR_OP_UNSQUEEZE);
        const IrValue *part = ir_val(g, cat->in[j]);
        if (!u || part->rank != idx->rank || !is_one(g, part->dims[part->rank - 1])) return false;
        if (ir_val(g, u->in[0])->rank != idx->rank - 1 || !iota(g, u->in[0], &axes[j], 0)) return false;
    }
    if (!dims_in_order(g, idx, idx->rank - 1, axes, data->dims, k)) return false;
    IrDim dims[IR_MAX_RANK];
    int rank = out->rank;
    if (rank > IR_MAX_RANK) return false;
    memcpy(dims, out->dims, (size_t)rank * sizeof *dims);
    to_reshape(g, id, n->in[0], rank, dims);
    return true;
}

/* Gather(Flatten(m) or Reshape(m), iota_a · d1 + iota_b, axis 0), m of dims (d0, d1, rest…) flattened to
 * (d0·d1, rows…) with rows holding rest in order: m reshaped */
static bool gather_flat(IrGraph *g, uint32_t id)
{
    IrNode *n = ir_node(g, id);
    if (ir_attr_int(n, "axis", 0) != 0) return false;
    IrNode *flat = producer(g, n->in[0], IR_OP_FLATTEN);
    if (!flat) flat = producer(g, n->in[0], IR_OP_RESHAPE);
    if (!flat) return false;
    const IrValue *m = ir_val(g, flat->in[0]), *fv = ir_val(g, n->in[0]), *idx = ir_val(g, n->in[1]);
    if (m->rank < 2 || fv->rank < 1 || fv->dims[0] != ir_dim_mul(g, m->dims[0], m->dims[1])) return false;
    /* the rows hold what m has after its first two dims, in order (Flatten(axis=2) of a 2-D mask adds a 1) */
    IrDim row_m = ir_dim_const(g, 1), row_f = ir_dim_const(g, 1);
    for (int i = 2; i < m->rank; i++) row_m = ir_dim_mul(g, row_m, m->dims[i]);
    for (int i = 1; i < fv->rank; i++) row_f = ir_dim_mul(g, row_f, fv->dims[i]);
    if (row_m != row_f) return false;
    IrNode *add = producer(g, n->in[1], IR_OP_ADD);
    if (!add) return false;
    for (int side = 0; side < 2; side++) {
        IrNode *mul = producer(g, add->in[1 - side], IR_OP_MUL);
        int ab[2];
        if (!mul || !iota(g, add->in[side], &ab[1], 0)) continue;
        for (int ms = 0; ms < 2; ms++) {
            IrDim c[1];
            uint32_t k;
            const IrValue *row = ir_val(g, mul->in[ms]);
            if (!ir_value_dims(g, mul->in[1 - ms], c, 1, &k) || k != 1 || c[0] != m->dims[1]) continue;
            if (row->rank != idx->rank || !iota(g, mul->in[ms], &ab[0], 0)) continue;
            IrDim want[2] = {m->dims[0], m->dims[1]};
            if (!dims_in_order(g, idx, idx->rank, ab, want, 2)) continue;
            const IrValue *out = ir_val(g, n->out[0]);
            IrDim dims[IR_MAX_RANK];
            if (out->rank > IR_MAX_RANK) return false;
            memcpy(dims, out->dims, (size_t)out->rank * sizeof *dims);
            to_reshape(g, id, flat->in[0], out->rank, dims);
            return true;
        }
    }
    return false;
}

bool pass_canon_iota(IrGraph *g)
{
    bool changed = false;
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (n->dead || n->nout < 1 || n->out[0] == IR_NONE || ir_val(g, n->out[0])->rank < 0) continue;
        if (n->op == IR_OP_GATHER_ND) changed |= gather_nd(g, i);
        else if (n->op == IR_OP_GATHER) changed |= gather_flat(g, i);
    }
    return changed;
}
