/* passes/infer_misc.c — shape rules of the generators and the remaining ops: Constant, ConstantOfShape,
 * EyeLike, Range, Dropout (output and mask), DFT (17 and 20, onesided/inverse) and STFT.
 */
#include "infer.h"

#include <math.h>
#include <string.h>

bool infer_constant(IrGraph *g, IrNode *n)
{
    static const char *const kinds[] = {"value", "value_float", "value_floats", "value_int", "value_ints",
                                        "value_string", "value_strings", "sparse_value"};
    const IrAttr *a = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        const IrAttr *b = ir_attr(n, kinds[i]);
        if (b && a) return infer_error(n, "has both '%s' and '%s'", a->name, b->name);
        if (b) a = b;
    }
    if (!a) return infer_error(n, "has no value attribute");
    IrDim len;
    if (!strcmp(a->name, "value")) {
        if (a->kind != ATTR_TENSOR) return infer_error(n, "attribute 'value' is not a tensor");
        const IrTensor *t = a->u.t;
        if (!ir_dtype_supported(t->dtype))
            return infer_error(n, "constants of type %s are not supported", ir_dtype_onnx_name(t->dtype));
        if (t->rank > IR_MAX_RANK)
            return infer_error(n, "constant rank %d exceeds the supported maximum %d", t->rank, IR_MAX_RANK);
        IrDim dims[IR_MAX_RANK];
        for (int i = 0; i < t->rank; i++) dims[i] = ir_dim_const(g, t->shape[i]);
        return infer_set(g, n, 0, t->dtype, t->rank, dims);
    }
    if (!strcmp(a->name, "value_float")) return infer_set(g, n, 0, DT_F32, 0, NULL);
    if (!strcmp(a->name, "value_int")) return infer_set(g, n, 0, DT_I64, 0, NULL);
    if (!strcmp(a->name, "value_floats") || !strcmp(a->name, "value_ints")) {
        len = ir_dim_const(g, a->n);
        return infer_set(g, n, 0, a->kind == ATTR_INTS ? DT_I64 : DT_F32, 1, &len);
    }
    return infer_error(n, "'%s' constants are not supported", a->name);
}

bool infer_constant_of_shape(IrGraph *g, IrNode *n)
{
    const IrValue *s = infer_in(g, n, 0);
    if (!infer_check_dtype(n, s, "shape", INFER_INT)) return false;
    if (s->rank != 1) return infer_error(n, "shape must be 1-D, has shape %s", infer_value_shape_str(g, s));
    IrDType t = DT_F32;
    const IrAttr *v = ir_attr(n, "value");
    if (v) {
        if (v->kind != ATTR_TENSOR || v->u.t->numel != 1)
            return infer_error(n, "attribute 'value' must be a one-element tensor");
        t = v->u.t->dtype;
        if (!ir_dtype_supported(t)) return infer_error(n, "unsupported value type %s", ir_dtype_onnx_name(t));
    }
    IrDim dims[IR_MAX_RANK];
    uint32_t k;
    if (infer_in_dims(g, n, 0, dims, IR_MAX_RANK, &k)) return infer_set(g, n, 0, t, (int)k, dims);
    int64_t len = infer_in_numel(g, n, 0);
    if (len < 0) return infer_error(n, "the output rank is unknown (the shape input has a symbolic length)");
    if (len > IR_MAX_RANK)
        return infer_error(n, "output rank %lld exceeds the supported maximum %d", (long long)len, IR_MAX_RANK);
    for (int i = 0; i < len; i++) dims[i] = infer_sym(g, n, 0, i);
    return infer_set(g, n, 0, t, (int)len, dims);
}

bool infer_eye_like(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (x->rank != 2) return infer_error(n, "expects a 2-D input, has shape %s", infer_value_shape_str(g, x));
    IrDType t = (IrDType)ir_attr_int(n, "dtype", x->dtype);
    if ((int64_t)t <= 0 || (int64_t)t > DT_ONNX_MAX || !ir_dtype_supported(t))
        return infer_error(n, "unsupported output type %lld", (long long)ir_attr_int(n, "dtype", x->dtype));
    return infer_set(g, n, 0, t, 2, x->dims);
}

