/* backends/candle/function.c — what a lowering needs to write one Rust function: readable local names,
 * references to values (locals, `&Tensor` parameters, struct fields), and dims as usize expressions.
 *
 * Symbols are bound where the function first can read them: from a parameter's shape (a `let` at the top,
 * written only if some statement used it — no unused variables), or from the output of the node that
 * made them (data-dependent sizes: `nonzero.dim(1)?` inline). */
#include "cg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cg_fn_init(CgFn *f, IrGraph *g, CgCrate *crate, CgOut *body)
{
    memset(f, 0, sizeof *f);
    f->g = g;
    f->crate = crate;
    f->o = body;
    f->a = g->arena;
    f->ref = m2c_alloc_array(g->arena, g->values.n ? g->values.n : 1, sizeof *f->ref);
    f->refkind = m2c_alloc(g->arena, g->values.n ? g->values.n : 1);
    f->layout = m2c_alloc(g->arena, g->values.n ? g->values.n : 1);
    static const char *reserved[] = {"self", "dev", "vb", "device", NULL};
    for (const char **r = reserved; *r; r++) m2c_map_put(f->a, &f->names, *r, 1);
}

const char *cg_fresh(CgFn *f, const char *hint)
{
    const char *base = cg_snake(f->a, hint);
    const char *name = base;
    for (int k = 1; m2c_map_get(&f->names, name, NULL); k++) name = m2c_sprintf(f->a, "%s_%d", base, k);
    m2c_map_put(f->a, &f->names, name, 1);
    return name;
}

/* Short names for the ops whose snake_case is long or odd; a local is named after what made it. */
static const char *op_hint(const IrNode *n)
{
    switch (n->op) {
    case IR_OP_MATMUL: return "matmul";
    case IR_OP_LAYER_NORM: return "layer_norm";
    case IR_OP_REDUCE_MEAN: return "mean";
    case IR_OP_REDUCE_SUM: return "sum";
    case IR_OP_REDUCE_MAX: return "max";
    case IR_OP_CONV: return "conv";
    case IR_OP_CONV_TRANSPOSE: return "conv_t";
    case IR_OP_CONSTANT_OF_SHAPE: return "filled";
    case IR_OP_GATHER: return "gathered";
    case IR_OP_TRANSPOSE: return "transposed";
    case IR_OP_RESHAPE: return "reshaped";
    case IR_OP_UNSQUEEZE: return "unsqueezed";
    case IR_OP_SQUEEZE: return "squeezed";
    case IR_OP_CONCAT: return "cat";
    case IR_OP_SLICE: return "sliced";
    case IR_OP_EXPAND: return "expanded";
    case IR_OP_WHERE: return "selected";
    case IR_OP_CAST: return "cast";
    default: return n->op_type;
    }
}

static bool nice_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_')) return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return false;
    if (strncmp(s, "val_", 4) == 0 || strncmp(s, "node_", 5) == 0) return false;   /* dynamo's anonymous values */
    return true;
}

/* "linear_12" -> "linear", "split_1_split_2" -> "split_split": exporters number values globally, so the same
 * layer's locals would differ from one instance to the next; cg_fresh numbers them again, locally. */
static const char *strip_number(M2cArena *a, const char *s)
{
    M2cBuf b = {0};
    for (size_t i = 0; s[i];) {
        if (s[i] == '_' && s[i + 1] >= '0' && s[i + 1] <= '9') {
            size_t j = i + 1;
            while (s[j] >= '0' && s[j] <= '9') j++;
            if (s[j] == '_' || s[j] == 0) {
                i = j;
                continue;
            }
        }
        m2c_buf_putc(&b, s[i++]);
    }
    const char *r = b.len ? m2c_strndup(a, b.s, b.len) : s;
    m2c_buf_free(&b);
    return r;
}

