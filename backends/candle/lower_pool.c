/* backends/candle/lower_pool.c — AveragePool and MaxPool (pads, auto_pad, ceil_mode, count_include_pad,
 * dilations, any spatial rank) and the global pools.
 *
 * The input is padded first: -inf for MaxPool (pad_const, so a padded element never wins), zeros for
 * AveragePool, plus the extra end padding ceil_mode's last windows need.  One or two spatial axes without
 * dilation then run candle's max_pool2d / avg_pool2d (1-D as a height-1 image); the rest goes through the
 * pool_taps helper.  AveragePool divides by the number of elements a window covers: the same pool over a
 * mask of ones (the input's extent, or the explicitly padded extent with count_include_pad) — elements that
 * only ceil_mode added never count.
 */
#include "lower_nn.h"

#include <string.h>

static const char *usize_list(CgFn *f, const int64_t *v, int n)
{
    M2cBuf b = {0};
    m2c_buf_puts(&b, "&[");
    for (int i = 0; i < n; i++) m2c_buf_printf(&b, "%s%lld", i ? ", " : "", (long long)v[i]);
    m2c_buf_puts(&b, "]");
    const char *s = m2c_strdup(f->a, b.s);
    m2c_buf_free(&b);
    return s;
}

static bool global_pool(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]);
    const char *y = cg_out(f, n, 0);
    if (x->rank <= 2) {
        cg_stmt(f, "let %s = %s.clone();", y, cg_in(f, n, 0));
        return true;
    }
    if (n->op == IR_OP_GLOBAL_AVERAGE_POOL) {
        cg_stmt(f, "let %s = %s.mean_keepdim(%s)?;", y, cg_in(f, n, 0), cg_nn_axes(f, 2, x->rank));
        return true;
    }
    M2cBuf b = {0};
    m2c_buf_puts(&b, cg_in(f, n, 0));
    for (int i = 2; i < x->rank; i++) m2c_buf_printf(&b, ".max_keepdim(%d)?", i);
    cg_stmt(f, "let %s = %s;", y, b.s);
    m2c_buf_free(&b);
    return true;
}

/* Pools `src` (padded) over the windows of w: candle's 2-D pools when they fit, else pool_taps.  `max`
 * picks max or average (candle) / sum (pool_taps); returns the local it wrote. */
static const char *pool_padded(CgFn *f, const char *src, const CgWindow *w, const char *const *out, bool max,
                               bool native, bool *summed)
{
    const char *r = cg_fresh(f, max ? "pooled" : "window_sum");
    int ns = w->ns;
    *summed = !native;
    if (native) {
        const char *op = max ? "max_pool2d_with_stride" : "avg_pool2d_with_stride";
        if (ns == 1)
            cg_stmt(f, "let %s = %s.unsqueeze(2)?.%s((1, %lld), (1, %lld))?.squeeze(2)?;", r, src, op, (long long)w->k[0],
                    (long long)w->stride[0]);
        else
            cg_stmt(f, "let %s = %s.%s((%lld, %lld), (%lld, %lld))?;", r, src, op, (long long)w->k[0], (long long)w->k[1],
                    (long long)w->stride[0], (long long)w->stride[1]);
        return r;
    }
    M2cBuf o = {0};
    m2c_buf_puts(&o, "&[");
    for (int i = 0; i < ns; i++) m2c_buf_printf(&o, "%s%s", i ? ", " : "", out[i]);
    m2c_buf_puts(&o, "]");
    cg_stmt(f, "let %s = %s(%s, %s, %s, %s, %s, %s)?;", r, cg_helper(f, CG_HELPER_POOL_TAPS), cg_nn_arg(f, src), usize_list(f, w->k, ns),
            usize_list(f, w->stride, ns), usize_list(f, w->dil, ns), o.s, max ? "true" : "false");
    m2c_buf_free(&o);
    return r;
}

