/* passes/infer_norm.c — shape rules of the normalizations and attention-block ops: BatchNormalization
 * (training outputs), LayerNormalization and com.microsoft SimplifiedLayerNormalization (Mean/InvStdDev
 * outputs), GroupNormalization (18 vs 21), com.microsoft SkipLayerNormalization, Attention-23, and infer_same
 * — the ops whose main output has the input's shape (softmax family, InstanceNormalization,
 * RMSNormalization, RotaryEmbedding, Scatter*, Trilu, FastGelu), each with its own operand checks.
 */
#include "infer.h"

#include <string.h>

/* Operand `i` must be [want] (per-channel parameters). */
static bool check_vector(IrGraph *g, IrNode *n, uint32_t i, const char *what, IrDim want)
{
    const IrValue *v = infer_in(g, n, i);
    if (!v) return true;
    if (v->rank != 1 || infer_const_conflict(g, v->dims[0], want))
        return infer_error(n, "%s has shape %s, expects [%s]", what, infer_value_shape_str(g, v), ir_dim_str(g, want));
    return true;
}

/* The stash type of Mean/InvStdDev outputs: a float type, f32 by default. */
static bool stash_dtype(const IrNode *n, IrDType *t)
{
    int64_t s = ir_attr_int(n, "stash_type", DT_F32);
    if (s <= 0 || s > DT_ONNX_MAX || !ir_dtype_is_float((IrDType)s))
        return infer_error(n, "stash_type %lld is not a floating-point type", (long long)s);
    *t = (IrDType)s;
    return true;
}

bool infer_batch_norm(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    if (x->rank < 1) return infer_error(n, "expects an input of rank >= 1, has a scalar");
    /* (N) alone means one channel */
    IrDim c = x->rank > 1 ? x->dims[1] : ir_dim_const(g, 1);
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    for (uint32_t i = 1; i < 5; i++) {
        if (!infer_check_dtype(n, infer_in(g, n, i), names[i], INFER_FLOAT)) return false;
        if (!check_vector(g, n, i, names[i], c)) return false;
    }
    if (!infer_same_dtype(g, n, 1, 2) || !infer_same_dtype(g, n, 3, 4)) return false;
    /* outputs 1 and 2 (running mean and variance, or the opset < 14 mean and var) are per channel */
    IrDType st = infer_in(g, n, 3)->dtype;
    return infer_set_like(g, n, 0, x) && infer_set(g, n, 1, st, 1, &c) && infer_set(g, n, 2, st, 1, &c);
}

/* LayerNormalization (X, Scale, B) -> (Y, Mean, InvStdDev) and com.microsoft SimplifiedLayerNormalization
 * (X, scale) -> (Y, inv_std_var).  The statistics keep X's dims before `axis` and 1 after it. */
bool infer_layer_norm(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *scale = infer_in(g, n, 1), *b = infer_in(g, n, 2);
    bool simplified = n->op == IR_OP_MS_SIMPLIFIED_LAYER_NORM;
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_check_dtype(n, scale, "scale", INFER_FLOAT))
        return false;
    if (!simplified && !infer_same_dtype(g, n, 0, 1)) return false;
    if (b && !infer_same_dtype(g, n, 1, 2)) return false;
    int ax;
    if (!infer_axis(n, "axis", ir_attr_int(n, "axis", -1), x->rank, &ax)) return false;
    if (!infer_unidirectional(g, n, "scale", scale->rank, scale->dims, x->rank, x->dims)) return false;
    if (b && !infer_unidirectional(g, n, "bias", b->rank, b->dims, x->rank, x->dims)) return false;
    IrDType st = DT_F32;
    if (!stash_dtype(n, &st)) return false;
    IrDim stat[IR_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stat[i] = i < ax ? x->dims[i] : ir_dim_const(g, 1);
    /* the simplified form's Y has the scale's type (ONNX Runtime's V) */
    if (!infer_set(g, n, 0, simplified ? scale->dtype : x->dtype, x->rank, x->dims)) return false;
    return infer_set(g, n, 1, st, x->rank, stat) && infer_set(g, n, 2, st, x->rank, stat);
}

