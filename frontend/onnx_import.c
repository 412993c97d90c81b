/* frontend/onnx_import.c — ModelProto to IrGraph.
 *
 * The model file is mapped; wire.c re-encodes it without the large raw_data fields (they stay in the map,
 * referenced) and protobuf-c decodes that skeleton into the graph's arena.  Then, in order: opsets,
 * initializers (also those listed as inputs), inputs with symbolic dims, nodes (Constant nodes become
 * constants; every other node keeps its op, even an unknown one, so that all unsupported nodes are listed
 * at once), node inputs resolved by name, outputs, value_info hints, a cycle check, upgrades to the newest
 * op signatures, and module scopes.  Every problem is reported; any error means no graph. */
#include "import.h"

#include <ctype.h>
#include <libgen.h>
#include <string.h>

#define MAX_DIM ((int64_t)1 << 40)

static void *pb_alloc(void *arena, size_t n)
{
    return m2c_alloc(arena, n);
}

static void pb_free(void *arena, void *p)
{
    (void)arena, (void)p;   /* the arena goes all at once */
}

static const char *str_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

/* dim_param names become identifiers, so they print, parse and name Rust variables. */
static const char *symbol_name(M2cArena *a, const char *s)
{
    size_t n = strlen(s);
    char *out = m2c_alloc(a, n + 2);
    size_t k = 0;
    if (n == 0 || isdigit((unsigned char)s[0])) out[k++] = '_';
    for (size_t i = 0; i < n; i++) out[k++] = isalnum((unsigned char)s[i]) ? s[i] : '_';
    out[k] = 0;
    return out;
}

static SrcLoc node_loc(const Onnx__NodeProto *np, int32_t index)
{
    return (SrcLoc){str_or(np->name, ""), index, str_or(np->op_type, "?")};
}

/* --- types ----------------------------------------------------------------------------------------------- */

static const char *type_case_name(Onnx__TypeProto__ValueCase c)
{
    switch (c) {
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: return "a sequence";
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: return "a map";
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: return "an optional";
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE: return "a sparse tensor";
    case ONNX__TYPE_PROTO__VALUE_OPAQUE_TYPE: return "an opaque";
    default: return "no";
    }
}

/* Sets value v's dtype and shape from a ValueInfoProto.  `strict` (graph inputs and outputs): a type we
 * cannot handle is an error; otherwise (value_info hints) it is ignored. */
static void set_value_type(Importer *imp, uint32_t v, const Onnx__ValueInfoProto *vi, const char *role, bool strict)
{
    IrGraph *g = imp->g;
    const char *name = ir_val(g, v)->name;
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        if (strict && (tp || strcmp(role, "input") == 0))
            m2c_error(NULL, "graph %s '%s' has %s type; only tensors are supported", role, name,
                      tp ? type_case_name(tp->value_case) : "no");
        return;
    }
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    IrDType dt = (IrDType)tt->elem_type;
    if (!ir_dtype_supported(dt)) {
        if (strict) {
            if ((unsigned)dt > DT_ONNX_MAX || dt == DT_UNDEF)
                m2c_error(NULL, "graph %s '%s' has unknown element type %d", role, name, (int)dt);
            else
                m2c_error(NULL, "graph %s '%s' has element type %s, which is not supported", role, name,
                          ir_dtype_onnx_name(dt));
        }
        return;
    }
    if (!tt->shape) {
        ir_value_set_shape(g, v, dt, -1, NULL);
        return;
    }
    if (tt->shape->n_dim > IR_MAX_RANK) {
        if (strict) m2c_error(NULL, "graph %s '%s' has rank %zu, above the supported %d", role, name,
                              tt->shape->n_dim, IR_MAX_RANK);
        return;
    }
    IrDim dims[IR_MAX_RANK];
    int rank = (int)tt->shape->n_dim;
    for (int i = 0; i < rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0 || d->dim_value > MAX_DIM) {
                if (strict) m2c_error(NULL, "graph %s '%s' has an invalid dim %lld at axis %d", role, name,
                                      (long long)d->dim_value, i);
                return;
            }
            dims[i] = ir_dim_const(g, d->dim_value);
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param[0]) {
            dims[i] = ir_dim_sym(g, symbol_name(g->arena, d->dim_param));
        } else {
            /* a dynamic axis without a name: invent one after the value */
            dims[i] = ir_dim_sym(g, m2c_sprintf(g->arena, "%s_dim%d", symbol_name(g->arena, name), i));
        }
    }
    ir_value_set_shape(g, v, dt, rank, dims);
}

