/* passes/infer.c — the inference pass: walks the nodes in order, dispatches each to its op's rule through a
 * table built from ops.def, then records known integer contents (symval.c).  Also the helpers every rule
 * file shares: deterministic symbols for unknown dims, broadcasting, axes, dtype checks, known input
 * contents.
 *
 * Errors do not stop the walk: a failed node's outputs become unknown (rank -1, no dtype) and nodes that read
 * an unknown value are skipped silently, so one bad node yields one diagnostic, not a cascade.
 */
#include "infer.h"

#include <stdarg.h>
#include <string.h>

typedef bool (*InferRule)(IrGraph *g, IrNode *n);

static const InferRule rules[IR_OP_COUNT] = {
#define OP(id, onnx, dom, since, inmin, inmax, outmin, outmax, flags, rule) [IR_OP_##id] = rule,
#include "ops.def"
#undef OP
};

/* --- diagnostics and access ------------------------------------------------------------------------- */

bool infer_error(const IrNode *n, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m2c_error(&n->loc, "%s: %s", n->op_type ? n->op_type : ir_op_name(n->op), msg);
    return false;
}

const IrValue *infer_in(IrGraph *g, const IrNode *n, uint32_t i)
{
    uint32_t v = ir_input(n, i);
    return v == IR_NONE ? NULL : ir_val(g, v);
}

bool infer_has_out(const IrNode *n, uint32_t i)
{
    return i < n->nout && n->out[i] != IR_NONE;
}

const char *infer_shape_str(IrGraph *g, int rank, const IrDim *dims)
{
    M2cBuf b = {0};
    if (rank < 0) {
        m2c_buf_puts(&b, "[...]");
    } else {
        m2c_buf_puts(&b, "[");
        for (int i = 0; i < rank; i++) {
            if (i) m2c_buf_puts(&b, ", ");
            ir_dim_print(g, dims[i], &b);
        }
        m2c_buf_puts(&b, "]");
    }
    const char *s = m2c_strdup(g->arena, b.s);
    m2c_buf_free(&b);
    return s;
}

const char *infer_value_shape_str(IrGraph *g, const IrValue *v)
{
    return infer_shape_str(g, v->rank, v->dims);
}

/* --- symbols for unknown dims ------------------------------------------------------------------------ */

/* "<value name>__d<axis>", the value name reduced to [A-Za-z0-9_] with runs of '_' collapsed, so the only
 * "__" is ours; a graph input symbol of exactly that spelling still gets a different name.  The same node
 * and output give the same symbol on every run, which keeps pass_infer idempotent. */
IrDim infer_sym(IrGraph *g, const IrNode *n, uint32_t out, int axis)
{
    uint32_t v = infer_has_out(n, out) ? n->out[out] : IR_NONE;
    for (uint32_t i = 0; v == IR_NONE && i < n->nout; i++) v = n->out[i];
    const char *base = v != IR_NONE ? ir_val(g, v)->name : n->loc.node ? n->loc.node : "";
    M2cBuf b = {0};
    bool last_us = true;   /* drops leading underscores */
    for (const char *p = base; *p; p++) {
        char c = *p;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (alnum) {
            if (b.len == 0 && c >= '0' && c <= '9') m2c_buf_putc(&b, 'v');
            m2c_buf_putc(&b, c);
            last_us = false;
        } else if (!last_us) {
            m2c_buf_putc(&b, '_');
            last_us = true;
        }
    }
    while (b.len > 0 && b.s[b.len - 1] == '_') b.s[--b.len] = 0;
    if (b.len == 0) m2c_buf_puts(&b, "v");
    m2c_buf_printf(&b, "__d%d", axis);
    for (bool clash = true; clash;) {
        clash = false;
        for (uint32_t i = 0; i < g->symbols.n && !clash; i++) clash = strcmp(g->symbols.v[i].name, b.s) == 0;
        if (clash) m2c_buf_putc(&b, '_');
    }
    IrDim d = ir_dim_sym(g, b.s);
    m2c_buf_free(&b);
    return d;
}

