/* passes/symval.c — symbolic contents of small integer tensors: the exporters' shape arithmetic.
 *
 * PyTorch's exporters compute target shapes at run time: Shape(x) → Gather(0) → Unsqueeze → Concat(…, 4, 8)
 * → Reshape.  After each node's shape rule, symval_eval() records, element by element, what a small integer
 * output (rank 0 or 1, at most SYMVAL_MAX elements) holds when that follows from its inputs' known contents
 * (a konst tensor or an earlier symval), as dims: Shape of (batch, seq, 32) holds [batch, seq, 32].  The
 * shape rules read these through ir_value_dims(), so the Reshape above gets (batch, seq, 4, 8), and folding
 * turns such values into symbolic constants.
 *
 * Only what is provable is recorded: integer Div truncates toward zero, so it is evaluated only where both
 * operands are known non-negative (or constant); comparisons only where the bounds decide.  A value whose
 * contents are no longer known after re-inference loses its stale symval.
 */
#include "infer.h"

#include <string.h>

typedef struct {
    IrDim v[SYMVAL_MAX];
    uint32_t n;
} Vals;

/* Known contents of input i. */
static bool in_vals(IrGraph *g, const IrNode *n, uint32_t i, Vals *out)
{
    uint32_t v = ir_input(n, i);
    if (v == IR_NONE || !ir_value_dims(g, v, out->v, SYMVAL_MAX, &out->n)) return false;
    for (uint32_t k = 0; k < out->n; k++)
        if (out->v[k] == IR_DIM_INVALID) return false;
    return true;
}

/* Whether output value v is a small integer (or bool) tensor; its element count in *numel. */
static bool small_int(IrGraph *g, uint32_t v, uint32_t *numel)
{
    if (v == IR_NONE) return false;
    const IrValue *val = ir_val(g, v);
    if (val->konst || val->rank < 0 || val->rank > 1) return false;
    if (!ir_dtype_is_int(val->dtype) && val->dtype != DT_BOOL) return false;
    int64_t c = 1;
    if (val->rank == 1 && !ir_dim_const_value(g, val->dims[0], &c)) return false;
    if (c < 0 || c > SYMVAL_MAX) return false;
    *numel = (uint32_t)c;
    return true;
}

/* A constant converted to an integer type wraps as in C (two's complement); bool is "not zero". */
static int64_t wrap_to(IrDType t, int64_t x)
{
    switch (t) {
    case DT_BOOL: return x != 0;
    case DT_I8: return (int8_t)x;
    case DT_U8: return (uint8_t)x;
    case DT_I16: return (int16_t)x;
    case DT_U16: return (uint16_t)x;
    case DT_I32: return (int32_t)x;
    case DT_U32: return (uint32_t)x;
    default: return x;
    }
}

/* The sign a dim is known to have: 1 positive, -1 negative, 0 zero, 2 unknown. */
static int sign_of(IrGraph *g, IrDim d)
{
    int64_t lo, hi;
    ir_dim_bounds(g, d, &lo, &hi);
    if (lo > 0) return 1;
    if (hi < 0) return -1;
    if (lo == 0 && hi == 0) return 0;
    return 2;
}

static bool nonneg(IrGraph *g, IrDim d)
{
    return infer_dim_nonneg(g, d);
}

