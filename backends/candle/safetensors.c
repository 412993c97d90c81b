/* backends/candle/safetensors.c — writing model.safetensors: a JSON header, then each tensor's bytes,
 * streamed from where the importer left them (the mapped model file), in the order given.
 *
 * Candle's loader knows U8, U16 (read as U32), U32, I16, I32, I64, BF16, F16, F32, F64; the ONNX types it
 * lacks are stored as the nearest wider type it reads back exactly: bool as U8, i8 as I16, u64 as I64
 * (bit pattern).  cg_candle_dtype() says which candle DType the generated code then sees.
 *
 * The data is written by a few threads with pwrite() at the offsets the header gives (writing 440 MB of
 * BERT-base, half of it transposed, is most of a conversion), and the header last: it carries the source
 * model's SHA-256, which is computed meanwhile on another thread (ir/filehash.c). */
#include "cg.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* ---- the data, written by worker threads with pwrite() at offsets the header fixes ---- */

typedef struct {
    int fd;
    uint64_t base;                 /* file offset of the data section */
    const CgStTensor *ts;
    const uint64_t *off;           /* each tensor's offset in the data section */
    uint32_t first, end;           /* this worker's tensors */
    pthread_t thread;
    bool started, ok;
    int err;                       /* errno of the first failure */
} Worker;

static bool pwrite_all(Worker *w, const void *p, size_t n, uint64_t at)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = pwrite(w->fd, b, n > ((size_t)1 << 30) ? (size_t)1 << 30 : n, (off_t)at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            w->err = k < 0 ? errno : EIO;
            return false;
        }
        b += k, n -= (size_t)k, at += (uint64_t)k;
    }
    return true;
}

/* A 2-D tensor transposed: column blocks of the source become row blocks of the output, each block read
 * with unit stride along the source's rows and written out whole (the buffer is rows × BLOCK elements). */
static bool write_transposed(Worker *w, const IrTensor *t, uint64_t at)
{
    size_t esz = ir_dtype_size(t->dtype);
    uint64_t rows = (uint64_t)t->shape[0], cols = (uint64_t)t->shape[1];
    enum { BLOCK = 64 };
    uint8_t *buf = malloc((size_t)(rows > 0 ? rows : 1) * BLOCK * esz);
    if (!buf) {
        w->err = ENOMEM;
        return false;
    }
    bool ok = true;
    const uint8_t *src = t->data;
    for (uint64_t c0 = 0; c0 < cols && ok; c0 += BLOCK) {
        uint64_t nc = cols - c0 < BLOCK ? cols - c0 : BLOCK;
        if (esz == 4) {
            uint32_t *out = (uint32_t *)buf;
            for (uint64_t r = 0; r < rows; r++) {
                uint32_t v[BLOCK];
                memcpy(v, src + (r * cols + c0) * 4, nc * 4);
                for (uint64_t c = 0; c < nc; c++) out[c * rows + r] = v[c];
            }
        } else {
            for (uint64_t r = 0; r < rows; r++) {
                const uint8_t *row = src + (r * cols + c0) * esz;
                for (uint64_t c = 0; c < nc; c++) memcpy(buf + (c * rows + r) * esz, row + c * esz, esz);
            }
        }
        ok = pwrite_all(w, buf, (size_t)(nc * rows * esz), at);
        at += nc * rows * esz;
    }
    free(buf);
    return ok;
}

/* i8 is stored as I16 (candle has no i8): widened through a small buffer */
static bool write_widened_i8(Worker *w, const IrTensor *t, uint64_t at)
{
    int16_t buf[4096];
    const int8_t *src = t->data;
    for (uint64_t i = 0; i < t->numel;) {
        uint64_t k = t->numel - i < 4096 ? t->numel - i : 4096;
        for (uint64_t j = 0; j < k; j++) buf[j] = src[i + j];
        if (!pwrite_all(w, buf, (size_t)k * 2, at)) return false;
        at += k * 2, i += k;
    }
    return true;
}

static void *worker_main(void *arg)
{
    Worker *w = arg;
    w->ok = true;
    for (uint32_t i = w->first; i < w->end && w->ok; i++) {
        const IrTensor *t = w->ts[i].tensor;
        uint64_t at = w->base + w->off[i];
        if (w->ts[i].transposed && t->rank == 2)
            w->ok = write_transposed(w, t, at);
        else if (t->dtype == DT_I8)
            w->ok = write_widened_i8(w, t, at);
        else
            w->ok = t->nbytes == 0 || pwrite_all(w, t->data, (size_t)t->nbytes, at);
    }
    return NULL;
}

/* ---- the header ---- */

/* The JSON header with `sha` (64 hex digits, or NULL: no source_sha256) padded with spaces to `len` bytes
 * (0: to the next multiple of 8, so the data is aligned). */