bool infer_group_norm(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_same_dtype(g, n, 0, 1) ||
        !infer_same_dtype(g, n, 0, 2))
        return false;
    if (x->rank < 2)
        return infer_error(n, "expects an input of rank >= 2 (N, C, ...), has shape %s", infer_value_shape_str(g, x));
    const IrAttr *ng = ir_attr(n, "num_groups");
    if (!ng) return infer_error(n, "missing attribute num_groups");
    int64_t groups = ir_attr_int(n, "num_groups", 0), c;
    if (groups < 1) return infer_error(n, "num_groups %lld is not positive", (long long)groups);
    if (ir_dim_const_value(g, x->dims[1], &c) && c % groups != 0)
        return infer_error(n, "%lld channels are not divisible into %lld groups", (long long)c, (long long)groups);
    /* opset 18 had one scale and bias per group, 21 one per channel */
    IrDim want = n->opset >= 21 ? x->dims[1] : ir_dim_const(g, groups);
    const char *why = n->opset >= 21 ? "scale" : "scale (one per group before opset 21)";
    if (!check_vector(g, n, 1, why, want) || !check_vector(g, n, 2, "bias", want)) return false;
    IrDType st = DT_F32;
    if (!stash_dtype(n, &st)) return false;
    return infer_set_like(g, n, 0, x);
}

/* com.microsoft SkipLayerNormalization: (input, skip, gamma, beta?, bias?) -> (output, mean, inv_std_var,
 * input_skip_bias_sum); normalizes input + skip + bias over the last axis. */
bool infer_skip_layer_norm(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *skip = infer_in(g, n, 1);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
    for (uint32_t i = 1; i < 5; i++)
        if (!infer_same_dtype(g, n, 0, i)) return false;
    if (x->rank != 2 && x->rank != 3)
        return infer_error(n, "expects an input of shape (batch, seq, hidden) or (tokens, hidden), has %s",
                           infer_value_shape_str(g, x));
    if (!infer_unidirectional(g, n, "skip", skip->rank, skip->dims, x->rank, x->dims)) return false;
    IrDim h = x->dims[x->rank - 1];
    if (!check_vector(g, n, 2, "gamma", h) || !check_vector(g, n, 3, "beta", h) || !check_vector(g, n, 4, "bias", h))
        return false;
    IrDim stat[IR_MAX_RANK];
    infer_copy(stat, x->dims, x->rank);
    stat[x->rank - 1] = ir_dim_const(g, 1);
    return infer_set_like(g, n, 0, x) && infer_set(g, n, 1, DT_F32, x->rank, stat) &&
           infer_set(g, n, 2, DT_F32, x->rank, stat) && infer_set_like(g, n, 3, x);
}

/* --- infer_same and its per-op checks ----------------------------------------------------------------- */

