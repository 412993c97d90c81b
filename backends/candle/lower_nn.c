/* backends/candle/lower_nn.c — the layers family: its dispatch (emit.c sends every layer op here), MatMul,
 * Gemm and Dropout, and the pieces the family's other files share (window geometry, padding, strided views).
 *
 * MatMul follows numpy: a batch of matrices times a 2-D weight is one GEMM over the flattened batch (the
 * way candle_nn::Linear does it), equal batch dims use matmul, other batch shapes broadcast_matmul.
 * Operands that are views are made contiguous first (candle's GEMMs accept only simple strides).  Dtypes
 * candle's GEMMs lack (integers; bf16 on the CPU) go through the matmul_any helper.
 */
#include "lower_nn.h"

#include <stdlib.h>
#include <string.h>

const IrValue *cg_nn_val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

/* An f32 literal that reads back as the same float (candle's fused norms take eps as f32). */
const char *cg_nn_f32(CgFn *f, double v)
{
    char t[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(t, sizeof t, "%.*g", p, v);
        if ((float)strtod(t, NULL) == (float)v) break;
    }
    return strpbrk(t, ".eEn") ? m2c_sprintf(f->a, "%s_f32", t) : m2c_sprintf(f->a, "%s.0", t);
}

const char *cg_nn_axes(CgFn *f, int from, int to)
{
    if (to - from == 1) return m2c_sprintf(f->a, "%d", from);
    M2cBuf t = {0};
    m2c_buf_puts(&t, "(");
    for (int i = from; i < to; i++) m2c_buf_printf(&t, "%s%d", i > from ? ", " : "", i);
    m2c_buf_puts(&t, ")");
    const char *s = m2c_strdup(f->a, t.s);
    m2c_buf_free(&t);
    return s;
}

bool cg_nn_output_used(CgFn *f, const IrNode *n, uint32_t i)
{
    return i < n->nout && n->out[i] != IR_NONE && ir_use_count(f->g, n->out[i]) > 0;
}

/* `&Tensor` parameters are already references: passing `&x` for them is a needless borrow to clippy. */
const char *cg_nn_arg(CgFn *f, const char *recv)
{
    for (uint32_t v = 0; v < f->g->values.n; v++)
        if (f->ref[v] && f->refkind[v] == REF_BORROW && strcmp(f->ref[v], recv) == 0) return recv;
    return m2c_sprintf(f->a, "&%s", recv);
}

const char *cg_nn_matmul(CgFn *f, const char *a, const char *b, IrDType t)
{
    if (t == DT_F32 || t == DT_F64 || t == DT_F16) return m2c_sprintf(f->a, "%s.matmul(&%s)?", a, b);
    return m2c_sprintf(f->a, "%s(&%s, &%s)?", cg_helper(f, CG_HELPER_MATMUL_ANY), a, b);
}

const char *cg_nn_dim_as(CgFn *f, IrDim d, const char *ty)
{
    int64_t c;
    if (ir_dim_const_value(f->g, d, &c)) return m2c_sprintf(f->a, "%lld%s", (long long)c, ty);
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    return m2c_sprintf(f->a, e->kind == DIM_SYM ? "%s as %s" : "(%s) as %s", cg_dim(f, d), ty);
}

const char *cg_nn_ones_shape(CgFn *f, int rank, int axis, IrDim d)
{
    IrDim s[IR_MAX_RANK];
    for (int i = 0; i < rank; i++) s[i] = i == axis ? d : ir_dim_const(f->g, 1);
    return cg_shape(f, rank, s);
}

const char *cg_nn_size(CgFn *f, CgSize s)
{
    return s.rs ? s.rs : m2c_sprintf(f->a, "%lld", (long long)s.c);
}

static CgSize size_c(int64_t c)
{
    CgSize s = {c, NULL};
    return s;
}

