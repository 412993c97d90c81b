/* backends/candle/lower_resize.c — Resize (opset 10 to 19): nearest with every nearest_mode, linear and
 * cubic (with antialias and exclude_outside), every coordinate_transformation_mode, axes,
 * keep_aspect_ratio_policy and tf_crop_and_resize's extrapolation.
 *
 * ONNX Resize is separable: one resize_axis helper call per resized axis, each a few index_selects and
 * per-position weights computed on the host from the exact reference formulas (f64), so it runs on any
 * device.  The scale of an axis is the given scale, or output / input when sizes are given (one common
 * scale under keep_aspect_ratio_policy); the output length is the inferred output dim.
 */
#include "lower_nn.h"

#include <math.h>
#include <string.h>

static bool const_floats(CgFn *f, uint32_t v, double *out, uint32_t max, uint32_t *n)
{
    const IrValue *val = cg_nn_val(f, v);
    if (!val->konst || val->konst->numel > max) return false;
    *n = (uint32_t)val->konst->numel;
    for (uint32_t i = 0; i < *n; i++) out[i] = ir_tensor_get_f64(val->konst, i);
    return true;
}

bool cg_lower_resize(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]), *y = cg_nn_val(f, n->out[0]);
    int r = x->rank;
    uint32_t roi_v = ir_input(n, 1), scales_v = ir_input(n, 2), sizes_v = ir_input(n, 3);
    const char *mode = ir_attr_str(n, "mode", "nearest");
    const char *transform = ir_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    const char *nearest = ir_attr_str(n, "nearest_mode", "round_prefer_floor");
    if (n->opset > 0 && n->opset < 11) {
        /* Resize-10 had neither attribute: asymmetric coordinates, ONNX Runtime's "simple" nearest */
        transform = "asymmetric";
        nearest = "simple";
    }
    if (strcmp(mode, "nearest") && strcmp(mode, "linear") && strcmp(mode, "cubic"))
        return cg_unsupported(f, n, m2c_sprintf(f->a, "unknown mode '%s'", mode));
    bool antialias = ir_attr_int(n, "antialias", 0) != 0, exclude = ir_attr_int(n, "exclude_outside", 0) != 0;
    double cubic_a = ir_attr_float(n, "cubic_coeff_a", -0.75), extrap = ir_attr_float(n, "extrapolation_value", 0.0);
    const char *policy = ir_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    int axes[IR_MAX_RANK], na;
    uint32_t cnt;
    const int64_t *ax = ir_attr_ints(n, "axes", &cnt);
    if (ax) {
        na = (int)cnt;
        for (int i = 0; i < na; i++) axes[i] = (int)(ax[i] < 0 ? ax[i] + r : ax[i]);
    } else {
        na = r;
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    bool has_sizes = sizes_v != IR_NONE && cg_nn_val(f, sizes_v)->rank > 0 && cg_nn_val(f, sizes_v)->dims[0] != ir_dim_const(f->g, 0);
    /* per resized axis: the scale as Rust f64 text, and the output length (the inferred dim when the
     * scales or sizes are constants; read from the tensors at run time otherwise) */
    const char *scale[IR_MAX_RANK], *outlen[IR_MAX_RANK];
    for (int i = 0; i < na; i++) outlen[i] = NULL;
    double sc[IR_MAX_RANK];
    uint32_t ns;
    if (!has_sizes && scales_v != IR_NONE && const_floats(f, scales_v, sc, IR_MAX_RANK, &ns)) {
        if ((int)ns != na) return cg_unsupported(f, n, "scales has the wrong length");
        for (int i = 0; i < na; i++) scale[i] = cg_f64(f->a, (double)(float)sc[i]);
    } else if (!has_sizes) {
        if (scales_v == IR_NONE) return cg_unsupported(f, n, "neither scales nor sizes");
        const char *sv = cg_fresh(f, "scales");
        cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?.to_vec1::<f64>()?;", sv, cg_v(f, scales_v));
        for (int i = 0; i < na; i++) {
            scale[i] = m2c_sprintf(f->a, "%s[%d]", sv, i);
            /* ONNX Runtime: float(scale) * float(size), truncated (as shape inference does for constants) */
            outlen[i] = m2c_sprintf(f->a, "(%s * %s as f32) as usize", cg_nn_dim_as(f, x->dims[axes[i]], "f32"), scale[i]);
        }
    } else if (strcmp(policy, "stretch") == 0) {
        int64_t szc[IR_MAX_RANK];
        uint32_t nsz;
        bool known = ir_value_ints(f->g, sizes_v, szc, IR_MAX_RANK, &nsz) && (int)nsz == na;
        const char *szv = NULL;
        if (!known) {
            szv = cg_fresh(f, "sizes");
            cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.to_vec1::<i64>()?;", szv, cg_v(f, sizes_v));
        }
        for (int i = 0; i < na; i++) {
            int64_t in;
            IrDim id = x->dims[axes[i]];
            if (known && ir_dim_const_value(f->g, id, &in)) {
                scale[i] = cg_f64(f->a, (double)szc[i] / (double)in);
            } else if (known) {
                scale[i] = m2c_sprintf(f->a, "%lld.0 / %s", (long long)szc[i], cg_nn_dim_as(f, id, "f64"));
            } else {
                outlen[i] = m2c_sprintf(f->a, "%s[%d] as usize", szv, i);
                scale[i] = m2c_sprintf(f->a, "%s[%d] as f64 / %s", szv, i, cg_nn_dim_as(f, id, "f64"));
            }
        }
    } else {
        /* one scale for every axis: the smallest (not_larger) or largest (not_smaller) ratio of sizes; the
         * output is that scale times the input, rounded half up */
        int64_t sz[IR_MAX_RANK];
        bool larger = strcmp(policy, "not_larger") == 0;
        bool known = ir_value_ints(f->g, sizes_v, sz, IR_MAX_RANK, &ns) && (int)ns == na;
        double common = larger ? INFINITY : 0;
        for (int i = 0; known && i < na; i++) {
            int64_t in;
            if (!ir_dim_const_value(f->g, x->dims[axes[i]], &in)) {
                known = false;
                break;
            }
            double q = (double)sz[i] / (double)in;
            common = larger ? fmin(common, q) : fmax(common, q);
        }
        if (known) {
            for (int i = 0; i < na; i++) scale[i] = cg_f64(f->a, common);
        } else {
            const char *szv = cg_fresh(f, "sizes"), *cs = cg_fresh(f, "scale");
            cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.to_vec1::<i64>()?;", szv, cg_v(f, sizes_v));
            M2cBuf b = {0};
            for (int i = 0; i < na; i++)
                m2c_buf_printf(&b, "%s%s[%d] as f64 / %s", i ? ", " : "", szv, i, cg_nn_dim_as(f, x->dims[axes[i]], "f64"));
            cg_stmt(f, "let %s = [%s].into_iter().fold(%s, f64::%s);", cs, b.s ? b.s : "", larger ? "f64::INFINITY" : "0.0",
                    larger ? "min" : "max");
            m2c_buf_free(&b);
            for (int i = 0; i < na; i++) {
                scale[i] = cs;
                outlen[i] = m2c_sprintf(f->a, "(%s * %s + 0.5) as usize", cs, cg_nn_dim_as(f, x->dims[axes[i]], "f64"));
            }
        }
    }
    /* tf_crop_and_resize: the region of interest per axis, as fractions of the input (all axes, or the
     * listed ones) */
    const char *roi_lo[IR_MAX_RANK], *roi_hi[IR_MAX_RANK];
    bool crop = strcmp(transform, "tf_crop_and_resize") == 0;
    for (int i = 0; i < na; i++) roi_lo[i] = "0.0", roi_hi[i] = "1.0";
    if (crop) {
        double roi[2 * IR_MAX_RANK];
        uint32_t nr;
        if (roi_v == IR_NONE) return cg_unsupported(f, n, "tf_crop_and_resize without roi");
        const IrValue *rv = cg_nn_val(f, roi_v);
        int64_t len;
        if (rv->rank != 1 || !ir_dim_const_value(f->g, rv->dims[0], &len) || (len != 2 * na && len != 2 * r))
            return cg_unsupported(f, n, "roi has an unexpected shape");
        bool all = len == 2 * r && na != r;
        bool known = const_floats(f, roi_v, roi, 2 * IR_MAX_RANK, &nr);
        const char *rt = NULL;
        if (!known) {
            rt = cg_fresh(f, "roi");
            cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?.to_vec1::<f64>()?;", rt, cg_v(f, roi_v));
        }
        for (int i = 0; i < na; i++) {
            int lo = all ? axes[i] : i, hi = all ? r + axes[i] : na + i;
            roi_lo[i] = known ? cg_f64(f->a, roi[lo]) : m2c_sprintf(f->a, "%s[%d]", rt, lo);
            roi_hi[i] = known ? cg_f64(f->a, roi[hi]) : m2c_sprintf(f->a, "%s[%d]", rt, hi);
            if (outlen[i] && !has_sizes)
                /* the output covers the region: size * scale * (end - start) */
                outlen[i] = m2c_sprintf(f->a, "(%s * (%s * (%s - %s)) as f32) as usize",
                                        cg_nn_dim_as(f, x->dims[axes[i]], "f32"), scale[i], roi_hi[i], roi_lo[i]);
        }
    }
    const char *cur = cg_in(f, n, 0);
    int last = -1;
    for (int i = 0; i < na; i++)
        if (x->dims[axes[i]] != y->dims[axes[i]] || strcmp(scale[i], "1.0") || crop || outlen[i]) last = i;
    if (last < 0) {
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cur);
        return true;
    }
    for (int i = 0; i <= last; i++) {
        if (x->dims[axes[i]] == y->dims[axes[i]] && !strcmp(scale[i], "1.0") && !crop && !outlen[i]) continue;
        const char *dst = i == last ? cg_out(f, n, 0) : cg_fresh(f, "resized");
        cg_stmt(f, "let %s = %s(%s%s, %d, %s, %s, \"%s\", \"%s\", \"%s\", %s, %s, %s, (%s, %s), %s)?;", dst,
                cg_helper(f, CG_HELPER_RESIZE_AXIS), cur == cg_in(f, n, 0) ? "" : "&", cur == cg_in(f, n, 0) ? cg_in_ref(f, n, 0) : cur,
                axes[i], outlen[i] ? outlen[i] : cg_dim(f, y->dims[axes[i]]), scale[i], mode, transform, nearest, cg_f64(f->a, cubic_a),
                exclude ? "true" : "false", antialias ? "true" : "false", roi_lo[i], roi_hi[i], cg_f64(f->a, extrap));
        cur = dst;
    }
    return true;
}
