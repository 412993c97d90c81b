/* backends/candle/kernels.c — `--kernels`: the model's fused groups as kernels inside the crate.
 *
 * The kernel IR's plan (backends/kir) gives one kernel per fused group; a target (kernels_cuda.c for
 * `--kernels cuda`, kernels_cpu.c for `--kernels cpu`) writes each as source text and compiles it now, at
 * conversion time.  Groups whose source
 * is the same but for the kernel's name (the same block in every layer) share one kernel.  src/fused.rs
 * holds a `Kernel` constant per kernel and the launcher; each group the model's code can replace as a whole
 * becomes, where its last node was,
 *
 *   let y = if fused::enabled(&x) { fused::LAYERNORM_1.launch(&[&x, ...])? } else { <the plain code> };
 *
 * so a device the kernels are not for, and a build without them, run exactly the candle code they ran before.
 * A group is replaced only where the function computes all of it (its own nodes and candle_nn layers it
 * calls, not the inside of another struct of ours), and only groups that fuse something (a lone elementwise
 * op or a Linear with its bias alone is one candle op already).  The plain code of the group's other nodes moves into the
 * `else` branch: nothing outside the group reads their values (the planner's rule).
 *
 * This file is the part every target shares: the plan, sharing, the call sites. */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

/* --- the plan ------------------------------------------------------------------------------------------- */

/* The dtypes a kernel argument may have: candle holds them as the kernel reads them (bool as U8). */
static bool arg_dtype_ok(IrDType t, bool output)
{
    if (output) return t == DT_F32 || t == DT_BOOL;
    return t == DT_F32 || t == DT_BOOL || t == DT_U8 || t == DT_I32 || t == DT_I64;
}

/* Whether group k is worth a kernel of its own in the crate, and the crate can launch it. */
static bool group_wanted(IrGraph *g, const KirGroup *k)
{
    if (k->nodes.n == 1 && (k->kind == KIR_ELTWISE || k->kind == KIR_EPILOGUE)) return false;
    for (uint32_t i = 0; i < k->args.n; i++)
        if (!arg_dtype_ok(k->args.v[i].dtype, k->args.v[i].use == KIR_ARG_OUTPUT)) return false;
    (void)g;
    return true;
}

/* src with every occurrence of the identifier name replaced by '@' */
static char *mask_name(const char *src, const char *name)
{
    M2cBuf b = {0};
    size_t n = strlen(name);
    for (const char *p = src; *p;) {
        const char *q = strstr(p, name);
        if (!q) {
            m2c_buf_puts(&b, p);
            break;
        }
        char after = q[n];
        bool ident = (after >= 'a' && after <= 'z') || (after >= 'A' && after <= 'Z') || (after >= '0' && after <= '9') ||
                     after == '_';
        m2c_buf_printf(&b, "%.*s%s", (int)(q - p), p, ident ? name : "@");
        p = q + n;
    }
    char *s = strdup(b.s ? b.s : "");
    m2c_buf_free(&b);
    return s;
}

/* What groups sharing a kernel must have in common: the source but for the name, and how the call site
 * finds the sizes and the output's shape (src/fused.rs's constant).  The same row kernel serves (20, batch,
 * 32) and (batch, 20, 32) alike, but the two read `batch` off different axes of their input. */
static char *share_key(IrGraph *g, const KirGroup *k, const char *src)
{
    char *masked = mask_name(src, k->name);
    M2cBuf b = {0};
    m2c_buf_puts(&b, masked);
    free(masked);
    m2c_buf_puts(&b, "\n/* sizes:");
    for (uint32_t i = 0; i < k->syms.n; i++) m2c_buf_printf(&b, " %d.%d", k->syms.v[i].arg, k->syms.v[i].axis);
    m2c_buf_puts(&b, "; out:");
    const KirArg *out = &k->args.v[k->args.n - 1];
    for (int i = 0; i < out->rank; i++) {
        m2c_buf_putc(&b, ' ');
        ir_dim_print(g, out->dims[i], &b);
    }
    m2c_buf_puts(&b, " */");
    char *s = strdup(b.s);
    m2c_buf_free(&b);
    return s;
}

