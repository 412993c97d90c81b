/* backends/candle/lower_extra.c — the less common ops: NegativeLogLikelihoodLoss and
 * SoftmaxCrossEntropyLoss, BitShift, CumProd, LpNormalization, LpPool, MeanVarianceNormalization, LRN,
 * the window generators, ReverseSequence, Compress, Det, CenterCropPad, AffineGrid and GridSample.
 *
 * The losses, the normalizations, LpPool, CumProd and ReverseSequence are candle ops on the device (a
 * gather of the target class, strided window views, a log-step scan, an index built from the lengths).
 * What is index arithmetic on small data or needs exact integer bit work runs in Rust helpers on the
 * host: BitShift (every width, signed or not), Compress's selection, Det (LU in f64), the windows,
 * AffineGrid's base grid (the product itself is a matmul) and GridSample. */
#include "lower_nn.h"
#include "lower_reduce.h"

#include <string.h>

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

static int norm_axis(int64_t axis, int rank)
{
    return (int)(axis < 0 ? axis + rank : axis);
}

static const char *lit_bool(bool b)
{
    return b ? "true" : "false";
}

/* A 1-D integer input as a Rust `&[i64]`: a literal when known, else read back at run time. */
static const char *i64s_input(CgFn *f, const IrNode *n, uint32_t i)
{
    int64_t v[IR_MAX_RANK + 2];
    uint32_t k;
    if (ir_value_ints(f->g, n->in[i], v, IR_MAX_RANK + 2, &k)) {
        M2cBuf b = {0};
        m2c_buf_puts(&b, "&[");
        for (uint32_t j = 0; j < k; j++) m2c_buf_printf(&b, "%s%lld", j ? ", " : "", (long long)v[j]);
        m2c_buf_puts(&b, "]");
        const char *s = m2c_strdup(f->a, b.s);
        m2c_buf_free(&b);
        return s;
    }
    const char *name = cg_fresh(f, val(f, n->in[i])->name);
    cg_stmt(f, "let %s = %s(%s)?;", name, cg_helper(f, CG_HELPER_INTS), cg_in_ref(f, n, i));
    return m2c_sprintf(f->a, "&%s", name);
}

