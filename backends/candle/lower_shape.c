/* backends/candle/lower_shape.c — data movement and shape ops.
 *
 * Shapes come from the IR's symbolic dims, never from tensors at run time: a Reshape to (batch, seq, 4, 8)
 * is `.reshape((batch, seq, 4, 8))` with batch and seq read off the inputs.  Ops that only change the view
 * (Transpose, Expand, Slice) leave non-contiguous tensors; the consumers that need contiguity ask for it. */
#include "cg.h"

#include <string.h>

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

/* Reshape, Squeeze, Unsqueeze, Flatten: the output's dims say it all. */
static bool reshape(CgFn *f, const IrNode *n)
{
    const char *x = cg_in(f, n, 0);
    uint32_t out = n->out[0];
    if (n->op == IR_OP_UNSQUEEZE || n->op == IR_OP_SQUEEZE) {
        IrDim axes[IR_MAX_RANK];
        uint32_t na = 0;
        int64_t ax;
        int rank = n->op == IR_OP_UNSQUEEZE ? val(f, out)->rank : val(f, n->in[0])->rank;
        if (ir_value_dims(f->g, ir_input(n, 1), axes, IR_MAX_RANK, &na) && na == 1 &&
            ir_dim_const_value(f->g, axes[0], &ax)) {
            cg_stmt(f, "let %s = %s.%s(%d)?;", cg_out(f, n, 0), x, n->op == IR_OP_UNSQUEEZE ? "unsqueeze" : "squeeze",
                    norm_axis(ax, rank));
            cg_set_layout(f, out, cg_layout(f, n->in[0]));   /* a unit axis changes no strides that matter */
            return true;
        }
    }
    cg_stmt(f, "let %s = %s.reshape(%s)?;", cg_out(f, n, 0), x, cg_shape_of(f, out));
    return true;
}

static bool transpose(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->in[0])->rank;
    int64_t perm[IR_MAX_RANK];
    uint32_t count;
    const int64_t *p = ir_attr_ints(n, "perm", &count);
    for (int i = 0; i < rank; i++) perm[i] = p && (int)count == rank ? norm_axis(p[i], rank) : rank - 1 - i;
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
        cg_stmt(f, "let %s = %s.permute((%s))?;", y, x, b.s);
        m2c_buf_free(&b);
    }
    return true;
}

static bool concat(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->out[0])->rank;
    M2cBuf b = {0};
    for (uint32_t i = 0; i < n->nin; i++) m2c_buf_printf(&b, "%s%s", i ? ", " : "", cg_in_ref(f, n, i));
    cg_stmt(f, "let %s = Tensor::cat(&[%s], %d)?;", cg_out(f, n, 0), b.s, norm_axis(ir_attr_int(n, "axis", 0), rank));
    m2c_buf_free(&b);
    return true;
}

static bool expand(CgFn *f, const IrNode *n)
{
    cg_stmt(f, "let %s = %s.broadcast_as(%s)?;", cg_out(f, n, 0), cg_in(f, n, 0), cg_shape_of(f, n->out[0]));
    cg_set_layout(f, n->out[0], LAYOUT_VIEW);
    return true;
}

static bool gather(CgFn *f, const IrNode *n)
{
    const IrValue *data = val(f, n->in[0]), *idx = val(f, n->in[1]);
    int axis = norm_axis(ir_attr_int(n, "axis", 0), data->rank);
    const char *x = cg_in(f, n, 0), *y = cg_out(f, n, 0);
    int64_t c;
    if (idx->konst && idx->konst->numel == 1) {
        c = ir_tensor_get_i64(idx->konst, 0);
        const char *i = c >= 0 ? m2c_sprintf(f->a, "%lld", (long long)c)
                               : cg_dim(f, ir_dim_add(f->g, data->dims[axis], ir_dim_const(f->g, c)));
        cg_set_layout(f, n->out[0], LAYOUT_VIEW);
        if (idx->rank == 0)
            cg_stmt(f, "let %s = %s.narrow(%d, %s, 1)?.squeeze(%d)?;", y, x, axis, i, axis);
        else
            cg_stmt(f, "let %s = %s.narrow(%d, %s, 1)?.reshape(%s)?;", y, x, axis, i, cg_shape_of(f, n->out[0]));
        return true;
    }
    /* index_select takes 1-D U8/U32/I64 ids; other ranks are flattened and the result reshaped */
    const char *ids = cg_in(f, n, 1);
    bool signed_ids = idx->dtype != DT_U8 && idx->dtype != DT_U32 && idx->dtype != DT_U64 && idx->dtype != DT_BOOL;
    if (idx->rank != 1 || (idx->dtype != DT_I64 && idx->dtype != DT_U32 && idx->dtype != DT_U8)) {
        const char *flat = cg_fresh(f, "ids");
        cg_stmt(f, "let %s = %s.flatten_all()?%s;", flat, ids,
                idx->dtype == DT_I64 || idx->dtype == DT_U32 || idx->dtype == DT_U8 ? "" : ".to_dtype(DType::I64)?");
        ids = flat;
    }
    /* PyTorch embeddings never see negative ids; anything else follows ONNX and counts them from the end */
    if (signed_ids && !(data->flags & V_PARAM)) {
        const char *wrapped = cg_fresh(f, "ids");
        cg_stmt(f, "let %s = (%s.lt(0.0)?.to_dtype(%s.dtype())? * (%s) as f64)?.add(&%s)?;", wrapped, ids, ids,
                cg_dim(f, data->dims[axis]), ids);
        ids = wrapped;
    }
    if (idx->rank == 1) {
        cg_stmt(f, "let %s = %s.index_select(&%s, %d)?;", y, x, ids, axis);
    } else {
        const char *sel = cg_fresh(f, "selected");
        cg_stmt(f, "let %s = %s.index_select(&%s, %d)?;", sel, x, ids, axis);
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, sel, cg_shape_of(f, n->out[0]));
    }
    return true;
}