/* --- attributes ------------------------------------------------------------------------------------------ */

/* protobuf-c leaves an absent or empty bytes field with a NULL data pointer */
static const char *bytes_str(M2cArena *a, ProtobufCBinaryData b)
{
    return b.len ? m2c_strndup(a, (const char *)b.data, b.len) : "";
}

static bool import_attr(Importer *imp, IrNode *n, const Onnx__AttributeProto *ap, const SrcLoc *loc)
{
    IrGraph *g = imp->g;
    const char *name = ap->name;
    if (!name || !name[0]) {
        m2c_error(loc, "attribute without a name");
        return false;
    }
    if (ap->ref_attr_name) {
        m2c_error(loc, "attribute '%s' refers to a function attribute ('%s'), which is only valid in functions", name,
                  ap->ref_attr_name);
        return false;
    }
    Onnx__AttributeProto__AttributeType type = ap->has_type ? ap->type : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
    if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
        /* IR version 1 had no type field: the field that is set says it */
        if (ap->g || ap->n_graphs) type = ap->g ? ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH : ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
        else if (ap->t) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        else if (ap->n_floats) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        else if (ap->n_ints) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        else if (ap->n_strings) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
        else if (ap->has_s) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        else if (ap->has_f) type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        else type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    }
    const char *what = m2c_sprintf(g->arena, "node '%s' (%s): attribute '%s'", loc->node, loc->op, name);
    IrAttr *a;
    switch (type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
        ir_attr_set_float(g, n, name, ap->f);
        return true;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
        ir_attr_set_int(g, n, name, ap->i);
        return true;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
        a = ir_attr_add(g, n, name, ATTR_STRING);
        a->u.s = bytes_str(g->arena, ap->s);
        a->n = (uint32_t)ap->s.len;
        return true;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: {
        a = ir_attr_add(g, n, name, ATTR_FLOATS);
        double *fs = m2c_alloc_array(g->arena, ap->n_floats, sizeof *fs);
        for (size_t i = 0; i < ap->n_floats; i++) fs[i] = ap->floats[i];
        a->u.fs = fs;
        a->n = (uint32_t)ap->n_floats;
        return true;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
        ir_attr_set_ints(g, n, name, ap->ints, (uint32_t)ap->n_ints);
        return true;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS: {
        a = ir_attr_add(g, n, name, ATTR_STRINGS);
        const char **ss = m2c_alloc_array(g->arena, ap->n_strings, sizeof *ss);
        for (size_t i = 0; i < ap->n_strings; i++)
            ss[i] = bytes_str(g->arena, ap->strings[i]);
        a->u.ss = ss;
        a->n = (uint32_t)ap->n_strings;
        return true;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: {
        IrTensor *t = type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
                          ? (ap->t ? onnx_tensor(imp, ap->t, what) : NULL)
                          : (ap->sparse_tensor ? onnx_sparse_tensor(imp, ap->sparse_tensor, what) : NULL);
        if (!t) {
            if (!ap->t && !ap->sparse_tensor) m2c_error(loc, "attribute '%s' has no tensor", name);
            return false;
        }
        ir_attr_add(g, n, name, ATTR_TENSOR)->u.t = t;
        return true;
    }
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH:
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS:
        m2c_error(loc, "attribute '%s' is a subgraph; control flow (If/Loop/Scan) is not supported yet", name);
        return false;
    default:
        m2c_error(loc, "attribute '%s' has type %d (tensor lists, type protos), which is not supported", name, (int)type);
        return false;
    }
}

/* Constant node -> constant value, from whichever of its attribute forms is set. */
static IrTensor *constant_tensor(Importer *imp, const Onnx__NodeProto *np, const SrcLoc *loc)
{
    IrGraph *g = imp->g;
    if (np->n_attribute != 1) {
        m2c_error(loc, "Constant needs exactly one attribute, has %zu", np->n_attribute);
        return NULL;
    }
    const Onnx__AttributeProto *ap = np->attribute[0];
    const char *name = str_or(ap->name, "");
    const char *what = m2c_sprintf(g->arena, "node '%s' (Constant): attribute '%s'", loc->node, name);
    IrTensor *t = NULL;
    if (strcmp(name, "value") == 0 && ap->t) {
        t = onnx_tensor(imp, ap->t, what);
    } else if (strcmp(name, "sparse_value") == 0 && ap->sparse_tensor) {
        t = onnx_sparse_tensor(imp, ap->sparse_tensor, what);
    } else if (strcmp(name, "value_float") == 0) {
        t = ir_tensor_new(g, DT_F32, 0, NULL);
        ir_tensor_set_f64(t, 0, ap->f);
    } else if (strcmp(name, "value_int") == 0) {
        t = ir_tensor_new(g, DT_I64, 0, NULL);
        ir_tensor_set_i64(t, 0, ap->i);
    } else if (strcmp(name, "value_floats") == 0) {
        int64_t n = (int64_t)ap->n_floats;
        t = ir_tensor_new(g, DT_F32, 1, &n);
        for (size_t i = 0; i < ap->n_floats; i++) ir_tensor_set_f64(t, i, ap->floats[i]);
    } else if (strcmp(name, "value_ints") == 0) {
        int64_t n = (int64_t)ap->n_ints;
        t = ir_tensor_new(g, DT_I64, 1, &n);
        for (size_t i = 0; i < ap->n_ints; i++) ir_tensor_set_i64(t, i, ap->ints[i]);
    } else if (strcmp(name, "value_string") == 0 || strcmp(name, "value_strings") == 0) {
        m2c_error(loc, "string constants are not supported");
    } else {
        m2c_error(loc, "Constant has an unexpected attribute '%s'", name);
    }
    return t;
}

/* --- scopes ---------------------------------------------------------------------------------------------- */

/* No PyTorch model nests modules this deep; a deeper path comes from a malformed name and is ignored (the
 * node stays at the root), so that scope paths cannot grow quadratically or recurse without bound. */
enum { MAX_SCOPE_DEPTH = 64 };

/* ir_scope_get makes missing parents by recursion; making them here from the root down keeps that
 * recursion one level deep whatever the path. */
static IrScopeId get_scope(IrGraph *g, const char *path, const char *cls)
{
    int depth = 0;
    for (const char *s = path; *s; s++) depth += *s == '.';
    if (depth >= MAX_SCOPE_DEPTH) return 0;
    for (const char *s = strchr(path, '.'); s; s = strchr(s + 1, '.'))
        ir_scope_get(g, m2c_strndup(g->arena, path, (size_t)(s - path)), NULL);
    return ir_scope_get(g, path, cls);
}

static IrScopeId node_scope(Importer *imp, const Onnx__NodeProto *np)
{
    IrGraph *g = imp->g;
    const char *scopes_repr = NULL, *classes_repr = NULL;
    for (size_t i = 0; i < np->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = np->metadata_props[i];
        if (!e->key || !e->value) continue;
        if (strcmp(e->key, "pkg.torch.onnx.name_scopes") == 0) scopes_repr = e->value;
        if (strcmp(e->key, "pkg.torch.onnx.class_hierarchy") == 0) classes_repr = e->value;
    }
    if (scopes_repr) {
        const char **scopes, **classes = NULL;
        uint32_t ns, nc = 0;
        if (onnx_parse_py_list(g->arena, scopes_repr, &scopes, &ns) && ns <= MAX_SCOPE_DEPTH) {
            if (classes_repr && !onnx_parse_py_list(g->arena, classes_repr, &classes, &nc)) nc = 0;
            const char *path, **pp, **pc;
            uint32_t np_;
            onnx_scope_from_dynamo(g->arena, scopes, ns, classes, nc, &path, &pp, &pc, &np_);
            IrScopeId id = 0;
            for (uint32_t i = 0; i < np_; i++) {
                id = get_scope(g, pp[i], pc[i]);
                if (id == 0) break;
            }
            return id;
        }
    }
    const char *path = onnx_scope_from_torchscript_name(g->arena, np->name);
    return path && path[0] ? get_scope(g, path, NULL) : 0;
}

/* The PyTorch name of a weight the dynamo optimizer folded (e.g. transposed): folded_from=['fc.weight']. */
static const char *folded_from(Importer *imp, const Onnx__TensorProto *t)
{
    for (size_t i = 0; i < t->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = t->metadata_props[i];
        if (!e->key || !e->value || strcmp(e->key, "pkg.onnxscript.optimizer.folded_from") != 0) continue;
        const char **items;
        uint32_t n;
        if (onnx_parse_py_list(imp->g->arena, e->value, &items, &n) && n == 1) return items[0];
    }
    return NULL;
}

/* --- cycles ---------------------------------------------------------------------------------------------- */

/* Depth-first search over producers; reports the first cycle found as a path of node names. */
static void report_cycle(IrGraph *g)
{
    ir_fill_producers(g);
    uint32_t nn = g->nodes.n;
    uint8_t *color = m2c_alloc(g->arena, nn ? nn : 1);   /* 0 new, 1 on stack, 2 done */
    uint32_t *stack = m2c_alloc_array(g->arena, nn ? nn : 1, sizeof *stack);
    uint32_t *next_in = m2c_alloc_array(g->arena, nn ? nn : 1, sizeof *next_in);
    for (uint32_t root = 0; root < nn; root++) {
        if (color[root]) continue;
        uint32_t sp = 0;
        stack[sp++] = root;
        color[root] = 1;
        next_in[root] = 0;
        while (sp) {
            uint32_t n = stack[sp - 1];
            IrNode *node = &g->nodes.v[n];
            if (next_in[n] < node->nin) {
                uint32_t v = node->in[next_in[n]++];
                uint32_t p = v == IR_NONE ? IR_NONE : g->values.v[v].producer;
                if (p == IR_NONE || color[p] == 2) continue;
                if (color[p] == 1) {
                    M2cBuf b = {0};
                    uint32_t k = sp;
                    while (k > 0 && stack[k - 1] != p) k--;
                    for (uint32_t i = k - 1; i < sp; i++) {
                        const IrNode *c = &g->nodes.v[stack[i]];
                        m2c_buf_printf(&b, "'%s' (%s) -> ", c->loc.node && c->loc.node[0] ? c->loc.node : "?", c->op_type);
                    }
                    m2c_buf_printf(&b, "'%s'", g->nodes.v[p].loc.node ? g->nodes.v[p].loc.node : "?");
                    m2c_error(NULL, "the graph has a cycle: %s", b.s);
                    m2c_buf_free(&b);
                    return;
                }
                color[p] = 1;
                next_in[p] = 0;
                stack[sp++] = p;
            } else {
                color[n] = 2;
                sp--;
            }
        }
    }
    m2c_error(NULL, "the graph has a cycle");
}

/* --- the graph ------------------------------------------------------------------------------------------- */

/* Model-local functions by "domain\x1fname": a map, not a scan per node, since a hostile model can have
 * many of both. */
static const char *function_key(M2cArena *a, const char *domain, const char *name)
{
    return m2c_sprintf(a, "%s\x1f%s", domain, name);
}

static bool is_model_function(Importer *imp, const Onnx__ModelProto *m, const char *domain, const char *op)
{
    IrGraph *g = imp->g;
    if (!m->n_functions) return false;
    if (!imp->functions.cap) {
        for (size_t i = 0; i < m->n_functions; i++) {
            const Onnx__FunctionProto *f = m->functions[i];
            if (f->name) m2c_map_put(g->arena, &imp->functions, function_key(g->arena, str_or(f->domain, ""), f->name), 1);
        }
        if (!imp->functions.cap) return false;
    }
    return m2c_map_get(&imp->functions, function_key(g->arena, domain, op), NULL);
}

/* Real models import a handful of domains; this bound keeps the duplicate check below cheap. */
enum { MAX_OPSETS = 1024 };

static void import_opsets(Importer *imp, const Onnx__ModelProto *m)
{
    IrGraph *g = imp->g;
    if (m->n_opset_import > MAX_OPSETS) {
        m2c_error(NULL, "opset_import lists %zu domains, more than the %d a model can use", m->n_opset_import,
                  MAX_OPSETS);
        return;
    }
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        IrOpset os = {m2c_strdup(g->arena, str_or(o->domain, "")), o->has_version ? o->version : 1};
        if (ir_domain_is_onnx(os.domain)) os.domain = "";
        if (ir_opset(g, os.domain) >= 0) {
            m2c_error(NULL, "opset_import lists domain '%s' twice", os.domain);
            continue;
        }
        m2c_vec_push(g->arena, &g->opsets, os);
    }
    int64_t v = ir_opset(g, "");
    if (v < 0)
        m2c_error(NULL, "the model imports no opset of the default ONNX domain");
    else if (v < 1 || v > 28)
        /* before 7, the few ops whose meaning changed are rewritten or refused node by node (upgrade.c) */
        m2c_error(NULL, "ONNX opset %lld is not supported (ml2candle reads opsets 1 to 28; 13 to 23 are tested)",
                  (long long)v);
}

