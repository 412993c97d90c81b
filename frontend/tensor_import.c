/* frontend/tensor_import.c — TensorProto to IrTensor: every dtype, from raw_data (borrowed from the mapped
 * model), from the typed fields, or from external data files (mapped, confined to the model's folder). */
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* No real dim is this large; beyond it the element count could overflow. */
#define MAX_DIM ((int64_t)1 << 40)
#define MAX_NUMEL ((uint64_t)1 << 46)
#define MAX_DENSE_BYTES ((uint64_t)1 << 28)

typedef struct {
    void *addr;
    size_t len;
} Mapping;

static void unmap(void *arg)
{
    Mapping *m = arg;
    munmap(m->addr, m->len);
}

bool onnx_map_file(IrGraph *g, const char *path, const uint8_t **data, uint64_t *size)
{
    /* O_NONBLOCK: opening a FIFO (a model path or an external data location can name one) would otherwise
     * wait for a writer forever; for a regular file it changes nothing */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        m2c_io_error("cannot open '%s': %s", path, strerror(errno));
        return false;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        m2c_io_error("'%s' is not a regular file", path);
        close(fd);
        return false;
    }
    *size = (uint64_t)st.st_size;
    if (st.st_size == 0) {
        *data = (const uint8_t *)"";
        close(fd);
        return true;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        m2c_io_error("cannot map '%s': %s", path, strerror(errno));
        return false;
    }
    Mapping *m = m2c_alloc(g->arena, sizeof *m);
    m->addr = p;
    m->len = (size_t)st.st_size;
    ir_graph_on_free(g, unmap, m);
    *data = p;
    return true;
}

/* A location is a relative path inside the model's folder: no absolute path, no "..", and after symlinks
 * are resolved still inside the folder. */
static const char *resolve_location(Importer *imp, const char *loc, const char *what)
{
    if (!imp->base_dir) {
        m2c_error(NULL, "%s: external data '%s' cannot be used here (no model folder)", what, loc);
        return NULL;
    }
    if (!loc[0] || loc[0] == '/' || strstr(loc, "\\") ) {
        m2c_error(NULL, "%s: external data location '%s' must be a relative path inside the model's folder", what, loc);
        return NULL;
    }
    for (const char *s = loc; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') {
            m2c_error(NULL, "%s: external data location '%s' leaves the model's folder", what, loc);
            return NULL;
        }
        s += n;
        if (*s) s++;
    }
    const char *path = m2c_sprintf(imp->g->arena, "%s/%s", imp->base_dir, loc);
    char real_dir[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(imp->base_dir, real_dir)) {
        m2c_io_error("%s: cannot resolve the model's folder '%s': %s", what, imp->base_dir, strerror(errno));
        return NULL;
    }
    if (!realpath(path, real_file)) {
        m2c_io_error("%s: external data file '%s' not found: %s", what, path, strerror(errno));
        return NULL;
    }
    size_t nd = strlen(real_dir);
    if (strncmp(real_file, real_dir, nd) != 0 || (real_file[nd] != '/' && real_dir[nd - 1] != '/')) {
        m2c_error(NULL, "%s: external data location '%s' resolves outside the model's folder", what, loc);
        return NULL;
    }
    return path;
}

