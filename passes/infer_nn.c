/* passes/infer_nn.c — shape rules of the compute-heavy ops: Conv, ConvTranspose, AveragePool/MaxPool,
 * global pools, Col2Im, MatMul, Gemm and Einsum.
 *
 * Spatial sizes go through the dims algebra (floor and ceil division), so a symbolic time axis stays
 * symbolic: a kernel-3, pad-1, stride-1 Conv over `seq` gives `seq`, stride 2 gives `(seq - 1) // 2 + 1`.
 */
#include "infer.h"

#include <string.h>

/* floor((in + pad_sum - dil*(k-1) - 1) / stride) + 1 */
IrDim infer_conv_out(IrGraph *g, IrDim in, int64_t k, int64_t stride, int64_t dil, int64_t pad_sum)
{
    IrDim num = ir_dim_add(g, in, ir_dim_const(g, pad_sum - dil * (k - 1) - 1));
    return ir_dim_add(g, ir_dim_div(g, num, ir_dim_const(g, stride)), ir_dim_const(g, 1));
}

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } AutoPad;

/* The attributes Conv, ConvTranspose and the pools share, checked against the spatial rank. */
typedef struct {
    int ns;                                  /* spatial rank */
    int64_t k[IR_MAX_RANK];                  /* kernel; 0 where unknown (symbolic weight dims) */
    int64_t stride[IR_MAX_RANK], dil[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
    AutoPad auto_pad;
} Window;

static bool window_attrs(IrGraph *g, IrNode *n, int ns, const IrValue *w, bool need_kernel, Window *win)
{
    win->ns = ns;
    const char *ap = ir_attr_str(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET") || !ap[0])
        win->auto_pad = PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER"))
        win->auto_pad = PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        win->auto_pad = PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID"))
        win->auto_pad = PAD_VALID;
    else
        return infer_error(n, "unknown auto_pad '%s'", ap);
    if (!infer_attr_ints(n, "strides", ns, 1, win->stride) || !infer_attr_ints(n, "dilations", ns, 1, win->dil) ||
        !infer_attr_ints(n, "pads", 2 * ns, 0, win->pads))
        return false;
    uint32_t nk;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &nk);
    if (!ks && need_kernel) return infer_error(n, "missing attribute kernel_shape");
    if (ks && (int)nk != ns) return infer_error(n, "kernel_shape has %u values for %d spatial axes", nk, ns);
    for (int i = 0; i < ns; i++) {
        int64_t c = 0;
        if (ks) {
            c = ks[i];
            int64_t wc;
            if (w && ir_dim_const_value(g, w->dims[2 + i], &wc) && wc != c)
                return infer_error(n, "kernel_shape %lld on spatial axis %d disagrees with the weight's %lld",
                                   (long long)c, i,
                                   (long long)wc);
        } else if (w && !ir_dim_const_value(g, w->dims[2 + i], &c)) {
            c = 0;   /* symbolic kernel: the output size is unknown unless auto_pad is SAME */
        }
        win->k[i] = c;
        if ((ks || c) && c < 1)
            return infer_error(n, "kernel size %lld on spatial axis %d is not positive", (long long)c, i);
        if (win->stride[i] < 1)
            return infer_error(n, "stride %lld on spatial axis %d is not positive", (long long)win->stride[i], i);
        if (win->dil[i] < 1)
            return infer_error(n, "dilation %lld on spatial axis %d is not positive", (long long)win->dil[i], i);
    }
    return true;
}

static bool check_float(IrGraph *g, IrNode *n, uint32_t last)
{
    if (!infer_check_dtype(n, infer_in(g, n, 0), "input", INFER_FLOAT)) return false;
    for (uint32_t i = 1; i <= last; i++)
        if (!infer_same_dtype(g, n, 0, i)) return false;
    return true;
}

bool infer_conv(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *w = infer_in(g, n, 1), *b = infer_in(g, n, 2);
    if (!check_float(g, n, 2)) return false;
    int r = x->rank, ns = r - 2;
    if (r < 3)
        return infer_error(n, "expects an input of rank >= 3 (N, C, spatial...), has shape %s",
                           infer_value_shape_str(g, x));
    if (w->rank != r)
        return infer_error(n, "weight has shape %s, input %s (ranks differ)", infer_value_shape_str(g, w),
                           infer_value_shape_str(g, x));
    int64_t group = ir_attr_int(n, "group", 1), c;
    if (group < 1) return infer_error(n, "group %lld is not positive", (long long)group);
    Window win;
    if (!window_attrs(g, n, ns, w, false, &win)) return false;
    IrDim cin = ir_dim_mul(g, w->dims[1], ir_dim_const(g, group));
    if (infer_const_conflict(g, x->dims[1], cin))
        return infer_error(n, "input has %s channels, the weight %s expects %s (group %lld)", ir_dim_str(g, x->dims[1]),
                           infer_value_shape_str(g, w), ir_dim_str(g, cin), (long long)group);
    if (ir_dim_const_value(g, w->dims[0], &c) && c % group != 0)
        return infer_error(n, "%lld output channels are not divisible by group %lld", (long long)c, (long long)group);
    if (b && (b->rank != 1 || infer_const_conflict(g, b->dims[0], w->dims[0])))
        return infer_error(n, "bias has shape %s, expects [%s]", infer_value_shape_str(g, b),
                           ir_dim_str(g, w->dims[0]));
    IrDim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    out[1] = w->dims[0];
    for (int i = 0; i < ns; i++) {
        IrDim in = x->dims[2 + i];
        if (win.auto_pad == PAD_SAME_UPPER || win.auto_pad == PAD_SAME_LOWER)
            out[2 + i] = ir_dim_ceil_div(g, in, ir_dim_const(g, win.stride[i]));
        else if (win.k[i] == 0)
            out[2 + i] = infer_sym(g, n, 0, 2 + i);
        else
            out[2 + i] = infer_conv_out(g, in, win.k[i], win.stride[i], win.dil[i],
                                        win.auto_pad == PAD_VALID ? 0 : win.pads[i] + win.pads[ns + i]);
    }
    return infer_set(g, n, 0, x->dtype, r, out);
}

bool infer_conv_transpose(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *w = infer_in(g, n, 1), *b = infer_in(g, n, 2);
    if (!check_float(g, n, 2)) return false;
    int r = x->rank, ns = r - 2;
    if (r < 3)
        return infer_error(n, "expects an input of rank >= 3 (N, C, spatial...), has shape %s",
                           infer_value_shape_str(g, x));
    if (w->rank != r)
        return infer_error(n, "weight has shape %s, input %s (ranks differ)", infer_value_shape_str(g, w),
                           infer_value_shape_str(g, x));
    int64_t group = ir_attr_int(n, "group", 1), opad[IR_MAX_RANK];
    if (group < 1) return infer_error(n, "group %lld is not positive", (long long)group);
    Window win;
    if (!window_attrs(g, n, ns, w, false, &win) || !infer_attr_ints(n, "output_padding", ns, 0, opad)) return false;
    if (infer_const_conflict(g, x->dims[1], w->dims[0]))
        return infer_error(n, "input has %s channels, the weight %s expects %s", ir_dim_str(g, x->dims[1]),
                           infer_value_shape_str(g, w), ir_dim_str(g, w->dims[0]));
    IrDim m = ir_dim_mul(g, w->dims[1], ir_dim_const(g, group));
    if (b && (b->rank != 1 || infer_const_conflict(g, b->dims[0], m)))
        return infer_error(n, "bias has shape %s, expects [%s]", infer_value_shape_str(g, b), ir_dim_str(g, m));
    uint32_t nos;
    const int64_t *os = ir_attr_ints(n, "output_shape", &nos);
    /* output_shape holds the spatial sizes; some exporters write the full shape, whose tail is the same */
    if (os && (int)nos != ns && (int)nos != r)
        return infer_error(n, "output_shape has %u values for %d spatial axes", nos, ns);
    IrDim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    out[1] = m;
    for (int i = 0; i < ns; i++) {
        IrDim in = x->dims[2 + i];
        IrDim s = ir_dim_const(g, win.stride[i]);
        if (os) {
            out[2 + i] = ir_dim_const(g, os[nos - ns + i]);
        } else if (win.k[i] == 0) {
            out[2 + i] = infer_sym(g, n, 0, 2 + i);
        } else {
            int64_t span = opad[i] + (win.k[i] - 1) * win.dil[i] + 1;
            if (win.auto_pad == PAD_SAME_UPPER || win.auto_pad == PAD_SAME_LOWER) {
                /* in*stride; a span shorter than the stride needs negative padding, which ONNX Runtime
                 * clamps to 0, leaving (in-1)*stride + span */
                int64_t extra = span - win.stride[i];
                out[2 + i] = ir_dim_add(g, ir_dim_mul(g, in, s), ir_dim_const(g, extra < 0 ? extra : 0));
            } else {
                int64_t pads = win.auto_pad == PAD_VALID ? 0 : win.pads[i] + win.pads[ns + i];
                out[2 + i] = ir_dim_add(g, ir_dim_mul(g, ir_dim_sub(g, in, ir_dim_const(g, 1)), s),
                                        ir_dim_const(g, span - pads));
            }
        }
    }
    return infer_set(g, n, 0, x->dtype, r, out);
}

/* AveragePool, MaxPool (output 1: i64 Indices). */
bool infer_pool(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    unsigned classes = n->op == IR_OP_MAX_POOL ? INFER_FLOAT | INFER_INT : INFER_FLOAT;
    if (!infer_check_dtype(n, x, "input", classes)) return false;
    int r = x->rank, ns = r - 2;
    if (r < 3)
        return infer_error(n, "expects an input of rank >= 3 (N, C, spatial...), has shape %s",
                           infer_value_shape_str(g, x));
    Window win;
    if (!window_attrs(g, n, ns, NULL, true, &win)) return false;
    bool ceil_mode = ir_attr_int(n, "ceil_mode", 0) != 0;
    IrDim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    out[1] = x->dims[1];
    for (int i = 0; i < ns; i++) {
        IrDim in = x->dims[2 + i], s = ir_dim_const(g, win.stride[i]);
        if (win.auto_pad == PAD_SAME_UPPER || win.auto_pad == PAD_SAME_LOWER) {
            out[2 + i] = ir_dim_ceil_div(g, in, s);
        } else if (win.auto_pad == PAD_VALID) {
            out[2 + i] = infer_conv_out(g, in, win.k[i], win.stride[i], win.dil[i], 0);
        } else if (!ceil_mode) {
            out[2 + i] = infer_conv_out(g, in, win.k[i], win.stride[i], win.dil[i], win.pads[i] + win.pads[ns + i]);
        } else {
            int64_t span = win.dil[i] * (win.k[i] - 1) + 1;
            IrDim num = ir_dim_add(g, in, ir_dim_const(g, win.pads[i] + win.pads[ns + i] - span));
            IrDim o = ir_dim_add(g, ir_dim_ceil_div(g, num, s), ir_dim_const(g, 1));
            /* a window that would start in the end padding is dropped: at most ceil((in + pad_begin) / stride)
             * windows.  That can only happen when pad_end + stride exceeds the window's span. */
            if (win.pads[ns + i] + win.stride[i] > span) {
                IrDim starts = ir_dim_ceil_div(g, ir_dim_add(g, in, ir_dim_const(g, win.pads[i])), s);
                o = infer_dim_min(g, o, starts);
            }
            out[2 + i] = o;
        }
    }
    return infer_set(g, n, 0, x->dtype, r, out) && infer_set(g, n, 1, DT_I64, r, out);
}

bool infer_global_pool(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    if (x->rank < 2)
        return infer_error(n, "expects an input of rank >= 2 (N, C, spatial...), has shape %s",
                           infer_value_shape_str(g, x));
    IrDim out[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) out[i] = i < 2 ? x->dims[i] : ir_dim_const(g, 1);
    return infer_set(g, n, 0, x->dtype, x->rank, out);
}

bool infer_col2im(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (x->rank != 3)
        return infer_error(n, "expects an input of shape (N, C * prod(block), L), has %s", infer_value_shape_str(g, x));
    IrDim img[IR_MAX_RANK];
    int64_t blk[IR_MAX_RANK], len_img = infer_in_numel(g, n, 1), len_blk = infer_in_numel(g, n, 2);
    uint32_t ni = 0, nb = 0;
    bool have_img = infer_in_dims(g, n, 1, img, IR_MAX_RANK - 2, &ni);
    bool have_blk = infer_in_ints(g, n, 2, blk, IR_MAX_RANK - 2, &nb);
    int ns = have_img ? (int)ni : have_blk ? (int)nb : len_img >= 0 ? (int)len_img : (int)len_blk;
    if (ns < 1)
        return infer_error(n, "the number of spatial axes is unknown (image_shape and block_shape are not known)");
    if (ns > IR_MAX_RANK - 2 || (have_img && have_blk && ni != nb) || (len_blk >= 0 && len_blk != ns))
        return infer_error(n, "image_shape and block_shape have different lengths");
    IrDim out[IR_MAX_RANK];
    out[0] = x->dims[0];
    if (have_blk) {
        int64_t prod = 1, c;
        for (int i = 0; i < ns; i++) {
            if (blk[i] < 1) return infer_error(n, "block size %lld is not positive", (long long)blk[i]);
            prod *= blk[i];
        }
        if (ir_dim_const_value(g, x->dims[1], &c) && c % prod != 0)
            return infer_error(n, "input dim 1 (%lld) is not divisible by the block size product %lld", (long long)c,
                               (long long)prod);
        out[1] = ir_dim_div(g, x->dims[1], ir_dim_const(g, prod));
        /* the number of blocks L must match the image: each axis has conv_out(image) positions */
        int64_t st[IR_MAX_RANK], dil[IR_MAX_RANK], pads[2 * IR_MAX_RANK];
        if (!infer_attr_ints(n, "strides", ns, 1, st) || !infer_attr_ints(n, "dilations", ns, 1, dil) ||
            !infer_attr_ints(n, "pads", 2 * ns, 0, pads))
            return false;
        if (have_img) {
            IrDim l = ir_dim_const(g, 1);
            for (int i = 0; i < ns; i++)
                l = ir_dim_mul(g, l, infer_conv_out(g, img[i], blk[i], st[i], dil[i], pads[i] + pads[ns + i]));
            if (infer_const_conflict(g, l, x->dims[2]))
                return infer_error(n, "the input has %s blocks, the image and block shapes give %s",
                                   ir_dim_str(g, x->dims[2]),
                                   ir_dim_str(g, l));
        }
    } else {
        out[1] = infer_sym(g, n, 0, 1);
    }
    for (int i = 0; i < ns; i++) out[2 + i] = have_img ? img[i] : infer_sym(g, n, 0, 2 + i);
    return infer_set(g, n, 0, x->dtype, 2 + ns, out);
}

/* numpy matmul: 1-D operands get a 1 prepended (A) or appended (B) that the result drops; batch dims
 * broadcast. */
bool infer_matmul(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0), *b = infer_in(g, n, 1);
    if (!infer_same_dtype(g, n, 0, 1) || !infer_check_dtype(n, a, "input", INFER_NUM)) return false;
    if (a->rank == 0 || b->rank == 0) return infer_error(n, "operands must have rank >= 1, have %s and %s",
                                                         infer_value_shape_str(g, a), infer_value_shape_str(g, b));
    IrDim ka = a->dims[a->rank - 1], kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    if (infer_const_conflict(g, ka, kb))
        return infer_error(n, "inner dims differ: A %s, B %s", infer_value_shape_str(g, a),
                           infer_value_shape_str(g, b));
    int rb_batch = b->rank > 2 ? b->rank - 2 : 0, ra_batch = a->rank > 2 ? a->rank - 2 : 0, r;
    IrDim out[IR_MAX_RANK];
    if (!infer_broadcast_dims(g, n, ra_batch, a->dims, rb_batch, b->dims, &r, out)) return false;
    if (a->rank > 1) out[r++] = a->dims[a->rank - 2];
    if (b->rank > 1) out[r++] = b->dims[b->rank - 1];
    return infer_set(g, n, 0, a->dtype, r, out);
}