bool cg_lower_pool(CgFn *f, const IrNode *n)
{
    if (n->op == IR_OP_GLOBAL_AVERAGE_POOL || n->op == IR_OP_GLOBAL_MAX_POOL) return global_pool(f, n);
    bool max = n->op == IR_OP_MAX_POOL;
    const IrValue *x = cg_nn_val(f, n->in[0]), *y = cg_nn_val(f, n->out[0]);
    if (x->rank < 3) return cg_unsupported(f, n, "a pool needs at least one spatial axis");
    CgWindow w;
    if (!cg_nn_window(f, n, x, NULL, &w)) return false;
    int ns = w.ns;
    bool cip = !max && ir_attr_int(n, "count_include_pad", 0) != 0;
    bool native = ns <= 2;
    for (int i = 0; i < ns; i++) native = native && w.dil[i] == 1;
    /* the end padding ceil_mode adds: the last window may reach past the padded input */
    CgWindow pw = w;
    const char *out[IR_MAX_RANK];
    bool extra_any = false;
    for (int i = 0; i < ns; i++) {
        out[i] = cg_dim(f, y->dims[2 + i]);
        int64_t span = (w.k[i] - 1) * w.dil[i] + 1;
        IrDim need = ir_dim_add(f->g, ir_dim_mul(f->g, ir_dim_sub(f->g, y->dims[2 + i], ir_dim_const(f->g, 1)),
                                                 ir_dim_const(f->g, w.stride[i])),
                                ir_dim_const(f->g, span));
        IrDim have = x->dims[2 + i];
        if (!w.lo[i].rs && !w.hi[i].rs) have = ir_dim_add(f->g, have, ir_dim_const(f->g, w.lo[i].c + w.hi[i].c));
        IrDim extra = ir_dim_sub(f->g, need, have);
        int64_t e;
        if (!w.lo[i].rs && !w.hi[i].rs && ir_dim_const_value(f->g, extra, &e)) {
            if (e > 0) {
                pw.hi[i].c += e;
                extra_any = true;
            }
        } else if (ir_attr_int(n, "ceil_mode", 0)) {
            const char *t = cg_fresh(f, "pad_end");
            cg_stmt(f, "let %s = %s + (%s).saturating_sub(%s + %s + %s);", t, cg_nn_size(f, w.hi[i]), cg_dim(f, need),
                    cg_dim(f, x->dims[2 + i]), cg_nn_size(f, w.lo[i]), cg_nn_size(f, w.hi[i]));
            pw.hi[i].rs = t;
            extra_any = true;
        }
    }
    const char *yname = NULL;
    const char *xp = cg_nn_pad_spatial(f, cg_in(f, n, 0), &pw, max ? "f64::NEG_INFINITY" : NULL);
    bool summed;
    const char *pooled = pool_padded(f, xp, &pw, out, max, native, &summed);
    if (max) {
        cg_stmt(f, "let %s = %s;", cg_out(f, n, 0), pooled);
        if (cg_nn_output_used(f, n, 1)) {
            /* Indices: the flat input index of each window's first maximum */
            int64_t lo[IR_MAX_RANK];
            M2cBuf o = {0}, sp = {0};
            for (int i = 0; i < ns; i++) {
                if (w.lo[i].rs) return cg_unsupported(f, n, "Indices with a padding known only at run time");
                lo[i] = w.lo[i].c;
                m2c_buf_printf(&o, "%s%s", i ? ", " : "", out[i]);
                m2c_buf_printf(&sp, "%s%s", i ? ", " : "", cg_dim(f, x->dims[2 + i]));
            }
            cg_stmt(f, "let %s = %s(%s, %s, %s, %s, &[%s], %s, &[%s], %s)?;", cg_out(f, n, 1),
                    cg_helper(f, CG_HELPER_MAX_POOL_INDICES), cg_nn_arg(f, xp), usize_list(f, w.k, ns),
                    usize_list(f, w.stride, ns), usize_list(f, w.dil, ns), o.s, usize_list(f, lo, ns), sp.s,
                    ir_attr_int(n, "storage_order", 0) ? "true" : "false");
            m2c_buf_free(&o);
            m2c_buf_free(&sp);
        }
        return true;
    }
    /* average: divide by the window's count of real (or explicitly padded, with count_include_pad) elements,
     * a constant k_total when nothing is padded and the windows stay inside */
    bool divide = !(cg_nn_pads_zero(&w) || cip) || extra_any;
    if (!divide) {
        yname = cg_out(f, n, 0);
        if (summed) {
            int64_t total = 1;
            for (int i = 0; i < ns; i++) total *= w.k[i];
            cg_stmt(f, "let %s = (%s / %lld.0)?;", yname, pooled, (long long)total);
        } else {
            cg_stmt(f, "let %s = %s;", yname, pooled);
        }
        return true;
    }
    /* the mask: ones over the counted extent, then padded with zeros like the input */
    IrDim md[IR_MAX_RANK];
    md[0] = md[1] = ir_dim_const(f->g, 1);
    CgWindow mw = pw;
    for (int i = 0; i < ns; i++) md[2 + i] = x->dims[2 + i];
    const char *mask = cg_fresh(f, "ones");
    cg_stmt(f, "let %s = Tensor::ones(%s, %s.dtype(), %s.device())?;", mask, cg_shape(f, x->rank, md), cg_in(f, n, 0),
            cg_in(f, n, 0));
    if (cip) {
        /* padded elements count: ones over the explicit padding too, zeros only for ceil_mode's extra */
        const char *m2 = cg_nn_pad_spatial(f, mask, &w, "1.0");
        mask = m2;
        for (int i = 0; i < ns; i++) {
            mw.lo[i].c = 0;
            mw.lo[i].rs = NULL;
            if (pw.hi[i].rs)
                mw.hi[i].rs = m2c_sprintf(f->a, "%s - %s", pw.hi[i].rs, cg_nn_size(f, w.hi[i]));
            else
                mw.hi[i].c = pw.hi[i].c - (w.hi[i].rs ? 0 : w.hi[i].c);
        }
    }
    const char *mp = cg_nn_pad_spatial(f, mask, &mw, NULL);
    bool s2;
    const char *count = pool_padded(f, mp, &pw, out, false, native, &s2);
    cg_stmt(f, "let %s = %s.broadcast_div(&%s)?;", cg_out(f, n, 0), pooled, count);
    return true;
}