const char *cg_def(CgFn *f, uint32_t v)
{
    IrValue *val = ir_val(f->g, v);
    /* inside a module instance a graph output's name would differ from one instance to the next */
    bool named = nice_name(val->name) && !(f->instance && (val->flags & V_OUTPUT));
    const char *hint = named ? strip_number(f->a, val->name)
                       : val->producer != IR_NONE ? op_hint(ir_node(f->g, val->producer))
                                                  : "t";
    bool used = (val->flags & V_OUTPUT) || ir_use_count(f->g, v) > 0;
    const char *name = cg_fresh(f, used ? hint : m2c_sprintf(f->a, "_%s", hint));
    f->ref[v] = name;
    f->refkind[v] = REF_LOCAL;
    return name;
}

void cg_fn_param(CgFn *f, uint32_t v, const char *name)
{
    /* an input the graph no longer reads (its shape was folded away) stays in the API, named as unused */
    bool used = (ir_val(f->g, v)->flags & V_OUTPUT) || ir_use_count(f->g, v) > 0;
    const char *id = cg_fresh(f, used ? name : m2c_sprintf(f->a, "_%s", name));
    f->ref[v] = id;
    f->refkind[v] = REF_BORROW;
    f->layout[v] = LAYOUT_VIEW;   /* the caller's tensor may be any view */
    const IrValue *val = ir_val(f->g, v);
    for (int k = 0; k < val->rank; k++) {
        if (!ir_dim_is_sym(f->g, val->dims[k])) continue;
        const char *sym = ir_dim_expr(f->g, val->dims[k])->name;
        bool bound = false;
        for (uint32_t i = 0; i < f->syms.n; i++) bound |= strcmp(f->syms.v[i].name, sym) == 0;
        if (bound) continue;
        CgSymBinding b = {sym, cg_fresh(f, sym), id, k, false};
        m2c_vec_push(f->a, &f->syms, b);
    }
}

void cg_fn_field(CgFn *f, uint32_t v, const char *field)
{
    f->ref[v] = m2c_sprintf(f->a, "self.%s", field);
    f->refkind[v] = REF_FIELD;
}

void cg_fn_bind_outputs(CgFn *f, const IrNode *n)
{
    for (uint32_t o = 0; o < n->nout; o++) {
        uint32_t v = n->out[o];
        if (v == IR_NONE || !f->ref[v]) continue;
        const IrValue *val = ir_val(f->g, v);
        for (int k = 0; k < val->rank; k++) {
            if (!ir_dim_is_sym(f->g, val->dims[k])) continue;
            const char *sym = ir_dim_expr(f->g, val->dims[k])->name;
            bool bound = false;
            for (uint32_t i = 0; i < f->syms.n; i++) bound |= strcmp(f->syms.v[i].name, sym) == 0;
            if (bound) continue;
            CgSymBinding b = {sym, m2c_sprintf(f->a, "%s.dim(%d)?", f->ref[v], k), NULL, k, false};
            m2c_vec_push(f->a, &f->syms, b);
        }
    }
}

void cg_fn_bind_symbol(CgFn *f, const char *sym, const char *expr)
{
    CgSymBinding b = {sym, expr, NULL, -1, false};
    m2c_vec_push(f->a, &f->syms, b);
    m2c_map_put(f->a, &f->names, expr, 1);
}

const char *cg_kv_field(M2cArena *a, uint32_t i)
{
    return i ? m2c_sprintf(a, "kv_cache_%u", i) : "kv_cache";
}