/* Slice with unit steps: one narrow per sliced axis, starts resolved with the dims algebra. */
static bool slice(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]), *out = val(f, n->out[0]);
    IrDim starts[IR_MAX_RANK], ends[IR_MAX_RANK], axes[IR_MAX_RANK], steps[IR_MAX_RANK];
    uint32_t ns, ne, na = 0, nst = 0;
    if (!ir_value_dims(f->g, n->in[1], starts, IR_MAX_RANK, &ns) || !ir_value_dims(f->g, n->in[2], ends, IR_MAX_RANK, &ne))
        return cg_unsupported(f, n, "slice bounds computed at run time");
    bool has_axes = ir_input(n, 3) != IR_NONE && ir_value_dims(f->g, n->in[3], axes, IR_MAX_RANK, &na);
    bool has_steps = ir_input(n, 4) != IR_NONE && ir_value_dims(f->g, n->in[4], steps, IR_MAX_RANK, &nst);
    const char *cur = cg_in(f, n, 0);
    const char *y = cg_out(f, n, 0);
    int done = 0, npending = 0;
    struct {
        int axis;
        IrDim start;
    } pending[IR_MAX_RANK];
    for (uint32_t i = 0; i < ns && i < IR_MAX_RANK; i++) {
        int64_t a = i, step = 1;
        if (has_axes && !ir_dim_const_value(f->g, axes[i], &a)) return cg_unsupported(f, n, "slice axes unknown");
        if (has_steps && !ir_dim_const_value(f->g, steps[i], &step)) return cg_unsupported(f, n, "slice steps unknown");
        if (step != 1) return cg_unsupported(f, n, "slice with a step other than 1");
        int ax = norm_axis(a, in->rank);
        IrDim dim = in->dims[ax], s = starts[i];
        int64_t sc;
        if (ir_dim_const_value(f->g, s, &sc) && sc < 0) s = ir_dim_add(f->g, dim, s);
        s = ir_dim_max(f->g, ir_dim_const(f->g, 0), ir_dim_min(f->g, s, dim));
        if (out->dims[ax] == dim) continue;   /* the whole axis */
        pending[npending].axis = ax;
        pending[npending].start = s;
        npending++;
    }
    for (int i = 0; i < npending; i++) {
        const char *dst = i + 1 == npending ? y : cg_fresh(f, "narrowed");
        cg_stmt(f, "let %s = %s.narrow(%d, %s, %s)?;", dst, cur, pending[i].axis, cg_dim(f, pending[i].start),
                cg_dim(f, out->dims[pending[i].axis]));
        cur = dst;
        done++;
    }
    if (!done) cg_stmt(f, "let %s = %s.clone();", y, cur);
    cg_set_layout(f, n->out[0], done ? LAYOUT_VIEW : cg_layout(f, n->in[0]));
    return true;
}

static bool split(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]);
    int axis = norm_axis(ir_attr_int(n, "axis", 0), in->rank);
    const char *x = cg_in(f, n, 0);
    IrDim start = ir_dim_const(f->g, 0);
    for (uint32_t o = 0; o < n->nout; o++) {
        if (n->out[o] == IR_NONE) continue;
        IrDim len = val(f, n->out[o])->dims[axis];
        cg_stmt(f, "let %s = %s.narrow(%d, %s, %s)?;", cg_out(f, n, o), x, axis, cg_dim(f, start), cg_dim(f, len));
        cg_set_layout(f, n->out[o], LAYOUT_VIEW);
        start = ir_dim_add(f->g, start, len);
    }
    return true;
}

/* A literal of an element type, as candle's generic constructors want it. */
static const char *typed_literal(CgFn *f, IrDType t, double v)
{
    return cg_rust_type(t) && t != DT_F16 && t != DT_BF16 ? cg_typed_lit(f->a, t, v) : NULL;
}

