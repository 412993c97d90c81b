/* frontend/wire.c — the protobuf wire format, walked by hand before protobuf-c decodes the model.
 *
 * Two reasons.  (1) protobuf-c copies every `bytes` field, so a 440 MB model would sit in memory twice;
 * instead we re-encode the model without the large TensorProto.raw_data fields, leaving a reference to
 * their place in the mapped file, and the weights are never copied.  (2) protobuf-c's decoder says only
 * "failed"; this walk says which field of which message is broken and where, for the messages we know. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

/* raw_data smaller than this is left in place: copying it is cheaper than a reference. */
enum { STRIP_MIN_BYTES = 64, MAX_DEPTH = 64 };

typedef enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 } WireType;

typedef enum {
    M_NONE,   /* not descended into: copied verbatim */
    M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_TENSOR, M_SPARSE, M_VALUE_INFO, M_TYPE, M_TYPE_TENSOR, M_SHAPE, M_DIM,
    M_STRSTR, M_OPSET, M_SEGMENT, M_FUNCTION, M_TYPE_SEQ, M_TYPE_MAP, M_TYPE_OPAQUE, M_COUNT,
} MsgKind;

typedef struct {
    uint32_t num;
    uint8_t wt;          /* expected wire type */
    bool packable;       /* repeated scalar: LEN (packed) accepted too */
    MsgKind child;       /* for WT_LEN messages we descend into */
    const char *name;
} FieldSpec;

typedef struct {
    const char *name;
    const FieldSpec *fields;
} MsgSpec;

#define F(n, wt, pk, child, name) {n, wt, pk, child, name}
static const FieldSpec model_fields[] = {
    F(1, WT_VARINT, 0, M_NONE, "ir_version"), F(8, WT_LEN, 0, M_OPSET, "opset_import"),
    F(2, WT_LEN, 0, M_NONE, "producer_name"), F(3, WT_LEN, 0, M_NONE, "producer_version"),
    F(4, WT_LEN, 0, M_NONE, "domain"), F(5, WT_VARINT, 0, M_NONE, "model_version"),
    F(6, WT_LEN, 0, M_NONE, "doc_string"), F(7, WT_LEN, 0, M_GRAPH, "graph"),
    F(14, WT_LEN, 0, M_STRSTR, "metadata_props"), F(25, WT_LEN, 0, M_FUNCTION, "functions"), {0}};
static const FieldSpec graph_fields[] = {
    F(1, WT_LEN, 0, M_NODE, "node"), F(2, WT_LEN, 0, M_NONE, "name"), F(5, WT_LEN, 0, M_TENSOR, "initializer"),
    F(15, WT_LEN, 0, M_SPARSE, "sparse_initializer"), F(10, WT_LEN, 0, M_NONE, "doc_string"),
    F(11, WT_LEN, 0, M_VALUE_INFO, "input"), F(12, WT_LEN, 0, M_VALUE_INFO, "output"),
    F(13, WT_LEN, 0, M_VALUE_INFO, "value_info"), F(14, WT_LEN, 0, M_NONE, "quantization_annotation"),
    F(16, WT_LEN, 0, M_STRSTR, "metadata_props"), {0}};
static const FieldSpec node_fields[] = {
    F(1, WT_LEN, 0, M_NONE, "input"), F(2, WT_LEN, 0, M_NONE, "output"), F(3, WT_LEN, 0, M_NONE, "name"),
    F(4, WT_LEN, 0, M_NONE, "op_type"), F(7, WT_LEN, 0, M_NONE, "domain"), F(8, WT_LEN, 0, M_NONE, "overload"),
    F(5, WT_LEN, 0, M_ATTR, "attribute"), F(6, WT_LEN, 0, M_NONE, "doc_string"),
    F(9, WT_LEN, 0, M_STRSTR, "metadata_props"), {0}};
