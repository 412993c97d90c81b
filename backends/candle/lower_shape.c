/* backends/candle/lower_shape.c — data movement and shape ops: the Reshape family, Transpose, Concat,
 * Expand, Split, Tile, Shape, Size, Range, ConstantOfShape, DepthToSpace, SpaceToDepth; and the dispatch to
 * lower_shape_slice.c (Slice, Pad) and lower_shape_index.c (gathers, scatters, OneHot, NonZero, Trilu,
 * EyeLike).
 *
 * Shapes come from the IR's symbolic dims, never from tensors at run time: a Reshape to (batch, seq, 4, 8)
 * is `.reshape((batch, seq, 4, 8))` with batch and seq read off the inputs.  Only when the target shape is a
 * tensor whose contents the compiler cannot know (the output dims are symbols this node defines) is the
 * tensor read on the host, and the ONNX rules applied there (reshape_target, squeeze_axes, expand_shape).
 * Ops that only change the view (Transpose, Expand, Split) leave non-contiguous tensors; the consumers that
 * need contiguity ask for it through the recorded layout. */
#include "lower_shape.h"

#include <math.h>
#include <string.h>

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

int cg_shape_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

/* Does `d` mention the symbol `name`? */
static bool mentions(CgFn *f, IrDim d, const char *name)
{
    if (d == IR_DIM_INVALID) return false;
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    if (e->kind == DIM_SYM) return strcmp(e->name, name) == 0;
    for (uint32_t i = 0; i < e->nops; i++)
        if (mentions(f, e->ops[i], name)) return true;
    return false;
}

/* A symbol node n defines: in none of its inputs' dims or known contents (a size read from a tensor at
 * run time, named after n's output). */
static bool defined_by(CgFn *f, const IrNode *n, const char *name)
{
    for (uint32_t i = 0; i < n->nin; i++) {
        if (n->in[i] == IR_NONE) continue;
        const IrValue *x = val(f, n->in[i]);
        for (int k = 0; k < x->rank; k++)
            if (mentions(f, x->dims[k], name)) return false;
        for (uint32_t k = 0; x->symval && k < x->symval_n; k++)
            if (mentions(f, x->symval[k], name)) return false;
    }
    return true;
}

bool cg_shape_dim_bound(CgFn *f, const IrNode *n, IrDim d)
{
    if (d == IR_DIM_INVALID) return false;
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    switch (e->kind) {
    case DIM_CONST:
        return true;
    case DIM_SYM:
        for (uint32_t i = 0; i < f->syms.n; i++)
            if (strcmp(f->syms.v[i].name, e->name) == 0) return true;
        /* a module's forward gets the symbols its caller knows as usize parameters */
        return f->collect_missing && !defined_by(f, n, e->name);
    default:
        for (uint32_t i = 0; i < e->nops; i++)
            if (!cg_shape_dim_bound(f, n, e->ops[i])) return false;
        return true;
    }
}

bool cg_shape_value_bound(CgFn *f, const IrNode *n, uint32_t v)
{
    const IrValue *x = val(f, v);
    for (int i = 0; i < x->rank; i++)
        if (!cg_shape_dim_bound(f, n, x->dims[i])) return false;
    return true;
}

bool cg_shape_known_list(CgFn *f, const IrNode *n, uint32_t v, IrDim *out, uint32_t max, uint32_t *count)
{
    if (v == IR_NONE || !ir_value_dims(f->g, v, out, max, count)) return false;
    for (uint32_t i = 0; i < *count; i++)
        if (!cg_shape_dim_bound(f, n, out[i])) return false;
    return true;
}

/* A dim as i64 Rust, where differences may go below zero on the way (max(seq - 3, 0) is fine in i64 and
 * a panic in usize).  `prec` is what the context binds: 0 an argument, 1 an operand of + or -, 2 of *,
 * 3 a method receiver or a cast operand; parentheses only where the context needs them (rustc warns about
 * the others). */
static void i64_expr(CgFn *f, IrDim d, int prec, M2cBuf *b);

