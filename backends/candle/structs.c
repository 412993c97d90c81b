/* backends/candle/structs.c — src/model.rs from the module tree: one struct per module type.
 *
 * Instances are generated children first.  Each instance's code (fields, new, forward) is written with names
 * relative to the instance; the first instance with a given code defines a type, and later instances with
 * the same code reuse it.  The struct a ModuleList holds is a Vec built in a loop, and a chain of its layers
 * (each feeding the next) is a for loop, as in candle-transformers. */
#include "modules.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    CgCrate *c;
    ModTree *t;
    IrGraph *g;
    M2C_VEC(Mod *) types;      /* first instance of each type, in definition order */
    M2cMap const_names;        /* constants already stored */
} Gen;

static const char *vec_elem_new(Gen *G, const Mod *m, const char *vb);
static const char *type_base_name(Gen *G, Mod *m);

static const char *last_segment_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot ? dot + 1 : path;
}

/* --- weights ------------------------------------------------------------------------------------------- */

/* Registers a tensor under its safetensors name once; a Linear weight given as (in, out) is stored
 * transposed, as PyTorch's state_dict has it. */
static void store(Gen *G, const char *name, const IrTensor *t, bool transposed)
{
    CgCrate *c = G->c;
    if (m2c_map_get(&c->st_names, name, NULL)) return;
    m2c_map_put(c->g->arena, &c->st_names, name, 1);
    CgStTensor s = {name, t, transposed};
    m2c_vec_push(c->g->arena, &c->st, s);
}

static const char *join(M2cArena *a, const char *path, const char *name)
{
    return path[0] ? m2c_sprintf(a, "%s.%s", path, name) : name;
}

static const char *shape_lit(M2cArena *a, const IrTensor *t, bool transposed)
{
    M2cBuf b = {0};
    m2c_buf_puts(&b, "(");
    for (int k = 0; k < t->rank; k++) {
        int64_t d = transposed && t->rank == 2 ? t->shape[1 - k] : t->shape[k];
        m2c_buf_printf(&b, "%s%lld", k ? ", " : "", (long long)d);
    }
    m2c_buf_puts(&b, t->rank == 1 ? ",)" : ")");
    const char *s = m2c_strdup(a, b.s);
    m2c_buf_free(&b);
    return s;
}

/* --- one instance -------------------------------------------------------------------------------------- */

static const char *child_field(Gen *G, const Mod *ch)
{
    if (ch->field && ch->index < 0) return cg_snake(G->g->arena, ch->field);
    if (ch->field) return cg_snake(G->g->arena, ch->field);
    return m2c_sprintf(G->g->arena, "m%d", ch->index);
}

/* Is ch part of a Vec field of its parent: all numbered siblings of that list share one type? */
static bool in_vec(const Mod *ch)
{
    if (ch->index < 0 || !ch->field) return false;
    const Mod *p = ch->parent;
    for (uint32_t i = 0; i < p->children.n; i++) {
        const Mod *s = p->children.v[i];
        if (s->field && strcmp(s->field, ch->field) == 0 && s->type_rep != ch->type_rep) return false;
    }
    return true;
}

/* How the parent refers to a child: self.query, self.layer[3], self.layer_3 */
static const char *child_ref(Gen *G, const Mod *ch)
{
    const char *f = child_field(G, ch);
    if (ch->index >= 0 && ch->field) {
        if (in_vec(ch)) return m2c_sprintf(G->g->arena, "self.%s[%d]", f, ch->index);
        return m2c_sprintf(G->g->arena, "self.%s_%d", f, ch->index);
    }
    return m2c_sprintf(G->g->arena, "self.%s", f);
}

/* A child's call: `let y = self.dense.forward(&xs)?;` */
static void emit_call(Gen *G, CgFn *f, Mod *ch, const char *target)
{
    M2cBuf args = {0};
    for (uint32_t i = 0; i < ch->in.n; i++) {
        uint32_t v = ch->in.v[i];
        /* a view made here (narrow, squeeze, permute) into a Linear: candle's CUDA matmul takes only
         * contiguous or transposed operands (the CPU's takes any) */
        bool view = ch->kind == MOD_LINEAR && f->refkind[v] == REF_LOCAL && f->layout[v] == LAYOUT_VIEW;
        const char *r = view ? m2c_sprintf(f->a, "&%s", cg_contig(f, v, true)) : cg_ref(f, v);
        m2c_buf_printf(&args, "%s%s", i ? ", " : "", r);
    }
    for (uint32_t i = 0; i < ch->nfwd_params; i++)
        m2c_buf_printf(&args, ", %s", cg_dim(f, ir_dim_sym(G->g, ch->fwd_params[i])));
    if (ch->kind != MOD_STRUCT) G->c->nn_items |= CG_NN_MODULE;
    const char *call = m2c_sprintf(G->g->arena, "%s.forward(%s)?", target ? target : child_ref(G, ch), args.s ? args.s : "");
    m2c_buf_free(&args);
    if (ch->out.n == 1) {
        cg_stmt(f, "let %s = %s;", cg_def(f, ch->out.v[0]), call);
        return;
    }
    M2cBuf outs = {0};
    for (uint32_t i = 0; i < ch->out.n; i++) m2c_buf_printf(&outs, "%s%s", i ? ", " : "", cg_def(f, ch->out.v[i]));
    cg_stmt(f, "let (%s) = %s;", outs.s, call);
    m2c_buf_free(&outs);
}

