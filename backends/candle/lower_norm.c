/* backends/candle/lower_norm.c — the normalizations: BatchNormalization (inference and training mode),
 * InstanceNormalization, GroupNormalization (opset 18 per-group and 21 per-channel scale), LayerNormalization
 * (any axis, Mean and InvStdDev outputs), RMSNormalization-23, and com.microsoft SimplifiedLayerNormalization
 * and SkipLayerNormalization.
 *
 * Over the last axis with 1-D parameters the fused candle_nn::ops::layer_norm / rms_norm kernels run (one
 * launch; they want a contiguous input and compute in f32).  Everything else is the two-pass composition of
 * the ONNX function bodies: mean, centred square mean, then scale — in the stash type (f32 unless the
 * model says otherwise), cast back before the affine part as the spec does.
 */
#include "lower_nn.h"

#include <string.h>

static bool fused_dtype(IrDType t)
{
    return t == DT_F32 || t == DT_F16 || t == DT_BF16;
}

/* The stash type of a norm: the dtype its statistics are computed in. */
static IrDType stash(const IrNode *n)
{
    int64_t s = ir_attr_int(n, "stash_type", DT_F32);
    return s > 0 && s <= DT_ONNX_MAX && ir_dtype_is_float((IrDType)s) ? (IrDType)s : DT_F32;
}

/* x in dtype `to` (a new local only if it changes). */
static const char *as_dtype(CgFn *f, const char *x, IrDType from, IrDType to)
{
    if (cg_storage_dtype(from) == cg_storage_dtype(to)) return x;
    const char *c = cg_fresh(f, "wide");
    cg_stmt(f, "let %s = %s.to_dtype(%s)?;", c, x, cg_candle_dtype(to));
    return c;
}

/* Statistics over dims [axis, rank) of xs: centred (LayerNorm) or not (RMS).  Sets *mean (centred only), *inv
 * (1 / sqrt(var + eps), keepdim) and returns xs normalized. */
static const char *normalize(CgFn *f, const char *xs, int axis, int rank, double eps, bool center, const char **mean,
                             const char **inv)
{
    const char *axes = cg_nn_axes(f, axis, rank);
    const char *base = xs;
    if (center) {
        *mean = cg_fresh(f, "mean");
        const char *centered = cg_fresh(f, "centered");
        cg_stmt(f, "let %s = %s.mean_keepdim(%s)?;", *mean, xs, axes);
        cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?;", centered, xs, *mean);
        base = centered;
    }
    const char *var = cg_fresh(f, center ? "var" : "mean_square");
    *inv = cg_fresh(f, "inv_std");
    const char *normed = cg_fresh(f, "normed");
    cg_stmt(f, "let %s = %s.sqr()?.mean_keepdim(%s)?;", var, base, axes);
    cg_stmt(f, "let %s = (%s + %s)?.sqrt()?.recip()?;", *inv, var, cg_f64(f->a, eps));
    cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?;", normed, base, *inv);
    return normed;
}

/* The rank of the parameters and whether they are a vector over the last axis only. */
static bool last_axis_vector(CgFn *f, uint32_t p, const IrValue *x)
{
    if (p == IR_NONE) return true;
    const IrValue *v = cg_nn_val(f, p);
    return v->rank == 1 && v->dims[0] == x->dims[x->rank - 1];
}

/* --- LayerNormalization, RMSNormalization, com.microsoft Simplified/SkipLayerNormalization ------------------ */

/* y = norm(x) * scale (+ bias) over [axis, rank); outputs 1 and 2 (when read) are the mean and inverse
 * standard deviation (LayerNorm) or the inverse RMS at index `inv_out` (RMS forms). */
