/* backends/candle/lower_shape_index.c — ops that index: Gather, GatherElements, GatherND, ScatterElements,
 * ScatterND, OneHot, NonZero, Trilu, EyeLike.
 *
 * candle's index kernels (index_select, gather, scatter) take U8, U32 or I64 ids that are never negative,
 * and on the CPU want a contiguous source; ONNX ids may be any integer type and count from the end when
 * negative.  So ids are cast to I64 when needed and wrapped with `ids + (ids < 0) * size`, unless they are
 * unsigned or constants known to be non-negative.  The masks of OneHot, Trilu and EyeLike are comparisons
 * of aranges, selected with where_cond; only NonZero (a data-dependent size) and the scatter reductions
 * candle has no kernel for go through the host. */
#include "lower_shape.h"

#include <string.h>

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

static bool index_dtype_native(IrDType t)
{
    return t == DT_I64 || t == DT_U32 || t == DT_U8;
}

/* May the ids in v be negative? Unsigned types cannot; constants are looked at. */
static bool maybe_negative(CgFn *f, uint32_t v)
{
    const IrValue *x = val(f, v);
    if (!ir_dtype_is_signed(x->dtype)) return false;
    if (!x->konst) return true;
    for (uint64_t i = 0; i < x->konst->numel; i++)
        if (ir_tensor_get_i64(x->konst, i) < 0) return true;
    return false;
}

/* A dim as an f64 multiplier: `5.0`, `seq as f64`, `(seq - 1) as f64`. */
static const char *f64_of_dim(CgFn *f, IrDim d)
{
    int64_t c;
    if (ir_dim_const_value(f->g, d, &c)) return cg_f64(f->a, (double)c);
    const char *s = cg_shape_usize(f, d);
    return ir_dim_expr(f->g, d)->kind == DIM_SYM ? m2c_sprintf(f->a, "%s as f64", s) : m2c_sprintf(f->a, "(%s) as f64", s);
}

/* ids ready for candle: I64 (or U8/U32 as given), negatives wrapped by `size`, flattened when asked. */
static const char *prepare_ids(CgFn *f, uint32_t idx, IrDim size, bool flatten)
{
    const IrValue *x = val(f, idx);
    /* CUDA kernels want contiguous ids; the wrapping arithmetic makes a fresh tensor anyway */
    const char *ids = maybe_negative(f, idx) ? cg_v(f, idx) : cg_contig(f, idx, false);
    bool cast = !index_dtype_native(cg_storage_dtype(x->dtype));
    if (cast || (flatten && x->rank != 1)) {
        const char *t = cg_fresh(f, "ids");
        cg_stmt(f, "let %s = %s%s%s;", t, cg_v(f, idx), flatten && x->rank != 1 ? ".flatten_all()?" : "",
                cast ? ".to_dtype(DType::I64)?" : "");
        ids = t;
    }
    if (maybe_negative(f, idx)) {
        const char *w = cg_fresh(f, "ids");
        const char *ref = ids == cg_v(f, idx) ? cg_ref(f, idx) : m2c_sprintf(f->a, "&%s", ids);
        cg_stmt(f, "let %s = (%s.lt(0.0)?.to_dtype(DType::I64)? * %s)?.add(%s)?;", w, ids, f64_of_dim(f, size), ref);
        ids = w;
    }
    return ids;
}

