/* ir/parse.c — reads the text form of print.c back into a graph, so pass tests are text in, text out.
 *
 * Additions for hand-written tests: a node's output types may be left out (`%y = Relu(%x)`), values may be
 * used before the line that defines them, and a param or const without data gets deterministic contents
 * (a hash of its name), which keeps large weights out of the test files. */
#include "ir.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    IrGraph *g;
    const char *p;          /* cursor in the current line */
    int line;
    bool failed;
    bool *defined;          /* per value id: defined by a line */
    uint32_t ndefined;
} Parser;

static void perr(Parser *ps, const char *fmt, ...) M2C_PRINTF(2, 3);
static void perr(Parser *ps, const char *fmt, ...)
{
    if (ps->failed) return;   /* one error per line is enough */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m2c_error(NULL, "line %d: %s", ps->line, msg);
    ps->failed = true;
}

static void ws(Parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r') ps->p++;
}

static bool eat(Parser *ps, const char *tok)
{
    ws(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) != 0) return false;
    ps->p += n;
    return true;
}

static void expect(Parser *ps, const char *tok)
{
    if (!eat(ps, tok)) perr(ps, "expected '%s' at '%.20s'", tok, ps->p);
}

static bool at_end(Parser *ps)
{
    ws(ps);
    return *ps->p == 0 || *ps->p == '\n' || *ps->p == '#';
}

static char *quoted(Parser *ps, uint32_t *len)
{
    M2cBuf b = {0};
    ps->p++;   /* opening quote */
    while (*ps->p && *ps->p != '"' && *ps->p != '\n') {
        char c = *ps->p++;
        if (c == '\\') {
            c = *ps->p++;
            if (c == 'n') {
                c = '\n';
            } else if (c == 'x') {
                char hex[3] = {ps->p[0], ps->p[0] ? ps->p[1] : 0, 0};
                c = (char)strtol(hex, NULL, 16);
                ps->p += hex[1] ? 2 : hex[0] ? 1 : 0;
            } else if (c == 0) {
                break;
            }
        }
        m2c_buf_putc(&b, c);
    }
    if (*ps->p != '"') perr(ps, "unterminated string");
    else ps->p++;
    char *s = m2c_strndup(ps->g->arena, b.s ? b.s : "", b.len);
    if (len) *len = (uint32_t)b.len;
    m2c_buf_free(&b);
    return s;
}

/* A bare word of name characters, or a quoted string. */
static char *word(Parser *ps)
{
    ws(ps);
    if (*ps->p == '"') return quoted(ps, NULL);
    const char *s = ps->p;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.' || *ps->p == '-') ps->p++;
    if (ps->p == s) {
        perr(ps, "expected a name at '%.20s'", s);
        return m2c_strdup(ps->g->arena, "");
    }
    return m2c_strndup(ps->g->arena, s, (size_t)(ps->p - s));
}

static uint32_t value_ref(Parser *ps, const char *name)
{
    uint32_t v = ir_value_lookup(ps->g, name);
    if (v == IR_NONE) v = ir_value_new(ps->g, name);
    return v;
}

static void mark_defined(Parser *ps, uint32_t v)
{
    if (v >= ps->ndefined) {
        uint32_t n = ps->ndefined ? ps->ndefined : 64;
        while (n <= v) n *= 2;
        bool *d = m2c_alloc(ps->g->arena, n);
        if (ps->ndefined) memcpy(d, ps->defined, ps->ndefined);
        ps->defined = d;
        ps->ndefined = n;
    }
    if (ps->defined[v]) perr(ps, "value '%s' defined twice", ir_val(ps->g, v)->name);
    ps->defined[v] = true;
}

static uint32_t value_name(Parser *ps)
{
    ws(ps);
    if (*ps->p != '%') {
        perr(ps, "expected a value name (%%x) at '%.20s'", ps->p);
        return IR_NONE;
    }
    ps->p++;
    return value_ref(ps, word(ps));
}