static const FieldSpec attr_fields[] = {
    F(1, WT_LEN, 0, M_NONE, "name"), F(21, WT_LEN, 0, M_NONE, "ref_attr_name"), F(13, WT_LEN, 0, M_NONE, "doc_string"),
    F(20, WT_VARINT, 0, M_NONE, "type"), F(2, WT_I32, 0, M_NONE, "f"), F(3, WT_VARINT, 0, M_NONE, "i"),
    F(4, WT_LEN, 0, M_NONE, "s"), F(5, WT_LEN, 0, M_TENSOR, "t"), F(6, WT_LEN, 0, M_GRAPH, "g"),
    F(22, WT_LEN, 0, M_SPARSE, "sparse_tensor"), F(14, WT_LEN, 0, M_TYPE, "tp"), F(7, WT_I32, 1, M_NONE, "floats"),
    F(8, WT_VARINT, 1, M_NONE, "ints"), F(9, WT_LEN, 0, M_NONE, "strings"), F(10, WT_LEN, 0, M_TENSOR, "tensors"),
    F(11, WT_LEN, 0, M_GRAPH, "graphs"), F(23, WT_LEN, 0, M_SPARSE, "sparse_tensors"),
    F(15, WT_LEN, 0, M_TYPE, "type_protos"), {0}};
static const FieldSpec tensor_fields[] = {
    F(1, WT_VARINT, 1, M_NONE, "dims"), F(2, WT_VARINT, 0, M_NONE, "data_type"), F(3, WT_LEN, 0, M_SEGMENT, "segment"),
    F(4, WT_I32, 1, M_NONE, "float_data"), F(5, WT_VARINT, 1, M_NONE, "int32_data"),
    F(6, WT_LEN, 0, M_NONE, "string_data"), F(7, WT_VARINT, 1, M_NONE, "int64_data"), F(8, WT_LEN, 0, M_NONE, "name"),
    F(12, WT_LEN, 0, M_NONE, "doc_string"), F(9, WT_LEN, 0, M_NONE, "raw_data"),
    F(13, WT_LEN, 0, M_STRSTR, "external_data"), F(14, WT_VARINT, 0, M_NONE, "data_location"),
    F(10, WT_I64, 1, M_NONE, "double_data"), F(11, WT_VARINT, 1, M_NONE, "uint64_data"),
    F(16, WT_LEN, 0, M_STRSTR, "metadata_props"), {0}};
static const FieldSpec sparse_fields[] = {
    F(1, WT_LEN, 0, M_TENSOR, "values"), F(2, WT_LEN, 0, M_TENSOR, "indices"), F(3, WT_VARINT, 1, M_NONE, "dims"), {0}};
static const FieldSpec value_info_fields[] = {
    F(1, WT_LEN, 0, M_NONE, "name"), F(2, WT_LEN, 0, M_TYPE, "type"), F(3, WT_LEN, 0, M_NONE, "doc_string"),
    F(4, WT_LEN, 0, M_STRSTR, "metadata_props"), {0}};
/* Sequence, map and optional types nest TypeProtos: they are walked (not copied) so that the depth limit
 * holds for them too — protobuf-c's decoder recurses without one. */
static const FieldSpec type_fields[] = {
    F(1, WT_LEN, 0, M_TYPE_TENSOR, "tensor_type"), F(4, WT_LEN, 0, M_TYPE_SEQ, "sequence_type"),
    F(5, WT_LEN, 0, M_TYPE_MAP, "map_type"), F(9, WT_LEN, 0, M_TYPE_SEQ, "optional_type"),
    F(8, WT_LEN, 0, M_TYPE_TENSOR, "sparse_tensor_type"), F(7, WT_LEN, 0, M_TYPE_OPAQUE, "opaque_type"),
    F(6, WT_LEN, 0, M_NONE, "denotation"), {0}};
static const FieldSpec type_seq_fields[] = {F(1, WT_LEN, 0, M_TYPE, "elem_type"), {0}};   /* also Optional */
static const FieldSpec type_map_fields[] = {
    F(1, WT_VARINT, 0, M_NONE, "key_type"), F(2, WT_LEN, 0, M_TYPE, "value_type"), {0}};
static const FieldSpec type_opaque_fields[] = {F(1, WT_LEN, 0, M_NONE, "domain"), F(2, WT_LEN, 0, M_NONE, "name"), {0}};
static const FieldSpec type_tensor_fields[] = {
    F(1, WT_VARINT, 0, M_NONE, "elem_type"), F(2, WT_LEN, 0, M_SHAPE, "shape"), {0}};
static const FieldSpec shape_fields[] = {F(1, WT_LEN, 0, M_DIM, "dim"), {0}};
static const FieldSpec dim_fields[] = {
    F(1, WT_VARINT, 0, M_NONE, "dim_value"), F(2, WT_LEN, 0, M_NONE, "dim_param"), F(3, WT_LEN, 0, M_NONE, "denotation"),
    {0}};