/* Gather: a constant scalar index is a narrow; anything else one index_select on flattened ids. */
static bool gather(CgFn *f, const IrNode *n)
{
    const IrValue *data = val(f, n->in[0]), *idx = val(f, n->in[1]);
    int axis = cg_shape_axis(ir_attr_int(n, "axis", 0), data->rank);
    const char *y;
    /* constant indices that are a run (one index, or 2, 3, 4 — PyTorch's x[:, 2:5] as a gather): a narrow */
    const IrTensor *k = idx->konst;
    int64_t first = 0, size;
    bool run = k && k->numel >= 1;
    for (uint64_t i = 0; run && i < k->numel; i++) {
        int64_t c = ir_tensor_get_i64(k, i);
        if (c < 0 && k->numel > 1) {
            /* negatives in a longer run only when the axis size is known */
            if (!ir_dim_const_value(f->g, data->dims[axis], &size)) run = false;
            c += size;
        }
        if (i == 0) first = c;
        else if (c != first + (int64_t)i) run = false;
    }
    if (run) {
        IrDim at = first >= 0 ? ir_dim_const(f->g, first) : ir_dim_add(f->g, data->dims[axis], ir_dim_const(f->g, first));
        const char *x = cg_in(f, n, 0);
        y = cg_out(f, n, 0);
        const char *narrow = m2c_sprintf(f->a, "%s.narrow(%d, %s, %llu)?", x, axis, cg_shape_usize(f, at),
                                         (unsigned long long)k->numel);
        if (idx->rank == 0)
            cg_stmt(f, "let %s = %s.squeeze(%d)?;", y, narrow, axis);
        else if (idx->rank == 1)
            cg_stmt(f, "let %s = %s;", y, narrow);
        else
            cg_stmt(f, "let %s = %s.reshape(%s)?;", y, narrow, cg_shape_of(f, n->out[0]));
        cg_set_layout(f, n->out[0], idx->rank > 1 ? LAYOUT_CONTIG : LAYOUT_VIEW);
        return true;
    }
    const char *ids = prepare_ids(f, n->in[1], data->dims[axis], true);
    const char *x = cg_contig(f, n->in[0], false);
    y = cg_out(f, n, 0);
    if (idx->rank == 1) {
        cg_stmt(f, "let %s = %s.index_select(&%s, %d)?;", y, x, ids, axis);
    } else {
        const char *sel = cg_fresh(f, "selected");
        cg_stmt(f, "let %s = %s.index_select(&%s, %d)?;", sel, x, ids, axis);
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, sel, cg_shape_of(f, n->out[0]));
    }
    return true;
}

/* GatherElements is candle's gather, whose kernel reads the source as if it had the ids' shape on the
 * other axes: narrow the data to that shape first. */
static bool gather_elements(CgFn *f, const IrNode *n)
{
    const IrValue *data = val(f, n->in[0]), *idx = val(f, n->in[1]);
    int axis = cg_shape_axis(ir_attr_int(n, "axis", 0), data->rank);
    const char *ids = prepare_ids(f, n->in[1], data->dims[axis], false);
    const char *x = cg_in(f, n, 0);
    bool narrowed = false;
    for (int k = 0; k < data->rank; k++) {
        if (k == axis || data->dims[k] == idx->dims[k]) continue;
        const char *t = cg_fresh(f, "window");
        cg_stmt(f, "let %s = %s.narrow(%d, 0, %s)?;", t, x, k, cg_shape_usize(f, idx->dims[k]));
        x = t;
        narrowed = true;
    }
    if (narrowed || cg_layout(f, n->in[0]) != LAYOUT_CONTIG) x = m2c_sprintf(f->a, "%s.contiguous()?", x);
    cg_stmt(f, "let %s = %s.gather(&%s.contiguous()?, %d)?;", cg_out(f, n, 0), x, ids, axis);
    return true;
}

static const char *reduction(const IrNode *n)
{
    const char *r = ir_attr_str(n, "reduction", "none");
    return strcmp(r, "add") && strcmp(r, "mul") && strcmp(r, "max") && strcmp(r, "min") ? NULL : r;
}

static bool scatter(CgFn *f, const IrNode *n)
{
    const char *r = reduction(n);
    const char *given = ir_attr_str(n, "reduction", "none");
    if (!r && strcmp(given, "none") != 0)
        return cg_unsupported(f, n, m2c_sprintf(f->a, "unknown reduction '%s'", given));
    if (!r) r = "none";
    cg_helper(f, CG_HELPER_SCATTER_REDUCE);   /* both scatter helpers fall back on it */
    if (n->op == IR_OP_SCATTER_ND) {
        cg_stmt(f, "let %s = %s(%s, %s, %s, \"%s\")?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_SCATTER_ND),
                cg_in_ref(f, n, 0), cg_in_ref(f, n, 1), cg_in_ref(f, n, 2), r);
        return true;
    }
    int axis = cg_shape_axis(ir_attr_int(n, "axis", 0), val(f, n->in[0])->rank);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %d, \"%s\")?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_SCATTER_ELEMENTS),
            cg_in_ref(f, n, 0), cg_in_ref(f, n, 1), cg_in_ref(f, n, 2), axis, r);
    return true;
}