/* TYPE := dtype '[' (dim (',' dim)*)? ']'  |  dtype '[...]' */
static bool parse_type(Parser *ps, IrDType *t, int *rank, IrDim *dims)
{
    ws(ps);
    const char *s = ps->p;
    while (isalnum((unsigned char)*ps->p)) ps->p++;
    char name[32];
    size_t n = (size_t)(ps->p - s);
    if (n == 0 || n >= sizeof name) {
        perr(ps, "expected a type at '%.20s'", s);
        return false;
    }
    memcpy(name, s, n);
    name[n] = 0;
    *t = strcmp(name, "?") == 0 ? DT_UNDEF : ir_dtype_parse(name);
    if (*t == DT_UNDEF && *s != '?') {
        perr(ps, "unknown dtype '%s'", name);
        return false;
    }
    expect(ps, "[");
    *rank = 0;
    if (eat(ps, "...")) {
        *rank = -1;
    } else {
        ws(ps);
        while (*ps->p != ']' && !ps->failed) {
            if (*rank == IR_MAX_RANK) {
                perr(ps, "rank above %d", IR_MAX_RANK);
                return false;
            }
            IrDim d = ir_dim_parse(ps->g, &ps->p);
            if (d == IR_DIM_INVALID) {
                perr(ps, "bad dim at '%.20s'", ps->p);
                return false;
            }
            dims[(*rank)++] = d;
            if (!eat(ps, ",")) break;
        }
    }
    expect(ps, "]");
    return !ps->failed;
}

static double number(Parser *ps)
{
    ws(ps);
    if (eat(ps, "true")) return 1;
    if (eat(ps, "false")) return 0;
    if (eat(ps, "nan")) return NAN;
    if (eat(ps, "inf")) return INFINITY;
    if (eat(ps, "-inf")) return -INFINITY;
    char *end;
    double v = strtod(ps->p, &end);
    if (end == ps->p) perr(ps, "expected a number at '%.20s'", ps->p);
    ps->p = end;
    return v;
}

static int64_t integer(Parser *ps)
{
    ws(ps);
    char *end;
    long long v = strtoll(ps->p, &end, 10);
    if (end == ps->p) perr(ps, "expected an integer at '%.20s'", ps->p);
    ps->p = end;
    return v;
}

static void fill_deterministic(IrTensor *t, const char *name)
{
    uint64_t h = m2c_hash_bytes(name, strlen(name), 0x5eed);
    for (uint64_t i = 0; i < t->numel; i++) {
        h = h * 6364136223846793005ull + 1442695040888963407ull;
        if (ir_dtype_is_float(t->dtype))
            ir_tensor_set_f64(t, i, (double)((h >> 40) & 0xffff) / 32768.0 - 1.0);
        else
            ir_tensor_set_i64(t, i, (int64_t)((h >> 40) % 7));
    }
}

/* TYPE [= [data] | = dims[...]] for params, consts and tensor attributes */
static IrTensor *tensor_literal(Parser *ps, const char *name, IrDType t, int rank, const IrDim *dims, bool has_eq)
{
    int64_t shape[IR_MAX_RANK];
    if (rank < 0) {
        perr(ps, "a constant needs a known rank");
        return NULL;
    }
    for (int i = 0; i < rank; i++) {
        if (!ir_dim_const_value(ps->g, dims[i], &shape[i]) || shape[i] < 0) {
            perr(ps, "a constant needs constant dims");
            return NULL;
        }
    }
    if (!ir_dtype_supported(t)) {
        perr(ps, "constants of type %s are not supported", ir_dtype_name(t));
        return NULL;
    }
    uint64_t numel = 1;
    for (int i = 0; i < rank; i++) numel *= (uint64_t)shape[i];
    if (numel > ((uint64_t)1 << 28)) {
        perr(ps, "constant too large");
        return NULL;
    }
    IrTensor *x = ir_tensor_new(ps->g, t, rank, shape);
    ws(ps);
    if (has_eq && *ps->p == '[') {
        ps->p++;
        uint64_t i = 0;
        ws(ps);
        while (*ps->p != ']' && !ps->failed) {
            /* integers are read as integers: INT64_MAX (a Slice end) is not a double */
            if (!ir_dtype_is_float(t) && t != DT_BOOL) {
                int64_t v = integer(ps);
                if (i < x->numel) ir_tensor_set_i64(x, i, v);
            } else {
                double v = number(ps);
                if (i < x->numel) ir_tensor_set_f64(x, i, v);
            }
            i++;
            if (!eat(ps, ",")) break;
        }
        expect(ps, "]");
        if (i != x->numel) perr(ps, "constant has %llu values for %llu elements", (unsigned long long)i,
                                (unsigned long long)x->numel);
    } else {
        fill_deterministic(x, name);
    }
    return x;
}