static const uint8_t *external_data(Importer *imp, const Onnx__TensorProto *t, uint64_t nbytes, const char *what,
                                    uint64_t *offset_out)
{
    const char *loc = NULL;
    uint64_t offset = 0, length = UINT64_MAX;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e->key || !e->value) continue;
        char *end;
        if (strcmp(e->key, "location") == 0) {
            loc = e->value;
        } else if (strcmp(e->key, "offset") == 0 || strcmp(e->key, "length") == 0) {
            errno = 0;
            unsigned long long v = strtoull(e->value, &end, 10);
            if (errno || *end || e->value[0] == '-' || !e->value[0]) {
                m2c_error(NULL, "%s: external data %s '%s' is not a byte count", what, e->key, e->value);
                return NULL;
            }
            if (e->key[0] == 'o') offset = v;
            else length = v;
        }
    }
    if (!loc) {
        m2c_error(NULL, "%s: external data without a 'location'", what);
        return NULL;
    }
    if (length != UINT64_MAX && length != nbytes) {
        m2c_error(NULL, "%s: external data length %llu does not match the %llu bytes its shape and type need", what,
                  (unsigned long long)length, (unsigned long long)nbytes);
        return NULL;
    }
    ExtFile *f = NULL;
    for (uint32_t i = 0; i < imp->ext.n; i++)
        if (strcmp(imp->ext.v[i].location, loc) == 0) f = &imp->ext.v[i];
    if (!f) {
        /* a file that cannot be used is remembered too: reported once, not once per tensor stored in it */
        ExtFile nf = {m2c_strdup(imp->g->arena, loc), NULL, 0};
        const char *path = resolve_location(imp, loc, what);
        if (path && !onnx_map_file(imp->g, path, &nf.data, &nf.size)) nf.data = NULL;
        m2c_vec_push(imp->g->arena, &imp->ext, nf);
        f = &imp->ext.v[imp->ext.n - 1];
    }
    if (!f->data) return NULL;
    if (offset > f->size || nbytes > f->size - offset) {
        m2c_io_error("%s: external data needs bytes [%llu, %llu) of '%s', which has only %llu bytes", what,
                     (unsigned long long)offset, (unsigned long long)(offset + nbytes), loc,
                     (unsigned long long)f->size);
        return NULL;
    }
    *offset_out = offset;
    return f->data + offset;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