/* A term of a sum without its sign: `3 * seq`, `seq.min(4)`. */
static void i64_magnitude(CgFn *f, IrDim t, M2cBuf *b)
{
    const IrDimExpr *e = ir_dim_expr(f->g, t);
    if (e->kind != DIM_MUL || e->c >= 0) {
        i64_expr(f, t, 2, b);
        return;
    }
    if (e->c != -1) m2c_buf_printf(b, "%lld * ", -(long long)e->c);
    for (uint32_t i = 0; i < e->nops; i++) {
        if (i) m2c_buf_puts(b, " * ");
        i64_expr(f, e->ops[i], 2, b);
    }
}

static void i64_expr(CgFn *f, IrDim d, int prec, M2cBuf *b)
{
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    switch (e->kind) {
    case DIM_CONST:
        if (e->c < 0 && prec >= 3) m2c_buf_printf(b, "(%lldi64)", (long long)e->c);
        else m2c_buf_printf(b, prec >= 3 || e->c < 0 ? "%lldi64" : "%lld", (long long)e->c);
        return;
    case DIM_SYM:
        m2c_buf_printf(b, prec >= 3 ? "(%s as i64)" : "%s as i64", cg_dim(f, d));
        return;
    case DIM_ADD: {
        /* positive terms and constant first, so the sum reads `seq - 3`, never `-3 + seq` */
        M2cBuf t = {0};
        bool first = true;
        for (int pass = 0; pass < 2; pass++) {
            for (uint32_t i = 0; i < e->nops; i++) {
                const IrDimExpr *x = ir_dim_expr(f->g, e->ops[i]);
                bool neg = x->kind == DIM_MUL && x->c < 0;
                if (neg != (pass == 1)) continue;
                if (!first || neg) m2c_buf_puts(&t, neg ? (first ? "-(" : " - ") : " + ");
                if (neg) i64_magnitude(f, e->ops[i], &t);
                else i64_expr(f, e->ops[i], 1, &t);
                if (neg && first) m2c_buf_puts(&t, ")");
                first = false;
            }
            if (pass == 0 && e->c > 0) {
                m2c_buf_printf(&t, first ? "%lldi64" : " + %lld", (long long)e->c);
                first = false;
            }
        }
        if (e->c < 0) m2c_buf_printf(&t, " - %lld", -(long long)e->c);
        m2c_buf_printf(b, prec >= 2 ? "(%s)" : "%s", t.s);
        m2c_buf_free(&t);
        return;
    }
    case DIM_MUL: {
        M2cBuf t = {0};
        if (e->c == -1) m2c_buf_puts(&t, "-");
        else if (e->c != 1) m2c_buf_printf(&t, "%lld * ", (long long)e->c);
        for (uint32_t i = 0; i < e->nops; i++) {
            if (i) m2c_buf_puts(&t, " * ");
            i64_expr(f, e->ops[i], 2, &t);
        }
        m2c_buf_printf(b, prec >= 3 || (prec >= 2 && e->c < 0) ? "(%s)" : "%s", t.s);
        m2c_buf_free(&t);
        return;
    }
    case DIM_DIV:
    case DIM_MOD:
        /* the IR divides by positive sizes, where floor division is div_euclid */
        i64_expr(f, e->ops[0], 3, b);
        m2c_buf_puts(b, e->kind == DIM_DIV ? ".div_euclid(" : ".rem_euclid(");
        i64_expr(f, e->ops[1], 0, b);
        m2c_buf_puts(b, ")");
        return;
    case DIM_MAX:
    case DIM_MIN:
        i64_expr(f, e->ops[0], 3, b);
        for (uint32_t i = 1; i < e->nops; i++) {
            m2c_buf_puts(b, e->kind == DIM_MAX ? ".max(" : ".min(");
            i64_expr(f, e->ops[i], 0, b);
            m2c_buf_puts(b, ")");
        }
        return;
    }
}