/* Items k.. that are calls of consecutive layers of one Vec, each feeding the next: how many. */
static uint32_t chain_length(Gen *G, const Mod *m, uint32_t k, uint32_t *pos)
{
    Mod *first = m->items[k].child;
    if (!first || !in_vec(first) || first->index != 0 || first->out.n != 1) return 0;
    uint32_t n = 1;
    *pos = UINT32_MAX;
    while (k + n < m->nitems) {
        Mod *prev = m->items[k + n - 1].child, *c = m->items[k + n].child;
        if (!c || !c->field || strcmp(c->field, first->field) != 0 || c->index != (int)n || c->out.n != 1 ||
            c->in.n != first->in.n || c->type_rep != first->type_rep)
            break;
        uint32_t p = UINT32_MAX;
        bool ok = true;
        for (uint32_t i = 0; i < c->in.n && ok; i++) {
            if (c->in.v[i] == prev->out.v[0]) {
                if (p != UINT32_MAX) ok = false;
                p = i;
            } else if (c->in.v[i] != first->in.v[i]) {
                ok = false;
            }
        }
        /* the previous layer's result must feed only this layer */
        uint32_t v = prev->out.v[0], nu;
        const uint32_t *uses = ir_uses(G->g, v, &nu);
        for (uint32_t u = 0; u < nu && ok; u++) ok = mod_inside(c, G->t->node_mod[uses[u]]);
        if (!ok || p == UINT32_MAX || (*pos != UINT32_MAX && p != *pos) || (ir_val(G->g, v)->flags & V_OUTPUT)) break;
        *pos = p;
        n++;
    }
    return n >= 2 ? n : 0;
}

static void emit_chain(Gen *G, CgFn *f, Mod *m, uint32_t k, uint32_t n, uint32_t pos)
{
    Mod *first = m->items[k].child, *last = m->items[k + n - 1].child;
    uint32_t start = first->in.v[pos];
    const char *init = cg_v(f, start);
    /* a parameter only the first layer reads is shadowed by the running value: let mut xs = xs.clone() */
    uint32_t nu;
    const uint32_t *uses = ir_uses(G->g, start, &nu);
    bool only_first = f->refkind[start] == REF_BORROW;
    for (uint32_t u = 0; u < nu && only_first; u++) only_first = mod_inside(first, G->t->node_mod[uses[u]]);
    const char *acc = only_first ? init : cg_fresh(f, "xs");
    cg_stmt(f, "let mut %s = %s.clone();", acc, init);
    const char *var = cg_fresh(f, cg_snake(G->g->arena, first->field));
    cg_stmt(f, "for %s in &%sself.%s {", var, first->mutating ? "mut " : "", child_field(G, first));
    M2cBuf args = {0};
    for (uint32_t i = 0; i < first->in.n; i++)
        m2c_buf_printf(&args, "%s%s", i ? ", " : "", i == pos ? m2c_sprintf(G->g->arena, "&%s", acc) : cg_ref(f, first->in.v[i]));
    for (uint32_t i = 0; i < first->nfwd_params; i++)
        m2c_buf_printf(&args, ", %s", cg_dim(f, ir_dim_sym(G->g, first->fwd_params[i])));
    cg_stmt(f, "    %s = %s.forward(%s)?;", acc, var, args.s);
    cg_stmt(f, "}");
    m2c_buf_free(&args);
    f->ref[last->out.v[0]] = acc;
    f->refkind[last->out.v[0]] = REF_LOCAL;
}

/* --- the body's items --------------------------------------------------------------------------------- */

typedef struct {
    Gen *G;
    Mod *m;
} ItemCtx;

/* One item of m's body as candle code: a child's call or an own node. */
static void emit_item(CgFn *f, uint32_t k, bool in_block, void *ctx)
{
    ItemCtx *c = ctx;
    ModItem it = c->m->items[k];
    if (it.child) {
        emit_call(c->G, f, it.child, NULL);
        return;
    }
    const IrNode *node = ir_node(c->G->g, it.node);
    if (cg_lower_node(f, node)) {
        if (!in_block) cg_fn_bind_outputs(f, node);
    } else {
        for (uint32_t o = 0; o < node->nout; o++)
            if (node->out[o] != IR_NONE && !f->ref[node->out[o]]) f->ref[node->out[o]] = "<failed>";
    }
}

/* m's items as the kernels see them: own nodes, candle_nn layers with their nodes, other structs opaque. */
static const CgItem *kernel_items(Gen *G, Mod *m)
{
    if (!G->c->kernels) return NULL;
    CgItem *items = m2c_alloc_array(G->g->arena, m->nitems ? m->nitems : 1, sizeof *items);
    for (uint32_t k = 0; k < m->nitems; k++) {
        ModItem it = m->items[k];
        Mod *ch = it.child;
        if (!ch) items[k] = (CgItem){&m->items[k].node, 1, NULL, IR_NONE, IR_NONE};
        else if (ch->kind == MOD_STRUCT) items[k] = (CgItem){NULL, 0, NULL, IR_NONE, IR_NONE};
        else items[k] = (CgItem){ch->nodes.v, ch->nodes.n, child_ref(G, ch), ch->weight, ch->bias};
    }
    return items;
}

/* Parameter names: xs for the first tensor, like candle-transformers; the rest after what made them. */
static const char *param_name(Gen *G, uint32_t v, uint32_t i)
{
    if (i == 0) return "xs";
    const IrValue *val = ir_val(G->g, v);
    if (val->dtype == DT_BOOL || (val->producer != IR_NONE && ir_node(G->g, val->producer)->op == IR_OP_WHERE))
        return "mask";
    if (val->producer != IR_NONE) return cg_snake(G->g->arena, ir_node(G->g, val->producer)->op_type);
    return cg_snake(G->g->arena, val->name);
}