static const void *to_host_order(IrGraph *g, const void *le, uint64_t nbytes, size_t esz)
{
    uint8_t *p = m2c_memdup(g->arena, le, nbytes);
    for (uint64_t i = 0; i + esz <= nbytes; i += esz)
        for (size_t a = 0, b = esz - 1; a < b; a++, b--) {
            uint8_t t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
    return p;
}
#else
static const void *to_host_order(IrGraph *g, const void *le, uint64_t nbytes, size_t esz)
{
    (void)g, (void)nbytes, (void)esz;
    return le;   /* ONNX stores little-endian, like this host */
}
#endif

/* The typed field that holds a dtype's values: float_data (FLOAT), int32_data (INT32/16/8, UINT16/8, BOOL,
 * FLOAT16, BFLOAT16 as bit patterns), int64_data (INT64), double_data (DOUBLE), uint64_data (UINT32, UINT64).
 * Returns how many values it has. */
static size_t typed_count(const Onnx__TensorProto *t, IrDType dt, const char **field)
{
    switch (dt) {
    case DT_F32: *field = "float_data"; return t->n_float_data;
    case DT_F64: *field = "double_data"; return t->n_double_data;
    case DT_I64: *field = "int64_data"; return t->n_int64_data;
    case DT_U32: case DT_U64: *field = "uint64_data"; return t->n_uint64_data;
    default: *field = "int32_data"; return t->n_int32_data;
    }
}

/* Copies the typed field into x, whose element count typed_count() has checked. */
static void typed_data(const Onnx__TensorProto *t, IrTensor *x)
{
    void *d = (void *)x->data;
    if (x->numel == 0) return;   /* the field is then NULL, which memcpy must not see */
    switch (x->dtype) {
    case DT_F32: memcpy(d, t->float_data, x->nbytes); return;
    case DT_F64: memcpy(d, t->double_data, x->nbytes); return;
    case DT_I64: memcpy(d, t->int64_data, x->nbytes); return;
    case DT_U32:
    case DT_U64:
        for (uint64_t i = 0; i < x->numel; i++) ir_tensor_set_i64(x, i, (int64_t)t->uint64_data[i]);
        return;
    case DT_F16:
    case DT_BF16:
        for (uint64_t i = 0; i < x->numel; i++) {
            uint16_t h = (uint16_t)t->int32_data[i];
            memcpy((uint8_t *)d + 2 * i, &h, 2);
        }
        return;
    default:
        for (uint64_t i = 0; i < x->numel; i++) ir_tensor_set_i64(x, i, t->int32_data[i]);
        return;
    }
}

IrTensor *onnx_tensor(Importer *imp, const Onnx__TensorProto *t, const char *what)
{
    IrGraph *g = imp->g;
    IrDType dt = (IrDType)t->data_type;
    if (!t->has_data_type || dt == DT_UNDEF) {
        m2c_error(NULL, "%s: tensor has no data type", what);
        return NULL;
    }
    if (!ir_dtype_supported(dt)) {
        if ((unsigned)dt > DT_ONNX_MAX)
            m2c_error(NULL, "%s: unknown tensor data type %d", what, (int)dt);
        else
            m2c_error(NULL, "%s: tensors of type %s are not supported", what, ir_dtype_onnx_name(dt));
        return NULL;
    }
    if (t->n_dims > IR_MAX_RANK) {
        m2c_error(NULL, "%s: rank %zu is above the supported %d", what, t->n_dims, IR_MAX_RANK);
        return NULL;
    }
    if (t->segment) {
        m2c_error(NULL, "%s: segmented tensors (TensorProto.segment) are not supported", what);
        return NULL;
    }
    uint64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > MAX_DIM) {
            m2c_error(NULL, "%s: invalid dim %lld", what, (long long)t->dims[i]);
            return NULL;
        }
        if (t->dims[i] && numel > MAX_NUMEL / (uint64_t)t->dims[i]) {
            m2c_error(NULL, "%s: the shape has more than 2^46 elements", what);
            return NULL;
        }
        numel *= (uint64_t)t->dims[i];
    }
    size_t esz = ir_dtype_size(dt);
    uint64_t nbytes = numel * esz;
    IrTensor *x = m2c_alloc(g->arena, sizeof *x);
    x->dtype = dt;
    x->rank = (int)t->n_dims;
    x->shape = t->n_dims ? m2c_memdup(g->arena, t->dims, t->n_dims * sizeof(int64_t)) : NULL;
    x->numel = numel;
    x->nbytes = nbytes;
    const uint8_t *raw = NULL;
    uint64_t raw_len = 0;
    bool external = t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        raw = external_data(imp, t, nbytes, what, &x->file_offset);
        if (!raw) return NULL;
        raw_len = nbytes;
        for (size_t i = 0; i < t->n_external_data; i++)
            if (t->external_data[i]->key && strcmp(t->external_data[i]->key, "location") == 0)
                x->file = m2c_strdup(g->arena, t->external_data[i]->value);
    } else if (t->has_m2c_raw_ref) {
        if (t->m2c_raw_ref >= imp->skel.nspans) M2C_UNREACHABLE();
        WireSpan s = imp->skel.spans[t->m2c_raw_ref];
        raw = imp->buf + s.offset;
        raw_len = s.len;
        x->file_offset = s.offset;
    } else if (t->has_raw_data) {
        raw = t->raw_data.data;
        raw_len = t->raw_data.len;
    }
    if (raw) {
        if (raw_len != nbytes) {
            m2c_error(NULL, "%s: raw_data has %llu bytes, but %s with %llu elements needs %llu", what,
                      (unsigned long long)raw_len, ir_dtype_onnx_name(dt), (unsigned long long)numel,
                      (unsigned long long)nbytes);
            return NULL;
        }
        x->data = to_host_order(g, raw, nbytes, esz);
        return x;
    }
    /* The counts are checked before anything is allocated: the shape alone may claim terabytes. */
    const char *field;
    size_t have = typed_count(t, dt, &field);
    if (have != numel) {
        if (!(t->n_float_data | t->n_int32_data | t->n_int64_data | t->n_double_data | t->n_uint64_data))
            m2c_error(NULL, "%s: tensor of %llu elements has no data", what, (unsigned long long)numel);
        else
            m2c_error(NULL, "%s: %s has %zu values for %llu elements", what, field, have, (unsigned long long)numel);
        return NULL;
    }
    x->data = m2c_alloc(g->arena, nbytes);
    typed_data(t, x);
    return x;
}

