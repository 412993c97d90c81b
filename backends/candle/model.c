/* backends/candle/model.c — src/model.rs: the `Model` struct, its constructors and forward.
 *
 * The forward body is generated first, into memory, so the struct knows which weights and constants it
 * reads and the function knows which dims it must bind; then the file is assembled in reading order.
 * Every node is lowered even after one fails, so all unsupported nodes are reported together. */
#include "cg.h"

#include <string.h>

static void add_st(CgCrate *c, const char *name, const IrTensor *t)
{
    CgStTensor s = {name, t, false};
    m2c_vec_push(c->g->arena, &c->st, s);
}

static const char *value_type_doc(IrGraph *g, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    M2cBuf b = {0};
    m2c_buf_printf(&b, "%s (", ir_dtype_name(val->dtype));
    for (int i = 0; i < val->rank; i++) {
        if (i) m2c_buf_puts(&b, ", ");
        ir_dim_print(g, val->dims[i], &b);
    }
    m2c_buf_puts(&b, val->rank == 1 ? ",)" : ")");
    const char *s = m2c_strdup(g->arena, b.s);
    m2c_buf_free(&b);
    return s;
}

/* needle occurs in text as a whole identifier (not as the end of another one: Conv1D:: is no D::) */
static bool names(const char *text, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
        char b = p == text ? ' ' : p[-1];
        bool ident = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9') || b == '_';
        if (!ident || needle[0] == '.') return true;
        (void)n;
    }
    return false;
}

/* `use` lines for exactly the items the text names. */
void cg_write_uses(CgCrate *c, CgOut *o, const char *text)
{
    static const struct {
        const char *item, *needle;
    } core[] = {{"DType", "DType::"}, {"Device", "Device"}, {"IndexOp", ".i("}, {"Module", NULL},
                {"Result", "Result<"}, {"Tensor", "Tensor"}, {"D", "D::"}};
    M2cBuf b = {0};
    int n = 0;
    for (size_t i = 0; i < sizeof core / sizeof *core; i++) {
        bool used = core[i].needle ? names(text, core[i].needle) : (c->nn_items & CG_NN_MODULE) != 0;
        if (used) m2c_buf_printf(&b, "%s%s", n++ ? ", " : "", core[i].item);
    }
    cg_line(o, n == 1 ? "use candle_core::%s;" : "use candle_core::{%s};", b.s);
    m2c_buf_free(&b);
    static const struct {
        unsigned flag;
        const char *item;
    } nn[] = {{CG_NN_EMBEDDING, "embedding"}, {CG_NN_LAYER_NORM, "layer_norm"}, {CG_NN_LAYER_NORM_NO_BIAS, "layer_norm_no_bias"},
              {CG_NN_LINEAR, "linear"}, {CG_NN_LINEAR_NO_BIAS, "linear_no_bias"}, {CG_NN_EMBEDDING_T, "Embedding"},
              {CG_NN_LAYER_NORM_T, "LayerNorm"}, {CG_NN_LINEAR_T, "Linear"}, {CG_NN_RMS_NORM, "rms_norm"},
              {CG_NN_RMS_NORM_T, "RmsNorm"}};
    n = 0;
    for (size_t i = 0; i < sizeof nn / sizeof *nn; i++)
        if (c->nn_items & nn[i].flag) m2c_buf_printf(&b, "%s%s", n++ ? ", " : "", nn[i].item);
    if (names(text, "KvCache")) m2c_buf_printf(&b, "%skv_cache::KvCache", n++ ? ", " : "");
    m2c_buf_printf(&b, "%sVarBuilder", n++ ? ", " : "");
    cg_line(o, n == 1 ? "use candle_nn::%s;" : "use candle_nn::{%s};", b.s);
    m2c_buf_free(&b);
    bool fused = c->kernels && names(text, "fused::");
    if (c->any_helper || fused) cg_blank(o);
    if (fused) cg_line(o, "use crate::fused;");
    if (c->any_helper) cg_line(o, "use crate::onnx_ops;");
}

/* One node of the flat model's body as candle code. */
static void flat_item(CgFn *f, uint32_t item, bool in_block, void *ctx)
{
    const IrNode *node = ir_node(f->g, ((const uint32_t *)ctx)[item]);
    if (node->loc.node && node->loc.node[0]) cg_comment(f, "onnx: %s", node->loc.node);
    if (cg_lower_node(f, node)) {
        if (!in_block) cg_fn_bind_outputs(f, node);
    } else {
        /* already reported; its readers must not report it again */
        for (uint32_t o = 0; o < node->nout; o++)
            if (node->out[o] != IR_NONE && !f->ref[node->out[o]]) f->ref[node->out[o]] = "<failed>";
    }
}

