/* frontend/scope_names.c — the PyTorch module a node came from.
 *
 * The dynamo exporter writes node metadata_props `pkg.torch.onnx.name_scopes` and
 * `pkg.torch.onnx.class_hierarchy`, Python reprs of parallel lists: module paths from the root ('') down,
 * then the FX node's own name; classes likewise, ending with the aten op.  The TorchScript exporter only
 * names nodes after the module path: `/encoder/layer.0/attention/self/MatMul`. */
#include "frontend.h"

#include <string.h>

/* A Python repr of a list of str: ['', 'encoder', "it's"]. */
bool onnx_parse_py_list(M2cArena *a, const char *s, const char ***items, uint32_t *n)
{
    M2C_VEC(const char *) out = {0};
    M2cBuf b = {0};
    bool ok = false;
    while (*s == ' ') s++;
    if (*s++ != '[') goto done;
    for (;;) {
        while (*s == ' ' || *s == ',') s++;
        if (*s == ']') {
            ok = s[1] == 0 || s[1] == ' ' || s[1] == '\n';
            break;
        }
        char q = *s;
        if (q != '\'' && q != '"') break;
        s++;
        b.len = 0;
        while (*s && *s != q) {
            char c = *s++;
            if (c == '\\' && *s) {
                c = *s++;
                if (c == 'n') c = '\n';
                else if (c == 't') c = '\t';
                /* \\, \', \" stand for themselves; other escapes are kept literally */
                else if (c != '\\' && c != '\'' && c != '"') m2c_buf_putc(&b, '\\');
            }
            m2c_buf_putc(&b, c);
        }
        if (*s != q) break;
        s++;
        m2c_vec_push(a, &out, m2c_strndup(a, b.s ? b.s : "", b.len));
    }
done:
    m2c_buf_free(&b);
    *items = out.v;
    *n = out.n;
    return ok;
}

/* "layers.0@1" (a module called a second time) -> "layers.0" */
static const char *strip_call_suffix(M2cArena *a, const char *s)
{
    const char *at = strchr(s, '@');
    return at ? m2c_strndup(a, s, (size_t)(at - s)) : s;
}

static bool extends(const char *longer, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(longer, prefix, n) == 0 && longer[n] == '.';
}

void onnx_scope_from_dynamo(M2cArena *a, const char *const *scopes, uint32_t nscopes, const char *const *classes,
                            uint32_t nclasses, const char **path, const char ***prefix_paths,
                            const char ***prefix_classes, uint32_t *nprefix)
{
    *path = "";
    *nprefix = 0;
    if (nscopes < 2) return;   /* only the root, or only the FX node */
    uint32_t nmod = nscopes - 1;   /* the last entry is the FX node, not a module */
    const char **paths = m2c_alloc_array(a, nmod, sizeof *paths);
    const char **cls = m2c_alloc_array(a, nmod, sizeof *cls);
    /* Cumulative lists ('', 'encoder', 'encoder.layer.0') or relative ones ('', 'encoder', 'layer.0')? */
    bool cumulative = true;
    const char *prev = NULL;
    for (uint32_t i = 0; i < nmod; i++) {
        if (!scopes[i][0]) continue;
        if (prev && !extends(scopes[i], prev)) cumulative = false;
        prev = scopes[i];
    }
    uint32_t k = 0;
    const char *acc = "";
    for (uint32_t i = 0; i < nmod; i++) {
        const char *s = strip_call_suffix(a, scopes[i]);
        if (!s[0]) continue;
        acc = cumulative ? s : acc[0] ? m2c_sprintf(a, "%s.%s", acc, s) : s;
        paths[k] = acc;
        cls[k] = i < nclasses ? classes[i] : NULL;
        k++;
    }
    *path = k ? paths[k - 1] : "";
    *prefix_paths = paths;
    *prefix_classes = cls;
    *nprefix = k;
}

/* TorchScript names a called Sequential's children "<attr>.<index>" inside the Sequential's own scope:
 * `/conv_module/sequential/sequential.5/Conv` is the module conv_module.sequential.5. */
const char *onnx_scope_from_torchscript_name(M2cArena *a, const char *name)
{
    if (!name || name[0] != '/') return NULL;
    const char *last = strrchr(name, '/');
    if (last == name) return NULL;   /* "/MatMul": the root module */
    M2cBuf b = {0};
    const char *prev = NULL;
    size_t prev_len = 0;
    for (const char *s = name + 1; s < last;) {
        const char *e = memchr(s, '/', (size_t)(last - s));
        if (!e) e = last;
        size_t n = (size_t)(e - s);
        const char *seg = s;
        size_t seg_len = n;
        if (prev && n > prev_len + 1 && memcmp(s, prev, prev_len) == 0 && s[prev_len] == '.') {
            bool digits = true;
            for (size_t i = prev_len + 1; i < n; i++) digits &= s[i] >= '0' && s[i] <= '9';
            if (digits) {
                seg = s + prev_len + 1;
                seg_len = n - prev_len - 1;
            }
        }
        if (b.len) m2c_buf_putc(&b, '.');
        for (size_t i = 0; i < seg_len; i++) m2c_buf_putc(&b, seg[i] == '/' ? '.' : seg[i]);
        prev = s;
        prev_len = n;
        s = e + 1;
    }
    const char *path = m2c_strndup(a, b.s ? b.s : "", b.len);
    m2c_buf_free(&b);
    return path;
}