/* Sparse tensors become dense: values [NNZ] at indices [NNZ] (linearized) or [NNZ, rank]. */
IrTensor *onnx_sparse_tensor(Importer *imp, const Onnx__SparseTensorProto *t, const char *what)
{
    IrGraph *g = imp->g;
    if (!t->values || !t->indices) {
        m2c_error(NULL, "%s: sparse tensor without values or indices", what);
        return NULL;
    }
    IrTensor *vals = onnx_tensor(imp, t->values, what);
    IrTensor *idx = vals ? onnx_tensor(imp, t->indices, what) : NULL;
    if (!idx) return NULL;
    if (t->n_dims > IR_MAX_RANK) {
        m2c_error(NULL, "%s: rank %zu is above the supported %d", what, t->n_dims, IR_MAX_RANK);
        return NULL;
    }
    uint64_t numel = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0 || t->dims[i] > MAX_DIM || (t->dims[i] && numel > MAX_NUMEL / (uint64_t)t->dims[i])) {
            m2c_error(NULL, "%s: invalid sparse tensor dims", what);
            return NULL;
        }
        numel *= (uint64_t)t->dims[i];
    }
    /* Densified in memory: a few bytes of model must not claim gigabytes, neither in one tensor nor in
     * thousands of them, so the budget is for the whole model. */
    uint64_t dense = numel * ir_dtype_size(vals->dtype);
    if (dense > MAX_DENSE_BYTES - imp->dense_bytes) {
        if (imp->dense_refused) return NULL;   /* said once, not once per tensor after it */
        imp->dense_refused = true;
        m2c_error(NULL, "%s: sparse tensor too large to densify (%llu elements; %llu MiB for all sparse tensors at most)",
                  what, (unsigned long long)numel, (unsigned long long)(MAX_DENSE_BYTES >> 20));
        return NULL;
    }
    imp->dense_bytes += dense;
    uint64_t nnz = vals->numel;
    bool linear = idx->rank == 1;
    if (!ir_dtype_is_int(idx->dtype) || !(linear ? idx->numel == nnz : idx->rank == 2 && idx->shape[0] == (int64_t)nnz &&
                                                                              idx->shape[1] == (int64_t)t->n_dims)) {
        m2c_error(NULL, "%s: sparse indices do not match the values", what);
        return NULL;
    }
    IrTensor *x = ir_tensor_new(g, vals->dtype, (int)t->n_dims, t->dims);
    size_t esz = ir_dtype_size(vals->dtype);
    for (uint64_t k = 0; k < nnz; k++) {
        uint64_t pos = 0;
        if (linear) {
            int64_t p = ir_tensor_get_i64(idx, k);
            if (p < 0 || (uint64_t)p >= numel) pos = UINT64_MAX;
            else pos = (uint64_t)p;
        } else {
            for (size_t d = 0; d < t->n_dims && pos != UINT64_MAX; d++) {
                int64_t p = ir_tensor_get_i64(idx, k * t->n_dims + d);
                if (p < 0 || p >= t->dims[d]) pos = UINT64_MAX;
                else pos = pos * (uint64_t)t->dims[d] + (uint64_t)p;
            }
        }
        if (pos == UINT64_MAX) {
            m2c_error(NULL, "%s: sparse index out of range", what);
            return NULL;
        }
        memcpy((uint8_t *)x->data + pos * esz, (const uint8_t *)vals->data + k * esz, esz);
    }
    return x;
}