/* The decoder's incremental forward: no padding, every mask input all ones over the cached and new positions */
static void decoder_forward(Gen *G, CgOut *code, const char *rtype)
{
    const PassKvInfo *kv = G->c->kv;
    IrGraph *g = G->g;
    M2cArena *a = g->arena;
    const IrValue *tok = ir_val(g, kv->tokens);
    const char *tname = cg_snake(a, tok->name);
    m2c_buf_printf(&code->buf,
                   "\n    /// Causal decoding with the KV caches: `%s` (batch, seq) are the positions\n"
                   "    /// `%s .. %s + seq`; the caches must hold the `%s` before them (0 after\n"
                   "    /// `clear_kv_cache`).\n"
                   "    pub fn forward(&mut self, %s: &Tensor, %s: usize) -> Result<%s> {\n"
                   "        let (batch, seq) = %s.dims2()?;\n",
                   tname, kv->offset, kv->offset, kv->offset, tname, kv->offset, rtype, tname);
    M2cBuf args = {0};
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        uint32_t in = g->inputs.v[i];
        const char *name = cg_snake(a, ir_val(g, in)->name);
        bool is_mask = false;
        for (uint32_t k = 0; k < kv->nmasks; k++) is_mask |= kv->masks[k] == in;
        if (is_mask)
            m2c_buf_printf(&code->buf, "        let %s = Tensor::ones((batch, %s + seq), %s, %s.device())?;\n", name,
                           kv->offset, cg_candle_dtype(ir_val(g, in)->dtype), tname);
        m2c_buf_printf(&args, "%s%s", i ? ", " : "", in == kv->tokens ? name : m2c_sprintf(a, "&%s", name));
    }
    m2c_buf_printf(&code->buf, "        self.forward_with_mask(%s, %s)\n    }\n", args.s, kv->offset);
    m2c_buf_free(&args);
}

/* clear_kv_cache(): this module's caches and its children's */
static void clear_kv_cache(Gen *G, Mod *m, CgOut *code, uint32_t ncaches)
{
    M2cArena *a = G->g->arena;
    m2c_buf_puts(&code->buf, "\n    /// Empties the KV caches: the next forward starts at position 0.\n"
                             "    pub fn clear_kv_cache(&mut self) {\n");
    for (uint32_t i = 0; i < ncaches; i++) m2c_buf_printf(&code->buf, "        self.%s.reset();\n", cg_kv_field(a, i));
    for (uint32_t i = 0; i < m->children.n; i++) {
        Mod *ch = m->children.v[i];
        if (!ch->mutating) continue;
        if (in_vec(ch)) {
            if (ch->index != 0) continue;
            m2c_buf_printf(&code->buf, "        for layer in &mut self.%s {\n            layer.clear_kv_cache();\n        }\n",
                           child_field(G, ch));
        } else {
            m2c_buf_printf(&code->buf, "        %s.clear_kv_cache();\n", child_ref(G, ch));
        }
    }
    m2c_buf_puts(&code->buf, "    }\n");
}

