/* passes/fold.c — constant folding.
 *
 * For each live node, in topological order:
 *  1. every present input has known contents (a konst tensor, or a symval whose dims are all constants):
 *     the reference evaluator (runtime/ref) computes the outputs, which replace the node as constants;
 *  2. otherwise an output whose contents shape inference knew symbolically (symval, e.g. [batch, seq, 4, 8])
 *     becomes a symbolic constant: a value with that symval and no producer, or a konst tensor when every
 *     dim is a number.
 * This is what turns the exporters' shape arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape) into a
 * Reshape by a constant shape.
 *
 * Folding never grows the weights: a result is kept only if it is small (FOLD_SMALL_BYTES) or no larger than
 * the constant inputs that die with it, so Transpose(W) of a weight read once folds, Expand of a scalar to
 * [1024, 1024] does not.  The replacement takes over the replaced value's name (graph outputs keep their
 * ONNX names, as in canon.c), and a weight folded through a layout op keeps its PyTorch name in state_name.
 */
#include "passes.h"
#include "ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Folding is for shape math and weight layout, not for running the model at compile time: a node needing
 * more multiply-adds than this (two large constant matrices multiplied, say) stays a node. */
#define FOLD_MAX_WORK 1e8

/* Use counts are kept up to date as nodes fold (ir_fill_uses would rebuild arena arrays after every rewrite,
 * and the next node's decision needs the counts as they are now). */
typedef struct {
    IrGraph *g;
    uint32_t *uses;     /* per value: input slots of live nodes reading it, plus graph output slots */
    uint32_t nuses;
} Fold;

static void set_uses(Fold *f, uint32_t v, uint32_t count)
{
    if (v >= f->nuses) {
        uint32_t n = f->nuses ? f->nuses : 64;
        while (n <= v) n *= 2;
        uint32_t *u = realloc(f->uses, n * sizeof *u);
        if (!u) m2c_die(__FILE__, __LINE__, "out of memory");
        memset(u + f->nuses, 0, (n - f->nuses) * sizeof *u);
        f->uses = u;
        f->nuses = n;
    }
    f->uses[v] = count;
}

static uint32_t uses(const Fold *f, uint32_t v)
{
    return v < f->nuses ? f->uses[v] : 0;
}

static void count_uses(Fold *f)
{
    IrGraph *g = f->g;
    set_uses(f, g->values.n ? g->values.n - 1 : 0, 0);
    memset(f->uses, 0, f->nuses * sizeof *f->uses);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++)
            if (node->in[i] != IR_NONE) f->uses[node->in[i]]++;
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) f->uses[g->outputs.v[i]]++;
}

/* Slots of node reading v. */
static uint32_t reads(const IrNode *node, uint32_t v)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < node->nin; i++) k += node->in[i] == v;
    return k;
}

/* The value's concrete dims, when they are all constants. */
static bool const_shape(IrGraph *g, const IrValue *val, int64_t *shape, uint64_t *numel)
{
    if (val->rank < 0 || val->dtype == DT_UNDEF) return false;
    *numel = 1;
    for (int i = 0; i < val->rank; i++) {
        if (!ir_dim_const_value(g, val->dims[i], &shape[i]) || shape[i] < 0) return false;
        *numel *= (uint64_t)shape[i];
    }
    return true;
}

/* Known symbolic contents that match the value's concrete shape, every dim valid. */
static bool symval_usable(IrGraph *g, const IrValue *val, int64_t *shape)
{
    uint64_t numel;
    if (!val->symval || val->konst || !const_shape(g, val, shape, &numel) || numel != val->symval_n) return false;
    for (uint32_t i = 0; i < val->symval_n; i++)
        if (val->symval[i] == IR_DIM_INVALID) return false;
    return true;
}

/* A symval whose dims are all numbers, as a tensor of the value's dtype and shape; NULL otherwise. */
static IrTensor *symval_tensor(IrGraph *g, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    int64_t shape[IR_MAX_RANK], c;
    if (!ir_dtype_supported(val->dtype) || val->dtype == DT_STRING || !symval_usable(g, val, shape)) return NULL;
    for (uint32_t i = 0; i < val->symval_n; i++)
        if (!ir_dim_const_value(g, val->symval[i], &c)) return NULL;
    IrTensor *t = ir_tensor_new(g, val->dtype, val->rank, shape);
    for (uint32_t i = 0; i < val->symval_n; i++) ir_tensor_set_i64(t, i, ir_dim_value(g, val->symval[i]));
    return t;
}