static void import_initializers(Importer *imp, const Onnx__GraphProto *gp)
{
    IrGraph *g = imp->g;
    for (size_t i = 0; i < gp->n_initializer + gp->n_sparse_initializer; i++) {
        bool sparse = i >= gp->n_initializer;
        const Onnx__TensorProto *t = sparse ? NULL : gp->initializer[i];
        const Onnx__SparseTensorProto *st = sparse ? gp->sparse_initializer[i - gp->n_initializer] : NULL;
        const char *name = sparse ? (st->values ? st->values->name : NULL) : t->name;
        if (!name || !name[0]) {
            m2c_error(NULL, "initializer #%zu has no name", i);
            continue;
        }
        if (ir_value_lookup(g, name) != IR_NONE) {
            m2c_error(NULL, "initializer '%s' is defined twice", name);
            continue;
        }
        const char *what = m2c_sprintf(g->arena, "initializer '%s'", name);
        IrTensor *x = sparse ? onnx_sparse_tensor(imp, st, what) : onnx_tensor(imp, t, what);
        if (!x) {
            /* still defined (as a weight without contents), so its users and its listing as an input do
             * not report it again */
            ir_val(g, ir_value_new(g, name))->flags |= V_PARAM;
            continue;
        }
        uint32_t v = ir_value_new(g, name);
        ir_value_set_const(g, v, x);
        ir_val(g, v)->flags |= V_PARAM | V_INIT;
        if (!sparse) ir_val(g, v)->state_name = folded_from(imp, t);
        m2c_vec_push(g->arena, &g->params, v);
    }
}

