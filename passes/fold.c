/* passes/fold.c — placeholder so the tree links while constant folding is being written. */
#include "passes.h"
bool pass_fold(IrGraph *g) { (void)g; return false; }
