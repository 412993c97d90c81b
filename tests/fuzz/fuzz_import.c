/* tests/fuzz/fuzz_import.c — libFuzzer target: any bytes through the ONNX importer and the pass pipeline.
 *
 * A bad model must end in diagnostics, never in a crash, a sanitizer report, a leak, a hang or an
 * "internal error" (a compiler bug reported as a diagnostic: the IR verifier, a pass that left a cycle).
 * The diagnostics of each input go to a memory buffer, where this target looks for that phrase and aborts
 * when it finds it, so the fuzzer keeps the input.  Build and run: tests/fuzz/run.sh [SECONDS]. */
#define _GNU_SOURCE   /* open_memstream, memmem */
#include "frontend.h"
#include "passes.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char phrase[] = "internal error";
    /* the verifier between passes, whatever the build type */
    setenv("ML2CANDLE_VERIFY", "1", 1);
    char *diag = NULL;
    size_t diag_len = 0;
    FILE *out = open_memstream(&diag, &diag_len);
    if (!out) abort();
    m2c_diag_set_stream(out);
    m2c_diag_reset("fuzz.onnx");
    IrGraph *g = onnx_import_memory(data, size, "fuzz.onnx", NULL);
    if (g) {
        if (ir_verify(g, "import")) pass_run_pipeline(g, NULL);
        ir_graph_free(g);
    }
    m2c_diag_set_stream(NULL);
    fclose(out);
    /* Names from the model are quoted in the messages: an input that spells the phrase itself proves
     * nothing (and libFuzzer, watching strstr, learns the phrase and tries it). */
    if (diag && strstr(diag, phrase) && !memmem(data, size, phrase, sizeof phrase - 1)) {
        fprintf(stderr, "fuzz_import: a diagnostic reports a compiler bug:\n%s", diag);
        abort();
    }
    free(diag);
    return 0;
}