static bool emit_struct_instance(Gen *G, Mod *m)
{
    IrGraph *g = G->g;
    M2cArena *a = g->arena;
    CgOut body = {{0}, 2};
    CgFn f;
    cg_fn_init(&f, g, G->c, &body);
    f.collect_missing = m != G->t->root;
    f.instance = m != G->t->root;
    M2cBuf params = {0};
    const uint32_t *ins = m == G->t->root ? G->g->inputs.v : m->in.v;
    uint32_t nin = m == G->t->root ? G->g->inputs.n : m->in.n;
    for (uint32_t i = 0; i < nin; i++) {
        const char *name = m == G->t->root ? ir_val(g, ins[i])->name : param_name(G, ins[i], i);
        cg_fn_param(&f, ins[i], name);
        m2c_buf_printf(&params, ", %s: &Tensor", f.ref[ins[i]]);
    }
    const PassKvInfo *kv = G->c->kv;
    bool root = m == G->t->root;
    if (root && kv) {
        /* the decoder's position offset: how many positions the KV caches hold */
        cg_fn_bind_symbol(&f, kv->offset, kv->offset);
        m2c_buf_printf(&params, ", %s: usize", kv->offset);
    }
    M2cBuf fields = {0}, ctor = {0};
    f.scope_path = m->path;
    /* the body: own nodes and child calls in order; a group with a fused kernel is written at its last item,
     * the others of its items inside the kernel's else branch (kernels.c) */
    ItemCtx ictx = {G, m};
    CgSites *sites = cg_kernel_sites(&f, kernel_items(G, m), m->nitems);
    for (uint32_t k = 0; k < m->nitems; k++) {
        ModItem it = m->items[k];
        if (cg_kernel_member(sites, k)) continue;
        if (cg_kernel_root(sites, k)) {
            cg_kernel_emit(&f, sites, k, emit_item, &ictx);
            continue;
        }
        uint32_t pos, n = it.child ? chain_length(G, m, k, &pos) : 0;
        for (uint32_t j = 1; j < n && sites; j++)
            if (cg_kernel_member(sites, k + j) || cg_kernel_root(sites, k + j)) n = 0;
        if (n) {
            emit_chain(G, &f, m, k, n, pos);
            k += n - 1;
        } else {
            emit_item(&f, k, false, &ictx);
        }
    }
    cg_kernel_sites_free(sites);
    const uint32_t *outs = m == G->t->root ? g->outputs.v : m->out.v;
    uint32_t nout = m == G->t->root ? g->outputs.n : m->out.n;
    M2cBuf ret = {0};
    for (uint32_t i = 0; i < nout; i++) {
        const char *r = cg_v(&f, outs[i]);
        m2c_buf_printf(&ret, "%s%s%s", i ? ", " : "", r, f.refkind[outs[i]] == REF_LOCAL ? "" : ".clone()");
    }
    if (f.failed) {
        m->failed = true;
        return false;
    }
    /* weights and constants the body read as tensors: fields, loaded by name */
    for (uint32_t i = 0; i < f.fields.n; i++) {
        CgWeight *w = &f.fields.v[i];
        bool param = (ir_val(g, w->value)->flags & V_PARAM) != 0;
        m2c_buf_printf(&fields, "    %s: Tensor,\n", w->field);
        if (!param) {
            /* not a weight: from the constants compiled into the crate, so PyTorch checkpoints load */
            const char *name = join(a, m->path, w->field);
            if (!m2c_map_get(&G->const_names, name, NULL)) {   /* generated again in each round */
                m2c_map_put(a, &G->const_names, name, 1);
                CgStTensor ct = {name, w->tensor, false};
                m2c_vec_push(a, &G->c->consts, ct);
            }
            m2c_buf_printf(&ctor, "            %s: %s(&vb, \"%s\")?,\n", w->field, cg_helper(&f, CG_HELPER_CONSTANT),
                           w->field);
            continue;
        }
        const char *full = w->st_name, *rel = w->rel_name;
        bool under = strcmp(full, rel) != 0 || m->path[0] == 0;
        store(G, full, w->tensor, false);
        const char *vb = under ? "vb" : "vb.root()";
        if (w->tensor->dtype == G->c->opt->float_dtype)
            m2c_buf_printf(&ctor, "            %s: %s.get(%s, \"%s\")?,\n", w->field, vb, shape_lit(a, w->tensor, false), rel);
        else
            m2c_buf_printf(&ctor, "            %s: %s.to_dtype(%s).get(%s, \"%s\")?,\n", w->field, vb,
                           cg_candle_dtype(w->tensor->dtype), shape_lit(a, w->tensor, false), rel);
    }
    /* children fields, in the order they are first called */
    M2cBuf cfields = {0}, cctor = {0}, pre = {0};
    for (uint32_t i = 0; i < m->children.n; i++) {
        Mod *ch = m->children.v[i];
        const char *fld = child_field(G, ch);
        if (in_vec(ch)) {
            if (ch->index != 0) continue;
            uint32_t count = 0;
            bool same_args = true;
            for (uint32_t j = 0; j < m->children.n; j++) {
                const Mod *sib = m->children.v[j];
                if (!sib->field || strcmp(sib->field, ch->field) != 0) continue;
                count++;
                same_args &= strcmp(sib->ctor_args ? sib->ctor_args : "", ch->ctor_args ? ch->ctor_args : "") == 0;
            }
            m2c_buf_printf(&cfields, "    %s: Vec<%s>,\n", fld, ch->type_name);
            if (!same_args) {
                /* one type, built with different hyper-parameters: each element spelled out */
                m2c_buf_printf(&pre, "        let %s = vec![\n", fld);
                for (uint32_t j = 0; j < m->children.n; j++) {
                    const Mod *sib = m->children.v[j];
                    if (!sib->field || strcmp(sib->field, ch->field) != 0) continue;
                    m2c_buf_printf(&pre, "            %s,\n",
                                   vec_elem_new(G, sib, m2c_sprintf(a, "vb.pp(\"%s\").pp(%d)", sib->field, sib->index)));
                }
                m2c_buf_puts(&pre, "        ];\n");
                m2c_buf_printf(&cctor, "            %s,\n", fld);
                continue;
            }
            const char *elem = vec_elem_new(G, ch, m2c_sprintf(a, "vb.pp(\"%s\").pp(i)", ch->field));
            elem = m2c_strndup(a, elem, strlen(elem) - 1);   /* the closure returns the Result itself */
            m2c_buf_printf(&pre, "        let %s = (0..%u)\n            .map(|i| %s)\n            .collect::<Result<Vec<_>>>()?;\n",
                           fld, count, elem);
            m2c_buf_printf(&cctor, "            %s,\n", fld);
        } else {
            const char *name = ch->index >= 0 && ch->field ? m2c_sprintf(a, "%s_%d", fld, ch->index) : fld;
            m2c_buf_printf(&cfields, "    %s: %s,\n", name, ch->type_name);
            m2c_buf_printf(&cctor, "            %s: %s,\n", name, vec_elem_new(G, ch, m2c_sprintf(a, "vb.pp(\"%s\")", ch->vb_path)));
        }
    }
    if (f.uses_device) {
        m2c_buf_puts(&fields, "    device: Device,\n");
        m2c_buf_puts(&ctor, "            device: vb.device().clone(),\n");
    }
    /* KV caches: (batch, kv_heads, positions, head_dim), grown along the positions as they fill */
    m->mutating = f.kv_caches > 0;
    for (uint32_t i = 0; i < m->children.n; i++) m->mutating |= m->children.v[i]->mutating;
    for (uint32_t i = 0; i < f.kv_caches; i++) {
        m2c_buf_printf(&fields, "    %s: KvCache,\n", cg_kv_field(a, i));
        m2c_buf_printf(&ctor, "            %s: KvCache::new(2, KV_CACHE_CHUNK),\n", cg_kv_field(a, i));
    }
    /* symbols the forward needs but cannot read off its tensors */
    m->nfwd_params = f.missing.n;
    m->fwd_params = f.missing.v;
    for (uint32_t i = 0; i < f.missing.n; i++) {
        for (uint32_t j = 0; j < f.syms.n; j++)
            if (strcmp(f.syms.v[j].name, f.missing.v[i]) == 0)
                m2c_buf_printf(&params, ", %s: usize", f.syms.v[j].expr);
    }
    CgOut code = {{0}, 0};
    m2c_buf_printf(&code.buf, "#[derive(Debug, Clone)]\n%sstruct \x01 {\n%s%s}\n\n", m == G->t->root ? "pub " : "",
                   cfields.s ? cfields.s : "", fields.s ? fields.s : "");
    m2c_buf_puts(&code.buf, "impl \x01 {\n");
    if (m == G->t->root) {
        m2c_buf_printf(&code.buf,
                       "    /// Loads the weights from a safetensors file: this crate's `model.safetensors`, or a\n"
                       "    /// checkpoint saved from the PyTorch model (same names).\n"
                       "    pub fn load<P: AsRef<std::path::Path>>(path: P, device: &Device) -> Result<Self> {\n"
                       "        // SAFETY: the file is mapped read-only and must not change while the model is alive.\n"
                       "        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], %s, device)? };\n"
                       "        Self::new(vb)\n    }\n\n",
                       cg_candle_dtype(G->c->opt->float_dtype));
        if (G->c->opt->embed_weights)
            m2c_buf_printf(&code.buf,
                           "    /// Builds the model from the weights compiled into the binary (`--embed-weights`).\n"
                           "    pub fn load_embedded(device: &Device) -> Result<Self> {\n"
                           "        let vb = VarBuilder::from_slice_safetensors(WEIGHTS, %s, device)?;\n"
                           "        Self::new(vb)\n    }\n\n",
                           cg_candle_dtype(G->c->opt->float_dtype));
    }
    bool uses_vb = pre.s || cctor.s || ctor.s;
    m2c_buf_printf(&code.buf, "    %sfn new(%s: VarBuilder) -> Result<Self> {\n%s        Ok(Self {\n%s%s        })\n    }\n\n",
                   m == G->t->root ? "pub " : "", uses_vb ? "vb" : "_vb", pre.s ? pre.s : "", cctor.s ? cctor.s : "",
                   ctor.s ? ctor.s : "");
    if (nin + f.missing.n > 6) m2c_buf_puts(&code.buf, "    #[allow(clippy::too_many_arguments)]\n");
    const char *rtype = nout == 1 ? "Tensor" : NULL;
    if (!rtype) {
        M2cBuf r = {0};
        m2c_buf_puts(&r, "(");
        for (uint32_t i = 0; i < nout; i++) m2c_buf_printf(&r, "%sTensor", i ? ", " : "");
        m2c_buf_puts(&r, ")");
        rtype = m2c_strdup(a, r.s);
        m2c_buf_free(&r);
        if (nout > 3) m2c_buf_puts(&code.buf, "    #[allow(clippy::type_complexity)]\n");
    }
    /* a decoder's root: forward_with_mask (the export's inputs), then forward without the padding mask */
    bool with_mask = root && kv && kv->nmasks > 0;
    if (root && kv)
        m2c_buf_printf(&code.buf, "    /// The exported graph's inputs, continuing the KV caches: positions `%s .. %s + seq`;\n"
                                  "    /// the mask covers all of them.\n", kv->offset, kv->offset);
    m2c_buf_printf(&code.buf, "    pub fn %s(&%sself%s) -> Result<%s> {\n", with_mask ? "forward_with_mask" : "forward",
                   m->mutating ? "mut " : "", params.s ? params.s : "", rtype);
    CgOut lets = {{0}, 2};
    cg_fn_symbol_lets(&f, &lets);
    m2c_buf_puts(&code.buf, lets.buf.s ? lets.buf.s : "");
    m2c_buf_puts(&code.buf, body.buf.s ? body.buf.s : "");
    m2c_buf_printf(&code.buf, nout == 1 ? "        Ok(%s)\n    }\n" : "        Ok((%s))\n    }\n", ret.s);
    if (with_mask) decoder_forward(G, &code, rtype);
    if (m->mutating) clear_kv_cache(G, m, &code, f.kv_caches);
    m2c_buf_puts(&code.buf, "}\n");
    m->code = m2c_strdup(a, code.buf.s);
    m2c_buf_free(&code.buf), m2c_buf_free(&lets.buf), m2c_buf_free(&body.buf), m2c_buf_free(&params);
    m2c_buf_free(&fields), m2c_buf_free(&ctor), m2c_buf_free(&cfields), m2c_buf_free(&cctor), m2c_buf_free(&pre);
    m2c_buf_free(&ret);
    return true;
}

