/* backends/candle/lower_attention.c — Attention-23 and RotaryEmbedding (ONNX 23 and com.microsoft).
 *
 * Attention is written the way candle-transformers' models write it: heads as (B, H, S, D) contiguous
 * tensors, the KV cache concatenated on the sequence axis (present_key/value), grouped-query heads repeated
 * in place (kv head h serves query heads h*r .. h*r+r-1), q scaled before the QK product, softcap, then the
 * masks (a float mask is added, a bool mask and the causal mask select -inf), softmax_last_dim and the
 * product with V.  Rows a mask empties entirely give zeros, as the reference does, not NaN; a float mask
 * known to be finite (HF's Where(keep, 0, finfo.min)) cannot empty a row, and then no guard is written.
 *
 * RotaryEmbedding uses candle_nn's fused rope / rope_i kernels on (B, H, S, D) with cos and sin of shape
 * (S, D/2) or (B, S, D/2); position_ids gather the rows of the caches first.
 */
#include "lower_nn.h"

#include <math.h>
#include <string.h>

/* (B, S, H*D) -> (B, H, S, D), contiguous for the matmuls and fused kernels. */
static const char *to_heads(CgFn *f, const char *x, IrDim b, IrDim s, int64_t h, IrDim hidden)
{
    IrDim d = ir_dim_div(f->g, hidden, ir_dim_const(f->g, h));
    IrDim shape[4] = {b, s, ir_dim_const(f->g, h), d};
    const char *r = cg_fresh(f, "heads");
    cg_stmt(f, "let %s = %s.reshape(%s)?.transpose(1, 2)?.contiguous()?;", r, x, cg_shape(f, 4, shape));
    return r;
}

/* Is every element of v known to be finite?  Constants by their contents; Where by its two branches; data
 * movement by its input.  (The additive padding mask HF builds: Where(keep, 0, finfo.min), expanded.) */
static bool known_finite(IrGraph *g, uint32_t v, int depth)
{
    const IrValue *val = ir_val(g, v);
    if (!ir_dtype_is_float(val->dtype) || depth > 8) return false;
    if (val->konst) {
        if (val->konst->file || val->konst->numel > 4096) return false;
        for (uint64_t i = 0; i < val->konst->numel; i++)
            if (!isfinite(ir_tensor_get_f64(val->konst, i))) return false;
        return true;
    }
    if (val->producer == IR_NONE) return false;
    const IrNode *p = ir_node(g, val->producer);
    switch (p->op) {
    case IR_OP_WHERE:
        return known_finite(g, p->in[1], depth + 1) && known_finite(g, p->in[2], depth + 1);
    case IR_OP_EXPAND:
    case IR_OP_RESHAPE:
    case IR_OP_UNSQUEEZE:
    case IR_OP_SQUEEZE:
    case IR_OP_IDENTITY:
    case IR_OP_TRANSPOSE:
        return known_finite(g, p->in[0], depth + 1);
    default:
        return false;
    }
}