const char *cg_shape_i64_prec(CgFn *f, IrDim d, int prec)
{
    int64_t c;
    if (ir_dim_const_value(f->g, d, &c))
        return c < 0 && prec >= 3 ? m2c_sprintf(f->a, "(%lldi64)", (long long)c) : m2c_sprintf(f->a, "%lldi64", (long long)c);
    M2cBuf b = {0};
    i64_expr(f, d, prec, &b);
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

const char *cg_shape_i64(CgFn *f, IrDim d)
{
    return cg_shape_i64_prec(f, d, 0);
}

/* Does cg_dim's usize arithmetic stay at or above zero all the way?  It writes the positive terms of a sum
 * before the subtracted ones, so a sum is safe when its value is; a max, min or quotient also needs each
 * operand to be.  `nonneg`: the caller knows d >= 0 (its bounds, intervals without correlation, may not:
 * t - min(t, 3)), so only the operands are checked. */
static bool usize_safe(CgFn *f, IrDim d, bool nonneg)
{
    int64_t lo, hi;
    ir_dim_bounds(f->g, d, &lo, &hi);
    if (lo < 0 && !nonneg) return false;
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    if (e->kind == DIM_CONST || e->kind == DIM_SYM) return true;
    for (uint32_t i = 0; i < e->nops; i++) {
        const IrDimExpr *t = ir_dim_expr(f->g, e->ops[i]);
        if (e->kind == DIM_ADD && t->kind == DIM_MUL && t->c < 0) {
            for (uint32_t k = 0; k < t->nops; k++)
                if (!usize_safe(f, t->ops[k], false)) return false;
        } else if (!usize_safe(f, e->ops[i], false)) {
            return false;
        }
    }
    return true;
}

bool cg_shape_usize_safe(CgFn *f, IrDim d, bool nonneg)
{
    return usize_safe(f, d, nonneg);
}

const char *cg_shape_usize(CgFn *f, IrDim d)
{
    if (usize_safe(f, d, false)) return cg_dim(f, d);
    return m2c_sprintf(f->a, "%s as usize", cg_shape_i64_prec(f, d, 3));
}

const char *cg_shape_usize_nonneg(CgFn *f, IrDim d)
{
    if (usize_safe(f, d, true)) return cg_dim(f, d);
    return m2c_sprintf(f->a, "%s as usize", cg_shape_i64_prec(f, d, 3));
}

const char *cg_shape_host_i64s(CgFn *f, uint32_t v, const char *hint)
{
    const char *name = cg_fresh(f, hint);
    cg_stmt(f, "let %s: Vec<i64> = %s.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;", name, cg_v(f, v));
    return name;
}

const char *cg_shape_literal(CgFn *f, IrDType t, double v)
{
    return cg_rust_type(t) && t != DT_F16 && t != DT_BF16 ? cg_typed_lit(f->a, t, v) : NULL;
}

/* Reshape, Squeeze, Unsqueeze, Flatten: the output's dims say it all. */
static bool reshape(CgFn *f, const IrNode *n)
{
    const char *x = cg_in(f, n, 0);
    uint32_t out = n->out[0];
    if (!cg_shape_value_bound(f, n, out)) {
        /* the target comes from a tensor only known at run time */
        const char *dims = cg_fresh(f, "dims");
        if (n->op == IR_OP_RESHAPE)
            cg_stmt(f, "let %s = %s(%s.dims(), %s, %s)?;", dims, cg_helper(f, CG_HELPER_RESHAPE_TARGET), x,
                    cg_in_ref(f, n, 1), ir_attr_int(n, "allowzero", 0) ? "true" : "false");
        else if (n->op == IR_OP_SQUEEZE || n->op == IR_OP_UNSQUEEZE)
            cg_stmt(f, "let %s = %s(%s.dims(), %s, %s)?;", dims, cg_helper(f, CG_HELPER_SQUEEZE_AXES), x,
                    cg_in_ref(f, n, 1), n->op == IR_OP_UNSQUEEZE ? "true" : "false");
        else
            return cg_unsupported(f, n, "the output shape cannot be computed");
        cg_stmt(f, "let %s = %s.reshape(%s)?;", cg_out(f, n, 0), x, dims);
        return true;
    }
    if (n->op == IR_OP_UNSQUEEZE || n->op == IR_OP_SQUEEZE) {
        IrDim axes[IR_MAX_RANK];
        uint32_t na = 0;
        int64_t ax;
        int rank = n->op == IR_OP_UNSQUEEZE ? val(f, out)->rank : val(f, n->in[0])->rank;
        if (ir_value_dims(f->g, ir_input(n, 1), axes, IR_MAX_RANK, &na) && na == 1 &&
            ir_dim_const_value(f->g, axes[0], &ax)) {
            cg_stmt(f, "let %s = %s.%s(%d)?;", cg_out(f, n, 0), x, n->op == IR_OP_UNSQUEEZE ? "unsqueeze" : "squeeze",
                    cg_shape_axis(ax, rank));
            /* a unit axis moves no data: contiguous stays contiguous, anything else is some view */
            cg_set_layout(f, out, cg_layout(f, n->in[0]) == LAYOUT_CONTIG ? LAYOUT_CONTIG : LAYOUT_VIEW);
            return true;
        }
    }
    /* reshape copies a non-contiguous input, so the result is always contiguous */
    cg_stmt(f, "let %s = %s.reshape(%s)?;", cg_out(f, n, 0), x, cg_shape_of(f, out));
    return true;
}

static bool transpose(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->in[0])->rank;
    int64_t perm[IR_MAX_RANK];
    uint32_t count;
    const int64_t *p = ir_attr_ints(n, "perm", &count);
    for (int i = 0; i < rank; i++) perm[i] = p && (int)count == rank ? cg_shape_axis(p[i], rank) : rank - 1 - i;
    int moved[2], nm = 0;
    for (int i = 0; i < rank; i++)
        if (perm[i] != i && nm < 2) moved[nm++] = i;
        else if (perm[i] != i) nm = 3;
    const char *x = cg_in(f, n, 0), *y = cg_out(f, n, 0);
    uint32_t out = n->out[0];
    if (nm == 0) {
        cg_stmt(f, "let %s = %s.clone();", y, x);
        cg_set_layout(f, out, cg_layout(f, n->in[0]));
    } else if (nm == 2 && perm[moved[0]] == moved[1]) {
        cg_stmt(f, "let %s = %s.transpose(%d, %d)?;", y, x, moved[0], moved[1]);
        bool last2 = moved[0] == rank - 2 && moved[1] == rank - 1 && cg_layout(f, n->in[0]) == LAYOUT_CONTIG;
        cg_set_layout(f, out, last2 ? LAYOUT_T_LAST2 : LAYOUT_VIEW);
    } else {
        cg_set_layout(f, out, LAYOUT_VIEW);
        M2cBuf b = {0};
        for (int i = 0; i < rank; i++) m2c_buf_printf(&b, "%s%lld", i ? ", " : "", (long long)perm[i]);
        /* candle's Dims tuples stop at 6 axes; an array takes any number */
        cg_stmt(f, rank > 6 ? "let %s = %s.permute([%s])?;" : "let %s = %s.permute((%s))?;", y, x, b.s);
        m2c_buf_free(&b);
    }
    return true;
}

