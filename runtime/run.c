/* runtime/run.c — a whole model on concrete inputs: the nodes in graph order, each by the reference evaluator,
 * except that with a device every fused group of the plan runs as its kernel where its root is (its other
 * nodes' values are never made: nothing outside the group reads them).  A GEMM epilogue's x·W comes from the
 * reference evaluator, as it comes from candle's matmul in the crate.
 *
 * Symbol values come from the tensors themselves: every value whose inferred dim is a plain symbol binds it
 * from its actual shape when it is made, so derived dims (seq*2, max(batch, 1)) evaluate as the kernels need.
 * Tensors live until the end of the run: the reference evaluator's outputs (in the graph's arena) may share
 * their input's data (a Reshape is a view), so no tensor can go at its last use. */
#include "runtime.h"
#include "ref.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    IrGraph *g;
    IrTensor **vals;           /* per value */
    bool *owned;               /* per value: malloc'd here */
    const char *names[256];
    int64_t sizes[256];
    KirBind bind;
} Run;

static bool bind_value(Run *r, uint32_t v, const IrTensor *t)
{
    const IrValue *val = ir_val(r->g, v);
    if (val->rank >= 0 && val->rank != t->rank) {
        rt_set_error("%%%s: rank %d where the model says %d", val->name, t->rank, val->rank);
        return false;
    }
    for (int i = 0; i < val->rank; i++) {
        const IrDimExpr *e = ir_dim_expr(r->g, val->dims[i]);
        int64_t c;
        if (kir_dim_eval(r->g, val->dims[i], &r->bind, &c)) {
            if (c != t->shape[i]) {
                rt_set_error("%%%s: dim %d is %lld where the model says %s = %lld", val->name, i,
                             (long long)t->shape[i], ir_dim_str(r->g, val->dims[i]), (long long)c);
                return false;
            }
        } else if (e->kind == DIM_SYM && r->bind.n < 256) {
            r->names[r->bind.n] = e->name;
            r->sizes[r->bind.n++] = t->shape[i];
        }
    }
    return true;
}

static void set_value(Run *r, uint32_t v, IrTensor *t, bool owned)
{
    r->vals[v] = t;
    r->owned[v] = owned;
}

static IrTensor *value(Run *r, uint32_t v)
{
    if (v == IR_NONE) return NULL;
    if (r->vals[v]) return r->vals[v];
    const IrValue *val = ir_val(r->g, v);
    if (val->konst) return (IrTensor *)val->konst;
    if (val->symval && val->rank >= 0 && val->rank <= 1) {
        /* a shape computation the passes resolved to symbolic dims: its contents follow from the sizes */
        int64_t n = val->symval_n;
        IrTensor *t = rt_tensor_new(val->dtype, val->rank, &n);
        bool ok = true;
        for (uint32_t i = 0; i < val->symval_n && ok; i++) {
            int64_t x;
            ok = kir_dim_eval(r->g, val->symval[i], &r->bind, &x);
            if (ok) ir_tensor_set_i64(t, i, x);
        }
        if (ok) {
            set_value(r, v, t, true);
            return t;
        }
        rt_tensor_free(t);
    }
    rt_set_error("%%%s is needed before it is computed", val->name);
    return NULL;
}

static bool eval_node(Run *r, const IrNode *n)
{
    const IrTensor *in[64] = {0};
    if (n->nin > 64) {
        rt_set_error("node '%s': more than 64 inputs", n->loc.node ? n->loc.node : "?");
        return false;
    }
    for (uint32_t i = 0; i < n->nin; i++)
        if (n->in[i] != IR_NONE && !(in[i] = value(r, n->in[i]))) return false;
    IrTensor *outs[16] = {0};
    RefStatus st = {0};
    if (n->nout > 16 || !ref_eval(r->g, n, in, outs, &st)) {
        rt_set_error("node '%s' (%s): reference evaluator: %s", n->loc.node ? n->loc.node : "?",
                     n->op_type ? n->op_type : ir_op_name(n->op), st.why);
        return false;
    }
    for (uint32_t o = 0; o < n->nout; o++) {
        if (n->out[o] == IR_NONE || !outs[o]) continue;
        set_value(r, n->out[o], outs[o], false);
        if (!bind_value(r, n->out[o], outs[o])) return false;
    }
    return true;
}

/* Host bytes of t stored as dtype `to` (the group's argument dtype), or t's own when they agree. */
static void *as_dtype(const IrTensor *t, IrDType to, bool *copied)
{
    *copied = t->dtype != to;
    if (!*copied) return (void *)t->data;
    IrTensor out = {to, 0, NULL, t->numel, t->numel * ir_dtype_size(to), NULL, NULL, 0};
    out.data = calloc(out.nbytes ? out.nbytes : 1, 1);
    for (uint64_t i = 0; i < t->numel; i++) {
        if (ir_dtype_is_float(to) || ir_dtype_is_float(t->dtype)) ir_tensor_set_f64(&out, i, ir_tensor_get_f64(t, i));
        else ir_tensor_set_i64(&out, i, ir_tensor_get_i64(t, i));
    }
    return (void *)out.data;
}