bool infer_range(IrGraph *g, IrNode *n)
{
    const IrValue *start = infer_in(g, n, 0);
    static const char *const names[3] = {"start", "limit", "delta"};
    for (uint32_t i = 0; i < 3; i++) {
        const IrValue *v = infer_in(g, n, i);
        int64_t cnt = infer_in_numel(g, n, i);
        if (!infer_check_dtype(n, v, names[i], INFER_FLOAT | INFER_SINT)) return false;
        if (v->rank > 1 || (cnt >= 0 && cnt != 1))
            return infer_error(n, "%s must be a scalar, has shape %s", names[i], infer_value_shape_str(g, v));
        if (i && !infer_same_dtype(g, n, 0, i)) return false;
    }
    IrDim len = IR_DIM_INVALID, lo, hi, dd;
    int64_t d;
    if (ir_dtype_is_int(start->dtype)) {
        if (infer_in_scalar_dim(g, n, 2, &dd) && ir_dim_const_value(g, dd, &d)) {
            if (d == 0) return infer_error(n, "delta is 0");
            if (infer_in_scalar_dim(g, n, 0, &lo) && infer_in_scalar_dim(g, n, 1, &hi)) {
                IrDim span = d > 0 ? ir_dim_sub(g, hi, lo) : ir_dim_sub(g, lo, hi);
                len = infer_dim_max(g, ir_dim_ceil_div(g, span, ir_dim_const(g, d > 0 ? d : -d)), ir_dim_const(g, 0));
            }
        }
    } else {
        double s, l, dl;
        if (ir_value_scalar_f64(g, ir_input(n, 0), &s) && ir_value_scalar_f64(g, ir_input(n, 1), &l) &&
            ir_value_scalar_f64(g, ir_input(n, 2), &dl)) {
            if (dl == 0) return infer_error(n, "delta is 0");
            double c = ceil((l - s) / dl);
            if (!(c <= 1e15)) return infer_error(n, "%g elements are too many", c);   /* NaN too */
            len = infer_f64_dim(g, c > 0 ? c : 0);
        }
    }
    if (len == IR_DIM_INVALID) len = infer_sym(g, n, 0, 0);
    return infer_set(g, n, 0, start->dtype, 1, &len);
}

bool infer_dropout(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *ratio = infer_in(g, n, 1), *train = infer_in(g, n, 2);
    if (!infer_check_dtype(n, x, "data", INFER_FLOAT)) return false;
    if (ratio && (!infer_check_dtype(n, ratio, "ratio", INFER_FLOAT) || infer_in_numel(g, n, 1) > 1))
        return infer_error(n, "ratio must be a float scalar, has %s%s", ir_dtype_name(ratio->dtype),
                           infer_value_shape_str(g, ratio));
    if (train && (!infer_check_dtype(n, train, "training_mode", INFER_BOOL) || infer_in_numel(g, n, 2) > 1))
        return infer_error(n, "training_mode must be a bool scalar, has %s%s", ir_dtype_name(train->dtype),
                           infer_value_shape_str(g, train));
    /* the mask became bool in opset 10; before, it had the data's type */
    IrDType mask = n->opset > 0 && n->opset < 10 ? x->dtype : DT_BOOL;
    return infer_set_like(g, n, 0, x) && infer_set(g, n, 1, mask, x->rank, x->dims);
}

/* DFT: the last axis holds (re) or (re, im).  onesided=1 forward is RFFT (axis -> len/2 + 1, complex out);
 * onesided=1 inverse is IRFFT (real out, default length 2*(n-1)). */