static const char *const_name(M2cArena *a, const char *kernel)
{
    const char *s = strncmp(kernel, "m2c_", 4) == 0 ? kernel + 4 : kernel;
    char *u = m2c_strdup(a, s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    return u;
}

bool cg_kernels_prepare(CgCrate *c)
{
    IrGraph *g = c->g;
    if (c->opt->kernels == CG_KERNELS_NONE) return true;
    CgKernels *K = calloc(1, sizeof *K);
    c->kernels = K;
    K->target = c->opt->kernels;
    K->crate = c->name;
    bool cpu = K->target == CG_KERNELS_CPU;
    /* the CPU target compiles when the crate is written: one library of the kernels the model's code uses */
    if (!(cpu ? cg_cpu_kernels_init(K) : cg_cuda_kernels_init(K))) return false;
    kir_plan(g, &K->plan);
    K->group_of_node = calloc(g->nodes.n + 1, sizeof *K->group_of_node);
    K->kernel_of = malloc((K->plan.groups.n + 1) * sizeof *K->kernel_of);
    K->replaced = calloc(K->plan.groups.n + 1, sizeof *K->replaced);
    bool ok = true;
    for (uint32_t i = 0; i < K->plan.groups.n && ok; i++) {
        const KirGroup *k = &K->plan.groups.v[i];
        K->kernel_of[i] = UINT32_MAX;
        for (uint32_t j = 0; j < k->nodes.n; j++) K->group_of_node[k->nodes.v[j]] = i + 1;
        if (!group_wanted(g, k)) continue;
        CgKernel kn = {0};
        if (!cg_cuda_kernel_source(g, k, &kn)) continue;
        char *key = share_key(g, k, kn.src);
        uint32_t found = UINT32_MAX;
        for (uint32_t j = 0; j < K->kernels.n && found == UINT32_MAX; j++)
            if (strcmp(K->kernels.v[j].key, key) == 0) found = j;
        if (found != UINT32_MAX) {
            K->kernel_of[i] = found;
            free(key);
            free(kn.src);
            continue;
        }
        kn.name = k->name;
        kn.cname = const_name(g->arena, k->name);
        kn.group = i;
        kn.key = m2c_strdup(g->arena, key);
        free(key);
        ok = cpu || cg_cuda_kernel_compile(K, &kn);
        K->kernel_of[i] = K->kernels.n;
        m2c_vec_push(g->arena, &K->kernels, kn);
    }
    if (!cpu) cg_cuda_kernels_done(K);
    return ok;
}

void cg_kernels_free(CgCrate *c)
{
    CgKernels *K = c->kernels;
    if (!K) return;
    for (uint32_t i = 0; i < K->kernels.n; i++) {
        free(K->kernels.v[i].src);
        free(K->kernels.v[i].bin[0]);
        free(K->kernels.v[i].bin[1]);
    }
    free(K->group_of_node);
    free(K->kernel_of);
    free(K->replaced);
    free(K);
    c->kernels = NULL;
}

/* --- call sites ---------------------------------------------------------------------------------------- */

enum { ROLE_PLAIN, ROLE_MEMBER, ROLE_ROOT };

struct CgSites {
    const CgItem *items;
    uint32_t n;
    uint8_t *role;             /* per item */
    uint32_t *group;           /* per item: the group it belongs to (member or root) */
    uint32_t *item_of_node;    /* per node: the item computing it, UINT32_MAX if none */
};

/* Which items a group replaces: every node of the group is an own node or inside a candle_nn layer all of
 * whose nodes are the group's; the item holding the root comes last (the items are in dependency order). */
CgSites *cg_kernel_sites(CgFn *f, const CgItem *items, uint32_t n)
{
    CgKernels *K = f->crate->kernels;
    if (!K || !K->kernels.n) return NULL;
    IrGraph *g = f->g;
    CgSites *s = calloc(1, sizeof *s);
    s->items = items;
    s->n = n;
    s->role = calloc(n + 1, 1);
    s->group = calloc(n + 1, sizeof *s->group);
    s->item_of_node = malloc((g->nodes.n + 1) * sizeof *s->item_of_node);
    memset(s->item_of_node, 0xff, (g->nodes.n + 1) * sizeof *s->item_of_node);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < items[i].nnodes; j++) s->item_of_node[items[i].nodes[j]] = i;
    for (uint32_t gi = 0; gi < K->plan.groups.n; gi++) {
        if (K->kernel_of[gi] == UINT32_MAX) continue;
        const KirGroup *k = &K->plan.groups.v[gi];
        uint32_t root_item = s->item_of_node[k->root];
        bool ok = root_item != UINT32_MAX;
        for (uint32_t j = 0; j < k->nodes.n && ok; j++) {
            uint32_t it = s->item_of_node[k->nodes.v[j]];
            ok = it != UINT32_MAX && it <= root_item && s->role[it] == ROLE_PLAIN;
            for (uint32_t m = 0; ok && items[it].leaf && m < items[it].nnodes; m++)
                ok = K->group_of_node[items[it].nodes[m]] == gi + 1;
        }
        if (!ok) continue;
        for (uint32_t j = 0; j < k->nodes.n; j++) {
            uint32_t it = s->item_of_node[k->nodes.v[j]];
            s->role[it] = it == root_item ? ROLE_ROOT : ROLE_MEMBER;
            s->group[it] = gi;
        }
    }
    return s;
}

