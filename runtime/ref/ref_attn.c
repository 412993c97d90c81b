/* runtime/ref/ref_attn.c — the attention-block ops: Attention (MHA/GQA/MQA, 3-D or 4-D operands, boolean or
 * additive mask, offset-aware causal mask, past/present KV cache or an external cache with nonpad_kv_seqlen,
 * sliding windows, softcap, the qk_matmul_output modes) and RotaryEmbedding (opset 23 and com.microsoft).
 *
 * Everything is computed in double from the inputs, so softmax_precision only ever asks for less precision
 * than we use.  A query row whose every key is masked gives zeros, not NaN (the ONNX 1.23 erratum). */
#include "ref_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Q/K/V element (b, h, s, d) of an operand that is 4-D (B, H, S, D) or 3-D (B, S, H*D). */
static uint64_t qkv_at(const IrTensor *t, int64_t H, int64_t S, int64_t D, int64_t b, int64_t h, int64_t s, int64_t d)
{
    if (t->rank == 4) return (uint64_t)(((b * H + h) * S + s) * D + d);
    return (uint64_t)((b * S + s) * H * D + h * D + d);
}

/* Operand dims: batch, heads, sequence, head size. */
static bool qkv_dims(RefCx *c, const IrTensor *t, int64_t heads_attr, int64_t *B, int64_t *H, int64_t *S, int64_t *D)
{
    if (t->rank == 4) {
        *B = t->shape[0], *H = t->shape[1], *S = t->shape[2], *D = t->shape[3];
        return true;
    }
    if (heads_attr <= 0 || t->shape[2] % heads_attr)
        return ref_fail(c, "Attention: 3-D operands need q_num_heads/kv_num_heads dividing the hidden size");
    *B = t->shape[0], *H = heads_attr, *S = t->shape[1], *D = t->shape[2] / heads_attr;
    return true;
}