static bool constant_of_shape(CgFn *f, const IrNode *n)
{
    const IrAttr *a = ir_attr(n, "value");
    IrDType t = a ? a->u.t->dtype : DT_F32;
    double v = a && a->u.t->numel ? ir_tensor_get_f64(a->u.t, 0) : 0.0;
    const char *shape = cg_shape_of(f, n->out[0]), *lit = typed_literal(f, t, v);
    if (lit)
        cg_stmt(f, "let %s = Tensor::full(%s, %s, %s)?;", cg_out(f, n, 0), lit, shape, cg_device(f));
    else
        cg_stmt(f, "let %s = Tensor::full(%s, %s, %s)?.to_dtype(%s)?;", cg_out(f, n, 0), cg_f64(f->a, v), shape,
                cg_device(f), cg_candle_dtype(t));
    return true;
}

/* A dim as an i64 Rust expression: `3i64`, `seq as i64`, `(seq - 1) as i64`. */
static const char *i64_expr(CgFn *f, IrDim d)
{
    int64_t c;
    if (ir_dim_const_value(f->g, d, &c)) return m2c_sprintf(f->a, "%lldi64", (long long)c);
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    const char *s = cg_dim(f, d);
    return e->kind == DIM_SYM ? m2c_sprintf(f->a, "%s as i64", s) : m2c_sprintf(f->a, "(%s) as i64", s);
}

static bool shape_op(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]);
    M2cBuf b = {0};
    if (n->op == IR_OP_SIZE) {
        IrDim total = ir_dim_const(f->g, 1);
        for (int i = 0; i < in->rank; i++) total = ir_dim_mul(f->g, total, in->dims[i]);
        cg_stmt(f, "let %s = Tensor::new(%s, %s)?;", cg_out(f, n, 0), i64_expr(f, total), cg_device(f));
        return true;
    }
    const IrValue *out = val(f, n->out[0]);
    int64_t start = ir_attr_int(n, "start", 0), end = ir_attr_int(n, "end", in->rank);
    if (start < 0) start += in->rank;
    if (end < 0) end += in->rank;
    if (start < 0) start = 0;
    if (end > in->rank) end = in->rank;
    for (int64_t i = start; i < end; i++) m2c_buf_printf(&b, "%s%s", i > start ? ", " : "", i64_expr(f, in->dims[i]));
    (void)out;
    cg_stmt(f, "let %s = Tensor::new(&[%s], %s)?;", cg_out(f, n, 0), b.s ? b.s : "0i64; 0", cg_device(f));
    m2c_buf_free(&b);
    return true;
}

static bool range(CgFn *f, const IrNode *n)
{
    IrDType t = val(f, n->out[0])->dtype;
    IrDim s[1], l[1], d[1];
    uint32_t k;
    double fs, fl, fd;
    if (ir_dtype_is_int(t) && ir_value_dims(f->g, n->in[0], s, 1, &k) && ir_value_dims(f->g, n->in[1], l, 1, &k) &&
        ir_value_dims(f->g, n->in[2], d, 1, &k)) {
        cg_stmt(f, "let %s = Tensor::arange_step(%s, %s, %s, %s)?%s;", cg_out(f, n, 0), i64_expr(f, s[0]),
                i64_expr(f, l[0]), i64_expr(f, d[0]), cg_device(f),
                t == DT_I64 ? "" : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(t)));
        return true;
    }
    if (ir_dtype_is_float(t) && cg_scalar_const(f, n->in[0], &fs) && cg_scalar_const(f, n->in[1], &fl) &&
        cg_scalar_const(f, n->in[2], &fd)) {
        cg_stmt(f, "let %s = Tensor::arange_step(%s, %s, %s, %s)?%s;", cg_out(f, n, 0),
                typed_literal(f, DT_F64, fs), typed_literal(f, DT_F64, fl), typed_literal(f, DT_F64, fd), cg_device(f),
                m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(t)));
        return true;
    }
    return cg_unsupported(f, n, "Range with bounds known only at run time");
}

static bool tile(CgFn *f, const IrNode *n)
{
    IrDim reps[IR_MAX_RANK];
    uint32_t nr;
    if (!ir_value_dims(f->g, n->in[1], reps, IR_MAX_RANK, &nr)) return cg_unsupported(f, n, "Tile repeats unknown");
    cg_stmt(f, "let %s = %s.repeat(%s)?;", cg_out(f, n, 0), cg_in(f, n, 0), cg_shape(f, (int)nr, reps));
    return true;
}

bool cg_lower_shape(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_RESHAPE: case IR_OP_SQUEEZE: case IR_OP_UNSQUEEZE: case IR_OP_FLATTEN:
        return reshape(f, n);
    case IR_OP_TRANSPOSE: return transpose(f, n);
    case IR_OP_CONCAT: return concat(f, n);
    case IR_OP_EXPAND: return expand(f, n);
    case IR_OP_GATHER: return gather(f, n);
    case IR_OP_SLICE: return slice(f, n);
    case IR_OP_SPLIT: return split(f, n);
    case IR_OP_CONSTANT_OF_SHAPE: return constant_of_shape(f, n);
    case IR_OP_SHAPE: case IR_OP_SIZE: return shape_op(f, n);
    case IR_OP_RANGE: return range(f, n);
    case IR_OP_TILE: return tile(f, n);
    default:
        return cg_unsupported(f, n, "not lowered to Candle yet");
    }
}