static bool layer_norm_core(CgFn *f, const IrNode *n, const char *x, const IrValue *xv, uint32_t scale, uint32_t bias,
                            bool center, int mean_out, int inv_out, const char *y)
{
    int rank = xv->rank;
    int64_t axis = n->op == IR_OP_MS_SKIP_LAYER_NORM ? -1 : ir_attr_int(n, "axis", -1);
    if (axis < 0) axis += rank;
    /* ONNX Runtime's SkipLayerNormalization defaults to 1e-12, the others to 1e-5 */
    double eps = ir_attr_float(n, "epsilon", n->op == IR_OP_MS_SKIP_LAYER_NORM ? 1e-12 : 1e-5);
    bool stats = (mean_out > 0 && cg_nn_output_used(f, n, (uint32_t)mean_out)) ||
                 (inv_out > 0 && cg_nn_output_used(f, n, (uint32_t)inv_out));
    IrDType xt = xv->dtype, pt = cg_nn_val(f, scale)->dtype, st = stash(n);
    /* the fused kernels: last axis, vector parameters of x's dtype, no statistics asked for */
    if (axis == rank - 1 && !stats && fused_dtype(xt) && pt == xt && last_axis_vector(f, scale, xv) &&
        last_axis_vector(f, bias, xv) && (bias == IR_NONE || cg_nn_val(f, bias)->dtype == xt)) {
        if (!center) {
            cg_stmt(f, "let %s = candle_nn::ops::rms_norm(&%s.contiguous()?, %s, %s)?;", y, x, cg_ref(f, scale),
                    cg_nn_f32(f, eps));
            return true;
        }
        const char *b = bias != IR_NONE ? cg_ref(f, bias) : NULL;
        if (!b) {
            /* the fused kernel needs a bias */
            const char *z = cg_fresh(f, "zero_bias");
            cg_stmt(f, "let %s = %s.zeros_like()?;", z, cg_v(f, scale));
            b = m2c_sprintf(f->a, "&%s", z);
        }
        cg_stmt(f, "let %s = candle_nn::ops::layer_norm(&%s.contiguous()?, %s, %s, %s)?;", y, x, cg_ref(f, scale), b,
                cg_nn_f32(f, eps));
        return true;
    }
    const char *xs = as_dtype(f, x, xt, st);
    const char *mean = NULL, *inv = NULL;
    const char *normed = normalize(f, xs, (int)axis, rank, eps, center, &mean, &inv);
    /* the normalized value in the parameters' dtype (LayerNorm: x's; RMS forms: the scale's) */
    normed = as_dtype(f, normed, st, pt);
    if (bias != IR_NONE) {
        const char *scaled = cg_fresh(f, "scaled");
        cg_stmt(f, "let %s = %s.broadcast_mul(%s)?;", scaled, normed, cg_ref(f, scale));
        cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", y, scaled, cg_ref(f, bias));
    } else {
        cg_stmt(f, "let %s = %s.broadcast_mul(%s)?;", y, normed, cg_ref(f, scale));
    }
    if (mean_out > 0 && n->out[mean_out] != IR_NONE) {
        IrDType want = cg_nn_val(f, n->out[mean_out])->dtype;
        cg_stmt(f, "let %s = %s;", cg_out(f, n, (uint32_t)mean_out),
                cg_storage_dtype(want) == cg_storage_dtype(st) ? m2c_sprintf(f->a, "%s.clone()", mean)
                                                             : m2c_sprintf(f->a, "%s.to_dtype(%s)?", mean, cg_candle_dtype(want)));
    }
    if (inv_out > 0 && n->out[inv_out] != IR_NONE) {
        IrDType want = cg_nn_val(f, n->out[inv_out])->dtype;
        cg_stmt(f, "let %s = %s;", cg_out(f, n, (uint32_t)inv_out),
                cg_storage_dtype(want) == cg_storage_dtype(st) ? m2c_sprintf(f->a, "%s.clone()", inv)
                                                             : m2c_sprintf(f->a, "%s.to_dtype(%s)?", inv, cg_candle_dtype(want)));
    }
    return true;
}

static bool layer_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    return layer_norm_core(f, n, cg_in(f, n, 0), x, n->in[1], ir_input(n, 2), true, 1, 2, cg_out(f, n, 0));
}

static bool rms_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    return layer_norm_core(f, n, cg_in(f, n, 0), x, n->in[1], IR_NONE, false, -1,
                           n->op == IR_OP_MS_SIMPLIFIED_LAYER_NORM ? 1 : -1, cg_out(f, n, 0));
}

/* SkipLayerNormalization: input + skip (+ bias), then LayerNorm over the last axis; output 3 is that sum. */
static bool skip_layer_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]), *skip = cg_nn_val(f, n->in[1]);
    const char *sum = cg_fresh(f, "residual");
    bool same = skip->rank == x->rank;
    for (int i = 0; same && i < x->rank; i++) same = skip->dims[i] == x->dims[i];
    cg_stmt(f, "let %s = %s.%s(%s)?;", sum, cg_in(f, n, 0), same ? "add" : "broadcast_add", cg_in_ref(f, n, 1));
    uint32_t bias = ir_input(n, 4);
    if (bias != IR_NONE) {
        const char *s2 = cg_fresh(f, "residual");
        cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", s2, sum, cg_ref(f, bias));
        sum = s2;
    }
    if (!layer_norm_core(f, n, sum, x, n->in[2], ir_input(n, 3), true, 1, 2, cg_out(f, n, 0))) return false;
    if (n->nout > 3 && n->out[3] != IR_NONE) cg_stmt(f, "let %s = %s;", cg_out(f, n, 3), sum);
    return true;
}