static void build_header(M2cBuf *h, const CgStTensor *ts, uint32_t n, const uint64_t *off, const char *sha,
                         size_t len)
{
    m2c_buf_puts(h, "{\"__metadata__\":{\"format\":\"pt\",\"generator\":\"ml2candle " M2C_VERSION "\"");
    if (sha) m2c_buf_printf(h, ",\"source_sha256\":\"%s\"", sha);
    m2c_buf_puts(h, "}");
    for (uint32_t i = 0; i < n; i++) {
        const IrTensor *t = ts[i].tensor;
        const char *dt = cg_st_dtype(t->dtype);
        M2C_ASSERT(dt);
        m2c_buf_puts(h, ",\"");
        json_escape(h, ts[i].name);
        m2c_buf_printf(h, "\":{\"dtype\":\"%s\",\"shape\":[", dt);
        for (int k = 0; k < t->rank; k++) {
            int64_t d = ts[i].transposed && t->rank == 2 ? t->shape[1 - k] : t->shape[k];
            m2c_buf_printf(h, "%s%lld", k ? "," : "", (long long)d);
        }
        m2c_buf_printf(h, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off[i],
                       (unsigned long long)off[i + 1]);
    }
    m2c_buf_puts(h, "}");
    while (len ? h->len < len : h->len % 8) m2c_buf_putc(h, ' ');
}

struct CgStWriter {
    char *path;
    int fd;
    const CgStTensor *ts;
    uint32_t n;
    uint64_t *off;                 /* n + 1 offsets */
    size_t header_len;             /* reserved for the header, a multiple of 8 */
    Worker workers[8];
    uint32_t nworkers;
};

static uint32_t worker_count(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 4 ? 4 : (uint32_t)cpus;
}

CgStWriter *cg_st_start(const char *path, const CgStTensor *ts, uint32_t n)
{
    CgStWriter *w = calloc(1, sizeof *w);
    uint64_t *off = calloc((size_t)n + 1, sizeof *off);
    size_t plen = strlen(path) + 1;
    char *p = malloc(plen);
    if (p) memcpy(p, path, plen);
    if (!w || !off || !p) {
        free(w), free(off), free(p);
        m2c_io_error("out of memory writing '%s'", path);
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) off[i + 1] = off[i] + ts[i].tensor->numel * st_size(ts[i].tensor->dtype);
    /* the header is written last, when the source hash is known: reserve room for one */
    M2cBuf h = {0};
    build_header(&h, ts, n, off, "0000000000000000000000000000000000000000000000000000000000000000", 0);
    *w = (CgStWriter){.path = p, .ts = ts, .n = n, .off = off, .header_len = h.len};
    m2c_buf_free(&h);
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (w->fd < 0) {
        m2c_io_error("cannot create '%s': %s", path, strerror(errno));
        free(w->path), free(w->off), free(w);
        return NULL;
    }
    /* contiguous runs of tensors of about equal bytes, one per worker */
    uint32_t k = worker_count(), first = 0;
    uint64_t total = off[n];
    for (uint32_t i = 0; i < k && first < n; i++) {
        uint64_t goal = total / k * (i + 1);
        uint32_t end = first + 1;
        while (end < n && (i == k - 1 || off[end] < goal)) end++;
        Worker *wk = &w->workers[w->nworkers++];
        *wk = (Worker){.fd = w->fd, .base = 8 + w->header_len, .ts = ts, .off = off, .first = first, .end = end};
        wk->started = pthread_create(&wk->thread, NULL, worker_main, wk) == 0;
        if (!wk->started) worker_main(wk);
        first = end;
    }
    return w;
}

bool cg_st_finish(CgStWriter *w, const char *source_sha256)
{
    if (!w) return false;
    bool ok = true;
    int err = 0;
    for (uint32_t i = 0; i < w->nworkers; i++) {
        Worker *wk = &w->workers[i];
        if (wk->started) pthread_join(wk->thread, NULL);
        if (!wk->ok && ok) ok = false, err = wk->err;
    }
    M2cBuf h = {0};
    build_header(&h, w->ts, w->n, w->off, source_sha256, w->header_len);
    M2C_ASSERT(h.len == w->header_len);
    uint8_t le[8];
    for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)h.len >> (8 * i));
    Worker hw = {.fd = w->fd};
    /* an empty file of only a header still needs its full length on disk */
    ok = ok && pwrite_all(&hw, le, 8, 0) && pwrite_all(&hw, h.s, h.len, 8);
    if (!ok && !err) err = hw.err;
    if (close(w->fd) != 0 && ok) ok = false, err = errno;
    if (!ok) m2c_io_error("cannot write '%s': %s", w->path, strerror(err ? err : EIO));
    m2c_buf_free(&h);
    free(w->path), free(w->off), free(w);
    return ok;
}

bool cg_write_safetensors(const char *path, const CgStTensor *ts, uint32_t n, const char *source_sha256)
{
    return cg_st_finish(cg_st_start(path, ts, n), source_sha256);
}