/* Same as ir_symbol_bind (the first input axis that carries a symbol defines it), but with an index:
 * ir_symbol_bind scans the list, and a hostile model can name 10^5 symbols (minutes, quadratically). */
static void bind_symbol(Importer *imp, const char *name, uint32_t v, int axis)
{
    IrGraph *g = imp->g;
    if (m2c_map_get(&imp->symbols, name, NULL)) return;
    IrSymbol s = {m2c_strdup(g->arena, name), v, axis};
    m2c_vec_push(g->arena, &g->symbols, s);
    m2c_map_put(g->arena, &imp->symbols, s.name, g->symbols.n - 1);
}

/* Which initializers are the model's weights (its PyTorch state_dict) and which are only constants the
 * export made (folded buffers, lifted tensors, non-persistent buffers such as position_ids).  Constants are
 * compiled into the generated crate, so a checkpoint saved from PyTorch loads as the weights.
 *
 * dynamo: the graph's `pkg.torch.export.ExportedProgram.graph_signature` lists each input's kind; only
 * PARAMETER and persistent BUFFER targets are in the state_dict.  TorchScript: folded initializers have
 * anonymous names (`onnx::MatMul_123`); later stages may still recognize them (a Linear's weight). */
static void mark_constants(Importer *imp, const Onnx__GraphProto *gp)
{
    IrGraph *g = imp->g;
    const char *sig = NULL;
    for (size_t i = 0; i < gp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = gp->metadata_props[i];
        if (e->key && e->value && strcmp(e->key, "pkg.torch.export.ExportedProgram.graph_signature") == 0) sig = e->value;
    }
    M2cMap state = {0};
    if (sig) {
        /* lines like: p_fc_weight: PARAMETER target='fc.weight'  /  b_pos: BUFFER target='pos' persistent=False */
        for (const char *line = sig; line && *line;) {
            const char *eol = strchr(line, '\n');
            size_t n = eol ? (size_t)(eol - line) : strlen(line);
            char *l = m2c_strndup(g->arena, line, n);
            const char *t = strstr(l, "target='");
            bool kind = strstr(l, ": PARAMETER ") || (strstr(l, ": BUFFER ") && !strstr(l, "persistent=False"));
            if (t && kind) {
                t += 8;
                const char *q = strchr(t, '\'');
                if (q) m2c_map_put(g->arena, &state, m2c_strndup(g->arena, t, (size_t)(q - t)), 1);
            }
            line = eol ? eol + 1 : NULL;
        }
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < g->params.n; i++) {
        uint32_t v = g->params.v[i];
        IrValue *val = ir_val(g, v);
        bool weight = sig ? m2c_map_get(&state, val->name, NULL) : !strstr(val->name, "::");
        if (weight) {
            g->params.v[kept++] = v;
        } else {
            val->flags &= ~(uint32_t)V_PARAM;
            val->flags |= V_CONST;
        }
    }
    g->params.n = kept;
}

