/* passes/infer_reduce.c — shape rules of the reductions and scans: ReduceX (axes as an input, keepdims,
 * noop_with_empty_axes), ArgMax/ArgMin, TopK and CumSum.
 */
#include "infer.h"

#include <string.h>

enum { LIST_MAX = 64 };

bool infer_reduce(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *axes_v = infer_in(g, n, 1);
    /* ReduceMax/ReduceMin accept bool from opset 20; the sums and means need numbers */
    unsigned classes = n->op == IR_OP_REDUCE_MAX || n->op == IR_OP_REDUCE_MIN ? INFER_ANY : INFER_NUM;
    if (!infer_check_dtype(n, x, "input", classes)) return false;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    bool noop = ir_attr_int(n, "noop_with_empty_axes", 0) != 0;
    bool mask[IR_MAX_RANK];
    int r = x->rank;
    int64_t axes[LIST_MAX];
    uint32_t na = 0;
    if (axes_v) {
        if (!infer_check_dtype(n, axes_v, "axes", INFER_INT)) return false;
        if (axes_v->rank != 1)
            return infer_error(n, "axes must be 1-D, has shape %s", infer_value_shape_str(g, axes_v));
        if (!infer_in_ints(g, n, 1, axes, LIST_MAX, &na)) {
            int64_t k = infer_in_numel(g, n, 1);
            IrDim out[IR_MAX_RANK];
            if (k == 0) {
                na = 0;   /* empty: falls through to the no-axes case */
            } else if (keep || k > 0) {
                /* which axes go is unknown: each dim is itself or 1 (keepdims), or the rank drops by k */
                int rr = keep ? r : r - (int)k;
                if (rr < 0) return infer_error(n, "axes has %lld values for rank %d", (long long)k, r);
                for (int i = 0; i < rr; i++) out[i] = infer_sym(g, n, 0, i);
                return infer_set(g, n, 0, x->dtype, rr, out);
            } else {
                return infer_error(n, "the output rank is unknown (axes has a symbolic length and keepdims=0)");
            }
        }
    }
    if (na == 0) {
        if (noop) return infer_set_like(g, n, 0, x);
        for (int i = 0; i < r; i++) mask[i] = true;
    } else {
        memset(mask, 0, sizeof mask);
        for (uint32_t i = 0; i < na; i++) {
            int a;
            if (!infer_axis(n, "axis", axes[i], r, &a)) return false;
            mask[a] = true;   /* a repeated axis reduces once, as ONNX Runtime does */
        }
    }
    IrDim out[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < r; i++) {
        if (!mask[i])
            out[k++] = x->dims[i];
        else if (keep)
            out[k++] = ir_dim_const(g, 1);
    }
    return infer_set(g, n, 0, x->dtype, k, out);
}

bool infer_argminmax(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_NUM)) return false;
    if (x->rank == 0) return infer_error(n, "needs an input of rank >= 1");
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
    bool keep = ir_attr_int(n, "keepdims", 1) != 0;
    IrDim out[IR_MAX_RANK];
    int k = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i != ax)
            out[k++] = x->dims[i];
        else if (keep)
            out[k++] = ir_dim_const(g, 1);
    }
    return infer_set(g, n, 0, DT_I64, k, out);
}

bool infer_topk(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *kv = infer_in(g, n, 1);
    if (!infer_check_dtype(n, x, "input", INFER_NUM)) return false;
    if (!infer_check_dtype(n, kv, "K", INFER_INT)) return false;
    int64_t kn = infer_in_numel(g, n, 1);
    if (kv->rank > 1 || (kn >= 0 && kn != 1))
        return infer_error(n, "K must hold a single value, has shape %s", infer_value_shape_str(g, kv));
    if (x->rank == 0) return infer_error(n, "needs an input of rank >= 1");
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", -1), x->rank, &ax)) return false;
    IrDim k;
    if (!infer_in_scalar_dim(g, n, 1, &k)) k = infer_sym(g, n, 0, ax);   /* one symbol for both outputs */
    int64_t ck, cd;
    if (ir_dim_const_value(g, k, &ck)) {
        if (ck < 0) return infer_error(n, "K is negative (%lld)", (long long)ck);
        if (ir_dim_const_value(g, x->dims[ax], &cd) && ck > cd)
            return infer_error(n, "K = %lld exceeds the size %lld of axis %d", (long long)ck, (long long)cd, ax);
    }
    IrDim out[IR_MAX_RANK];
    infer_copy(out, x->dims, x->rank);
    out[ax] = k;
    return infer_set(g, n, 0, x->dtype, x->rank, out) && infer_set(g, n, 1, DT_I64, x->rank, out);
}

bool infer_cumsum(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *axis = infer_in(g, n, 1);
    if (!infer_check_dtype(n, x, "input", INFER_NUM)) return false;
    if (!infer_check_dtype(n, axis, "axis", INFER_INT)) return false;
    int64_t an = infer_in_numel(g, n, 1), a[1];
    uint32_t cnt;
    if (axis->rank > 1 || (an >= 0 && an != 1))
        return infer_error(n, "axis must be a scalar, has shape %s", infer_value_shape_str(g, axis));
    int ax;
    if (infer_in_ints(g, n, 1, a, 1, &cnt) && !infer_axis(n, "axis", a[0], x->rank, &ax)) return false;
    return infer_set_like(g, n, 0, x);
}