/* "2" or "(0, 2, 3)" */
static const char *dims_tuple(CgFn *f, const int *axes, int na)
{
    M2cBuf b = {0};
    if (na != 1) m2c_buf_puts(&b, "(");
    for (int i = 0; i < na; i++) m2c_buf_printf(&b, "%s%d", i ? ", " : "", axes[i]);
    if (na != 1) m2c_buf_puts(&b, ")");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

/* --- losses ------------------------------------------------------------------------------------------------ */

/* loss = -input[n, target, d...] (times weight[target]); zero where target == ignore_index, which is replaced
 * by class 0 before the gather so any value may stand there.  mean divides by the weights taken. */
static bool loss(CgFn *f, const IrNode *n)
{
    bool sce = n->op == IR_OP_SCE_LOSS;
    const IrValue *t = val(f, n->in[1]);
    const char *red = ir_attr_str(n, "reduction", "mean");
    bool none = strcmp(red, "none") == 0, mean = strcmp(red, "mean") == 0;
    bool has_ii = ir_attr(n, "ignore_index") != NULL, has_w = ir_input(n, 2) != IR_NONE;
    const char *src;
    if (sce) {
        /* log-probabilities over the class axis: the second output when the graph reads it */
        src = cg_nn_output_used(f, n, 1) ? cg_out(f, n, 1) : cg_fresh(f, "log_prob");
        cg_stmt(f, "let %s = candle_nn::ops::log_softmax(%s, 1)?;", src, cg_in_ref(f, n, 0));
    } else {
        src = cg_contig(f, n->in[0], false);
    }
    const char *tgt = cg_in(f, n, 1);
    if (cg_storage_dtype(t->dtype) != DT_I64 || cg_layout(f, n->in[1]) != LAYOUT_CONTIG) {
        /* candle gathers with u8, u32 or i64 indices, contiguous */
        const char *t64 = cg_fresh(f, "target");
        cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.contiguous()?;", t64, tgt);
        tgt = t64;
    }
    const char *keep = NULL, *cls = tgt;
    if (has_ii) {
        keep = cg_fresh(f, "keep");
        cls = cg_fresh(f, "class");
        cg_stmt(f, "let %s = %s.ne(%s)?;", keep, tgt, cg_f64(f->a, (double)ir_attr_int(n, "ignore_index", 0)));
        cg_stmt(f, "let %s = %s.where_cond(&%s, &%s.zeros_like()?)?;", cls, keep, tgt, tgt);
    }
    const char *lossv = none ? cg_out(f, n, 0) : cg_fresh(f, "losses");
    const char *picked = has_w || has_ii ? cg_fresh(f, "picked") : lossv;
    cg_comment(f, "minus the input at each target class: (N, d...)");
    cg_stmt(f, "let %s = %s.gather(&%s.unsqueeze(1)?, 1)?.squeeze(1)?.neg()?;", picked, src, cls);
    const char *w = NULL;
    if (has_w) {
        w = cg_fresh(f, "class_weight");
        cg_stmt(f, "let %s = %s.index_select(&%s.flatten_all()?, 0)?.reshape(%s.shape())?;", w,
                cg_contig(f, n->in[2], false), cls, cls);
        const char *wl = has_ii ? cg_fresh(f, "weighted") : lossv;
        cg_stmt(f, "let %s = (&%s * &%s)?;", wl, picked, w);
        picked = wl;
    }
    if (has_ii) {
        cg_stmt(f, "let %s = %s.where_cond(&%s, &%s.zeros_like()?)?;", lossv, keep, picked, picked);
        if (has_w && mean) {
            const char *wk = cg_fresh(f, "taken");
            cg_stmt(f, "let %s = %s.where_cond(&%s, &%s.zeros_like()?)?;", wk, keep, w, w);
            w = wk;
        }
    }
    if (none) return true;
    const char *y = cg_out(f, n, 0);
    if (!mean) {
        cg_stmt(f, "let %s = %s.sum_all()?;", y, lossv);
    } else if (w) {
        cg_stmt(f, "let %s = %s.sum_all()?.div(&%s.sum_all()?)?;", y, lossv, w);
    } else if (has_ii) {
        cg_stmt(f, "let %s = %s.sum_all()?.div(&%s.to_dtype(%s.dtype())?.sum_all()?)?;", y, lossv, keep, lossv);
    } else {
        cg_stmt(f, "let %s = %s.mean_all()?;", y, lossv);
    }
    return true;
}

/* --- elementwise-like ---------------------------------------------------------------------------------------- */

static bool bit_shift(CgFn *f, const IrNode *n)
{
    IrDType t = val(f, n->in[0])->dtype;
    cg_stmt(f, "let %s = %s(%s, %s, %s, %d, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_BIT_SHIFT), cg_in_ref(f, n, 0),
            cg_in_ref(f, n, 1), lit_bool(strcmp(ir_attr_str(n, "direction", ""), "LEFT") == 0), (int)(8 * ir_dtype_size(t)),
            lit_bool(ir_dtype_is_signed(t)));
    return true;
}

static bool cumprod(CgFn *f, const IrNode *n)
{
    const char *axis = cg_int_input(f, n, 1, "axis", false);
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_CUMPROD), cg_in_ref(f, n, 0), axis,
            lit_bool(ir_attr_int(n, "exclusive", 0)), lit_bool(ir_attr_int(n, "reverse", 0)));
    return true;
}

/* --- normalizations ---------------------------------------------------------------------------------------- */

static bool lp_norm(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->in[0])->rank, axis = norm_axis(ir_attr_int(n, "axis", -1), rank);
    const char *x = cg_in(f, n, 0), *norm = cg_fresh(f, "norm"), *safe = cg_fresh(f, "norm");
    if (ir_attr_int(n, "p", 2) == 1)
        cg_stmt(f, "let %s = %s.abs()?.sum_keepdim(%d)?;", norm, x, axis);
    else
        cg_stmt(f, "let %s = %s.sqr()?.sum_keepdim(%d)?.sqrt()?;", norm, x, axis);
    cg_comment(f, "a zero norm divides by one: the slice is all zeros and stays so");
    cg_stmt(f, "let %s = %s.eq(0.0)?.where_cond(&%s.ones_like()?, &%s)?;", safe, norm, norm, norm);
    cg_stmt(f, "let %s = %s.broadcast_div(&%s)?;", cg_out(f, n, 0), x, safe);
    return true;
}

