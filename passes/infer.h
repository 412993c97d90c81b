/* passes/infer.h — internals of shape and dtype inference, shared by infer.c and the infer_*.c rule files.
 *
 * A rule is `bool rule(IrGraph *g, IrNode *n)`: it sets every present output of n with infer_set() from the
 * inputs' dtypes, shapes, known contents and the attributes, and returns false after reporting bad input with
 * infer_error().  infer_node() has already checked the input count and that every present input has a known
 * dtype and rank, so a rule never sees an unknown input.  Rules recompute everything on every run (the
 * pipeline re-runs inference after folding) and name unknown dims with infer_sym(), a deterministic symbol
 * built from the output's name and axis.
 */
#ifndef INFER_H
#define INFER_H

#include "passes.h"

#include <string.h>

/* The rules, one prototype per name that ops.def uses (a name used by several rows is declared again, which
 * C allows), so a row naming a rule nobody wrote fails to compile. */
#define OP(id, onnx, dom, since, inmin, inmax, outmin, outmax, flags, rule) bool rule(IrGraph *g, IrNode *n);
#include "ops.def"
#undef OP

/* Element type classes for infer_check_dtype(). */
enum {
    INFER_FLOAT = 1 << 0,    /* f16, bf16, f32, f64 */
    INFER_SINT = 1 << 1,     /* signed integers */
    INFER_UINT = 1 << 2,     /* unsigned integers */
    INFER_BOOL = 1 << 3,
    INFER_INT = INFER_SINT | INFER_UINT,
    INFER_NUM = INFER_FLOAT | INFER_INT,
    INFER_SIGNED = INFER_FLOAT | INFER_SINT,
    INFER_ANY = INFER_NUM | INFER_BOOL,
};

/* Copies n dims.  A rank-0 value's dims pointer is NULL, which memcpy must not see even for 0 bytes. */
static inline void infer_copy(IrDim *dst, const IrDim *src, int64_t n)
{
    if (n > 0) memcpy(dst, src, (size_t)n * sizeof *dst);
}

/*
 * infer.c — helpers
 */
bool infer_error(const IrNode *n, const char *fmt, ...) M2C_PRINTF(2, 3);   /* "<Op>: <message>"; false */
const IrValue *infer_in(IrGraph *g, const IrNode *n, uint32_t i);   /* NULL when absent or omitted */
bool infer_has_out(const IrNode *n, uint32_t i);
IrDim infer_sym(IrGraph *g, const IrNode *n, uint32_t out, int axis);   /* "<value>__d<axis>" */
bool infer_set(IrGraph *g, IrNode *n, uint32_t out, IrDType t, int rank, const IrDim *dims);
bool infer_set_like(IrGraph *g, IrNode *n, uint32_t out, const IrValue *like);
void infer_set_unknown(IrGraph *g, IrNode *n);
const char *infer_shape_str(IrGraph *g, int rank, const IrDim *dims);
const char *infer_value_shape_str(IrGraph *g, const IrValue *v);
bool infer_axis(const IrNode *n, const char *what, int64_t axis, int rank, int *out);
bool infer_check_dtype(const IrNode *n, const IrValue *v, const char *what, unsigned classes);
bool infer_same_dtype(IrGraph *g, const IrNode *n, uint32_t i, uint32_t j);
bool infer_const_conflict(const IrGraph *g, IrDim a, IrDim b);   /* both constants and different */
/* Multidirectional (numpy) broadcast of two shapes; reports "shapes A and B cannot be broadcast". */
bool infer_broadcast_dims(IrGraph *g, const IrNode *n, int ra, const IrDim *a, int rb, const IrDim *b, int *rout,
                          IrDim *out);
/* Whether `b` broadcasts to `a` without changing it (Gemm's C, PRelu's slope, norm scales). */
bool infer_unidirectional(IrGraph *g, const IrNode *n, const char *what, int rb, const IrDim *b, int ra,
                          const IrDim *a);
/* min/max decided through the bounds of the difference and the operands' own max/min structure */
IrDim infer_dim_min(IrGraph *g, IrDim a, IrDim b);
IrDim infer_dim_max(IrGraph *g, IrDim a, IrDim b);
bool infer_dim_nonneg(IrGraph *g, IrDim d);          /* provably >= 0 (bounds, or max(a, ..) - a + ...) */
IrDim infer_prod(IrGraph *g, const IrDim *dims, int from, int to);
/* floor(a / b) for sizes: b's symbolic factors cancel before its constant divides, so (b*s*c) // (3*b*s)
 * is c // 3. */
IrDim infer_dim_div(IrGraph *g, IrDim a, IrDim b);
/* Known contents of input i (konst or symval), at most max elements. */
bool infer_in_dims(IrGraph *g, const IrNode *n, uint32_t i, IrDim *out, uint32_t max, uint32_t *count);
bool infer_in_ints(IrGraph *g, const IrNode *n, uint32_t i, int64_t *out, uint32_t max, uint32_t *count);
/* The element count of input i when its shape is constant, else -1. */
int64_t infer_in_numel(IrGraph *g, const IrNode *n, uint32_t i);
/* A scalar integer input (rank 0 or one element) whose value is known; false when unknown or absent. */
bool infer_in_scalar_dim(IrGraph *g, const IrNode *n, uint32_t i, IrDim *out);
/* A float size (Resize, Range, OneHot depth) as a dim: IR_DIM_INVALID for NaN, infinities and values
 * beyond int64, whose conversion would be undefined. */
IrDim infer_f64_dim(IrGraph *g, double v);
/* A list attribute of `count` ints, or `dflt` for every element when absent; false (reported) on a wrong
 * length. */
bool infer_attr_ints(const IrNode *n, const char *name, int count, int64_t dflt, int64_t *out);

/*
 * Conv-style spatial arithmetic (infer_nn.c), shared with Col2Im.
 */
IrDim infer_conv_out(IrGraph *g, IrDim in, int64_t k, int64_t stride, int64_t dil, int64_t pad_sum);

#endif
