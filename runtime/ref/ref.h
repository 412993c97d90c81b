/* runtime/ref/ref.h — the reference evaluator: plain C, one node at a time, the oracle for constant folding
 * and for validating generated kernels.
 *
 * ref_eval() computes every output of a node from concrete input tensors with ONNX semantics in the op's
 * newest signature (attributes that later opsets turned into inputs are inputs here), consulting n->opset
 * where the meaning changed (Softmax before 13, Resize 10, Split num_outputs, ...).  Shapes come from the
 * input tensors, never from the values' inferred types.  Float math runs in double and is rounded once to
 * the output type; integer math runs in 64 bits and wraps to the output width; bool is one byte.
 *
 * It never guesses: an op, dtype or attribute combination it does not implement, an input that is invalid
 * for the op (index out of range, shapes that do not broadcast), or a result larger than the caller's
 * limits (bytes of output, steps of work) makes it return false with a one-line reason, before allocating
 * the result or starting the work.
 */
#ifndef REF_H
#define REF_H

#include "ir.h"

enum { REF_WHY_MAX = 200 };
#define REF_MAX_BYTES ((uint64_t)1 << 32)   /* default ceiling on one node's outputs (and scratch): 4 GiB */

typedef struct {
    uint64_t max_bytes;           /* refuse when the outputs together need more; 0: REF_MAX_BYTES */
    double max_work;              /* refuse nodes needing more multiply-adds (or like steps); 0: no limit */
    char why[REF_WHY_MAX];        /* after a false return: why the node was not evaluated */
} RefStatus;

/*
 * ref.c
 *
 * in: n->nin tensors, NULL for an omitted optional input.  out: n->nout slots, filled with tensors allocated
 * in g->arena (an output the node leaves out, n->out[i] == IR_NONE, may still be computed).  st may be NULL.
 * Input data may be unaligned (weights are mmapped): it is only read through memcpy.
 */
bool ref_eval(IrGraph *g, const IrNode *n, const IrTensor *const *in, IrTensor **out, RefStatus *st);

#endif
