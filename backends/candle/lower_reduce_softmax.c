/* backends/candle/lower_reduce_softmax.c — Softmax, LogSoftmax and Hardmax along one axis.
 *
 * From opset 13 they work along `axis` (default -1).  Before, the input was seen as a matrix
 * [prod(dims[..axis]), prod(dims[axis..])] (default axis 1) and normalized along its rows: a reshape to
 * 2-D and back.  Softmax along the last dim is candle's fused kernel, which wants a contiguous tensor;
 * other axes use candle_nn's max-shifted composition. */
#include "lower_reduce.h"

bool cg_lower_softmax(CgFn *f, const IrNode *n)
{
    const IrValue *in = ir_val(f->g, n->in[0]);
    int rank = in->rank;
    if (rank < 1) return cg_unsupported(f, n, "needs an input of rank >= 1");
    int64_t a = ir_attr_int(n, "axis", n->opset < 13 ? 1 : -1);
    int axis = (int)(a < 0 ? a + rank : a);
    if (axis < 0 || axis >= rank)
        return cg_unsupported(f, n, m2c_sprintf(f->a, "axis %lld is out of range for rank %d", (long long)a, rank));
    bool coerce = n->opset < 13 && axis != rank - 1;
    uint32_t x = n->in[0];
    const char *src = cg_in(f, n, 0);
    IrDim len = in->dims[axis];
    int ax = axis, r = rank;
    bool contig = cg_layout(f, x) == LAYOUT_CONTIG;
    if (coerce) {
        IrDim rows = ir_dim_const(f->g, 1), cols = ir_dim_const(f->g, 1);
        for (int i = 0; i < rank; i++) {
            if (i < axis) rows = ir_dim_mul(f->g, rows, in->dims[i]);
            else cols = ir_dim_mul(f->g, cols, in->dims[i]);
        }
        const char *m = cg_fresh(f, "matrix");
        cg_stmt(f, "let %s = %s.reshape((%s, %s))?;", m, src, cg_dim(f, rows), cg_dim(f, cols));
        src = m, ax = 1, r = 2, len = cols, contig = true;
    }
    const char *res = coerce ? cg_fresh(f, "normalized") : cg_out(f, n, 0);
    const char *ref = coerce ? m2c_sprintf(f->a, "&%s", src) : cg_in_ref(f, n, 0);
    switch (n->op) {
    case IR_OP_SOFTMAX:
        if (ax == r - 1 && ir_dtype_is_float(in->dtype))
            cg_stmt(f, "let %s = candle_nn::ops::softmax_last_dim(&%s)?;", res,
                    contig ? src : m2c_sprintf(f->a, "%s.contiguous()?", src));
        else
            cg_stmt(f, "let %s = candle_nn::ops::softmax(%s, %d)?;", res, ref, ax);
        break;
    case IR_OP_LOG_SOFTMAX:
        cg_stmt(f, "let %s = candle_nn::ops::log_softmax(%s, %d)?;", res, ref, ax);
        break;
    case IR_OP_HARDMAX: {
        /* one-hot of the first maximum: positions 0..len along the axis compared with the argmax */
        const char *idx = cg_fresh(f, "argmax"), *pos = cg_fresh(f, "positions");
        M2cBuf shape = {0};
        m2c_buf_puts(&shape, "(");
        for (int i = 0; i < r; i++) m2c_buf_printf(&shape, "%s%s", i ? ", " : "", i == ax ? cg_dim(f, len) : "1");
        m2c_buf_puts(&shape, r == 1 ? ",)" : ")");
        int64_t c;
        const char *end = ir_dim_const_value(f->g, len, &c) ? m2c_sprintf(f->a, "%lldi64", (long long)c)
                                                           : m2c_sprintf(f->a, "%s as i64", cg_dim(f, len));
        cg_stmt(f, "let %s = %s(%s, %d, true, false, true)?;", idx, cg_helper(f, CG_HELPER_ARG_EXTREME),
                coerce ? m2c_sprintf(f->a, "&%s", src) : cg_in_ref(f, n, 0), ax);
        cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s.device())?.reshape(%s)?;", pos, end, src, shape.s);
        cg_stmt(f, "let %s = %s.broadcast_eq(&%s)?.to_dtype(%s.dtype())?;", res, pos, idx, src);
        m2c_buf_free(&shape);
        break;
    }
    default:
        return cg_unsupported(f, n, "not a softmax");
    }
    if (coerce) cg_stmt(f, "let %s = %s.reshape(%s)?;", cg_out(f, n, 0), res, cg_shape_of(f, x));
    return true;
}
