/* passes/infer_extra.c — shape rules of the less common ops: the losses (NegativeLogLikelihoodLoss,
 * SoftmaxCrossEntropyLoss), BitShift, LpNormalization, MeanVarianceNormalization, LRN, the window
 * generators, ReverseSequence, Compress, Det, CenterCropPad, AffineGrid and GridSample.  CumProd shares
 * CumSum's rule and LpPool the pools' (infer_nn.c).
 *
 * Outputs whose size is data (Compress's selection, a window's size, CenterCropPad's and AffineGrid's
 * target shape read at run time) get a symbol of this node, bound from the result in the generated code.
 */
#include "infer.h"

#include <string.h>

/* A dim from input i's known contents at position k, else this node's symbol for output axis `axis`. */
static IrDim content_dim(IrGraph *g, IrNode *n, uint32_t i, uint32_t k, int axis)
{
    IrDim d[IR_MAX_RANK + 2];
    uint32_t cnt;
    if (infer_in_dims(g, n, i, d, IR_MAX_RANK + 2, &cnt) && k < cnt) return d[k];
    return infer_sym(g, n, 0, axis);
}

/* NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss: input (N, C, d1..dk), target (N, d1..dk) of class
 * indices, optional per-class weight (C).  reduction none keeps the target's shape; sum and mean give a
 * scalar.  SCE's second output is the log-probabilities, shaped like the input. */
bool infer_loss(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *t = infer_in(g, n, 1), *w = infer_in(g, n, 2);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    if (t->dtype != DT_I32 && t->dtype != DT_I64)
        return infer_error(n, "target has type %s, expects i32 or i64", ir_dtype_name(t->dtype));
    if (x->rank < 2)
        return infer_error(n, "expects an input of rank >= 2 (N, C, d1...), has shape %s", infer_value_shape_str(g, x));
    if (t->rank != x->rank - 1)
        return infer_error(n, "target of shape %s does not match input %s (expects (N, d1...))",
                           infer_value_shape_str(g, t), infer_value_shape_str(g, x));
    for (int i = 0; i < t->rank; i++) {
        IrDim xd = x->dims[i == 0 ? 0 : i + 1];
        if (infer_const_conflict(g, xd, t->dims[i]))
            return infer_error(n, "target of shape %s does not match input %s (expects (N, d1...))",
                               infer_value_shape_str(g, t), infer_value_shape_str(g, x));
    }
    if (w) {
        if (!infer_same_dtype(g, n, 0, 2)) return false;
        if (w->rank != 1 || infer_const_conflict(g, w->dims[0], x->dims[1]))
            return infer_error(n, "weight must be 1-D of the class count %s, has shape %s", ir_dim_str(g, x->dims[1]),
                               infer_value_shape_str(g, w));
    }
    const char *red = ir_attr_str(n, "reduction", "mean");
    bool none = strcmp(red, "none") == 0;
    if (!none && strcmp(red, "sum") && strcmp(red, "mean"))
        return infer_error(n, "unknown reduction '%s' (expects none, sum or mean)", red);
    if (!infer_set(g, n, 0, x->dtype, none ? t->rank : 0, t->dims)) return false;
    return n->op != IR_OP_SCE_LOSS || infer_set_like(g, n, 1, x);
}

/* BitShift: integers of one type, broadcast; signed types from opset 28. */
bool infer_bit_shift(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0), *b = infer_in(g, n, 1);
    if (!infer_same_dtype(g, n, 0, 1)) return false;
    if (!infer_check_dtype(n, a, "X", INFER_INT)) return false;
    if (ir_dtype_is_signed(a->dtype) && n->opset > 0 && n->opset < 28)
        return infer_error(n, "X has type %s; signed types need opset 28", ir_dtype_name(a->dtype));
    const char *dir = ir_attr_str(n, "direction", "");
    if (strcmp(dir, "LEFT") && strcmp(dir, "RIGHT"))
        return infer_error(n, "direction must be LEFT or RIGHT, is '%s'", dir);
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!infer_broadcast_dims(g, n, a->rank, a->dims, b->rank, b->dims, &rank, dims)) return false;
    return infer_set(g, n, 0, a->dtype, rank, dims);
}

/* LpNormalization: p 1 or 2 along one axis. */
bool infer_lp_norm(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int ax;
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", -1), x->rank, &ax)) return false;
    int64_t p = ir_attr_int(n, "p", 2);
    if (p != 1 && p != 2) return infer_error(n, "p must be 1 or 2, is %lld", (long long)p);
    return infer_set_like(g, n, 0, x);
}

/* MeanVarianceNormalization: statistics over `axes` (default N, H, W of an NCHW input). */
bool infer_mvn(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    uint32_t k;
    const int64_t *axes = ir_attr_ints(n, "axes", &k);
    static const int64_t dflt[3] = {0, 2, 3};
    if (!axes) axes = dflt, k = 3;
    for (uint32_t i = 0; i < k; i++) {
        int ax;
        if (!infer_axis(n, "axes entry", axes[i], x->rank, &ax)) return false;
    }
    return infer_set_like(g, n, 0, x);
}

