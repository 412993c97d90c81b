/* passes/pipeline.c — the pass pipeline as a readable straight list (QBE's func()). */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

static bool pass_kv(IrGraph *g)
{
    PassKvInfo info;
    return pass_kv_cache(g, &info, true);   /* inspect reports why not, when not */
}

const PassInfo pass_list[] = {
    {"infer", pass_infer},
    {"fold", pass_fold},
    {"dce", pass_dce},
    {"canon", pass_canon},
    {"fuse", pass_fuse},
    {"tidy", pass_collapse_reshapes},
    {"kv", pass_kv},
    {NULL, NULL},
};

static bool fusion_on = true;


void pass_set_fusion(bool on)
{
    fusion_on = on;
}

/* Folding a shape idiom can make the next one foldable; real models settle in two or three rounds. */
enum { MAX_FOLD_ROUNDS = 16 };

const PassInfo *pass_find(const char *name)
{
    for (const PassInfo *p = pass_list; p->name; p++)
        if (strcmp(p->name, name) == 0) return p;
    return NULL;
}

static bool verify_enabled(void)
{
#ifdef M2C_VERIFY_PASSES
    return true;
#else
    const char *e = getenv("ML2CANDLE_VERIFY");
    return e && e[0] == '1';
#endif
}

/* One pass, then the recomputed order; false if the pass reported an error or broke the IR. */
static bool run_one(IrGraph *g, const PassInfo *p, bool *changed)
{
    int before = m2c_error_count();
    bool c = p->run(g);
    if (changed) *changed = c;
    if (m2c_error_count() != before) return false;
    if (!ir_compact(g)) {
        m2c_error(NULL, "internal error: pass %s left a cycle in the graph", p->name);
        return false;
    }
    if (verify_enabled() && !ir_verify(g, p->name)) return false;
    return true;
}

bool pass_run_pipeline(IrGraph *g, const char *stop_after)
{
    if (stop_after && !pass_find(stop_after)) {
        m2c_error(NULL, "unknown pass '%s'", stop_after);
        return false;
    }
#define STOP_AFTER(name) (stop_after && strcmp(stop_after, name) == 0)
    if (!run_one(g, pass_find("infer"), NULL)) return false;
    if (STOP_AFTER("infer")) return true;
    for (int round = 0; round < MAX_FOLD_ROUNDS; round++) {
        bool changed = false;
        if (!run_one(g, pass_find("fold"), &changed)) return false;
        if (!changed) break;
        if (!run_one(g, pass_find("infer"), NULL)) return false;
    }
    if (STOP_AFTER("fold")) return true;
    if (!run_one(g, pass_find("dce"), NULL)) return false;
    if (STOP_AFTER("dce")) return true;
    bool changed = false;
    if (!run_one(g, pass_find("canon"), &changed)) return false;
    if (changed && !run_one(g, pass_find("infer"), NULL)) return false;
    if (changed && !run_one(g, pass_find("dce"), NULL)) return false;
    if (STOP_AFTER("canon")) return true;
    if (fusion_on) {
        /* fusions replace patterns by the ops they compute: shapes are inferred again, leftovers removed */
        if (!run_one(g, pass_find("fuse"), &changed)) return false;
        if (changed && !run_one(g, pass_find("infer"), NULL)) return false;
        if (changed && !run_one(g, pass_find("dce"), NULL)) return false;
    }
    if (STOP_AFTER("fuse")) return true;
    if (!run_one(g, pass_find("tidy"), &changed)) return false;
    if (changed && !run_one(g, pass_find("dce"), NULL)) return false;
    /* the KV cache is the crate writer's choice (pass_kv_cache); `inspect --after kv` shows it */
    if (STOP_AFTER("kv") && run_one(g, pass_find("kv"), &changed) && changed) {
        if (!run_one(g, pass_find("infer"), NULL)) return false;
        if (!run_one(g, pass_find("dce"), NULL)) return false;
    }
    return true;
#undef STOP_AFTER
}

bool pass_run_list(IrGraph *g, const char *names)
{
    const char *s = names;
    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char name[64];
        if (n >= sizeof name) n = sizeof name - 1;
        memcpy(name, s, n);
        name[n] = 0;
        const PassInfo *p = pass_find(name);
        if (!p) {
            m2c_error(NULL, "unknown pass '%s'", name);
            return false;
        }
        if (!run_one(g, p, NULL)) return false;
        s += n;
        if (*s == ',') s++;
    }
    return true;
}
