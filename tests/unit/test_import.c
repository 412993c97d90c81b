/* tests/unit/test_import.c — the ONNX importer, from models built here in C.
 *
 * Each test builds a ModelProto with the protobuf-c structs (the same generated code the importer decodes
 * with), writes it to a fresh temporary folder, imports it with onnx_import() and checks the IR: tensor
 * bytes of every dtype through every encoding (inline raw_data, raw_data left in the mapped file, the typed
 * fields, external data), graph interface and symbols, Constant nodes, scopes, opset upgrades, and the
 * errors — each reported exactly once, on one line, naming the node, with the right exit code.  Nothing
 * here needs Python: the models are made by the test itself. */
#define _GNU_SOURCE   /* nftw */
#include "check.h"
#include "frontend.h"
#include "onnx.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- building models --------------------------------------------------------------------------------- */

static M2cArena *A;          /* everything the builders allocate; freed at the end */
static char tmpdir[64];      /* mkdtemp folder: every model and side file of this run */

/* Appends x to a protobuf-c repeated field (pointer + count), copying the array: the builders are small. */
#define PUSH(arr, n, x)                                                        \
    do {                                                                       \
        void *nv_ = m2c_alloc_array(A, (n) + 1, sizeof *(arr));                \
        if (n) memcpy(nv_, (arr), (n) * sizeof *(arr));                        \
        (arr) = nv_;                                                           \
        (arr)[(n)++] = (x);                                                    \
    } while (0)

static char *S(const char *s)
{
    return m2c_strdup(A, s);
}