bool cg_lower_attention(CgFn *f, const IrNode *n)
{
    const IrValue *q = cg_nn_val(f, n->in[0]), *k = cg_nn_val(f, n->in[1]), *v = cg_nn_val(f, n->in[2]);
    uint32_t mask = ir_input(n, 3), past_k = ir_input(n, 4), past_v = ir_input(n, 5), nonpad = ir_input(n, 6);
    bool causal = ir_attr_int(n, "is_causal", 0) != 0;
    int64_t mode = ir_attr_int(n, "qk_matmul_output_mode", 0);
    double softcap = ir_attr_float(n, "softcap", 0.0);
    /* opset 25's sliding window: keys more than `left` before / `right` after the query's position are
     * masked (-1: unbounded); is_causal caps `right` at 0 */
    int64_t left = ir_attr_int(n, "left_window_size", -1), right = ir_attr_int(n, "right_window_size", -1);
    if (causal && (right < 0 || right > 0)) right = 0;
    bool window = left >= 0 || right >= 0;
    /* opset 24's nonpad_kv_seqlen (per batch, valid keys of a static cache): keys past it are masked, and
     * without past_key the queries are the last ones before it (their offset is nonpad - q_len) */
    bool batch_offset = nonpad != IR_NONE && past_k == IR_NONE;
    IrDim batch = q->dims[0], sq, skv, hq, hkv, dq;
    const char *qh, *kh, *vh;   /* receivers */
    const char *qr, *kr0, *vr0;  /* the same as &Tensor arguments */
    if (q->rank == 3) {
        int64_t nq = ir_attr_int(n, "q_num_heads", 0), nkv = ir_attr_int(n, "kv_num_heads", 0);
        hq = ir_dim_const(f->g, nq);
        hkv = ir_dim_const(f->g, nkv);
        sq = q->dims[1];
        skv = k->dims[1];
        dq = ir_dim_div(f->g, q->dims[2], hq);
        cg_comment(f, "(batch, seq, heads * head_dim) -> (batch, heads, seq, head_dim)");
        qh = to_heads(f, cg_in(f, n, 0), batch, sq, nq, q->dims[2]);
        kh = to_heads(f, cg_in(f, n, 1), k->dims[0], skv, nkv, k->dims[2]);
        vh = to_heads(f, cg_in(f, n, 2), v->dims[0], v->dims[1], nkv, v->dims[2]);
        qr = m2c_sprintf(f->a, "&%s", qh);
        kr0 = m2c_sprintf(f->a, "&%s", kh);
        vr0 = m2c_sprintf(f->a, "&%s", vh);
    } else {
        hq = q->dims[1];
        hkv = k->dims[1];
        sq = q->dims[2];
        skv = k->dims[2];
        dq = q->dims[3];
        qh = cg_in(f, n, 0);
        kh = cg_in(f, n, 1);
        vh = cg_in(f, n, 2);
        qr = cg_in_ref(f, n, 0);
        kr0 = cg_in_ref(f, n, 1);
        vr0 = cg_in_ref(f, n, 2);
    }
    IrDType t = q->dtype;
    /* the KV cache: past then new along the sequence axis */
    IrDim total = skv, past_len = ir_dim_const(f->g, 0);
    /* ml2candle's KV cache (passes/kv_cache.c) appended the past to K and V already: the queries are the
     * last sq of the skv positions */
    if (ir_attr_int(n, "keys_include_past", 0)) past_len = ir_dim_sub(f->g, skv, sq);
    if (past_k != IR_NONE) {
        past_len = cg_nn_val(f, past_k)->dims[2];
        total = ir_dim_add(f->g, past_len, skv);
        const char *pk = cg_fresh(f, "key_cache"), *pv = cg_fresh(f, "value_cache");
        cg_stmt(f, "let %s = Tensor::cat(&[%s, %s], 2)?;", pk, cg_ref(f, past_k), kr0);
        cg_stmt(f, "let %s = Tensor::cat(&[%s, %s], 2)?;", pv, cg_ref(f, past_v), vr0);
        kh = pk;
        vh = pv;
    }
    if (n->nout > 1 && n->out[1] != IR_NONE) cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 1), kh);
    if (n->nout > 2 && n->out[2] != IR_NONE) cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 2), vh);
    /* grouped-query attention: each kv head repeated for the query heads it serves */
    if (hq != hkv) {
        int64_t a, b;
        if (!ir_dim_const_value(f->g, hq, &a) || !ir_dim_const_value(f->g, hkv, &b) || b == 0 || a % b)
            return cg_unsupported(f, n, "query heads that are not a known multiple of the kv heads");
        IrDim kd = q->rank == 3 ? ir_dim_div(f->g, k->dims[2], hkv) : k->dims[3];
        IrDim vd = q->rank == 3 ? ir_dim_div(f->g, v->dims[2], hkv) : v->dims[3];
        IrDim ek[5] = {batch, hkv, ir_dim_const(f->g, a / b), total, kd}, rk[4] = {batch, hq, total, kd};
        IrDim ev[5] = {batch, hkv, ir_dim_const(f->g, a / b), total, vd}, rv[4] = {batch, hq, total, vd};
        const char *kr = cg_fresh(f, "key_rep"), *vr = cg_fresh(f, "value_rep");
        cg_comment(f, "grouped-query: kv head h serves query heads h * %lld .. h * %lld + %lld", (long long)(a / b),
                   (long long)(a / b), (long long)(a / b - 1));
        cg_stmt(f, "let %s = %s.unsqueeze(2)?.broadcast_as(%s)?.reshape(%s)?;", kr, kh, cg_shape(f, 5, ek), cg_shape(f, 4, rk));
        cg_stmt(f, "let %s = %s.unsqueeze(2)?.broadcast_as(%s)?.reshape(%s)?;", vr, vh, cg_shape(f, 5, ev), cg_shape(f, 4, rv));
        kh = kr;
        vh = vr;
    }
    /* scores = (q * scale) k^T, (batch, heads, q_seq, total) */
    double scale;
    const char *sc = cg_fresh(f, "scale");
    if (ir_attr(n, "scale")) {
        scale = ir_attr_float(n, "scale", 1.0);
        cg_stmt(f, "let %s = %s;", sc, cg_f64(f->a, scale));
    } else {
        cg_stmt(f, "let %s = 1.0 / %s.sqrt();", sc, cg_nn_dim_as(f, dq, "f64"));
    }
    const char *scores = cg_fresh(f, "scores");
    const char *qs = m2c_sprintf(f->a, "(%s * %s)?", qr, sc);
    const char *kt = m2c_sprintf(f->a, "%s.contiguous()?.t()?", kh);
    cg_stmt(f, "let %s = %s;", scores, cg_nn_matmul(f, qs, kt, t));
    if (softcap > 0) {
        const char *c = cg_fresh(f, "capped");
        cg_stmt(f, "let %s = ((%s / %s)?.tanh()? * %s)?;", c, scores, cg_f64(f->a, softcap), cg_f64(f->a, softcap));
        scores = c;
    }
    const char *qk0 = scores;
    IrDim sshape[4] = {batch, hq, sq, total};
    const char *shape = cg_shape(f, 4, sshape);
    /* A causal mask alone, the queries being the last sq keys: one query (a decoding step) sees every key and
     * the mask changes nothing — skipped then, as candle-transformers' llama does (an `if` when sq is a
     * runtime size, nothing when it is 1). */
    int64_t sq1 = 0;
    bool sq_known = ir_dim_const_value(f->g, sq, &sq1);
    bool causal_only = window && left < 0 && right == 0 && !batch_offset && total == ir_dim_add(f->g, past_len, sq);
    if (causal_only && sq_known && sq1 == 1) window = false;
    const char *neg = NULL;
    if ((mask != IR_NONE && cg_nn_val(f, mask)->dtype == DT_BOOL) || window || nonpad != IR_NONE) {
        neg = cg_fresh(f, "neg_inf");
        cg_stmt(f, "let %s = Tensor::new(f32::NEG_INFINITY, %s.device())?.to_dtype(%s.dtype())?.broadcast_as(%s)?;", neg,
                scores, scores, shape);
    }
    if (mask != IR_NONE) {
        const IrValue *mv = cg_nn_val(f, mask);
        const char *m = cg_v(f, mask);
        /* a mask shorter than the keys leaves the rest masked */
        IrDim ml = mv->dims[mv->rank - 1];
        if (ml != total) {
            const char *mp = cg_fresh(f, "mask");
            cg_stmt(f, "let %s = %s(%s, %d, 0, %s - %s, %s)?;", mp, cg_helper(f, CG_HELPER_PAD_CONST), cg_ref(f, mask),
                    mv->rank - 1, cg_dim(f, total), cg_dim(f, ml), mv->dtype == DT_BOOL ? "0.0" : "f64::NEG_INFINITY");
            m = mp;
        }
        const char *ms = cg_fresh(f, "masked");
        if (mv->dtype == DT_BOOL)
            cg_stmt(f, "let %s = %s.broadcast_as(%s)?.where_cond(&%s, &%s)?;", ms, m, shape, scores, neg);
        else
            cg_stmt(f, "let %s = %s.broadcast_add(%s)?;", ms, scores, cg_nn_arg(f, m));
        scores = ms;
    }
    const char *unmasked = NULL, *wrapped = NULL;
    if (causal_only && !sq_known) {
        unmasked = scores;
        wrapped = cg_fresh(f, "masked");
        cg_stmt(f, "let %s = if %s > 1 {", wrapped, cg_dim(f, sq));
        f->o->indent++;
    }
    if (window) {
        /* query i sits at position past + i: it sees keys past + i - left ..= past + i + right (causal: right 0) */
        const char *cols = cg_fresh(f, "cols");
        cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s.device())?.reshape((1, %s))?;", cols,
                cg_nn_dim_as(f, total, "i64"), scores, cg_dim(f, total));
        const char *np = NULL;
        if (batch_offset) {
            np = cg_fresh(f, "nonpad");
            cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.reshape((%s, 1, 1))?;", np, cg_v(f, nonpad), cg_dim(f, batch));
        }
        for (int side = 0; side < 2; side++) {
            int64_t w = side == 0 ? right : left;
            if (w < 0) continue;
            /* the last (side 0) or first (side 1) visible key of each query: (q_seq, 1), or (batch, q_seq, 1)
             * when the offset is per batch */
            const char *edge = cg_fresh(f, side == 0 ? "last_key" : "first_key");
            if (batch_offset) {
                /* nonpad - q_len + w: the offset of query 0's edge */
                int64_t shift = side == 0 ? w : -w, sqc;
                const char *sub = ir_dim_const_value(f->g, sq, &sqc)
                                      ? m2c_sprintf(f->a, "%lldi64", (long long)(sqc - shift))
                                  : shift == 0 ? cg_nn_dim_as(f, sq, "i64")
                                               : m2c_sprintf(f->a, "%s - %lld", cg_nn_dim_as(f, sq, "i64"), (long long)shift);
                cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s.device())?.reshape((1, %s, 1))?"
                           ".broadcast_add(&%s.broadcast_sub(&Tensor::new(%s, %s.device())?)?)?;",
                        edge, cg_nn_dim_as(f, sq, "i64"), scores, cg_dim(f, sq), np, sub, scores);
            } else {
                IrDim from = ir_dim_add(f->g, past_len, ir_dim_const(f->g, side == 0 ? w : -w));
                cg_stmt(f, "let %s = Tensor::arange(%s, %s, %s.device())?.reshape((%s, 1))?;", edge,
                        cg_nn_dim_as(f, from, "i64"), cg_nn_dim_as(f, ir_dim_add(f->g, from, sq), "i64"), scores,
                        cg_dim(f, sq));
            }
            const char *out = cg_fresh(f, side == 0 ? "future" : "distant");
            if (side == 0) cg_stmt(f, "let %s = %s.broadcast_gt(&%s)?;", out, cols, edge);
            else cg_stmt(f, "let %s = %s.broadcast_gt(&%s)?;", out, edge, cols);
            if (batch_offset) {
                IrDim s4[4] = {batch, ir_dim_const(f->g, 1), sq, total};
                cg_stmt(f, "let %s = %s.reshape(%s)?;", out, out, cg_shape(f, 4, s4));
            }
            if (wrapped) {
                /* the block's value */
                cg_stmt(f, "%s.broadcast_as(%s)?.where_cond(&%s, &%s)?", out, shape, neg, scores);
                continue;
            }
            const char *cs = cg_fresh(f, "masked");
            cg_stmt(f, "let %s = %s.broadcast_as(%s)?.where_cond(&%s, &%s)?;", cs, out, shape, neg, scores);
            scores = cs;
        }
    }
    if (wrapped) {
        f->o->indent--;
        cg_stmt(f, "} else {");
        /* still read afterwards when the unmasked scores are an output (qk_matmul_output_mode 0) */
        bool read_later = n->nout > 3 && n->out[3] != IR_NONE && unmasked == qk0;
        cg_stmt(f, "    %s%s", unmasked, read_later ? ".clone()" : "");
        cg_stmt(f, "};");
        scores = wrapped;
    }
    if (nonpad != IR_NONE) {
        /* keys at or past each batch's nonpad_kv_seqlen are padding */
        IrDim s4[4] = {batch, ir_dim_const(f->g, 1), ir_dim_const(f->g, 1), total};
        const char *cols = cg_fresh(f, "key_pos"), *pad = cg_fresh(f, "padding"), *cs = cg_fresh(f, "masked");
        cg_stmt(f, "let %s = Tensor::arange(0i64, %s, %s.device())?.reshape((1, %s))?;", cols,
                cg_nn_dim_as(f, total, "i64"), scores, cg_dim(f, total));
        cg_stmt(f, "let %s = %s.broadcast_ge(&%s.to_dtype(DType::I64)?.reshape((%s, 1))?)?.reshape(%s)?;", pad, cols,
                cg_v(f, nonpad), cg_dim(f, batch), cg_shape(f, 4, s4));
        cg_stmt(f, "let %s = %s.broadcast_as(%s)?.where_cond(&%s, &%s)?;", cs, pad, shape, neg, scores);
        scores = cs;
    }
    const char *qk_masked = scores;
    IrDType sm_t = t;
    if (ir_attr(n, "softmax_precision")) {
        int64_t p = ir_attr_int(n, "softmax_precision", DT_F32);
        if (p > 0 && p <= DT_ONNX_MAX && ir_dtype_is_float((IrDType)p)) sm_t = (IrDType)p;
    }
    const char *sm_in = scores;
    if (cg_storage_dtype(sm_t) != cg_storage_dtype(t)) {
        sm_in = cg_fresh(f, "scores_wide");
        cg_stmt(f, "let %s = %s.to_dtype(%s)?;", sm_in, scores, cg_candle_dtype(sm_t));
    }
    const char *probs = cg_fresh(f, "probs");
    cg_stmt(f, "let %s = candle_nn::ops::softmax_last_dim(&%s)?;", probs, sm_in);
    /* a finite float mask over every key (not padded with -inf above) leaves each row something to attend */
    bool finite_mask = mask != IR_NONE && known_finite(f->g, mask, 0) &&
                       cg_nn_val(f, mask)->dims[cg_nn_val(f, mask)->rank - 1] == total;
    if ((mask != IR_NONE && !finite_mask) || nonpad != IR_NONE) {
        /* a row with every key masked is all NaN after the softmax: no attention, zeros */
        const char *pz = cg_fresh(f, "probs");
        cg_stmt(f, "let %s = %s.eq(&%s)?.where_cond(&%s, &%s.zeros_like()?)?;", pz, probs, probs, probs, probs);
        probs = pz;
    }
    if (cg_storage_dtype(sm_t) != cg_storage_dtype(t)) {
        const char *pn = cg_fresh(f, "probs");
        cg_stmt(f, "let %s = %s.to_dtype(%s)?;", pn, probs, cg_candle_dtype(t));
        probs = pn;
    }
    if (n->nout > 3 && n->out[3] != IR_NONE) {
        const char *qk = mode == 3 ? probs : mode == 2 ? qk_masked : qk0;
        cg_stmt(f, "let %s = %s.clone();", cg_out(f, n, 3), qk);
    }
    /* 4-D: the product is the output itself */
    const char *ctx = q->rank == 3 ? cg_fresh(f, "context") : cg_out(f, n, 0);
    cg_stmt(f, "let %s = %s;", ctx, cg_nn_matmul(f, probs, m2c_sprintf(f->a, "%s.contiguous()?", vh), t));
    if (q->rank == 3) {
        cg_comment(f, "(batch, heads, seq, head_dim) -> (batch, seq, heads * head_dim)");
        cg_stmt(f, "let %s = %s.transpose(1, 2)?.reshape(%s)?;", cg_out(f, n, 0), ctx, cg_shape_of(f, n->out[0]));
    }
    return true;
}