bool cg_emit_flat_model(CgCrate *c, CgOut *out_param, const char *doc)
{
    CgOut *out = out_param;
    IrGraph *g = c->g;
    CgOut body = {{0}, 2};
    CgFn f;
    cg_fn_init(&f, g, c, &body);
    ir_fill_uses(g);
    M2cBuf params = {0};
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        uint32_t v = g->inputs.v[i];
        cg_fn_param(&f, v, ir_val(g, v)->name);
        m2c_buf_printf(&params, ", %s: &Tensor", f.ref[v]);
    }
    /* the body: one item per node; a group with a fused kernel is written at its last node (kernels.c) */
    M2C_VEC(uint32_t) order = {0};
    for (uint32_t n = 0; n < g->nodes.n; n++)
        if (!g->nodes.v[n].dead) m2c_vec_push(g->arena, &order, n);
    CgItem *items = m2c_alloc_array(g->arena, order.n ? order.n : 1, sizeof *items);
    for (uint32_t i = 0; i < order.n; i++) items[i] = (CgItem){&order.v[i], 1, NULL, IR_NONE, IR_NONE};
    CgSites *sites = cg_kernel_sites(&f, items, order.n);
    for (uint32_t i = 0; i < order.n; i++) {
        if (cg_kernel_member(sites, i)) continue;
        if (cg_kernel_root(sites, i)) cg_kernel_emit(&f, sites, i, flat_item, order.v);
        else flat_item(&f, i, false, order.v);
    }
    cg_kernel_sites_free(sites);
    /* the return value: each output in ONNX order (an output that is an input or a weight is cloned) */
    M2cBuf ret = {0};
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        uint32_t v = g->outputs.v[i];
        const char *r = cg_v(&f, v);
        bool owned = f.refkind[v] == REF_LOCAL;
        m2c_buf_printf(&ret, "%s%s%s", i ? ", " : "", r, owned ? "" : ".clone()");
    }
    if (f.failed || m2c_error_count()) {
        m2c_buf_free(&params), m2c_buf_free(&ret), m2c_buf_free(&body.buf);
        return false;
    }
    /* weights and constants the body read as tensors are stored under their names */
    for (uint32_t i = 0; i < f.fields.n; i++) {
        CgWeight *w = &f.fields.v[i];
        if (!(ir_val(g, w->value)->flags & V_PARAM)) {
            /* not a weight: compiled into the crate (constants.safetensors) */
            w->st_name = w->rel_name = m2c_sprintf(g->arena, "%s", w->field);
            CgStTensor ct = {w->st_name, w->tensor, false};
            m2c_vec_push(g->arena, &c->consts, ct);
            w->rel_name = NULL;
            cg_helper(&f, CG_HELPER_CONSTANT);
            continue;
        }
        if (!m2c_map_get(&c->st_names, w->st_name, NULL)) m2c_map_put(g->arena, &c->st_names, w->st_name, 1);
        add_st(c, w->st_name, w->tensor);
    }

    /* assemble: the struct and impl first, so the `use` lines can name exactly what they need */
    CgOut final = *out;
    CgOut rest = {{0}, 0};
    out = &rest;
    cg_line(out, "#[derive(Debug, Clone)]");
    cg_open(out, "pub struct Model {");
    for (uint32_t i = 0; i < f.fields.n; i++) cg_line(out, "%s: Tensor,", f.fields.v[i].field);
    if (f.uses_device) cg_line(out, "device: Device,");
    cg_close(out, "}");
    cg_blank(out);
    cg_open(out, "impl Model {");
    cg_line(out, "/// Loads the weights from a safetensors file (`model.safetensors` next to this crate's Cargo.toml).");
    cg_open(out, "pub fn load<P: AsRef<std::path::Path>>(path: P, device: &Device) -> Result<Self> {");
    cg_line(out, "// SAFETY: the file is mapped read-only and must not change while the model is alive.");
    cg_line(out, "let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], %s, device)? };",
            cg_candle_dtype(c->opt->float_dtype));
    cg_line(out, "Self::new(vb)");
    cg_close(out, "}");
    if (c->opt->embed_weights) {
        cg_blank(out);
        cg_line(out, "/// Builds the model from the weights compiled into the binary (`--embed-weights`).");
        cg_open(out, "pub fn load_embedded(device: &Device) -> Result<Self> {");
        cg_line(out, "let vb = VarBuilder::from_slice_safetensors(WEIGHTS, %s, device)?;", cg_candle_dtype(c->opt->float_dtype));
        cg_line(out, "Self::new(vb)");
        cg_close(out, "}");
    }
    cg_blank(out);
    cg_open(out, f.fields.n || f.uses_device ? "pub fn new(vb: VarBuilder) -> Result<Self> {"
                                              : "pub fn new(_vb: VarBuilder) -> Result<Self> {");
    cg_open(out, "Ok(Self {");
    for (uint32_t i = 0; i < f.fields.n; i++) {
        const CgWeight *w = &f.fields.v[i];
        M2cBuf shape = {0};
        m2c_buf_puts(&shape, "(");
        for (int k = 0; k < w->tensor->rank; k++) m2c_buf_printf(&shape, "%s%lld", k ? ", " : "", (long long)w->tensor->shape[k]);
        m2c_buf_puts(&shape, w->tensor->rank == 1 ? ",)" : ")");
        IrDType dt = w->tensor->dtype;
        bool main_float = dt == c->opt->float_dtype;
        if (!w->rel_name)
            cg_line(out, "%s: onnx_ops::constant(&vb, \"%s\")?,", w->field, w->st_name);
        else if (main_float)
            cg_line(out, "%s: vb.get(%s, \"%s\")?,", w->field, shape.s, w->rel_name);
        else
            cg_line(out, "%s: vb.to_dtype(%s).get(%s, \"%s\")?,", w->field, cg_candle_dtype(dt), shape.s, w->rel_name);
        m2c_buf_free(&shape);
    }
    if (f.uses_device) cg_line(out, "device: vb.device().clone(),");
    cg_close(out, "})");
    cg_close(out, "}");
    cg_blank(out);
    for (uint32_t i = 0; i < g->inputs.n; i++)
        cg_line(out, "/// `%s`: %s", f.ref[g->inputs.v[i]], value_type_doc(g, g->inputs.v[i]));
    cg_line(out, "///");
    if (g->outputs.n == 1) {
        cg_line(out, "/// Returns `%s`: %s.", ir_val(g, g->outputs.v[0])->name, value_type_doc(g, g->outputs.v[0]));
    } else {
        cg_line(out, "/// Returns, in order:");
        for (uint32_t i = 0; i < g->outputs.n; i++)
            cg_line(out, "/// `%s`: %s", ir_val(g, g->outputs.v[i])->name, value_type_doc(g, g->outputs.v[i]));
    }
    if (g->inputs.n > 6) cg_line(out, "#[allow(clippy::too_many_arguments)]");
    M2cBuf rtype = {0};
    if (g->outputs.n == 1) {
        m2c_buf_puts(&rtype, "Tensor");
    } else {
        m2c_buf_puts(&rtype, "(");
        for (uint32_t i = 0; i < g->outputs.n; i++) m2c_buf_printf(&rtype, "%sTensor", i ? ", " : "");
        m2c_buf_puts(&rtype, ")");
        if (g->outputs.n > 3) cg_line(out, "#[allow(clippy::type_complexity)]");
    }
    cg_open(out, "pub fn forward(&self%s) -> Result<%s> {", params.s ? params.s : "", rtype.s);
    cg_fn_symbol_lets(&f, out);
    m2c_buf_puts(&out->buf, body.buf.s ? body.buf.s : "");
    cg_line(out, g->outputs.n == 1 ? "Ok(%s)" : "Ok((%s))", ret.s);
    cg_close(out, "}");
    cg_close(out, "}");
    cg_line(&final, "//! %s", doc);
    cg_write_uses(c, &final, rest.buf.s);
    cg_blank(&final);
    if (c->opt->embed_weights) {
        cg_line(&final, "/// The weights (model.safetensors), compiled into the binary.");
        cg_line(&final, "const WEIGHTS: &[u8] = include_bytes!(\"../model.safetensors\");");
        cg_blank(&final);
    }
    m2c_buf_puts(&final.buf, rest.buf.s);
    *(CgOut *)out_param = final;
    m2c_buf_free(&rest.buf);
    m2c_buf_free(&params), m2c_buf_free(&ret), m2c_buf_free(&rtype), m2c_buf_free(&body.buf);
    return true;
}