void cg_fn_symbol_lets(CgFn *f, CgOut *o)
{
    bool *done = m2c_alloc(f->a, f->syms.n ? f->syms.n : 1);
    for (uint32_t i = 0; i < f->syms.n; i++) {
        const CgSymBinding *b = &f->syms.v[i];
        if (!b->used || !b->let_src || done[i]) continue;
        /* every used symbol of the same parameter in one destructuring let */
        uint32_t v = IR_NONE;
        for (uint32_t k = 0; k < f->g->values.n && v == IR_NONE; k++)
            if (f->ref[k] && f->refkind[k] == REF_BORROW && strcmp(f->ref[k], b->let_src) == 0) v = k;
        int rank = v != IR_NONE ? ir_val(f->g, v)->rank : 0;
        const char *names[IR_MAX_RANK] = {0};
        int count = 0;
        for (uint32_t j = i; j < f->syms.n; j++) {
            const CgSymBinding *c = &f->syms.v[j];
            if (!c->used || !c->let_src || strcmp(c->let_src, b->let_src) != 0 || c->axis >= IR_MAX_RANK) continue;
            names[c->axis] = c->expr;
            done[j] = true;
            count++;
        }
        if (count >= 2 && rank >= 2 && rank <= 5) {
            M2cBuf t = {0};
            for (int k = 0; k < rank; k++) m2c_buf_printf(&t, "%s%s", k ? ", " : "", names[k] ? names[k] : "_");
            cg_line(o, "let (%s) = %s.dims%d()?;", t.s, b->let_src, rank);
            m2c_buf_free(&t);
        } else {
            for (int k = 0; k < IR_MAX_RANK; k++)
                if (names[k]) cg_line(o, "let %s = %s.dim(%d)?;", names[k], b->let_src, k);
        }
    }
}

/* What a constant without a PyTorch name is to the one layer that reads it: the weight or the bias of a
 * convolution or a product (TorchScript folds weight norm into such an anonymous `onnx::Conv_N`). */
static const char *const_role(IrGraph *g, uint32_t v)
{
    uint32_t n;
    if (g->nuses_for != g->values.n) return NULL;   /* no use lists: no role */
    const uint32_t *uses = ir_uses(g, v, &n);
    if (n != 1) return NULL;
    const IrNode *u = ir_node(g, uses[0]);
    bool layer = u->op == IR_OP_CONV || u->op == IR_OP_CONV_TRANSPOSE || u->op == IR_OP_LINEAR || u->op == IR_OP_GEMM;
    if (!layer) return NULL;
    return u->in[1] == v ? "weight" : ir_input(u, 2) == v ? "bias" : NULL;
}

