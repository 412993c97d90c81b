/* backends/candle/lower_shape_slice.c — Slice and Pad, axis by axis.
 *
 * Slice: when the bounds are known to the compiler (constants or symbols such as seq) a unit step is a
 * narrowing view, `x.narrow(1, 0, seq - 1)`, and any other step (negative ones included) gathers an
 * arange of indices.  Bounds that are tensors only known at run time go through the slice_axis helper,
 * which applies ONNX's clamping rules on the host numbers.
 *
 * Pad: constant 0 and edge padding with non-negative pads are candle's pad_with_zeros / pad_with_same;
 * every other case (a non-zero constant, reflect, wrap, negative pads that crop, pads read at run time)
 * goes through the pad_axis helper, one gather (or one cat for constants) per padded axis, on the device. */
#include "lower_shape.h"

#include <stdint.h>
#include <string.h>

/* Constants beyond every symbol's bound (2^40, dim.c) mean "to the end": INT64_MAX ends and the like. */
#define BEYOND ((int64_t)1 << 41)

enum { LIST_MAX = 64 };

static const IrValue *val(CgFn *f, uint32_t v)
{
    return ir_val(f->g, v);
}

/* A start or end of a slice along an axis of size dim: negatives count from the end, then the result
 * clamps to [lo, hi].  IR_DIM_INVALID when a symbolic index might be negative or not (the same rule as
 * shape inference, so the start agrees with the output dim it computed). */
static IrDim effective_index(CgFn *f, IrDim x, IrDim dim, IrDim lo, IrDim hi)
{
    IrGraph *g = f->g;
    int64_t c, l, h;
    if (ir_dim_const_value(g, x, &c)) {
        if (c <= -BEYOND) return lo;
        if (c >= BEYOND) return hi;
        if (c < 0) x = ir_dim_add(g, dim, x);
    } else {
        ir_dim_bounds(g, x, &l, &h);
        if (h < 0) x = ir_dim_add(g, dim, x);
        else if (l < 0) return IR_DIM_INVALID;
    }
    return ir_dim_min(g, ir_dim_max(g, x, lo), hi);
}

/* The i-th entry of a slice list: from the compiler's dims, or from the host copy read at run time. */
static const char *entry(CgFn *f, const IrDim *known, const char *host, uint32_t i)
{
    int64_t c;
    if (known && ir_dim_const_value(f->g, known[i], &c)) {
        if (c == INT64_MAX || c == INT64_MIN) return c == INT64_MAX ? "i64::MAX" : "i64::MIN";   /* "to the end" */
        return m2c_sprintf(f->a, "%lld", (long long)c);   /* the helpers' parameters are i64 */
    }
    return known ? cg_shape_i64(f, known[i]) : m2c_sprintf(f->a, "%s[%u]", host, i);
}

/* Size of a dim expression, to choose the more readable of two equal ones. */
static int dim_nodes(CgFn *f, IrDim d)
{
    const IrDimExpr *e = ir_dim_expr(f->g, d);
    int k = 1;
    for (uint32_t i = 0; i < e->nops; i++) k += dim_nodes(f, e->ops[i]);
    return k;
}

/* The number of entries of a 1-D list input whose contents may be unknown. */
static bool list_len(CgFn *f, uint32_t v, uint32_t *n)
{
    const IrValue *x = val(f, v);
    int64_t c;
    if (x->rank != 1 || !ir_dim_const_value(f->g, x->dims[0], &c) || c > LIST_MAX) return false;
    *n = (uint32_t)c;
    return true;
}