static const FieldSpec strstr_fields[] = {F(1, WT_LEN, 0, M_NONE, "key"), F(2, WT_LEN, 0, M_NONE, "value"), {0}};
static const FieldSpec opset_fields[] = {F(1, WT_LEN, 0, M_NONE, "domain"), F(2, WT_VARINT, 0, M_NONE, "version"), {0}};
static const FieldSpec segment_fields[] = {F(1, WT_VARINT, 0, M_NONE, "begin"), F(2, WT_VARINT, 0, M_NONE, "end"), {0}};
static const FieldSpec function_fields[] = {
    F(1, WT_LEN, 0, M_NONE, "name"), F(4, WT_LEN, 0, M_NONE, "input"), F(5, WT_LEN, 0, M_NONE, "output"),
    F(6, WT_LEN, 0, M_NONE, "attribute"), F(11, WT_LEN, 0, M_ATTR, "attribute_proto"), F(7, WT_LEN, 0, M_NODE, "node"),
    F(8, WT_LEN, 0, M_NONE, "doc_string"), F(9, WT_LEN, 0, M_OPSET, "opset_import"), F(10, WT_LEN, 0, M_NONE, "domain"),
    F(13, WT_LEN, 0, M_NONE, "overload"), F(12, WT_LEN, 0, M_VALUE_INFO, "value_info"),
    F(14, WT_LEN, 0, M_STRSTR, "metadata_props"), {0}};
#undef F

static const MsgSpec specs[M_COUNT] = {
    [M_MODEL] = {"ModelProto", model_fields},
    [M_GRAPH] = {"GraphProto", graph_fields},
    [M_NODE] = {"NodeProto", node_fields},
    [M_ATTR] = {"AttributeProto", attr_fields},
    [M_TENSOR] = {"TensorProto", tensor_fields},
    [M_SPARSE] = {"SparseTensorProto", sparse_fields},
    [M_VALUE_INFO] = {"ValueInfoProto", value_info_fields},
    [M_TYPE] = {"TypeProto", type_fields},
    [M_TYPE_TENSOR] = {"TypeProto.Tensor", type_tensor_fields},
    [M_SHAPE] = {"TensorShapeProto", shape_fields},
    [M_DIM] = {"TensorShapeProto.Dimension", dim_fields},
    [M_STRSTR] = {"StringStringEntryProto", strstr_fields},
    [M_OPSET] = {"OperatorSetIdProto", opset_fields},
    [M_SEGMENT] = {"TensorProto.Segment", segment_fields},
    [M_FUNCTION] = {"FunctionProto", function_fields},
    [M_TYPE_SEQ] = {"TypeProto.Sequence", type_seq_fields},
    [M_TYPE_MAP] = {"TypeProto.Map", type_map_fields},
    [M_TYPE_OPAQUE] = {"TypeProto.Opaque", type_opaque_fields},
};

static const char *wt_name(unsigned wt)
{
    static const char *names[8] = {"varint", "64-bit", "length-delimited", "group start", "group end", "32-bit",
                                   "invalid (6)", "invalid (7)"};
    return names[wt & 7];
}

typedef struct {
    uint8_t *data;
    size_t len, cap;
} Out;

typedef struct {
    const uint8_t *base;
    size_t base_len;
    WireSpan *spans;
    uint32_t nspans, capspans;
    char *err;
    size_t errlen;
    bool failed;
} Walker;

static void out_reserve(Out *o, size_t n)
{
    if (o->len + n <= o->cap) return;
    size_t cap = o->cap ? o->cap : 1024;
    while (cap < o->len + n) cap *= 2;
    uint8_t *d = realloc(o->data, cap);
    if (!d) m2c_die(__FILE__, __LINE__, "out of memory");
    o->data = d;
    o->cap = cap;
}

static void out_bytes(Out *o, const void *p, size_t n)
{
    out_reserve(o, n);
    if (n) memcpy(o->data + o->len, p, n);
    o->len += n;
}

static void out_varint(Out *o, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v) b[n] |= 0x80;
        n++;
    } while (v);
    out_bytes(o, b, n);
}

static bool wfail(Walker *w, size_t off, const char *fmt, ...) M2C_PRINTF(3, 4);
static bool wfail(Walker *w, size_t off, const char *fmt, ...)
{
    if (!w->failed) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(w->err, w->errlen, "%s (at byte %zu)", msg, off);
    }
    w->failed = true;
    return false;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return false;
        uint8_t b = *(*p)++;
        if (shift == 63 && b > 1) return false;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static const FieldSpec *find_field(MsgKind kind, uint32_t num)
{
    for (const FieldSpec *f = specs[kind].fields; f->num; f++)
        if (f->num == num) return f;
    return NULL;
}