/* --- setting outputs ---------------------------------------------------------------------------------- */

bool infer_set(IrGraph *g, IrNode *n, uint32_t out, IrDType t, int rank, const IrDim *dims)
{
    if (!infer_has_out(n, out)) return true;
    if (rank > IR_MAX_RANK) return infer_error(n, "output rank %d exceeds the supported maximum %d", rank, IR_MAX_RANK);
    IrDim fixed[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        fixed[i] = dims[i];
        /* overflow in the dims algebra: the size is beyond what we can name, so it gets a symbol */
        if (fixed[i] == IR_DIM_INVALID) fixed[i] = infer_sym(g, n, out, i);
        int64_t c;
        if (ir_dim_const_value(g, fixed[i], &c) && c < 0)
            return infer_error(n, "output '%s' would have negative size %lld on axis %d", ir_val(g, n->out[out])->name,
                               (long long)c, i);
    }
    ir_value_set_shape(g, n->out[out], t, rank, fixed);
    return true;
}

bool infer_set_like(IrGraph *g, IrNode *n, uint32_t out, const IrValue *like)
{
    return infer_set(g, n, out, like->dtype, like->rank, like->dims);
}

void infer_set_unknown(IrGraph *g, IrNode *n)
{
    for (uint32_t i = 0; i < n->nout; i++) {
        if (n->out[i] == IR_NONE) continue;
        IrValue *v = ir_val(g, n->out[i]);
        if (v->konst) continue;
        ir_value_set_shape(g, n->out[i], DT_UNDEF, -1, NULL);
        v->symval = NULL;
        v->symval_n = 0;
    }
}

/* --- checks ----------------------------------------------------------------------------------------- */

bool infer_axis(const IrNode *n, const char *what, int64_t axis, int rank, int *out)
{
    if (axis < -rank || axis >= rank) {
        if (rank == 0) return infer_error(n, "%s %lld is out of range for a scalar", what, (long long)axis);
        return infer_error(n, "%s %lld is out of range for rank %d (expects [%d, %d])", what, (long long)axis, rank,
                           -rank, rank - 1);
    }
    *out = (int)(axis < 0 ? axis + rank : axis);
    return true;
}

static unsigned dtype_class(IrDType t)
{
    if (ir_dtype_is_float(t)) return INFER_FLOAT;
    if (t == DT_BOOL) return INFER_BOOL;
    if (ir_dtype_is_int(t)) return ir_dtype_is_signed(t) ? INFER_SINT : INFER_UINT;
    return 0;
}

bool infer_check_dtype(const IrNode *n, const IrValue *v, const char *what, unsigned classes)
{
    if (dtype_class(v->dtype) & classes) return true;
    const char *want = classes == INFER_FLOAT    ? "a floating-point type"
                       : classes == INFER_BOOL   ? "bool"
                       : classes == INFER_INT    ? "an integer type"
                       : classes == INFER_SIGNED ? "a signed numeric type"
                       : classes == INFER_NUM    ? "a numeric type"
                                                 : "a supported type";
    return infer_error(n, "%s has type %s, expects %s", what, ir_dtype_name(v->dtype), want);
}

bool infer_same_dtype(IrGraph *g, const IrNode *n, uint32_t i, uint32_t j)
{
    const IrValue *a = infer_in(g, n, i), *b = infer_in(g, n, j);
    if (!a || !b || a->dtype == b->dtype) return true;
    return infer_error(n, "input dtypes differ (%s vs %s)", ir_dtype_name(a->dtype), ir_dtype_name(b->dtype));
}

bool infer_const_conflict(const IrGraph *g, IrDim a, IrDim b)
{
    int64_t x, y;
    return ir_dim_const_value(g, a, &x) && ir_dim_const_value(g, b, &y) && x != y;
}