const char *cg_v(CgFn *f, uint32_t v)
{
    if (v != IR_NONE && f->ref[v]) return f->ref[v];
    /* A constant read as a tensor for the first time: small ones are written into the code, larger ones
     * are struct fields loaded with the weights. */
    const IrValue *val = ir_val(f->g, v);
    if (val->konst && val->konst->numel == 0 && cg_rust_type(val->konst->dtype)) {
        const char *name = cg_fresh(f, "empty");
        cg_stmt(f, "let %s = Tensor::zeros(%s, %s, %s)?;", name, cg_shape_of(f, v), cg_candle_dtype(val->konst->dtype),
                cg_device(f));
        f->ref[v] = name;
        f->refkind[v] = REF_LOCAL;
        return name;
    }
    /* Small constants are literals in the code; weights never are (a checkpoint must be able to replace
     * them), nor float tensors the export stored (a folded bias): those are fields, loaded once. */
    bool literal = val->konst && val->konst->numel <= 16 && cg_rust_type(val->konst->dtype) && !(val->flags & V_PARAM) &&
                   (!(val->flags & V_INIT) || !ir_dtype_is_float(val->konst->dtype) || val->konst->numel == 1);
    if (literal) {
        const IrTensor *t = val->konst;
        const char *name = cg_fresh(f, "c");
        bool half = t->dtype == DT_F16 || t->dtype == DT_BF16;
        M2cBuf b = {0};
        for (uint64_t i = 0; i < t->numel; i++)
            m2c_buf_printf(&b, "%s%s", i ? ", " : "", cg_typed_lit(f->a, half ? DT_F32 : t->dtype, ir_tensor_get_f64(t, i)));
        const char *conv = half ? m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(t->dtype)) : "";
        if (t->rank == 0)
            cg_stmt(f, "let %s = Tensor::new(%s, %s)?%s;", name, b.s, cg_device(f), conv);
        else if (t->rank == 1)
            cg_stmt(f, "let %s = Tensor::new(&[%s], %s)?%s;", name, b.s ? b.s : "", cg_device(f), conv);
        else
            cg_stmt(f, "let %s = Tensor::new(&[%s], %s)?%s.reshape(%s)?;", name, b.s ? b.s : "", cg_device(f), conv,
                    cg_shape_of(f, v));
        m2c_buf_free(&b);
        f->ref[v] = name;
        f->refkind[v] = REF_LOCAL;
        return name;
    }
    if (val->konst && (val->flags & V_PARAM)) {
        /* a weight: a field named after its PyTorch name under the struct's module path */
        const char *full = val->state_name ? val->state_name : val->name;
        size_t pl = f->scope_path ? strlen(f->scope_path) : 0;
        bool under = !f->scope_path || pl == 0 || (strncmp(full, f->scope_path, pl) == 0 && full[pl] == '.');
        const char *rel = under && pl ? full + pl + 1 : full;
        const char *field = cg_fresh(f, rel);
        CgWeight w = {field, full, rel, val->konst, v};
        m2c_vec_push(f->a, &f->fields, w);
        cg_fn_field(f, v, field);
        return f->ref[v];
    }
    if (val->konst) {
        const char *role = const_role(f->g, v);
        const char *field = cg_fresh(f, role ? role : m2c_sprintf(f->a, "c_%s", nice_name(val->name) ? val->name : "const"));
        CgWeight w = {field, NULL, NULL, val->konst, v};
        m2c_vec_push(f->a, &f->fields, w);
        cg_fn_field(f, v, field);
        return f->ref[v];
    }
    if (val->symval) {
        /* symbolic contents (a shape computed from the inputs' dims) as an i64 tensor */
        M2cBuf b = {0};
        for (uint32_t i = 0; i < val->symval_n; i++) {
            int64_t c;
            const IrDimExpr *e = ir_dim_expr(f->g, val->symval[i]);
            if (ir_dim_const_value(f->g, val->symval[i], &c))
                m2c_buf_printf(&b, "%s%lldi64", i ? ", " : "", (long long)c);
            else
                m2c_buf_printf(&b, e->kind == DIM_SYM ? "%s%s as i64" : "%s(%s) as i64", i ? ", " : "",
                               cg_dim(f, val->symval[i]));
        }
        const char *name = cg_fresh(f, "dims");
        if (val->rank == 0)
            cg_stmt(f, "let %s = Tensor::new(%s, %s)?;", name, b.s ? b.s : "0i64", cg_device(f));
        else
            cg_stmt(f, "let %s = Tensor::new(&[%s], %s)?;", name, b.s ? b.s : "", cg_device(f));
        m2c_buf_free(&b);
        f->ref[v] = name;
        f->refkind[v] = REF_LOCAL;
        return name;
    }
    f->failed = true;
    m2c_error(NULL, "internal error: value '%s' is used before it is defined in the generated code", val->name);
    return "?";
}

void cg_set_layout(CgFn *f, uint32_t v, CgLayout l)
{
    if (v != IR_NONE) f->layout[v] = (uint8_t)l;
}

CgLayout cg_layout(CgFn *f, uint32_t v)
{
    return (CgLayout)f->layout[v];
}

const char *cg_contig(CgFn *f, uint32_t v, bool transposed_ok)
{
    const char *r = cg_v(f, v);
    CgLayout l = (CgLayout)f->layout[v];
    if (l == LAYOUT_CONTIG || (l == LAYOUT_T_LAST2 && transposed_ok)) return r;
    return m2c_sprintf(f->a, "%s.contiguous()?", r);
}

const char *cg_ref(CgFn *f, uint32_t v)
{
    const char *r = cg_v(f, v);
    return f->refkind[v] == REF_BORROW ? r : m2c_sprintf(f->a, "&%s", r);
}