/* --- BatchNormalization, InstanceNormalization, GroupNormalization ------------------------------------------- */

/* A per-channel parameter reshaped to broadcast against (N, C, spatial...) from axis 1, in x's dtype. */
static const char *channel_param(CgFn *f, uint32_t p, const IrValue *x, IrDim c)
{
    const char *v = cg_v(f, p);
    const IrValue *pv = cg_nn_val(f, p);
    const char *r = cg_fresh(f, "param");
    const char *cast = cg_storage_dtype(pv->dtype) == cg_storage_dtype(x->dtype)
                           ? ""
                           : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(x->dtype));
    if (x->rank <= 2) cg_stmt(f, "let %s = %s%s;", r, v, *cast ? cast : ".clone()");
    else cg_stmt(f, "let %s = %s%s.reshape(%s)?;", r, v, cast, cg_nn_ones_shape(f, x->rank - 1, 0, c));
    return r;
}

static bool batch_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    IrDim c = x->rank > 1 ? x->dims[1] : ir_dim_const(f->g, 1);
    bool training = ir_attr_int(n, "training_mode", 0) != 0;
    if (!training) {
        for (uint32_t o = 1; o < n->nout; o++)
            if (cg_nn_output_used(f, n, o))
                return cg_unsupported(f, n, "the running statistics outputs exist only in training mode");
        /* y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a: two passes over x */
        const char *a = cg_fresh(f, "bn_scale"), *b = cg_fresh(f, "bn_shift");
        cg_stmt(f, "let %s = %s.mul(&(%s + %s)?.sqrt()?.recip()?)?;", a, cg_in(f, n, 1), cg_in_ref(f, n, 4),
                cg_f64(f->a, eps));
        cg_stmt(f, "let %s = %s.sub(&%s.mul(&%s)?)?;", b, cg_in(f, n, 2), cg_in(f, n, 3), a);
        const char *cast = cg_storage_dtype(cg_nn_val(f, n->in[1])->dtype) == cg_storage_dtype(x->dtype)
                               ? ""
                               : m2c_sprintf(f->a, ".to_dtype(%s)?", cg_candle_dtype(x->dtype));
        const char *shape = x->rank > 2 ? cg_nn_ones_shape(f, x->rank - 1, 0, c) : NULL;
        const char *pa = shape ? m2c_sprintf(f->a, "%s%s.reshape(%s)?", a, cast, shape) : m2c_sprintf(f->a, "%s%s", a, cast);
        const char *pb = shape ? m2c_sprintf(f->a, "%s%s.reshape(%s)?", b, cast, shape) : m2c_sprintf(f->a, "%s%s", b, cast);
        cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?.broadcast_add(&%s)?;", cg_out(f, n, 0), cg_in(f, n, 0), pa, pb);
        return true;
    }
    /* training mode: the batch's own statistics over every axis but 1; the running ones move by momentum */
    if (x->rank < 2) return cg_unsupported(f, n, "training mode needs an input of rank >= 2");
    double momentum = ir_attr_float(n, "momentum", 0.9);
    M2cBuf t = {0};
    m2c_buf_puts(&t, "(0");
    for (int i = 2; i < x->rank; i++) m2c_buf_printf(&t, ", %d", i);
    m2c_buf_puts(&t, ")");
    const char *axes = x->rank == 2 ? "0" : m2c_strdup(f->a, t.s);
    m2c_buf_free(&t);
    const char *mean = cg_fresh(f, "batch_mean"), *centered = cg_fresh(f, "centered"), *var = cg_fresh(f, "batch_var");
    cg_stmt(f, "let %s = %s.mean_keepdim(%s)?;", mean, cg_in(f, n, 0), axes);
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?;", centered, cg_in(f, n, 0), mean);
    cg_stmt(f, "let %s = %s.sqr()?.mean_keepdim(%s)?;", var, centered, axes);
    const char *normed = cg_fresh(f, "normed");
    cg_stmt(f, "let %s = %s.broadcast_div(&(&%s + %s)?.sqrt()?)?;", normed, centered, var, cg_f64(f->a, eps));
    const char *s = channel_param(f, n->in[1], x, c), *b = channel_param(f, n->in[2], x, c);
    cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?.broadcast_add(&%s)?;", cg_out(f, n, 0), normed, s, b);
    const char *shape1 = cg_shape(f, 1, &c);
    if (n->nout > 1 && n->out[1] != IR_NONE)
        cg_stmt(f, "let %s = ((%s * %s)? + (%s.reshape(%s)? * %s)?)?;", cg_out(f, n, 1), cg_in_ref(f, n, 3),
                cg_f64(f->a, momentum), mean, shape1, cg_f64(f->a, 1.0 - momentum));
    if (n->nout > 2 && n->out[2] != IR_NONE)
        cg_stmt(f, "let %s = ((%s * %s)? + (%s.reshape(%s)? * %s)?)?;", cg_out(f, n, 2), cg_in_ref(f, n, 4),
                cg_f64(f->a, momentum), var, shape1, cg_f64(f->a, 1.0 - momentum));
    return true;
}