static void parse_decl(Parser *ps, const char *kw)
{
    IrGraph *g = ps->g;
    uint32_t v = value_name(ps);
    if (v == IR_NONE) return;
    mark_defined(ps, v);
    expect(ps, ":");
    IrDType t;
    int rank;
    IrDim dims[IR_MAX_RANK];
    if (!parse_type(ps, &t, &rank, dims)) return;
    IrValue *val = ir_val(g, v);
    if (strcmp(kw, "input") == 0) {
        ir_value_set_shape(g, v, t, rank, dims);
        val->flags |= V_INPUT;
        m2c_vec_push(g->arena, &g->inputs, v);
        for (int i = 0; i < rank; i++)
            if (ir_dim_is_sym(g, dims[i])) ir_symbol_bind(g, ir_dim_expr(g, dims[i])->name, v, i);
        return;
    }
    bool has_eq = eat(ps, "=");
    if (has_eq && eat(ps, "dims[")) {
        IrDim vals[64];
        uint32_t n = 0;
        ws(ps);
        while (*ps->p != ']' && !ps->failed && n < 64) {
            IrDim d = ir_dim_parse(g, &ps->p);
            if (d == IR_DIM_INVALID) perr(ps, "bad dim at '%.20s'", ps->p);
            vals[n++] = d;
            if (!eat(ps, ",")) break;
        }
        expect(ps, "]");
        ir_value_set_shape(g, v, t, rank, dims);
        ir_value_set_symval(g, v, vals, n);
    } else {
        IrTensor *x = tensor_literal(ps, val->name, t, rank, dims, has_eq);
        if (!x) return;
        ir_value_set_const(g, v, x);
    }
    val = ir_val(g, v);
    if (eat(ps, "$")) val->state_name = word(ps);
    if (strcmp(kw, "param") == 0) {
        val->flags |= V_PARAM;
        m2c_vec_push(g->arena, &g->params, v);
    } else {
        val->flags |= V_CONST;
    }
}

static void parse_attr_value(Parser *ps, IrNode *node, const char *name)
{
    IrGraph *g = ps->g;
    ws(ps);
    if (*ps->p == '"') {
        uint32_t len;
        char *s = quoted(ps, &len);
        IrAttr *a = ir_attr_add(g, node, name, ATTR_STRING);
        a->u.s = s;
        a->n = len;
    } else if (eat(ps, "tensor")) {
        IrDType t;
        int rank;
        IrDim dims[IR_MAX_RANK];
        if (!parse_type(ps, &t, &rank, dims)) return;
        IrTensor *x = tensor_literal(ps, name, t, rank, dims, true);
        if (x) ir_attr_add(g, node, name, ATTR_TENSOR)->u.t = x;
    } else if (strncmp(ps->p, "floats[", 7) == 0 || strncmp(ps->p, "strings[", 8) == 0 || *ps->p == '[') {
        char kind = *ps->p == 'f' ? 'f' : *ps->p == 's' ? 's' : 'i';
        ps->p = strchr(ps->p, '[') + 1;
        M2C_VEC(double) fs = {0};
        M2C_VEC(int64_t) is = {0};
        M2C_VEC(const char *) ss = {0};
        ws(ps);
        while (*ps->p != ']' && !ps->failed) {
            ws(ps);
            if (kind == 's') {
                if (*ps->p != '"') perr(ps, "expected a string");
                else m2c_vec_push(g->arena, &ss, quoted(ps, NULL));
            } else if (kind == 'f') {
                m2c_vec_push(g->arena, &fs, number(ps));
            } else {
                m2c_vec_push(g->arena, &is, integer(ps));
            }
            if (!eat(ps, ",")) break;
        }
        expect(ps, "]");
        IrAttr *a = ir_attr_add(g, node, name, kind == 's' ? ATTR_STRINGS : kind == 'f' ? ATTR_FLOATS : ATTR_INTS);
        if (kind == 's') {
            a->n = ss.n;
            a->u.ss = ss.v;
        } else if (kind == 'f') {
            a->n = fs.n;
            a->u.fs = fs.v;
        } else {
            a->n = is.n;
            a->u.is = is.v;
        }
    } else {
        const char *s = ps->p;
        char *end;
        (void)strtod(s, &end);
        bool is_float = strncmp(s, "nan", 3) == 0 || strncmp(s, "inf", 3) == 0 || strncmp(s, "-inf", 4) == 0;
        for (const char *q = s; q < end; q++) is_float |= *q == '.' || *q == 'e' || *q == 'E';
        if (is_float)
            ir_attr_set_float(g, node, name, number(ps));
        else
            ir_attr_set_int(g, node, name, integer(ps));
    }
}