static Onnx__OperatorSetIdProto *opset(const char *domain, int64_t version)
{
    Onnx__OperatorSetIdProto *o = m2c_alloc(A, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = S(domain);
    o->has_version = true;
    o->version = version;
    return o;
}

static Onnx__ModelProto *model_new(int64_t default_opset)
{
    Onnx__ModelProto *m = m2c_alloc(A, sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = true;
    m->ir_version = 8;
    m->producer_name = S("test_import");
    m->producer_version = S("1");
    if (default_opset > 0) PUSH(m->opset_import, m->n_opset_import, opset("", default_opset));
    m->graph = m2c_alloc(A, sizeof *m->graph);
    onnx__graph_proto__init(m->graph);
    m->graph->name = S("g");
    return m;
}

static Onnx__StringStringEntryProto *entry(const char *k, const char *v)
{
    Onnx__StringStringEntryProto *e = m2c_alloc(A, sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = S(k);
    e->value = S(v);
    return e;
}

static Onnx__TensorProto *tensor(const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = m2c_alloc(A, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = name ? S(name) : NULL;
    t->has_data_type = true;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = rank ? m2c_memdup(A, dims, (size_t)rank * sizeof *dims) : NULL;
    return t;
}

static Onnx__TensorProto *tensor1(const char *name, int dtype, int64_t n)
{
    return tensor(name, dtype, 1, &n);
}

static void set_raw(Onnx__TensorProto *t, const void *data, size_t n)
{
    t->has_raw_data = true;
    t->raw_data.data = m2c_memdup(A, data, n);
    t->raw_data.len = n;
}

static void set_external(Onnx__TensorProto *t, const char *location, const char *offset, const char *length)
{
    t->has_data_location = true;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    PUSH(t->external_data, t->n_external_data, entry("location", location));
    if (offset) PUSH(t->external_data, t->n_external_data, entry("offset", offset));
    if (length) PUSH(t->external_data, t->n_external_data, entry("length", length));
}

static void add_init(Onnx__ModelProto *m, Onnx__TensorProto *t)
{
    PUSH(m->graph->initializer, m->graph->n_initializer, t);
}

/* A tensor type; dims: "3" a dim_value, "?" an unnamed dim, anything else a dim_param. */
static Onnx__ValueInfoProto *value_info(const char *name, int dtype, int rank, const char *const *dims)
{
    Onnx__ValueInfoProto *vi = m2c_alloc(A, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = S(name);
    Onnx__TypeProto *tp = m2c_alloc(A, sizeof *tp);
    onnx__type_proto__init(tp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = m2c_alloc(A, sizeof *tp->tensor_type);
    onnx__type_proto__tensor__init(tp->tensor_type);
    tp->tensor_type->has_elem_type = true;
    tp->tensor_type->elem_type = dtype;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = m2c_alloc(A, sizeof *sh);
        onnx__tensor_shape_proto__init(sh);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = m2c_alloc(A, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            char *end;
            long long v = strtoll(dims[i], &end, 10);
            if (strcmp(dims[i], "?") == 0) {
                /* neither field set: a dynamic axis without a name */
            } else if (!*end) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = v;
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = S(dims[i]);
            }
            PUSH(sh->dim, sh->n_dim, d);
        }
        tp->tensor_type->shape = sh;
    }
    vi->type = tp;
    return vi;
}

static void add_input(Onnx__ModelProto *m, const char *name, int dtype, int rank, const char *const *dims)
{
    PUSH(m->graph->input, m->graph->n_input, value_info(name, dtype, rank, dims));
}

static void add_output(Onnx__ModelProto *m, const char *name)
{
    Onnx__ValueInfoProto *vi = m2c_alloc(A, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = S(name);
    PUSH(m->graph->output, m->graph->n_output, vi);
}

/* Comma-separated names; an empty item is an omitted optional input. */
static void names(char ***arr, size_t *n, const char *list)
{
    if (!list) return;
    const char *s = list;
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        PUSH(*arr, *n, m2c_strndup(A, s, len));
        if (!e) break;
        s = e + 1;
    }
}

static Onnx__NodeProto *add_node(Onnx__ModelProto *m, const char *op, const char *name, const char *ins,
                                 const char *outs)
{
    Onnx__NodeProto *n = m2c_alloc(A, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = op ? S(op) : NULL;
    n->name = name ? S(name) : NULL;
    names(&n->input, &n->n_input, ins);
    names(&n->output, &n->n_output, outs);
    PUSH(m->graph->node, m->graph->n_node, n);
    return n;
}

static Onnx__AttributeProto *attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = m2c_alloc(A, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = S(name);
    a->has_type = true;
    a->type = type;
    PUSH(n->attribute, n->n_attribute, a);
    return a;
}

static void attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = true;
    a->i = v;
}

static void attr_float(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = true;
    a->f = v;
}

static void attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = m2c_memdup(A, v, count * sizeof *v);
}

static void attr_floats(Onnx__NodeProto *n, const char *name, const float *v, size_t count)
{
    Onnx__AttributeProto *a = attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = count;
    a->floats = m2c_memdup(A, v, count * sizeof *v);
}

static void attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR)->t = t;
}

static void node_meta(Onnx__NodeProto *n, const char *k, const char *v)
{
    PUSH(n->metadata_props, n->n_metadata_props, entry(k, v));
}

/* --- files and imports ------------------------------------------------------------------------------- */

static const char *path_in(const char *rel)
{
    return m2c_sprintf(A, "%s/%s", tmpdir, rel);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = m2c_alloc(A, (size_t)len + 1);
    *n = fread(p, 1, (size_t)len, f);
    fclose(f);
    return p;
}

/* Packs the model to tmpdir/rel (folders made as needed by the caller); returns the path. */
static const char *write_model(const Onnx__ModelProto *m, const char *rel)
{
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = m2c_alloc(A, len ? len : 1);
    onnx__model_proto__pack(m, buf);
    const char *path = path_in(rel);
    write_file(path, buf, len);
    /* the fuzzer's seed corpus (tests/fuzz/corpus) is picked from these models */
    const char *seeds = getenv("M2C_IMPORT_SEEDS");
    if (seeds) {
        char *flat = m2c_strdup(A, rel);
        for (char *c = flat; *c; c++)
            if (*c == '/') *c = '_';
        write_file(m2c_sprintf(A, "%s/%s", seeds, flat), buf, len);
    }
    return path;
}

/* What the last import printed: the diagnostics go to a temporary file, read back here. */
static char *diag_text;
static int diag_lines;

static IrGraph *import_path(const char *path)
{
    FILE *f = tmpfile();
    if (!f) {
        perror("tmpfile");
        exit(2);
    }
    m2c_diag_reset(path);
    m2c_diag_set_stream(f);
    IrGraph *g = onnx_import(path);
    m2c_diag_set_stream(NULL);
    long len = ftell(f);
    rewind(f);
    diag_text = m2c_alloc(A, (size_t)len + 1);
    size_t got = fread(diag_text, 1, (size_t)len, f);
    diag_text[got] = 0;
    fclose(f);
    diag_lines = 0;
    for (const char *s = diag_text; *s; s++) diag_lines += *s == '\n';
    return g;
}

static IrGraph *import_model(const Onnx__ModelProto *m, const char *rel)
{
    return import_path(write_model(m, rel));
}

/* The import must succeed silently. */
#define IMPORT_OK(g, m, rel)                                                                   \
    do {                                                                                       \
        (g) = import_model((m), (rel));                                                        \
        CHECK((g) != NULL);                                                                    \
        if (diag_text[0]) fprintf(stderr, "%s:%d: unexpected diagnostics:\n%s", __FILE__, __LINE__, diag_text); \
        CHECK_EQ_INT(diag_lines, 0);                                                           \
    } while (0)

/* The import must fail with exactly one line containing `want`, and that exit code. */
#define IMPORT_FAILS(m, rel, code, want) expect_failure(import_model((m), (rel)), (code), (want), __LINE__)

static void expect_failure(IrGraph *g, int code, const char *want, int line)
{
    int failures = check_failures;
    CHECK(g == NULL);
    CHECK_EQ_INT(m2c_exit_code(), code);
    CHECK_EQ_INT(diag_lines, 1);
    if (!strstr(diag_text, want)) {
        fprintf(stderr, "%s:%d: message lacks \"%s\"\n", __FILE__, __LINE__, want);
        check_failures++;
    }
    if (check_failures != failures) fprintf(stderr, "  (case at line %d) diagnostics were:\n%s", line, diag_text);
    ir_graph_free(g);
}

static const IrValue *value(IrGraph *g, const char *name)
{
    uint32_t v = ir_value_lookup(g, name);
    if (v == IR_NONE) {
        fprintf(stderr, "no value '%s'\n", name);
        check_failures++;
        static IrValue none = {.rank = -1};
        return &none;
    }
    return ir_val(g, v);
}

static const IrTensor *konst(IrGraph *g, const char *name)
{
    static const IrTensor empty = {0};
    const IrValue *v = value(g, name);
    if (!v->konst) {
        fprintf(stderr, "value '%s' has no contents\n", name);
        check_failures++;
        return &empty;
    }
    return v->konst;
}

static const IrNode *node_named(IrGraph *g, const char *name)
{
    for (uint32_t n = 0; n < g->nodes.n; n++)
        if (g->nodes.v[n].loc.node && strcmp(g->nodes.v[n].loc.node, name) == 0) return &g->nodes.v[n];
    fprintf(stderr, "no node '%s'\n", name);
    check_failures++;
    return NULL;
}

static bool same_bytes(const IrTensor *t, const void *want, size_t n)
{
    return t->data && t->nbytes == n && memcmp(t->data, want, n) == 0;
}

/* --- dtypes ---------------------------------------------------------------------------------------------- */

static const struct {
    IrDType dt;
    const char *name;
} all_dtypes[] = {
    {DT_F32, "f32"}, {DT_F16, "f16"}, {DT_BF16, "bf16"}, {DT_F64, "f64"}, {DT_I8, "i8"},   {DT_I16, "i16"},
    {DT_I32, "i32"}, {DT_I64, "i64"}, {DT_U8, "u8"},     {DT_U16, "u16"}, {DT_U32, "u32"}, {DT_U64, "u64"},
    {DT_BOOL, "bool"},
};
enum { NDT = sizeof all_dtypes / sizeof all_dtypes[0] };

/* Element bytes that exercise every bit; bool holds only 0 and 1. */
static void pattern(IrDType dt, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = dt == DT_BOOL ? (uint8_t)(i % 3 == 0) : (uint8_t)(i * 37 + 11 + dt);
}

/* raw_data below 64 bytes stays in the skeleton and protobuf-c copies it; from 64 bytes on wire.c leaves
 * it in the mapped file and the tensor points there (file_offset says where). */
static void test_raw_dtypes(void)
{
    Onnx__ModelProto *m = model_new(17);
    enum { SMALL = 4, LARGE = 80 };   /* elements: at most 32 bytes, at least 80 bytes */
    uint8_t buf[LARGE * 8];
    for (int i = 0; i < NDT; i++) {
        size_t esz = ir_dtype_size(all_dtypes[i].dt);
        Onnx__TensorProto *t = tensor1(m2c_sprintf(A, "small_%s", all_dtypes[i].name), (int)all_dtypes[i].dt, SMALL);
        pattern(all_dtypes[i].dt, buf, SMALL * esz);
        set_raw(t, buf, SMALL * esz);
        add_init(m, t);
        int64_t dims[2] = {LARGE / 4, 4};
        t = tensor(m2c_sprintf(A, "large_%s", all_dtypes[i].name), (int)all_dtypes[i].dt, 2, dims);
        pattern(all_dtypes[i].dt, buf, LARGE * esz);
        set_raw(t, buf, LARGE * esz);
        add_init(m, t);
    }
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    add_node(m, "Identity", "id", "x", "y");
    add_output(m, "y");
    IrGraph *g;
    IMPORT_OK(g, m, "raw.onnx");
    if (!g) return;
    size_t flen = 0;
    const uint8_t *file = read_file(path_in("raw.onnx"), &flen);
    CHECK_EQ_INT(g->params.n, 2 * NDT);
    for (int i = 0; i < NDT; i++) {
        IrDType dt = all_dtypes[i].dt;
        size_t esz = ir_dtype_size(dt);
        const IrTensor *s = konst(g, m2c_sprintf(A, "small_%s", all_dtypes[i].name));
        const IrTensor *l = konst(g, m2c_sprintf(A, "large_%s", all_dtypes[i].name));
        CHECK_EQ_INT(s->dtype, dt);
        CHECK_EQ_INT(s->numel, SMALL);
        CHECK_EQ_INT(s->file_offset, 0);
        pattern(dt, buf, SMALL * esz);
        if (!same_bytes(s, buf, SMALL * esz)) {
            fprintf(stderr, "small raw %s: bytes differ\n", all_dtypes[i].name);
            check_failures++;
        }
        CHECK_EQ_INT(l->dtype, dt);
        CHECK_EQ_INT(l->rank, 2);
        CHECK_EQ_INT(l->numel, LARGE);
        pattern(dt, buf, LARGE * esz);
        if (!same_bytes(l, buf, LARGE * esz)) {
            fprintf(stderr, "large raw %s: bytes differ\n", all_dtypes[i].name);
            check_failures++;
        }
        /* zero copy: the bytes are where file_offset says, in the model file */
        CHECK(l->file_offset > 0 && l->file_offset + LARGE * esz <= flen);
        if (l->file_offset && l->file_offset + LARGE * esz <= flen)
            CHECK(memcmp(file + l->file_offset, buf, LARGE * esz) == 0);
    }
    /* a value through the float conversions: bf16 0x3f80 and f16 0x3c00 are 1.0 */
    ir_graph_free(g);
}

static void test_typed_fields(void)
{
    Onnx__ModelProto *m = model_new(17);
    Onnx__TensorProto *t;
    uint32_t nan_bits = 0x7fc00001u, tiny_bits = 1;
    float f32v[5] = {1.5f, -0.0f, 3.4e38f, 0, 0};
    memcpy(&f32v[3], &nan_bits, 4);
    memcpy(&f32v[4], &tiny_bits, 4);
    t = tensor1("f32", DT_F32, 5);
    t->n_float_data = 5;
    t->float_data = f32v;
    add_init(m, t);
    double f64v[4] = {1.5, -2.25, 1e300, -0.0};
    t = tensor1("f64", DT_F64, 4);
    t->n_double_data = 4;
    t->double_data = f64v;
    add_init(m, t);
    int64_t i64v[4] = {INT64_MIN, -1, 0, INT64_MAX};
    t = tensor1("i64", DT_I64, 4);
    t->n_int64_data = 4;
    t->int64_data = i64v;
    add_init(m, t);
    uint64_t u64v[4] = {0, 1, UINT64_MAX, (uint64_t)1 << 63};
    t = tensor1("u64", DT_U64, 4);
    t->n_uint64_data = 4;
    t->uint64_data = u64v;
    add_init(m, t);
    uint64_t u32in[4] = {0, 1, 4294967295u, 123456789};
    t = tensor1("u32", DT_U32, 4);
    t->n_uint64_data = 4;
    t->uint64_data = u32in;
    add_init(m, t);
    /* int32_data carries every narrower type, f16/bf16 as bit patterns */
    static const struct {
        const char *name;
        IrDType dt;
        int32_t v[4];
    } narrow[] = {
        {"i32", DT_I32, {INT32_MIN, -1, 0, INT32_MAX}}, {"i16", DT_I16, {-32768, -1, 0, 32767}},
        {"i8", DT_I8, {-128, -1, 0, 127}},              {"u16", DT_U16, {0, 1, 65535, 40000}},
        {"u8", DT_U8, {0, 1, 255, 128}},                {"bool", DT_BOOL, {0, 1, 1, 0}},
        {"f16", DT_F16, {0x3c00, 0xc000, 0x7c00, 0x7e01}}, {"bf16", DT_BF16, {0x3f80, 0xc000, 0x7f80, 0x7fc1}},
    };
    for (size_t i = 0; i < sizeof narrow / sizeof narrow[0]; i++) {
        t = tensor1(narrow[i].name, (int)narrow[i].dt, 4);
        t->n_int32_data = 4;
        t->int32_data = m2c_memdup(A, narrow[i].v, sizeof narrow[i].v);
        add_init(m, t);
    }
    /* a scalar (rank 0) and an empty tensor */
    t = tensor("scalar", DT_F32, 0, NULL);
    t->n_float_data = 1;
    t->float_data = m2c_memdup(A, (float[]){2.5f}, 4);
    add_init(m, t);
    t = tensor1("empty", DT_I64, 0);
    add_init(m, t);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    add_node(m, "Identity", "id", "x", "y");
    add_output(m, "y");
    IrGraph *g;
    IMPORT_OK(g, m, "typed.onnx");
    if (!g) return;
    CHECK(same_bytes(konst(g, "f32"), f32v, sizeof f32v));
    CHECK(same_bytes(konst(g, "f64"), f64v, sizeof f64v));
    CHECK(same_bytes(konst(g, "i64"), i64v, sizeof i64v));
    CHECK(same_bytes(konst(g, "u64"), u64v, sizeof u64v));
    uint32_t u32v[4] = {0, 1, 4294967295u, 123456789};
    CHECK(same_bytes(konst(g, "u32"), u32v, sizeof u32v));
    int32_t i32v[4] = {INT32_MIN, -1, 0, INT32_MAX};
    CHECK(same_bytes(konst(g, "i32"), i32v, sizeof i32v));
    int16_t i16v[4] = {-32768, -1, 0, 32767};
    CHECK(same_bytes(konst(g, "i16"), i16v, sizeof i16v));
    int8_t i8v[4] = {-128, -1, 0, 127};
    CHECK(same_bytes(konst(g, "i8"), i8v, sizeof i8v));
    uint16_t u16v[4] = {0, 1, 65535, 40000};
    CHECK(same_bytes(konst(g, "u16"), u16v, sizeof u16v));
    uint8_t u8v[4] = {0, 1, 255, 128};
    CHECK(same_bytes(konst(g, "u8"), u8v, sizeof u8v));
    uint8_t boolv[4] = {0, 1, 1, 0};
    CHECK(same_bytes(konst(g, "bool"), boolv, sizeof boolv));
    uint16_t f16v[4] = {0x3c00, 0xc000, 0x7c00, 0x7e01};
    CHECK(same_bytes(konst(g, "f16"), f16v, sizeof f16v));
    CHECK(ir_tensor_get_f64(konst(g, "f16"), 0) == 1.0);
    CHECK(ir_tensor_get_f64(konst(g, "f16"), 1) == -2.0);
    uint16_t bf16v[4] = {0x3f80, 0xc000, 0x7f80, 0x7fc1};
    CHECK(same_bytes(konst(g, "bf16"), bf16v, sizeof bf16v));
    CHECK(ir_tensor_get_f64(konst(g, "bf16"), 0) == 1.0);
    CHECK(isinf(ir_tensor_get_f64(konst(g, "bf16"), 2)));
    const IrTensor *sc = konst(g, "scalar");
    CHECK_EQ_INT(sc->rank, 0);
    CHECK_EQ_INT(sc->numel, 1);
    CHECK(ir_tensor_get_f64(sc, 0) == 2.5);
    CHECK_EQ_INT(konst(g, "empty")->numel, 0);
    CHECK_EQ_INT(value(g, "empty")->rank, 1);
    ir_graph_free(g);
}

/* The typed field must hold exactly one value per element. */
static void test_typed_count_mismatch(void)
{
    Onnx__ModelProto *m = model_new(17);
    Onnx__TensorProto *t = tensor1("w", DT_F32, 3);
    t->n_float_data = 2;
    t->float_data = m2c_memdup(A, (float[]){1, 2}, 8);
    add_init(m, t);
    add_node(m, "Identity", "id", "w", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "typed_count.onnx", M2C_EXIT_INVALID, "initializer 'w': float_data has 2 values for 3 elements");
    /* no data at all, for a tensor with elements */
    m = model_new(17);
    add_init(m, tensor1("w", DT_I64, 3));
    add_node(m, "Identity", "id", "w", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "typed_none.onnx", M2C_EXIT_INVALID, "initializer 'w': tensor of 3 elements has no data");
    /* a raw_data of the wrong size */
    m = model_new(17);
    t = tensor1("w", DT_F32, 3);
    set_raw(t, "12345678", 8);
    add_init(m, t);
    add_node(m, "Identity", "id", "w", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "raw_size.onnx", M2C_EXIT_INVALID, "raw_data has 8 bytes, but FLOAT with 3 elements needs 12");
}

/* onnx_import_memory: the fuzzer's entry; no folder, so external data is refused. */
static void test_import_memory(void)
{
    Onnx__ModelProto *m = model_new(17);
    Onnx__TensorProto *t = tensor1("w", DT_F32, 32);
    float w[32];
    for (int i = 0; i < 32; i++) w[i] = (float)i * 0.25f;
    set_raw(t, w, sizeof w);
    add_init(m, t);
    add_input(m, "x", DT_F32, 1, (const char *[]){"32"});
    add_node(m, "Add", "add", "x,w", "y");
    add_output(m, "y");
    size_t len = onnx__model_proto__get_packed_size(m);
    uint8_t *buf = m2c_alloc(A, len);
    onnx__model_proto__pack(m, buf);
    m2c_diag_reset("mem.onnx");
    m2c_diag_quiet(true);
    IrGraph *g = onnx_import_memory(buf, len, "mem.onnx", NULL);
    CHECK(g != NULL);
    if (g) {
        const IrTensor *x = konst(g, "w");
        CHECK(same_bytes(x, w, sizeof w));
        CHECK((const uint8_t *)x->data == buf + x->file_offset);   /* borrowed from the caller's buffer */
        CHECK_EQ_STR(g->file, "mem.onnx");
        ir_graph_free(g);
    }
    set_external(t, "w.bin", NULL, NULL);
    t->has_raw_data = false;
    len = onnx__model_proto__get_packed_size(m);
    buf = m2c_alloc(A, len);
    onnx__model_proto__pack(m, buf);
    m2c_diag_reset("mem.onnx");
    g = onnx_import_memory(buf, len, "mem.onnx", NULL);
    CHECK(g == NULL);
    CHECK_EQ_INT(m2c_error_count(), 1);
    CHECK_EQ_INT(m2c_exit_code(), M2C_EXIT_INVALID);
    m2c_diag_quiet(false);
    /* empty input */
    m2c_diag_reset("empty.onnx");
    m2c_diag_quiet(true);
    CHECK(onnx_import_memory("", 0, "empty.onnx", NULL) == NULL);
    CHECK_EQ_INT(m2c_exit_code(), M2C_EXIT_INVALID);
    m2c_diag_quiet(false);
}

/* --- external data ------------------------------------------------------------------------------------- */

static Onnx__ModelProto *ext_model(const char *location, const char *offset, const char *length, int64_t n)
{
    Onnx__ModelProto *m = model_new(17);
    Onnx__TensorProto *t = tensor1("w", DT_F32, n);
    set_external(t, location, offset, length);
    add_init(m, t);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    add_node(m, "Add", "add", "x,w", "y");
    add_output(m, "y");
    return m;
}

static void test_external_data(void)
{
    mkdir(path_in("ext"), 0700);
    float data[12];
    for (int i = 0; i < 12; i++) data[i] = (float)i - 5.5f;
    write_file(path_in("ext/weights.bin"), data, sizeof data);
    /* f32 [4] at byte 16: elements 4..7 */
    IrGraph *g;
    IMPORT_OK(g, ext_model("weights.bin", "16", "16", 4), "ext/ok.onnx");
    if (g) {
        const IrTensor *t = konst(g, "w");
        CHECK(same_bytes(t, data + 4, 16));
        CHECK_EQ_STR(t->file, "weights.bin");
        CHECK_EQ_INT(t->file_offset, 16);
        CHECK(ir_val(g, ir_value_lookup(g, "w"))->flags & V_PARAM);
        ir_graph_free(g);
    }
    /* no offset, no length: from the start; a sub-folder is fine */
    mkdir(path_in("ext/sub"), 0700);
    write_file(path_in("ext/sub/w.bin"), data, sizeof data);
    IMPORT_OK(g, ext_model("sub/w.bin", NULL, NULL, 4), "ext/sub_ok.onnx");
    if (g) {
        CHECK(same_bytes(konst(g, "w"), data, 16));
        ir_graph_free(g);
    }

    /* errors: path confinement is an invalid model (1); a file that is missing or short is I/O (3) */
    write_file(path_in("outside.bin"), data, sizeof data);
    IMPORT_FAILS(ext_model("../outside.bin", NULL, NULL, 4), "ext/dotdot.onnx", M2C_EXIT_INVALID,
                 "initializer 'w': external data location '../outside.bin' leaves the model's folder");
    IMPORT_FAILS(ext_model("sub/../../outside.bin", NULL, NULL, 4), "ext/dotdot2.onnx", M2C_EXIT_INVALID,
                 "leaves the model's folder");
    const char *abs = path_in("outside.bin");
    IMPORT_FAILS(ext_model(abs, NULL, NULL, 4), "ext/abs.onnx", M2C_EXIT_INVALID,
                 "must be a relative path inside the model's folder");
    unlink(path_in("ext/link.bin"));
    if (symlink(abs, path_in("ext/link.bin")) == 0)
        IMPORT_FAILS(ext_model("link.bin", NULL, NULL, 4), "ext/symlink.onnx", M2C_EXIT_INVALID,
                     "external data location 'link.bin' resolves outside the model's folder");
    else
        printf("note: symlinks unsupported here (%s); symlink escape not tested\n", strerror(errno));
    IMPORT_FAILS(ext_model("missing.bin", NULL, NULL, 4), "ext/missing.onnx", M2C_EXIT_IO,
                 "external data file");
    IMPORT_FAILS(ext_model("weights.bin", "40", NULL, 4), "ext/short.onnx", M2C_EXIT_IO,
                 "external data needs bytes [40, 56) of 'weights.bin', which has only 48 bytes");
    IMPORT_FAILS(ext_model("weights.bin", "0", "12", 4), "ext/length.onnx", M2C_EXIT_INVALID,
                 "external data length 12 does not match the 16 bytes its shape and type need");
    IMPORT_FAILS(ext_model("weights.bin", "-4", NULL, 4), "ext/negoffset.onnx", M2C_EXIT_INVALID,
                 "external data offset '-4' is not a byte count");

    /* a FIFO is not waited on: neither as external data nor as the model */
    if (mkfifo(path_in("ext/pipe.bin"), 0600) == 0) {
        IMPORT_FAILS(ext_model("pipe.bin", NULL, NULL, 4), "ext/fifo.onnx", M2C_EXIT_IO,
                     "ext/pipe.bin' is not a regular file");
        expect_failure(import_path(path_in("ext/pipe.bin")), M2C_EXIT_IO, "is not a regular file", __LINE__);
    } else {
        printf("note: cannot make a FIFO here (%s); not tested\n", strerror(errno));
    }
    IMPORT_FAILS(ext_model("sub", NULL, NULL, 4), "ext/dir.onnx", M2C_EXIT_IO, "ext/sub' is not a regular file");

    /* two weights in one missing file: the file is reported once */
    Onnx__ModelProto *m = ext_model("gone.bin", "0", NULL, 4);
    Onnx__TensorProto *t = tensor1("w2", DT_F32, 4);
    set_external(t, "gone.bin", "16", NULL);
    add_init(m, t);
    add_node(m, "Add", "add2", "y,w2", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "ext/gone_twice.onnx", M2C_EXIT_IO, "gone.bin' not found");
}

/* f32 [600000000] = 2.4 GB in a sparse file: the importer maps it and never reads it. */
static void test_external_huge(void)
{
    const char *bin = path_in("ext/huge.bin");
    const uint64_t n = 600000000, nbytes = n * 4;
    int fd = open(bin, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)nbytes) != 0) {
        printf("note: cannot make a %llu-byte sparse file here (%s); >2 GiB external data not tested\n",
               (unsigned long long)nbytes, strerror(errno));
        if (fd >= 0) close(fd);
        unlink(bin);
        return;
    }
    struct stat st;
    fstat(fd, &st);
    close(fd);
    if ((uint64_t)st.st_blocks * 512 >= nbytes) {
        printf("note: the filesystem does not make sparse files; >2 GiB external data not tested\n");
        unlink(bin);
        return;
    }
    IrGraph *g;
    IMPORT_OK(g, ext_model("huge.bin", "0", "2400000000", (int64_t)n), "ext/huge.onnx");
    if (g) {
        const IrTensor *t = konst(g, "w");
        CHECK_EQ_INT(t->numel, n);
        CHECK_EQ_INT(t->nbytes, nbytes);
        CHECK_EQ_INT(ir_param_bytes(g), nbytes);
        ir_graph_free(g);
    }
    unlink(bin);
}

