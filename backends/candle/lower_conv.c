/* backends/candle/lower_conv.c — Conv and ConvTranspose, 1-D and 2-D on candle's kernels, the rest through
 * the conv_taps helper.
 *
 * candle's conv1d/conv2d take one symmetric padding, one stride and one dilation for every spatial axis:
 * asymmetric or per-axis paddings are applied first with pad_with_zeros.  Depthwise convolutions (one input
 * channel per group) never go to candle's grouped path, which launches one convolution per channel: the
 * conv_taps helper works on the whole tensor at once: on the CPU (1-D) one batched GEMV over overlapping
 * window views, on a GPU the window view times the kernel summed over the taps (12x and 49x faster than
 * candle's grouped conv1d at (1, 256, 4096), k=7: bench/RESULTS.md), else one multiply-add per tap.  It
 * also takes the shapes candle has no kernel for (per-axis strides or dilations in 2-D, three or more
 * spatial axes).
 *
 * ConvTranspose computes the full (unpadded) result and crops it with narrow, zero-extending it where
 * output_padding or output_shape reach past it: 1-D through the conv_transpose1d helper (one GEMM and a
 * fold of the taps; candle 0.11's CPU conv_transpose1d is wrong for batches > 1), 2-D on candle's
 * conv_transpose2d (one call per group), per-axis strides or dilations and 3-D as a convolution of the
 * zero-spread input with the flipped kernel.
 */
#include "lower_nn.h"

#include <string.h>

/* The kernel's spatial sizes: from the weight when constant, else kernel_shape. */
static bool kernel_sizes(CgFn *f, const IrNode *n, const IrValue *w, int ns, int64_t *k)
{
    uint32_t cnt;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &cnt);
    for (int i = 0; i < ns; i++) {
        if (!ir_dim_const_value(f->g, w->dims[2 + i], &k[i])) {
            if (!ks || (int)cnt != ns) return cg_unsupported(f, n, "the kernel size is not known at compile time");
            k[i] = ks[i];
        }
    }
    return true;
}

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

static bool all_equal(const int64_t *v, int n)
{
    for (int i = 1; i < n; i++)
        if (v[i] != v[0]) return false;
    return true;
}

/* y = conv + bias, the bias per output channel shaped (M, 1, ...) so it broadcasts over the spatial axes. */
static void add_bias(CgFn *f, const IrNode *n, const char *conv, int rank, IrDim m)
{
    uint32_t b = ir_input(n, 2);
    const char *y = cg_out(f, n, 0);
    if (b == IR_NONE) {
        cg_stmt(f, "let %s = %s;", y, conv);
        return;
    }
    IrDim s[IR_MAX_RANK];
    for (int i = 0; i < rank - 1; i++) s[i] = i == 0 ? m : ir_dim_const(f->g, 1);
    cg_stmt(f, "let %s = %s.broadcast_add(&%s.reshape(%s)?)?;", y, conv, cg_v(f, b), cg_shape(f, rank - 1, s));
}

bool cg_lower_conv(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]), *w = cg_nn_val(f, n->in[1]);
    int ns = x->rank - 2;
    if (ns < 1) return cg_unsupported(f, n, "a convolution needs at least one spatial axis");
    int64_t k[IR_MAX_RANK], group = ir_attr_int(n, "group", 1), cg;
    if (!kernel_sizes(f, n, w, ns, k)) return false;
    CgWindow win;
    if (!cg_nn_window(f, n, x, k, &win)) return false;
    bool depthwise = group > 1 && ir_dim_const_value(f->g, w->dims[1], &cg) && cg == 1;
    bool uniform = ns <= 2 && all_equal(win.stride, ns) && all_equal(win.dil, ns);
    /* candle's own padding is one symmetric amount for every axis */
    bool sym = true;
    for (int i = 0; i < ns; i++)
        sym = sym && !win.lo[i].rs && !win.hi[i].rs && win.lo[i].c == win.hi[i].c && win.lo[i].c == win.lo[0].c;
    const char *wt = cg_contig(f, n->in[1], false);
    const char *conv = cg_fresh(f, "conv");
    if (depthwise || !uniform) {
        const char *xp = cg_nn_pad_spatial(f, cg_in(f, n, 0), &win, NULL);
        cg_comment(f, "%s: conv_taps, not one launch per channel", depthwise ? "depthwise" : "per-axis strides/dilations");
        cg_stmt(f, "let %s = %s(%s, %s, %s, %s, %lld)?;", conv, cg_helper(f, CG_HELPER_CONV_TAPS), cg_nn_arg(f, xp),
                cg_nn_arg(f, wt),
                usize_list(f, win.stride, ns), usize_list(f, win.dil, ns), (long long)group);
    } else {
        const char *xp = sym ? cg_in(f, n, 0) : cg_nn_pad_spatial(f, cg_in(f, n, 0), &win, NULL);
        cg_stmt(f, "let %s = %s.conv%dd(&%s, %lld, %lld, %lld, %lld)?;", conv, xp, ns, wt,
                sym ? (long long)win.lo[0].c : 0LL, (long long)win.stride[0], (long long)win.dil[0], (long long)group);
    }
    add_bias(f, n, conv, x->rank, w->dims[0]);
    return true;
}

