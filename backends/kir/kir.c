/* backends/kir/kir.c — building blocks of the kernel IR: expressions and arguments, broadcast strides as
 * symbolic dims, the symbols a group needs at run time, dims evaluated under concrete sizes. */
#include "kir.h"

#include <stdlib.h>
#include <string.h>

static const char *const xop_names[KX_COUNT] = {
#define X(id, name, n) name,
    KIR_XOPS(X)
#undef X
};
static const int xop_arity[KX_COUNT] = {
#define X(id, name, n) n,
    KIR_XOPS(X)
#undef X
};

const char *kir_xop_name(KirXop op) { return op < KX_COUNT ? xop_names[op] : "?"; }
int kir_xop_arity(KirXop op) { return op < KX_COUNT ? xop_arity[op] : 0; }

uint32_t kir_expr_add(IrGraph *g, KirGroup *k, KirExpr e)
{
    /* hash-consing by linear search: groups are small, and equal leaves must share one id so a load is
     * emitted once */
    for (uint32_t i = 0; i < k->ex.n; i++) {
        const KirExpr *o = &k->ex.v[i];
        if (o->op == e.op && o->cls == e.cls && o->arg == e.arg && o->to == e.to && o->a[0] == e.a[0] &&
            o->a[1] == e.a[1] && o->a[2] == e.a[2] && memcmp(o->p, e.p, sizeof e.p) == 0)
            return i;
    }
    m2c_vec_push(g->arena, &k->ex, e);
    return k->ex.n - 1;
}

int kir_arg_add(IrGraph *g, KirGroup *k, KirArg a)
{
    for (uint32_t i = 0; i < k->args.n; i++) {
        const KirArg *o = &k->args.v[i];
        if (o->src == a.src && o->value == a.value && o->use == a.use) return (int)i;
    }
    a.name = m2c_sprintf(g->arena, "in%u", k->args.n);
    m2c_vec_push(g->arena, &k->args, a);
    return (int)k->args.n - 1;
}

const IrDim *kir_value_dims(IrGraph *g, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    return val->dims;
}

IrDim kir_numel(IrGraph *g, int rank, const IrDim *dims)
{
    IrDim n = ir_dim_const(g, 1);
    for (int i = 0; i < rank; i++) n = ir_dim_mul(g, n, dims[i]);
    return n;
}

/* Strides of a contiguous tensor of `dims` read at each element of `space` (numpy broadcasting, aligned on
 * the right).  A dim equal to the space's is read; a dim of 1 broadcasts; any other (a symbol the shape
 * rules only know to be 1 or equal, as in max(batch, n)) is decided at run time: stride·min(d - 1, 1) is 0
 * exactly when d is 1. */
const IrDim *kir_bcast_strides(IrGraph *g, int rank, const IrDim *dims, int srank, const IrDim *space)
{
    IrDim *at = m2c_alloc_array(g->arena, srank > 0 ? (size_t)srank : 1, sizeof *at);
    IrDim zero = ir_dim_const(g, 0), one = ir_dim_const(g, 1), stride = one;
    for (int i = srank - 1, j = rank - 1; i >= 0; i--, j--) {
        if (j < 0) {
            at[i] = zero;
            continue;
        }
        int64_t c;
        if (ir_dim_const_value(g, dims[j], &c) && c == 1) at[i] = zero;
        else if (dims[j] == space[i]) at[i] = stride;
        else at[i] = ir_dim_mul(g, stride, ir_dim_min(g, ir_dim_sub(g, dims[j], one), one));
        stride = ir_dim_mul(g, stride, dims[j]);
    }
    return at;
}

static void collect_dim(IrGraph *g, KirGroup *k, IrDim d)
{
    const IrDimExpr *e = ir_dim_expr(g, d);
    if (e->kind == DIM_CONST) return;
    if (e->kind == DIM_SYM) {
        for (uint32_t i = 0; i < k->syms.n; i++)
            if (strcmp(k->syms.v[i].name, e->name) == 0) return;
        /* a C identifier that cannot clash with the kernel's own names: s_ + the symbol, other chars as _ */
        char *c = m2c_sprintf(g->arena, "s_%s", e->name);
        for (char *p = c; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) *p = '_';
        m2c_vec_push(g->arena, &k->syms, ((KirSym){e->name, c, -1, -1}));
        return;
    }
    for (uint32_t i = 0; i < e->nops; i++) collect_dim(g, k, e->ops[i]);
}