static void import_inputs(Importer *imp, const Onnx__GraphProto *gp)
{
    IrGraph *g = imp->g;
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !vi->name[0]) {
            m2c_error(NULL, "graph input #%zu has no name", i);
            continue;
        }
        uint32_t v = ir_value_lookup(g, vi->name);
        if (v != IR_NONE) {
            if (!(ir_val(g, v)->flags & V_PARAM)) m2c_error(NULL, "graph input '%s' is listed twice", vi->name);
            continue;   /* an initializer also listed as an input (IR < 4): it stays a weight */
        }
        v = ir_value_new(g, vi->name);
        ir_val(g, v)->flags |= V_INPUT;
        set_value_type(imp, v, vi, "input", true);
        m2c_vec_push(g->arena, &g->inputs, v);
        const IrValue *val = ir_val(g, v);
        for (int k = 0; k < val->rank; k++)
            if (ir_dim_is_sym(g, val->dims[k])) bind_symbol(imp, ir_dim_expr(g, val->dims[k])->name, v, k);
    }
}

/* After a node is refused, its outputs are still defined (without a producer), so that the nodes reading
 * them do not each report a dangling input: one problem, one line. */
static void define_outputs(IrGraph *g, const Onnx__NodeProto *np)
{
    for (size_t i = 0; i < np->n_output; i++)
        if (np->output[i][0] && ir_value_lookup(g, np->output[i]) == IR_NONE) ir_value_new(g, np->output[i]);
}

