/* passes/scope.c — the module tree read off the scopes: which modules repeat (ModuleList blocks), so
 * reports can say "encoder.layer ×12 (BertLayer)" and the Candle backend can emit one struct in a Vec. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

const char *pass_scope_short_class(const char *cls)
{
    if (!cls) return NULL;
    const char *dot = strrchr(cls, '.');
    return dot ? dot + 1 : cls;
}

/* "encoder.layer.3" -> prefix length of "encoder.layer", index 3; false if the last segment is no index */
static bool split_index(const char *path, size_t *prefix_len, long *index)
{
    const char *dot = strrchr(path, '.');
    const char *seg = dot ? dot + 1 : path;
    if (!*seg) return false;
    for (const char *s = seg; *s; s++)
        if (*s < '0' || *s > '9') return false;
    if (strlen(seg) > 6) return false;
    *prefix_len = dot ? (size_t)(dot - path) : 0;
    *index = strtol(seg, NULL, 10);
    return true;
}

static int cmp_layers(const void *a, const void *b)
{
    return strcmp(((const ScopeLayers *)a)->path, ((const ScopeLayers *)b)->path);
}

uint32_t pass_scope_layers(IrGraph *g, ScopeLayers **out)
{
    M2C_VEC(ScopeLayers) layers = {0};
    /* A scope can only be a repeated block if some node lives in it or below it. */
    bool *used = m2c_alloc(g->arena, g->scopes.n);
    for (uint32_t n = 0; n < g->nodes.n; n++)
        if (!g->nodes.v[n].dead)
            for (IrScopeId s = g->nodes.v[n].scope; s; s = g->scopes.v[s].parent) used[s] = true;
    for (uint32_t s = 1; s < g->scopes.n; s++) {
        size_t plen;
        long idx;
        const IrScope *sc = &g->scopes.v[s];
        if (!used[s] || !split_index(sc->path, &plen, &idx) || idx != 0 || plen == 0) continue;
        /* sc is "<prefix>.0": count the siblings <prefix>.1, <prefix>.2, ... present without gaps */
        const char *prefix = m2c_strndup(g->arena, sc->path, plen);
        uint32_t count = 1;
        for (;; count++) {
            uint32_t id;
            const char *sib = m2c_sprintf(g->arena, "%s.%u", prefix, count);
            if (!m2c_map_get(&g->scope_by_path, sib, &id) || !used[id]) break;
        }
        if (count < 2) continue;
        ScopeLayers l = {prefix, count, pass_scope_short_class(sc->cls)};
        m2c_vec_push(g->arena, &layers, l);
    }
    if (layers.n) qsort(layers.v, layers.n, sizeof *layers.v, cmp_layers);
    *out = layers.v;
    return layers.n;
}