static bool slice(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]), *out = val(f, n->out[0]);
    IrDim starts[LIST_MAX], ends[LIST_MAX], steps[LIST_MAX];
    int64_t axes[LIST_MAX];
    uint32_t ns = 0, ne = 0, na = 0, nst = 0, cnt;
    bool ks = cg_shape_known_list(f, n, n->in[1], starts, LIST_MAX, &ns);
    bool ke = cg_shape_known_list(f, n, n->in[2], ends, LIST_MAX, &ne);
    if (ks) cnt = ns;
    else if (ke) cnt = ne;
    else if (!list_len(f, n->in[1], &cnt)) return cg_unsupported(f, n, "the number of sliced axes is unknown");
    if ((ks && ns != cnt) || (ke && ne != cnt)) return cg_unsupported(f, n, "starts and ends differ in length");
    const char *ha = NULL;   /* axes read at run time */
    if (ir_input(n, 3) != IR_NONE) {
        if (!ir_value_ints(f->g, n->in[3], axes, LIST_MAX, &na)) ha = cg_shape_host_i64s(f, n->in[3], "axes");
        else if (na != cnt) return cg_unsupported(f, n, "axes and starts differ in length");
    } else {
        for (uint32_t i = 0; i < cnt; i++) axes[i] = i;
    }
    bool kst = true;
    if (ir_input(n, 4) != IR_NONE) {
        kst = cg_shape_known_list(f, n, n->in[4], steps, LIST_MAX, &nst);
        if (kst && nst != cnt) return cg_unsupported(f, n, "steps and starts differ in length");
    } else {
        for (uint32_t i = 0; i < cnt; i++) steps[i] = ir_dim_const(f->g, 1);
    }
    /* lists known only at run time are read once, on the host */
    const char *hs = ks ? NULL : cg_shape_host_i64s(f, n->in[1], "starts");
    const char *he = ke ? NULL : cg_shape_host_i64s(f, n->in[2], "ends");
    const char *hst = kst ? NULL : cg_shape_host_i64s(f, n->in[4], "steps");
    /* the last axis that changes anything writes the output, so no `let y = sliced;` */
    int last = -1;
    for (uint32_t i = 0; i < cnt; i++) {
        int64_t step;
        int a = ha ? 0 : cg_shape_axis(axes[i], in->rank);
        bool whole = !ha && kst && ir_dim_const_value(f->g, steps[i], &step) && step == 1 && out->dims[a] == in->dims[a];
        if (!whole) last = (int)i;
    }
    if (last < 0) {
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        cg_set_layout(f, n->out[0], cg_layout(f, n->in[0]));
        return true;
    }
    const char *cur = cg_in(f, n, 0), *cur_ref = cg_in_ref(f, n, 0);
    for (uint32_t i = 0; i <= (uint32_t)last; i++) {
        if (ha) {
            const char *start = entry(f, ks ? starts : NULL, hs, i), *end = entry(f, ke ? ends : NULL, he, i);
            const char *stride = entry(f, kst ? steps : NULL, hst, i);
            /* which axis is sliced is known only at run time: every output dim is a fresh symbol */
            const char *dst = (int)i == last ? cg_out(f, n, 0) : cg_fresh(f, "sliced");
            cg_stmt(f, "let %s = %s(%s, %s[%u].rem_euclid(%d) as usize, %s, %s, %s)?;", dst,
                    cg_helper(f, CG_HELPER_SLICE_AXIS), cur_ref, ha, i, in->rank, start, end, stride);
            cur = dst, cur_ref = m2c_sprintf(f->a, "&%s", dst);
            continue;
        }
        int a = cg_shape_axis(axes[i], in->rank);
        IrDim dim = in->dims[a], len = out->dims[a], s = IR_DIM_INVALID;
        int64_t step = 0;
        bool fast = ks && ke && kst && ir_dim_const_value(f->g, steps[i], &step) && step != 0 &&
                    cg_shape_dim_bound(f, n, len);
        if (fast && step == 1 && len == dim) continue;   /* the whole axis */
        if (fast) {
            IrDim zero = ir_dim_const(f->g, 0);
            s = step > 0 ? effective_index(f, starts[i], dim, zero, dim)
                         : effective_index(f, starts[i], dim, zero, ir_dim_sub(f->g, dim, ir_dim_const(f->g, 1)));
            /* going forward the start is also end - len, often the plainer form (x[:, -3:] starts at t - min(t, 3)) */
            IrDim e = step == 1 ? effective_index(f, ends[i], dim, zero, dim) : IR_DIM_INVALID;
            if (e != IR_DIM_INVALID) {
                /* len = max(e - s, 0) with s >= 0, so e - len >= 0 whatever the bounds say */
                IrDim s2 = ir_dim_sub(f->g, e, len);
                bool safe = cg_shape_usize_safe(f, s2, true), safe_s = s != IR_DIM_INVALID && cg_shape_usize_safe(f, s, false);
                if (s == IR_DIM_INVALID || (safe && !safe_s) || (safe == safe_s && dim_nodes(f, s2) <= dim_nodes(f, s)))
                    s = s2;
            }
            fast = s != IR_DIM_INVALID;
            /* a step other than 1 over symbolic bounds reads better as the helper's clamping than as the
             * closed form of the last index */
            int64_t cs, cl;
            if (step != 1 && !(ir_dim_const_value(f->g, s, &cs) && ir_dim_const_value(f->g, len, &cl))) fast = false;
        }
        const char *ids = fast && step != 1 ? cg_fresh(f, "ids") : NULL;
        const char *dst = (int)i == last ? cg_out(f, n, 0) : cg_fresh(f, "sliced");
        if (!fast) {
            cg_stmt(f, "let %s = %s(%s, %d, %s, %s, %s)?;", dst, cg_helper(f, CG_HELPER_SLICE_AXIS), cur_ref, a,
                    entry(f, ks ? starts : NULL, hs, i), entry(f, ke ? ends : NULL, he, i),
                    entry(f, kst ? steps : NULL, hst, i));
        } else if (step == 1) {
            cg_stmt(f, "let %s = %s.narrow(%d, %s, %s)?;", dst, cur, a, cg_shape_usize_nonneg(f, s),
                    cg_shape_usize_nonneg(f, len));
        } else {
            /* every step-th index from the start, backwards for a negative step */
            int64_t cs = ir_dim_value(f->g, s), cl = ir_dim_value(f->g, len);
            cg_stmt(f, "let %s = Tensor::arange_step(%lldi64, %lld, %lld, %s)?;", ids, (long long)cs,
                    (long long)(cs + cl * step), (long long)step, cg_device(f));
            cg_stmt(f, "let %s = %s.contiguous()?.index_select(&%s, %d)?;", dst, cur, ids, a);
        }
        cur = dst, cur_ref = m2c_sprintf(f->a, "&%s", dst);
    }
    cg_set_layout(f, n->out[0], LAYOUT_VIEW);
    return true;
}