static bool mvn(CgFn *f, const IrNode *n)
{
    int rank = val(f, n->in[0])->rank, axes[IR_MAX_RANK], na = 0;
    uint32_t k;
    const int64_t *av = ir_attr_ints(n, "axes", &k);
    static const int64_t dflt[3] = {0, 2, 3};
    if (!av) av = dflt, k = 3;
    bool used[IR_MAX_RANK] = {false};
    for (uint32_t i = 0; i < k; i++) used[norm_axis(av[i], rank)] = true;
    for (int i = 0; i < rank; i++)
        if (used[i]) axes[na++] = i;
    const char *x = cg_in(f, n, 0);
    if (na == 0) {
        /* statistics of each element alone: x - x over a zero deviation */
        cg_stmt(f, "let %s = %s.zeros_like()?;", cg_out(f, n, 0), x);
        return true;
    }
    const char *ax = dims_tuple(f, axes, na), *c = cg_fresh(f, "centered"), *sd = cg_fresh(f, "std");
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s.mean_keepdim(%s)?)?;", c, x, x, ax);
    cg_stmt(f, "let %s = (%s.sqr()?.mean_keepdim(%s)?.sqrt()? + 1e-9)?;", sd, c, ax);
    cg_stmt(f, "let %s = %s.broadcast_div(&%s)?;", cg_out(f, n, 0), c, sd);
    return true;
}

/* y = x / (bias + alpha / size * window sum of x^2 over channels)^beta */
static bool lrn(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]);
    int64_t size = ir_attr_int(n, "size", 1), before = (size - 1) / 2, after = size - 1 - before;
    double alpha = ir_attr_float(n, "alpha", 1e-4), beta = ir_attr_float(n, "beta", 0.75), bias = ir_attr_float(n, "bias", 1.0);
    const char *xs = cg_in(f, n, 0), *c = cg_dim(f, x->dims[1]);
    const char *sq = cg_fresh(f, "squares"), *win = cg_fresh(f, "window");
    cg_stmt(f, "let %s = %s.sqr()?.pad_with_zeros(1, %lld, %lld)?;", sq, xs, (long long)before, (long long)after);
    if (size == 1) {
        cg_stmt(f, "let %s = %s;", win, sq);
    } else {
        cg_stmt(f, "let mut %s = %s.narrow(1, 0, %s)?;", win, sq, c);
        cg_open(f->o, "for k in 1..%lld {", (long long)size);
        cg_line(f->o, "%s = (%s + %s.narrow(1, k, %s)?)?;", win, win, sq, c);
        cg_close(f->o, "}");
    }
    cg_stmt(f, "let %s = %s.div(&%s.affine(%s / %lld.0, %s)?.powf(%s)?)?;", cg_out(f, n, 0), xs, win, cg_f32(f->a, alpha),
            (long long)size, cg_f32(f->a, bias), cg_f32(f->a, beta));
    return true;
}

/* (sum over the window of |x|^p)^(1/p): the powers, zero-padded, summed by pool_taps (every spatial rank,
 * dilations), plus the end padding ceil_mode's last windows reach into. */
