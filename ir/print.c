/* ir/print.c — the text form of the IR (read back by parse.c) and the Graphviz form.
 *
 *   graph bert
 *   opset "" 17
 *   scope encoder.layer.0.attention.self : transformers.models.bert.modeling_bert.BertSelfAttention
 *   input %input_ids: i64[batch, seq]
 *   param %embeddings.word_embeddings.weight: f32[100, 32]
 *   const %shape: i64[4] = [0, 0, 4, 8]
 *   %x: f32[batch, seq, 32] = Gather(%embeddings.word_embeddings.weight, %input_ids) {axis=0} @embeddings "/embeddings/Gather"
 *   output %x
 *
 * Constants of up to 16 elements print their contents; larger ones print only their type.  A value whose
 * contents are known symbolically prints them in a trailing comment: `#= [batch, seq, 32]`.
 */
#include "ir.h"

#include <math.h>
#include <string.h>

enum { INLINE_MAX = 16 };

static bool plain_name(const char *s)
{
    if (!*s) return false;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return true;
}

static void print_quoted(M2cBuf *b, const char *s, size_t n)
{
    m2c_buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            m2c_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            m2c_buf_puts(b, "\\n");
        else if (c < 0x20 || c >= 0x7f)
            m2c_buf_printf(b, "\\x%02x", c);
        else
            m2c_buf_putc(b, (char)c);
    }
    m2c_buf_putc(b, '"');
}

static void print_name(M2cBuf *b, const char *prefix, const char *s)
{
    m2c_buf_puts(b, prefix);
    if (plain_name(s))
        m2c_buf_puts(b, s);
    else
        print_quoted(b, s, strlen(s));
}

static void print_float(M2cBuf *b, double f)
{
    if (isnan(f)) {
        m2c_buf_puts(b, "nan");
    } else if (isinf(f)) {
        m2c_buf_puts(b, f < 0 ? "-inf" : "inf");
    } else {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.9g", f);
        m2c_buf_puts(b, tmp);
        if (!strpbrk(tmp, ".en")) m2c_buf_puts(b, ".0");
    }
}

static void print_shape(IrGraph *g, M2cBuf *b, IrDType t, int rank, const IrDim *dims)
{
    m2c_buf_printf(b, "%s[", ir_dtype_name(t));
    if (rank < 0) m2c_buf_puts(b, "...");
    for (int i = 0; i < rank; i++) {
        if (i) m2c_buf_puts(b, ", ");
        ir_dim_print(g, dims[i], b);
    }
    m2c_buf_puts(b, "]");
}

void ir_print_value_type(IrGraph *g, uint32_t v, M2cBuf *out)
{
    const IrValue *val = ir_val(g, v);
    print_shape(g, out, val->dtype, val->rank, val->dims);
}

static void print_tensor_data(M2cBuf *b, const IrTensor *t)
{
    m2c_buf_puts(b, "[");
    for (uint64_t i = 0; i < t->numel; i++) {
        if (i) m2c_buf_puts(b, ", ");
        if (ir_dtype_is_float(t->dtype))
            print_float(b, ir_tensor_get_f64(t, i));
        else if (t->dtype == DT_BOOL)
            m2c_buf_puts(b, ir_tensor_get_i64(t, i) ? "true" : "false");
        else if (t->dtype == DT_U64)
            m2c_buf_printf(b, "%llu", (unsigned long long)ir_tensor_get_i64(t, i));
        else
            m2c_buf_printf(b, "%lld", (long long)ir_tensor_get_i64(t, i));
    }
    m2c_buf_puts(b, "]");
}

static void print_tensor(IrGraph *g, M2cBuf *b, const IrTensor *t, const char *sep)
{
    IrDim dims[IR_MAX_RANK];
    for (int i = 0; i < t->rank && i < IR_MAX_RANK; i++) dims[i] = ir_dim_const(g, t->shape[i]);
    print_shape(g, b, t->dtype, t->rank, dims);
    if (t->numel <= INLINE_MAX && ir_dtype_supported(t->dtype) && t->data) {
        m2c_buf_puts(b, sep);
        print_tensor_data(b, t);
    }
}