bool infer_gemm(IrGraph *g, IrNode *n)
{
    const IrValue *a = infer_in(g, n, 0), *b = infer_in(g, n, 1), *c = infer_in(g, n, 2);
    if (!infer_same_dtype(g, n, 0, 1) || !infer_same_dtype(g, n, 0, 2) || !infer_check_dtype(n, a, "input", INFER_NUM))
        return false;
    if (a->rank != 2 || b->rank != 2)
        return infer_error(n, "A and B must be 2-D, have %s and %s", infer_value_shape_str(g, a),
                           infer_value_shape_str(g, b));
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    IrDim m = a->dims[ta ? 1 : 0], ka = a->dims[ta ? 0 : 1], kb = b->dims[tb ? 1 : 0], nn = b->dims[tb ? 0 : 1];
    if (infer_const_conflict(g, ka, kb))
        return infer_error(n, "inner dims differ: A %s%s, B %s%s", infer_value_shape_str(g, a),
                           ta ? " (transposed)" : "",
                           infer_value_shape_str(g, b), tb ? " (transposed)" : "");
    IrDim out[2] = {m, nn};
    if (c && !infer_unidirectional(g, n, "C", c->rank, c->dims, 2, out)) return false;
    return infer_set(g, n, 0, a->dtype, 2, out);
}

