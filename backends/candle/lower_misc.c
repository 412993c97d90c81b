/* backends/candle/lower_misc.c — signal processing (DFT, STFT) and Col2Im. */
#include "cg.h"

bool cg_lower_misc(CgFn *f, const IrNode *n)
{
    switch (n->op) {
    default:
        return cg_unsupported(f, n, "not lowered to Candle yet");
    }
}