/* --- RotaryEmbedding ------------------------------------------------------------------------------------ */

bool cg_lower_rotary(CgFn *f, const IrNode *n)
{
    bool ms = n->op == IR_OP_MS_ROTARY_EMBEDDING;
    const IrValue *x = cg_nn_val(f, n->in[0]);
    uint32_t i_pos = ms ? 1 : 3, i_cos = ms ? 2 : 1, i_sin = ms ? 3 : 2;
    uint32_t pos = ir_input(n, i_pos);
    bool interleaved = ir_attr_int(n, "interleaved", 0) != 0;
    int64_t heads = ir_attr_int(n, "num_heads", 0), rot = ir_attr_int(n, "rotary_embedding_dim", 0);
    if (ms && ir_attr_int(n, "is_packed_batching", 0)) return cg_unsupported(f, n, "packed batching");
    const IrValue *cv = cg_nn_val(f, n->in[i_cos]);
    int64_t half;
    if (!ir_dim_const_value(f->g, cv->dims[cv->rank - 1], &half))
        return cg_unsupported(f, n, "the rotary dimension (cos_cache's last dim) is not known");
    IrDim b = x->dims[0], s, h, d;
    const char *xh;
    if (x->rank == 4) {
        h = x->dims[1];
        s = x->dims[2];
        d = x->dims[3];
        xh = cg_contig(f, n->in[0], false);
    } else {
        int64_t hidden;
        if (heads <= 0 && ms) {
            /* com.microsoft: without num_heads the head size is the rotary size (full rotation) */
            if (!ir_dim_const_value(f->g, x->dims[2], &hidden))
                return cg_unsupported(f, n, "num_heads is not given and the hidden size is not known");
            heads = hidden / (rot > 0 ? rot : 2 * half);
        }
        if (heads <= 0) return cg_unsupported(f, n, "a 3-D input needs num_heads");
        h = ir_dim_const(f->g, heads);
        s = x->dims[1];
        d = ir_dim_div(f->g, x->dims[2], h);
        cg_comment(f, "(batch, seq, heads * head_dim) -> (batch, heads, seq, head_dim)");
        xh = to_heads(f, cg_in(f, n, 0), b, s, heads, x->dims[2]);
    }
    if (rot <= 0) rot = 2 * half;
    /* cos and sin: (seq, rot/2) or (batch, seq, rot/2), contiguous */
    const char *cos = cg_fresh(f, "cos"), *sin = cg_fresh(f, "sin");
    if (pos != IR_NONE) {
        const IrValue *pv = cg_nn_val(f, pos);
        int64_t one;
        if (ms && pv->rank == 1 && ir_dim_const_value(f->g, pv->dims[0], &one) && one == 1) {
            /* com.microsoft: a single position id is the offset of the first token */
            const char *off = cg_fresh(f, "offset");
            cg_stmt(f, "let %s = %s.to_dtype(DType::I64)?.to_vec1::<i64>()?[0] as usize;", off, cg_v(f, pos));
            cg_stmt(f, "let %s = %s.narrow(0, %s, %s)?.contiguous()?;", cos, cg_in(f, n, i_cos), off, cg_dim(f, s));
            cg_stmt(f, "let %s = %s.narrow(0, %s, %s)?.contiguous()?;", sin, cg_in(f, n, i_sin), off, cg_dim(f, s));
        } else {
            const char *ids = cg_fresh(f, "positions");
            IrDim cs[3] = {b, s, ir_dim_const(f->g, half)};
            const char *idt = pv->dtype == DT_I64 || pv->dtype == DT_U32 || pv->dtype == DT_U8 ? "" : ".to_dtype(DType::I64)?";
            cg_stmt(f, "let %s = %s.flatten_all()?%s;", ids, cg_v(f, pos), idt);
            cg_stmt(f, "let %s = %s.index_select(&%s, 0)?.reshape(%s)?;", cos, cg_in(f, n, i_cos), ids, cg_shape(f, 3, cs));
            cg_stmt(f, "let %s = %s.index_select(&%s, 0)?.reshape(%s)?;", sin, cg_in(f, n, i_sin), ids, cg_shape(f, 3, cs));
        }
    } else {
        /* a table of batch 1 serves every batch: candle's rope broadcasts a (seq, rot/2) one, not a 3-D one.
         * Prepared once per function: q and k (and every layer in a loop body) share the tables. */
        const char *key = m2c_sprintf(f->a, "rope %u %u", n->in[i_cos], n->in[i_sin]);
        uint32_t at;
        if (m2c_map_get(&f->prepared, key, &at)) {
            cos = f->prepared_names.v[at];
            sin = f->prepared_names.v[at + 1];
        } else {
            const char *sq = cv->rank == 3 && cv->dims[0] == ir_dim_const(f->g, 1) ? ".squeeze(0)?" : "";
            cg_stmt(f, "let %s = %s%s.contiguous()?;", cos, cg_in(f, n, i_cos), sq);
            cg_stmt(f, "let %s = %s%s.contiguous()?;", sin, cg_in(f, n, i_sin), sq);
            m2c_map_put(f->a, &f->prepared, key, f->prepared_names.n);
            m2c_vec_push(f->a, &f->prepared_names, cos);
            m2c_vec_push(f->a, &f->prepared_names, sin);
        }
    }
    const char *fn = interleaved ? "rope_i" : "rope";
    int64_t dc;
    bool full = ir_dim_const_value(f->g, d, &dc) && dc == rot;
    /* the result is the output itself unless it needs reshaping back to 3-D */
    const char *rotated = x->rank == 4 ? cg_out(f, n, 0) : cg_fresh(f, "rotated");
    if (full) {
        cg_stmt(f, "let %s = candle_nn::rotary_emb::%s(&%s, &%s, &%s)?;", rotated, fn, xh, cos, sin);
    } else {
        /* partial rotation: the first rot dims turn, the rest pass through */
        const char *part = cg_fresh(f, "rotated_part");
        cg_stmt(f, "let %s = candle_nn::rotary_emb::%s(&%s.narrow(3, 0, %lld)?.contiguous()?, &%s, &%s)?;", part, fn, xh,
                (long long)rot, cos, sin);
        cg_stmt(f, "let %s = Tensor::cat(&[&%s, &%s.narrow(3, %lld, %s - %lld)?], 3)?;", rotated, part, xh, (long long)rot,
                cg_dim(f, d), (long long)rot);
    }
    if (x->rank == 3) {
        const char *y = cg_out(f, n, 0);
        cg_comment(f, "(batch, heads, seq, head_dim) -> (batch, seq, heads * head_dim)");
        cg_stmt(f, "let %s = %s.transpose(1, 2)?.reshape(%s)?;", y, rotated, cg_shape_of(f, n->out[0]));
    }
    return true;
}