/* One element of a binary op; IR_DIM_INVALID when the result is not provable. */
static IrDim binary(IrGraph *g, const IrNode *n, IrDim x, IrDim y)
{
    int64_t a, b;
    bool ka = ir_dim_const_value(g, x, &a), kb = ir_dim_const_value(g, y, &b);
    int s;
    switch (n->op) {
    case IR_OP_ADD: return ir_dim_add(g, x, y);
    case IR_OP_SUB: return ir_dim_sub(g, x, y);
    case IR_OP_MUL: return ir_dim_mul(g, x, y);
    case IR_OP_DIV:
        /* ONNX integer Div truncates toward zero; floor division agrees on non-negative operands */
        if (ka && kb) return b == 0 || (a == INT64_MIN && b == -1) ? IR_DIM_INVALID : ir_dim_const(g, a / b);
        return nonneg(g, x) && sign_of(g, y) == 1 ? ir_dim_div(g, x, y) : IR_DIM_INVALID;
    case IR_OP_MOD:
        if (kb && b == 0) return IR_DIM_INVALID;
        if (ir_attr_int(n, "fmod", 0) == 0) {   /* sign of the divisor: Python's %, which ir_dim_mod is */
            s = sign_of(g, y);
            return s == 1 || s == -1 ? ir_dim_mod(g, x, y) : IR_DIM_INVALID;
        }
        if (ka && kb) return b == -1 ? ir_dim_const(g, 0) : ir_dim_const(g, a % b);
        return nonneg(g, x) && sign_of(g, y) == 1 ? ir_dim_mod(g, x, y) : IR_DIM_INVALID;
    case IR_OP_MAX: return infer_dim_max(g, x, y);
    case IR_OP_MIN: return infer_dim_min(g, x, y);
    case IR_OP_EQUAL:
        if (x == y) return ir_dim_const(g, 1);
        s = sign_of(g, ir_dim_sub(g, x, y));
        return s == 2 ? IR_DIM_INVALID : ir_dim_const(g, s == 0);
    case IR_OP_LESS:
    case IR_OP_LESS_OR_EQUAL:
    case IR_OP_GREATER:
    case IR_OP_GREATER_OR_EQUAL: {
        int64_t lo, hi;
        ir_dim_bounds(g, ir_dim_sub(g, x, y), &lo, &hi);
        bool yes, no;
        if (n->op == IR_OP_LESS) yes = hi < 0, no = lo >= 0;
        else if (n->op == IR_OP_LESS_OR_EQUAL) yes = hi <= 0, no = lo > 0;
        else if (n->op == IR_OP_GREATER) yes = lo > 0, no = hi <= 0;
        else yes = lo >= 0, no = hi < 0;
        return yes ? ir_dim_const(g, 1) : no ? ir_dim_const(g, 0) : IR_DIM_INVALID;
    }
    case IR_OP_AND: return ka && kb ? ir_dim_const(g, a && b) : IR_DIM_INVALID;
    case IR_OP_OR: return ka && kb ? ir_dim_const(g, a || b) : IR_DIM_INVALID;
    case IR_OP_XOR: return ka && kb ? ir_dim_const(g, (a != 0) != (b != 0)) : IR_DIM_INVALID;
    default: return IR_DIM_INVALID;
    }
}

/* Input i broadcast to numel elements (it has 1 or numel). */
static bool in_bcast(IrGraph *g, const IrNode *n, uint32_t i, uint32_t numel, Vals *out)
{
    Vals v;
    if (!in_vals(g, n, i, &v) || (v.n != 1 && v.n != numel)) return false;
    for (uint32_t k = 0; k < numel; k++) out->v[k] = v.v[v.n == 1 ? 0 : k];
    out->n = numel;
    return true;
}

/* Binary ops and variadic Max/Min fold their inputs left to right; Where selects. */
static bool elementwise(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals b, c;
    if (n->nin < 1 || !in_bcast(g, n, 0, numel, out)) return false;
    if (n->op == IR_OP_WHERE) {
        if (!in_bcast(g, n, 1, numel, &b) || !in_bcast(g, n, 2, numel, &c)) return false;
        for (uint32_t k = 0; k < numel; k++) {
            int64_t cond;
            if (!ir_dim_const_value(g, out->v[k], &cond)) return false;
            out->v[k] = cond ? b.v[k] : c.v[k];
        }
        return true;
    }
    for (uint32_t i = 1; i < n->nin; i++) {
        if (!in_bcast(g, n, i, numel, &b)) return false;
        for (uint32_t k = 0; k < numel; k++) {
            out->v[k] = binary(g, n, out->v[k], b.v[k]);
            if (out->v[k] == IR_DIM_INVALID) return false;
        }
    }
    return true;
}