static bool lp_pool(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]), *y = val(f, n->out[0]);
    CgWindow w;
    if (!cg_nn_window(f, n, x, NULL, &w)) return false;
    int ns = w.ns;
    const char *out[IR_MAX_RANK];
    for (int i = 0; i < ns; i++) {
        out[i] = cg_dim(f, y->dims[2 + i]);
        int64_t span = (w.k[i] - 1) * w.dil[i] + 1;
        IrDim need = ir_dim_add(f->g, ir_dim_mul(f->g, ir_dim_sub(f->g, y->dims[2 + i], ir_dim_const(f->g, 1)),
                                                 ir_dim_const(f->g, w.stride[i])),
                                ir_dim_const(f->g, span));
        IrDim have = x->dims[2 + i];
        if (!w.lo[i].rs && !w.hi[i].rs) have = ir_dim_add(f->g, have, ir_dim_const(f->g, w.lo[i].c + w.hi[i].c));
        int64_t e;
        if (!w.lo[i].rs && !w.hi[i].rs && ir_dim_const_value(f->g, ir_dim_sub(f->g, need, have), &e)) {
            if (e > 0) w.hi[i].c += e;
        } else if (ir_attr_int(n, "ceil_mode", 0)) {
            const char *t = cg_fresh(f, "pad_end");
            cg_stmt(f, "let %s = %s + (%s).saturating_sub(%s + %s + %s);", t, cg_nn_size(f, w.hi[i]), cg_dim(f, need),
                    cg_dim(f, x->dims[2 + i]), cg_nn_size(f, w.lo[i]), cg_nn_size(f, w.hi[i]));
            w.hi[i].rs = t;
        }
    }
    double p = ir_attr_float(n, "p", 2.0);
    const char *pw = cg_fresh(f, "powers");
    if (p == 1) cg_stmt(f, "let %s = %s.abs()?;", pw, cg_in(f, n, 0));
    else if (p == 2) cg_stmt(f, "let %s = %s.sqr()?;", pw, cg_in(f, n, 0));
    else cg_stmt(f, "let %s = %s.abs()?.powf(%s)?;", pw, cg_in(f, n, 0), cg_f64(f->a, p));
    const char *padded = cg_nn_pad_spatial(f, pw, &w, NULL);
    M2cBuf k = {0}, s = {0}, d = {0}, o = {0};
    for (int i = 0; i < ns; i++) {
        m2c_buf_printf(&k, "%s%lld", i ? ", " : "", (long long)w.k[i]);
        m2c_buf_printf(&s, "%s%lld", i ? ", " : "", (long long)w.stride[i]);
        m2c_buf_printf(&d, "%s%lld", i ? ", " : "", (long long)w.dil[i]);
        m2c_buf_printf(&o, "%s%s", i ? ", " : "", out[i]);
    }
    const char *sum = p == 1 ? cg_out(f, n, 0) : cg_fresh(f, "window_sum");
    cg_stmt(f, "let %s = %s(%s, &[%s], &[%s], &[%s], &[%s], false)?;", sum, cg_helper(f, CG_HELPER_POOL_TAPS),
            cg_nn_arg(f, padded), k.s, s.s, d.s, o.s);
    m2c_buf_free(&k);
    m2c_buf_free(&s);
    m2c_buf_free(&d);
    m2c_buf_free(&o);
    if (p == 2) cg_stmt(f, "let %s = %s.sqrt()?;", cg_out(f, n, 0), sum);
    else if (p != 1) cg_stmt(f, "let %s = %s.powf(%s)?;", cg_out(f, n, 0), sum, cg_f64(f->a, 1.0 / p));
    return true;
}

/* --- generators and index ops -------------------------------------------------------------------------------- */

static bool window(CgFn *f, const IrNode *n)
{
    IrDType t = val(f, n->out[0])->dtype;
    int kind = n->op == IR_OP_HANN_WINDOW ? 0 : n->op == IR_OP_HAMMING_WINDOW ? 1 : 2;
    const char *size = cg_int_input(f, n, 0, "size", false);
    cg_stmt(f, "let %s = %s(%s, %d, %s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_WINDOW), size, kind,
            lit_bool(ir_attr_int(n, "periodic", 1)), cg_candle_dtype(t), cg_device(f));
    return true;
}

/* y[.., t, ..] = x[.., len - 1 - t, ..] for t < len of its batch entry: one gather along the time axis with
 * an index computed on the device from the lengths. */
static bool reverse_sequence(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]);
    int ba = (int)ir_attr_int(n, "batch_axis", 1), ta = (int)ir_attr_int(n, "time_axis", 0), r = x->rank;
    const char *src = cg_in(f, n, 0);
    if (cg_layout(f, n->in[0]) != LAYOUT_CONTIG) {
        /* candle gathers from contiguous data */
        src = cg_fresh(f, "data");
        cg_stmt(f, "let %s = %s.contiguous()?;", src, cg_in(f, n, 0));
    }
    const char *lens = cg_fresh(f, "lens"), *steps = cg_fresh(f, "steps"), *idx = cg_fresh(f, "src_step");
    /* (B, 1) or (1, B) against (1, T) or (T, 1), broadcast to (d0, d1) */
    const char *bshape = ba == 0 ? "((), 1)" : "(1, ())";
    cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.reshape(%s)?;", lens, cg_in(f, n, 1), bshape);
    cg_stmt(f, "let %s = Tensor::arange(0i64, %s.dim(%d)? as i64, %s.device())?.reshape(%s)?;", steps, src, ta, src,
            ta == 0 ? "((), 1)" : "(1, ())");
    const char *plane = cg_fresh(f, "plane");
    cg_stmt(f, "let %s = (%s.dim(0)?, %s.dim(1)?);", plane, src, src);
    cg_stmt(f, "let %s = %s.broadcast_lt(&%s)?.broadcast_as(%s)?.where_cond(&(%s.broadcast_sub(&%s)? - 1.0)?.broadcast_as(%s)?, "
               "&%s.broadcast_as(%s)?)?;",
            idx, steps, lens, plane, lens, steps, plane, steps, plane);
    if (r > 2) {
        M2cBuf b = {0};
        m2c_buf_printf(&b, "(%s.0, %s.1", plane, plane);
        for (int i = 2; i < r; i++) m2c_buf_puts(&b, ", 1");
        m2c_buf_puts(&b, ")");
        cg_stmt(f, "let %s = %s.reshape(%s)?.broadcast_as(%s.shape())?.contiguous()?;", idx, idx, b.s, src);
        m2c_buf_free(&b);
    }
    cg_stmt(f, "let %s = %s.gather(&%s, %d)?;", cg_out(f, n, 0), src, idx, ta);
    return true;
}