bool infer_dft(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    int r = x->rank;
    int64_t last, axis = 0;   /* 0 until known: a runtime axis leaves it unused */
    if (r < 2)
        return infer_error(n, "expects an input of rank >= 2 (signal dims, then 1 or 2), has shape %s",
                           infer_value_shape_str(g, x));
    /* a symbolic last dim (unusual) is taken on trust: only the onesided checks need it */
    if (!ir_dim_const_value(g, x->dims[r - 1], &last))
        last = 0;
    else if (last != 1 && last != 2)
        return infer_error(n, "the last dim must be 1 (real) or 2 (complex), input has shape %s",
                           infer_value_shape_str(g, x));
    /* opset 17: axis attribute (moved to input 2 by the importer), default 1; opset 20: input, default -2.  An
     * axis known only at run time leaves the transformed length on an unknown axis: every signal dim the
     * transform would change gets a symbol of this node (none does for a full-length complex transform). */
    IrDim ad;
    bool axis_known = true;
    if (infer_in(g, n, 2)) {
        const IrValue *av = infer_in(g, n, 2);
        int64_t an = infer_in_numel(g, n, 2);
        if (!infer_check_dtype(n, av, "axis", INFER_INT)) return false;
        if (av->rank > 1 || (an >= 0 && an != 1))
            return infer_error(n, "axis must be a scalar, has shape %s", infer_value_shape_str(g, av));
        axis_known = infer_in_scalar_dim(g, n, 2, &ad) && ir_dim_const_value(g, ad, &axis);
    } else {
        axis = n->opset > 0 && n->opset < 20 ? ir_attr_int(n, "axis", 1) : -2;
    }
    int64_t a = axis < 0 ? axis + r : axis;
    if (axis_known && (a < 0 || a > r - 2))
        return infer_error(n, "axis %lld is out of range for rank %d (the last axis holds re/im)", (long long)axis, r);
    bool onesided = ir_attr_int(n, "onesided", 0) != 0, inverse = ir_attr_int(n, "inverse", 0) != 0;
    bool irfft = onesided && inverse;
    if (onesided && !inverse && last == 2)
        return infer_error(n, "onesided forward DFT needs a real input (last dim 1)");
    if (irfft && last == 1) return infer_error(n, "onesided inverse DFT needs a complex input (last dim 2)");
    IrDim out[IR_MAX_RANK];
    infer_copy(out, x->dims, r);
    out[r - 1] = ir_dim_const(g, irfft ? 1 : 2);
    if (infer_in(g, n, 1) && !infer_check_dtype(n, infer_in(g, n, 1), "dft_length", INFER_INT)) return false;
    for (int i = 0; i < r - 1; i++) {
        if (axis_known && i != a) continue;
        IrDim len;
        if (infer_in(g, n, 1)) {
            if (!infer_in_scalar_dim(g, n, 1, &len)) len = infer_sym(g, n, 0, i);
        } else {
            len = irfft ? ir_dim_mul(g, ir_dim_const(g, 2), ir_dim_sub(g, x->dims[i], ir_dim_const(g, 1))) : x->dims[i];
        }
        IrDim d = onesided && !inverse ? ir_dim_add(g, ir_dim_div(g, len, ir_dim_const(g, 2)), ir_dim_const(g, 1)) : len;
        out[i] = axis_known || d == x->dims[i] ? d : infer_sym(g, n, 0, i);
    }
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_stft(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *step = infer_in(g, n, 1), *win = infer_in(g, n, 2), *fl = infer_in(g, n, 3);
    if (!infer_check_dtype(n, x, "signal", INFER_FLOAT)) return false;
    int64_t last = 0;   /* stays 0 for a symbolic last dim, which is taken on trust */
    if (x->rank != 3 || (ir_dim_const_value(g, x->dims[2], &last) && last != 1 && last != 2))
        return infer_error(n, "signal must be [batch, length, 1 or 2], has shape %s", infer_value_shape_str(g, x));
    if (!infer_check_dtype(n, step, "frame_step", INFER_INT)) return false;
    if (win && (win->rank != 1 || !infer_same_dtype(g, n, 0, 2)))
        return infer_error(n, "window must be 1-D of the signal's type, has %s%s", ir_dtype_name(win->dtype),
                           infer_value_shape_str(g, win));
    bool onesided = ir_attr_int(n, "onesided", 1) != 0;
    if (onesided && last == 2) return infer_error(n, "onesided output needs a real signal (last dim 1)");
    IrDim len, st;
    if (fl) {
        if (!infer_check_dtype(n, fl, "frame_length", INFER_INT)) return false;
        if (!infer_in_scalar_dim(g, n, 3, &len)) len = win ? win->dims[0] : infer_sym(g, n, 0, 2);
    } else {
        len = win ? win->dims[0] : x->dims[1];   /* no window and no length: one frame of the whole signal */
    }
    if (win && infer_const_conflict(g, win->dims[0], len))
        return infer_error(n, "window length %s differs from frame_length %s", ir_dim_str(g, win->dims[0]),
                           ir_dim_str(g, len));
    int64_t c;
    IrDim frames;
    if (infer_in_scalar_dim(g, n, 1, &st)) {
        if (ir_dim_const_value(g, st, &c) && c < 1)
            return infer_error(n, "frame_step %lld is not positive", (long long)c);
        frames = ir_dim_add(g, ir_dim_div(g, ir_dim_sub(g, x->dims[1], len), st), ir_dim_const(g, 1));
    } else {
        frames = infer_sym(g, n, 0, 1);
    }
    IrDim out[4] = {x->dims[0], frames,
                    onesided ? ir_dim_add(g, ir_dim_div(g, len, ir_dim_const(g, 2)), ir_dim_const(g, 1)) : len,
                    ir_dim_const(g, 2)};
    return infer_set(g, n, 0, x->dtype, 4, out);
}
