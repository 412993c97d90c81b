/* runtime/safetensors.c — reading a safetensors file: an 8-byte little-endian header length, a JSON object
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}, the data.
 * The JSON reader is just enough for that header (objects, arrays, strings with escapes, numbers, literals);
 * every offset and size is checked against the file before a byte is copied. */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
    bool bad;
} Js;

static void ws(Js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static bool lit(Js *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    return false;
}

/* A string into buf (escapes other than \" and \\ kept as written: tensor names do not need them). */
static bool str(Js *j, char *buf, size_t n)
{
    if (!lit(j, '"')) return j->bad = true, false;
    size_t k = 0;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c == '\\' && j->p < j->end) c = *j->p++;
        if (k + 1 < n) buf[k++] = c;
    }
    if (buf) buf[k < n ? k : n - 1] = 0;
    if (j->p >= j->end) return j->bad = true, false;
    j->p++;
    return true;
}

static void skip(Js *j);

static bool num(Js *j, int64_t *v)
{
    ws(j);
    char *e;
    errno = 0;
    long long x = strtoll(j->p, &e, 10);
    if (e == j->p || e > j->end || errno) return j->bad = true, false;
    j->p = e;
    *v = x;
    return true;
}

static void skip(Js *j)
{
    ws(j);
    if (j->p >= j->end) {
        j->bad = true;
        return;
    }
    char c = *j->p, tmp[2];
    if (c == '"') {
        str(j, tmp, sizeof tmp);
    } else if (c == '{' || c == '[') {
        j->p++;
        char close = c == '{' ? '}' : ']';
        if (lit(j, close)) return;
        do {
            if (c == '{' && (!str(j, tmp, sizeof tmp) || !lit(j, ':'))) {
                j->bad = true;
                return;
            }
            skip(j);
        } while (!j->bad && lit(j, ','));
        if (!lit(j, close)) j->bad = true;
    } else {
        while (j->p < j->end && !strchr(",]} \t\r\n", *j->p)) j->p++;
    }
}

static const struct {
    const char *n;
    IrDType t;
} st_map[] = {{"F32", DT_F32}, {"F16", DT_F16}, {"BF16", DT_BF16}, {"F64", DT_F64}, {"I64", DT_I64},
               {"I32", DT_I32}, {"I16", DT_I16}, {"I8", DT_I8},     {"U8", DT_U8},   {"BOOL", DT_BOOL},
               {"U16", DT_U16}, {"U32", DT_U32}, {"U64", DT_U64}};

static IrDType st_dtype(const char *s)
{
    for (size_t i = 0; i < sizeof st_map / sizeof *st_map; i++)
        if (strcmp(st_map[i].n, s) == 0) return st_map[i].t;
    return DT_UNDEF;
}

/* One tensor entry {"dtype":..,"shape":[..],"data_offsets":[b,e]}. */
static bool entry(Js *j, IrDType *dt, int *rank, int64_t *shape, int64_t off[2])
{
    char key[64], val[32];
    *dt = DT_UNDEF, *rank = -1, off[0] = off[1] = -1;
    if (!lit(j, '{')) return false;
    if (lit(j, '}')) return false;
    do {
        if (!str(j, key, sizeof key) || !lit(j, ':')) return false;
        if (strcmp(key, "dtype") == 0) {
            if (!str(j, val, sizeof val)) return false;
            *dt = st_dtype(val);
        } else if (strcmp(key, "shape") == 0) {
            if (!lit(j, '[')) return false;
            *rank = 0;
            if (!lit(j, ']')) {
                do {
                    if (*rank >= IR_MAX_RANK || !num(j, &shape[*rank]) || shape[*rank] < 0) return false;
                    (*rank)++;
                } while (lit(j, ','));
                if (!lit(j, ']')) return false;
            }
        } else if (strcmp(key, "data_offsets") == 0) {
            if (!lit(j, '[') || !num(j, &off[0]) || !lit(j, ',') || !num(j, &off[1]) || !lit(j, ']')) return false;
        } else {
            skip(j);
        }
    } while (!j->bad && lit(j, ','));
    return !j->bad && lit(j, '}') && *dt != DT_UNDEF && *rank >= 0 && off[0] >= 0 && off[1] >= off[0];
}

IrTensor *rt_tensor_new(IrDType t, int rank, const int64_t *shape)
{
    IrTensor *x = calloc(1, sizeof *x);
    int64_t *sh = calloc((size_t)(rank > 0 ? rank : 1), sizeof *sh);
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) sh[i] = shape[i], n *= (uint64_t)shape[i];
    x->dtype = t, x->rank = rank, x->shape = sh, x->numel = n, x->nbytes = n * ir_dtype_size(t);
    x->data = calloc(x->nbytes ? x->nbytes : 1, 1);
    return x;
}