static bool walk(Walker *w, MsgKind kind, const uint8_t *p, const uint8_t *end, Out *out, int depth)
{
    const char *msg = specs[kind].name;
    if (depth > MAX_DEPTH) return wfail(w, (size_t)(p - w->base), "%s nested too deeply (over %d levels)", msg, MAX_DEPTH);
    while (p < end) {
        const uint8_t *field_start = p;
        size_t off = (size_t)(p - w->base);
        uint64_t tag;
        if (!read_varint(&p, end, &tag)) return wfail(w, off, "truncated or malformed field tag in %s", msg);
        uint32_t num = (uint32_t)(tag >> 3);
        unsigned wt = (unsigned)(tag & 7);
        if (num == 0 || (tag >> 3) > 0x1fffffff) return wfail(w, off, "invalid field number in %s", msg);
        const FieldSpec *fs = find_field(kind, num);
        const uint8_t *payload = p;
        uint64_t len = 0;
        switch (wt) {
        case WT_VARINT:
            if (!read_varint(&p, end, &len)) return wfail(w, off, "truncated varint in %s field %u", msg, num);
            break;
        case WT_I64:
            if (end - p < 8) return wfail(w, off, "truncated 64-bit value in %s field %u", msg, num);
            p += 8;
            break;
        case WT_I32:
            if (end - p < 4) return wfail(w, off, "truncated 32-bit value in %s field %u", msg, num);
            p += 4;
            break;
        case WT_LEN:
            if (!read_varint(&p, end, &len)) return wfail(w, off, "truncated length in %s field %u", msg, num);
            if (len > (uint64_t)(end - p))
                return wfail(w, off, "%s field '%s' claims %llu bytes, past the end of its message (truncated file?)",
                             msg, fs ? fs->name : "?", (unsigned long long)len);
            payload = p;
            p += len;
            break;
        default:
            return wfail(w, off, "%s field %u has wire type %s, which ONNX never uses", msg, num, wt_name(wt));
        }
        if (num == WIRE_RAW_REF_FIELD) continue;   /* our private field: never trusted from input */
        if (fs && wt != fs->wt && !(fs->packable && wt == WT_LEN)) {
            return wfail(w, off, "%s field '%s' has the wrong wire type (%s, expected %s)", msg, fs->name,
                         wt_name(wt), wt_name(fs->wt));
        }
        if (kind == M_TENSOR && num == 9 && len >= STRIP_MIN_BYTES) {
            /* raw_data: leave a reference to the bytes in the original buffer */
            if (w->nspans == w->capspans) {
                w->capspans = w->capspans ? w->capspans * 2 : 64;
                WireSpan *s = realloc(w->spans, w->capspans * sizeof *s);
                if (!s) m2c_die(__FILE__, __LINE__, "out of memory");
                w->spans = s;
            }
            w->spans[w->nspans] = (WireSpan){(uint64_t)(payload - w->base), len};
            out_varint(out, ((uint64_t)WIRE_RAW_REF_FIELD << 3) | WT_VARINT);
            out_varint(out, w->nspans++);
            continue;
        }
        if (fs && fs->child != M_NONE && wt == WT_LEN) {
            Out sub = {0};
            bool ok = walk(w, fs->child, payload, payload + len, &sub, depth + 1);
            if (ok) {
                out_varint(out, tag);
                out_varint(out, sub.len);
                out_bytes(out, sub.data, sub.len);
            }
            free(sub.data);
            if (!ok) return false;
            continue;
        }
        out_bytes(out, field_start, (size_t)(p - field_start));
    }
    return true;
}

bool onnx_wire_skeleton(const uint8_t *buf, size_t len, WireSkeleton *out, char *err, size_t errlen)
{
    Walker w = {buf, len, NULL, 0, 0, err, errlen, false};
    Out o = {0};
    memset(out, 0, sizeof *out);
    if (!walk(&w, M_MODEL, buf, buf + len, &o, 0)) {
        free(o.data);
        free(w.spans);
        return false;
    }
    out->data = o.data ? o.data : malloc(1);
    out->len = o.len;
    out->spans = w.spans;
    out->nspans = w.nspans;
    return true;
}

void onnx_wire_free(WireSkeleton *s)
{
    free(s->data);
    free(s->spans);
    memset(s, 0, sizeof *s);
}