/* How a parent builds a child: Type::new(vb) or the candle_nn constructor. */
static const char *vec_elem_new(Gen *G, const Mod *m, const char *vb)
{
    M2cArena *a = G->g->arena;
    switch (m->kind) {
    case MOD_LINEAR:
        G->c->nn_items |= m->bias != IR_NONE ? CG_NN_LINEAR : CG_NN_LINEAR_NO_BIAS;
        return m2c_sprintf(a, "%s(%lld, %lld, %s)?", m->bias != IR_NONE ? "linear" : "linear_no_bias",
                           (long long)m->in_features, (long long)m->out_features, vb);
    case MOD_EMBEDDING:
        G->c->nn_items |= CG_NN_EMBEDDING;
        return m2c_sprintf(a, "embedding(%lld, %lld, %s)?", (long long)m->in_features, (long long)m->out_features, vb);
    case MOD_LAYER_NORM:
        G->c->nn_items |= m->bias != IR_NONE ? CG_NN_LAYER_NORM : CG_NN_LAYER_NORM_NO_BIAS;
        return m2c_sprintf(a, "%s(%lld, %s, %s)?", m->bias != IR_NONE ? "layer_norm" : "layer_norm_no_bias",
                           (long long)m->in_features, cg_f32(a, m->eps), vb);
    case MOD_RMS_NORM:
        G->c->nn_items |= CG_NN_RMS_NORM;
        return m2c_sprintf(a, "rms_norm(%lld, %s, %s)?", (long long)m->in_features, cg_f32(a, m->eps), vb);
    case MOD_STRUCT:
        return m2c_sprintf(a, "%s::new(%s%s)?", m->type_name, m->ctor_args ? m->ctor_args : "", vb);
    }
    return "?";
}