static bool instance_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    const char *mean = NULL, *inv = NULL;
    const char *normed = normalize(f, cg_in(f, n, 0), 2, x->rank, eps, true, &mean, &inv);
    const char *s = channel_param(f, n->in[1], x, x->dims[1]), *b = channel_param(f, n->in[2], x, x->dims[1]);
    cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?.broadcast_add(&%s)?;", cg_out(f, n, 0), normed, s, b);
    return true;
}

/* GroupNormalization: (N, C, ...) viewed as (N, G, C/G * ...) and normalized over the last axis.  Opset 18
 * scales each group (scale and bias have G entries), opset 21 each channel (C entries). */
static bool group_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    int64_t groups = ir_attr_int(n, "num_groups", 1);
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    IrDim g = ir_dim_const(f->g, groups), rest = ir_dim_div(f->g, x->dims[1], g);
    for (int i = 2; i < x->rank; i++) rest = ir_dim_mul(f->g, rest, x->dims[i]);
    IrDim grouped[3] = {x->dims[0], g, rest};
    const char *xg = cg_fresh(f, "grouped");
    cg_stmt(f, "let %s = %s.reshape(%s)?;", xg, cg_in(f, n, 0), cg_shape(f, 3, grouped));
    IrDType st = stash(n);
    const char *xs = as_dtype(f, xg, x->dtype, st);
    const char *mean = NULL, *inv = NULL;
    const char *normed = as_dtype(f, normalize(f, xs, 2, 3, eps, true, &mean, &inv), st, x->dtype);
    const char *y = cg_out(f, n, 0);
    if (n->opset < 21) {
        /* per-group parameters, applied on the grouped view */
        IrDim s2[2] = {g, ir_dim_const(f->g, 1)};
        const char *scaled = cg_fresh(f, "scaled");
        cg_stmt(f, "let %s = %s.broadcast_mul(&%s.reshape(%s)?)?.broadcast_add(&%s.reshape(%s)?)?;", scaled, normed,
                cg_in(f, n, 1), cg_shape(f, 2, s2), cg_in(f, n, 2), cg_shape(f, 2, s2));
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, scaled, cg_shape_of(f, n->out[0]));
        return true;
    }
    const char *back = cg_fresh(f, "normed");
    cg_stmt(f, "let %s = %s.reshape(%s)?;", back, normed, cg_shape_of(f, n->out[0]));
    const char *s = channel_param(f, n->in[1], x, x->dims[1]), *b = channel_param(f, n->in[2], x, x->dims[1]);
    cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?.broadcast_add(&%s)?;", y, back, s, b);
    return true;
}

bool cg_lower_norm(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_BATCH_NORM: return batch_norm(f, n);
    case IR_OP_INSTANCE_NORM: return instance_norm(f, n);
    case IR_OP_GROUP_NORM: return group_norm(f, n);
    case IR_OP_LAYER_NORM: return layer_norm(f, n);
    case IR_OP_RMS_NORM: case IR_OP_MS_SIMPLIFIED_LAYER_NORM: return rms_norm(f, n);
    case IR_OP_MS_SKIP_LAYER_NORM: return skip_layer_norm(f, n);
    default: return cg_unsupported(f, n, "not a normalization");
    }
}