bool cg_kernel_member(const CgSites *s, uint32_t item)
{
    return s && s->role[item] == ROLE_MEMBER;
}

bool cg_kernel_root(const CgSites *s, uint32_t item)
{
    return s && s->role[item] == ROLE_ROOT;
}

void cg_kernel_sites_free(CgSites *s)
{
    if (!s) return;
    free(s->role);
    free(s->group);
    free(s->item_of_node);
    free(s);
}

/* The leaf item among the group's items whose parameter v is (weight or bias), or NULL. */
static const CgItem *leaf_of_param(const CgSites *s, uint32_t gi, uint32_t v)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->items[i].leaf && s->role[i] != ROLE_PLAIN && s->group[i] == gi &&
            (s->items[i].weight == v || s->items[i].bias == v))
            return &s->items[i];
    return NULL;
}

/* Whether the function can spell symbol sym (a size the kernel takes that no input has as a dim). */
static bool sym_available(CgFn *f, const char *sym)
{
    if (f->collect_missing) return true;
    for (uint32_t i = 0; i < f->syms.n; i++)
        if (strcmp(f->syms.v[i].name, sym) == 0) return true;
    return false;
}

/* The fused branch: statements it needs first (the GEMM of an epilogue) and the launch expression. */
static bool fused_branch(CgFn *f, CgSites *s, uint32_t gi, M2cBuf *pre, const char **launch, const char **first,
                         bool uses[2])
{
    CgKernels *K = f->crate->kernels;
    IrGraph *g = f->g;
    const KirGroup *k = &K->plan.groups.v[gi];
    const CgKernel *kn = &K->kernels.v[K->kernel_of[gi]];
    uint32_t nin = k->args.n - 1;
    for (uint32_t i = 0; i < k->syms.n; i++) {
        const KirSym *sym = &k->syms.v[i];
        if ((sym->arg < 0 || (uint32_t)sym->arg >= nin) && !sym_available(f, sym->name)) return false;
    }
    M2cBuf args = {0}, given = {0};
    *first = NULL;
    for (uint32_t i = 0; i < nin; i++) {
        const KirArg *a = &k->args.v[i];
        const char *r;
        if (a->src == KIR_SRC_GEMM_ACC) {
            /* x·Wᵀ by candle's GEMM (cuBLAS); the kernel adds the bias and the rest */
            const IrNode *lin = ir_node(g, a->node);
            const CgItem *leaf = leaf_of_param(s, gi, lin->in[1]);
            const char *w;
            if (leaf) w = m2c_sprintf(f->a, "%s.weight()", leaf->leaf);
            else if (ir_attr_int(lin, "trans_w", 1)) w = cg_ref(f, lin->in[1]);
            else w = m2c_sprintf(f->a, "&%s.t()?", cg_v(f, lin->in[1]));
            const char *x = cg_ref(f, lin->in[0]);
            const char *prod = cg_fresh(f, "product");
            m2c_buf_printf(pre, "let %s = fused::linear_product(%s, %s)?;\n", prod, x, w);
            uses[0] = true;
            if (!*first) *first = x;
            r = m2c_sprintf(f->a, "&%s", prod);
        } else {
            const CgItem *leaf = leaf_of_param(s, gi, a->value);
            if (leaf && leaf->weight == a->value) r = m2c_sprintf(f->a, "%s.weight()", leaf->leaf);
            else if (leaf) r = m2c_sprintf(f->a, "fused::bias(%s.bias())?", leaf->leaf), uses[1] = true;
            else r = cg_ref(f, a->value);
            if (!*first && !leaf) *first = r;
        }
        m2c_buf_printf(&args, "%s%s", i ? ", " : "", r);
    }
    for (uint32_t i = 0; i < k->syms.n; i++) {
        const KirSym *sym = &k->syms.v[i];
        if (sym->arg >= 0 && (uint32_t)sym->arg < nin) continue;
        m2c_buf_printf(&given, "%s%s", given.len ? ", " : "", cg_dim(f, ir_dim_sym(g, sym->name)));
    }
    if (given.len)
        *launch = m2c_sprintf(f->a, "fused::%s.launch_with(&[%s], &[%s])?", kn->cname, args.s ? args.s : "", given.s);
    else
        *launch = m2c_sprintf(f->a, "fused::%s.launch(&[%s])?", kn->cname, args.s ? args.s : "");
    m2c_buf_free(&args);
    m2c_buf_free(&given);
    return *first != NULL;
}