bool cg_nn_window(CgFn *f, const IrNode *n, const IrValue *x, const int64_t *k, CgWindow *w)
{
    int ns = x->rank - 2;
    memset(w, 0, sizeof *w);
    w->ns = ns;
    w->auto_pad = ir_attr_str(n, "auto_pad", "NOTSET");
    if (!w->auto_pad[0]) w->auto_pad = "NOTSET";
    uint32_t cnt;
    const int64_t *ks = ir_attr_ints(n, "kernel_shape", &cnt);
    const int64_t *st = ir_attr_ints(n, "strides", &cnt);
    const int64_t *dl = ir_attr_ints(n, "dilations", &cnt);
    const int64_t *pd = ir_attr_ints(n, "pads", &cnt);
    bool same = strncmp(w->auto_pad, "SAME_", 5) == 0, valid = strcmp(w->auto_pad, "VALID") == 0;
    for (int i = 0; i < ns; i++) {
        w->k[i] = k ? k[i] : ks ? ks[i] : 0;
        if (w->k[i] <= 0) return cg_unsupported(f, n, "the kernel size is not known at compile time");
        w->stride[i] = st ? st[i] : 1;
        w->dil[i] = dl ? dl[i] : 1;
        int64_t span = (w->k[i] - 1) * w->dil[i] + 1, len;
        if (valid || (!same && !pd)) {
            w->lo[i] = w->hi[i] = size_c(0);
        } else if (!same) {
            w->lo[i] = size_c(pd[i]);
            w->hi[i] = size_c(pd[ns + i]);
        } else if (ir_dim_const_value(f->g, x->dims[2 + i], &len) || w->stride[i] == 1) {
            /* SAME: the output has ceil(len / stride) positions; the padding they need is split in two, the odd
             * one after (SAME_UPPER) or before (SAME_LOWER).  With stride 1 it does not depend on len. */
            int64_t total = w->stride[i] == 1 ? span - 1
                                               : ((len + w->stride[i] - 1) / w->stride[i] - 1) * w->stride[i] + span - len;
            if (total < 0) total = 0;
            int64_t small = total / 2;
            bool upper = strcmp(w->auto_pad, "SAME_UPPER") == 0;
            w->lo[i] = size_c(upper ? small : total - small);
            w->hi[i] = size_c(upper ? total - small : small);
        } else {
            const char *l = cg_dim(f, x->dims[2 + i]), *t = cg_fresh(f, "pad_total");
            cg_stmt(f, "let %s = ((%s.div_ceil(%lld) - 1) * %lld + %lld).saturating_sub(%s);", t, l,
                    (long long)w->stride[i], (long long)w->stride[i], (long long)span, l);
            bool upper = strcmp(w->auto_pad, "SAME_UPPER") == 0;
            w->lo[i].rs = upper ? m2c_sprintf(f->a, "%s / 2", t) : m2c_sprintf(f->a, "%s - %s / 2", t, t);
            w->hi[i].rs = upper ? m2c_sprintf(f->a, "%s - %s / 2", t, t) : m2c_sprintf(f->a, "%s / 2", t);
        }
    }
    return true;
}

bool cg_nn_pads_zero(const CgWindow *w)
{
    for (int i = 0; i < w->ns; i++)
        if (w->lo[i].rs || w->hi[i].rs || w->lo[i].c || w->hi[i].c) return false;
    return true;
}

const char *cg_nn_pad_spatial(CgFn *f, const char *x, const CgWindow *w, const char *fill)
{
    const char *cur = x;
    for (int i = 0; i < w->ns; i++) {
        if (!w->lo[i].rs && !w->hi[i].rs && !w->lo[i].c && !w->hi[i].c) continue;
        const char *p = cg_fresh(f, "padded");
        if (fill)
            cg_stmt(f, "let %s = %s(%s, %d, %s, %s, %s)?;", p, cg_helper(f, CG_HELPER_PAD_CONST), cg_nn_arg(f, cur), 2 + i,
                    cg_nn_size(f, w->lo[i]), cg_nn_size(f, w->hi[i]), fill);
        else
            cg_stmt(f, "let %s = %s.pad_with_zeros(%d, %s, %s)?;", p, cur, 2 + i, cg_nn_size(f, w->lo[i]),
                    cg_nn_size(f, w->hi[i]));
        cur = p;
    }
    return cur;
}

const char *cg_nn_take_every(CgFn *f, const char *x, int axis, const char *start, const char *count, int64_t step)
{
    if (step == 1) return m2c_sprintf(f->a, "%s.narrow(%d, %s, %s)?", x, axis, start, count);
    return m2c_sprintf(f->a, "%s(%s, %d, %s, %s, %lld)?", cg_helper(f, CG_HELPER_TAKE_EVERY), cg_nn_arg(f, x), axis, start, count,
                       (long long)step);
}

/* --- MatMul, Gemm, Dropout ------------------------------------------------------------------------------- */