static void emit_leaf(Gen *G, Mod *m)
{
    M2cArena *a = G->g->arena;
    const IrValue *w = ir_val(G->g, m->weight);
    store(G, join(a, m->path, "weight"), w->konst, m->weight_transposed);
    if (m->bias != IR_NONE) store(G, join(a, m->path, "bias"), ir_val(G->g, m->bias)->konst, false);
    static const struct {
        const char *type;
        unsigned item;
    } leaf[] = {[MOD_LINEAR] = {"Linear", CG_NN_LINEAR_T}, [MOD_EMBEDDING] = {"Embedding", CG_NN_EMBEDDING_T},
                [MOD_LAYER_NORM] = {"LayerNorm", CG_NN_LAYER_NORM_T}, [MOD_RMS_NORM] = {"RmsNorm", CG_NN_RMS_NORM_T}};
    m->type_name = leaf[m->kind].type;
    m->code = m->type_name;
    m->type_rep = m;
    G->c->nn_items |= leaf[m->kind].item;
}

/* A type's name before numbering: the PyTorch class when known, else from its place in the tree. */
static const char *type_base_name(Gen *G, Mod *m)
{
    M2cArena *a = G->g->arena;
    const char *cls = pass_scope_short_class(G->g->scopes.v[m->scope].cls);
    const char *base;
    if (cls) {
        base = cg_camel(a, cls);
    } else {
        const char *own = m->field ? m->field : last_segment_of(m->path);
        const char *parent = m->parent && m->parent != G->t->root ? (m->parent->field ? m->parent->field : "") : "";
        base = cg_camel(a, parent[0] && strcmp(parent, own) != 0 ? m2c_sprintf(a, "%s_%s", parent, own) : own);
    }
    if (!strcmp(base, "Model") || !strcmp(base, "Linear") || !strcmp(base, "Embedding") || !strcmp(base, "LayerNorm") ||
        !strcmp(base, "RmsNorm") ||
        !strcmp(base, "Tensor") || !strcmp(base, "Result") || !strcmp(base, "Device") || !strcmp(base, "VarBuilder"))
        base = m2c_sprintf(a, "%sBlock", base);
    return base;
}

/* --- one type for instances that differ only in their sizes ------------------------------------------------
 *
 * Two instances of one PyTorch class often differ only in numbers (HF Conv1D 32->96 and 32->32, HiFi-GAN
 * blocks with kernels 3, 7, 11).  Their code is the same once the plain integer literals (usize: dims, axes,
 * sizes) are masked; such instances share a type whose differing numbers become constructor arguments, kept
 * as fields for forward: `Conv1D::new(32, 96, vb.pp("c_attn"))`, as candle_nn's `linear(in, out, vb)`. */

typedef struct {
    uint32_t off, len;
} Lit;

/* The plain integer literals of a code text: not in strings, not part of a name, a float or a suffixed literal. */
static uint32_t find_literals(const char *code, Lit **out, M2cArena *a)
{
    M2C_VEC(Lit) v = {0};
    bool str = false;
    for (uint32_t i = 0; code[i]; i++) {
        char c = code[i];
        if (c == '"' && (i == 0 || code[i - 1] != '\\')) str = !str;
        if (c == '\x02' && !str) {   /* a child type's placeholder \x02k\x02: its digits are no literal */
            while (code[i + 1] && code[i + 1] != '\x02') i++;
            i++;
            continue;
        }
        if (str || c < '0' || c > '9') continue;
        char p = i ? code[i - 1] : ' ';
        bool ident = (p >= 'a' && p <= 'z') || (p >= 'A' && p <= 'Z') || (p >= '0' && p <= '9') || p == '_' || p == '.';
        uint32_t j = i;
        while (code[j] >= '0' && code[j] <= '9') j++;
        char q = code[j];
        bool tail = (q >= 'a' && q <= 'z') || (q >= 'A' && q <= 'Z') || q == '_' || q == '.';
        if (!ident && !tail) m2c_vec_push(a, &v, ((Lit){i, j - i}));
        i = j - 1;
    }
    *out = v.v;
    return v.n;
}

static const char *skeleton(const char *code, M2cArena *a)
{
    Lit *lits;
    uint32_t n = find_literals(code, &lits, a);
    M2cBuf b = {0};
    uint32_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        m2c_buf_printf(&b, "%.*s#", (int)(lits[i].off - at), code + at);
        at = lits[i].off + lits[i].len;
    }
    m2c_buf_puts(&b, code + at);
    const char *s = m2c_strdup(a, b.s);
    m2c_buf_free(&b);
    return s;
}

/* Makes the instances ms[0..n) (equal skeletons, different codes) one type: returns the type's code and sets
 * each instance's next_ctor_args. */