static void parse_node(Parser *ps)
{
    IrGraph *g = ps->g;
    uint32_t outs[64];
    uint32_t nout = 0;
    IrDType types[64];
    int ranks[64];
    IrDim dims[64][IR_MAX_RANK];
    if (!eat(ps, "()")) {
        do {
            if (nout == 64) {
                perr(ps, "too many outputs");
                return;
            }
            ranks[nout] = -2;
            if (eat(ps, "_")) {
                outs[nout++] = IR_NONE;
                continue;
            }
            uint32_t v = value_name(ps);
            if (v == IR_NONE) return;
            mark_defined(ps, v);
            if (eat(ps, ":") && !parse_type(ps, &types[nout], &ranks[nout], dims[nout])) return;
            outs[nout++] = v;
        } while (eat(ps, ","));
    }
    expect(ps, "=");
    ws(ps);
    const char *s = ps->p;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.' || *ps->p == ':') ps->p++;
    char *opname = m2c_strndup(g->arena, s, (size_t)(ps->p - s));
    const char *domain = "";
    char *sep = strstr(opname, "::");
    if (sep) {
        *sep = 0;
        domain = opname;
        opname = sep + 2;
    }
    expect(ps, "(");
    uint32_t ins[256];
    uint32_t nin = 0;
    ws(ps);
    if (*ps->p != ')') {
        do {
            if (nin == 256) {
                perr(ps, "too many inputs");
                return;
            }
            ins[nin++] = eat(ps, "_") ? IR_NONE : value_name(ps);
        } while (eat(ps, ","));
    }
    expect(ps, ")");
    if (ps->failed) return;
    IrOp op = ir_op_lookup(domain, opname);
    uint32_t n = ir_node_new(g, op, nin, ins, nout, outs);
    IrNode *node = ir_node(g, n);
    node->op_type = opname;
    node->domain = domain;
    node->opset = (int)ir_opset(g, domain);
    node->loc.op = opname;
    node->loc.index = (int32_t)n;
    for (uint32_t i = 0; i < nout; i++)
        if (outs[i] != IR_NONE && ranks[i] != -2) ir_value_set_shape(g, outs[i], types[i], ranks[i], dims[i]);
    if (eat(ps, "{")) {
        ws(ps);
        while (*ps->p != '}' && !ps->failed) {
            char *name = word(ps);
            expect(ps, "=");
            parse_attr_value(ps, node, name);
            if (!eat(ps, ",")) break;
        }
        expect(ps, "}");
    }
    if (eat(ps, "@")) node->scope = ir_scope_get(g, word(ps), NULL);
    ws(ps);
    if (*ps->p == '"') node->loc.node = quoted(ps, NULL);
}

IrGraph *ir_parse(const char *text, const char *filename)
{
    IrGraph *g = ir_graph_new("model");
    g->file = m2c_strdup(g->arena, filename ? filename : "<text>");
    Parser ps = {g, text, 0, false, NULL, 0};
    bool any_failed = false;
    for (const char *line = text; *line;) {
        ps.line++;
        ps.p = line;
        ps.failed = false;
        const char *eol = strchr(line, '\n');
        if (eat(&ps, "graph ")) {
            g->name = word(&ps);
        } else if (eat(&ps, "opset ")) {
            IrOpset o;
            ws(&ps);
            o.domain = *ps.p == '"' ? quoted(&ps, NULL) : word(&ps);
            o.version = integer(&ps);
            m2c_vec_push(g->arena, &g->opsets, o);
        } else if (eat(&ps, "scope ")) {
            char *path = word(&ps);
            expect(&ps, ":");
            ws(&ps);
            const char *s = ps.p;
            while (*ps.p && *ps.p != '\n') ps.p++;
            const char *e = ps.p;
            while (e > s && (e[-1] == ' ' || e[-1] == '\r')) e--;
            ir_scope_get(g, path, m2c_strndup(g->arena, s, (size_t)(e - s)));
        } else if (eat(&ps, "input ")) {
            parse_decl(&ps, "input");
        } else if (eat(&ps, "param ")) {
            parse_decl(&ps, "param");
        } else if (eat(&ps, "const ")) {
            parse_decl(&ps, "const");
        } else if (eat(&ps, "output ")) {
            uint32_t v = value_name(&ps);
            if (v != IR_NONE) {
                ir_val(g, v)->flags |= V_OUTPUT;
                m2c_vec_push(g->arena, &g->outputs, v);
            }
        } else if (!at_end(&ps)) {
            parse_node(&ps);
        }
        if (!ps.failed && !at_end(&ps)) perr(&ps, "unexpected '%.20s'", ps.p);
        any_failed |= ps.failed;
        if (!eol) break;
        line = eol + 1;
    }
    for (uint32_t v = 0; v < g->values.n && !any_failed; v++) {
        if (v >= ps.ndefined || !ps.defined[v]) {
            m2c_error(NULL, "value '%s' is used but never defined", g->values.v[v].name);
            any_failed = true;
        }
    }
    if (!any_failed && !ir_compact(g)) {
        m2c_error(NULL, "the graph has a cycle");
        any_failed = true;
    }
    if (any_failed) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}
