/* backends/candle/safetensors.c — writing model.safetensors: a JSON header, then each tensor's bytes,
 * streamed from where the importer left them (the mapped model file), in the order given.
 *
 * Candle's loader knows U8, U16 (read as U32), U32, I16, I32, I64, BF16, F16, F32, F64; the ONNX types it
 * lacks are stored as the nearest wider type it reads back exactly: bool as U8, i8 as I16, u64 as I64
 * (bit pattern).  cg_candle_dtype() says which candle DType the generated code then sees. */
#include "cg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *cg_st_dtype(IrDType t)
{
    switch (t) {
    case DT_F32: return "F32";
    case DT_F16: return "F16";
    case DT_BF16: return "BF16";
    case DT_F64: return "F64";
    case DT_I64: case DT_U64: return "I64";
    case DT_I32: return "I32";
    case DT_I16: case DT_I8: return "I16";
    case DT_U32: return "U32";
    case DT_U16: return "U16";
    case DT_U8: case DT_BOOL: return "U8";
    default: return NULL;
    }
}

static size_t st_size(IrDType t)
{
    return t == DT_I8 ? 2 : ir_dtype_size(t);
}

static void json_escape(M2cBuf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            m2c_buf_printf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            m2c_buf_printf(b, "\\u%04x", (unsigned char)*s);
        else
            m2c_buf_putc(b, *s);
    }
}

/* Writes the tensor's bytes in the stored type: widened for i8, transposed when asked, as is otherwise
 * (little-endian host).  A transpose goes row by row through a small buffer, never a copy of the tensor. */
static bool write_data(FILE *f, const IrTensor *t, bool transposed)
{
    if (transposed && t->rank == 2) {
        /* column blocks of the source become row blocks of the output: each block is read with unit stride
         * along a row of the source and written out whole */
        size_t esz = ir_dtype_size(t->dtype);
        uint64_t rows = (uint64_t)t->shape[0], cols = (uint64_t)t->shape[1];
        enum { BLOCK = 64 };
        uint8_t *buf = malloc((size_t)(rows > 0 ? rows : 1) * BLOCK * esz);
        bool ok = buf != NULL;
        const uint8_t *src = t->data;
        for (uint64_t c0 = 0; c0 < cols && ok; c0 += BLOCK) {
            uint64_t nc = cols - c0 < BLOCK ? cols - c0 : BLOCK;
            for (uint64_t r = 0; r < rows; r++) {
                const uint8_t *row = src + (r * cols + c0) * esz;
                if (esz == 4) {
                    uint32_t v[BLOCK];
                    memcpy(v, row, nc * 4);
                    for (uint64_t c = 0; c < nc; c++) memcpy(buf + (c * rows + r) * 4, &v[c], 4);
                } else {
                    for (uint64_t c = 0; c < nc; c++) memcpy(buf + (c * rows + r) * esz, row + c * esz, esz);
                }
            }
            ok = fwrite(buf, esz, nc * rows, f) == nc * rows;
        }
        free(buf);
        return ok;
    }
    if (t->dtype != DT_I8) return t->nbytes == 0 || fwrite(t->data, 1, t->nbytes, f) == t->nbytes;
    for (uint64_t i = 0; i < t->numel; i++) {
        int16_t v = (int8_t)((const uint8_t *)t->data)[i];
        if (fwrite(&v, 2, 1, f) != 1) return false;
    }
    return true;
}

bool cg_write_safetensors(const char *path, const CgStTensor *ts, uint32_t n, const char *source_sha256)
{
    M2cBuf h = {0};
    m2c_buf_puts(&h, "{\"__metadata__\":{\"format\":\"pt\",\"generator\":\"ml2candle " M2C_VERSION "\"");
    if (source_sha256) m2c_buf_printf(&h, ",\"source_sha256\":\"%s\"", source_sha256);
    m2c_buf_puts(&h, "}");
    uint64_t off = 0;
    for (uint32_t i = 0; i < n; i++) {
        const IrTensor *t = ts[i].tensor;
        const char *dt = cg_st_dtype(t->dtype);
        M2C_ASSERT(dt);
        uint64_t nbytes = t->numel * st_size(t->dtype);
        m2c_buf_puts(&h, ",\"");
        json_escape(&h, ts[i].name);
        m2c_buf_printf(&h, "\":{\"dtype\":\"%s\",\"shape\":[", dt);
        for (int k = 0; k < t->rank; k++) {
            int64_t d = ts[i].transposed && t->rank == 2 ? t->shape[1 - k] : t->shape[k];
            m2c_buf_printf(&h, "%s%lld", k ? "," : "", (long long)d);
        }
        m2c_buf_printf(&h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + nbytes));
        off += nbytes;
    }
    m2c_buf_puts(&h, "}");
    /* The header is padded with spaces to a multiple of 8 so the data is aligned. */
    while (h.len % 8) m2c_buf_putc(&h, ' ');
    FILE *f = fopen(path, "wb");
    if (!f) {
        m2c_io_error("cannot create '%s': %s", path, strerror(errno));
        m2c_buf_free(&h);
        return false;
    }
    uint64_t hlen = h.len;
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)(hlen >> (8 * i));
    bool ok = fwrite(le, 1, 8, f) == 8 && fwrite(h.s, 1, h.len, f) == h.len;
    for (uint32_t i = 0; i < n && ok; i++) ok = write_data(f, ts[i].tensor, ts[i].transposed);
    ok = (fclose(f) == 0) && ok;
    if (!ok) m2c_io_error("cannot write '%s': %s", path, strerror(errno));
    m2c_buf_free(&h);
    return ok;
}