static const char *parameterize(Gen *G, Mod **ms, uint32_t n)
{
    M2cArena *a = G->g->arena;
    Lit **lits = m2c_alloc_array(a, n, sizeof *lits);
    uint32_t nl = 0;
    for (uint32_t i = 0; i < n; i++) nl = find_literals(ms[i]->code, &lits[i], a);
    /* a parameter per distinct vector of values across the instances */
    M2cMap by_vector = {0};
    uint32_t *param = m2c_alloc_array(a, nl ? nl : 1, sizeof *param);
    uint32_t nparams = 0;
    M2C_VEC(uint32_t) first_pos = {0};
    for (uint32_t p = 0; p < nl; p++) {
        M2cBuf key = {0};
        bool differ = false;
        for (uint32_t i = 0; i < n; i++) {
            m2c_buf_printf(&key, "%.*s,", (int)lits[i][p].len, ms[i]->code + lits[i][p].off);
            differ |= lits[i][p].len != lits[0][p].len ||
                      strncmp(ms[i]->code + lits[i][p].off, ms[0]->code + lits[0][p].off, lits[0][p].len) != 0;
        }
        param[p] = UINT32_MAX;
        if (differ) {
            uint32_t id;
            if (!m2c_map_get(&by_vector, key.s, &id)) {
                id = nparams++;
                m2c_map_put(a, &by_vector, m2c_strdup(a, key.s), id);
                m2c_vec_push(a, &first_pos, p);
            }
            param[p] = id;
        }
        m2c_buf_free(&key);
    }
    const char *code = ms[0]->code;
    for (uint32_t i = 0; i < n; i++) {
        M2cBuf ca = {0};
        for (uint32_t k = 0; k < nparams; k++) {
            uint32_t p = first_pos.v[k];
            m2c_buf_printf(&ca, "%.*s, ", (int)lits[i][p].len, ms[i]->code + lits[i][p].off);
        }
        ms[i]->next_ctor_args = m2c_strdup(a, ca.s ? ca.s : "");
        m2c_buf_free(&ca);
    }
    if (nparams == 0) return code;
    const char *fwd = strstr(code, "pub fn forward(");
    uint32_t fwd_off = fwd ? (uint32_t)(fwd - code) : UINT32_MAX;
    bool *in_forward = m2c_alloc(a, nparams);
    for (uint32_t p = 0; p < nl; p++)
        if (param[p] != UINT32_MAX && lits[0][p].off > fwd_off) in_forward[param[p]] = true;
    /* the template: literals -> dimK (in new) or self.dimK (in forward) */
    M2cBuf b = {0};
    uint32_t at = 0;
    for (uint32_t p = 0; p < nl; p++) {
        if (param[p] == UINT32_MAX) continue;
        m2c_buf_printf(&b, "%.*s", (int)(lits[0][p].off - at), code + at);
        m2c_buf_printf(&b, "%sdim%u", lits[0][p].off > fwd_off ? "self." : "", param[p]);
        at = lits[0][p].off + lits[0][p].len;
    }
    m2c_buf_puts(&b, code + at);
    char *t = m2c_strdup(a, b.s);
    m2c_buf_free(&b);
    /* fields, constructor arguments, and the fields set in Ok(Self { .. }) */
    M2cBuf fields = {0}, args = {0}, init = {0};
    for (uint32_t k = 0; k < nparams; k++) {
        m2c_buf_printf(&args, "dim%u: usize, ", k);
        if (in_forward[k]) {
            m2c_buf_printf(&fields, "    dim%u: usize,\n", k);
            m2c_buf_printf(&init, "            dim%u,\n", k);
        }
    }
    M2cBuf out = {0};
    const char *sfields = strstr(t, "{\n") + 2;
    m2c_buf_printf(&out, "%.*s%s", (int)(sfields - t), t, fields.s ? fields.s : "");
    const char *newsig = strstr(sfields, "fn new(");
    if (nparams + 1 > 7) {
        /* the attribute goes before the fn: back up over the indentation and any `pub ` */
        const char *line = newsig;
        while (line > sfields && line[-1] != '\n') line--;
        m2c_buf_printf(&out, "%.*s    #[allow(clippy::too_many_arguments)]\n", (int)(line - sfields), sfields);
        m2c_buf_printf(&out, "%.*s", (int)(newsig + 7 - line), line);
    } else {
        m2c_buf_printf(&out, "%.*s", (int)(newsig + 7 - sfields), sfields);
    }
    m2c_buf_puts(&out, args.s);
    const char *okself = strstr(newsig, "Ok(Self {\n");
    m2c_buf_printf(&out, "%.*s%s", (int)(okself + 10 - (newsig + 7)), newsig + 7, init.s ? init.s : "");
    m2c_buf_puts(&out, okself + 10);
    const char *res = m2c_strdup(a, out.s);
    m2c_buf_free(&out), m2c_buf_free(&fields), m2c_buf_free(&args), m2c_buf_free(&init);
    return res;
}

/* A type's key: its name before numbering (class or place in the tree) and its code with the numbers masked. */
static const char *type_key(Gen *G, Mod *m)
{
    return m2c_sprintf(G->g->arena, "%s\x03%s", type_base_name(G, m), skeleton(m->code, G->g->arena));
}

/* One round: every instance generated (children first) and put in a type by key; children are named in their
 * parents' code by a placeholder of their type's index (\x02k\x02), replaced once names are final. */