/* Far above any ONNX op's signature; beyond them a node is malformed (and attributes are added one by
 * one, so their number must stay small). */
enum { MAX_NODE_INPUTS = 4096, MAX_NODE_OUTPUTS = 256, MAX_NODE_ATTRS = 256 };

/* The outputs must be new names, each named once. */
static bool check_outputs(IrGraph *g, const Onnx__NodeProto *np, const SrcLoc *loc)
{
    for (size_t i = 0; i < np->n_output; i++) {
        const char *name = np->output[i];
        if (!name[0]) continue;
        uint32_t prev = ir_value_lookup(g, name);
        if (prev != IR_NONE) {
            const IrValue *pv = ir_val(g, prev);
            m2c_error(loc, "output '%s' is already defined (%s)", name,
                      pv->flags & V_INPUT ? "a graph input" : pv->flags & V_PARAM ? "an initializer" : "by another node");
            return false;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(np->output[j], name) == 0) {
                m2c_error(loc, "output '%s' is listed twice", name);
                return false;
            }
        }
    }
    return true;
}

/* Creates the node (inputs resolved later, once every producer exists); Constant nodes become constants. */
static void import_node(Importer *imp, const Onnx__ModelProto *m, const Onnx__NodeProto *np, int32_t index,
                        uint32_t *node_of)
{
    IrGraph *g = imp->g;
    SrcLoc loc = node_loc(np, index);
    node_of[index] = IR_NONE;
    if (np->n_output > MAX_NODE_OUTPUTS || np->n_input > MAX_NODE_INPUTS || np->n_attribute > MAX_NODE_ATTRS) {
        if (np->n_input > MAX_NODE_INPUTS)
            m2c_error(&loc, "node has %zu inputs, more than the %d an op can have", np->n_input, MAX_NODE_INPUTS);
        else if (np->n_output > MAX_NODE_OUTPUTS)
            m2c_error(&loc, "node has %zu outputs, more than the %d an op can have", np->n_output, MAX_NODE_OUTPUTS);
        else
            m2c_error(&loc, "node has %zu attributes, more than the %d an op can have", np->n_attribute, MAX_NODE_ATTRS);
        if (np->n_output <= MAX_NODE_OUTPUTS) define_outputs(g, np);
        return;
    }
    if (!check_outputs(g, np, &loc)) {
        define_outputs(g, np);
        return;
    }
    if (!np->op_type || !np->op_type[0]) {
        m2c_error(&loc, "node has no op_type");
        define_outputs(g, np);
        return;
    }
    const char *domain = ir_domain_is_onnx(np->domain) ? "" : np->domain;
    int64_t opset = ir_opset(g, domain);
    if (opset < 0) {
        m2c_error(&loc, "op %s is in domain '%s', which the model does not import (opset_import)", np->op_type, domain);
        define_outputs(g, np);
        return;
    }
    if (ir_domain_is_onnx(domain) && strcmp(np->op_type, "Constant") == 0) {
        IrTensor *t = constant_tensor(imp, np, &loc);
        if (t && (np->n_output != 1 || !np->output[0][0])) {
            m2c_error(&loc, "Constant needs exactly one output");
            t = NULL;
        }
        if (!t) {
            define_outputs(g, np);
            return;
        }
        uint32_t v = ir_value_new(g, np->output[0]);
        ir_value_set_const(g, v, t);
        ir_val(g, v)->flags |= V_CONST;
        return;
    }
    /* The TorchScript exporter deduplicates equal initializers (zero-initialized biases, tied weights) and
     * writes `Identity(encoder.layer.0...query.bias) -> encoder.layer.1...key.bias`.  The output is a weight
     * of its own in PyTorch's state_dict, so it becomes one again, sharing the data. */
    if (ir_domain_is_onnx(domain) && strcmp(np->op_type, "Identity") == 0 && np->n_input == 1 && np->n_output == 1 &&
        np->output[0][0]) {
        uint32_t src = ir_value_lookup(g, np->input[0]);
        /* (an initializer that failed to import is a V_PARAM without contents: an error is already out) */
        if (src != IR_NONE && (ir_val(g, src)->flags & V_PARAM) && ir_val(g, src)->konst) {
            uint32_t v = ir_value_new(g, np->output[0]);
            ir_value_set_const(g, v, ir_val(g, src)->konst);
            ir_val(g, v)->flags |= V_PARAM | V_INIT;
            m2c_vec_push(g->arena, &g->params, v);
            return;
        }
    }
    IrOp op = ir_op_lookup(domain, np->op_type);
    if (op == IR_OP_UNKNOWN && is_model_function(imp, m, domain, np->op_type)) {
        m2c_error(&loc, "op %s is a model-local function (domain '%s'); functions are not supported yet", np->op_type,
                  domain);
        define_outputs(g, np);
        return;
    }
    uint32_t outs[MAX_NODE_OUTPUTS];
    for (size_t i = 0; i < np->n_output; i++) outs[i] = np->output[i][0] ? ir_value_new(g, np->output[i]) : IR_NONE;
    uint32_t n = ir_node_new(g, op, 0, NULL, (uint32_t)np->n_output, outs);
    IrNode *node = ir_node(g, n);
    node->op_type = m2c_strdup(g->arena, np->op_type);
    node->domain = m2c_strdup(g->arena, domain);
    node->opset = (int)opset;
    node->loc = loc;
    node->loc.node = m2c_strdup(g->arena, loc.node);
    node->loc.op = node->op_type;
    node->scope = node_scope(imp, np);
    /* the first bad attribute is the node's problem; If's two branches are one "subgraph" line, not two */
    for (size_t i = 0; i < np->n_attribute; i++)
        if (!import_attr(imp, node, np->attribute[i], &node->loc)) break;
    node_of[index] = n;
}