static bool pad(CgFn *f, const IrNode *n)
{
    const IrValue *in = val(f, n->in[0]);
    const char *mode = ir_attr_str(n, "mode", "constant");
    if (strcmp(mode, "constant") && strcmp(mode, "reflect") && strcmp(mode, "edge") && strcmp(mode, "wrap"))
        return cg_unsupported(f, n, m2c_sprintf(f->a, "unknown Pad mode '%s'", mode));
    bool constant = strcmp(mode, "constant") == 0;
    int64_t axes[LIST_MAX];
    uint32_t na = 0, np;
    const char *ha = NULL;   /* axes read at run time */
    if (ir_input(n, 3) != IR_NONE) {
        if (!ir_value_ints(f->g, n->in[3], axes, LIST_MAX, &na)) {
            if (!list_len(f, n->in[3], &na)) return cg_unsupported(f, n, "the number of padded axes is unknown");
            ha = cg_shape_host_i64s(f, n->in[3], "axes");
        }
    } else {
        na = (uint32_t)in->rank;
        for (uint32_t i = 0; i < na; i++) axes[i] = i;
    }
    IrDim pads[2 * LIST_MAX];
    bool known = cg_shape_known_list(f, n, n->in[1], pads, 2 * LIST_MAX, &np);
    if (known && np != 2 * na) return cg_unsupported(f, n, "pads do not hold two entries per axis");
    const char *host = known ? NULL : cg_shape_host_i64s(f, n->in[1], "pads");
    /* the fill value: a literal when constant, else read from its tensor at run time */
    const char *value = "0.0";
    double cv = 0;
    uint32_t vin = ir_input(n, 2);
    bool zero = true;
    if (constant && vin != IR_NONE) {
        if (cg_scalar_const(f, vin, &cv)) {
            value = cg_f64(f->a, cv);
            zero = cv == 0;
        } else if (val(f, vin)->konst && val(f, vin)->konst->numel == 0) {
            /* an empty constant_value means the default 0 */
        } else {
            const char *v = cg_fresh(f, "value");
            cg_stmt(f, "let %s = %s.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?.first().copied().unwrap_or(0.0);",
                    v, cg_in(f, n, 2));
            value = v;
            zero = false;
        }
    }
    /* the last axis that pads anything writes the output, so no `let y = padded;` */
    int last = -1;
    for (uint32_t i = 0; i < na; i++) {
        int64_t cl, cr;
        bool none = known && ir_dim_const_value(f->g, pads[i], &cl) && cl == 0 &&
                    ir_dim_const_value(f->g, pads[i + na], &cr) && cr == 0;
        if (!none) last = (int)i;
    }
    if (last < 0) {
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 0), cg_in(f, n, 0));
        cg_set_layout(f, n->out[0], cg_layout(f, n->in[0]));
        return true;
    }
    const char *cur = cg_in(f, n, 0), *cur_ref = cg_in_ref(f, n, 0);
    for (uint32_t i = 0; i <= (uint32_t)last; i++) {
        int64_t cl, cr, llo, lhi, rlo, rhi;
        if (known && ir_dim_const_value(f->g, pads[i], &cl) && cl == 0 && ir_dim_const_value(f->g, pads[i + na], &cr) &&
            cr == 0)
            continue;
        const char *l = entry(f, known ? pads : NULL, host, i), *r = entry(f, known ? pads : NULL, host, i + na);
        const char *dst = (int)i == last ? cg_out(f, n, 0) : cg_fresh(f, "padded");
        if (ha) {
            cg_stmt(f, "let %s = %s(%s, %s[%u].rem_euclid(%d) as usize, %s, %s, \"%s\", %s)?;", dst,
                    cg_helper(f, CG_HELPER_PAD_AXIS), cur_ref, ha, i, in->rank, l, r, mode, value);
            cur = dst, cur_ref = m2c_sprintf(f->a, "&%s", dst);
            continue;
        }
        int a = cg_shape_axis(axes[i], in->rank);
        bool nonneg = false;
        if (known) {
            ir_dim_bounds(f->g, pads[i], &llo, &lhi);
            ir_dim_bounds(f->g, pads[i + na], &rlo, &rhi);
            nonneg = llo >= 0 && rlo >= 0;
        }
        if (nonneg && ((constant && zero) || strcmp(mode, "edge") == 0))
            cg_stmt(f, "let %s = %s.%s(%d, %s, %s)?;", dst, cur, constant ? "pad_with_zeros" : "pad_with_same", a,
                    cg_shape_usize(f, pads[i]), cg_shape_usize(f, pads[i + na]));
        else
            cg_stmt(f, "let %s = %s(%s, %d, %s, %s, \"%s\", %s)?;", dst, cg_helper(f, CG_HELPER_PAD_AXIS), cur_ref, a, l,
                    r, mode, value);
        cur = dst, cur_ref = m2c_sprintf(f->a, "&%s", dst);
    }
    /* a cat or a gather makes a new tensor; the helper hands back its input for pads of 0 read at run time */
    cg_set_layout(f, n->out[0], known ? LAYOUT_CONTIG : LAYOUT_VIEW);
    return true;
}

bool cg_lower_shape_slice(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    case IR_OP_SLICE: return slice(f, n);
    case IR_OP_PAD: return pad(f, n);
    default: return cg_unsupported(f, n, "not a slice or pad op");
    }
}