static bool gather_nd(CgFn *f, const IrNode *n)
{
    int64_t b = ir_attr_int(n, "batch_dims", 0);
    cg_stmt(f, "let %s = %s(%s, %s, %lld)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_GATHER_ND), cg_in_ref(f, n, 0),
            cg_in_ref(f, n, 1), (long long)b);
    return true;
}

/* A scalar integer input as an f64 Rust expression (a comparison operand): a literal or a cast symbol
 * when known, else read on the host. */
static const char *scalar_f64(CgFn *f, const IrNode *n, uint32_t v, const char *hint)
{
    IrDim d[1];
    uint32_t k;
    int64_t c;
    if (cg_shape_known_list(f, n, v, d, 1, &k) && k == 1) {
        if (ir_dim_const_value(f->g, d[0], &c)) return cg_f64(f->a, (double)c);
        return m2c_sprintf(f->a, "%s as f64", cg_shape_i64_prec(f, d[0], 3));
    }
    const char *name = cg_fresh(f, hint);
    cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?[0];", name, cg_v(f, v));
    return m2c_sprintf(f->a, "%s as f64", name);
}

/* OneHot: ids (wrapped by depth; ids outside [-depth, depth) match no class) against an arange of the
 * classes laid along `axis`, then where_cond between on and off. */
static bool one_hot(CgFn *f, const IrNode *n)
{
    const IrValue *out = val(f, n->out[0]);
    int axis = cg_shape_axis(ir_attr_int(n, "axis", -1), out->rank);
    /* the depth as an i64 (arange's end), an f64 (a multiplier) and a usize (a dim) */
    const char *depth, *depth_f64, *depth_usize;
    IrDim d = out->dims[axis];
    int64_t c;
    if (ir_dim_const_value(f->g, d, &c)) {
        depth = cg_shape_i64(f, d), depth_f64 = cg_f64(f->a, (double)c), depth_usize = cg_dim(f, d);
    } else if (cg_shape_dim_bound(f, n, d)) {
        depth = cg_shape_i64(f, d), depth_usize = cg_shape_usize(f, d);
        depth_f64 = m2c_sprintf(f->a, "%s as f64", cg_shape_i64_prec(f, d, 3));
    } else {
        depth = cg_fresh(f, "depth");
        cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.flatten_all()?.to_vec1::<i64>()?[0];", depth, cg_in(f, n, 1));
        depth_f64 = m2c_sprintf(f->a, "%s as f64", depth), depth_usize = m2c_sprintf(f->a, "%s as usize", depth);
    }
    const char *ids = cg_fresh(f, "ids");
    cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?;", ids, cg_in(f, n, 0));
    const char *w = cg_fresh(f, "ids");
    cg_stmt(f, "let %s = (%s.lt(0.0)?.to_dtype(DType::I64)? * %s)?.add(&%s)?.unsqueeze(%d)?;", w, ids, depth_f64, ids,
            axis);
    /* the classes along `axis`, 1 elsewhere: (1, depth, 1) */
    M2cBuf shape = {0};
    for (int i = 0; i < out->rank; i++)
        m2c_buf_printf(&shape, "%s%s", i ? ", " : "", i == axis ? depth_usize : "1");
    const char *cls_shape = m2c_sprintf(f->a, "(%s%s)", shape.s, out->rank == 1 ? "," : "");
    m2c_buf_free(&shape);
    const char *classes = cg_fresh(f, "classes");
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s)?.reshape(%s)?;", classes, depth, cg_device(f), cls_shape);
    const char *hot = cg_fresh(f, "hot");
    cg_stmt(f, "let %s = %s.broadcast_eq(&%s)?;", hot, w, classes);
    const char *on = cg_fresh(f, "on"), *off = cg_fresh(f, "off");
    const char *values = cg_in(f, n, 2);
    cg_stmt(f, "let %s = %s.narrow(0, 1, 1)?.reshape(())?.broadcast_as(%s.shape())?;", on, values, hot);
    cg_stmt(f, "let %s = %s.narrow(0, 0, 1)?.reshape(())?.broadcast_as(%s.shape())?;", off, values, hot);
    cg_stmt(f, "let %s = %s.where_cond(&%s, &%s)?;", cg_out(f, n, 0), hot, on, off);
    return true;
}

