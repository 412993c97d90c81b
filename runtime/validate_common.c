/* runtime/validate_common.c — the validators' shared steps (validate_impl.h). */
#include "validate_impl.h"
#include "ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

uint64_t rtv_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

double rtv_rng_unit(uint64_t *s) { return (double)(rtv_rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

/* Sizes: --dim values, else 2 for a batch and 13 for the rest; symbols that meet in a max()/min() (dims the
 * shape rules only know to broadcast) take one value, so the random tensors broadcast. */
void rtv_bind_sym(Vcx *v, const char *name)
{
    for (uint32_t i = 0; i < v->bind.n; i++)
        if (strcmp(v->names[i], name) == 0) return;
    if (v->bind.n >= 64) return;
    uint32_t i = v->bind.n++;
    v->names[i] = name;
    v->user[i] = false;
    v->vals[i] = strstr(name, "batch") ? 2 : 13;
    for (uint32_t j = 0; j < v->opt->dims.n; j++)
        if (strcmp(v->opt->dims.names[j], name) == 0) v->vals[i] = v->opt->dims.vals[j], v->user[i] = true;
}

void rtv_bind_dim(Vcx *v, IrDim d)
{
    const IrDimExpr *e = ir_dim_expr(v->g, d);
    if (e->kind == DIM_SYM) rtv_bind_sym(v, e->name);
    for (uint32_t i = 0; e->kind != DIM_SYM && i < e->nops; i++) rtv_bind_dim(v, e->ops[i]);
    if ((e->kind == DIM_MAX || e->kind == DIM_MIN) && e->nops > 1) {
        int first = -1;
        for (uint32_t i = 0; i < e->nops; i++) {
            const IrDimExpr *o = ir_dim_expr(v->g, e->ops[i]);
            for (uint32_t j = 0; o->kind == DIM_SYM && j < v->bind.n; j++) {
                if (strcmp(v->names[j], o->name) != 0) continue;
                if (first < 0) first = (int)j;
                else if (!v->user[j]) v->vals[j] = v->vals[first];
            }
        }
    }
}

bool rtv_shape_of(Vcx *v, int rank, const IrDim *dims, int64_t *out)
{
    for (int i = 0; i < rank; i++)
        if (!kir_dim_eval(v->g, dims[i], &v->bind, &out[i]) || out[i] < 0) return false;
    return true;
}

int rtv_arg_of(const KirGroup *k, uint32_t value)
{
    for (uint32_t i = 0; i + 1 < k->args.n; i++)
        if (k->args.v[i].src == KIR_SRC_VALUE && k->args.v[i].value == value) return (int)i;
    return -1;
}

IrTensor *rtv_ref_of(Vcx *v, uint32_t value)
{
    for (uint32_t i = 0; i < v->nrefs; i++)
        if (v->refs[i].value == value) return v->refs[i].t;
    return NULL;
}

/* Fresh values for one input of the group, with the roles that constrain them. */
void rtv_fill_random(Vcx *v, IrTensor *t, int arg)
{
    const KirGroup *k = &v->k;
    bool mask = k->kind == KIR_ATTENTION && arg >= 0 && arg == k->attn.mask;
    int64_t last = t->rank ? t->shape[t->rank - 1] : 1;
    for (uint64_t i = 0; i < t->numel; i++) {
        double u = rtv_rng_unit(&v->rng);
        if (t->dtype == DT_BOOL)
            ir_tensor_set_i64(t, i, mask ? (i % (uint64_t)(last ? last : 1) == 0 || u < 0.75) : u < 0.5);
        else if (k->kind == KIR_ROPE && arg == k->rope.pos)   /* a row of the caches, made before */
            ir_tensor_set_i64(t, i, (int64_t)(u * (double)rtv_ref_of(v, k->args.v[k->rope.cos].value)->shape[0]));
        else if (!ir_dtype_is_float(t->dtype))
            ir_tensor_set_i64(t, i, (int64_t)(u * 4));
        else if (mask)
            ir_tensor_set_f64(t, i, -2.0 * u);
        else
            ir_tensor_set_f64(t, i, 4.0 * u - 2.0);
    }
}

/* The reference input for value `value`, created on first use. */
IrTensor *rtv_ref_input(Vcx *v, uint32_t value, char *why, size_t nwhy)
{
    IrTensor *t = rtv_ref_of(v, value);
    if (t) return t;
    const IrValue *val = ir_val(v->g, value);
    int64_t shape[IR_MAX_RANK];
    if (v->nrefs >= 128 || val->rank < 0 || !rtv_shape_of(v, val->rank, val->dims, shape)) {
        snprintf(why, nwhy, "no concrete shape for %%%s (give its symbols with --dim)", val->name);
        return NULL;
    }
    t = rt_tensor_new(val->dtype, val->rank, shape);
    int arg = rtv_arg_of(&v->k, value);
    if (val->konst && !(val->flags & V_PARAM) && val->konst->data && val->konst->numel == t->numel)
        memcpy((void *)t->data, val->konst->data, t->nbytes);
    else
        rtv_fill_random(v, t, arg);
    /* the kernel stores this argument in a narrower float: the reference sees the same rounded values */
    if (arg >= 0 && ir_dtype_is_float(val->dtype) && v->k.args.v[arg].dtype != val->dtype) {
        IrTensor tmp = {v->k.args.v[arg].dtype, 0, NULL, 1, 2, NULL, NULL, 0};
        uint16_t h;
        tmp.data = &h;
        for (uint64_t i = 0; i < t->numel; i++) {
            ir_tensor_set_f64(&tmp, 0, ir_tensor_get_f64(t, i));
            ir_tensor_set_f64(t, i, ir_tensor_get_f64(&tmp, 0));
        }
    }
    v->refs[v->nrefs++] = (RefVal){value, t};
    return t;
}

/* Host bytes of a tensor stored as dtype `to`. */
void *rtv_convert(const IrTensor *t, IrDType to)
{
    IrTensor out = {to, 0, NULL, t->numel, t->numel * ir_dtype_size(to), NULL, NULL, 0};
    out.data = calloc(out.nbytes ? out.nbytes : 1, 1);
    for (uint64_t i = 0; i < t->numel; i++) {
        if (ir_dtype_is_float(to) || ir_dtype_is_float(t->dtype)) ir_tensor_set_f64(&out, i, ir_tensor_get_f64(t, i));
        else ir_tensor_set_i64(&out, i, ir_tensor_get_i64(t, i));
    }
    return (void *)out.data;
}

bool rtv_eval_node(Vcx *v, const IrNode *n, IrTensor **outs, char *why, size_t nwhy)
{
    const IrTensor *in[16] = {0};
    for (uint32_t i = 0; i < n->nin && i < 16; i++)
        if (n->in[i] != IR_NONE && !(in[i] = rtv_ref_input(v, n->in[i], why, nwhy))) return false;
    RefStatus st = {0};
    if (n->nout > 8 || !ref_eval(v->g, n, in, outs, &st)) {
        snprintf(why, nwhy, "reference evaluator: %s", st.why);
        return false;
    }
    return true;
}

/* Relative L2 error; NaN where the reference has none (or the other way round) makes it infinite.  The kernel
 * computes in f32 and stores as `dt`, so the reference is rounded to `dt` first: a value beyond f16's range is
 * an infinity in both (bert's -FLT_MAX mask stored as f16). */
double rtv_compare(const IrTensor *ref, const void *gpu, IrDType dt, uint64_t *bad)
{
    IrTensor got = {dt, 0, NULL, ref->numel, 0, gpu, NULL, 0};
    IrTensor round = {dt, 0, NULL, 1, 8, NULL, NULL, 0};
    uint64_t slot = 0;
    round.data = &slot;
    double num = 0, den = 0;
    *bad = 0;
    for (uint64_t i = 0; i < ref->numel; i++) {
        if (dt == DT_BOOL) {
            uint8_t b = ((const uint8_t *)gpu)[i];
            if (b != (uint8_t)(ir_tensor_get_i64(ref, i) != 0)) (*bad)++;
            continue;
        }
        double r = ir_tensor_get_f64(ref, i), o = ir_tensor_get_f64(&got, i);
        if (dt != ref->dtype && ir_dtype_is_float(dt)) {
            ir_tensor_set_f64(&round, 0, r);
            r = ir_tensor_get_f64(&round, 0);
        }
        if (isnan(r) || isnan(o)) {
            if (isnan(r) != isnan(o)) (*bad)++;
            continue;
        }
        if (isinf(r) || isinf(o)) {
            if (r != o) (*bad)++;
            continue;
        }
        num += (o - r) * (o - r), den += r * r;
    }
    if (dt == DT_BOOL) return *bad ? 1.0 : 0.0;
    if (*bad) return INFINITY;
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

void rtv_poison(void *p, IrDType dt, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        switch (dt) {
        case DT_F32: ((uint32_t *)p)[i] = 0x7fc00000u; break;
        case DT_F16: ((uint16_t *)p)[i] = 0x7e00u; break;
        case DT_BF16: ((uint16_t *)p)[i] = 0x7fc0u; break;
        default: ((uint8_t *)p)[i * ir_dtype_size(dt)] = 0xAA; break;
        }
    }
}
