/* cli/main.c — placeholder entry point until the CLI lands in the next commit. */
#include "m2c.h"
int main(void) { return 0; }
