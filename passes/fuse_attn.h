/* passes/fuse_attn.h — what the attention matcher (fuse_attention.c) and its mask analysis (fuse_attn_mask.c)
 * share.  The causal analysis is separate because the KV-cache work reads it too: a mask it proves causal
 * becomes `is_causal` plus what remains of the mask (a padding mask), which a cache can extend. */
#ifndef FUSE_ATTN_H
#define FUSE_ATTN_H

#include "fuse.h"

/* Where the analysis puts the nodes it makes (Not, And over what remains of a mask): next to the attention. */
typedef struct {
    IrScopeId scope;
    SrcLoc loc;
} AttnSite;

/* A mask's condition split into the causal part and the rest.
 *
 * cond is a bool tensor that broadcasts to the scores (…, s, t); keep says what true means: true = the key is
 * attended (a keep-mask, PyTorch's boolean attn_mask), false = the key is masked out (masked_fill's mask).
 * When cond is the conjunction of a proven causal condition "key index ≤ query index" (in the keep sense) with
 * other conditions, *causal is set and the result is a bool keep-mask of the other conditions, or IR_NONE when
 * nothing else remains.  When no causal part is proven, *causal is false and IR_NONE is returned.
 *
 * Causal conditions it proves (s, t: the scores' query and key lengths, no past; key j ≤ query i):
 *   LessOrEqual(kpos, qpos), GreaterOrEqual(qpos, kpos)                 keep
 *   Greater(kpos, qpos), Less(qpos, kpos)                               masked
 *     qpos = Range(0, ·, 1) of length s on axis −2, kpos = Range(0, ·, 1) of length t on the last axis, each
 *     placed there by Unsqueeze/Reshape (all other dims 1), optionally Cast between integer types
 *   Trilu(ones) lower, k = 0 (keep); Trilu(ones) upper, k = 1 (masked)  ones: a splat or ConstantOfShape of 1
 *   a constant lower triangle (keep) or strict upper triangle (masked) of shape (…, s, t)
 *   Slice(c, starts 0, steps 1) of a constant square lower-triangle buffer over the last two axes (GPT-2's `bias`)
 *   Cast to bool of any of these, Equal(x, 0) and Not (flip keep), And (keep) / Or (masked) of several parts
 * Splat true (keep) / false (masked) parts are dropped. */
uint32_t attn_causal_split(IrGraph *g, uint32_t cond, bool keep, IrDim s, IrDim t, const AttnSite *at, bool *causal);

/* The same for an additive float mask Where(cond, 0, fill) / Where(cond, fill, 0) whose fill masks (−inf or
 * within a factor 2 of the dtype's lowest): the rest as a bool keep-mask. */
uint32_t attn_causal_split_additive(IrGraph *g, uint32_t mask, IrDim s, IrDim t, const AttnSite *at, bool *causal);

/* fill takes a key out of the softmax: −inf, or a number so negative (finfo.min) that exp underflows. */
bool attn_fill_masks(double fill, IrDType t);

/* A new node `op(in…)` with one output of the given type, placed at `at`; an identical node that already
 * exists (same op, inputs and int-list attribute `ints_name`) is reused instead. */
uint32_t attn_node(IrGraph *g, const AttnSite *at, IrOp op, uint32_t nin, const uint32_t *in, const char *ints_name,
                   const int64_t *ints, uint32_t nints, const char *hint, IrDType t, int rank, const IrDim *dims);

/* The broadcast of two shapes (right-aligned, equal or 1): false if they do not broadcast. */
bool attn_broadcast(IrGraph *g, const IrValue *a, const IrValue *b, int *rank, IrDim *dims);

#endif
