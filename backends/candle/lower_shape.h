/* backends/candle/lower_shape.h — what the files of the shape/index family share (lower_shape*.c).
 *
 * lower_shape.c       dispatch; Reshape family, Transpose, Concat, Expand, Split, Tile, Shape, Size, Range,
 *                     ConstantOfShape, DepthToSpace, SpaceToDepth
 * lower_shape_slice.c Slice (any steps, bounds known or read at run time) and Pad (every mode)
 * lower_shape_index.c Gather, GatherElements, GatherND, ScatterElements, ScatterND, OneHot, NonZero, Trilu,
 *                     EyeLike
 *
 * Sizes come from the IR's dims whenever they can be written as Rust now; a dim that is a symbol this very
 * node defines (a shape read from a tensor at run time) cannot, and those lowerings read the tensor instead.
 */
#ifndef LOWER_SHAPE_H
#define LOWER_SHAPE_H

#include "cg.h"

bool cg_lower_shape_slice(CgFn *f, const IrNode *n);
bool cg_lower_shape_index(CgFn *f, const IrNode *n);

int cg_shape_axis(int64_t axis, int rank);                    /* negative axes count from the end */
/* Every symbol of d can be written while lowering n (not one that n itself defines). */
bool cg_shape_dim_bound(CgFn *f, const IrNode *n, IrDim d);
bool cg_shape_value_bound(CgFn *f, const IrNode *n, uint32_t v);   /* ... of every dim of v */
/* The contents of an integer input as dims that can be written now (constants or bound symbols). */
bool cg_shape_known_list(CgFn *f, const IrNode *n, uint32_t v, IrDim *out, uint32_t max, uint32_t *count);
const char *cg_shape_i64(CgFn *f, IrDim d);                   /* i64 Rust expression of a dim: `3i64` */
const char *cg_shape_i64_prec(CgFn *f, IrDim d, int prec);   /* ... as an operand: 1 of +, 2 of *, 3 of .m() */
bool cg_shape_usize_safe(CgFn *f, IrDim d, bool nonneg);      /* cg_dim's usize arithmetic cannot wrap */
const char *cg_shape_usize_nonneg(CgFn *f, IrDim d);          /* ... for a dim the caller knows is >= 0 */
const char *cg_shape_usize(CgFn *f, IrDim d);                 /* usize, through i64 where usize could wrap */
/* `let name: Vec<i64> = t.to_dtype(DType::I64)?.flatten_all()?.to_vec1()?;` — an integer tensor read on the
 * host at run time; returns the local's name. */
const char *cg_shape_host_i64s(CgFn *f, uint32_t v, const char *hint);
/* A literal of a tensor element type, as candle's generic constructors want it: `0.5f32`; NULL for the
 * types that have no Rust literal (f16, bf16). */
const char *cg_shape_literal(CgFn *f, IrDType t, double v);

#endif