void rt_tensor_free(IrTensor *t)
{
    if (!t) return;
    free((void *)t->shape), free((void *)t->data), free(t);
}

bool rt_st_read(const char *path, RtTensorFile *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        rt_set_error("cannot read '%s': %s", path, strerror(errno));
        return false;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = size > 8 ? malloc((size_t)size) : NULL;
    bool ok = buf && fread(buf, 1, (size_t)size, f) == (size_t)size;
    fclose(f);
    uint64_t hlen = 0;
    for (int i = 7; ok && i >= 0; i--) hlen = hlen << 8 | (unsigned char)buf[i];
    if (!ok || hlen > (uint64_t)size - 8) {
        free(buf);
        rt_set_error("'%s' is not a safetensors file", path);
        return false;
    }
    const char *data = buf + 8 + hlen;
    uint64_t dlen = (uint64_t)size - 8 - hlen;
    Js j = {buf + 8, buf + 8 + hlen, false};
    M2C_VEC(RtNamed) v = {0};
    uint32_t cap = 0;
    bool said = false;   /* a specific reason is in rt_error() */
    ok = lit(&j, '{');
    if (ok && !lit(&j, '}')) {
        do {
            char name[512];
            if (!str(&j, name, sizeof name) || !lit(&j, ':')) {
                ok = false;
                break;
            }
            if (strcmp(name, "__metadata__") == 0) {
                skip(&j);
                continue;
            }
            IrDType dt;
            int rank;
            int64_t shape[IR_MAX_RANK], off[2];
            if (!entry(&j, &dt, &rank, shape, off)) {
                rt_set_error("'%s': tensor '%s': a header entry this reader does not take", path, name);
                ok = false, said = true;
                break;
            }
            IrTensor *t = rt_tensor_new(dt, rank, shape);
            if ((uint64_t)off[1] > dlen || (uint64_t)(off[1] - off[0]) != t->nbytes) {
                rt_set_error("'%s': tensor '%s': data offsets do not match its shape and the file", path, name);
                rt_tensor_free(t);
                ok = false, said = true;
                break;
            }
            memcpy((void *)t->data, data + off[0], t->nbytes);
            if (v.n == cap) {
                cap = cap ? 2 * cap : 8;
                v.v = realloc(v.v, cap * sizeof *v.v);
            }
            v.v[v.n++] = (RtNamed){strdup(name), t};
        } while (lit(&j, ','));
        ok = ok && !j.bad && lit(&j, '}');
    }
    free(buf);
    out->v = v.v, out->n = v.n;
    if (!ok) {
        if (!said) rt_set_error("'%s': malformed safetensors header", path);
        rt_st_free(out);
        return false;
    }
    return true;
}

void rt_st_free(RtTensorFile *f)
{
    for (uint32_t i = 0; i < f->n; i++) {
        free((void *)f->v[i].name);
        rt_tensor_free(f->v[i].t);
    }
    free(f->v);
    f->v = NULL, f->n = 0;
}

bool rt_st_write(const char *path, const RtNamed *ts, uint32_t n)
{
    M2cBuf h = {0};
    uint64_t off = 0;
    m2c_buf_puts(&h, "{\"__metadata__\":{\"generator\":\"ml2candle " M2C_VERSION "\"}");
    for (uint32_t i = 0; i < n; i++) {
        const IrTensor *t = ts[i].t;
        const char *dt = NULL;
        for (size_t k = 0; k < sizeof st_map / sizeof *st_map; k++)
            if (st_map[k].t == t->dtype) dt = st_map[k].n;
        if (!dt) {
            rt_set_error("'%s': no safetensors dtype for %s", ts[i].name, ir_dtype_name(t->dtype));
            m2c_buf_free(&h);
            return false;
        }
        m2c_buf_puts(&h, ",\"");
        for (const char *c = ts[i].name; *c; c++) {
            if (*c == '"' || *c == '\\') m2c_buf_putc(&h, '\\');
            m2c_buf_putc(&h, *c);
        }
        m2c_buf_printf(&h, "\":{\"dtype\":\"%s\",\"shape\":[", dt);
        for (int k = 0; k < t->rank; k++) m2c_buf_printf(&h, "%s%lld", k ? "," : "", (long long)t->shape[k]);
        m2c_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + t->nbytes));
        off += t->nbytes;
    }
    m2c_buf_putc(&h, '}');
    while (h.len % 8) m2c_buf_putc(&h, ' ');
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(len8, 1, 8, f) == 8 && fwrite(h.s, 1, h.len, f) == h.len;
    for (uint32_t i = 0; ok && i < n; i++) ok = fwrite(ts[i].t->data, 1, ts[i].t->nbytes, f) == ts[i].t->nbytes;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) rt_set_error("cannot write '%s': %s", path, strerror(errno));
    m2c_buf_free(&h);
    return ok;
}