static void print_attr(IrGraph *g, M2cBuf *b, const IrAttr *a)
{
    m2c_buf_printf(b, "%s=", a->name);
    switch (a->kind) {
    case ATTR_INT: m2c_buf_printf(b, "%lld", (long long)a->u.i); break;
    case ATTR_FLOAT: print_float(b, a->u.f); break;
    case ATTR_STRING: print_quoted(b, a->u.s, a->n); break;
    case ATTR_TENSOR:
        m2c_buf_puts(b, "tensor ");
        print_tensor(g, b, a->u.t, " ");
        break;
    case ATTR_INTS:
        m2c_buf_puts(b, "[");
        for (uint32_t i = 0; i < a->n; i++) m2c_buf_printf(b, "%s%lld", i ? ", " : "", (long long)a->u.is[i]);
        m2c_buf_puts(b, "]");
        break;
    case ATTR_FLOATS:
        m2c_buf_puts(b, "floats[");
        for (uint32_t i = 0; i < a->n; i++) {
            if (i) m2c_buf_puts(b, ", ");
            print_float(b, a->u.fs[i]);
        }
        m2c_buf_puts(b, "]");
        break;
    case ATTR_STRINGS:
        m2c_buf_puts(b, "strings[");
        for (uint32_t i = 0; i < a->n; i++) {
            if (i) m2c_buf_puts(b, ", ");
            print_quoted(b, a->u.ss[i], strlen(a->u.ss[i]));
        }
        m2c_buf_puts(b, "]");
        break;
    }
}

static void print_symval(IrGraph *g, M2cBuf *b, const IrValue *val)
{
    if (!val->symval || val->konst) return;
    m2c_buf_puts(b, "  #= [");
    for (uint32_t i = 0; i < val->symval_n; i++) {
        if (i) m2c_buf_puts(b, ", ");
        ir_dim_print(g, val->symval[i], b);
    }
    m2c_buf_puts(b, "]");
}

static void print_const_line(IrGraph *g, M2cBuf *b, const char *kw, uint32_t v)
{
    const IrValue *val = ir_val(g, v);
    m2c_buf_printf(b, "%s ", kw);
    print_name(b, "%", val->name);
    m2c_buf_puts(b, ": ");
    if (val->konst) {
        print_tensor(g, b, val->konst, " = ");
    } else if (val->symval) {
        ir_print_value_type(g, v, b);
        m2c_buf_puts(b, " = dims[");
        for (uint32_t i = 0; i < val->symval_n; i++) {
            if (i) m2c_buf_puts(b, ", ");
            ir_dim_print(g, val->symval[i], b);
        }
        m2c_buf_puts(b, "]");
    } else {
        ir_print_value_type(g, v, b);
    }
    if (val->state_name) {
        m2c_buf_puts(b, " ");
        print_name(b, "$", val->state_name);
    }
    m2c_buf_puts(b, "\n");
}

static bool is_standalone_const(const IrValue *val)
{
    return val->producer == IR_NONE && !(val->flags & (V_INPUT | V_PARAM)) && (val->konst || val->symval);
}