static bool concat(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->out[0])->rank;
    if (n->nin == 1) {
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        cg_set_layout(f, n->out[0], cg_layout(f, n->in[0]));
        return true;
    }
    M2cBuf b = {0};
    for (uint32_t i = 0; i < n->nin; i++) m2c_buf_printf(&b, "%s%s", i ? ", " : "", cg_in_ref(f, n, i));
    cg_stmt(f, "let %s = Tensor::cat(&[%s], %d)?;", cg_out(f, n, 0), b.s,
            cg_shape_axis(ir_attr_int(n, "axis", 0), rank));
    m2c_buf_free(&b);
    return true;
}

/* Expand is numpy's two-way broadcast, which the output dims already resolve: a broadcasting view. */
static bool expand(CgFn *f, const IrNode *n)
{
    const char *x = cg_in(f, n, 0);
    if (cg_shape_value_bound(f, n, n->out[0])) {
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", cg_out(f, n, 0), x, cg_shape_of(f, n->out[0]));
    } else {
        const char *dims = cg_fresh(f, "dims");
        cg_stmt(f, "let %s = %s(%s.dims(), %s)?;", dims, cg_helper(f, CG_HELPER_EXPAND_SHAPE), x, cg_in_ref(f, n, 1));
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", cg_out(f, n, 0), x, dims);
    }
    cg_set_layout(f, n->out[0], LAYOUT_VIEW);
    return true;
}

/* Split in every form (split input, num_outputs with a smaller last chunk, equal parts): the output dims
 * hold the sizes, each output is a narrow of the input. */
