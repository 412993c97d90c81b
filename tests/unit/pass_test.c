/* tests/unit/pass_test.c — runs one text-IR pass test (QBE style: the expectation sits next to the input).
 *
 *   # what this test shows
 *   ## run: infer,fold,dce          passes to run, in order (pass_run_list), or "pipeline"
 *   ## input
 *   graph g
 *   ...
 *   ## expect                        the printed IR after the passes, exactly (trailing blanks ignored)
 *   ...
 *   ## expect-error                  or: each line must appear in the diagnostics, and the run must fail
 *   ...
 */
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

/* The text of section `name` (up to the next "## "), or NULL. */
static char *section(const char *text, const char *name)
{
    char hdr[64];
    snprintf(hdr, sizeof hdr, "## %s\n", name);
    const char *s = strstr(text, hdr);
    if (!s) return NULL;
    s += strlen(hdr);
    const char *e = strstr(s, "\n## ");
    size_t n = e ? (size_t)(e - s) + 1 : strlen(s);
    char *out = malloc(n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

/* Trailing blanks on each line and trailing empty lines do not count. */
static void normalize(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (*r == '\n') {
            while (w > s && (w[-1] == ' ' || w[-1] == '\t')) w--;
        }
        *w++ = *r;
    }
    while (w > s && (w[-1] == '\n' || w[-1] == ' ')) w--;
    *w = 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pass_test FILE.test\n");
        return 2;
    }
    char *text = read_file(argv[1]);
    if (!text) {
        fprintf(stderr, "%s: cannot read\n", argv[1]);
        return 2;
    }
    char *run = NULL;
    const char *r = strstr(text, "## run:");
    if (r) {
        r += 7;
        while (*r == ' ') r++;
        const char *e = strchr(r, '\n');
        run = strndup(r, e ? (size_t)(e - r) : strlen(r));
    }
    char *input = section(text, "input");
    char *expect = section(text, "expect");
    char *expect_err = section(text, "expect-error");
    if (!input || (!expect && !expect_err)) {
        fprintf(stderr, "%s: needs '## input' and '## expect' or '## expect-error'\n", argv[1]);
        return 2;
    }
    FILE *diag = tmpfile();
    m2c_diag_reset(argv[1]);
    m2c_diag_set_stream(diag);
    IrGraph *g = ir_parse(input, argv[1]);
    bool ok = g != NULL;
    if (ok && run) ok = strcmp(run, "pipeline") == 0 ? pass_run_pipeline(g, NULL) : pass_run_list(g, run);
    ok = ok && m2c_error_count() == 0;
    fflush(diag);
    fseek(diag, 0, SEEK_SET);
    char errs[65536];
    size_t ne = fread(errs, 1, sizeof errs - 1, diag);
    errs[ne] = 0;
    int status = 0;
    if (expect_err) {
        if (ok) {
            fprintf(stderr, "%s: expected an error, the passes succeeded\n", argv[1]);
            status = 1;
        }
        for (char *line = strtok(expect_err, "\n"); line; line = strtok(NULL, "\n")) {
            if (!strstr(errs, line)) {
                fprintf(stderr, "%s: expected diagnostic not found: %s\n--- got:\n%s", argv[1], line, errs);
                status = 1;
            }
        }
    } else if (!ok) {
        fprintf(stderr, "%s: passes failed:\n%s", argv[1], errs);
        status = 1;
    } else {
        M2cBuf out = {0};
        ir_print(g, &out);
        normalize(out.s);
        normalize(expect);
        if (strcmp(out.s, expect) != 0) {
            fprintf(stderr, "%s: output differs\n--- expected:\n%s\n--- got:\n%s\n", argv[1], expect, out.s);
            status = 1;
        }
        m2c_buf_free(&out);
    }
    ir_graph_free(g);
    free(text), free(run), free(input), free(expect), free(expect_err);
    fclose(diag);
    return status;
}
