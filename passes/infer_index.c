/* passes/infer_index.c — shape rules of the ops that index, pad or resample: Gather, GatherElements,
 * GatherND, Pad, Resize, DepthToSpace, SpaceToDepth, OneHot, NonZero.
 */
#include "infer.h"

#include <math.h>
#include <string.h>

enum { LIST_MAX = 64 };

bool infer_gather(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *idx = infer_in(g, n, 1);
    if (!infer_check_dtype(n, idx, "indices", INFER_INT)) return false;
    if (x->rank == 0) return infer_error(n, "cannot gather from a scalar");
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
    int r = x->rank - 1 + idx->rank;
    if (r > IR_MAX_RANK) return infer_error(n, "output rank %d exceeds the supported maximum %d", r, IR_MAX_RANK);
    /* constant indices into a constant axis: an index out of range is the model's bug, report it now */
    int64_t vals[LIST_MAX], size;
    uint32_t nv;
    if (ir_dim_const_value(g, x->dims[ax], &size) && infer_in_ints(g, n, 1, vals, LIST_MAX, &nv)) {
        for (uint32_t i = 0; i < nv; i++)
            if (vals[i] < -size || vals[i] >= size)
                return infer_error(n, "index %lld is out of range for axis %d of size %lld", (long long)vals[i], ax,
                                   (long long)size);
    }
    IrDim out[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < ax; i++) out[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++) out[k++] = idx->dims[i];
    for (int i = ax + 1; i < x->rank; i++) out[k++] = x->dims[i];
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_gather_elements(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *idx = infer_in(g, n, 1);
    if (!infer_check_dtype(n, idx, "indices", INFER_INT)) return false;
    if (idx->rank != x->rank)
        return infer_error(n, "indices has rank %d, data has rank %d (they must be equal)", idx->rank, x->rank);
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
    return infer_set(g, n, 0, x->dtype, idx->rank, idx->dims);
}

bool infer_gather_nd(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *idx = infer_in(g, n, 1);
    if (!infer_check_dtype(n, idx, "indices", INFER_INT)) return false;
    int64_t b = ir_attr_int(n, "batch_dims", 0), m;
    int r = x->rank, q = idx->rank;
    if (r < 1 || q < 1) return infer_error(n, "data and indices need rank >= 1 (have %d and %d)", r, q);
    if (b < 0 || b >= (r < q ? r : q))
        return infer_error(n, "batch_dims %lld must be below both ranks (%d, %d)", (long long)b, r, q);
    if (!ir_dim_const_value(g, idx->dims[q - 1], &m))
        return infer_error(n, "the last dim of indices must be constant, is %s", ir_dim_str(g, idx->dims[q - 1]));
    if (m < 1 || m > r - b)
        return infer_error(n, "indices address %lld dims of data of rank %d with batch_dims %lld", (long long)m, r,
                           (long long)b);
    for (int i = 0; i < b; i++)
        if (infer_const_conflict(g, x->dims[i], idx->dims[i]))
            return infer_error(n, "batch dim %d differs: data %s, indices %s", i, infer_value_shape_str(g, x),
                               infer_value_shape_str(g, idx));
    IrDim out[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < q - 1; i++) out[k++] = idx->dims[i];
    for (int i = (int)(b + m); i < r; i++) out[k++] = x->dims[i];
    return infer_set(g, n, 0, x->dtype, k, out);
}

bool infer_pad(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *pads = infer_in(g, n, 1), *cv = infer_in(g, n, 2);
    if (!pads) return infer_error(n, "missing the pads input");
    if (!infer_check_dtype(n, pads, "pads", INFER_INT)) return false;
    const char *mode = ir_attr_str(n, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge") && strcmp(mode, "wrap"))
        return infer_error(n, "unknown mode '%s'", mode);
    if (cv && cv->dtype != x->dtype)
        return infer_error(n, "constant_value has type %s, the data %s", ir_dtype_name(cv->dtype),
                           ir_dtype_name(x->dtype));
    int64_t axes[LIST_MAX];
    uint32_t na = (uint32_t)x->rank;
    bool have_axes = true;
    if (infer_in(g, n, 3)) {
        have_axes = infer_in_ints(g, n, 3, axes, LIST_MAX, &na);
        for (uint32_t i = 0; have_axes && i < na; i++) {
            int a;
            if (!infer_axis(n, "axis", axes[i], x->rank, &a)) return false;
            axes[i] = a;
        }
    } else {
        for (uint32_t i = 0; i < na; i++) axes[i] = i;
    }
    IrDim p[2 * LIST_MAX], out[IR_MAX_RANK];
    uint32_t np;
    bool have_pads = infer_in_dims(g, n, 1, p, 2 * LIST_MAX, &np);
    int64_t len = infer_in_numel(g, n, 1);
    if (have_axes && len >= 0 && len != 2 * (int64_t)na)
        return infer_error(n, "pads has %lld values for %u axes (expects %u)", (long long)len, na, 2 * na);
    infer_copy(out, x->dims, x->rank);
    for (int i = 0; !have_axes && i < x->rank; i++) out[i] = infer_sym(g, n, 0, i);
    for (uint32_t i = 0; have_axes && i < na; i++) {
        int a = (int)axes[i];
        out[a] = have_pads ? ir_dim_add(g, x->dims[a], ir_dim_add(g, p[i], p[i + na])) : infer_sym(g, n, 0, a);
    }
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}

/* floor(d * s) for a symbolic d when s is a dyadic rational p / 2^e (2.0, 0.5, 1.5...), which is exactly
 * what the float product computes; IR_DIM_INVALID otherwise. */
static IrDim scale_dim(IrGraph *g, IrDim d, double s)
{
    for (int e = 0; e <= 20; e++) {
        double q = ldexp(1.0, e), p = s * q;
        if (p == floor(p) && p < 1e15)
            return ir_dim_div(g, ir_dim_mul(g, d, ir_dim_const(g, (int64_t)p)), ir_dim_const(g, (int64_t)q));
    }
    return IR_DIM_INVALID;
}

bool infer_resize(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    int r = x->rank;
    /* Resize-10 is (X, scales); from 11 (X, roi, scales, sizes) with empty tensors standing for absent ones */
    uint32_t i_roi = 1, i_scales = 2, i_sizes = 3;
    if (n->opset > 0 && n->opset < 11 && n->nin == 2) {
        i_roi = IR_NONE;
        i_scales = 1;
        i_sizes = IR_NONE;
    }
    bool has_scales = infer_in(g, n, i_scales) && infer_in_numel(g, n, i_scales) != 0;
    bool has_sizes = infer_in(g, n, i_sizes) && infer_in_numel(g, n, i_sizes) != 0;
    if (has_scales == has_sizes)
        return infer_error(n, has_scales ? "both scales and sizes are given" : "needs scales or sizes");
    int64_t axes[IR_MAX_RANK];
    uint32_t na;
    const int64_t *ax = ir_attr_ints(n, "axes", &na);
    if (ax) {
        bool seen[IR_MAX_RANK] = {0};
        if (na > (uint32_t)r) return infer_error(n, "axes has %u values for rank %d", na, r);
        for (uint32_t i = 0; i < na; i++) {
            int a;
            if (!infer_axis(n, "axis", ax[i], r, &a)) return false;
            if (seen[a]) return infer_error(n, "axis %lld is repeated", (long long)ax[i]);
            seen[a] = true;
            axes[i] = a;
        }
    } else {
        na = (uint32_t)r;
        for (uint32_t i = 0; i < na; i++) axes[i] = i;
    }
    IrDim out[IR_MAX_RANK];
    infer_copy(out, x->dims, r);
    uint32_t which = has_sizes ? i_sizes : i_scales;
    int64_t len = infer_in_numel(g, n, which);
    if (len >= 0 && len != (int64_t)na)
        return infer_error(n, "%s has %lld values for %u axes", has_sizes ? "sizes" : "scales", (long long)len, na);
    if (has_sizes) {
        IrDim sz[IR_MAX_RANK];
        uint32_t ns;
        if (!infer_check_dtype(n, infer_in(g, n, i_sizes), "sizes", INFER_INT)) return false;
        bool known = infer_in_dims(g, n, i_sizes, sz, IR_MAX_RANK, &ns) && ns == na;
        const char *policy = ir_attr_str(n, "keep_aspect_ratio_policy", "stretch");
        if (strcmp(policy, "stretch") && strcmp(policy, "not_larger") && strcmp(policy, "not_smaller"))
            return infer_error(n, "unknown keep_aspect_ratio_policy '%s'", policy);
        bool stretch = strcmp(policy, "stretch") == 0;
        /* keeping the aspect ratio picks one scale for every axis: computable from constants only */
        double scale = strcmp(policy, "not_larger") == 0 ? INFINITY : 0;
        for (uint32_t i = 0; known && !stretch && i < na; i++) {
            int64_t s, d;
            if (!ir_dim_const_value(g, sz[i], &s) || !ir_dim_const_value(g, x->dims[axes[i]], &d) || d == 0) {
                known = false;
            } else {
                double f = (double)s / (double)d;
                scale = strcmp(policy, "not_larger") == 0 ? fmin(scale, f) : fmax(scale, f);
            }
        }
        for (uint32_t i = 0; i < na; i++) {
            int a = (int)axes[i];
            if (!known)
                out[a] = infer_sym(g, n, 0, a);
            else if (stretch)
                out[a] = sz[i];
            else
                out[a] = infer_f64_dim(g, floor(scale * (double)ir_dim_value(g, x->dims[a]) + 0.5));
        }
        return infer_set(g, n, 0, x->dtype, r, out);
    }
    const IrValue *sv = infer_in(g, n, i_scales);
    if (!infer_check_dtype(n, sv, "scales", INFER_FLOAT)) return false;
    const IrTensor *st = sv->konst;
    /* tf_crop_and_resize scales the region of interest, not the whole axis */
    const IrValue *roi = i_roi != IR_NONE ? infer_in(g, n, i_roi) : NULL;
    bool crop = strcmp(ir_attr_str(n, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize") == 0;
    for (uint32_t i = 0; i < na; i++) {
        int a = (int)axes[i];
        IrDim d = IR_DIM_INVALID;
        if (st && st->numel == na && (!crop || (roi && roi->konst && roi->konst->numel == 2 * na))) {
            double s = ir_tensor_get_f64(st, i);
            if (s <= 0) return infer_error(n, "scale %g on axis %d is not positive", s, a);
            if (crop) s *= ir_tensor_get_f64(roi->konst, i + na) - ir_tensor_get_f64(roi->konst, i);
            int64_t c;
            if (ir_dim_const_value(g, x->dims[a], &c)) {
                /* ONNX Runtime multiplies in single precision: float(scale) * float(size), truncated */
                float prod = (float)s * (float)c;
                d = infer_f64_dim(g, floorf(prod));
            } else {
                d = scale_dim(g, x->dims[a], (double)(float)s);
            }
        }
        out[a] = d != IR_DIM_INVALID ? d : infer_sym(g, n, 0, a);
    }
    return infer_set(g, n, 0, x->dtype, r, out);
}

/* DepthToSpace and SpaceToDepth: (N, C, H, W) with blocks of blocksize^2 moved between C and H, W. */
static bool block_rule(IrGraph *g, IrNode *n, bool to_space)
{
    const IrValue *x = infer_in(g, n, 0);
    if (x->rank != 4) return infer_error(n, "expects a 4-D input, has shape %s", infer_value_shape_str(g, x));
    int64_t b = ir_attr_int(n, "blocksize", 0), c;
    if (b <= 0) return infer_error(n, "blocksize must be positive, is %lld", (long long)b);
    if (to_space) {
        const char *mode = ir_attr_str(n, "mode", "DCR");
        if (strcmp(mode, "DCR") && strcmp(mode, "CRD")) return infer_error(n, "unknown mode '%s'", mode);
    }
    IrDim bb = ir_dim_const(g, b), b2 = ir_dim_const(g, b * b), out[4];
    out[0] = x->dims[0];
    if (to_space) {
        if (ir_dim_const_value(g, x->dims[1], &c) && c % (b * b) != 0)
            return infer_error(n, "channels %lld are not divisible by blocksize^2 = %lld", (long long)c,
                               (long long)(b * b));
        out[1] = ir_dim_div(g, x->dims[1], b2);
        out[2] = ir_dim_mul(g, x->dims[2], bb);
        out[3] = ir_dim_mul(g, x->dims[3], bb);
    } else {
        for (int i = 2; i < 4; i++)
            if (ir_dim_const_value(g, x->dims[i], &c) && c % b != 0)
                return infer_error(n, "spatial size %lld is not divisible by blocksize %lld", (long long)c,
                                   (long long)b);
        out[1] = ir_dim_mul(g, x->dims[1], b2);
        out[2] = ir_dim_div(g, x->dims[2], bb);
        out[3] = ir_dim_div(g, x->dims[3], bb);
    }
    return infer_set(g, n, 0, x->dtype, 4, out);
}

bool infer_depth_to_space(IrGraph *g, IrNode *n)
{
    return block_rule(g, n, true);
}

bool infer_space_to_depth(IrGraph *g, IrNode *n)
{
    return block_rule(g, n, false);
}

bool infer_one_hot(IrGraph *g, IrNode *n)
{
    const IrValue *idx = infer_in(g, n, 0), *depth = infer_in(g, n, 1), *values = infer_in(g, n, 2);
    if (!infer_check_dtype(n, idx, "indices", INFER_NUM)) return false;
    if (!infer_check_dtype(n, depth, "depth", INFER_NUM)) return false;
    int64_t nv = infer_in_numel(g, n, 2), dn = infer_in_numel(g, n, 1);
    if (values->rank != 1 || (nv >= 0 && nv != 2))
        return infer_error(n, "values must be [off_value, on_value], has shape %s", infer_value_shape_str(g, values));
    if (dn >= 0 && dn != 1)
        return infer_error(n, "depth must be a scalar, has shape %s", infer_value_shape_str(g, depth));
    int r = idx->rank + 1, ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", -1), r, &ax)) return false;
    IrDim d;
    double f;
    if (infer_in_scalar_dim(g, n, 1, &d)) {
        /* integer depth, possibly symbolic */
    } else if (ir_value_scalar_f64(g, ir_input(n, 1), &f)) {
        d = infer_f64_dim(g, f);   /* a float depth is cast to int64 */
        if (d == IR_DIM_INVALID) return infer_error(n, "depth %g is not a size", f);
    } else {
        d = infer_sym(g, n, 0, ax);
    }
    int64_t c;
    if (ir_dim_const_value(g, d, &c) && c < 1) return infer_error(n, "depth must be positive, is %lld", (long long)c);
    IrDim out[IR_MAX_RANK];
    for (int i = 0, j = 0; i < r; i++) out[i] = i == ax ? d : idx->dims[j++];
    return infer_set(g, n, 0, values->dtype, r, out);
}

bool infer_non_zero(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    IrDim out[2] = {ir_dim_const(g, x->rank), IR_DIM_INVALID};
    if (x->konst && ir_dtype_supported(x->konst->dtype) && x->konst->data) {
        /* known contents: the count is known too */
        int64_t nnz = 0;
        for (uint64_t i = 0; i < x->konst->numel; i++) nnz += ir_tensor_get_f64(x->konst, i) != 0;
        out[1] = ir_dim_const(g, nnz);
    } else {
        out[1] = infer_sym(g, n, 0, 1);
    }
    return infer_set(g, n, 0, DT_I64, 2, out);
}