/* --- dims ------------------------------------------------------------------------------------------- */

static bool is_one(const IrGraph *g, IrDim d)
{
    int64_t c;
    return ir_dim_const_value(g, d, &c) && c == 1;
}

bool infer_broadcast_dims(IrGraph *g, const IrNode *n, int ra, const IrDim *a, int rb, const IrDim *b, int *rout,
                          IrDim *out)
{
    int r = ra > rb ? ra : rb;
    IrDim res[IR_MAX_RANK];
    for (int i = 0; i < r; i++) {
        int ia = i - (r - ra), ib = i - (r - rb);
        IrDim x = ia >= 0 ? a[ia] : ir_dim_const(g, 1);
        IrDim y = ib >= 0 ? b[ib] : ir_dim_const(g, 1);
        int64_t cx, cy;
        bool kx = ir_dim_const_value(g, x, &cx), ky = ir_dim_const_value(g, y, &cy);
        if (x == y || (ky && cy == 1)) {
            res[i] = x;
        } else if (kx && cx == 1) {
            res[i] = y;
        } else if (kx && ky) {
            return infer_error(n, "shapes %s and %s cannot be broadcast", infer_shape_str(g, ra, a),
                               infer_shape_str(g, rb, b));
        } else if (kx || ky) {
            /* a constant other than 1 wins: the symbol must be 1 or equal to it */
            res[i] = kx ? x : y;
        } else {
            res[i] = infer_dim_max(g, x, y);   /* one is 1 or they are equal: the larger */
        }
    }
    infer_copy(out, res, r);
    *rout = r;
    return true;
}

bool infer_unidirectional(IrGraph *g, const IrNode *n, const char *what, int rb, const IrDim *b, int ra,
                          const IrDim *a)
{
    bool ok = rb <= ra;
    for (int i = 0; ok && i < rb; i++) {
        IrDim x = b[rb - 1 - i], y = a[ra - 1 - i];
        if (x != y && !is_one(g, x) && infer_const_conflict(g, x, y)) ok = false;
    }
    if (ok) return true;
    return infer_error(n, "%s of shape %s does not broadcast to %s", what, infer_shape_str(g, rb, b),
                       infer_shape_str(g, ra, a));
}

/* Whether a <= b is provable from the bounds of a - b. */
static bool provably_le(IrGraph *g, IrDim a, IrDim b)
{
    int64_t lo, hi;
    ir_dim_bounds(g, ir_dim_sub(g, a, b), &lo, &hi);
    return hi <= 0;
}

/* The operands of a max/min dim, copied: making new dims may move the expression table. */
static uint32_t minmax_ops(IrGraph *g, IrDim d, IrDimKind kind, IrDim *ops)
{
    const IrDimExpr *e = ir_dim_expr(g, d);
    if (e->kind != kind || e->nops > IR_MAX_RANK * 4) return 0;
    memcpy(ops, e->ops, e->nops * sizeof *ops);
    return e->nops;
}

/* Whether a <= b (le) or a >= b (!le) is provable, also through a's max/min structure: max(x, y) <= b when
 * both are, min(x, y) <= b when one is.  Nesting deeper than a few levels is not worth the time. */
static bool provably_ordered(IrGraph *g, IrDim a, IrDim b, bool le, int depth)
{
    if (le ? provably_le(g, a, b) : provably_le(g, b, a)) return true;
    if (depth > 3) return false;
    IrDim ops[IR_MAX_RANK * 4];
    uint32_t n = minmax_ops(g, a, le ? DIM_MAX : DIM_MIN, ops), i;
    for (i = 0; i < n && provably_ordered(g, ops[i], b, le, depth + 1); i++) {
    }
    if (n && i == n) return true;
    n = minmax_ops(g, a, le ? DIM_MIN : DIM_MAX, ops);
    for (i = 0; i < n; i++)
        if (provably_ordered(g, ops[i], b, le, depth + 1)) return true;
    return false;
}