static bool same_dims(const IrValue *a, const IrValue *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

static bool matmul(CgFn *f, const IrNode *n)
{
    const IrValue *a = cg_nn_val(f, n->in[0]), *b = cg_nn_val(f, n->in[1]), *out = cg_nn_val(f, n->out[0]);
    IrDType t = a->dtype;
    bool plain = t == DT_F32 || t == DT_F64 || t == DT_F16;
    const char *y = cg_out(f, n, 0);
    if (a->rank >= 3 && b->rank == 2) {
        /* rows of every batch at once against the one weight: a single GEMM, as candle_nn::Linear does */
        IrDim rows = ir_dim_const(f->g, 1);
        for (int i = 0; i < a->rank - 1; i++) rows = ir_dim_mul(f->g, rows, a->dims[i]);
        const char *flat = cg_fresh(f, "rows");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", flat, cg_in(f, n, 0), cg_dim(f, rows),
                cg_dim(f, a->dims[a->rank - 1]));
        const char *prod = cg_fresh(f, "product");
        cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, flat, cg_contig(f, n->in[1], true), t));
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, prod, cg_shape_of(f, n->out[0]));
        return true;
    }
    if (a->rank >= 2 && b->rank >= 2) {
        bool same = a->rank == b->rank && same_dims(a, b, a->rank - 2);
        if (same || plain) {
            const char *l = cg_contig(f, n->in[0], true), *r = cg_contig(f, n->in[1], true);
            if (same) cg_stmt(f, "let %s = %s;", y, cg_nn_matmul(f, l, r, t));
            else cg_stmt(f, "let %s = %s.broadcast_matmul(&%s)?;", y, l, r);
            return true;
        }
        /* broadcast batch dims for a dtype that needs the helper: expand both to the output's batch shape */
        IrDim sa[IR_MAX_RANK], sb[IR_MAX_RANK];
        for (int i = 0; i < out->rank - 2; i++) sa[i] = sb[i] = out->dims[i];
        sa[out->rank - 2] = a->dims[a->rank - 2];
        sa[out->rank - 1] = a->dims[a->rank - 1];
        sb[out->rank - 2] = b->dims[b->rank - 2];
        sb[out->rank - 1] = b->dims[b->rank - 1];
        const char *l = cg_fresh(f, "lhs"), *r = cg_fresh(f, "rhs");
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.contiguous()?;", l, cg_in(f, n, 0), cg_shape(f, out->rank, sa));
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.contiguous()?;", r, cg_in(f, n, 1), cg_shape(f, out->rank, sb));
        cg_stmt(f, "let %s = %s;", y, cg_nn_matmul(f, l, r, t));
        return true;
    }
    /* a 1-D operand is a row (lhs) or a column (rhs) for the product, then dropped from the result */
    const char *lhs = cg_contig(f, n->in[0], true), *rhs = cg_contig(f, n->in[1], true);
    if (a->rank == 1) {
        lhs = cg_fresh(f, "row");
        cg_stmt(f, "let %s = %s.unsqueeze(0)?;", lhs, cg_contig(f, n->in[0], false));
    }
    if (b->rank == 1) {
        rhs = cg_fresh(f, "column");
        cg_stmt(f, "let %s = %s.unsqueeze(1)?;", rhs, cg_contig(f, n->in[1], false));
    }
    const char *prod = cg_fresh(f, "product");
    if (a->rank > 2) {
        /* a batch against a column: one GEMM over all the rows */
        IrDim rows = ir_dim_const(f->g, 1);
        for (int i = 0; i < a->rank - 1; i++) rows = ir_dim_mul(f->g, rows, a->dims[i]);
        const char *flat = cg_fresh(f, "rows");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", flat, cg_in(f, n, 0), cg_dim(f, rows),
                cg_dim(f, a->dims[a->rank - 1]));
        cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, flat, rhs, t));
    } else if (b->rank > 2) {
        /* a row against a batch of matrices: the row repeated for every batch */
        IrDim s[IR_MAX_RANK];
        for (int i = 0; i < b->rank - 2; i++) s[i] = b->dims[i];
        s[b->rank - 2] = ir_dim_const(f->g, 1);
        s[b->rank - 1] = a->dims[0];
        const char *l = cg_fresh(f, "lhs");
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.contiguous()?;", l, lhs, cg_shape(f, b->rank, s));
        cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, l, rhs, t));
    } else {
        cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, lhs, rhs, t));
    }
    cg_stmt(f, "let %s = %s.reshape(%s)?;", y, prod, cg_shape(f, out->rank, out->dims));
    return true;
}