static bool split(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]);
    int axis = cg_shape_axis(ir_attr_int(n, "axis", 0), in->rank);
    const char *x = cg_in(f, n, 0);
    bool known = true;
    for (uint32_t o = 0; o < n->nout; o++)
        if (n->out[o] != IR_NONE && !cg_shape_dim_bound(f, n, val(f, n->out[o])->dims[axis])) known = false;
    if (!known) {
        /* sizes from a split tensor known only at run time */
        if (ir_input(n, 1) == IR_NONE) return cg_unsupported(f, n, "split sizes unknown");
        const char *sizes = cg_shape_host_i64s(f, n->in[1], "sizes");
        M2cBuf start = {0};
        for (uint32_t o = 0; o < n->nout; o++) {
            if (n->out[o] != IR_NONE) {
                const char *at = o == 0 ? "0" : o == 1 ? m2c_sprintf(f->a, "%s as usize", start.s)
                                                       : m2c_sprintf(f->a, "(%s) as usize", start.s);
                cg_stmt(f, "let %s = %s.narrow(%d, %s, %s[%u] as usize)?;", cg_out(f, n, o), x, axis, at, sizes, o);
                cg_set_layout(f, n->out[o], LAYOUT_VIEW);
            }
            m2c_buf_printf(&start, "%s%s[%u]", o ? " + " : "", sizes, o);
        }
        m2c_buf_free(&start);
        return true;
    }
    IrDim start = ir_dim_const(f->g, 0);
    for (uint32_t o = 0; o < n->nout; o++) {
        IrDim len = val(f, n->out[o] != IR_NONE ? n->out[o] : n->out[0])->dims[axis];
        if (n->out[o] != IR_NONE) {
            cg_stmt(f, "let %s = %s.narrow(%d, %s, %s)?;", cg_out(f, n, o), x, axis, cg_dim(f, start), cg_dim(f, len));
            cg_set_layout(f, n->out[o], LAYOUT_VIEW);
        }
        start = ir_dim_add(f->g, start, len);
    }
    return true;
}

/* The value attribute (a one-element tensor, default f32 0) filled into the output shape. */
static bool constant_of_shape(CgFn *f, const IrNode *n)
{
    const IrAttr *a = ir_attr(n, "value");
    IrDType t = a ? a->u.t->dtype : DT_F32;
    double v = a && a->u.t->numel ? ir_tensor_get_f64(a->u.t, 0) : 0.0;
    const char *shape, *lit = cg_shape_literal(f, t, v);
    if (cg_shape_value_bound(f, n, n->out[0])) {
        shape = cg_shape_of(f, n->out[0]);
    } else {
        const char *s = cg_shape_host_i64s(f, n->in[0], "shape");
        shape = cg_fresh(f, "dims");
        cg_stmt(f, "let %s: Vec<usize> = %s.iter().map(|&d| d as usize).collect();", shape, s);
    }
    if (lit)
        cg_stmt(f, "let %s = Tensor::full(%s, %s, %s)?;", cg_out(f, n, 0), lit, shape, cg_device(f));
    else
        cg_stmt(f, "let %s = Tensor::full(%s, %s, %s)?.to_dtype(%s)?;", cg_out(f, n, 0), cg_f64(f->a, v), shape,
                cg_device(f), cg_candle_dtype(t));
    return true;
}

/* Shape and Size read the input's dims at run time: symbols or not, they are what the tensor has. */
static bool shape_op(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]);
    const char *x = cg_in(f, n, 0);
    if (n->op == IR_OP_SIZE) {
        cg_stmt(f, "let %s = Tensor::new(%s.elem_count() as i64, %s)?;", cg_out(f, n, 0), x, cg_device(f));
        return true;
    }
    /* opset 15 start/end: negatives count from the end, then both clamp to [0, rank] */
    int64_t start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", in->rank);
    if (start < 0) start += in->rank;
    if (end < 0) end += in->rank;
    start = start < 0 ? 0 : start > in->rank ? in->rank : start;
    end = end < 0 ? 0 : end > in->rank ? in->rank : end;
    if (end < start) end = start;
    const char *range = start == 0 && end == in->rank ? "" : m2c_sprintf(f->a, "[%lld..%lld]", (long long)start, (long long)end);
    cg_stmt(f, "let %s = Tensor::from_vec(%s.dims()%s.iter().map(|&d| d as i64).collect::<Vec<_>>(), %lld, %s)?;",
            cg_out(f, n, 0), x, range, (long long)(end - start), cg_device(f));
    return true;
}