const char *cg_in(CgFn *f, const IrNode *n, uint32_t i)
{
    M2C_ASSERT(i < n->nin && n->in[i] != IR_NONE);
    return cg_v(f, n->in[i]);
}

const char *cg_in_ref(CgFn *f, const IrNode *n, uint32_t i)
{
    M2C_ASSERT(i < n->nin && n->in[i] != IR_NONE);
    return cg_ref(f, n->in[i]);
}

const char *cg_out(CgFn *f, const IrNode *n, uint32_t i)
{
    M2C_ASSERT(i < n->nout && n->out[i] != IR_NONE);
    return cg_def(f, n->out[i]);
}

const char *cg_device(CgFn *f)
{
    f->uses_device = true;
    return "&self.device";
}

/* --- dims as usize Rust ---------------------------------------------------------------------------------- */

static void rust_dim(CgFn *f, IrDim d, int prec, M2cBuf *b);

static const char *sym_expr(CgFn *f, const char *name)
{
    for (uint32_t i = 0; i < f->syms.n; i++) {
        if (strcmp(f->syms.v[i].name, name) == 0) {
            f->syms.v[i].used = true;
            return f->syms.v[i].expr;
        }
    }
    if (f->collect_missing) {
        /* a module's forward that needs a dim none of its inputs carries gets it as a usize parameter */
        CgSymBinding b = {name, cg_fresh(f, name), NULL, -1, true};
        m2c_vec_push(f->a, &f->syms, b);
        m2c_vec_push(f->a, &f->missing, f->syms.v[f->syms.n - 1].name);
        return f->syms.v[f->syms.n - 1].expr;
    }
    f->failed = true;
    m2c_error(NULL, "internal error: the generated code needs dim '%s' before it is known", name);
    return "0";
}

static void rust_term(CgFn *f, const IrDimExpr *t, IrDim id, int64_t sign, M2cBuf *b)
{
    if (t->kind == DIM_MUL) {
        int64_t c = t->c * sign;
        if (c != 1) m2c_buf_printf(b, "%lld * ", (long long)c);
        for (uint32_t i = 0; i < t->nops; i++) {
            if (i) m2c_buf_puts(b, " * ");
            rust_dim(f, t->ops[i], 2, b);
        }
    } else {
        rust_dim(f, id, 1, b);
    }
}

/* Positive terms first, then the subtracted ones, so usize arithmetic never goes below zero on the way. */
static void rust_dim(CgFn *f, IrDim d, int prec, M2cBuf *b)
{
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    switch (e->kind) {
    case DIM_CONST:
        m2c_buf_printf(b, "%lld", (long long)e->c);
        return;
    case DIM_SYM:
        m2c_buf_puts(b, sym_expr(f, e->name));
        return;
    case DIM_ADD: {
        if (prec > 0) m2c_buf_puts(b, "(");
        bool first = true;
        for (int pass = 0; pass < 2; pass++) {
            for (uint32_t i = 0; i < e->nops; i++) {
                const IrDimExpr *t = ir_dim_expr(f->g, e->ops[i]);
                bool neg = t->kind == DIM_MUL && t->c < 0;
                if (neg != (pass == 1)) continue;
                if (!first) m2c_buf_puts(b, neg ? " - " : " + ");
                rust_term(f, t, e->ops[i], neg ? -1 : 1, b);
                first = false;
            }
            if (pass == 0 && e->c > 0) {
                m2c_buf_printf(b, "%s%lld", first ? "" : " + ", (long long)e->c);
                first = false;
            }
        }
        if (e->c < 0) m2c_buf_printf(b, " - %lld", -(long long)e->c);
        if (prec > 0) m2c_buf_puts(b, ")");
        return;
    }
    case DIM_MUL:
        if (prec > 1) m2c_buf_puts(b, "(");
        rust_term(f, e, d, 1, b);
        if (prec > 1) m2c_buf_puts(b, ")");
        return;
    case DIM_DIV:
    case DIM_MOD:
        if (prec > 1) m2c_buf_puts(b, "(");
        rust_dim(f, e->ops[0], 1, b);
        m2c_buf_puts(b, e->kind == DIM_DIV ? " / " : " % ");
        rust_dim(f, e->ops[1], 2, b);
        if (prec > 1) m2c_buf_puts(b, ")");
        return;
    case DIM_MAX:
    case DIM_MIN: {
        /* a symbol first, so the literal's type is inferred: seq.max(1) */
        uint32_t first = 0;
        for (uint32_t i = 0; i < e->nops; i++)
            if (!ir_dim_is_const(f->g, e->ops[i])) {
                first = i;
                break;
            }
        rust_dim(f, e->ops[first], 2, b);
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i == first) continue;
            m2c_buf_puts(b, e->kind == DIM_MAX ? ".max(" : ".min(");
            rust_dim(f, e->ops[i], 0, b);
            m2c_buf_puts(b, ")");
        }
        return;
    }
    }
}

