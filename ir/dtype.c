/* ir/dtype.c — element types: names, sizes, and the half-precision conversions. */
#include "ir.h"

#include <string.h>

typedef struct {
    const char *name;       /* IR name */
    const char *onnx;       /* TensorProto.DataType name */
    size_t size;            /* 0: we know the type but cannot compute with it */
} DTypeInfo;

static const DTypeInfo dtypes[DT_ONNX_MAX + 1] = {
    [DT_UNDEF] = {"?", "UNDEFINED", 0},
    [DT_F32] = {"f32", "FLOAT", 4},
    [DT_U8] = {"u8", "UINT8", 1},
    [DT_I8] = {"i8", "INT8", 1},
    [DT_U16] = {"u16", "UINT16", 2},
    [DT_I16] = {"i16", "INT16", 2},
    [DT_I32] = {"i32", "INT32", 4},
    [DT_I64] = {"i64", "INT64", 8},
    [DT_STRING] = {"string", "STRING", 0},
    [DT_BOOL] = {"bool", "BOOL", 1},
    [DT_F16] = {"f16", "FLOAT16", 2},
    [DT_F64] = {"f64", "DOUBLE", 8},
    [DT_U32] = {"u32", "UINT32", 4},
    [DT_U64] = {"u64", "UINT64", 8},
    [DT_COMPLEX64] = {"complex64", "COMPLEX64", 0},
    [DT_COMPLEX128] = {"complex128", "COMPLEX128", 0},
    [DT_BF16] = {"bf16", "BFLOAT16", 2},
    [17] = {"f8e4m3fn", "FLOAT8E4M3FN", 0},
    [18] = {"f8e4m3fnuz", "FLOAT8E4M3FNUZ", 0},
    [19] = {"f8e5m2", "FLOAT8E5M2", 0},
    [20] = {"f8e5m2fnuz", "FLOAT8E5M2FNUZ", 0},
    [21] = {"u4", "UINT4", 0},
    [22] = {"i4", "INT4", 0},
    [23] = {"f4e2m1", "FLOAT4E2M1", 0},
    [24] = {"f8e8m0", "FLOAT8E8M0", 0},
    [25] = {"u2", "UINT2", 0},
    [26] = {"i2", "INT2", 0},
};

const char *ir_dtype_name(IrDType t)
{
    return (unsigned)t <= DT_ONNX_MAX ? dtypes[t].name : "?";
}

const char *ir_dtype_onnx_name(IrDType t)
{
    return (unsigned)t <= DT_ONNX_MAX ? dtypes[t].onnx : "UNKNOWN";
}

size_t ir_dtype_size(IrDType t)
{
    return (unsigned)t <= DT_ONNX_MAX ? dtypes[t].size : 0;
}

bool ir_dtype_supported(IrDType t)
{
    return ir_dtype_size(t) != 0;
}

bool ir_dtype_is_float(IrDType t)
{
    return t == DT_F32 || t == DT_F16 || t == DT_BF16 || t == DT_F64;
}

bool ir_dtype_is_int(IrDType t)
{
    return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64 || t == DT_U8 || t == DT_U16 || t == DT_U32 ||
           t == DT_U64;
}

bool ir_dtype_is_signed(IrDType t)
{
    return t == DT_I8 || t == DT_I16 || t == DT_I32 || t == DT_I64 || ir_dtype_is_float(t);
}

IrDType ir_dtype_parse(const char *s)
{
    for (int t = 1; t <= DT_ONNX_MAX; t++)
        if (dtypes[t].name && strcmp(dtypes[t].name, s) == 0) return (IrDType)t;
    return DT_UNDEF;
}

/* IEEE half <-> single, round to nearest even, with subnormals, infinities and NaN. */
float ir_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            int e = -1;
            do {
                e++;
                mant <<= 1;
            } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ir_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    int32_t exp = (int32_t)((x >> 23) & 0xff);
    uint32_t mant = x & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

float ir_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t ir_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);   /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