/* --- ConvTranspose -------------------------------------------------------------------------------------- */

/* The full transposed convolution (no padding) along each axis is (in - 1) * stride + span long; the ONNX
 * output is its window [pad_begin, pad_begin + out), zero where that window leaves it. */
bool cg_lower_conv_transpose(CgFn *f, const IrNode *n)
{
    const IrValue *x = cg_nn_val(f, n->in[0]), *w = cg_nn_val(f, n->in[1]), *y = cg_nn_val(f, n->out[0]);
    int ns = x->rank - 2;
    if (ns < 1) return cg_unsupported(f, n, "a convolution needs at least one spatial axis");
    int64_t k[IR_MAX_RANK], group = ir_attr_int(n, "group", 1);
    if (!kernel_sizes(f, n, w, ns, k)) return false;
    uint32_t cnt;
    const int64_t *st = ir_attr_ints(n, "strides", &cnt), *dl = ir_attr_ints(n, "dilations", &cnt);
    const int64_t *pd = ir_attr_ints(n, "pads", &cnt), *op = ir_attr_ints(n, "output_padding", &cnt);
    uint32_t nos = 0;
    const int64_t *os = ir_attr_ints(n, "output_shape", &nos);
    const char *ap = ir_attr_str(n, "auto_pad", "NOTSET");
    bool same = strncmp(ap, "SAME_", 5) == 0, upper = strcmp(ap, "SAME_UPPER") == 0;
    int64_t stride[IR_MAX_RANK], dil[IR_MAX_RANK], span[IR_MAX_RANK];
    IrDim full[IR_MAX_RANK], begin[IR_MAX_RANK];
    for (int i = 0; i < ns; i++) {
        stride[i] = st ? st[i] : 1;
        dil[i] = dl ? dl[i] : 1;
        span[i] = (k[i] - 1) * dil[i] + 1;
        IrDim in = x->dims[2 + i];
        full[i] = ir_dim_add(f->g, ir_dim_mul(f->g, ir_dim_sub(f->g, in, ir_dim_const(f->g, 1)), ir_dim_const(f->g, stride[i])),
                             ir_dim_const(f->g, span[i]));
        if (strcmp(ap, "VALID") == 0 || (!pd && !same)) {
            begin[i] = ir_dim_const(f->g, 0);
        } else if (pd) {
            begin[i] = ir_dim_const(f->g, pd[i]);
        } else {
            /* SAME: the padding that gives the requested length (output_shape, else in * stride), split with
             * the odd one after (SAME_UPPER) or before (SAME_LOWER) */
            IrDim want = os ? ir_dim_const(f->g, os[nos - ns + i]) : ir_dim_mul(f->g, in, ir_dim_const(f->g, stride[i]));
            IrDim total = ir_dim_sub(f->g, ir_dim_add(f->g, full[i], ir_dim_const(f->g, op ? op[i] : 0)), want);
            int64_t t;
            if (!ir_dim_const_value(f->g, total, &t))
                return cg_unsupported(f, n, "the SAME padding depends on a symbolic input length");
            int64_t half = t >= 0 ? t / 2 : -((-t + 1) / 2);   /* floor division */
            begin[i] = ir_dim_const(f->g, upper ? half : t - half);
        }
    }
    int64_t b0[IR_MAX_RANK];
    for (int i = 0; i < ns; i++)
        if (!ir_dim_const_value(f->g, begin[i], &b0[i])) return cg_unsupported(f, n, "symbolic padding");
    const char *xs = cg_contig(f, n->in[0], false), *wt = cg_contig(f, n->in[1], false);
    const char *full_t = cg_fresh(f, "conv_t");
    bool uniform = ns <= 2 && all_equal(stride, ns) && all_equal(dil, ns);
    if (ns == 1) {
        cg_stmt(f, "let %s = %s(%s, %s, %lld, %lld, %lld)?;", full_t, cg_helper(f, CG_HELPER_CONV_TRANSPOSE1D),
                cg_nn_arg(f, cg_in(f, n, 0)), cg_nn_arg(f, cg_in(f, n, 1)), (long long)stride[0], (long long)dil[0],
                (long long)group);
    } else if (uniform && group == 1) {
        cg_stmt(f, "let %s = %s.conv_transpose2d(&%s, 0, 0, %lld, %lld)?;", full_t, xs, wt, (long long)stride[0],
                (long long)dil[0]);
    } else if (uniform) {
        /* candle's conv_transpose2d has no groups: one per group, concatenated */
        const char *parts = cg_fresh(f, "groups");
        cg_stmt(f, "let %s = %s.chunk(%lld, 1)?.iter().zip(%s.chunk(%lld, 0)?.iter())"
                   ".map(|(x, w)| x.contiguous()?.conv_transpose2d(w, 0, 0, %lld, %lld))"
                   ".collect::<Result<Vec<_>>>()?;",
                parts, xs, (long long)group, wt, (long long)group, (long long)stride[0], (long long)dil[0]);
        cg_stmt(f, "let %s = Tensor::cat(&%s, 1)?;", full_t, parts);
    } else {
        /* a transposed convolution is a convolution of the input spread out by the stride (zeros between
         * the elements), padded by span - 1, with the kernel flipped and its two channel axes swapped */
        const char *cur = xs;
        IrDim cd[IR_MAX_RANK];
        memcpy(cd, x->dims, (size_t)x->rank * sizeof *cd);
        for (int i = 0; i < ns; i++) {
            IrDim one = ir_dim_const(f->g, 1);
            if (stride[i] > 1) {
                IrDim sd[IR_MAX_RANK];
                memcpy(sd, cd, (size_t)x->rank * sizeof *sd);
                sd[2 + i] = ir_dim_mul(f->g, cd[2 + i], ir_dim_const(f->g, stride[i]));
                IrDim len = ir_dim_add(f->g, ir_dim_mul(f->g, ir_dim_sub(f->g, cd[2 + i], one), ir_dim_const(f->g, stride[i])), one);
                const char *sp = cg_fresh(f, "spread");
                cg_stmt(f, "let %s = %s.unsqueeze(%d)?.pad_with_zeros(%d, 0, %lld)?.reshape(%s)?.narrow(%d, 0, %s)?;", sp,
                        cur, 3 + i, 3 + i, (long long)stride[i] - 1, cg_shape(f, x->rank, sd), 2 + i, cg_dim(f, len));
                cd[2 + i] = len;
                cur = sp;
            }
            const char *pp = cg_fresh(f, "padded");
            cg_stmt(f, "let %s = %s.pad_with_zeros(%d, %lld, %lld)?;", pp, cur, 2 + i, (long long)span[i] - 1,
                    (long long)span[i] - 1);
            cd[2 + i] = ir_dim_add(f->g, cd[2 + i], ir_dim_const(f->g, 2 * (span[i] - 1)));
            cur = pp;
        }
        /* (C, M/g, k...) -> (M, C/g, k...), every spatial axis reversed */
        const char *kt = cg_fresh(f, "kernel");
        IrDim c = w->dims[0], mg = w->dims[1];
        IrDim cgd = ir_dim_div(f->g, c, ir_dim_const(f->g, group));
        M2cBuf ks = {0}, axes = {0};
        for (int i = 0; i < ns; i++) {
            m2c_buf_printf(&ks, ", %lld", (long long)k[i]);
            m2c_buf_printf(&axes, "%s%d", i ? ", " : "", 2 + i);
        }
        cg_stmt(f, "let %s = %s.reshape((%lld, %s, %s%s))?.transpose(1, 2)?.reshape((%s, %s%s))?.flip(&[%s])?;", kt,
                wt, (long long)group, cg_dim(f, cgd), cg_dim(f, mg), ks.s, cg_dim(f, ir_dim_mul(f->g, mg, ir_dim_const(f->g, group))),
                cg_dim(f, cgd), ks.s, axes.s);
        m2c_buf_free(&ks);
        m2c_buf_free(&axes);
        int64_t ones[IR_MAX_RANK];
        for (int i = 0; i < ns; i++) ones[i] = 1;
        cg_stmt(f, "let %s = %s(%s, &%s, %s, %s, %lld)?;", full_t, cg_helper(f, CG_HELPER_CONV_TAPS), cg_nn_arg(f, cur), kt,
                usize_list(f, ones, ns), usize_list(f, dil, ns), (long long)group);
    }
    /* crop [begin, begin + out) of the full result, zero-extended where the window leaves it */
    const char *cur = full_t;
    for (int i = 0; i < ns; i++) {
        IrDim out = y->dims[2 + i];
        int64_t lead = b0[i] < 0 ? -b0[i] : 0;
        IrDim tail = ir_dim_sub(f->g, ir_dim_add(f->g, ir_dim_const(f->g, b0[i]), out), full[i]);
        int64_t t;
        bool tail_known = ir_dim_const_value(f->g, tail, &t);
        if (lead > 0 || !tail_known || t > 0) {
            const char *p = cg_fresh(f, "extended");
            const char *tl = tail_known ? m2c_sprintf(f->a, "%lld", (long long)(t > 0 ? t : 0))
                                        : m2c_sprintf(f->a, "(%s).saturating_sub(%s)",
                                                      cg_dim(f, ir_dim_add(f->g, ir_dim_const(f->g, b0[i] > 0 ? b0[i] : 0), out)),
                                                      cg_dim(f, full[i]));
            cg_stmt(f, "let %s = %s.pad_with_zeros(%d, %lld, %s)?;", p, cur, 2 + i, (long long)lead, tl);
            cur = p;
        }
        int64_t start = b0[i] > 0 ? b0[i] : 0;
        if (start > 0 || !tail_known || t < 0) {
            const char *p = cg_fresh(f, "cropped");
            cg_stmt(f, "let %s = %s.narrow(%d, %lld, %s)?;", p, cur, 2 + i, (long long)start, cg_dim(f, out));
            cur = p;
        }
    }
    add_bias(f, n, cur, x->rank, y->dims[1]);
    return true;
}