static bool unary(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals in;
    if (!in_vals(g, n, 0, &in) || in.n != numel) return false;
    out->n = numel;
    for (uint32_t k = 0; k < numel; k++) {
        IrDim x = in.v[k];
        int64_t c;
        int s = sign_of(g, x);
        switch (n->op) {
        case IR_OP_NEG: out->v[k] = ir_dim_neg(g, x); break;
        case IR_OP_ABS: out->v[k] = s == 2 ? IR_DIM_INVALID : s < 0 ? ir_dim_neg(g, x) : x; break;
        case IR_OP_NOT: out->v[k] = ir_dim_const_value(g, x, &c) ? ir_dim_const(g, !c) : IR_DIM_INVALID; break;
        case IR_OP_CAST:
        case IR_OP_CAST_LIKE: {
            IrDType t = ir_val(g, n->out[0])->dtype, from = ir_val(g, n->in[0])->dtype;
            if (!ir_dtype_is_int(from) && from != DT_BOOL) return false;
            if (ir_dim_const_value(g, x, &c))
                out->v[k] = ir_dim_const(g, wrap_to(t, c));
            else if (t == DT_BOOL)
                out->v[k] = s == 2 ? IR_DIM_INVALID : ir_dim_const(g, s != 0);
            else
                out->v[k] = x;   /* sizes fit every integer type the exporters cast them to */
            break;
        }
        default: out->v[k] = x; break;   /* Identity, Squeeze, Unsqueeze, Reshape, Flatten: same elements */
        }
        if (out->v[k] == IR_DIM_INVALID) return false;
    }
    return true;
}

static bool eval_shape(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    const IrValue *x = ir_val(g, n->in[0]);
    int64_t r = x->rank, start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    if (end - start != (int64_t)numel && !(end <= start && numel == 0)) return false;
    out->n = numel;
    if (numel) infer_copy(out->v, x->dims + start, numel);
    return true;
}

static bool eval_gather(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals data;
    int64_t idx[SYMVAL_MAX];
    uint32_t ni;
    const IrValue *x = ir_val(g, n->in[0]);
    int64_t axis = ir_attr_int(n, "axis", 0);
    if (x->rank != 1 || (axis != 0 && axis != -1)) return false;
    if (!in_vals(g, n, 0, &data) || !ir_value_ints(g, n->in[1], idx, SYMVAL_MAX, &ni) || ni != numel) return false;
    out->n = numel;
    for (uint32_t k = 0; k < ni; k++) {
        int64_t i = idx[k] < 0 ? idx[k] + data.n : idx[k];
        if (i < 0 || i >= (int64_t)data.n) return false;
        out->v[k] = data.v[i];
    }
    return true;
}

static bool eval_concat(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    out->n = 0;
    for (uint32_t i = 0; i < n->nin; i++) {
        Vals v;
        if (!in_vals(g, n, i, &v) || out->n + v.n > numel) return false;
        infer_copy(out->v + out->n, v.v, v.n);
        out->n += v.n;
    }
    return out->n == numel;
}

/* numpy slicing of a 1-D vector with constant starts/ends/steps. */
static bool eval_slice(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals data;
    int64_t st[1], en[1], ax[1] = {0}, sp[1] = {1};
    uint32_t k;
    if (ir_val(g, n->in[0])->rank != 1 || !in_vals(g, n, 0, &data)) return false;
    if (!ir_value_ints(g, ir_input(n, 1), st, 1, &k) || k != 1) return false;
    if (!ir_value_ints(g, ir_input(n, 2), en, 1, &k) || k != 1) return false;
    if (ir_input(n, 3) != IR_NONE && (!ir_value_ints(g, ir_input(n, 3), ax, 1, &k) || k != 1)) return false;
    if (ir_input(n, 4) != IR_NONE && (!ir_value_ints(g, ir_input(n, 4), sp, 1, &k) || k != 1)) return false;
    int64_t len = data.n, s = st[0], e = en[0], step = sp[0];
    if ((ax[0] != 0 && ax[0] != -1) || step == 0) return false;
    if (s < 0) s += len;
    if (e < 0) e += len;
    if (step > 0) {
        s = s < 0 ? 0 : s > len ? len : s;
        e = e < 0 ? 0 : e > len ? len : e;
    } else {
        s = s < 0 ? 0 : s > len - 1 ? len - 1 : s;
        e = e < -1 ? -1 : e > len - 1 ? len - 1 : e;
    }
    out->n = 0;
    for (int64_t i = s; step > 0 ? i < e : i > e; i += step) {
        if (out->n == SYMVAL_MAX) return false;
        out->v[out->n++] = data.v[i];
    }
    return out->n == numel;
}

