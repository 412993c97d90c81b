/* backends/candle/lower_nn.c — layers: MatMul and Gemm, normalizations, dropout (identity at inference).
 *
 * MatMul follows numpy: a batch of matrices times a 2-D weight is one GEMM over the flattened batch (the
 * way candle_nn::Linear does it), equal batch dims use matmul, other batch shapes broadcast_matmul.
 * Operands that are views are made contiguous first (candle's GEMMs accept only simple strides). */
#include "cg.h"

#include <stdlib.h>
#include <string.h>

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

static bool same_dims(const IrValue *a, const IrValue *b, int n)
{
    for (int i = 0; i < n; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

static bool matmul(CgFn *f, const IrNode *n)
{
    const IrValue *a = val(f, n->in[0]), *b = val(f, n->in[1]), *out = val(f, n->out[0]);
    const char *y = cg_out(f, n, 0);
    if (a->rank >= 3 && b->rank == 2) {
        IrDim rows = ir_dim_const(f->g, 1);
        for (int i = 0; i < a->rank - 1; i++) rows = ir_dim_mul(f->g, rows, a->dims[i]);
        const char *flat = cg_fresh(f, "rows");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", flat, cg_in(f, n, 0), cg_dim(f, rows),
                cg_dim(f, a->dims[a->rank - 1]));
        const char *prod = cg_fresh(f, "product");
        cg_stmt(f, "let %s = %s.matmul(&%s)?;", prod, flat, cg_contig(f, n->in[1], true));
        cg_stmt(f, "let %s = %s.reshape(%s)?;", y, prod, cg_shape_of(f, n->out[0]));
        return true;
    }
    if (a->rank >= 2 && b->rank >= 2) {
        bool same = a->rank == b->rank && same_dims(a, b, a->rank - 2);
        cg_stmt(f, "let %s = %s.%s(&%s)?;", y, cg_contig(f, n->in[0], true), same ? "matmul" : "broadcast_matmul",
                cg_contig(f, n->in[1], true));
        return true;
    }
    /* a 1-D operand is a row (lhs) or a column (rhs) for the product, then dropped from the result */
    const char *lhs = cg_in(f, n, 0), *rhs = cg_in(f, n, 1);
    if (a->rank == 1) {
        lhs = cg_fresh(f, "row");
        cg_stmt(f, "let %s = %s.unsqueeze(0)?;", lhs, cg_in(f, n, 0));
    }
    if (b->rank == 1) {
        rhs = cg_fresh(f, "column");
        cg_stmt(f, "let %s = %s.unsqueeze(1)?;", rhs, cg_in(f, n, 1));
    }
    const char *prod = cg_fresh(f, "product");
    cg_stmt(f, "let %s = %s.contiguous()?.broadcast_matmul(&%s.contiguous()?)?;", prod, lhs, rhs);
    cg_stmt(f, "let %s = %s.reshape(%s)?;", y, prod, cg_shape(f, out->rank, out->dims));
    return true;
}

static bool gemm(CgFn *f, const IrNode *n)
{
    bool ta = ir_attr_int(n, "transA", 0) != 0, tb = ir_attr_int(n, "transB", 0) != 0;
    double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
    const char *a = ta ? m2c_sprintf(f->a, "%s.t()?", cg_in(f, n, 0)) : cg_contig(f, n->in[0], true);
    const char *b = tb ? m2c_sprintf(f->a, "%s.t()?", cg_in(f, n, 1)) : cg_contig(f, n->in[1], true);
    uint32_t c = ir_input(n, 2);
    const char *y = cg_out(f, n, 0);
    const char *prod = c != IR_NONE || alpha != 1.0 ? cg_fresh(f, "product") : y;
    cg_stmt(f, "let %s = %s.matmul(&%s)?;", prod, a, b);
    if (alpha != 1.0) {
        const char *scaled = c != IR_NONE ? cg_fresh(f, "scaled") : y;
        cg_stmt(f, "let %s = (%s * %s)?;", scaled, prod, cg_f64(f->a, alpha));
        prod = scaled;
    }
    if (c != IR_NONE) {
        if (beta == 1.0)
            cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", y, prod, cg_ref(f, c));
        else
            cg_stmt(f, "let %s = %s.broadcast_add(&(%s * %s)?)?;", y, prod, cg_ref(f, c), cg_f64(f->a, beta));
    }
    return true;
}

/* An f32 literal that reads back as the same float. */
static const char *f32_lit(CgFn *f, double v)
{
    char t[64];
    for (int p = 1; p <= 9; p++) {
        snprintf(t, sizeof t, "%.*g", p, v);
        if ((float)strtod(t, NULL) == (float)v) break;
    }
    return strpbrk(t, ".eEn") ? m2c_strdup(f->a, t) : m2c_sprintf(f->a, "%s.0", t);
}

static bool layer_norm(CgFn *f, const IrNode *n)
{
    const IrValue *x = val(f, n->in[0]);
    int rank = x->rank;
    int64_t axis = ir_attr_int(n, "axis", -1);
    if (axis < 0) axis += rank;
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    for (uint32_t o = 1; o < n->nout; o++)
        if (n->out[o] != IR_NONE && ir_use_count(f->g, n->out[o]) > 0)
            return cg_unsupported(f, n, "the Mean and InvStdDev outputs are not lowered yet");
    uint32_t scale = n->in[1], bias = ir_input(n, 2);
    const char *y = cg_out(f, n, 0);
    if (axis == rank - 1 && bias != IR_NONE && val(f, scale)->rank == 1 && val(f, bias)->rank == 1 &&
        ir_dtype_is_float(x->dtype)) {
        cg_stmt(f, "let %s = candle_nn::ops::layer_norm(&%s, %s, %s, %s)?;", y, cg_contig(f, n->in[0], false),
                cg_ref(f, scale), cg_ref(f, bias), f32_lit(f, eps));
        return true;
    }
    M2cBuf t = {0};
    m2c_buf_puts(&t, rank - axis > 1 ? "(" : "");
    for (int64_t i = axis; i < rank; i++) m2c_buf_printf(&t, "%s%lld", i > axis ? ", " : "", (long long)i);
    m2c_buf_puts(&t, rank - axis > 1 ? ")" : "");
    const char *mean = cg_fresh(f, "mean"), *centered = cg_fresh(f, "centered"), *var = cg_fresh(f, "var");
    const char *normed = cg_fresh(f, "normed");
    cg_stmt(f, "let %s = %s.mean_keepdim(%s)?;", mean, cg_in(f, n, 0), t.s);
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?;", centered, cg_in(f, n, 0), mean);
    cg_stmt(f, "let %s = %s.sqr()?.mean_keepdim(%s)?;", var, centered, t.s);
    cg_stmt(f, "let %s = %s.broadcast_div(&(%s + %s)?.sqrt()?)?;", normed, centered, var, cg_f64(f->a, eps));
    if (bias != IR_NONE) {
        const char *scaled = cg_fresh(f, "scaled");
        cg_stmt(f, "let %s = %s.broadcast_mul(%s)?;", scaled, normed, cg_ref(f, scale));
        cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", y, scaled, cg_ref(f, bias));
    } else {
        cg_stmt(f, "let %s = %s.broadcast_mul(%s)?;", y, normed, cg_ref(f, scale));
    }
    m2c_buf_free(&t);
    return true;
}

static bool batch_norm(CgFn *f, const IrNode *n)
{
    if (ir_attr_int(n, "training_mode", 0)) return cg_unsupported(f, n, "training mode");
    const IrValue *x = val(f, n->in[0]);
    double eps = ir_attr_float(n, "epsilon", 1e-5);
    /* per-channel parameters along axis 1, shaped (1, C, 1, ...) to broadcast */
    IrDim shape[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) shape[i] = i == 1 ? x->dims[1] : ir_dim_const(f->g, 1);
    const char *s = cg_shape(f, x->rank, shape);
    const char *names[4] = {"scale", "bias", "mean", "var"};
    const char *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = cg_fresh(f, names[i]);
        cg_stmt(f, "let %s = %s.reshape(%s)?;", p[i], cg_in(f, n, (uint32_t)i + 1), s);
    }
    const char *normed = cg_fresh(f, "normed");
    cg_stmt(f, "let %s = %s.broadcast_sub(&%s)?.broadcast_div(&(%s + %s)?.sqrt()?)?;", normed, cg_in(f, n, 0), p[2],
            p[3], cg_f64(f->a, eps));
    cg_stmt(f, "let %s = %s.broadcast_mul(&%s)?.broadcast_add(&%s)?;", cg_out(f, n, 0), normed, p[0], p[1]);
    return true;
}

bool cg_lower_nn(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_MATMUL: return matmul(f, n);
    case IR_OP_GEMM: return gemm(f, n);
    case IR_OP_LAYER_NORM: return layer_norm(f, n);
    case IR_OP_BATCH_NORM: return batch_norm(f, n);
    case IR_OP_DROPOUT:
        if (n->nout > 1 && n->out[1] != IR_NONE && ir_use_count(f->g, n->out[1]) > 0)
            return cg_unsupported(f, n, "the mask output of Dropout is not lowered yet");
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        cg_set_layout(f, n->out[0], cg_layout(f, n->in[0]));
        return true;
    default:
        return cg_unsupported(f, n, "not lowered to Candle yet");
    }
}