/* A scalar input as a host number at run time: `let start = start.to_dtype(DType::F64)?.reshape(())?...`. */
static const char *host_scalar(CgFn *f, const IrNode *n, uint32_t i, const char *hint, bool as_int)
{
    const char *name = cg_fresh(f, hint);
    cg_stmt(f, "let %s = %s.to_dtype(DType::%s)?.reshape(())?.to_scalar::<%s>()?;", name, cg_in(f, n, i),
            as_int ? "I64" : "F64", as_int ? "i64" : "f64");
    return name;
}

/* Range: start + i * delta for i < max(ceil((limit - start) / delta), 0).  Integers count with arange_step
 * (exact); floats scale an index ramp in f64, so the length is the formula's, not an accumulated sum's. */
static bool range(CgFn *f, const IrNode *n)
{
    IrDType t = val(f, n->out[0])->dtype;
    const char *y = cg_out(f, n, 0);
    const char *cast = cg_storage_dtype(t) == DT_I64 ? "" : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(t));
    IrDim s[1], l[1], d[1];
    uint32_t k;
    if (ir_dtype_is_int(t)) {
        /* each bound known (a constant or dims) is written as such; the others are read at run time */
        const char *start = cg_shape_known_list(f, n, n->in[0], s, 1, &k) ? cg_shape_i64(f, s[0])
                                                                          : host_scalar(f, n, 0, "start", true);
        const char *limit = cg_shape_known_list(f, n, n->in[1], l, 1, &k) ? cg_shape_i64(f, l[0])
                                                                          : host_scalar(f, n, 1, "limit", true);
        int64_t c;
        if (ir_value_ints(f->g, n->in[2], &c, 1, &k) && c == 1) {
            cg_stmt(f, "let %s = Tensor::arange(%s, %s, %s)?%s;", y, start, limit, cg_device(f), cast);
            return true;
        }
        const char *delta = cg_shape_known_list(f, n, n->in[2], d, 1, &k) ? cg_shape_i64(f, d[0])
                                                                          : host_scalar(f, n, 2, "delta", true);
        cg_stmt(f, "let %s = Tensor::arange_step(%s, %s, %s, %s)?%s;", y, start, limit, delta, cg_device(f), cast);
        return true;
    }
    if (!ir_dtype_is_float(t)) return cg_unsupported(f, n, "Range of a type that is neither integer nor float");
    double fs, fl, fd;
    const char *count, *start, *delta;
    if (cg_scalar_const(f, n->in[0], &fs) && cg_scalar_const(f, n->in[1], &fl) && cg_scalar_const(f, n->in[2], &fd)) {
        if (fd == 0) return cg_unsupported(f, n, "Range with delta 0");
        /* the length shape inference found, so the tensor agrees with the dims the rest of the code uses */
        int64_t known;
        double len = ceil((fl - fs) / fd);
        if (!(len > 0)) len = 0;
        if (ir_dim_const_value(f->g, val(f, n->out[0])->dims[0], &known)) len = (double)known;
        count = m2c_sprintf(f->a, "%.0fu32", len);
        start = cg_f64(f->a, fs), delta = cg_f64(f->a, fd);
    } else {
        start = host_scalar(f, n, 0, "start", false);
        const char *limit = host_scalar(f, n, 1, "limit", false);
        delta = host_scalar(f, n, 2, "delta", false);
        count = cg_fresh(f, "count");
        cg_stmt(f, "let %s = ((%s - %s) / %s).ceil().max(0.0) as u32;", count, limit, start, delta);
    }
    cg_stmt(f, "let %s = Tensor::arange(0u32, %s, %s)?.to_dtype(DType::F64)?.affine(%s, %s)?%s;", y, count,
            cg_device(f), delta, start, cg_storage_dtype(t) == DT_F64 ? "" : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(t)));
    return true;
}