/* a <= b, through the structure of either side */
static bool dim_le(IrGraph *g, IrDim a, IrDim b)
{
    return provably_ordered(g, a, b, true, 0) || provably_ordered(g, b, a, false, 0);
}

IrDim infer_dim_min(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    if (dim_le(g, a, b)) return a;
    if (dim_le(g, b, a)) return b;
    return ir_dim_min(g, a, b);
}

IrDim infer_dim_max(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    if (dim_le(g, b, a)) return a;
    if (dim_le(g, a, b)) return b;
    return ir_dim_max(g, a, b);
}

/* Interval bounds lose the correlation in max(s, 10) - s (a pad amount): a sum holding max(...) is at
 * least the sum with any one operand in its place, and one holding -min(...) likewise. */
bool infer_dim_nonneg(IrGraph *g, IrDim d)
{
    int64_t lo, hi;
    if (d == IR_DIM_INVALID) return false;
    ir_dim_bounds(g, d, &lo, &hi);
    if (lo >= 0) return true;
    const IrDimExpr *e = ir_dim_expr(g, d);
    if (e->kind != DIM_ADD || e->nops > IR_MAX_RANK * 4) return false;
    IrDim terms[IR_MAX_RANK * 4], ops[IR_MAX_RANK * 4];
    uint32_t nt = e->nops;
    memcpy(terms, e->ops, nt * sizeof *terms);
    for (uint32_t i = 0; i < nt; i++) {
        IrDim t = terms[i];
        const IrDimExpr *te = ir_dim_expr(g, t);
        bool neg_min = te->kind == DIM_MUL && te->c == -1 && te->nops == 1 &&
                       ir_dim_expr(g, te->ops[0])->kind == DIM_MIN;
        uint32_t n = neg_min ? minmax_ops(g, te->ops[0], DIM_MIN, ops) : minmax_ops(g, t, DIM_MAX, ops);
        if (n == 0) continue;
        IrDim rest = ir_dim_sub(g, d, t);
        for (uint32_t k = 0; k < n; k++) {
            ir_dim_bounds(g, neg_min ? ir_dim_sub(g, rest, ops[k]) : ir_dim_add(g, rest, ops[k]), &lo, &hi);
            if (lo >= 0) return true;
        }
    }
    return false;
}

IrDim infer_prod(IrGraph *g, const IrDim *dims, int from, int to)
{
    IrDim p = ir_dim_const(g, 1);
    for (int i = from; i < to; i++) p = ir_dim_mul(g, p, dims[i]);
    return p;
}

IrDim infer_dim_div(IrGraph *g, IrDim a, IrDim b)
{
    if (a == IR_DIM_INVALID || b == IR_DIM_INVALID) return IR_DIM_INVALID;
    const IrDimExpr *e = ir_dim_expr(g, b);
    if (e->kind != DIM_MUL || e->c <= 1) return ir_dim_div(g, a, b);
    /* floor(floor(a / m) / c) = floor(a / (m*c)) for positive m and c; dividing by the factors first lets
     * them cancel exactly */
    int64_t c = e->c;
    uint32_t nops = e->nops;
    IrDim ops[IR_MAX_RANK * 4];
    if (nops > sizeof ops / sizeof *ops) return ir_dim_div(g, a, b);
    memcpy(ops, e->ops, nops * sizeof *ops);   /* before making dims: that may move the expression table */
    IrDim m = ir_dim_const(g, 1);
    for (uint32_t i = 0; i < nops; i++) m = ir_dim_mul(g, m, ops[i]);
    return ir_dim_div(g, ir_dim_div(g, a, m), ir_dim_const(g, c));
}

/* --- known contents --------------------------------------------------------------------------------- */