static bool eval_split(IrGraph *g, IrNode *n)
{
    Vals data;
    if (ir_val(g, n->in[0])->rank != 1 || !in_vals(g, n, 0, &data)) return false;
    uint32_t off = 0, numel;
    for (uint32_t i = 0; i < n->nout; i++) {
        uint32_t v = n->out[i];
        if (v == IR_NONE) return false;
        const IrValue *val = ir_val(g, v);
        int64_t c;
        if (val->rank != 1 || !ir_dim_const_value(g, val->dims[0], &c)) return false;
        if (off + (uint64_t)c > data.n) return false;
        if (small_int(g, v, &numel)) ir_value_set_symval(g, v, data.v + off, numel);
        off += (uint32_t)c;
    }
    return true;
}

/* ReduceSum/Prod/Max/Min of a vector into one element. */
static bool eval_reduce(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals in;
    int64_t axes[2];
    uint32_t na = 0;
    if (numel != 1 || !in_vals(g, n, 0, &in) || in.n == 0) return false;
    if (ir_input(n, 1) != IR_NONE && !ir_value_ints(g, n->in[1], axes, 2, &na)) return false;
    if (na == 0 && ir_attr_int(n, "noop_with_empty_axes", 0) && in.n != 1) return false;
    if (na > 1 || (na == 1 && axes[0] != 0 && axes[0] != -1)) return false;
    IrDim acc = in.v[0];
    for (uint32_t k = 1; k < in.n; k++) {
        IrDim x = in.v[k];
        switch (n->op) {
        case IR_OP_REDUCE_SUM: acc = ir_dim_add(g, acc, x); break;
        case IR_OP_REDUCE_PROD: acc = ir_dim_mul(g, acc, x); break;
        case IR_OP_REDUCE_MAX: acc = infer_dim_max(g, acc, x); break;
        default: acc = infer_dim_min(g, acc, x); break;
        }
    }
    out->n = 1;
    out->v[0] = acc;
    return acc != IR_DIM_INVALID;
}

static bool eval_constant(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    const IrAttr *a = ir_attr(n, "value");
    out->n = numel;
    if (a && a->kind == ATTR_TENSOR) {
        const IrTensor *t = a->u.t;
        if ((!ir_dtype_is_int(t->dtype) && t->dtype != DT_BOOL) || t->numel != numel || !t->data) return false;
        for (uint32_t k = 0; k < numel; k++) out->v[k] = ir_dim_const(g, ir_tensor_get_i64(t, k));
        return true;
    }
    if ((a = ir_attr(n, "value_int")) && numel == 1) {
        out->v[0] = ir_dim_const(g, ir_attr_int(n, "value_int", 0));
        return true;
    }
    if ((a = ir_attr(n, "value_ints")) && a->kind == ATTR_INTS && a->n == numel) {
        for (uint32_t k = 0; k < numel; k++) out->v[k] = ir_dim_const(g, a->u.is[k]);
        return true;
    }
    return false;
}