/* --- Einsum ----------------------------------------------------------------------------------------- */

static bool is_letter(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One term of the equation: its letters in order, -1 marking where the ellipsis sits. */
typedef struct {
    int nl;
    int l[IR_MAX_RANK + 1];
    bool ell;
} Term;

static bool parse_term(const IrNode *n, const char *s, size_t len, Term *t)
{
    t->nl = 0;
    t->ell = false;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ') {
            i++;
        } else if (s[i] == '.' && i + 2 < len && s[i + 1] == '.' && s[i + 2] == '.') {
            if (t->ell) return infer_error(n, "more than one ellipsis in a term of the equation");
            t->ell = true;
            if (t->nl > IR_MAX_RANK) return infer_error(n, "equation term too long");
            t->l[t->nl++] = -1;
            i += 3;
        } else if (is_letter(s[i])) {
            if (t->nl > IR_MAX_RANK) return infer_error(n, "equation term too long");
            t->l[t->nl++] = (unsigned char)s[i];
            i++;
        } else {
            return infer_error(n, "unexpected character '%c' in the equation", s[i]);
        }
    }
    return true;
}

bool infer_einsum(IrGraph *g, IrNode *n)
{
    const char *eq = ir_attr_str(n, "equation", NULL);
    if (!eq) return infer_error(n, "missing attribute 'equation'");
    for (uint32_t i = 1; i < n->nin; i++)
        if (!infer_same_dtype(g, n, 0, i)) return false;
    const char *arrow = strstr(eq, "->");
    size_t lhs_len = arrow ? (size_t)(arrow - eq) : strlen(eq);
    IrDim letter[128];
    bool seen[128] = {0};
    int count[128] = {0};
    IrDim ell[IR_MAX_RANK];
    int nell = 0;
    bool any_ell = false;
    const char *p = eq;
    for (uint32_t i = 0; i < n->nin; i++) {
        const char *e = memchr(p, ',', lhs_len - (size_t)(p - eq));
        size_t tl = e ? (size_t)(e - p) : lhs_len - (size_t)(p - eq);
        if (!e && i + 1 < n->nin) return infer_error(n, "equation '%s' has fewer terms than the %u inputs", eq, n->nin);
        Term t;
        if (!parse_term(n, p, tl, &t)) return false;
        const IrValue *v = infer_in(g, n, i);
        int nletters = t.nl - (t.ell ? 1 : 0), ne = v->rank - nletters;
        if (ne < 0 || (!t.ell && ne != 0))
            return infer_error(n, "term %u of '%s' does not match input %u of shape %s", i, eq, i,
                               infer_value_shape_str(g, v));
        int d = 0;
        for (int j = 0; j < t.nl; j++) {
            if (t.l[j] < 0) {
                /* ellipsis dims of all terms broadcast together, right-aligned */
                any_ell = true;
                int r;
                IrDim cur[IR_MAX_RANK];
                infer_copy(cur, ell, nell);
                if (!infer_broadcast_dims(g, n, nell, cur, ne, v->dims + d, &r, ell)) return false;
                nell = r;
                d += ne;
                continue;
            }
            int c = t.l[j];
            IrDim dim = v->dims[d++];
            count[c]++;
            if (!seen[c]) {
                seen[c] = true;
                letter[c] = dim;
            } else if (letter[c] != dim) {
                int64_t x, y;
                bool kx = ir_dim_const_value(g, letter[c], &x), ky = ir_dim_const_value(g, dim, &y);
                if (kx && ky && x != y && x != 1 && y != 1)
                    return infer_error(n, "label '%c' has sizes %lld and %lld", c, (long long)x, (long long)y);
                if ((kx && x == 1) || (ky && y != 1)) letter[c] = dim;
            }
        }
        p = e ? e + 1 : p + tl;
    }
    if ((size_t)(p - eq) < lhs_len)
        return infer_error(n, "equation '%s' has more terms than the %u inputs", eq, n->nin);
    IrDim out[IR_MAX_RANK];
    int r = 0;
    if (arrow) {
        Term t;
        if (!parse_term(n, arrow + 2, strlen(arrow + 2), &t)) return false;
        bool used[128] = {0};
        for (int j = 0; j < t.nl; j++) {
            if (t.l[j] < 0) {
                if (r + nell > IR_MAX_RANK) return infer_error(n, "output rank exceeds %d", IR_MAX_RANK);
                for (int k = 0; k < nell; k++) out[r++] = ell[k];
                continue;
            }
            int c = t.l[j];
            if (!seen[c]) return infer_error(n, "output label '%c' is not in any input", c);
            if (used[c]) return infer_error(n, "output label '%c' is repeated", c);
            used[c] = true;
            if (r == IR_MAX_RANK) return infer_error(n, "output rank exceeds %d", IR_MAX_RANK);
            out[r++] = letter[c];
        }
    } else {
        /* implicit output: ellipsis dims, then the labels seen once, in ASCII order */
        for (int k = 0; any_ell && k < nell; k++) out[r++] = ell[k];
        for (int c = 0; c < 128; c++) {
            if (count[c] != 1) continue;
            if (r == IR_MAX_RANK) return infer_error(n, "output rank exceeds %d", IR_MAX_RANK);
            out[r++] = letter[c];
        }
    }
    return infer_set(g, n, 0, infer_in(g, n, 0)->dtype, r, out);
}