bool infer_in_dims(IrGraph *g, const IrNode *n, uint32_t i, IrDim *out, uint32_t max, uint32_t *count)
{
    uint32_t v = ir_input(n, i);
    if (v == IR_NONE || !ir_value_dims(g, v, out, max, count)) return false;
    for (uint32_t k = 0; k < *count; k++)
        if (out[k] == IR_DIM_INVALID) return false;
    return true;
}

bool infer_in_ints(IrGraph *g, const IrNode *n, uint32_t i, int64_t *out, uint32_t max, uint32_t *count)
{
    uint32_t v = ir_input(n, i);
    return v != IR_NONE && ir_value_ints(g, v, out, max, count);
}

int64_t infer_in_numel(IrGraph *g, const IrNode *n, uint32_t i)
{
    const IrValue *v = infer_in(g, n, i);
    if (!v || v->rank < 0) return -1;
    int64_t total = 1, c;
    for (int k = 0; k < v->rank; k++) {
        if (!ir_dim_const_value(g, v->dims[k], &c)) return -1;
        total *= c;
    }
    return total;
}

bool infer_in_scalar_dim(IrGraph *g, const IrNode *n, uint32_t i, IrDim *out)
{
    IrDim vals[2];
    uint32_t cnt;
    if (!infer_in_dims(g, n, i, vals, 1, &cnt) || cnt != 1) return false;
    *out = vals[0];
    return true;
}

IrDim infer_f64_dim(IrGraph *g, double v)
{
    if (!(v > -9.2e18 && v < 9.2e18)) return IR_DIM_INVALID;   /* NaN fails both */
    return ir_dim_const(g, (int64_t)v);
}

bool infer_attr_ints(const IrNode *n, const char *name, int count, int64_t dflt, int64_t *out)
{
    uint32_t k;
    const int64_t *v = ir_attr_ints(n, name, &k);
    if (!v) {
        for (int i = 0; i < count; i++) out[i] = dflt;
        return true;
    }
    if ((int)k != count) return infer_error(n, "attribute %s has %u values, expects %d", name, k, count);
    if (count > 0) memcpy(out, v, (size_t)count * sizeof *out);
    return true;
}

/* --- the pass --------------------------------------------------------------------------------------- */

bool infer_node(IrGraph *g, IrNode *n)
{
    if (n->op >= IR_OP_COUNT) return true;   /* unsupported op: keep the importer's value_info hints */
    const IrOpInfo *info = &ir_op_info[n->op];
    if ((int)n->nin < info->in_min || (info->in_max >= 0 && (int)n->nin > info->in_max) ||
        (int)n->nout < info->out_min || (info->out_max >= 0 && (int)n->nout > info->out_max)) {
        infer_set_unknown(g, n);
        if (info->in_max == info->in_min && info->out_max == info->out_min)
            return infer_error(n, "expects %d inputs and %d outputs, has %u and %u", info->in_min, info->out_min,
                               n->nin, n->nout);
        return infer_error(n, "has %u inputs and %u outputs, outside the op's arity", n->nin, n->nout);
    }
    for (uint32_t i = 0; i < n->nin; i++) {
        uint32_t v = n->in[i];
        if (v == IR_NONE) {
            if ((int)i < info->in_min) {
                infer_set_unknown(g, n);
                return infer_error(n, "required input %u is missing", i);
            }
            continue;
        }
        const IrValue *val = ir_val(g, v);
        /* an input some earlier problem left unknown: that problem was reported there */
        if (val->rank < 0 || val->dtype == DT_UNDEF) {
            infer_set_unknown(g, n);
            return true;
        }
    }
    int before = m2c_error_count();
    bool ok = rules[n->op](g, n);
    if (!ok || m2c_error_count() != before) {
        infer_set_unknown(g, n);
        return false;
    }
    symval_eval(g, n);
    return true;
}

bool pass_infer(IrGraph *g)
{
    for (uint32_t i = 0; i < g->nodes.n; i++) {
        IrNode *n = &g->nodes.v[i];
        if (!n->dead) infer_node(g, n);
    }
    return false;
}