static bool tile(CgFn *f, const IrNode *n)
{
    IrDim reps[IR_MAX_RANK];
    uint32_t nr;
    if (cg_shape_known_list(f, n, n->in[1], reps, IR_MAX_RANK, &nr)) {
        cg_stmt(f, "let %s = %s.repeat(%s)?;", cg_out(f, n, 0), cg_in(f, n, 0), cg_shape(f, (int)nr, reps));
        return true;
    }
    const char *r = cg_shape_host_i64s(f, n->in[1], "repeats");
    const char *dims = cg_fresh(f, "reps");
    cg_stmt(f, "let %s: Vec<usize> = %s.iter().map(|&r| r as usize).collect();", dims, r);
    cg_stmt(f, "let %s = %s.repeat(%s)?;", cg_out(f, n, 0), cg_in(f, n, 0), dims);
    return true;
}

/* DepthToSpace and SpaceToDepth are a reshape to rank 6, a permutation and a reshape back.  The mode says
 * whether the channel index is (block row, block col, channel) — DCR — or (channel, block row, block col). */
static bool depth_space(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]), *out = val(f, n->out[0]);
    int64_t b = ir_attr_int(n, "blocksize", 0);
    bool dcr = strcmp(ir_attr_str(n, "mode", "DCR"), "DCR") == 0;
    IrDim bb = ir_dim_const(f->g, b), six[6];
    const char *perm;
    if (n->op == IR_OP_DEPTH_TO_SPACE) {
        IrDim c = out->dims[1];
        if (dcr) {
            IrDim d[6] = {in->dims[0], bb, bb, c, in->dims[2], in->dims[3]};
            memcpy(six, d, sizeof d);
            perm = "0, 3, 4, 1, 5, 2";
        } else {
            IrDim d[6] = {in->dims[0], c, bb, bb, in->dims[2], in->dims[3]};
            memcpy(six, d, sizeof d);
            perm = "0, 1, 4, 2, 5, 3";
        }
    } else {
        IrDim d[6] = {in->dims[0], in->dims[1], out->dims[2], bb, out->dims[3], bb};
        memcpy(six, d, sizeof d);
        perm = dcr ? "0, 3, 5, 1, 2, 4" : "0, 1, 3, 5, 2, 4";
    }
    const char *blocks = cg_fresh(f, "blocks");
    cg_stmt(f, "let %s = %s.reshape(%s)?.permute((%s))?;", blocks, cg_in(f, n, 0), cg_shape(f, 6, six), perm);
    cg_stmt(f, "let %s = %s.reshape(%s)?;", cg_out(f, n, 0), blocks, cg_shape_of(f, n->out[0]));
    return true;
}

bool cg_lower_shape(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_CONSTANT:
        /* its value is known: readers load it with the weights when they first use it as a tensor */
        return true;
    case IR_OP_RESHAPE: case IR_OP_SQUEEZE: case IR_OP_UNSQUEEZE: case IR_OP_FLATTEN:
        return reshape(f, n);
    case IR_OP_TRANSPOSE: return transpose(f, n);
    case IR_OP_CONCAT: return concat(f, n);
    case IR_OP_EXPAND: return expand(f, n);
    case IR_OP_SPLIT: return split(f, n);
    case IR_OP_CONSTANT_OF_SHAPE: return constant_of_shape(f, n);
    case IR_OP_SHAPE: case IR_OP_SIZE: return shape_op(f, n);
    case IR_OP_RANGE: return range(f, n);
    case IR_OP_TILE: return tile(f, n);
    case IR_OP_DEPTH_TO_SPACE: case IR_OP_SPACE_TO_DEPTH: return depth_space(f, n);
    case IR_OP_SLICE: case IR_OP_PAD:
        return cg_lower_shape_slice(f, n);
    case IR_OP_GATHER: case IR_OP_GATHER_ELEMENTS: case IR_OP_GATHER_ND: case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_SCATTER_ND: case IR_OP_ONE_HOT: case IR_OP_NON_ZERO: case IR_OP_TRILU: case IR_OP_EYE_LIKE:
        return cg_lower_shape_index(f, n);
    default:
        return cg_unsupported(f, n, "not a shape or index op");
    }
}