/* --- the graph's interface ----------------------------------------------------------------------------- */

static const char *dim_str(IrGraph *g, const IrValue *v, int k)
{
    return k < v->rank ? ir_dim_str(g, v->dims[k]) : "<no dim>";
}

static const IrSymbol *symbol(IrGraph *g, const char *name)
{
    for (uint32_t i = 0; i < g->symbols.n; i++)
        if (strcmp(g->symbols.v[i].name, name) == 0) return &g->symbols.v[i];
    fprintf(stderr, "no symbol '%s'\n", name);
    check_failures++;
    return NULL;
}

static void test_interface(void)
{
    Onnx__ModelProto *m = model_new(17);
    PUSH(m->opset_import, m->n_opset_import, opset("com.microsoft", 1));
    /* an initializer also listed as a graph input (IR version < 4): a weight, not an input */
    Onnx__TensorProto *w = tensor1("w", DT_F32, 3);
    w->n_float_data = 3;
    w->float_data = m2c_memdup(A, (float[]){1, 2, 3}, 12);
    add_init(m, w);
    add_input(m, "input.1", DT_F32, 4, (const char *[]){"batch", "3", "?", "seq len"});
    add_input(m, "w", DT_F32, 1, (const char *[]){"3"});
    add_input(m, "mask", DT_I64, 2, (const char *[]){"batch", "?"});
    add_input(m, "any_shape", DT_F16, -1, NULL);
    add_node(m, "Mul", "mul", "input.1,w", "a");
    Onnx__NodeProto *fg = add_node(m, "FastGelu", "fg", "a", "b");
    fg->domain = S("com.microsoft");
    add_node(m, "Cast", "cast", "mask", "c");
    add_node(m, "Relu", "relu", "any_shape", "d");
    add_output(m, "b");
    add_output(m, "c");
    add_output(m, "d");
    IrGraph *g;
    IMPORT_OK(g, m, "interface.onnx");
    if (!g) return;
    CHECK_EQ_INT(g->inputs.n, 3);
    CHECK_EQ_INT(g->params.n, 1);
    const IrValue *wv = value(g, "w");
    CHECK(wv->flags & V_PARAM);
    CHECK(!(wv->flags & V_INPUT));
    for (uint32_t i = 0; i < g->inputs.n; i++) CHECK(strcmp(ir_val(g, g->inputs.v[i])->name, "w") != 0);
    const IrValue *x = value(g, "input.1");
    CHECK(x->flags & V_INPUT);
    CHECK_EQ_INT(x->dtype, DT_F32);
    CHECK_EQ_INT(x->rank, 4);
    CHECK_EQ_STR(dim_str(g, x, 0), "batch");
    CHECK_EQ_STR(dim_str(g, x, 1), "3");
    CHECK_EQ_STR(dim_str(g, x, 2), "input_1_dim2");   /* invented after the input, as an identifier */
    CHECK_EQ_STR(dim_str(g, x, 3), "seq_len");
    const IrValue *mask = value(g, "mask");
    CHECK(mask->rank == 2 && x->rank == 4 && mask->dims[0] == x->dims[0]);   /* one symbol, one dim id */
    CHECK_EQ_STR(dim_str(g, mask, 1), "mask_dim1");
    CHECK_EQ_INT(value(g, "any_shape")->rank, -1);
    CHECK_EQ_INT(value(g, "any_shape")->dtype, DT_F16);
    /* each symbol is bound to the first input axis that carries it */
    const IrSymbol *s = symbol(g, "batch");
    if (s) CHECK(s->value == ir_value_lookup(g, "input.1") && s->axis == 0);
    s = symbol(g, "input_1_dim2");
    if (s) CHECK(s->value == ir_value_lookup(g, "input.1") && s->axis == 2);
    s = symbol(g, "seq_len");
    if (s) CHECK(s->axis == 3);
    s = symbol(g, "mask_dim1");
    if (s) CHECK(s->value == ir_value_lookup(g, "mask") && s->axis == 1);
    CHECK_EQ_INT(g->symbols.n, 4);
    /* opsets: the default domain and com.microsoft */
    CHECK_EQ_INT(ir_opset(g, ""), 17);
    CHECK_EQ_INT(ir_opset(g, "ai.onnx"), 17);
    CHECK_EQ_INT(ir_opset(g, "com.microsoft"), 1);
    const IrNode *n = node_named(g, "fg");
    if (n) {
        CHECK_EQ_INT(n->op, IR_OP_MS_FAST_GELU);
        CHECK_EQ_STR(n->domain, "com.microsoft");
        CHECK_EQ_INT(n->opset, 1);
    }
    n = node_named(g, "mul");
    if (n) {
        CHECK_EQ_INT(n->op, IR_OP_MUL);
        CHECK_EQ_STR(n->domain, "");
        CHECK_EQ_INT(n->opset, 17);
        CHECK(n->nin == 2 && n->in[1] == ir_value_lookup(g, "w"));
    }
    CHECK_EQ_INT(g->outputs.n, 3);
    CHECK(value(g, "b")->flags & V_OUTPUT);
    CHECK_EQ_STR(g->name, "g");
    CHECK_EQ_INT(g->ir_version, 8);
    ir_graph_free(g);

    /* an opset given as "ai.onnx" is the default domain */
    m = model_new(0);
    PUSH(m->opset_import, m->n_opset_import, opset("ai.onnx", 18));
    add_input(m, "x", DT_F32, 1, (const char *[]){"2"});
    Onnx__NodeProto *r = add_node(m, "Relu", "r", "x", "y");
    r->domain = S("ai.onnx");
    add_output(m, "y");
    IMPORT_OK(g, m, "ai_onnx.onnx");
    if (g) {
        CHECK_EQ_INT(ir_opset(g, ""), 18);
        n = node_named(g, "r");
        if (n) CHECK(n->op == IR_OP_RELU && n->opset == 18 && strcmp(n->domain, "") == 0);
        ir_graph_free(g);
    }
}