/* Known contents of a node input: its konst, or a fully constant symval. */
static const IrTensor *known(IrGraph *g, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    return val->konst ? val->konst : symval_tensor(g, v);
}

/* A new value that replaces `old` under its name; `old` is renamed out of the way. */
static uint32_t take_over(Fold *f, uint32_t old)
{
    IrGraph *g = f->g;
    const char *name = ir_val(g, old)->name;
    const char *renamed = ir_unique_name(g, m2c_sprintf(g->arena, "%s_folded", name));
    ir_val(g, old)->name = renamed;
    m2c_map_put(g->arena, &g->value_by_name, renamed, old);
    uint32_t nv = ir_value_new(g, name);   /* may move g->values: no IrValue pointer survives this */
    IrValue *vn = ir_val(g, nv), *vo = ir_val(g, old);
    vn->flags = V_CONST;
    vn->state_name = vo->state_name;
    ir_replace_uses(g, old, nv);           /* graph output slots move too, with V_OUTPUT */
    vo->flags &= ~(uint32_t)V_OUTPUT;
    set_uses(f, nv, uses(f, old));
    set_uses(f, old, 0);
    return nv;
}

static void kill(Fold *f, uint32_t n)
{
    IrNode *node = ir_node(f->g, n);
    for (uint32_t i = 0; i < node->nin; i++)
        if (node->in[i] != IR_NONE && uses(f, node->in[i]) > 0) f->uses[node->in[i]]--;
    ir_node_kill(f->g, n);
}

static bool any_output_used(const Fold *f, const IrNode *node)
{
    for (uint32_t i = 0; i < node->nout; i++)
        if (node->out[i] != IR_NONE && uses(f, node->out[i]) > 0) return true;
    return false;
}

/* A PyTorch state_dict key: dotted identifiers, "encoder.layer.0.fc.weight" (not "onnx::MatMul_12"). */
static bool state_dict_like(const char *s)
{
    int dots = 0;
    bool empty = true;
    for (; *s; s++) {
        if (*s == '.') {
            if (empty) return false;
            dots++;
            empty = true;
        } else if (isalnum((unsigned char)*s) || *s == '_') {
            empty = false;
        } else {
            return false;
        }
    }
    return dots > 0 && !empty;
}

/* Ops whose result is the same weight in another layout or type. */
static bool layout_op(IrOp op)
{
    switch (op) {
    case IR_OP_TRANSPOSE: case IR_OP_RESHAPE: case IR_OP_FLATTEN: case IR_OP_SQUEEZE: case IR_OP_UNSQUEEZE:
    case IR_OP_IDENTITY: case IR_OP_CAST: case IR_OP_CAST_LIKE:
        return true;
    default:
        return false;
    }
}

/* The folded result should match what inference recorded; a disagreement means one of them is wrong, and
 * leaving the node alone is the safe answer. */
static bool matches_value(IrGraph *g, uint32_t v, const IrTensor *t)
{
    const IrValue *val = ir_val(g, v);
    if (val->dtype != DT_UNDEF && val->dtype != t->dtype) return false;
    if (val->rank < 0) return true;
    if (val->rank != t->rank) return false;
    int64_t d;
    for (int i = 0; i < t->rank; i++)
        if (ir_dim_const_value(g, val->dims[i], &d) && d != t->shape[i]) return false;
    return true;
}

typedef enum {
    KONST_UNKNOWN,     /* some input is not known, or the evaluator declined: try rule 2 */
    KONST_FOLDED,
    KONST_DISAGREE,    /* evaluated, but not to the type inference recorded: leave the node alone */
} KonstResult;

