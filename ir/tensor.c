/* ir/tensor.c — reading and writing constant tensors element by element, whatever their dtype, and the
 * known contents (concrete or symbolic) of small integer values that shape rules consume. */
#include "ir.h"

#include <string.h>

double ir_tensor_get_f64(const IrTensor *t, uint64_t i)
{
    const unsigned char *p = (const unsigned char *)t->data + i * ir_dtype_size(t->dtype);
    switch (t->dtype) {
    case DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case DT_F64: { double v; memcpy(&v, p, 8); return v; }
    case DT_F16: { uint16_t v; memcpy(&v, p, 2); return ir_f16_to_f32(v); }
    case DT_BF16: { uint16_t v; memcpy(&v, p, 2); return ir_bf16_to_f32(v); }
    case DT_U64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    default: return (double)ir_tensor_get_i64(t, i);
    }
}

int64_t ir_tensor_get_i64(const IrTensor *t, uint64_t i)
{
    const unsigned char *p = (const unsigned char *)t->data + i * ir_dtype_size(t->dtype);
    switch (t->dtype) {
    case DT_I8: return *(const int8_t *)p;
    case DT_U8: return *p;
    case DT_BOOL: return *p != 0;
    case DT_I16: { int16_t v; memcpy(&v, p, 2); return v; }
    case DT_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case DT_I32: { int32_t v; memcpy(&v, p, 4); return v; }
    case DT_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case DT_I64: { int64_t v; memcpy(&v, p, 8); return v; }
    case DT_U64: { uint64_t v; memcpy(&v, p, 8); return (int64_t)v; }
    default: {
        double d = ir_tensor_get_f64(t, i);
        /* float -> int conversions saturate instead of being undefined */
        if (d != d) return 0;
        if (d >= 9.2233720368547758e18) return INT64_MAX;
        if (d <= -9.2233720368547758e18) return INT64_MIN;
        return (int64_t)d;
    }
    }
}

void ir_tensor_set_f64(IrTensor *t, uint64_t i, double v)
{
    unsigned char *p = (unsigned char *)t->data + i * ir_dtype_size(t->dtype);
    switch (t->dtype) {
    case DT_F32: { float f = (float)v; memcpy(p, &f, 4); return; }
    case DT_F64: memcpy(p, &v, 8); return;
    case DT_F16: { uint16_t h = ir_f32_to_f16((float)v); memcpy(p, &h, 2); return; }
    case DT_BF16: { uint16_t h = ir_f32_to_bf16((float)v); memcpy(p, &h, 2); return; }
    case DT_BOOL: *p = v != 0; return;
    default: {
        int64_t x;
        if (v != v) x = 0;
        else if (v >= 9.2233720368547758e18) x = INT64_MAX;
        else if (v <= -9.2233720368547758e18) x = INT64_MIN;
        else x = (int64_t)v;
        ir_tensor_set_i64(t, i, x);
    }
    }
}

void ir_tensor_set_i64(IrTensor *t, uint64_t i, int64_t v)
{
    unsigned char *p = (unsigned char *)t->data + i * ir_dtype_size(t->dtype);
    switch (t->dtype) {
    case DT_I8: case DT_U8: *p = (unsigned char)v; return;
    case DT_BOOL: *p = v != 0; return;
    case DT_I16: case DT_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); return; }
    case DT_I32: case DT_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); return; }
    case DT_I64: case DT_U64: memcpy(p, &v, 8); return;
    default: ir_tensor_set_f64(t, i, (double)v); return;
    }
}

bool ir_tensor_ints(const IrTensor *t, int64_t *out, uint64_t max)
{
    if (!ir_dtype_is_int(t->dtype) && t->dtype != DT_BOOL) return false;
    if (t->numel > max) return false;
    for (uint64_t i = 0; i < t->numel; i++) out[i] = ir_tensor_get_i64(t, i);
    return true;
}

bool ir_value_ints(const IrGraph *g, uint32_t v, int64_t *out, uint32_t max, uint32_t *n)
{
    if (v == IR_NONE) return false;
    const IrValue *val = &g->values.v[v];
    if (val->konst) {
        if (!ir_tensor_ints(val->konst, out, max)) return false;
        *n = (uint32_t)val->konst->numel;
        return true;
    }
    if (val->symval) {
        if (val->symval_n > max) return false;
        for (uint32_t i = 0; i < val->symval_n; i++)
            if (!ir_dim_const_value(g, val->symval[i], &out[i])) return false;
        *n = val->symval_n;
        return true;
    }
    return false;
}

bool ir_value_dims(IrGraph *g, uint32_t v, IrDim *out, uint32_t max, uint32_t *n)
{
    if (v == IR_NONE) return false;
    const IrValue *val = &g->values.v[v];
    if (val->symval) {
        if (val->symval_n > max) return false;
        memcpy(out, val->symval, val->symval_n * sizeof *out);
        *n = val->symval_n;
        return true;
    }
    if (val->konst) {
        const IrTensor *t = val->konst;
        if ((!ir_dtype_is_int(t->dtype) && t->dtype != DT_BOOL) || t->numel > max) return false;
        for (uint64_t i = 0; i < t->numel; i++) out[i] = ir_dim_const(g, ir_tensor_get_i64(t, i));
        *n = (uint32_t)t->numel;
        return true;
    }
    return false;
}

bool ir_value_scalar_f64(const IrGraph *g, uint32_t v, double *out)
{
    if (v == IR_NONE) return false;
    const IrValue *val = &g->values.v[v];
    if (val->konst && val->konst->numel == 1) {
        *out = ir_tensor_get_f64(val->konst, 0);
        return true;
    }
    int64_t c;
    if (val->symval && val->symval_n == 1 && ir_dim_const_value(g, val->symval[0], &c)) {
        *out = (double)c;
        return true;
    }
    return false;
}
