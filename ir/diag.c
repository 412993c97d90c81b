/* ir/diag.c — diagnostics: one line per problem, in the user's names, all of them before stopping.
 *
 *   model.onnx: node '/encoder/layer.0/attention/Foo' (Foo): unsupported op Foo (domain '', opset 17)
 */
#include "m2c.h"

#include <stdlib.h>

static struct {
    const char *file;
    FILE *out;
    bool quiet;
    int nerrors;
    int printed;
    int exit_code;
} diag = {"ml2candle", NULL, false, 0, 0, 0};

/* Beyond this many lines a broken model would flood the terminal; the count is still reported. */
enum { MAX_PRINTED = 200 };

void m2c_diag_reset(const char *file)
{
    diag.file = file ? file : "ml2candle";
    diag.nerrors = 0;
    diag.printed = 0;
    diag.exit_code = M2C_EXIT_OK;
}

const char *m2c_diag_file(void)
{
    return diag.file;
}

void m2c_diag_set_stream(FILE *f)
{
    diag.out = f;
}

void m2c_diag_quiet(bool quiet)
{
    diag.quiet = quiet;
}

int m2c_error_count(void)
{
    return diag.nerrors;
}

int m2c_exit_code(void)
{
    return diag.exit_code;
}

static void print_line(const char *kind, const SrcLoc *loc, const char *fmt, va_list ap)
{
    if (diag.quiet) return;
    FILE *out = diag.out ? diag.out : stderr;
    if (diag.printed == MAX_PRINTED) fprintf(out, "%s: further diagnostics suppressed\n", diag.file);
    if (diag.printed++ >= MAX_PRINTED) return;
    fprintf(out, "%s: ", diag.file);
    if (kind) fprintf(out, "%s: ", kind);
    if (loc && loc->index >= 0) {
        if (loc->node && loc->node[0])
            fprintf(out, "node '%s' (%s): ", loc->node, loc->op ? loc->op : "?");
        else
            fprintf(out, "node #%d (%s): ", loc->index, loc->op ? loc->op : "?");
    }
    vfprintf(out, fmt, ap);
    fputc('\n', out);
}

void m2c_verror(int code, const SrcLoc *loc, const char *fmt, va_list ap)
{
    diag.nerrors++;
    if (diag.exit_code == M2C_EXIT_OK) diag.exit_code = code;
    print_line(NULL, loc, fmt, ap);
}

void m2c_error(const SrcLoc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2c_verror(M2C_EXIT_INVALID, loc, fmt, ap);
    va_end(ap);
}

void m2c_io_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2c_verror(M2C_EXIT_IO, NULL, fmt, ap);
    va_end(ap);
}

void m2c_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2c_verror(M2C_EXIT_USAGE, NULL, fmt, ap);
    va_end(ap);
}

void m2c_warn(const SrcLoc *loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    print_line("warning", loc, fmt, ap);
    va_end(ap);
}

void m2c_die(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ml2candle: internal error at %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}