/* Linear (ours, from passes/fuse_linear.c): y = x·Wᵀ + b with W (out, in) when trans_w=1 (PyTorch's layout),
 * y = x·W + b with W (in, out) when trans_w=0 (a MatMul's); any leading dims of x. */
bool infer_linear(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *w = infer_in(g, n, 1), *b = infer_in(g, n, 2);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_same_dtype(g, n, 0, 1)) return false;
    if (x->rank < 1 || w->rank != 2) return infer_error(n, "needs an input of rank >= 1 and a 2-D weight");
    bool trans = ir_attr_int(n, "trans_w", 1) != 0;
    IrDim in = trans ? w->dims[1] : w->dims[0], out = trans ? w->dims[0] : w->dims[1];
    if (infer_const_conflict(g, in, x->dims[x->rank - 1]))
        return infer_error(n, "input %s does not match weight %s", infer_value_shape_str(g, x), infer_value_shape_str(g, w));
    if (b && (b->rank != 1 || infer_const_conflict(g, b->dims[0], out)))
        return infer_error(n, "bias %s does not match %s outputs", infer_value_shape_str(g, b), ir_dim_str(g, out));
    IrDim dims[IR_MAX_RANK];
    infer_copy(dims, x->dims, x->rank);
    dims[x->rank - 1] = out;
    return infer_set(g, n, 0, x->dtype, x->rank, dims);
}