/* LRN: across channels of (N, C, d1...). */
bool infer_lrn(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    if (x->rank < 3)
        return infer_error(n, "expects an input of rank >= 3 (N, C, d1...), has shape %s", infer_value_shape_str(g, x));
    if (ir_attr_int(n, "size", 0) < 1) return infer_error(n, "size must be a positive integer");
    return infer_set_like(g, n, 0, x);
}

/* HannWindow, HammingWindow, BlackmanWindow: a 1-D window of `size` values of output_datatype. */
bool infer_window(IrGraph *g, IrNode *n)
{
    const IrValue *s = infer_in(g, n, 0);
    if (s->dtype != DT_I32 && s->dtype != DT_I64)
        return infer_error(n, "size has type %s, expects i32 or i64", ir_dtype_name(s->dtype));
    int64_t cnt = infer_in_numel(g, n, 0);
    if (s->rank > 1 || (cnt >= 0 && cnt != 1))
        return infer_error(n, "size must be a scalar, has shape %s", infer_value_shape_str(g, s));
    int64_t dt = ir_attr_int(n, "output_datatype", DT_F32);
    IrDType t = (IrDType)dt;
    if (dt <= 0 || dt > DT_ONNX_MAX || !ir_dtype_supported(t) || t == DT_BOOL || t == DT_STRING ||
        (!ir_dtype_is_float(t) && !ir_dtype_is_int(t)))
        return infer_error(n, "unsupported output_datatype %lld", (long long)dt);
    IrDim len;
    int64_t c;
    if (!infer_in_scalar_dim(g, n, 0, &len)) len = infer_sym(g, n, 0, 0);
    else if (ir_dim_const_value(g, len, &c) && c < 0) return infer_error(n, "size %lld is negative", (long long)c);
    return infer_set(g, n, 0, t, 1, &len);
}