static int cmp_sym(const void *a, const void *b)
{
    return strcmp(((const KirSym *)a)->name, ((const KirSym *)b)->name);
}

/* The symbols in the group's shapes and strides, sorted by name, each with an argument axis that holds it
 * (so a caller can read it off a tensor's shape). */
void kir_collect_syms(IrGraph *g, KirGroup *k)
{
    k->syms.n = 0;
    for (uint32_t a = 0; a < k->args.n; a++) {
        const KirArg *arg = &k->args.v[a];
        for (int i = 0; i < arg->rank; i++) collect_dim(g, k, arg->dims[i]);
        for (int i = 0; arg->at && i < k->rank; i++) collect_dim(g, k, arg->at[i]);
    }
    for (int i = 0; i < k->rank; i++) collect_dim(g, k, k->space[i]);
    if (k->kind == KIR_ATTENTION && k->attn.mask >= 0) {
        for (int i = 0; i < 4; i++) collect_dim(g, k, k->attn.mask_at[i]);
        collect_dim(g, k, k->attn.mask_last);
    }
    if (k->syms.n > 1) qsort(k->syms.v, k->syms.n, sizeof *k->syms.v, cmp_sym);
    for (uint32_t s = 0; s < k->syms.n; s++) {
        KirSym *sym = &k->syms.v[s];
        for (uint32_t a = 0; a < k->args.n && sym->arg < 0; a++) {
            const KirArg *arg = &k->args.v[a];
            for (int i = 0; i < arg->rank; i++) {
                const IrDimExpr *e = ir_dim_expr(g, arg->dims[i]);
                if (e->kind == DIM_SYM && strcmp(e->name, sym->name) == 0) {
                    sym->arg = (int)a, sym->axis = i;
                    break;
                }
            }
        }
    }
}

static int64_t floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool kir_dim_eval(const IrGraph *g, IrDim d, const KirBind *b, int64_t *out)
{
    const IrDimExpr *e = ir_dim_expr(g, d);
    int64_t v = 0, w;
    switch (e->kind) {
    case DIM_CONST: *out = e->c; return true;
    case DIM_SYM:
        for (uint32_t i = 0; b && i < b->n; i++)
            if (strcmp(b->names[i], e->name) == 0) {
                *out = b->vals[i];
                return true;
            }
        return false;
    case DIM_ADD:
        v = e->c;
        for (uint32_t i = 0; i < e->nops; i++) {
            if (!kir_dim_eval(g, e->ops[i], b, &w)) return false;
            v += w;
        }
        *out = v;
        return true;
    case DIM_MUL:
        v = e->c;
        for (uint32_t i = 0; i < e->nops; i++) {
            if (!kir_dim_eval(g, e->ops[i], b, &w)) return false;
            v *= w;
        }
        *out = v;
        return true;
    case DIM_DIV: case DIM_MOD:
        if (!kir_dim_eval(g, e->ops[0], b, &v) || !kir_dim_eval(g, e->ops[1], b, &w) || w == 0) return false;
        *out = e->kind == DIM_DIV ? floordiv(v, w) : v - floordiv(v, w) * w;
        return true;
    case DIM_MAX: case DIM_MIN:
        for (uint32_t i = 0; i < e->nops; i++) {
            if (!kir_dim_eval(g, e->ops[i], b, &w)) return false;
            if (i == 0 || (e->kind == DIM_MAX ? w > v : w < v)) v = w;
        }
        *out = v;
        return true;
    }
    return false;
}

void kir_retype(KirGroup *k, IrDType t)
{
    for (uint32_t i = 0; i < k->args.n; i++)
        if (ir_dtype_is_float(k->args.v[i].dtype)) k->args.v[i].dtype = t;
}