static bool non_zero(CgFn *f, const IrNode *n)
{
    if (val(f, n->in[0])->rank == 0) return cg_unsupported(f, n, "NonZero of a scalar");
    cg_stmt(f, "let %s = %s(%s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_NONZERO), cg_in_ref(f, n, 0));
    return true;
}

/* Trilu and EyeLike: `col - row` compared with k over the last two axes. */
static void diagonals(CgFn *f, const char *name, IrDim rows, IrDim cols)
{
    const char *r = cg_fresh(f, "rows"), *c = cg_fresh(f, "cols");
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s)?.reshape((%s, 1))?;", r, cg_shape_i64(f, rows), cg_device(f),
            cg_shape_usize(f, rows));
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s)?.reshape((1, %s))?;", c, cg_shape_i64(f, cols), cg_device(f),
            cg_shape_usize(f, cols));
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?;", name, c, r);
}

static bool trilu(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]);
    if (x->rank < 2) return cg_unsupported(f, n, "Trilu needs a rank of at least 2");
    bool upper = ir_attr_int(n, "upper", 1) != 0;
    const char *k = ir_input(n, 1) != IR_NONE ? scalar_f64(f, n, n->in[1], "k") : "0.0";
    const char *diag = cg_fresh(f, "diag");
    diagonals(f, diag, x->dims[x->rank - 2], x->dims[x->rank - 1]);
    const char *keep = cg_fresh(f, "keep");
    const char *xv = cg_in(f, n, 0);
    cg_stmt(f, "let %s = %s.%s(%s)?.broadcast_as(%s.shape())?;", keep, diag, upper ? "ge" : "le", k, xv);
    cg_stmt(f, "let %s = %s.where_cond(%s, &%s.zeros_like()?)?;", cg_out(f, n, 0), keep, cg_in_ref(f, n, 0), xv);
    return true;
}

static bool eye_like(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]), *out = val(f, n->out[0]);
    if (x->rank != 2) return cg_unsupported(f, n, "EyeLike needs a 2-D input");
    int64_t k = ir_attr_int(n, "k", 0);
    /* the input only gives the shape */
    const char *rn = cg_fresh(f, "n_rows"), *cn = cg_fresh(f, "n_cols");
    cg_stmt(f, "let (%s, %s) = %s.dims2()?;", rn, cn, cg_in(f, n, 0));
    const char *r = cg_fresh(f, "rows"), *c = cg_fresh(f, "cols"), *diag = cg_fresh(f, "diag");
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s as i64, %s)?.reshape((%s, 1))?;", r, rn, cg_device(f), rn);
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s as i64, %s)?.reshape((1, %s))?;", c, cn, cg_device(f), cn);
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?;", diag, c, r);
    bool u8 = cg_storage_dtype(out->dtype) == DT_U8;
    cg_stmt(f, "let %s = %s.eq(%s)?%s;", cg_out(f, n, 0), diag, cg_f64(f->a, (double)k),
            u8 ? "" : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(out->dtype)));
    return true;
}

bool cg_lower_shape_index(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_GATHER: return gather(f, n);
    case IR_OP_GATHER_ELEMENTS: return gather_elements(f, n);
    case IR_OP_GATHER_ND: return gather_nd(f, n);
    case IR_OP_SCATTER_ELEMENTS: case IR_OP_SCATTER_ND: return scatter(f, n);
    case IR_OP_ONE_HOT: return one_hot(f, n);
    case IR_OP_NON_ZERO: return non_zero(f, n);
    case IR_OP_TRILU: return trilu(f, n);
    case IR_OP_EYE_LIKE: return eye_like(f, n);
    default: return cg_unsupported(f, n, "not an index op");
    }
}