/* "let NAME = EXPR;" as the last line of text: the offset of that line and of EXPR, or false. */
static bool last_let(const char *text, size_t len, const char *name, size_t *line, size_t *expr)
{
    if (len < 2 || text[len - 1] != '\n' || text[len - 2] != ';') return false;
    size_t b = len - 1;
    while (b > 0 && text[b - 1] != '\n') b--;
    size_t p = b;
    while (text[p] == ' ') p++;
    size_t n = strlen(name);
    if (strncmp(text + p, "let ", 4) != 0 || strncmp(text + p + 4, name, n) != 0 || strncmp(text + p + 4 + n, " = ", 3) != 0)
        return false;
    *line = b;
    *expr = p + 7 + n;
    return true;
}

/* The op types of a group's nodes, for a comment: "Add, LayerNormalization". */
const char *cg_kernel_group_ops(IrGraph *g, const KirGroup *k)
{
    M2cBuf b = {0};
    for (uint32_t i = 0; i < k->nodes.n; i++) {
        const IrNode *n = ir_node(g, k->nodes.v[i]);
        const char *op = n->op_type ? n->op_type : ir_op_name(n->op);
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++) {
            const IrNode *m = ir_node(g, k->nodes.v[j]);
            seen = strcmp(m->op_type ? m->op_type : ir_op_name(m->op), op) == 0;
        }
        if (!seen) m2c_buf_printf(&b, "%s%s", b.len ? ", " : "", op);
    }
    const char *s = m2c_strdup(g->arena, b.s ? b.s : "");
    m2c_buf_free(&b);
    return s;
}