const char *cg_dim(CgFn *f, IrDim d)
{
    M2cBuf b = {0};
    rust_dim(f, d, 0, &b);
    const char *s = m2c_strdup(f->a, b.s ? b.s : "0");
    m2c_buf_free(&b);
    return s;
}

const char *cg_shape(CgFn *f, int rank, const IrDim *dims)
{
    M2cBuf b = {0};
    if (rank > 6) m2c_buf_puts(&b, "vec![");
    else m2c_buf_puts(&b, "(");
    for (int i = 0; i < rank; i++) m2c_buf_printf(&b, "%s%s", i ? ", " : "", cg_dim(f, dims[i]));
    if (rank == 1) m2c_buf_puts(&b, ",");
    m2c_buf_puts(&b, rank > 6 ? "]" : ")");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

const char *cg_shape_of(CgFn *f, uint32_t v)
{
    const IrValue *val = ir_val(f->g, v);
    return cg_shape(f, val->rank, val->dims);
}

bool cg_scalar_const(CgFn *f, uint32_t v, double *out)
{
    if (v == IR_NONE) return false;
    const IrValue *val = ir_val(f->g, v);
    if (!val->konst || val->konst->numel != 1) return false;
    *out = ir_tensor_get_f64(val->konst, 0);
    return true;
}

/* Literals close to a well-known constant are written as that constant: clearer, and what clippy's
 * approx_constant lint (deny by default) insists on.  f32 model constants (sqrt(2) as 1.4142135) match it
 * to float precision. */
static const char *named_constant(double v, bool f32)
{
    static const struct {
        const char *name;
        double value;
    } k[] = {{"PI", 3.14159265358979323846}, {"TAU", 6.28318530717958647692}, {"E", 2.71828182845904523536},
             {"SQRT_2", 1.41421356237309504880}, {"FRAC_1_SQRT_2", 0.70710678118654752440},
             {"LN_2", 0.69314718055994530942}, {"LN_10", 2.30258509299404568402}, {"LOG2_E", 1.44269504088896340736},
             {"LOG10_E", 0.43429448190325182765}, {"LOG2_10", 3.32192809488736234787},
             {"LOG10_2", 0.30102999566398119521}, {"FRAC_PI_2", 1.57079632679489661923},
             {"FRAC_PI_3", 1.04719755119659774615}, {"FRAC_PI_4", 0.78539816339744830962},
             {"FRAC_PI_6", 0.52359877559829887308}, {"FRAC_PI_8", 0.39269908169872415481},
             {"FRAC_1_PI", 0.31830988618379067154}, {"FRAC_2_PI", 0.63661977236758134308},
             {"FRAC_2_SQRT_PI", 1.12837916709551257390}};
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        double tol = f32 ? 1e-6 : 1e-12;
        if (v == v && (v - k[i].value) <= tol * k[i].value && (k[i].value - v) <= tol * k[i].value) return k[i].name;
    }
    return NULL;
}