static bool compress(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]);
    const char *axis = ir_attr(n, "axis") ? m2c_sprintf(f->a, "Some(%d)", norm_axis(ir_attr_int(n, "axis", 0), x->rank))
                                          : "None";
    cg_stmt(f, "let %s = %s(%s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_COMPRESS), cg_in_ref(f, n, 0),
            cg_in_ref(f, n, 1), axis);
    return true;
}

static bool center_crop_pad(CgFn *f, const IrNode *n)
{
    int r = val(f, n->in[0])->rank;
    uint32_t k;
    const int64_t *av = ir_attr_ints(n, "axes", &k);
    M2cBuf b = {0};
    m2c_buf_puts(&b, "&[");
    for (int i = 0; i < (av ? (int)k : r); i++) m2c_buf_printf(&b, "%s%d", i ? ", " : "", av ? norm_axis(av[i], r) : i);
    m2c_buf_puts(&b, "]");
    const char *sizes = i64s_input(f, n, 1);
    cg_stmt(f, "let %s = %s(%s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_CENTER_CROP_PAD), cg_in_ref(f, n, 0),
            b.s, sizes);
    m2c_buf_free(&b);
    cg_set_layout(f, n->out[0], LAYOUT_VIEW);
    return true;
}

static bool det(CgFn *f, const IrNode *n)
{
    cg_stmt(f, "let %s = %s(%s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_DET), cg_in_ref(f, n, 0));
    return true;
}

static bool affine_grid(CgFn *f, const IrNode *n)
{
    const char *sizes = i64s_input(f, n, 1);
    cg_stmt(f, "let %s = %s(%s, %s, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_AFFINE_GRID), cg_in_ref(f, n, 0), sizes,
            lit_bool(ir_attr_int(n, "align_corners", 0)));
    return true;
}

static bool grid_sample(CgFn *f, const IrNode *n)
{
    const char *mode = ir_attr_str(n, "mode", n->opset > 0 && n->opset < 20 ? "bilinear" : "linear");
    const char *pad = ir_attr_str(n, "padding_mode", "zeros");
    int taps = !strcmp(mode, "nearest") ? 1 : !strcmp(mode, "linear") || !strcmp(mode, "bilinear") ? 2 : 4;
    int pm = !strcmp(pad, "zeros") ? 0 : !strcmp(pad, "border") ? 1 : 2;
    cg_stmt(f, "let %s = %s(%s, %s, %d, %d, %s)?;", cg_out(f, n, 0), cg_helper(f, CG_HELPER_GRID_SAMPLE), cg_in_ref(f, n, 0),
            cg_in_ref(f, n, 1), taps, pm, lit_bool(ir_attr_int(n, "align_corners", 0)));
    return true;
}

bool cg_lower_extra(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_NLL_LOSS: case IR_OP_SCE_LOSS: return loss(f, n);
    case IR_OP_BIT_SHIFT: return bit_shift(f, n);
    case IR_OP_CUMPROD: return cumprod(f, n);
    case IR_OP_LP_NORM: return lp_norm(f, n);
    case IR_OP_MVN: return mvn(f, n);
    case IR_OP_LRN: return lrn(f, n);
    case IR_OP_LP_POOL: return lp_pool(f, n);
    case IR_OP_HANN_WINDOW: case IR_OP_HAMMING_WINDOW: case IR_OP_BLACKMAN_WINDOW: return window(f, n);
    case IR_OP_REVERSE_SEQUENCE: return reverse_sequence(f, n);
    case IR_OP_COMPRESS: return compress(f, n);
    case IR_OP_CENTER_CROP_PAD: return center_crop_pad(f, n);
    case IR_OP_DET: return det(f, n);
    case IR_OP_AFFINE_GRID: return affine_grid(f, n);
    case IR_OP_GRID_SAMPLE: return grid_sample(f, n);
    default: return cg_unsupported(f, n, "not an op of the extra family");
    }
}