void ir_print(IrGraph *g, M2cBuf *b)
{
    print_name(b, "graph ", g->name);
    m2c_buf_puts(b, "\n");
    for (uint32_t i = 0; i < g->opsets.n; i++) {
        m2c_buf_puts(b, "opset ");
        print_quoted(b, g->opsets.v[i].domain, strlen(g->opsets.v[i].domain));
        m2c_buf_printf(b, " %lld\n", (long long)g->opsets.v[i].version);
    }
    for (uint32_t i = 1; i < g->scopes.n; i++) {
        if (!g->scopes.v[i].cls) continue;
        print_name(b, "scope ", g->scopes.v[i].path);
        m2c_buf_printf(b, " : %s\n", g->scopes.v[i].cls);
    }
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        m2c_buf_puts(b, "input ");
        print_name(b, "%", ir_val(g, g->inputs.v[i])->name);
        m2c_buf_puts(b, ": ");
        ir_print_value_type(g, g->inputs.v[i], b);
        m2c_buf_puts(b, "\n");
    }
    for (uint32_t i = 0; i < g->params.n; i++) print_const_line(g, b, "param", g->params.v[i]);
    /* Constants that nodes use, in first-use order. */
    bool *printed = m2c_alloc(g->arena, g->values.n ? g->values.n : 1);
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++) {
            uint32_t v = node->in[i];
            if (v == IR_NONE || printed[v] || !is_standalone_const(ir_val(g, v))) continue;
            printed[v] = true;
            print_const_line(g, b, "const", v);
        }
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        uint32_t v = g->outputs.v[i];
        if (printed[v] || !is_standalone_const(ir_val(g, v))) continue;
        printed[v] = true;
        print_const_line(g, b, "const", v);
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nout; i++) {
            if (i) m2c_buf_puts(b, ", ");
            if (node->out[i] == IR_NONE) {
                m2c_buf_puts(b, "_");
                continue;
            }
            print_name(b, "%", ir_val(g, node->out[i])->name);
            m2c_buf_puts(b, ": ");
            ir_print_value_type(g, node->out[i], b);
        }
        if (node->nout == 0) m2c_buf_puts(b, "()");
        m2c_buf_puts(b, " = ");
        if (!ir_domain_is_onnx(node->domain)) m2c_buf_printf(b, "%s::", node->domain);
        m2c_buf_printf(b, "%s(", node->op < IR_OP_COUNT ? ir_op_name(node->op) : node->op_type);
        for (uint32_t i = 0; i < node->nin; i++) {
            if (i) m2c_buf_puts(b, ", ");
            if (node->in[i] == IR_NONE)
                m2c_buf_puts(b, "_");
            else
                print_name(b, "%", ir_val(g, node->in[i])->name);
        }
        m2c_buf_puts(b, ")");
        if (node->nattrs) {
            m2c_buf_puts(b, " {");
            for (uint32_t i = 0; i < node->nattrs; i++) {
                if (i) m2c_buf_puts(b, ", ");
                print_attr(g, b, &node->attrs[i]);
            }
            m2c_buf_puts(b, "}");
        }
        if (node->scope) print_name(b, " @", g->scopes.v[node->scope].path);
        if (node->loc.node && node->loc.node[0]) {
            m2c_buf_puts(b, " ");
            print_quoted(b, node->loc.node, strlen(node->loc.node));
        }
        for (uint32_t i = 0; i < node->nout; i++)
            if (node->out[i] != IR_NONE) print_symval(g, b, ir_val(g, node->out[i]));
        m2c_buf_puts(b, "\n");
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        print_name(b, "output %", ir_val(g, g->outputs.v[i])->name);
        m2c_buf_puts(b, "\n");
    }
}

void ir_print_file(IrGraph *g, FILE *f)
{
    M2cBuf b = {0};
    ir_print(g, &b);
    if (b.s) fputs(b.s, f);
    m2c_buf_free(&b);
}

/* Graphviz: one box per node labelled with its op and scope, edges labelled with the value's type. */
static void dot_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        fputc(*s, f);
    }
}

void ir_print_dot(IrGraph *g, FILE *f)
{
    fprintf(f, "digraph \"");
    dot_escape(f, g->name);
    fprintf(f, "\" {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n");
    for (uint32_t i = 0; i < g->inputs.n; i++) {
        fprintf(f, "  v%u [shape=oval, label=\"", g->inputs.v[i]);
        dot_escape(f, ir_val(g, g->inputs.v[i])->name);
        fprintf(f, "\"];\n");
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        fprintf(f, "  n%u [label=\"", n);
        dot_escape(f, node->op < IR_OP_COUNT ? ir_op_name(node->op) : node->op_type);
        if (node->scope) {
            fprintf(f, "\\n");
            dot_escape(f, g->scopes.v[node->scope].path);
        }
        fprintf(f, "\"%s];\n", node->op == IR_OP_UNKNOWN ? ", color=red" : "");
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        fprintf(f, "  o%u [shape=oval, label=\"", i);
        dot_escape(f, ir_val(g, g->outputs.v[i])->name);
        fprintf(f, "\"];\n");
    }
    for (uint32_t n = 0; n < g->nodes.n; n++) {
        const IrNode *node = &g->nodes.v[n];
        if (node->dead) continue;
        for (uint32_t i = 0; i < node->nin; i++) {
            uint32_t v = node->in[i];
            if (v == IR_NONE) continue;
            const IrValue *val = ir_val(g, v);
            if (val->producer != IR_NONE)
                fprintf(f, "  n%u -> n%u", val->producer, n);
            else if (val->flags & V_INPUT)
                fprintf(f, "  v%u -> n%u", v, n);
            else
                continue;   /* weights and constants would bury the structure */
            M2cBuf t = {0};
            ir_print_value_type(g, v, &t);
            fprintf(f, " [label=\"");
            dot_escape(f, t.s ? t.s : "");
            fprintf(f, "\"];\n");
            m2c_buf_free(&t);
        }
    }
    for (uint32_t i = 0; i < g->outputs.n; i++) {
        const IrValue *val = ir_val(g, g->outputs.v[i]);
        if (val->producer != IR_NONE) fprintf(f, "  n%u -> o%u;\n", val->producer, i);
    }
    fprintf(f, "}\n");
}