static bool run_group(Run *r, RtDevice *dev, const KirGroup *k)
{
    IrGraph *g = r->g;
    uint32_t na = k->args.n;
    void *args[64] = {0};
    bool copied[64] = {0};
    uint64_t numel[64];
    int64_t syms[64];
    bool ok = na <= 64 && k->syms.n <= 64;
    if (!ok) rt_set_error("%s: more than 64 arguments or sizes", k->name);
    for (uint32_t a = 0; ok && a + 1 < na; a++) {
        const KirArg *arg = &k->args.v[a];
        const IrTensor *t;
        if (arg->src == KIR_SRC_GEMM_ACC) {
            /* x·W without the bias: the GEMM the crate leaves to candle */
            IrNode lin = *ir_node(g, arg->node);
            lin.nin = 2;
            IrTensor *outs[8] = {0};
            const IrTensor *in[2] = {value(r, lin.in[0]), value(r, lin.in[1])};
            RefStatus st = {0};
            ok = in[0] && in[1] && ref_eval(g, &lin, in, outs, &st);
            if (!ok && in[0] && in[1]) rt_set_error("%s: x·W by the reference evaluator: %s", k->name, st.why);
            t = outs[0];
        } else {
            ok = (t = value(r, arg->value)) != NULL;
        }
        if (!ok) break;
        args[a] = as_dtype(t, arg->dtype, &copied[a]);
        numel[a] = t->numel;
    }
    for (uint32_t s = 0; ok && s < k->syms.n; s++) {
        KirSym sym = k->syms.v[s];
        ok = kir_dim_eval(g, ir_dim_sym(g, sym.name), &r->bind, &syms[s]);
        if (!ok) rt_set_error("%s: no value for the size '%s'", k->name, sym.name);
    }
    const KirArg *oa = &k->args.v[na - 1];
    int64_t shape[IR_MAX_RANK];
    for (int i = 0; ok && i < oa->rank; i++) {
        ok = kir_dim_eval(g, oa->dims[i], &r->bind, &shape[i]);
        if (!ok) rt_set_error("%s: no value for its output's dim %s", k->name, ir_dim_str(g, oa->dims[i]));
    }
    IrTensor *out = NULL;
    if (ok) {
        out = rt_tensor_new(oa->dtype, oa->rank, shape);
        args[na - 1] = (void *)out->data;
        numel[na - 1] = out->numel;
        char why[1024] = "";
        float ms;
        int rc = dev->run(dev, g, k, args, numel, syms, &ms, why, sizeof why);
        if (rc <= 0) {
            if (rc == 0) rt_set_error("%s: %s", k->name, why);
            ok = false;
        }
    }
    for (uint32_t a = 0; a + 1 < na && a < 64; a++)
        if (copied[a]) free(args[a]);
    if (!ok) {
        rt_tensor_free(out);
        return false;
    }
    set_value(r, oa->value, out, true);
    return bind_value(r, oa->value, out);
}

bool rt_run_model(IrGraph *g, const KirPlan *plan, RtDevice *dev, const RtNamed *in, uint32_t nin, IrTensor ***out)
{
    *out = NULL;
    uint32_t nv = g->values.n, nn = g->nodes.n;
    Run r = {g, calloc(nv, sizeof(IrTensor *)), calloc(nv, 1), {0}, {0}, {0}};
    r.bind = (KirBind){0, r.names, r.sizes};
    bool ok = true;
    for (uint32_t i = 0; i < g->inputs.n && ok; i++) {
        const IrValue *val = ir_val(g, g->inputs.v[i]);
        const RtNamed *t = NULL;
        for (uint32_t j = 0; j < nin && !t; j++)
            if (strcmp(in[j].name, val->name) == 0) t = &in[j];
        if (!t) {
            rt_set_error("no tensor for the input '%s'", val->name);
            ok = false;
        } else if (t->t->dtype != val->dtype) {
            rt_set_error("input '%s' is %s where the model takes %s", val->name, ir_dtype_name(t->t->dtype),
                         ir_dtype_name(val->dtype));
            ok = false;
        } else {
            set_value(&r, g->inputs.v[i], t->t, false);
            ok = bind_value(&r, g->inputs.v[i], t->t);
        }
    }
    /* per node: the group it belongs to (+1), with a device */
    uint32_t *group_of = calloc(nn + 1, sizeof *group_of);
    for (uint32_t i = 0; dev && plan && i < plan->groups.n; i++)
        for (uint32_t j = 0; j < plan->groups.v[i].nodes.n; j++) group_of[plan->groups.v[i].nodes.v[j]] = i + 1;
    for (uint32_t n = 0; n < nn && ok; n++) {
        const IrNode *node = ir_node(g, n);
        if (node->dead) continue;
        if (group_of[n]) {
            const KirGroup *k = &plan->groups.v[group_of[n] - 1];
            if (n == k->root) ok = run_group(&r, dev, k);
            continue;
        }
        ok = eval_node(&r, node);
    }
    if (ok) {
        *out = calloc(g->outputs.n ? g->outputs.n : 1, sizeof **out);
        for (uint32_t i = 0; i < g->outputs.n && ok; i++) {
            const IrTensor *t = value(&r, g->outputs.v[i]);
            if (!t) {
                ok = false;
                break;
            }
            IrTensor *c = rt_tensor_new(t->dtype, t->rank, t->shape);
            memcpy((void *)c->data, t->data, t->nbytes);
            (*out)[i] = c;
        }
        if (!ok) {
            for (uint32_t i = 0; i < g->outputs.n; i++) rt_tensor_free((*out)[i]);
            free(*out);
            *out = NULL;
        }
    }
    for (uint32_t v = 0; v < nv; v++)
        if (r.owned[v]) rt_tensor_free(r.vals[v]);
    free(r.vals), free(r.owned), free(group_of);
    return ok;
}