static void resolve_inputs(Importer *imp, const Onnx__NodeProto *np, uint32_t n)
{
    IrGraph *g = imp->g;
    IrNode *node = ir_node(g, n);
    node->nin = (uint32_t)np->n_input;
    node->in = m2c_alloc_array(g->arena, np->n_input ? np->n_input : 1, sizeof *node->in);
    for (size_t i = 0; i < np->n_input; i++) {
        const char *name = np->input[i];
        node->in[i] = IR_NONE;
        if (!name[0]) continue;   /* an omitted optional input */
        uint32_t v = ir_value_lookup(g, name);
        if (v == IR_NONE)
            m2c_error(&node->loc, "input '%s' is not produced by any node and is neither a graph input nor an initializer",
                      name);
        node->in[i] = v;
    }
}

static void check_node(IrGraph *g, IrNode *node)
{
    if (node->op == IR_OP_UNKNOWN) return;   /* listed by the caller, all at once */
    const IrOpInfo *info = &ir_op_info[node->op];
    if (node->opset < info->since && strcmp(node->op_type, info->onnx) == 0) {   /* aliases have their own history */
        m2c_error(&node->loc, "%s needs opset %d of domain '%s' or later; the model imports opset %d", node->op_type,
                  info->since, node->domain, node->opset);
        return;
    }
    int nin = (int)node->nin, nout = (int)node->nout;
    if (nin < info->in_min || (info->in_max >= 0 && nin > info->in_max)) {
        if (info->in_max < 0)
            m2c_error(&node->loc, "%s takes at least %d inputs, has %d", node->op_type, info->in_min, nin);
        else
            m2c_error(&node->loc, "%s takes %d to %d inputs, has %d", node->op_type, info->in_min, info->in_max, nin);
    }
    if (nout < info->out_min || (info->out_max >= 0 && nout > info->out_max))
        m2c_error(&node->loc, "%s has %d outputs; it can have %d to %d", node->op_type, nout, info->out_min,
                  info->out_max < 0 ? 9999 : info->out_max);
    (void)g;
}