static bool check_rotary(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    bool ms = n->op == IR_OP_MS_ROTARY_EMBEDDING;
    uint32_t i_pos = ms ? 1 : 3, i_cos = ms ? 2 : 1, i_sin = ms ? 3 : 2;
    const IrValue *pos = infer_in(g, n, i_pos), *cos = infer_in(g, n, i_cos), *sin = infer_in(g, n, i_sin);
    if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_same_dtype(g, n, 0, i_cos) ||
        !infer_same_dtype(g, n, 0, i_sin))
        return false;
    if (pos && !infer_check_dtype(n, pos, "position_ids", INFER_INT)) return false;
    if (x->rank != 3 && x->rank != 4)
        return infer_error(n, "expects a 3-D or 4-D input, has shape %s", infer_value_shape_str(g, x));
    int64_t heads = ir_attr_int(n, "num_heads", 0), rot = ir_attr_int(n, "rotary_embedding_dim", 0), hidden;
    if (!ms && x->rank == 3 && heads <= 0) return infer_error(n, "a 3-D input needs the num_heads attribute");
    /* without position_ids (ONNX form) the caches are already gathered: (batch, seq, rotary_dim / 2) */
    int want_rank = !ms && !pos ? 3 : 2;
    if (cos->rank != want_rank || sin->rank != want_rank ||
        infer_const_conflict(g, cos->dims[want_rank - 1], sin->dims[want_rank - 1]))
        return infer_error(n, "cos_cache %s and sin_cache %s must be %d-D and alike", infer_value_shape_str(g, cos),
                           infer_value_shape_str(g, sin), want_rank);
    IrDim head = x->rank == 4 ? x->dims[3] : IR_DIM_INVALID;
    if (x->rank == 3 && heads > 0 && ir_dim_const_value(g, x->dims[2], &hidden)) {
        if (hidden % heads != 0)
            return infer_error(n, "hidden size %lld is not divisible by num_heads %lld", (long long)hidden,
                               (long long)heads);
        head = ir_dim_const(g, hidden / heads);
    }
    if (rot > 0) head = ir_dim_const(g, rot);
    if (head != IR_DIM_INVALID) {
        IrDim half = ir_dim_div(g, head, ir_dim_const(g, 2));
        if (infer_const_conflict(g, cos->dims[want_rank - 1], half))
            return infer_error(n, "cos_cache has last dim %s, expects rotary_dim / 2 = %s",
                               ir_dim_str(g, cos->dims[want_rank - 1]),
                               ir_dim_str(g, half));
    }
    return true;
}

static bool check_scatter(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0), *idx = infer_in(g, n, 1), *upd = infer_in(g, n, 2);
    if (!infer_check_dtype(n, idx, "indices", INFER_INT) || !infer_same_dtype(g, n, 0, 2)) return false;
    const char *red = ir_attr_str(n, "reduction", "none");
    if (strcmp(red, "none") && strcmp(red, "add") && strcmp(red, "mul") && strcmp(red, "max") && strcmp(red, "min"))
        return infer_error(n, "unknown reduction '%s'", red);
    if (n->op == IR_OP_SCATTER_ELEMENTS) {
        int ax;
        if (idx->rank != x->rank) return infer_error(n, "indices has rank %d, data has rank %d", idx->rank, x->rank);
        if (!infer_axis(n, "axis", ir_attr_int(n, "axis", 0), x->rank, &ax)) return false;
        bool bad = upd->rank != idx->rank;
        for (int i = 0; !bad && i < idx->rank; i++) bad = infer_const_conflict(g, upd->dims[i], idx->dims[i]);
        if (bad)
            return infer_error(n, "updates has shape %s, indices %s (they must be equal)",
                               infer_value_shape_str(g, upd), infer_value_shape_str(g, idx));
        return true;
    }
    int64_t m;
    int q = idx->rank, r = x->rank;
    if (q < 1 || r < 1) return infer_error(n, "data and indices need rank >= 1");
    if (ir_dim_const_value(g, idx->dims[q - 1], &m)) {
        if (m < 1 || m > r) return infer_error(n, "indices address %lld dims of data of rank %d", (long long)m, r);
        bool bad = upd->rank != q - 1 + r - (int)m;
        for (int i = 0; !bad && i < q - 1; i++) bad = infer_const_conflict(g, upd->dims[i], idx->dims[i]);
        for (int i = (int)m; !bad && i < r; i++) bad = infer_const_conflict(g, upd->dims[q - 1 + i - m], x->dims[i]);
        if (bad)
            return infer_error(n, "updates has shape %s, expects indices.shape[:-1] + data.shape[%lld:] (data %s, "
                               "indices %s)", infer_value_shape_str(g, upd), (long long)m, infer_value_shape_str(g, x),
                               infer_value_shape_str(g, idx));
    }
    return true;
}