void cg_kernel_emit(CgFn *f, CgSites *s, uint32_t item, CgItemEmit emit, void *ctx)
{
    CgKernels *K = f->crate->kernels;
    IrGraph *g = f->g;
    uint32_t gi = s->group[item];
    const KirGroup *k = &K->plan.groups.v[gi];
    /* the fused branch first: what it reads is defined before the `if`, in scope for both branches */
    M2cBuf pre = {0};
    const char *launch = NULL, *first = NULL;
    CgOut *outer = f->o;
    bool uses[2] = {false, false};
    bool fused = fused_branch(f, s, gi, &pre, &launch, &first, uses);
    /* the plain code of the group's items, in their order, for the else branch */
    uint32_t nv = g->values.n;
    const char **refs = malloc((nv + 1) * sizeof *refs);
    memcpy(refs, f->ref, nv * sizeof *refs);
    M2cMap prepared = f->prepared;   /* tables a lowering prepares once per function (rope's cos/sin) */
    uint32_t nprepared = f->prepared_names.n;
    if (prepared.cap) {
        prepared.keys = m2c_alloc_array(f->a, prepared.cap, sizeof *prepared.keys);
        prepared.vals = m2c_alloc_array(f->a, prepared.cap, sizeof *prepared.vals);
        memcpy(prepared.keys, f->prepared.keys, prepared.cap * sizeof *prepared.keys);
        memcpy(prepared.vals, f->prepared.vals, prepared.cap * sizeof *prepared.vals);
    }
    CgOut plain = {{0}, outer->indent};
    f->o = fused ? &plain : outer;
    for (uint32_t i = 0; i <= item; i++)
        if (s->role[i] != ROLE_PLAIN && s->group[i] == gi) emit(f, i, fused, ctx);
    f->o = outer;
    uint32_t root_v = ir_node(g, k->root)->out[0];
    const char *name = f->ref[root_v];
    size_t line = 0, expr = 0;
    if (fused && (!name || !last_let(plain.buf.s ? plain.buf.s : "", plain.buf.len, name, &line, &expr)))
        fused = false;
    if (!fused) {
        /* the plain code as it is (the root's value is no let of its own) */
        if (plain.buf.s) m2c_buf_puts(&outer->buf, plain.buf.s);
        for (uint32_t i = 0; i < k->nodes.n; i++) cg_fn_bind_outputs(f, ir_node(g, k->nodes.v[i]));
    } else {
        const CgKernel *kn = &K->kernels.v[K->kernel_of[gi]];
        cg_comment(f, "%s on CUDA: %s in one kernel", kn->name, cg_kernel_group_ops(g, k));
        cg_stmt(f, "let %s = if fused::enabled(%s) {", name, first);
        for (const char *p = pre.s; p && *p;) {
            const char *e = strchr(p, '\n');
            cg_stmt(f, "    %.*s", (int)(e - p), p);
            p = e + 1;
        }
        cg_stmt(f, "    %s", launch);
        cg_stmt(f, "} else {");
        /* the plain lines, one level deeper; the root's let becomes the branch's value */
        for (size_t p = 0; p < line;) {
            const char *e = strchr(plain.buf.s + p, '\n');
            size_t n = (size_t)(e - (plain.buf.s + p));
            if (n) m2c_buf_puts(&outer->buf, "    ");
            m2c_buf_printf(&outer->buf, "%.*s\n", (int)n, plain.buf.s + p);
            p += n + 1;
        }
        cg_stmt(f, "    %.*s", (int)(plain.buf.len - 2 - expr), plain.buf.s + expr);
        cg_stmt(f, "};");
        /* locals of the else branch are gone after it: a later use defines them again */
        for (uint32_t v = 0; v < nv; v++)
            if (v != root_v && f->ref[v] != refs[v] && f->refkind[v] == REF_LOCAL) {
                f->ref[v] = refs[v];
                if (!refs[v]) f->refkind[v] = REF_NONE;
            }
        f->prepared = prepared;
        f->prepared_names.n = nprepared;
        cg_fn_bind_outputs(f, ir_node(g, k->root));
        K->kernels.v[K->kernel_of[gi]].used = true;
        K->replaced[gi] = true;
        K->linear_product |= uses[0];
        K->bias |= uses[1];
    }
    free(refs);
    m2c_buf_free(&plain.buf);
    m2c_buf_free(&pre);
}

/* --- the target's files -------------------------------------------------------------------------------- */

const char *cg_kernels_rust(CgCrate *c)
{
    if (!c->kernels) return NULL;
    if (c->kernels->target == CG_KERNELS_CPU) return cg_cpu_kernels_rust(c->kernels, c->g);
    return cg_cuda_kernels_rust(c->kernels, c->g);
}

bool cg_kernels_write(CgCrate *c, const char *dir)
{
    if (!c->kernels) return true;
    if (c->kernels->target == CG_KERNELS_CPU) return cg_cpu_kernels_write(c->kernels, c->g, dir);
    return cg_cuda_kernels_write(c->kernels, c->g, dir);
}

const char *cg_kernels_summary(CgCrate *c)
{
    if (!c->kernels) return NULL;
    if (c->kernels->target == CG_KERNELS_CPU) return cg_cpu_kernels_summary(c->kernels, c->g);
    return cg_cuda_kernels_summary(c->kernels, c->g);
}
