/* cli/inspect.c — `ml2candle inspect`: what the compiler sees in a model.
 *
 * Imports the model, runs the passes, and reports the interface with its symbolic dims, opsets, op
 * histogram, parameters, fusions and the blocks they form, repeated layers, and every unsupported node at once (on stderr too, one
 * line each, and exit code 1).  --after PASS prints the IR text instead; --dot writes Graphviz. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *model;
    bool json;
    const char *dot;
    const char *after;
} InspectArgs;

typedef struct {
    const char *name;
    uint32_t count;
} OpCount;

typedef struct {
    const char *node, *op, *domain;
    int opset;
} Unsupported;

static int cmp_opcount(const void *a, const void *b)
{
    const OpCount *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->name, y->name);
}

static const char *node_op_name(const IrNode *n)
{
    if (n->op != IR_OP_UNKNOWN) return ir_op_name(n->op);
    return n->op_type;
}

static uint32_t op_histogram(IrGraph *g, OpCount **out)
{
    M2C_VEC(OpCount) h = {0};
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        if (g->nodes.v[n].dead) continue;
        const char *name = node_op_name(&g->nodes.v[n]);
        uint32_t i = 0;
        while (i < h.n && strcmp(h.v[i].name, name) != 0) i++;
        if (i == h.n) m2c_vec_push(g->arena, &h, ((OpCount){name, 0}));
        h.v[i].count++;
    }
    if (h.n) qsort(h.v, h.n, sizeof *h.v, cmp_opcount);
    *out = h.v;
    return h.n;
}

static const char *type_str(IrGraph *g, uint32_t v)
{
    M2cBuf b = {0};
    ir_print_value_type(g, v, &b);
    const char *s = m2c_strdup(g->arena, b.s ? b.s : "");
    m2c_buf_free(&b);
    return s;
}

static void json_values(Json *j, IrGraph *g, const uint32_t *vals, uint32_t n)
{
    json_begin_array(j);
    for (uint32_t i = 0; i < n; i++) {
        const IrValue *v = ir_val(g, vals[i]);
        json_begin_object(j);
        json_key(j, "name");
        json_string(j, v->name);
        json_key(j, "dtype");
        json_string(j, ir_dtype_name(v->dtype));
        json_key(j, "shape");
        if (v->rank < 0) {
            json_null(j);
        } else {
            json_begin_array(j);
            for (int k = 0; k < v->rank; k++) {
                int64_t c;
                if (ir_dim_const_value(g, v->dims[k], &c))
                    json_int(j, c);
                else
                    json_string(j, ir_dim_str(g, v->dims[k]));
            }
            json_end_array(j);
        }
        json_end_object(j);
    }
    json_end_array(j);
}

static void report_json(IrGraph *g, M2cBuf *out, uint32_t onnx_nodes, const Unsupported *unsup, uint32_t nunsup)
{
    Json j = {out, 0, {false}, false};
    OpCount *ops;
    uint32_t nops = op_histogram(g, &ops);
    ScopeLayers *layers;
    uint32_t nlayers = pass_scope_layers(g, &layers);
    uint32_t live = 0;
    for (uint32_t n = 0; n < g->nodes.n; n++) live += !g->nodes.v[n].dead;
    json_begin_object(&j);
    json_key(&j, "model");
    json_string(&j, g->file);
    json_key(&j, "graph");
    json_string(&j, g->name);
    json_key(&j, "producer");
    json_string(&j, g->producer ? g->producer : "");
    json_key(&j, "ir_version");
    json_int(&j, g->ir_version);
    json_key(&j, "opsets");
    json_begin_object(&j);
    for (uint32_t i = 0; i < g->opsets.n; i++) {
        json_key(&j, g->opsets.v[i].domain[0] ? g->opsets.v[i].domain : "ai.onnx");
        json_int(&j, g->opsets.v[i].version);
    }
    json_end_object(&j);
    json_key(&j, "inputs");
    json_values(&j, g, g->inputs.v, g->inputs.n);
    json_key(&j, "outputs");
    json_values(&j, g, g->outputs.v, g->outputs.n);
    json_key(&j, "onnx_nodes");
    json_int(&j, onnx_nodes);
    json_key(&j, "nodes");
    json_int(&j, live);
    json_key(&j, "ops");
    json_begin_object(&j);
    for (uint32_t i = 0; i < nops; i++) {
        json_key(&j, ops[i].name);
        json_int(&j, ops[i].count);
    }
    json_end_object(&j);
    json_key(&j, "params");
    json_int(&j, ir_param_count(g));
    json_key(&j, "param_bytes");
    json_int(&j, (long long)ir_param_bytes(g));
    json_key(&j, "symbols");
    json_begin_array(&j);
    for (uint32_t i = 0; i < g->symbols.n; i++) json_string(&j, g->symbols.v[i].name);
    json_end_array(&j);
    json_key(&j, "unsupported");
    json_begin_array(&j);
    for (uint32_t i = 0; i < nunsup; i++) {
        json_begin_object(&j);
        json_key(&j, "node");
        json_string(&j, unsup[i].node);
        json_key(&j, "op");
        json_string(&j, unsup[i].op);
        json_key(&j, "domain");
        json_string(&j, unsup[i].domain);
        json_key(&j, "opset");
        json_int(&j, unsup[i].opset);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_key(&j, "fusions");
    json_begin_object(&j);
    for (uint32_t i = 0; i < nops; i++) {
        IrOp op = IR_OP_UNKNOWN;
        for (uint32_t n = 0; n < g->nodes.n && op == IR_OP_UNKNOWN; n++)
            if (!g->nodes.v[n].dead && strcmp(node_op_name(&g->nodes.v[n]), ops[i].name) == 0) op = g->nodes.v[n].op;
        if (op != IR_OP_UNKNOWN && (ir_op_info[op].flags & F_FUSED_FORM)) {
            json_key(&j, ops[i].name);
            json_int(&j, ops[i].count);
        }
    }
    json_end_object(&j);
    PassBlockCounts bc;
    pass_count_blocks(g, &bc);
    json_key(&j, "blocks");
    json_begin_object(&j);
    json_key(&j, "attention");
    json_int(&j, bc.attention);
    json_key(&j, "ffn");
    json_int(&j, bc.ffn);
    json_key(&j, "gated_ffn");
    json_int(&j, bc.gated_ffn);
    json_key(&j, "norms");
    json_int(&j, bc.norms);
    json_key(&j, "residual_norms");
    json_int(&j, bc.residual_norms);
    json_key(&j, "rope");
    json_int(&j, bc.rope);
    json_end_object(&j);
    json_key(&j, "layers");
    json_begin_array(&j);
    for (uint32_t i = 0; i < nlayers; i++) {
        json_begin_object(&j);
        json_key(&j, "path");
        json_string(&j, layers[i].path);
        json_key(&j, "count");
        json_int(&j, layers[i].count);
        json_key(&j, "class");
        if (layers[i].cls)
            json_string(&j, layers[i].cls);
        else
            json_null(&j);
        json_end_object(&j);
    }
    json_end_array(&j);
    json_end_object(&j);
    m2c_buf_puts(out, "\n");
}

static void report_text(IrGraph *g, M2cBuf *out, uint32_t onnx_nodes, const Unsupported *unsup, uint32_t nunsup)
{
    OpCount *ops;
    uint32_t nops = op_histogram(g, &ops);
    ScopeLayers *layers;
    uint32_t nlayers = pass_scope_layers(g, &layers);
    uint32_t live = 0;
    for (uint32_t n = 0; n < g->nodes.n; n++) live += !g->nodes.v[n].dead;
    m2c_buf_printf(out, "model        %s\n", g->file);
    m2c_buf_printf(out, "graph        %s (%s, IR version %lld)\n", g->name, g->producer ? g->producer : "unknown producer",
                   (long long)g->ir_version);
    m2c_buf_puts(out, "opsets      ");
    for (uint32_t i = 0; i < g->opsets.n; i++)
        m2c_buf_printf(out, " %s %lld", g->opsets.v[i].domain[0] ? g->opsets.v[i].domain : "ai.onnx",
                       (long long)g->opsets.v[i].version);
    m2c_buf_puts(out, "\n");
    for (uint32_t i = 0; i < g->inputs.n; i++)
        m2c_buf_printf(out, "%-12s %-24s %s\n", i ? "" : "inputs", ir_val(g, g->inputs.v[i])->name,
                       type_str(g, g->inputs.v[i]));
    for (uint32_t i = 0; i < g->outputs.n; i++)
        m2c_buf_printf(out, "%-12s %-24s %s\n", i ? "" : "outputs", ir_val(g, g->outputs.v[i])->name,
                       type_str(g, g->outputs.v[i]));
    m2c_buf_printf(out, "params       %u tensors, %llu bytes (%u PyTorch weights by name)\n", ir_param_count(g),
                   (unsigned long long)ir_param_bytes(g), g->params.n);
    m2c_buf_printf(out, "nodes        %u in the ONNX graph, %u after the passes\n", onnx_nodes, live);
    m2c_buf_puts(out, "ops         ");
    for (uint32_t i = 0; i < nops; i++) m2c_buf_printf(out, "%s %s %u", i ? "," : "", ops[i].name, ops[i].count);
    m2c_buf_puts(out, "\n");
    PassBlockCounts bc;
    pass_count_blocks(g, &bc);
    m2c_buf_printf(out, "blocks       attention %u, FFN %u (%u gated), norms %u (%u of a residual sum), RoPE %u\n",
                   bc.attention, bc.ffn, bc.gated_ffn, bc.norms, bc.residual_norms, bc.rope);
    if (bc.attention) {
        PassKvInfo kv;
        if (pass_kv_cache(g, &kv, false))
            m2c_buf_printf(out, "decoding     KV cache per attention (%u), forward(%s, seqlen_offset)\n", bc.attention,
                           ir_val(g, kv.tokens)->name);
        else
            m2c_buf_printf(out, "decoding     no KV cache: %s\n", kv.why_not);
    }
    if (nlayers == 0) m2c_buf_puts(out, "layers       none found\n");
    for (uint32_t i = 0; i < nlayers; i++)
        m2c_buf_printf(out, "%-12s %s x%u%s%s%s\n", i ? "" : "layers", layers[i].path, layers[i].count,
                       layers[i].cls ? " (" : "", layers[i].cls ? layers[i].cls : "", layers[i].cls ? ")" : "");
    if (nunsup == 0) m2c_buf_puts(out, "unsupported  none\n");
    for (uint32_t i = 0; i < nunsup; i++)
        m2c_buf_printf(out, "%-12s node '%s': %s (domain '%s', opset %d)\n", i ? "" : "unsupported", unsup[i].node,
                       unsup[i].op, unsup[i].domain, unsup[i].opset);
}

static int parse_args(int argc, char **argv, InspectArgs *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--json") == 0) {
            a->json = true;
        } else if (strcmp(s, "--no-fuse") == 0) {
            pass_set_fusion(false);
        } else if (strcmp(s, "--dot") == 0 || strcmp(s, "--after") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "ml2candle inspect: %s needs an argument\n", s);
                return M2C_EXIT_USAGE;
            }
            if (s[2] == 'd') a->dot = argv[++i];
            else a->after = argv[++i];
        } else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            cli_usage(stdout);
            return -1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "ml2candle inspect: unknown option '%s'\n", s);
            return M2C_EXIT_USAGE;
        } else if (a->model) {
            fprintf(stderr, "ml2candle inspect: one model at a time ('%s' and '%s')\n", a->model, s);
            return M2C_EXIT_USAGE;
        } else {
            a->model = s;
        }
    }
    if (!a->model) {
        fprintf(stderr, "ml2candle inspect: no model given\n");
        cli_usage(stderr);
        return M2C_EXIT_USAGE;
    }
    if (a->after && strcmp(a->after, "import") != 0 && !pass_find(a->after)) {
        fprintf(stderr, "ml2candle inspect: unknown pass '%s' (import, infer, fold, dce, canon, fuse)\n", a->after);
        return M2C_EXIT_USAGE;
    }
    return 0;
}

int cli_inspect(int argc, char **argv)
{
    InspectArgs a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? M2C_EXIT_OK : rc;
    m2c_diag_reset(a.model);
    IrGraph *g = onnx_import(a.model);
    if (!g) return m2c_exit_code();
    uint32_t onnx_nodes = g->nodes.n;
    M2C_VEC(Unsupported) unsup = {0};
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->op != IR_OP_UNKNOWN) continue;
        Unsupported u = {node->loc.node && node->loc.node[0] ? node->loc.node : m2c_sprintf(g->arena, "#%d", node->loc.index),
                         node->op_type, node->domain, node->opset};
        m2c_vec_push(g->arena, &unsup, u);
        m2c_error(&node->loc, "unsupported op %s (domain '%s', opset %d)", node->op_type, node->domain, node->opset);
    }
    bool ok = true;
    if (!a.after || strcmp(a.after, "import") != 0) ok = pass_run_pipeline(g, a.after);
    M2cBuf out = {0};
    if (a.after) {
        ir_print(g, &out);
    } else if (ok || unsup.n) {
        if (a.json)
            report_json(g, &out, onnx_nodes, unsup.v, unsup.n);
        else
            report_text(g, &out, onnx_nodes, unsup.v, unsup.n);
    }
    if (out.s) fputs(out.s, stdout);
    m2c_buf_free(&out);
    if (a.dot) {
        FILE *f = fopen(a.dot, "w");
        if (!f) {
            m2c_io_error("cannot write '%s'", a.dot);
        } else {
            ir_print_dot(g, f);
            if (fclose(f) != 0) m2c_io_error("cannot write '%s'", a.dot);
        }
    }
    ir_graph_free(g);
    return m2c_exit_code();
}