bool infer_same(IrGraph *g, IrNode *n)
{
    const IrValue *x = infer_in(g, n, 0);
    IrDType t = x->dtype;
    int ax;
    switch (n->op) {
    case IR_OP_SOFTMAX:
    case IR_OP_LOG_SOFTMAX:
    case IR_OP_HARDMAX:
        /* before opset 13 the input is coerced to 2-D at `axis` (default 1); the shape is kept either way */
        if (!infer_check_dtype(n, x, "input", INFER_FLOAT)) return false;
        if (!infer_axis(n, "axis", ir_attr_int(n, "axis", n->opset > 0 && n->opset < 13 ? 1 : -1), x->rank, &ax))
            return false;
        break;
    case IR_OP_INSTANCE_NORM:
        if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_same_dtype(g, n, 0, 1) ||
            !infer_same_dtype(g, n, 0, 2))
            return false;
        if (x->rank < 3)
            return infer_error(n, "expects an input of rank >= 3 (N, C, ...), has shape %s",
                               infer_value_shape_str(g, x));
        if (!check_vector(g, n, 1, "scale", x->dims[1]) || !check_vector(g, n, 2, "B", x->dims[1])) return false;
        break;
    case IR_OP_RMS_NORM: {
        const IrValue *scale = infer_in(g, n, 1);
        IrDType st;
        if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_check_dtype(n, scale, "scale", INFER_FLOAT))
            return false;
        if (!infer_axis(n, "axis", ir_attr_int(n, "axis", -1), x->rank, &ax) || !stash_dtype(n, &st)) return false;
        if (!infer_unidirectional(g, n, "scale", scale->rank, scale->dims, x->rank, x->dims)) return false;
        t = scale->dtype;   /* Y has the scale's type (V) */
        break;
    }
    case IR_OP_ROTARY_EMBEDDING:
    case IR_OP_MS_ROTARY_EMBEDDING:
        if (!check_rotary(g, n)) return false;
        break;
    case IR_OP_SCATTER_ELEMENTS:
    case IR_OP_SCATTER_ND:
        if (!check_scatter(g, n)) return false;
        break;
    case IR_OP_TRILU: {
        const IrValue *k = infer_in(g, n, 1);
        if (x->rank < 2)
            return infer_error(n, "expects an input of rank >= 2, has shape %s", infer_value_shape_str(g, x));
        if (k && (!infer_check_dtype(n, k, "k", INFER_INT) || infer_in_numel(g, n, 1) > 1))
            return infer_error(n, "k must be an integer scalar, has %s%s", ir_dtype_name(k->dtype),
                               infer_value_shape_str(g, k));
        break;
    }
    case IR_OP_MS_FAST_GELU: {
        const IrValue *b = infer_in(g, n, 1);
        if (!infer_check_dtype(n, x, "input", INFER_FLOAT) || !infer_same_dtype(g, n, 0, 1)) return false;
        if (b && !infer_unidirectional(g, n, "bias", b->rank, b->dims, x->rank, x->dims)) return false;
        break;
    }
    default:
        M2C_UNREACHABLE();   /* a new ops.def row naming infer_same needs its checks here */
    }
    return infer_set(g, n, 0, t, x->rank, x->dims);
}

/* --- Attention (opset 23) ----------------------------------------------------------------------------- */

/* d / k with a divisibility check when d is constant. */
static bool div_heads(IrGraph *g, IrNode *n, IrDim d, int64_t k, const char *what, IrDim *out)
{
    int64_t c;
    if (ir_dim_const_value(g, d, &c) && c % k != 0)
        return infer_error(n, "%s %lld is not divisible by %lld heads", what, (long long)c, (long long)k);
    *out = ir_dim_div(g, d, ir_dim_const(g, k));
    return true;
}