static bool assign_types(Gen *G)
{
    ModTree *t = G->t;
    IrGraph *g = G->g;
    G->types.n = 0;
    M2cMap by_key = {0};
    bool ok = true;
    for (uint32_t i = t->mods.n; i-- > 0;) {
        Mod *m = t->mods.v[i];
        m->type_rep = NULL;
        if (m->kind != MOD_STRUCT) {
            emit_leaf(G, m);
            continue;
        }
        if (!emit_struct_instance(G, m)) {
            ok = false;
            continue;
        }
        const char *key = m == t->root ? "\x03root" : type_key(G, m);
        uint32_t k;
        if (!m2c_map_get(&by_key, key, &k)) {
            k = G->types.n;
            m2c_map_put(g->arena, &by_key, key, k);
            m2c_vec_push(g->arena, &G->types, m);
        }
        m->type_rep = G->types.v[k];
        m->type_name = m2c_sprintf(g->arena, "\x02%u\x02", k);
    }
    return ok;
}

bool cg_emit_module_model(CgCrate *c, CgOut *out, const char *doc)
{
    ModTree t;
    if (!mod_tree_build(&t, c->g)) return false;
    Gen G = {c, &t, c->g, {0}, {0}};
    M2cArena *a = c->g->arena;
    const char **type_code = NULL;
    /* rounds: a type's parameters change how parents build their children, and the parents' own types */
    for (int round = 0; round < 8; round++) {
        if (!assign_types(&G) || m2c_error_count()) return false;
        type_code = m2c_alloc_array(a, G.types.n ? G.types.n : 1, sizeof *type_code);
        bool changed = false;
        for (uint32_t k = 0; k < G.types.n; k++) {
            M2C_VEC(Mod *) inst = {0};
            for (uint32_t i = 0; i < t.mods.n; i++)
                if (t.mods.v[i]->kind == MOD_STRUCT && t.mods.v[i]->type_rep == G.types.v[k]) m2c_vec_push(a, &inst, t.mods.v[i]);
            type_code[k] = parameterize(&G, inst.v, inst.n);
            for (uint32_t i = 0; i < inst.n; i++) {
                Mod *m = inst.v[i];
                if (strcmp(m->next_ctor_args ? m->next_ctor_args : "", m->ctor_args ? m->ctor_args : "") != 0) changed = true;
                m->ctor_args = m->next_ctor_args;
            }
        }
        if (!changed) break;
    }
    /* names, in definition order: the class (or place) and a number when two types would share one */
    const char **names = m2c_alloc_array(a, G.types.n ? G.types.n : 1, sizeof *names);
    for (uint32_t k = 0; k < G.types.n; k++) {
        Mod *m = G.types.v[k];
        const char *base = m == t.root ? "Model" : type_base_name(&G, m), *name = base;
        for (int n = 2;; n++) {
            bool taken = false;
            for (uint32_t j = 0; j < k; j++) taken |= strcmp(names[j], name) == 0;
            if (!taken) break;
            name = m2c_sprintf(a, "%s%d", base, n);
        }
        names[k] = name;
    }
    for (uint32_t k = 0; k < G.types.n; k++) {
        /* placeholders of child types -> names; this type's own name is \x01 */
        M2cBuf b = {0};
        for (const char *p = type_code[k]; *p; p++) {
            if (*p == '\x02') {
                uint32_t idx = (uint32_t)strtoul(p + 1, (char **)&p, 10);
                m2c_buf_puts(&b, names[idx]);
            } else {
                m2c_buf_putc(&b, *p);
            }
        }
        G.types.v[k]->code = m2c_strdup(a, b.s);
        G.types.v[k]->type_name = names[k];
        m2c_buf_free(&b);
    }
    for (uint32_t i = 0; i < t.mods.n; i++)
        if (t.mods.v[i]->kind == MOD_STRUCT && t.mods.v[i]->type_rep) t.mods.v[i]->type_name = t.mods.v[i]->type_rep->type_name;
    /* a type's doc names its first instance in the model (layer.0, not the last one generated) */
    for (uint32_t i = 0; i < t.mods.n; i++) {
        Mod *m = t.mods.v[i];
        if (m->kind == MOD_STRUCT && m->type_rep && !m->type_rep->doc_path) m->type_rep->doc_path = m->path;
    }
    /* the file: uses, then each type, leaves first and Model last */
    M2cBuf rest = {0};
    for (uint32_t i = 0; i < G.types.n; i++) {
        Mod *m = G.types.v[i];
        const char *cls = c->g->scopes.v[m->scope].cls;
        if (i) m2c_buf_puts(&rest, "\n");
        if (m == t.root)
            m2c_buf_printf(&rest, "/// %s%s.\n", cls ? cls : c->g->name, cls ? "" : " (the exported graph)");
        else
            m2c_buf_printf(&rest, "/// `%s`%s%s.\n", m->doc_path ? m->doc_path : m->path, cls ? ": " : "", cls ? cls : "");
        for (const char *s = m->code; *s; s++) {
            if (*s == '\x01') m2c_buf_puts(&rest, m->type_name);
            else m2c_buf_putc(&rest, *s);
        }
    }
    cg_line(out, "//! %s", doc);
    cg_write_uses(c, out, rest.s);
    cg_blank(out);
    if (c->kv && strstr(rest.s, "KV_CACHE_CHUNK")) {
        cg_line(out, "/// Positions a KV cache allocates at a time (it grows by as many when full).");
        cg_line(out, "const KV_CACHE_CHUNK: usize = 512;");
        cg_blank(out);
    }
    if (c->opt->embed_weights) {
        cg_line(out, "/// The weights (model.safetensors), compiled into the binary.");
        cg_line(out, "const WEIGHTS: &[u8] = include_bytes!(\"../model.safetensors\");");
        cg_blank(out);
    }
    m2c_buf_puts(&out->buf, rest.s);
    m2c_buf_free(&rest);
    return true;
}