static void import_outputs(Importer *imp, const Onnx__GraphProto *gp)
{
    IrGraph *g = imp->g;
    if (gp->n_output == 0) m2c_error(NULL, "the graph has no outputs");
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        uint32_t v = vi->name ? ir_value_lookup(g, vi->name) : IR_NONE;
        if (v == IR_NONE) {
            m2c_error(NULL, "graph output '%s' is not produced by any node", str_or(vi->name, ""));
            continue;
        }
        if (ir_val(g, v)->flags & V_OUTPUT) {
            m2c_error(NULL, "graph output '%s' is listed twice", vi->name);
            continue;
        }
        ir_val(g, v)->flags |= V_OUTPUT;
        m2c_vec_push(g->arena, &g->outputs, v);
        if (ir_val(g, v)->producer != IR_NONE) set_value_type(imp, v, vi, "output", true);
    }
    /* value_info: shape hints for intermediate values (used for the outputs of ops we do not know) */
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        uint32_t v = vi->name ? ir_value_lookup(g, vi->name) : IR_NONE;
        if (v != IR_NONE && ir_val(g, v)->producer != IR_NONE) set_value_type(imp, v, vi, "value", false);
    }
}

static IrGraph *import_model(Importer *imp)
{
    IrGraph *g = imp->g;
    int errors_before = m2c_error_count();
    char err[512];
    if (imp->len == 0) {
        m2c_error(NULL, "empty file: not an ONNX model");
        return NULL;
    }
    if (!onnx_wire_skeleton(imp->buf, imp->len, &imp->skel, err, sizeof err)) {
        m2c_error(NULL, "not a valid ONNX model: %s", err);
        return NULL;
    }
    ProtobufCAllocator pa = {pb_alloc, pb_free, g->arena};
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pa, imp->skel.len, imp->skel.data);
    if (!m) {
        m2c_error(NULL, "not a valid ONNX model: protobuf decoding failed");
        return NULL;
    }
    if (!m->graph) {
        m2c_error(NULL, "not a valid ONNX model: the model has no graph");
        return NULL;
    }
    const Onnx__GraphProto *gp = m->graph;
    g->name = m2c_strdup(g->arena, gp->name && gp->name[0] ? gp->name : "model");
    g->ir_version = m->has_ir_version ? m->ir_version : 0;
    if (m->producer_name)
        g->producer = m2c_sprintf(g->arena, "%s %s", m->producer_name, str_or(m->producer_version, ""));
    import_opsets(imp, m);
    if (m2c_error_count() != errors_before) return NULL;
    import_initializers(imp, gp);
    mark_constants(imp, gp);
    import_inputs(imp, gp);
    uint32_t *node_of = m2c_alloc_array(g->arena, gp->n_node ? gp->n_node : 1, sizeof *node_of);
    for (size_t i = 0; i < gp->n_node; i++) import_node(imp, m, gp->node[i], (int32_t)i, node_of);
    for (size_t i = 0; i < gp->n_node; i++)
        if (node_of[i] != IR_NONE) resolve_inputs(imp, gp->node[i], node_of[i]);
    import_outputs(imp, gp);
    if (m2c_error_count() != errors_before) return NULL;
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        onnx_upgrade_node(imp, &g->nodes.v[n]);
        check_node(g, &g->nodes.v[n]);
    }
    if (m2c_error_count() != errors_before) return NULL;
    if (!ir_compact(g)) {
        report_cycle(g);
        return NULL;
    }
    return g;
}

static IrGraph *run_import(Importer *imp)
{
    IrGraph *g = import_model(imp);
    onnx_wire_free(&imp->skel);
    if (!g) ir_graph_free(imp->g);
    return g;
}

IrGraph *onnx_import_memory(const void *data, size_t len, const char *name, const char *base_dir)
{
    Importer imp = {0};
    imp.g = ir_graph_new("model");
    imp.g->file = m2c_strdup(imp.g->arena, name ? name : "<memory>");
    imp.path = imp.g->file;
    imp.base_dir = base_dir ? m2c_strdup(imp.g->arena, base_dir) : NULL;
    imp.buf = data;
    imp.len = len;
    return run_import(&imp);
}

IrGraph *onnx_import(const char *path)
{
    Importer imp = {0};
    imp.g = ir_graph_new("model");
    IrGraph *g = imp.g;
    g->file = m2c_strdup(g->arena, path);
    imp.path = g->file;
    char *dir = m2c_strdup(g->arena, path);
    imp.base_dir = m2c_strdup(g->arena, dirname(dir));
    uint64_t size;
    if (!onnx_map_file(g, path, &imp.buf, &size)) {
        ir_graph_free(g);
        return NULL;
    }
    imp.len = (size_t)size;
    return run_import(&imp);
}
