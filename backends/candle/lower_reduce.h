/* backends/candle/lower_reduce.h — what the reduction and signal lowerings (lower_reduce*.c,
 * lower_misc*.c) share. */
#ifndef LOWER_REDUCE_H
#define LOWER_REDUCE_H

#include "cg.h"

/* lower_reduce.c */
const char *cg_int_input(CgFn *f, const IrNode *n, uint32_t i, const char *hint, bool as_usize);

/* lower_reduce_softmax.c */
bool cg_lower_softmax(CgFn *f, const IrNode *n);   /* Softmax, LogSoftmax, Hardmax */

#endif