bool ref_attention(RefCx *c)
{
    const IrTensor *q = ref_need(c, 0), *k = ref_need(c, 1), *v = ref_need(c, 2);
    const IrTensor *mask = ref_in(c, 3), *pk = ref_in(c, 4), *pv = ref_in(c, 5), *nonpad = ref_in(c, 6);
    if (!q || !k || !v || !ref_same_dtype(c, q, k) || !ref_same_dtype(c, q, v)) return false;
    if (!ref_is_float(q->dtype)) return ref_fail(c, "Attention expects floats");
    if (q->rank != k->rank || q->rank != v->rank || (q->rank != 3 && q->rank != 4))
        return ref_fail(c, "Attention: Q, K, V must all be 3-D or all 4-D");
    if (!pk != !pv) return ref_fail(c, "Attention: past_key and past_value go together");
    int64_t B = 0, Hq = 0, Sq = 0, D = 0, Bk = 0, Hk = 0, Skv = 0, Dk = 0, Bv = 0, Hv = 0, Sv = 0, Dv = 0;
    if (!qkv_dims(c, q, ir_attr_int(c->n, "q_num_heads", 0), &B, &Hq, &Sq, &D) ||
        !qkv_dims(c, k, ir_attr_int(c->n, "kv_num_heads", 0), &Bk, &Hk, &Skv, &Dk) ||
        !qkv_dims(c, v, ir_attr_int(c->n, "kv_num_heads", 0), &Bv, &Hv, &Sv, &Dv))
        return false;
    if (Bk != B || Bv != B || Hv != Hk || Sv != Skv || Dk != D || Hk <= 0 || Hq % Hk)
        return ref_fail(c, "Attention: Q, K, V shapes disagree");
    int64_t P = 0;
    if (pk) {
        if (pk->rank != 4 || pv->rank != 4 || !ref_same_dtype(c, q, pk) || !ref_same_dtype(c, q, pv) ||
            pk->shape[0] != B || pk->shape[1] != Hk || pk->shape[3] != D || pv->shape[0] != B || pv->shape[1] != Hk ||
            pv->shape[2] != pk->shape[2] || pv->shape[3] != Dv)
            return ref_fail(c, "Attention: the past cache does not match K and V");
        P = pk->shape[2];
    }
    /* An external cache (opset 24): K/V hold the whole cache, nonpad_kv_seqlen[b] of it valid. */
    if (nonpad && (pk || !ir_dtype_is_int(nonpad->dtype) || nonpad->numel != (uint64_t)B))
        return ref_fail(c, "Attention: nonpad_kv_seqlen must be (batch,) integers, without past_key");
    int64_t lwin = ir_attr_int(c->n, "left_window_size", -1), rwin = ir_attr_int(c->n, "right_window_size", -1);
    if (lwin < -1 || rwin < -1) return ref_fail(c, "Attention: bad window sizes");
    int64_t T = P + Skv, rep = Hq / Hk;
    for (int64_t b = 0; nonpad && b < B; b++)
        if (ref_geti(nonpad, (uint64_t)b) < 0 || ref_geti(nonpad, (uint64_t)b) > T)
            return ref_fail(c, "Attention: nonpad_kv_seqlen outside [0, %lld]", (long long)T);
    /* The mask broadcasts (right-aligned) to (B, Hq, Sq, T); a shorter last dim is padded with "masked". */
    int64_t mstr[4] = {0}, mlast = 0;
    bool mbool = false;
    if (mask) {
        if (mask->rank < 1 || mask->rank > 4) return ref_fail(c, "Attention: mask of rank %d", mask->rank);
        mbool = mask->dtype == DT_BOOL;
        if (!mbool && !ref_same_dtype(c, q, mask)) return false;
        const int64_t want[4] = {B, Hq, Sq, T};
        int64_t s = 1;
        for (int i = 3, j = mask->rank - 1; j >= 0; i--, j--) {
            int64_t d = mask->shape[j];
            if (i == 3 ? d > T : (d != 1 && d != want[i])) return ref_fail(c, "Attention: mask does not broadcast");
            mstr[i] = (d == 1 && i != 3) ? 0 : s;
            s *= d;
        }
        /* A last dim of 1 is padded too, not broadcast: the ONNX reference pads before broadcasting. */
        mlast = mask->shape[mask->rank - 1];
    }
    bool causal = ir_attr_int(c->n, "is_causal", 0) != 0;
    const IrAttr *sa = ir_attr(c->n, "scale");
    double scale = sa ? ir_attr_float(c->n, "scale", 1.0) : 1.0 / sqrt((double)D);
    double softcap = ir_attr_float(c->n, "softcap", 0.0);
    int64_t mode = ir_attr_int(c->n, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) return ref_fail(c, "Attention: qk_matmul_output_mode %lld", (long long)mode);
    if (!ref_work(c, (double)B * (double)Hq * (double)Sq * (double)T * (double)(D + Dv))) return false;
    /* outputs */
    int64_t yshape[4], kshape[4] = {B, Hk, T, D}, vshape[4] = {B, Hk, T, Dv}, sshape[4] = {B, Hq, Sq, T};
    if (q->rank == 4) yshape[0] = B, yshape[1] = Hq, yshape[2] = Sq, yshape[3] = Dv;
    else yshape[0] = B, yshape[1] = Sq, yshape[2] = Hq * Dv;
    IrTensor *y = ref_new(c, q->dtype, q->rank, yshape);
    IrTensor *yk = y && c->n->nout > 1 ? ref_new(c, q->dtype, 4, kshape) : NULL;
    IrTensor *yv = yk && c->n->nout > 2 ? ref_new(c, q->dtype, 4, vshape) : NULL;
    IrTensor *yqk = yv && c->n->nout > 3 ? ref_new(c, q->dtype, 4, sshape) : NULL;
    if (!y || (c->n->nout > 1 && !yk) || (c->n->nout > 2 && !yv) || (c->n->nout > 3 && !yqk)) return false;
    /* present K/V: the past, then the new tokens */
    double *kk = ref_scratch(c, (uint64_t)(B * Hk * T * D), sizeof *kk);
    double *vv = kk ? ref_scratch(c, (uint64_t)(B * Hk * T * Dv), sizeof *vv) : NULL;
    double *row = vv ? ref_scratch(c, (uint64_t)(2 * T), sizeof *row) : NULL;
    if (!row) {
        free(kk);
        free(vv);
        return false;
    }
    double *bias = row + T;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hk; h++)
            for (int64_t t = 0; t < T; t++) {
                for (int64_t d = 0; d < D; d++)
                    kk[((b * Hk + h) * T + t) * D + d] =
                        t < P ? ref_get(pk, (uint64_t)(((b * Hk + h) * P + t) * D + d)) : ref_get(k, qkv_at(k, Hk, Skv, D, b, h, t - P, d));
                for (int64_t d = 0; d < Dv; d++)
                    vv[((b * Hk + h) * T + t) * Dv + d] =
                        t < P ? ref_get(pv, (uint64_t)(((b * Hk + h) * P + t) * Dv + d)) : ref_get(v, qkv_at(v, Hk, Skv, Dv, b, h, t - P, d));
            }
    if (yk)
        for (uint64_t i = 0; i < yk->numel; i++) ref_put(yk, i, kk[i]);
    if (yv)
        for (uint64_t i = 0; i < yv->numel; i++) ref_put(yv, i, vv[i]);
    for (int64_t b = 0; b < B; b++) {
        /* Keys before the query block: the causal and window frontiers are bottom-right aligned by it. */
        int64_t valid = nonpad ? ref_geti(nonpad, (uint64_t)b) : T;
        /* keys_include_past (ml2candle's KV cache, passes/kv_cache.c): K already holds the cached keys */
        int64_t offset = nonpad ? valid - Sq : ir_attr_int(c->n, "keys_include_past", 0) ? T - Sq : P;
        for (int64_t h = 0; h < Hq; h++) {
            int64_t hk = h / rep;   /* GQA: each KV head serves `rep` consecutive query heads */
            for (int64_t i = 0; i < Sq; i++) {
                bool all_masked = true;
                double m = -INFINITY;
                for (int64_t j = 0; j < T; j++) {
                    double bj = 0;
                    if (mask) {
                        if (j >= mlast) {
                            bj = -INFINITY;
                        } else {
                            uint64_t at = (uint64_t)(b * mstr[0] + h * mstr[1] + i * mstr[2] + j * mstr[3]);
                            bj = mbool ? (ref_geti(mask, at) ? 0 : -INFINITY) : ref_get(mask, at);
                        }
                    }
                    int64_t dist = i + offset - j;   /* how far key j lies behind the query */
                    if ((causal && dist < 0) || (lwin >= 0 && dist > lwin) || (rwin >= 0 && -dist > rwin) || j >= valid)
                        bj = -INFINITY;
                    bias[j] = bj;
                    all_masked &= bj == -INFINITY;
                    double s = 0;
                    for (int64_t d = 0; d < D; d++)
                        s += ref_get(q, qkv_at(q, Hq, Sq, D, b, h, i, d)) * kk[((b * Hk + hk) * T + j) * D + d];
                    s *= scale;
                    if (softcap > 0) s = softcap * tanh(s / softcap);
                    uint64_t qat = (uint64_t)(((b * Hq + h) * Sq + i) * T + j);
                    if (yqk && mode <= 2) ref_put(yqk, qat, mode == 2 ? s + bj : s);
                    row[j] = s + bj;
                    if (row[j] > m || isnan(row[j])) m = isnan(m) ? m : row[j];
                }
                double sum = 0;
                for (int64_t j = 0; j < T; j++) sum += (row[j] = all_masked ? 0 : exp(row[j] - m));
                for (int64_t j = 0; j < T; j++) {
                    if (!all_masked) row[j] /= sum;
                    if (yqk && mode == 3) ref_put(yqk, (uint64_t)(((b * Hq + h) * Sq + i) * T + j), row[j]);
                }
                for (int64_t d = 0; d < Dv; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < T; j++) acc += row[j] * vv[((b * Hk + hk) * T + j) * Dv + d];
                    ref_put(y, qkv_at(y, Hq, Sq, Dv, b, h, i, d), acc);
                }
            }
        }
    }
    free(kk);
    free(vv);
    free(row);
    ref_set_out(c, 0, y);
    ref_set_out(c, 1, yk);
    ref_set_out(c, 2, yv);
    ref_set_out(c, 3, yqk);
    return true;
}