static bool gemm(CgFn *f, const IrNode *n)
{
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
    IrDType t = cg_nn_val(f, n->in[0])->dtype;
    /* .t() of a contiguous matrix is a layout the GEMMs take as it is */
    const char *a = ta ? m2c_sprintf(f->a, "%s.t()?", cg_contig(f, n->in[0], false)) : cg_contig(f, n->in[0], true);
    const char *b = tb ? m2c_sprintf(f->a, "%s.t()?", cg_contig(f, n->in[1], false)) : cg_contig(f, n->in[1], true);
    if (t != DT_F32 && t != DT_F64 && t != DT_F16) {
        /* the helper converts its operands, which must be contiguous */
        if (ta) a = m2c_sprintf(f->a, "%s.contiguous()?", a);
        if (tb) b = m2c_sprintf(f->a, "%s.contiguous()?", b);
    }
    uint32_t c = ir_input(n, 2);
    bool use_c = c != IR_NONE && beta != 0.0;
    bool fl = ir_dtype_is_float(t);
    const char *y = cg_out(f, n, 0);
    const char *prod = use_c || alpha != 1.0 ? cg_fresh(f, "product") : y;
    cg_stmt(f, "let %s = %s;", prod, cg_nn_matmul(f, a, b, t));
    if (alpha != 1.0) {
        const char *scaled = use_c ? cg_fresh(f, "scaled") : y;
        if (fl) cg_stmt(f, "let %s = (%s * %s)?;", scaled, prod, cg_f64(f->a, alpha));
        else cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?.affine(%s, 0.0)?.to_dtype(%s.dtype())?;", scaled, prod,
                     cg_f64(f->a, alpha), prod);
        prod = scaled;
    }
    if (use_c) {
        if (beta == 1.0)
            cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", y, prod, cg_ref(f, c));
        else if (fl)
            cg_stmt(f, "let %s = %s.broadcast_add(&(%s * %s)?)?;", y, prod, cg_ref(f, c), cg_f64(f->a, beta));
        else
            cg_stmt(f, "let %s = %s.broadcast_add(&%s.to_dtype(DType::F64)?.affine(%s, 0.0)?.to_dtype(%s.dtype())?)?;", y,
                    prod, cg_v(f, c), cg_f64(f->a, beta), prod);
    }
    return true;
}

/* Dropout at inference is the identity and keeps every element (the mask is all true).  Training mode with
 * a non-zero ratio draws random numbers: nothing to match, so it is refused. */
static bool dropout(CgFn *f, const IrNode *n)
{
    uint32_t ratio = ir_input(n, 1), training = ir_input(n, 2);
    if (training != IR_NONE) {
        double on, r = 0.5;
        bool on_known = cg_scalar_const(f, training, &on), r_known = ratio == IR_NONE || cg_scalar_const(f, ratio, &r);
        if (on_known && on != 0.0 && r_known && r != 0.0)
            return cg_unsupported(f, n, "training-mode dropout with a non-zero ratio is random");
        if (!on_known || !r_known) {
            /* decided at run time: refuse loudly rather than return an undropped tensor */
            const char *tr = on_known ? (on != 0.0 ? "true" : "false")
                                      : m2c_sprintf(f->a, "%s.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?[0] != 0.0",
                                                    cg_v(f, training));
            const char *rr = r_known ? cg_f64(f->a, r)
                                     : m2c_sprintf(f->a, "%s.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?[0]",
                                                   cg_v(f, ratio));
            if (!(on_known && on == 0.0)) {
                const char *t = cg_fresh(f, "training"), *rv = cg_fresh(f, "ratio");
                cg_stmt(f, "let %s = %s;", t, tr);
                cg_stmt(f, "let %s = %s;", rv, rr);
                cg_stmt(f, "if %s && %s != 0.0 {", t, rv);
                cg_stmt(f, "    candle_core::bail!(\"training-mode Dropout with ratio {} is random\", %s);", rv);
                cg_stmt(f, "}");
            }
        }
    }
    cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
    cg_set_layout(f, n->out[0], cg_layout(f, n->in[0]));
    if (cg_nn_output_used(f, n, 1))
        cg_stmt(f, "let %s = Tensor::ones(%s.shape(), DType::U8, %s.device())?;", cg_out(f, n, 1), cg_in(f, n, 0),
                cg_in(f, n, 0));
    return true;
}

bool cg_lower_nn(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_MATMUL: return matmul(f, n);
    case IR_OP_GEMM: return gemm(f, n);
    case IR_OP_DROPOUT: return dropout(f, n);
    case IR_OP_CONV: return cg_lower_conv(f, n);
    case IR_OP_CONV_TRANSPOSE: return cg_lower_conv_transpose(f, n);
    case IR_OP_AVERAGE_POOL: case IR_OP_MAX_POOL: case IR_OP_GLOBAL_AVERAGE_POOL: case IR_OP_GLOBAL_MAX_POOL:
        return cg_lower_pool(f, n);
    case IR_OP_BATCH_NORM: case IR_OP_INSTANCE_NORM: case IR_OP_GROUP_NORM: case IR_OP_LAYER_NORM:
    case IR_OP_RMS_NORM: case IR_OP_MS_SIMPLIFIED_LAYER_NORM: case IR_OP_MS_SKIP_LAYER_NORM:
        return cg_lower_norm(f, n);
    case IR_OP_ATTENTION: return cg_lower_attention(f, n);
    case IR_OP_ROTARY_EMBEDDING: case IR_OP_MS_ROTARY_EMBEDDING: return cg_lower_rotary(f, n);
    case IR_OP_RESIZE: return cg_lower_resize(f, n);
    case IR_OP_EINSUM: return cg_lower_einsum(f, n);
    default:
        return cg_unsupported(f, n, "not a layer op");
    }
}