static bool eval_generator(IrGraph *g, const IrNode *n, uint32_t numel, Vals *out)
{
    Vals a, b;
    int64_t c;
    out->n = numel;
    switch (n->op) {
    case IR_OP_CONSTANT_OF_SHAPE: {
        const IrAttr *v = ir_attr(n, "value");
        if (!v || v->kind != ATTR_TENSOR || v->u.t->numel != 1 || !v->u.t->data) return false;
        if (!ir_dtype_is_int(v->u.t->dtype) && v->u.t->dtype != DT_BOOL) return false;
        for (uint32_t k = 0; k < numel; k++) out->v[k] = ir_dim_const(g, ir_tensor_get_i64(v->u.t, 0));
        return true;
    }
    case IR_OP_RANGE:
        if (!in_vals(g, n, 0, &a) || !in_vals(g, n, 2, &b) || a.n != 1 || b.n != 1 ||
            !ir_dim_const_value(g, b.v[0], &c))
            return false;
        for (uint32_t k = 0; k < numel; k++) out->v[k] = ir_dim_add(g, a.v[0], ir_dim_const(g, c * (int64_t)k));
        return true;
    case IR_OP_EXPAND:
        if (!in_vals(g, n, 0, &a) || (a.n != 1 && a.n != numel)) return false;
        for (uint32_t k = 0; k < numel; k++) out->v[k] = a.v[a.n == 1 ? 0 : k];
        return true;
    case IR_OP_TILE:
        if (!in_vals(g, n, 0, &a) || a.n == 0 || numel % a.n != 0) return false;
        for (uint32_t k = 0; k < numel; k++) out->v[k] = a.v[k % a.n];
        return true;
    default:
        return false;
    }
}

void symval_eval(IrGraph *g, IrNode *n)
{
    /* recomputed from scratch: what is no longer known must not linger */
    for (uint32_t i = 0; i < n->nout; i++) {
        if (n->out[i] == IR_NONE) continue;
        IrValue *v = ir_val(g, n->out[i]);
        if (v->konst) continue;
        v->symval = NULL;
        v->symval_n = 0;
    }
    if (n->op == IR_OP_SPLIT) {
        eval_split(g, n);
        return;
    }
    uint32_t numel;
    if (n->nout < 1 || !small_int(g, n->out[0], &numel)) return;
    Vals out;
    bool ok;
    switch (n->op) {
    case IR_OP_SHAPE: ok = eval_shape(g, n, numel, &out); break;
    case IR_OP_SIZE:
        out.n = 1;
        out.v[0] = infer_prod(g, ir_val(g, n->in[0])->dims, 0, ir_val(g, n->in[0])->rank);
        ok = true;
        break;
    case IR_OP_CONSTANT: ok = eval_constant(g, n, numel, &out); break;
    case IR_OP_GATHER: ok = eval_gather(g, n, numel, &out); break;
    case IR_OP_CONCAT: ok = eval_concat(g, n, numel, &out); break;
    case IR_OP_SLICE: ok = eval_slice(g, n, numel, &out); break;
    case IR_OP_IDENTITY:
    case IR_OP_SQUEEZE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_RESHAPE:
    case IR_OP_FLATTEN:
    case IR_OP_CAST:
    case IR_OP_CAST_LIKE:
    case IR_OP_NEG:
    case IR_OP_ABS:
    case IR_OP_NOT: ok = unary(g, n, numel, &out); break;
    case IR_OP_ADD:
    case IR_OP_SUB:
    case IR_OP_MUL:
    case IR_OP_DIV:
    case IR_OP_MOD:
    case IR_OP_MAX:
    case IR_OP_MIN:
    case IR_OP_EQUAL:
    case IR_OP_LESS:
    case IR_OP_LESS_OR_EQUAL:
    case IR_OP_GREATER:
    case IR_OP_GREATER_OR_EQUAL:
    case IR_OP_AND:
    case IR_OP_OR:
    case IR_OP_XOR:
    case IR_OP_WHERE: ok = elementwise(g, n, numel, &out); break;
    case IR_OP_REDUCE_SUM:
    case IR_OP_REDUCE_PROD:
    case IR_OP_REDUCE_MAX:
    case IR_OP_REDUCE_MIN: ok = eval_reduce(g, n, numel, &out); break;
    case IR_OP_CONSTANT_OF_SHAPE:
    case IR_OP_RANGE:
    case IR_OP_EXPAND:
    case IR_OP_TILE: ok = eval_generator(g, n, numel, &out); break;
    default: ok = false; break;
    }
    if (!ok || out.n != numel) return;
    for (uint32_t k = 0; k < numel; k++)
        if (out.v[k] == IR_DIM_INVALID) return;
    ir_value_set_symval(g, n->out[0], out.v, numel);
}