/* --- Constant nodes ------------------------------------------------------------------------------------ */

static void test_constants(void)
{
    Onnx__ModelProto *m = model_new(17);
    Onnx__NodeProto *n;
    n = add_node(m, "Constant", "c_value", NULL, "value");
    Onnx__TensorProto *t = tensor("", DT_I32, 2, (int64_t[]){2, 2});
    t->n_int32_data = 4;
    t->int32_data = m2c_memdup(A, (int32_t[]){1, -2, 3, -4}, 16);
    attr_tensor(n, "value", t);
    n = add_node(m, "Constant", "c_value_raw", NULL, "value_raw");
    float big[20];
    for (int i = 0; i < 20; i++) big[i] = (float)i / 8;
    t = tensor1(NULL, DT_F32, 20);
    set_raw(t, big, sizeof big);   /* 80 bytes: inside an attribute, left in the mapped file too */
    attr_tensor(n, "value", t);
    attr_float(add_node(m, "Constant", "c_float", NULL, "value_float"), "value_float", 0.25f);
    attr_floats(add_node(m, "Constant", "c_floats", NULL, "value_floats"), "value_floats", (float[]){1.5f, -2},
                2);
    attr_int(add_node(m, "Constant", "c_int", NULL, "value_int"), "value_int", -7);
    attr_ints(add_node(m, "Constant", "c_ints", NULL, "value_ints"), "value_ints",
              (int64_t[]){3, INT64_MIN, 5}, 3);
    /* sparse_value, linear indices: [0, 0, 7, 0, 0, 9] */
    Onnx__SparseTensorProto *sp = m2c_alloc(A, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    sp->values = tensor1(NULL, DT_F32, 2);
    sp->values->n_float_data = 2;
    sp->values->float_data = m2c_memdup(A, (float[]){7, 9}, 8);
    sp->indices = tensor1(NULL, DT_I64, 2);
    sp->indices->n_int64_data = 2;
    sp->indices->int64_data = m2c_memdup(A, (int64_t[]){2, 5}, 16);
    sp->n_dims = 1;
    sp->dims = m2c_memdup(A, (int64_t[]){6}, 8);
    n = add_node(m, "Constant", "c_sparse", NULL, "sparse_linear");
    attr(n, "sparse_value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR)->sparse_tensor = sp;
    /* sparse_value, [NNZ, rank] indices: 2x3 with (0,1)=4 and (1,2)=6 */
    sp = m2c_alloc(A, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    sp->values = tensor1(NULL, DT_I64, 2);
    sp->values->n_int64_data = 2;
    sp->values->int64_data = m2c_memdup(A, (int64_t[]){4, 6}, 16);
    sp->indices = tensor(NULL, DT_I64, 2, (int64_t[]){2, 2});
    sp->indices->n_int64_data = 4;
    sp->indices->int64_data = m2c_memdup(A, (int64_t[]){0, 1, 1, 2}, 32);
    sp->n_dims = 2;
    sp->dims = m2c_memdup(A, (int64_t[]){2, 3}, 16);
    n = add_node(m, "Constant", "c_sparse2", NULL, "sparse_2d");
    attr(n, "sparse_value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR)->sparse_tensor = sp;
    add_node(m, "Add", "use", "value_float,value_floats", "sum");
    const char *outs[] = {"value", "value_raw", "value_int", "value_ints", "sparse_linear", "sparse_2d", "sum"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) add_output(m, outs[i]);
    IrGraph *g;
    IMPORT_OK(g, m, "constants.onnx");
    if (!g) return;
    /* only the Add is left as a node: the Constant nodes became values with contents */
    CHECK_EQ_INT(g->nodes.n, 1);
    const char *cs[] = {"value", "value_raw", "value_float", "value_floats", "value_int", "value_ints",
                        "sparse_linear", "sparse_2d"};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        const IrValue *v = value(g, cs[i]);
        CHECK(v->konst != NULL);
        CHECK(v->flags & V_CONST);
        CHECK(!(v->flags & V_PARAM));
        CHECK_EQ_INT(v->producer, IR_NONE);
    }
    const IrTensor *x = konst(g, "value");
    CHECK(x->dtype == DT_I32 && x->rank == 2 && x->shape[0] == 2 && x->shape[1] == 2);
    CHECK(ir_tensor_get_i64(x, 1) == -2 && ir_tensor_get_i64(x, 3) == -4);
    CHECK(same_bytes(konst(g, "value_raw"), big, sizeof big));
    x = konst(g, "value_float");
    CHECK(x->dtype == DT_F32 && x->rank == 0 && ir_tensor_get_f64(x, 0) == 0.25);
    x = konst(g, "value_floats");
    CHECK(x->dtype == DT_F32 && x->rank == 1 && x->numel == 2 && ir_tensor_get_f64(x, 1) == -2);
    x = konst(g, "value_int");
    CHECK(x->dtype == DT_I64 && x->rank == 0 && ir_tensor_get_i64(x, 0) == -7);
    x = konst(g, "value_ints");
    CHECK(x->dtype == DT_I64 && x->rank == 1 && x->numel == 3 && ir_tensor_get_i64(x, 1) == INT64_MIN);
    x = konst(g, "sparse_linear");
    float dense1[6] = {0, 0, 7, 0, 0, 9};
    CHECK(x->dtype == DT_F32 && x->rank == 1 && same_bytes(x, dense1, sizeof dense1));
    x = konst(g, "sparse_2d");
    int64_t dense2[6] = {0, 4, 0, 0, 0, 6};
    CHECK(x->dtype == DT_I64 && x->rank == 2 && x->shape[1] == 3 && same_bytes(x, dense2, sizeof dense2));
    ir_graph_free(g);

    /* a sparse index out of range, and a Constant with two attributes */
    m = model_new(17);
    sp = m2c_alloc(A, sizeof *sp);
    onnx__sparse_tensor_proto__init(sp);
    sp->values = tensor1(NULL, DT_F32, 1);
    sp->values->n_float_data = 1;
    sp->values->float_data = m2c_memdup(A, (float[]){1}, 4);
    sp->indices = tensor1(NULL, DT_I64, 1);
    sp->indices->n_int64_data = 1;
    sp->indices->int64_data = m2c_memdup(A, (int64_t[]){6}, 8);
    sp->n_dims = 1;
    sp->dims = m2c_memdup(A, (int64_t[]){6}, 8);
    n = add_node(m, "Constant", "bad_sparse", NULL, "s");
    attr(n, "sparse_value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR)->sparse_tensor = sp;
    add_node(m, "Relu", "r", "s", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "bad_sparse.onnx", M2C_EXIT_INVALID, "node 'bad_sparse' (Constant): attribute 'sparse_value': sparse index out of range");
    m = model_new(17);
    n = add_node(m, "Constant", "two_attrs", NULL, "s");
    attr_int(n, "value_int", 1);
    attr_float(n, "value_float", 1);
    add_node(m, "Relu", "r", "s", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "two_attrs.onnx", M2C_EXIT_INVALID, "node 'two_attrs' (Constant): Constant needs exactly one attribute, has 2");
}

/* --- scopes and state names ---------------------------------------------------------------------------- */

static const IrScope *scope_of(IrGraph *g, const IrNode *n)
{
    return n ? &g->scopes.v[n->scope] : &g->scopes.v[0];
}

static void test_scopes(void)
{
    Onnx__ModelProto *m = model_new(18);
    add_input(m, "x", DT_F32, 2, (const char *[]){"2", "4"});
    /* the dynamo exporter: module paths from the root, then the FX node; classes in parallel */
    Onnx__NodeProto *n = add_node(m, "Relu", "node_linear", "x", "a");
    node_meta(n, "pkg.torch.onnx.name_scopes", "['', 'encoder', 'encoder.layer.0', 'linear']");
    node_meta(n, "pkg.torch.onnx.class_hierarchy",
              "['transformers.models.bert.modeling_bert.BertModel', "
              "'transformers.models.bert.modeling_bert.BertEncoder', "
              "'transformers.models.bert.modeling_bert.BertLayer', 'aten.linear.default']");
    /* the TorchScript exporter: only the node name says it */
    add_node(m, "Relu", "/encoder/layer.0/attention/self/MatMul", "a", "b");
    /* a root-level node, and a name that is not a path */
    add_node(m, "Relu", "/Relu", "b", "c");
    add_node(m, "Relu", "relu_7", "c", "d");
    /* a folded weight keeps its PyTorch name */
    Onnx__TensorProto *t = tensor1("val_3", DT_F32, 4);
    t->n_float_data = 4;
    t->float_data = m2c_memdup(A, (float[]){1, 2, 3, 4}, 16);
    PUSH(t->metadata_props, t->n_metadata_props, entry("pkg.onnxscript.optimizer.folded_from", "['fc.weight']"));
    add_init(m, t);
    add_node(m, "Add", "add", "d,val_3", "e");
    add_output(m, "e");
    IrGraph *g;
    IMPORT_OK(g, m, "scopes.onnx");
    if (!g) return;
    const IrScope *s = scope_of(g, node_named(g, "node_linear"));
    CHECK_EQ_STR(s->path, "encoder.layer.0");
    CHECK_EQ_STR(s->cls, "transformers.models.bert.modeling_bert.BertLayer");
    /* the parent by path is encoder.layer (the ModuleList, no class of its own); the module ancestors carry
     * their classes too */
    CHECK_EQ_STR(g->scopes.v[s->parent].path, "encoder.layer");
    uint32_t enc;
    CHECK(m2c_map_get(&g->scope_by_path, "encoder", &enc));
    if (m2c_map_get(&g->scope_by_path, "encoder", &enc))
        CHECK_EQ_STR(g->scopes.v[enc].cls, "transformers.models.bert.modeling_bert.BertEncoder");
    s = scope_of(g, node_named(g, "/encoder/layer.0/attention/self/MatMul"));
    CHECK_EQ_STR(s->path, "encoder.layer.0.attention.self");
    CHECK(s->cls == NULL);
    CHECK_EQ_STR(g->scopes.v[s->parent].path, "encoder.layer.0.attention");
    const IrNode *root1 = node_named(g, "/Relu"), *root2 = node_named(g, "relu_7");
    CHECK(root1 && root1->scope == 0);
    CHECK(root2 && root2->scope == 0);
    CHECK_EQ_STR(value(g, "val_3")->state_name, "fc.weight");
    ir_graph_free(g);

    /* absurdly deep paths are malformed names, not modules: the node stays at the root */
    m = model_new(18);
    add_input(m, "x", DT_F32, 1, (const char *[]){"2"});
    M2cBuf deep = {0};
    for (int i = 0; i < 5000; i++) m2c_buf_puts(&deep, "/m");
    m2c_buf_puts(&deep, "/Relu");
    add_node(m, "Relu", deep.s, "x", "a");
    M2cBuf list = {0};
    m2c_buf_puts(&list, "[''");
    for (int i = 0; i < 5000; i++) m2c_buf_puts(&list, ", 'm'");
    m2c_buf_puts(&list, "]");
    n = add_node(m, "Relu", "many_scopes", "a", "b");
    node_meta(n, "pkg.torch.onnx.name_scopes", list.s);
    add_output(m, "b");
    IMPORT_OK(g, m, "deep_scopes.onnx");
    if (g) {
        const IrNode *d = node_named(g, deep.s);
        CHECK(d && d->scope == 0);
        d = node_named(g, "many_scopes");
        CHECK(d && d->scope == 0);
        ir_graph_free(g);
    }
    m2c_buf_free(&deep);
    m2c_buf_free(&list);
}

/* --- opset upgrades ------------------------------------------------------------------------------------ */

/* Input k of the node is a 1-D (or scalar) constant with these integer contents. */
static void check_const_input(IrGraph *g, const IrNode *n, uint32_t k, IrDType dt, const double *want, int count)
{
    if (!n) return;
    if (k >= n->nin || n->in[k] == IR_NONE) {
        fprintf(stderr, "node '%s': no input %u\n", n->loc.node, k);
        check_failures++;
        return;
    }
    const IrTensor *t = ir_val(g, n->in[k])->konst;
    CHECK(t != NULL);
    if (!t) return;
    CHECK_EQ_INT(t->dtype, dt);
    CHECK_EQ_INT(t->numel, count);
    for (int i = 0; i < count && (uint64_t)i < t->numel; i++)
        if (ir_tensor_get_f64(t, (uint64_t)i) != want[i]) {
            fprintf(stderr, "node '%s' input %u [%d]: %g, want %g\n", n->loc.node, k, i, ir_tensor_get_f64(t, (uint64_t)i),
                    want[i]);
            check_failures++;
        }
}

static void test_upgrades(void)
{
    /* opset 13: ReduceMean's axes attribute becomes input 1 (an input since opset 18) */
    Onnx__ModelProto *m = model_new(13);
    add_input(m, "x", DT_F32, 3, (const char *[]){"2", "3", "4"});
    Onnx__NodeProto *n = add_node(m, "ReduceMean", "rm", "x", "y");
    attr_ints(n, "axes", (int64_t[]){-1, 1}, 2);
    attr_int(n, "keepdims", 0);
    add_output(m, "y");
    IrGraph *g;
    IMPORT_OK(g, m, "up13.onnx");
    if (g) {
        const IrNode *rm = node_named(g, "rm");
        CHECK(rm && rm->nin == 2 && ir_attr(rm, "axes") == NULL && ir_attr_int(rm, "keepdims", 1) == 0);
        check_const_input(g, rm, 1, DT_I64, (double[]){-1, 1}, 2);
        ir_graph_free(g);
    }
    /* opset 11: Unsqueeze axes and Split split */
    m = model_new(11);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    attr_ints(add_node(m, "Unsqueeze", "unsq", "x", "u"), "axes", (int64_t[]){0}, 1);
    n = add_node(m, "Split", "split", "x", "s0,s1");
    attr_ints(n, "split", (int64_t[]){1, 3}, 2);
    attr_int(n, "axis", 0);
    add_output(m, "u");
    add_output(m, "s0");
    add_output(m, "s1");
    IMPORT_OK(g, m, "up11.onnx");
    if (g) {
        const IrNode *u = node_named(g, "unsq");
        CHECK(u && u->nin == 2 && !ir_attr(u, "axes"));
        check_const_input(g, u, 1, DT_I64, (double[]){0}, 1);
        const IrNode *s = node_named(g, "split");
        CHECK(s && s->nin == 2 && !ir_attr(s, "split") && ir_attr_int(s, "axis", -9) == 0);
        check_const_input(g, s, 1, DT_I64, (double[]){1, 3}, 2);
        ir_graph_free(g);
    }
    /* opset 9: Slice starts/ends/axes and Clip (version 6) min/max */
    m = model_new(9);
    add_input(m, "x", DT_F32, 2, (const char *[]){"4", "5"});
    n = add_node(m, "Slice", "slice", "x", "sl");
    attr_ints(n, "starts", (int64_t[]){1, 0}, 2);
    attr_ints(n, "ends", (int64_t[]){3, INT64_MAX}, 2);
    attr_ints(n, "axes", (int64_t[]){0, 1}, 2);
    n = add_node(m, "Clip", "clip", "sl", "cl");
    attr_float(n, "min", -1.5f);
    attr_float(n, "max", 6);
    n = add_node(m, "Slice", "slice_noaxes", "cl", "sl2");
    attr_ints(n, "starts", (int64_t[]){0}, 1);
    attr_ints(n, "ends", (int64_t[]){1}, 1);
    add_output(m, "sl2");
    IMPORT_OK(g, m, "up9.onnx");
    if (g) {
        const IrNode *sl = node_named(g, "slice");
        CHECK(sl && sl->nin == 4 && sl->nattrs == 0);
        check_const_input(g, sl, 1, DT_I64, (double[]){1, 0}, 2);
        check_const_input(g, sl, 2, DT_I64, (double[]){3, (double)INT64_MAX}, 2);
        check_const_input(g, sl, 3, DT_I64, (double[]){0, 1}, 2);
        const IrNode *cl = node_named(g, "clip");
        CHECK(cl && cl->nin == 3 && cl->nattrs == 0);
        check_const_input(g, cl, 1, DT_F32, (double[]){-1.5}, 1);
        check_const_input(g, cl, 2, DT_F32, (double[]){6}, 1);
        if (cl && cl->nin == 3 && cl->in[1] != IR_NONE) CHECK_EQ_INT(ir_val(g, cl->in[1])->rank, 0);
        const IrNode *s2 = node_named(g, "slice_noaxes");
        CHECK(s2 && s2->nin == 3);   /* no axes attribute: the input stays omitted */
        ir_graph_free(g);
    }
    /* Clip with only max: min is an omitted input */
    m = model_new(9);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    attr_float(add_node(m, "Clip", "clip_max", "x", "y"), "max", 2);
    add_output(m, "y");
    IMPORT_OK(g, m, "up9b.onnx");
    if (g) {
        const IrNode *cl = node_named(g, "clip_max");
        CHECK(cl && cl->nin == 3 && cl->in[1] == IR_NONE);
        check_const_input(g, cl, 2, DT_F32, (double[]){2}, 1);
        ir_graph_free(g);
    }
    /* Upsample-7 is Resize-10: its scales attribute becomes input 2 */
    m = model_new(7);
    add_input(m, "x", DT_F32, 4, (const char *[]){"1", "1", "2", "2"});
    attr_floats(add_node(m, "Upsample", "up", "x", "y"), "scales", (float[]){1, 1, 2, 3}, 4);
    add_output(m, "y");
    IMPORT_OK(g, m, "upsample7.onnx");
    if (g) {
        const IrNode *up = node_named(g, "up");
        CHECK(up && up->op == IR_OP_RESIZE && up->nin == 3 && up->in[1] == IR_NONE && !ir_attr(up, "scales"));
        check_const_input(g, up, 2, DT_F32, (double[]){1, 1, 2, 3}, 4);
        ir_graph_free(g);
    }
    /* opset 5: Cast named its type, Pad called pads paddings; Add's broadcast without axis is numpy's */
    m = model_new(5);
    add_input(m, "x", DT_F32, 2, (const char *[]){"2", "3"});
    Onnx__AttributeProto *to = attr(add_node(m, "Cast", "cast", "x", "c"), "to", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    to->has_s = true;
    to->s.data = (uint8_t *)S("DOUBLE");
    to->s.len = 6;
    attr_ints(add_node(m, "Pad", "pad", "c", "p"), "paddings", (int64_t[]){0, 1, 0, 1}, 4);
    attr_int(add_node(m, "Add", "add", "p,p", "y"), "broadcast", 1);
    add_output(m, "y");
    IMPORT_OK(g, m, "legacy5.onnx");
    if (g) {
        CHECK_EQ_INT(ir_attr_int(node_named(g, "cast"), "to", 0), DT_F64);
        const IrNode *pd = node_named(g, "pad");
        CHECK(pd && !ir_attr(pd, "paddings"));
        check_const_input(g, pd, 1, DT_I64, (double[]){0, 1, 0, 1}, 4);
        ir_graph_free(g);
    }
}

/* --- errors: each once, on one line, naming the node --------------------------------------------------- */

static Onnx__ModelProto *relu_model(int64_t opset_v)
{
    Onnx__ModelProto *m = model_new(opset_v);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    return m;
}

static void test_errors(void)
{
    Onnx__ModelProto *m;
    Onnx__NodeProto *n;

    m = relu_model(17);
    add_node(m, "Add", "add_dangling", "x,nowhere", "y");
    add_node(m, "Relu", "after", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "dangling.onnx", M2C_EXIT_INVALID,
                 "node 'add_dangling' (Add): input 'nowhere' is not produced by any node");

    m = relu_model(17);
    add_node(m, "Relu", "first", "x", "y");
    add_node(m, "Sigmoid", "second", "x", "y");
    add_node(m, "Relu", "user", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "twice.onnx", M2C_EXIT_INVALID, "node 'second' (Sigmoid): output 'y' is already defined (by another node)");

    m = relu_model(17);
    add_node(m, "Split", "split_same", "x", "y,y");
    add_output(m, "y");
    IMPORT_FAILS(m, "twice_in_node.onnx", M2C_EXIT_INVALID, "node 'split_same' (Split): output 'y' is");

    m = relu_model(17);
    add_node(m, "Relu", "shadow", "x", "x");
    add_output(m, "x");
    IMPORT_FAILS(m, "shadow_input.onnx", M2C_EXIT_INVALID, "node 'shadow' (Relu): output 'x' is already defined (a graph input)");

    m = relu_model(17);
    Onnx__TensorProto *w = tensor1("W", DT_F32, 1);
    w->n_float_data = 1;
    w->float_data = m2c_memdup(A, (float[]){1}, 4);
    add_init(m, w);
    add_node(m, "Relu", "shadow_init", "x", "W");
    add_output(m, "W");
    IMPORT_FAILS(m, "shadow_init.onnx", M2C_EXIT_INVALID,
                 "node 'shadow_init' (Relu): output 'W' is already defined (an initializer)");

    m = relu_model(17);
    add_node(m, "Add", "cyc_a", "x,b", "a");
    add_node(m, "Relu", "cyc_b", "a", "b");
    add_output(m, "a");
    IMPORT_FAILS(m, "cycle.onnx", M2C_EXIT_INVALID, "the graph has a cycle: ");
    CHECK(strstr(diag_text, "'cyc_a' (Add)") && strstr(diag_text, "'cyc_b'"));

    m = relu_model(17);
    add_node(m, "Relu", "self_loop", "y", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "self_loop.onnx", M2C_EXIT_INVALID, "the graph has a cycle: 'self_loop' (Relu) -> 'self_loop'");

    m = relu_model(17);
    n = add_node(m, "Frob", "frob", "x", "y");
    n->domain = S("com.example");
    add_node(m, "Relu", "after", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "domain.onnx", M2C_EXIT_INVALID,
                 "node 'frob' (Frob): op Frob is in domain 'com.example', which the model does not import");

    m = relu_model(17);
    add_node(m, "Gelu", "gelu", "x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "gelu17.onnx", M2C_EXIT_INVALID,
                 "node 'gelu' (Gelu): Gelu needs opset 20 of domain '' or later; the model imports opset 17");

    m = relu_model(17);
    add_node(m, "Add", "add3", "x,x,x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "arity.onnx", M2C_EXIT_INVALID, "node 'add3' (Add): Add takes 2 to 2 inputs, has 3");

    m = relu_model(17);
    w = tensor1("W", 99, 1);
    set_raw(w, "abcd", 4);
    add_init(m, w);
    add_node(m, "Add", "add_w", "x,W", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "dtype99.onnx", M2C_EXIT_INVALID, "initializer 'W': unknown tensor data type 99");

    /* the TorchScript alias rule (Identity of a weight becomes a weight) meets a weight that failed */
    m = relu_model(17);
    w = tensor1("W", 99, 1);
    set_raw(w, "abcd", 4);
    add_init(m, w);
    add_node(m, "Identity", "alias", "W", "W2");
    add_node(m, "Add", "add_w", "x,W2", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "dtype99_alias.onnx", M2C_EXIT_INVALID, "initializer 'W': unknown tensor data type 99");

    m = relu_model(17);
    w = tensor1("W8", 17, 4);
    set_raw(w, "abcd", 4);
    add_init(m, w);
    add_node(m, "Add", "add_w8", "x,W8", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "float8.onnx", M2C_EXIT_INVALID, "initializer 'W8': tensors of type FLOAT8E4M3FN are not supported");

    m = relu_model(17);
    add_input(m, "cond", DT_BOOL, 0, NULL);
    n = add_node(m, "If", "if_node", "cond", "y");
    Onnx__GraphProto *branch = m2c_alloc(A, sizeof *branch);
    onnx__graph_proto__init(branch);
    branch->name = S("branch");
    attr(n, "then_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = branch;
    attr(n, "else_branch", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH)->g = branch;
    add_node(m, "Relu", "after_if", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "if.onnx", M2C_EXIT_INVALID,
                 "node 'if_node' (If): attribute 'then_branch' is a subgraph; control flow (If/Loop/Scan) is not supported");

    m = relu_model(17);
    PUSH(m->opset_import, m->n_opset_import, opset("local", 1));
    Onnx__FunctionProto *f = m2c_alloc(A, sizeof *f);
    onnx__function_proto__init(f);
    f->name = S("MyFunc");
    f->domain = S("local");
    PUSH(m->functions, m->n_functions, f);
    n = add_node(m, "MyFunc", "call", "x", "y");
    n->domain = S("local");
    add_node(m, "Relu", "after", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "function.onnx", M2C_EXIT_INVALID,
                 "node 'call' (MyFunc): op MyFunc is a model-local function (domain 'local')");

    m = relu_model(17);
    add_node(m, NULL, "no_op", "x", "y");
    add_node(m, "Relu", "after", "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "no_op_type.onnx", M2C_EXIT_INVALID, "node 'no_op' (?): node has no op_type");

    /* an unnamed node is named by its index */
    m = relu_model(17);
    add_node(m, "Relu", NULL, "x", "y");
    add_node(m, "Add", NULL, "y", "z");
    add_output(m, "z");
    IMPORT_FAILS(m, "unnamed.onnx", M2C_EXIT_INVALID, "node #1 (Add): Add takes 2 to 2 inputs, has 1");

    m = relu_model(17);
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "dup_output.onnx", M2C_EXIT_INVALID, "graph output 'y' is listed twice");

    m = relu_model(17);
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "nope");
    IMPORT_FAILS(m, "missing_output.onnx", M2C_EXIT_INVALID, "graph output 'nope' is not produced by any node");

    m = model_new(17);
    add_input(m, "x", DT_F32, 2, (const char *[]){"-3", "4"});
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "neg_dim.onnx", M2C_EXIT_INVALID, "graph input 'x' has an invalid dim -3 at axis 0");

    m = model_new(17);
    add_input(m, "x", 99, 1, (const char *[]){"4"});
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "input_dtype.onnx", M2C_EXIT_INVALID, "graph input 'x' has unknown element type 99");

    m = relu_model(17);
    w = tensor("W", DT_F32, 2, (int64_t[]){(int64_t)1 << 50, 4});
    add_init(m, w);
    add_node(m, "Add", "add_w", "x,W", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "huge_dim.onnx", M2C_EXIT_INVALID, "initializer 'W': invalid dim 1125899906842624");

    /* the largest shape the checks let through, with no data: refused without allocating it */
    m = relu_model(17);
    w = tensor("W", DT_F64, 2, (int64_t[]){(int64_t)1 << 40, 32});
    add_init(m, w);
    add_node(m, "Add", "add_w", "x,W", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "huge_nodata.onnx", M2C_EXIT_INVALID, "initializer 'W': tensor of 35184372088832 elements has no data");

    m = model_new(0);
    add_input(m, "x", DT_F32, 1, (const char *[]){"4"});
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "no_opset.onnx", M2C_EXIT_INVALID, "the model imports no opset of the default ONNX domain");

    m = relu_model(29);
    add_node(m, "Relu", "r", "x", "y");
    add_output(m, "y");
    IMPORT_FAILS(m, "opset29.onnx", M2C_EXIT_INVALID, "ONNX opset 29 is not supported");

    m = relu_model(17);
    m->graph = NULL;
    IMPORT_FAILS(m, "no_graph.onnx", M2C_EXIT_INVALID, "the model has no graph");

    IMPORT_FAILS(relu_model(17), "no_outputs.onnx", M2C_EXIT_INVALID, "the graph has no outputs");

    /* the model file itself: missing (3), empty (1), not protobuf (1) */
    expect_failure(import_path(path_in("does_not_exist.onnx")), M2C_EXIT_IO, "cannot open", __LINE__);
    write_file(path_in("empty.onnx"), "", 0);
    expect_failure(import_path(path_in("empty.onnx")), M2C_EXIT_INVALID, "empty file", __LINE__);
    write_file(path_in("garbage.onnx"), "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11);
    expect_failure(import_path(path_in("garbage.onnx")), M2C_EXIT_INVALID, "not a valid ONNX model", __LINE__);
}

/* A model with several independent problems reports each of them, once. */
static void test_all_reported(void)
{
    Onnx__ModelProto *m = relu_model(17);
    add_node(m, "Add", "a1", "x,missing1", "y1");
    add_node(m, "Add", "a2", "x,missing2", "y2");
    add_node(m, "Add", "a3", "y1,y2", "y3");
    add_output(m, "y3");
    IrGraph *g = import_model(m, "two_errors.onnx");
    CHECK(g == NULL);
    CHECK_EQ_INT(diag_lines, 2);
    CHECK(strstr(diag_text, "missing1") && strstr(diag_text, "missing2"));
    /* every diagnostic line starts with the model path */
    const char *p = path_in("two_errors.onnx");
    CHECK(strncmp(diag_text, p, strlen(p)) == 0);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

int main(void)
{
    A = m2c_arena_new();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/m2c_test_import.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_raw_dtypes();
    test_typed_fields();
    test_typed_count_mismatch();
    test_import_memory();
    test_external_data();
    test_external_huge();
    test_interface();
    test_constants();
    test_scopes();
    test_upgrades();
    test_errors();
    test_all_reported();
    m2c_arena_free(A);
    /* the folder stays behind only when something failed, to look at */
    if (!check_failures)
        nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "models are in %s\n", tmpdir);
    CHECK_DONE();
}
