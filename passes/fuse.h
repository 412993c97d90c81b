/* passes/fuse.h — what the fusion matchers share (fuse_util.c).
 *
 * A matcher starts from a node that only the pattern can end in (an Erf for GELU, a ReduceMean for
 * LayerNorm), walks producers and users, and checks what the pattern needs to be the same computation:
 * the ops, the constants (with a tolerance), that every intermediate has a single use and is no graph output,
 * shapes and dtypes.  The module scope is never the proof.  fu_replace() then puts one node in place of the
 * pattern: the pattern's last output stays the output (its readers need no rewiring), the new node keeps the
 * SrcLoc and scope of the pattern's last node. */
#ifndef FUSE_H
#define FUSE_H

#include "passes.h"

/* The node that makes v if it is `op` (any op: IR_OP_UNKNOWN), else NULL. */
IrNode *fu_prod(IrGraph *g, uint32_t v, IrOp op);
/* v has exactly one reader, a node, and is not a graph output: folding it into a pattern loses nothing. */
bool fu_single(IrGraph *g, uint32_t v);
/* The only node that reads v, if it is `op` (IR_OP_UNKNOWN: any) and v has a single use; else NULL. */
IrNode *fu_user(IrGraph *g, uint32_t v, IrOp op);
/* v is a constant whose elements all equal one number (a scalar, a [1] or any splat). */
bool fu_splat(IrGraph *g, uint32_t v, double *out);
bool fu_splat_near(IrGraph *g, uint32_t v, double want, double rel_tol);
bool fu_near(double a, double b, double rel_tol);
/* For a binary node with v as one input: the other input (IR_NONE if v is not an input). */
uint32_t fu_other(const IrNode *n, uint32_t v);
/* x is a constant of the given rank (weights, biases, norm scales). */
bool fu_const(IrGraph *g, uint32_t v, int rank);
/* Replaces the pattern `dead` (whose last node is `last`) by one node: returns it. */
IrNode *fu_replace(IrGraph *g, IrNode *last, IrNode **dead, uint32_t ndead, IrOp op, uint32_t nin, const uint32_t *in);

/* fuse_linear.c, fuse_act.c, fuse_norm.c, fuse_rope.c, fuse_attention.c: each returns how many it fused */
uint32_t fuse_linear(IrGraph *g);
uint32_t fuse_activations(IrGraph *g);
uint32_t fuse_norms(IrGraph *g);
uint32_t fuse_attention(IrGraph *g);
uint32_t fuse_rope(IrGraph *g);
uint32_t fuse_ffn(IrGraph *g);   /* after the activations: act(gate)·up of two Linears -> GatedAct */

#endif