const char *cg_f64(M2cArena *a, double v)
{
    const char *named = named_constant(v, false);
    if (named) return m2c_sprintf(a, "std::f64::consts::%s", named);
    if (isnan(v)) return "f64::NAN";
    if (isinf(v)) return v < 0 ? "f64::NEG_INFINITY" : "f64::INFINITY";
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.17g", v);
    /* shortest text that reads back as the same double */
    for (int p = 1; p <= 17; p++) {
        char t[64];
        snprintf(t, sizeof t, "%.*g", p, v);
        if (strtod(t, NULL) == v) {
            snprintf(tmp, sizeof tmp, "%s", t);
            break;
        }
    }
    if (!strpbrk(tmp, ".eE")) return m2c_sprintf(a, "%s.0", tmp);
    return m2c_strdup(a, tmp);
}

const char *cg_f32(M2cArena *a, double v)
{
    if (isnan(v) || isinf(v)) return cg_f64(a, v);
    /* an f32 value used where Rust wants f64 (affine, powf, eps): the f64 constant is as exact */
    const char *named = named_constant(v, true);
    if (named) return m2c_sprintf(a, "std::f64::consts::%s", named);
    char t[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(t, sizeof t, "%.*g", p, v);
        if ((float)strtod(t, NULL) == (float)v) break;
    }
    return strpbrk(t, ".eE") ? m2c_strdup(a, t) : m2c_sprintf(a, "%s.0", t);
}

const char *cg_typed_lit(M2cArena *a, IrDType t, double v)
{
    if (isnan(v) || isinf(v)) {
        const char *ty = cg_storage_dtype(t) == DT_F64 ? "f64" : "f32";
        return m2c_sprintf(a, "%s::%s", ty, isnan(v) ? "NAN" : v < 0 ? "NEG_INFINITY" : "INFINITY");
    }
    const char *named = ir_dtype_is_float(t) ? named_constant(v, cg_storage_dtype(t) != DT_F64) : NULL;
    if (named) return m2c_sprintf(a, "std::%s::consts::%s", cg_storage_dtype(t) == DT_F64 ? "f64" : "f32", named);
    switch (cg_storage_dtype(t)) {
    case DT_F32: return m2c_sprintf(a, "%sf32", cg_f32(a, v));
    case DT_F64: return m2c_sprintf(a, "%sf64", cg_f64(a, v));
    case DT_I64: return m2c_sprintf(a, "%lldi64", (long long)v);
    case DT_I32: return m2c_sprintf(a, "%lldi32", (long long)v);
    case DT_I16: return m2c_sprintf(a, "%lldi16", (long long)v);
    case DT_U32: return m2c_sprintf(a, "%lldu32", (long long)v);
    case DT_U8: return m2c_sprintf(a, "%lldu8", (long long)v);
    default: return cg_f64(a, v);
    }
}

const char *cg_scalar_lit(CgFn *f, uint32_t v)
{
    const IrValue *val = ir_val(f->g, v);
    double c = ir_tensor_get_f64(val->konst, 0);
    IrDType t = val->konst->dtype;
    return t == DT_F32 || t == DT_F16 || t == DT_BF16 ? cg_f32(f->a, c) : cg_f64(f->a, c);
}

void cg_stmt(CgFn *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; i < f->o->indent; i++) m2c_buf_puts(&f->o->buf, "    ");
    m2c_buf_vprintf(&f->o->buf, fmt, ap);
    m2c_buf_putc(&f->o->buf, '\n');
    va_end(ap);
}

void cg_comment(CgFn *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; i < f->o->indent; i++) m2c_buf_puts(&f->o->buf, "    ");
    m2c_buf_puts(&f->o->buf, "// ");
    m2c_buf_vprintf(&f->o->buf, fmt, ap);
    m2c_buf_putc(&f->o->buf, '\n');
    va_end(ap);
}

bool cg_unsupported(CgFn *f, const IrNode *n, const char *why)
{
    f->failed = true;
    m2c_error(&n->loc, "%s: cannot generate Candle code: %s", n->op_type, why);
    return false;
}