/* ReverseSequence: reverses the first sequence_lens[b] steps of each batch entry; shape unchanged. */
bool infer_reverse_sequence(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *l = infer_in(g, n, 1);
    if (x->rank < 2)
        return infer_error(n, "expects an input of rank >= 2, has shape %s", infer_value_shape_str(g, x));
    int64_t ba = ir_attr_int(n, "batch_axis", 1), ta = ir_attr_int(n, "time_axis", 0);
    if ((ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return infer_error(n, "batch_axis %lld and time_axis %lld must be 0 and 1 in some order", (long long)ba,
                           (long long)ta);
    if (l->dtype != DT_I64)
        return infer_error(n, "sequence_lens has type %s, expects i64", ir_dtype_name(l->dtype));
    if (l->rank != 1 || infer_const_conflict(g, l->dims[0], x->dims[ba]))
        return infer_error(n, "sequence_lens must be 1-D of the batch size %s, has shape %s",
                           ir_dim_str(g, x->dims[ba]), infer_value_shape_str(g, l));
    return infer_set_like(g, n, 0, x);
}

/* Compress: the slices along `axis` (of the flattened input without one) whose condition is true. */
bool infer_compress(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *c = infer_in(g, n, 1);
    if (!infer_check_dtype(n, c, "condition", INFER_BOOL)) return false;
    if (c->rank != 1) return infer_error(n, "condition must be 1-D, has shape %s", infer_value_shape_str(g, c));
    const IrAttr *aa = ir_attr(n, "axis");
    int ax = 0;
    if (aa && !infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
    IrDim out[IR_MAX_RANK];
    int rank = aa ? x->rank : 1;
    if (aa) infer_copy(out, x->dims, x->rank);
    /* the count of true entries among the first min(len(condition), extent) when the condition is known */
    int64_t vals[4096], ext = -1;
    uint32_t k;
    IrDim extent = aa ? x->dims[ax] : infer_prod(g, x->dims, 0, x->rank);
    bool ext_known = ir_dim_const_value(g, extent, &ext);
    if (infer_in_ints(g, n, 1, vals, 4096, &k) && ext_known) {
        int64_t cnt = 0;
        for (uint32_t i = 0; i < k && (int64_t)i < ext; i++) cnt += vals[i] != 0;
        for (uint32_t i = (uint32_t)(ext < (int64_t)k ? ext : (int64_t)k); i < k; i++)
            if (vals[i]) return infer_error(n, "condition selects index %u beyond the extent %lld", i, (long long)ext);
        out[ax] = ir_dim_const(g, cnt);
    } else {
        out[ax] = infer_sym(g, n, 0, ax);
    }
    return infer_set(g, n, 0, x->dtype, rank, out);
}

/* Det: [*, M, M] -> [*]. */
bool infer_det(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    int r = x->rank;
    if (r < 2 || infer_const_conflict(g, x->dims[r - 1], x->dims[r - 2]))
        return infer_error(n, "expects square matrices [*, M, M], has shape %s", infer_value_shape_str(g, x));
    return infer_set(g, n, 0, x->dtype, r - 2, x->dims);
}

/* CenterCropPad: the given axes (all by default) take the sizes of `shape`. */
bool infer_center_crop_pad(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *s = infer_in(g, n, 1);
    if (s->dtype != DT_I32 && s->dtype != DT_I64)
        return infer_error(n, "shape has type %s, expects i32 or i64", ir_dtype_name(s->dtype));
    if (s->rank != 1) return infer_error(n, "shape must be 1-D, has shape %s", infer_value_shape_str(g, s));
    int r = x->rank, axes[IR_MAX_RANK], na = r;
    uint32_t k;
    const int64_t *av = ir_attr_ints(n, "axes", &k);
    if (av) {
        na = (int)k;
        if (na > r) return infer_error(n, "%d axes for rank %d", na, r);
        for (int i = 0; i < na; i++) {
            if (!infer_axis(n, "axes entry", av[i], r, &axes[i])) return false;
            for (int j = 0; j < i; j++)
                if (axes[j] == axes[i]) return infer_error(n, "axis %d is listed twice", axes[i]);
        }
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    int64_t len;
    if (ir_dim_const_value(g, s->dims[0], &len) && len != na)
        return infer_error(n, "shape has %lld entries for %d axes", (long long)len, na);
    IrDim out[IR_MAX_RANK];
    infer_copy(out, x->dims, r);
    for (int i = 0; i < na; i++) out[axes[i]] = content_dim(g, n, 1, (uint32_t)i, axes[i]);
    return infer_set(g, n, 0, x->dtype, r, out);
}

/* AffineGrid: theta (N, 2, 3) or (N, 3, 4), size (N, C, H, W) or (N, C, D, H, W) -> (N, [D,] H, W, 2 or 3). */
bool infer_affine_grid(IrGraph *g, IrNode *n)
{
    const IrValue *th = infer_in(g, n, 0), *s = infer_in(g, n, 1);
    if (!infer_check_dtype(n, th, "theta", INFER_FLOAT)) return false;
    if (s->dtype != DT_I64) return infer_error(n, "size has type %s, expects i64", ir_dtype_name(s->dtype));
    int64_t rows = 0, cols, len = -1;
    if (s->rank != 1) return infer_error(n, "size must be 1-D, has shape %s", infer_value_shape_str(g, s));
    ir_dim_const_value(g, s->dims[0], &len);
    if (th->rank != 3 || !ir_dim_const_value(g, th->dims[1], &rows) || (rows != 2 && rows != 3) ||
        !ir_dim_const_value(g, th->dims[2], &cols) || cols != rows + 1 || (len >= 0 && len != rows + 2))
        return infer_error(n, "expects theta (N, 2, 3) with size of 4 or theta (N, 3, 4) with size of 5, has %s and %s",
                           infer_value_shape_str(g, th), infer_value_shape_str(g, s));
    int ns = (int)rows;
    IrDim out[5];
    out[0] = th->dims[0];
    for (int i = 0; i < ns; i++) out[1 + i] = content_dim(g, n, 1, (uint32_t)(2 + i), 1 + i);
    out[1 + ns] = ir_dim_const(g, ns);
    return infer_set(g, n, 0, th->dtype, ns + 2, out);
}

/* GridSample: X (N, C, d1..dr), grid (N, D1..Dr, r) -> (N, C, D1..Dr). */
bool infer_grid_sample(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *gr = infer_in(g, n, 1);
    if (!infer_check_dtype(n, x, "X", INFER_NUM) || !infer_check_dtype(n, gr, "grid", INFER_FLOAT)) return false;
    int r = x->rank - 2;
    int64_t last;
    if (r < 1 || gr->rank != x->rank || (ir_dim_const_value(g, gr->dims[r + 1], &last) && last != r) ||
        infer_const_conflict(g, x->dims[0], gr->dims[0]))
        return infer_error(n, "expects X (N, C, d1..dr) and grid (N, D1..Dr, r), has %s and %s",
                           infer_value_shape_str(g, x), infer_value_shape_str(g, gr));
    if (n->opset > 0 && n->opset < 20 && r != 2)
        return infer_error(n, "GridSample before opset 20 takes 4-D input, has shape %s", infer_value_shape_str(g, x));
    const char *mode = ir_attr_str(n, "mode", n->opset > 0 && n->opset < 20 ? "bilinear" : "linear");
    const char *pad = ir_attr_str(n, "padding_mode", "zeros");
    static const char *const modes[] = {"linear", "bilinear", "nearest", "cubic", "bicubic"};
    bool ok = false;
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) ok |= strcmp(mode, modes[i]) == 0;
    if (!ok) return infer_error(n, "unknown mode '%s'", mode);
    if (strcmp(pad, "zeros") && strcmp(pad, "border") && strcmp(pad, "reflection"))
        return infer_error(n, "unknown padding_mode '%s'", pad);
    IrDim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    out[1] = x->dims[1];
    for (int i = 0; i < r; i++) out[2 + i] = gr->dims[1 + i];
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}
