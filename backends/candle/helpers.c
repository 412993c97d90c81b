/* backends/candle/helpers.c — the Rust snippets of helpers.def: which are used, and the file they make. */
#include "cg.h"

#include <string.h>

extern const char *const cg_helper_source[];

_Static_assert((int)CG_HELPER_COUNT <= (int)CG_HELPER_COUNT_MAX, "raise CG_HELPER_COUNT_MAX in cg.h");

static const char *const helper_names[CG_HELPER_COUNT] = {
#define HELPER(id, file) file,
#include "helpers.def"
#undef HELPER
};

/* The function a snippet defines is named like its file: round_half_even.rs -> round_half_even. */
const char *cg_helper(CgFn *f, CgHelper h)
{
    f->crate->helpers[h] = true;
    f->crate->any_helper = true;
    const char *file = helper_names[h];
    size_t n = 0;
    while (file[n] && file[n] != '.') n++;
    return m2c_sprintf(f->a, "onnx_ops::%.*s", (int)n, file);
}

void cg_write_helpers(CgCrate *c, CgOut *o)
{
    cg_line(o, "//! Operations ONNX has and candle 0.11 does not, used by the generated model.");
    /* import exactly what the chosen snippets name, so nothing is unused */
    static const char *const names[] = {"DType", "IndexOp", "Result", "Shape", "Tensor", "D", NULL};
    M2cBuf imports = {0};
    int count = 0;
    for (const char *const *nm = names; *nm; nm++) {
        bool used = false;
        for (int h = 0; h < CG_HELPER_COUNT && !used; h++) {
            if (!c->helpers[h]) continue;
            const char *src = cg_helper_source[h];
            size_t n = strlen(*nm);
            for (const char *p = strstr(src, *nm); p && !used; p = strstr(p + 1, *nm)) {
                char before = p == src ? ' ' : p[-1], after = p[n];
                bool ident = (before >= 'a' && before <= 'z') || (before >= 'A' && before <= 'Z') || before == '_' ||
                             (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') || after == '_' ||
                             (after >= '0' && after <= '9');
                used = !ident;
            }
        }
        if (used) m2c_buf_printf(&imports, "%s%s", count++ ? ", " : "", *nm);
    }
    if (count == 1) cg_line(o, "use candle_core::%s;", imports.s);
    else if (count > 1) cg_line(o, "use candle_core::{%s};", imports.s);
    m2c_buf_free(&imports);
    for (int h = 0; h < CG_HELPER_COUNT; h++) {
        if (!c->helpers[h]) continue;
        cg_blank(o);
        /* the marker lets tools merge the helpers of several generated models (tests/conformance) */
        cg_line(o, "// ml2candle helper: %s", helper_names[h]);
        m2c_buf_puts(&o->buf, cg_helper_source[h]);
    }
}