/* ml2candle's KvCache(k, v) -> (k_all, v_all) (passes/kv_cache.c): the keys and values of the new positions
 * after the cached ones, along axis 2 of (batch, heads, seq, head_dim); the cache holds `offset` positions, a
 * symbol the generated forward takes as its seqlen_offset argument. */
bool infer_kv_cache(IrGraph *g, IrNode *n)
{
    const IrValue *k = infer_in(g, n, 0), *v = infer_in(g, n, 1);
    if (!infer_check_dtype(n, k, "keys", INFER_FLOAT) || !infer_same_dtype(g, n, 0, 1)) return false;
    if (k->rank != 4 || v->rank != 4) return infer_error(n, "needs 4-D keys and values (batch, heads, seq, head_dim)");
    const char *offset = ir_attr_str(n, "offset", NULL);
    if (!offset) return infer_error(n, "needs the offset symbol");
    IrDim past = ir_dim_sym(g, offset), kd[4], vd[4];
    infer_copy(kd, k->dims, 4);
    infer_copy(vd, v->dims, 4);
    kd[2] = ir_dim_add(g, past, k->dims[2]);
    vd[2] = ir_dim_add(g, past, v->dims[2]);
    return infer_set(g, n, 0, k->dtype, 4, kd) && infer_set(g, n, 1, v->dtype, 4, vd);
}