bool infer_attention(IrGraph *g, IrNode *n)
{
    const IrValue *q = infer_in(g, n, 0), *k = infer_in(g, n, 1), *v = infer_in(g, n, 2), *mask = infer_in(g, n, 3);
    const IrValue *pk = infer_in(g, n, 4), *pv = infer_in(g, n, 5);
    if (!infer_check_dtype(n, q, "Q", INFER_FLOAT) || !infer_check_dtype(n, v, "V", INFER_FLOAT) ||
        !infer_same_dtype(g, n, 0, 1))
        return false;
    if (mask && mask->dtype != DT_BOOL && mask->dtype != q->dtype)
        return infer_error(n, "attn_mask has type %s, expects bool or %s", ir_dtype_name(mask->dtype),
                           ir_dtype_name(q->dtype));
    if (!pk != !pv) return infer_error(n, "past_key and past_value must be given together");
    if (k->rank != q->rank || v->rank != q->rank)
        return infer_error(n, "Q, K and V have shapes %s, %s, %s (ranks differ)", infer_value_shape_str(g, q),
                           infer_value_shape_str(g, k), infer_value_shape_str(g, v));
    IrDim batch = q->dims[0], hq = IR_DIM_INVALID, hkv = IR_DIM_INVALID, sq = IR_DIM_INVALID, skv = IR_DIM_INVALID;
    IrDim head = IR_DIM_INVALID, khead = IR_DIM_INVALID, vhead = IR_DIM_INVALID;
    int64_t qh = ir_attr_int(n, "q_num_heads", 0), kvh = ir_attr_int(n, "kv_num_heads", 0);
    if (q->rank == 3) {
        if (qh <= 0 || kvh <= 0) return infer_error(n, "3-D inputs need the q_num_heads and kv_num_heads attributes");
        hq = ir_dim_const(g, qh);
        hkv = ir_dim_const(g, kvh);
        sq = q->dims[1];
        skv = k->dims[1];
        if (!div_heads(g, n, q->dims[2], qh, "Q hidden size", &head) ||
            !div_heads(g, n, k->dims[2], kvh, "K hidden size", &khead) ||
            !div_heads(g, n, v->dims[2], kvh, "V hidden size", &vhead))
            return false;
    } else if (q->rank == 4) {
        hq = q->dims[1];
        hkv = k->dims[1];
        sq = q->dims[2];
        skv = k->dims[2];
        head = q->dims[3];
        khead = k->dims[3];
        vhead = v->dims[3];
        if (infer_const_conflict(g, k->dims[1], v->dims[1]) || infer_const_conflict(g, k->dims[2], v->dims[2]))
            return infer_error(n, "K %s and V %s disagree on heads or length", infer_value_shape_str(g, k),
                               infer_value_shape_str(g, v));
    } else {
        return infer_error(n, "Q must be 3-D or 4-D, has shape %s", infer_value_shape_str(g, q));
    }
    int64_t a, b;
    if (infer_const_conflict(g, head, khead))
        return infer_error(n, "Q head size %s differs from K head size %s", ir_dim_str(g, head), ir_dim_str(g, khead));
    if (ir_dim_const_value(g, hq, &a) && ir_dim_const_value(g, hkv, &b) && (b == 0 || a % b != 0))
        return infer_error(n, "%lld query heads cannot share %lld key/value heads", (long long)a, (long long)b);
    IrDim total = skv;
    if (pk) {
        if (pk->rank != 4 || pv->rank != 4)
            return infer_error(n, "past_key %s and past_value %s must be 4-D", infer_value_shape_str(g, pk),
                               infer_value_shape_str(g, pv));
        total = ir_dim_add(g, pk->dims[2], skv);
    }
    IrDim y[4], pres_k[4] = {batch, hkv, total, khead}, pres_v[4] = {batch, hkv, total, vhead};
    IrDim qk[4] = {batch, hq, sq, total};
    int ry;
    if (q->rank == 3) {
        y[0] = batch;
        y[1] = sq;
        y[2] = ir_dim_mul(g, hq, vhead);
        ry = 3;
    } else {
        y[0] = batch;
        y[1] = hq;
        y[2] = sq;
        y[3] = vhead;
        ry = 4;
    }
    return infer_set(g, n, 0, q->dtype, ry, y) && infer_set(g, n, 1, q->dtype, 4, pres_k) &&
           infer_set(g, n, 2, v->dtype, 4, pres_v) && infer_set(g, n, 3, q->dtype, 4, qk);
}
