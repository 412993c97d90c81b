/* tests/unit/kir_test.c — runs one kernel-IR grouping test: text IR in, the groups' text form out (QBE style:
 * the expectation sits next to the input).
 *
 *   # what this test shows
 *   ## run: pipeline                 passes before grouping (pass_run_list names, or "pipeline"); default none
 *   ## input
 *   graph g ...
 *   ## expect                        kir_print of every group, in plan order, exactly (trailing blanks ignored)
 *
 * `kir_test FILE --print` prints the groups instead, for writing a new test (review before committing).
 * Every group must also have CUDA C in f32, f16 and bf16 (tests/kernels/run.sh compiles it with NVRTC). */
#include "cuda.h"
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
    s[n] = 0;
    fclose(f);
    return s;
}

static char *section(const char *text, const char *name)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "## %s\n", name);
    const char *s = strstr(text, hdr);
    if (!s) return NULL;
    s += strlen(hdr);
    const char *e = strstr(s, "\n## ");
    size_t n = e ? (size_t)(e - s) + 1 : strlen(s);
    return strndup(s, n);
}

static void normalize(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\n')
            while (w > s && (w[-1] == ' ' || w[-1] == '\t')) w--;
        *w++ = *r;
    }
    while (w > s && (w[-1] == '\n' || w[-1] == ' ')) w--;
    *w = 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: kir_test FILE.test [--print]\n");
        return 2;
    }
    bool print = argc > 2 && strcmp(argv[2], "--print") == 0;
    char *text = read_file(argv[1]);
    char *input = text ? section(text, "input") : NULL, *expect = text ? section(text, "expect") : NULL;
    if (!input || (!expect && !print)) {
        fprintf(stderr, "%s: needs '## input' and '## expect'\n", argv[1]);
        return 2;
    }
    char *run = NULL;
    const char *r = strstr(text, "## run:");
    if (r) {
        r += 7;
        while (*r == ' ') r++;
        run = strndup(r, strcspn(r, "\n"));
    }
    m2c_diag_reset(argv[1]);
    IrGraph *g = ir_parse(input, argv[1]);
    bool ok = g != NULL;
    if (ok && run) ok = strcmp(run, "pipeline") == 0 ? pass_run_pipeline(g, NULL) : pass_run_list(g, run);
    int status = 0;
    if (!ok || m2c_error_count()) {
        fprintf(stderr, "%s: the input did not parse or the passes failed\n", argv[1]);
        status = 1;
    } else {
        KirPlan plan;
        kir_plan(g, &plan);
        M2cBuf out = {0};
        for (uint32_t i = 0; i < plan.groups.n; i++) {
            kir_print(g, &plan.groups.v[i], &out);
            M2cBuf src = {0};
            CudaLaunch l;
            /* every group must have CUDA, in every dtype */
            for (int t = 0; t < 3; t++) {
                KirGroup k = plan.groups.v[i];
                if (t) kir_retype(&k, t == 1 ? DT_F16 : DT_BF16);
                src.len = 0;
                if (!cuda_emit(g, &k, &src, &l)) {
                    fprintf(stderr, "%s: %s has no CUDA\n", argv[1], k.name);
                    status = 1;
                }
            }
            m2c_buf_free(&src);
        }
        if (!out.s) out.s = calloc(1, 1);
        if (print) {
            fputs(out.s, stdout);
        } else {
            normalize(out.s);
            normalize(expect);
            if (strcmp(out.s, expect) != 0) {
                fprintf(stderr, "%s: groups differ\n--- expected:\n%s\n--- got:\n%s\n", argv[1], expect, out.s);
                status = 1;
            }
        }
        m2c_buf_free(&out);
    }
    if (g) ir_graph_free(g);
    free(text), free(input), free(expect), free(run);
    return status;
}