/* RotaryEmbedding: x is (B, S, H*D) or (B, H, S, D); the first rotary_embedding_dim of each head rotate by
 * the (cos, sin) of the token's position, as halves or interleaved pairs.  ONNX's order is (x, cos, sin,
 * position_ids?); com.microsoft's is (x, position_ids, cos, sin) with a scalar position offset allowed. */
bool ref_rotary(RefCx *c)
{
    bool ms = c->n->op == IR_OP_MS_ROTARY_EMBEDDING;
    const IrTensor *x = ref_need(c, 0), *cosc = ref_need(c, ms ? 2 : 1), *sinc = ref_need(c, ms ? 3 : 2);
    const IrTensor *pos = ref_in(c, ms ? 1 : 3);
    if (!x || !cosc || !sinc) return false;
    if (!ref_is_float(x->dtype) || !ref_same_dtype(c, x, cosc) || !ref_same_dtype(c, x, sinc))
        return ref_fail(c, "RotaryEmbedding expects float x, cos and sin of one dtype");
    if (ms && ir_attr(c->n, "scale") && ir_attr_float(c->n, "scale", 1.0) != 1.0)
        return ref_fail(c, "RotaryEmbedding: scale is not supported");
    if (ms && ir_attr_int(c->n, "is_packed_batching", 0)) return ref_fail(c, "RotaryEmbedding: packed batching");
    int64_t B, S, H, D;
    if (x->rank == 4) {
        B = x->shape[0], H = x->shape[1], S = x->shape[2], D = x->shape[3];
    } else if (x->rank == 3) {
        H = ir_attr_int(c->n, "num_heads", 0);
        /* com.microsoft infers the heads from the cache when num_heads is absent: head size = 2 * cache dim */
        if (H <= 0 && ms && cosc->rank == 2 && cosc->shape[1] > 0 && x->shape[2] % (2 * cosc->shape[1]) == 0)
            H = x->shape[2] / (2 * cosc->shape[1]);
        if (H <= 0 || x->shape[2] % H) return ref_fail(c, "RotaryEmbedding: 3-D input needs num_heads");
        B = x->shape[0], S = x->shape[1], D = x->shape[2] / H;
    } else {
        return ref_fail(c, "RotaryEmbedding expects a 3-D or 4-D input");
    }
    int64_t R = ir_attr_int(c->n, "rotary_embedding_dim", 0);
    if (R == 0) R = D;
    if (R < 0 || R > D || R % 2) return ref_fail(c, "RotaryEmbedding: bad rotary_embedding_dim");
    int64_t half = R / 2;
    bool inter = ir_attr_int(c->n, "interleaved", 0) != 0;
    /* The caches are (max_pos, R/2) indexed by position, or (B, S, R/2) already gathered; a batch of 1 serves
     * every batch (ONNX's reference broadcasts it, and the fused HF tables are computed for batch 1). */
    bool gathered = !pos;
    bool ok = cosc->rank == (gathered ? 3 : 2) && sinc->rank == cosc->rank && cosc->shape[cosc->rank - 1] == half;
    for (int i = 0; ok && i < cosc->rank; i++) ok = sinc->shape[i] == cosc->shape[i];
    bool shared = gathered && ok && cosc->shape[0] == 1;
    if (!ok || (gathered && ((cosc->shape[0] != B && !shared) || cosc->shape[1] != S)))
        return ref_fail(c, "RotaryEmbedding: cos/sin caches do not match the input");
    if (pos && !ir_dtype_is_int(pos->dtype)) return ref_fail(c, "RotaryEmbedding: position_ids must be integers");
    bool offset = pos && ms && pos->numel == 1;
    if (pos && !offset && (pos->rank != 2 || pos->shape[0] != B || pos->shape[1] != S))
        return ref_fail(c, "RotaryEmbedding: position_ids must be (batch, seq)");
    IrTensor *y = ref_new(c, x->dtype, x->rank, x->shape);
    if (!y) return false;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t s = 0; s < S; s++) {
            uint64_t cbase;
            if (gathered) {
                cbase = (uint64_t)(((shared ? 0 : b) * S + s) * half);
            } else {
                int64_t p = offset ? ref_geti(pos, 0) + s : ref_geti(pos, (uint64_t)(b * S + s));
                if (p < 0 || p >= cosc->shape[0]) return ref_fail(c, "RotaryEmbedding: position %lld out of range", (long long)p);
                cbase = (uint64_t)(p * half);
            }
            for (int64_t h = 0; h < H; h++) {
                uint64_t base = x->rank == 4 ? (uint64_t)(((b * H + h) * S + s) * D) : (uint64_t)((b * S + s) * H * D + h * D);
                for (int64_t d = R; d < D; d++) ref_copy_elem(y, base + (uint64_t)d, x, base + (uint64_t)d);
                for (int64_t i = 0; i < half; i++) {
                    uint64_t i1 = base + (uint64_t)(inter ? 2 * i : i), i2 = base + (uint64_t)(inter ? 2 * i + 1 : i + half);
                    double x1 = ref_get(x, i1), x2 = ref_get(x, i2);
                    double cs = ref_get(cosc, cbase + (uint64_t)i), sn = ref_get(sinc, cbase + (uint64_t)i);
                    ref_put(y, i1, cs * x1 - sn * x2);
                    ref_put(y, i2, sn * x1 + cs * x2);
                }
            }
        }
    }
    ref_set_out(c, 0, y);
    return true;
}