/* Rule 1: all inputs known -> evaluate. */
static KonstResult fold_konst(Fold *f, uint32_t n)
{
    IrGraph *g = f->g;
    IrNode *node = ir_node(g, n);
    const IrTensor **in = calloc(node->nin ? node->nin : 1, sizeof *in);
    IrTensor **out = calloc(node->nout ? node->nout : 1, sizeof *out);
    if (!in || !out) m2c_die(__FILE__, __LINE__, "out of memory");
    bool ok = true;
    uint64_t dead_bytes = 0;
    for (uint32_t i = 0; ok && i < node->nin; i++) {
        uint32_t v = node->in[i];
        if (v == IR_NONE) continue;
        ok = (in[i] = known(g, v)) != NULL;
        /* a constant only this node reads dies with it; count it once, at the first slot reading it */
        const IrValue *val = ir_val(g, v);
        bool first = true;
        for (uint32_t k = 0; k < i; k++) first &= node->in[k] != v;
        if (ok && first && val->konst && reads(node, v) == uses(f, v) && !(val->flags & V_OUTPUT))
            dead_bytes += val->konst->nbytes;
    }
    RefStatus st = {0};
    /* A Constant node's value is already in the model: folding it adds nothing. */
    st.max_bytes = node->op == IR_OP_CONSTANT ? 0 : dead_bytes > FOLD_SMALL_BYTES ? dead_bytes : FOLD_SMALL_BYTES;
    st.max_work = FOLD_MAX_WORK;
    ok = ok && ref_eval(g, node, in, out, &st);
    KonstResult res = ok ? KONST_FOLDED : KONST_UNKNOWN;
    for (uint32_t i = 0; ok && i < node->nout; i++)
        if (node->out[i] != IR_NONE && !matches_value(g, node->out[i], out[i])) ok = false, res = KONST_DISAGREE;
    if (ok) {
        /* the PyTorch name of a weight that only changes layout here */
        const char *state = NULL;
        uint32_t w = ir_input(node, 0);
        if (layout_op(node->op) && w != IR_NONE && node->nout == 1 && out[0] && ir_val(g, w)->konst &&
            reads(node, w) == uses(f, w) && !(ir_val(g, w)->flags & V_OUTPUT)) {
            const IrValue *wv = ir_val(g, w);
            if (wv->state_name) state = wv->state_name;
            else if ((wv->flags & V_PARAM) && state_dict_like(wv->name)) state = wv->name;
        }
        for (uint32_t i = 0; i < node->nout; i++) {
            if (node->out[i] == IR_NONE) continue;
            uint32_t nv = take_over(f, node->out[i]);
            ir_value_set_const(g, nv, out[i]);
            if (state) ir_val(g, nv)->state_name = state;
            node = ir_node(g, n);
        }
        kill(f, n);
    }
    free(in);
    free(out);
    return res;
}

/* Rule 2: outputs with symbolic contents become symbolic constants. */
static bool fold_symval(Fold *f, uint32_t n)
{
    IrGraph *g = f->g;
    IrNode *node = ir_node(g, n);
    bool have = false;
    for (uint32_t i = 0; i < node->nout; i++) have |= node->out[i] != IR_NONE && ir_val(g, node->out[i])->symval;
    /* Run without inference first (a `fold` pass test), the contents may not be recorded yet. */
    if (!have) symval_eval(g, node);
    bool changed = false, all = true;
    for (uint32_t i = 0; i < node->nout; i++) {
        uint32_t o = node->out[i];
        if (o == IR_NONE || uses(f, o) == 0) continue;
        int64_t shape[IR_MAX_RANK];
        if (!symval_usable(g, ir_val(g, o), shape)) {
            all = false;
            continue;
        }
        IrTensor *t = symval_tensor(g, o);
        uint32_t nv = take_over(f, o);
        if (t) {
            ir_value_set_const(g, nv, t);
        } else {
            const IrValue *vo = ir_val(g, o);
            ir_value_set_shape(g, nv, vo->dtype, vo->rank, vo->dims);
            ir_value_set_symval(g, nv, vo->symval, vo->symval_n);
        }
        changed = true;
        node = ir_node(g, n);
    }
    if (changed && all) kill(f, n);
    return changed;
}

bool pass_fold(IrGraph *g)
{
    Fold f = {g, NULL, 0};
    count_uses(&f);
    bool changed = false;
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = ir_node(g, n);
        if (node->dead || node->op >= IR_OP_COUNT || !any_output_used(&f, node)) continue;
        KonstResult r = fold_konst(&f, n);
        if (r == KONST_FOLDED) changed = true;
        else if (r == KONST_UNKNOWN) changed |= fold_symval(&f, n);
    }
    free(f.uses);
    return changed;
}
