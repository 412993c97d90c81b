/* ir/m2c.h — what every layer shares: the arena, growable arrays, diagnostics and assertions.
 *
 * Two kinds of error (QBE): m2c_error() and friends report a problem with the user's input and return;
 * the caller counts them and stops at a stage boundary.  M2C_ASSERT()/m2c_die() report a compiler bug and
 * abort.  Library code never calls exit(). */
#ifndef M2C_H
#define M2C_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define M2C_VERSION "0.1.0"

#if defined(__GNUC__)
#define M2C_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define M2C_NORETURN __attribute__((noreturn))
#else
#define M2C_PRINTF(f, a)
#define M2C_NORETURN
#endif

/* Exit codes of DESIGN §4. */
enum {
    M2C_EXIT_OK = 0,
    M2C_EXIT_INVALID = 1,   /* the model is invalid or unsupported */
    M2C_EXIT_USAGE = 2,
    M2C_EXIT_IO = 3,        /* I/O, or a missing runtime: NVRTC, the CUDA driver or a GPU (not the model's fault) */
    M2C_EXIT_MISMATCH = 4,
};

/*
 * arena.c
 */
typedef struct M2cArena M2cArena;

M2cArena *m2c_arena_new(void);
void m2c_arena_free(M2cArena *a);
void *m2c_alloc(M2cArena *a, size_t n);            /* zeroed, 16-byte aligned; aborts when memory runs out */
void *m2c_alloc_array(M2cArena *a, size_t n, size_t esz);   /* overflow-checked */
void *m2c_memdup(M2cArena *a, const void *p, size_t n);
char *m2c_strdup(M2cArena *a, const char *s);
char *m2c_strndup(M2cArena *a, const char *s, size_t n);
char *m2c_sprintf(M2cArena *a, const char *fmt, ...) M2C_PRINTF(2, 3);
size_t m2c_arena_bytes(const M2cArena *a);

/* A growable array in the arena (QBE's vgrow): declare `M2C_VEC(T) xs;`, zero it, then push. */
#define M2C_VEC(T) struct { T *v; uint32_t n, cap; }
void m2c_vec_grow_(M2cArena *a, void **v, uint32_t *cap, size_t esz, uint32_t need);
#define m2c_vec_reserve(a, vec, need) \
    ((need) > (vec)->cap ? m2c_vec_grow_((a), (void **)&(vec)->v, &(vec)->cap, sizeof *(vec)->v, (need)) : (void)0)
#define m2c_vec_push(a, vec, x) \
    (m2c_vec_reserve((a), (vec), (vec)->n + 1), (vec)->v[(vec)->n++] = (x))

/* A string buffer (malloc-backed, for emitters and printers). */
typedef struct {
    char *s;
    size_t len, cap;
} M2cBuf;
void m2c_buf_printf(M2cBuf *b, const char *fmt, ...) M2C_PRINTF(2, 3);
void m2c_buf_vprintf(M2cBuf *b, const char *fmt, va_list ap);
void m2c_buf_puts(M2cBuf *b, const char *s);
void m2c_buf_putc(M2cBuf *b, char c);
void m2c_buf_free(M2cBuf *b);

/* String hash map from name to uint32 (open addressing, arena-backed). */
typedef struct {
    const char **keys;
    uint32_t *vals;
    uint32_t n, cap;
} M2cMap;
void m2c_map_put(M2cArena *a, M2cMap *m, const char *key, uint32_t val);
bool m2c_map_get(const M2cMap *m, const char *key, uint32_t *val);
uint64_t m2c_hash_bytes(const void *p, size_t n, uint64_t seed);

/*
 * sha256.c
 */
void m2c_sha256_hex(const void *data, size_t len, char out[65]);
void m2c_sha256_hex_portable(const void *data, size_t len, char out[65]);   /* without CPU extensions (tests) */
/* The same over data given in pieces */
typedef struct {
    uint32_t h[8];
    uint8_t buf[64];
    size_t nbuf;
    uint64_t len;
} M2cSha256;
void m2c_sha256_init(M2cSha256 *s);
void m2c_sha256_update(M2cSha256 *s, const void *data, size_t n);
void m2c_sha256_final_hex(M2cSha256 *s, char out[65]);

/*
 * filehash.c — a file's SHA-256 on a thread: start it early, finish (join) it where the hash is needed.
 */
typedef struct M2cFileHash M2cFileHash;
M2cFileHash *m2c_file_hash_start(const char *path);
/* The lowercase hex digest in `a`, or NULL if the file could not be read (or `a` is NULL: only the thread
 * is wanted gone); frees h (NULL is allowed). */
const char *m2c_file_hash_finish(M2cFileHash *h, M2cArena *a);

/*
 * diag.c
 */

/* Where a diagnostic points: the ONNX node (name, index in the graph, op type) or a value. */
typedef struct {
    const char *node;   /* ONNX node name; NULL or "" when the exporter left it empty */
    int32_t index;      /* node index in the ONNX graph; -1 when not a node */
    const char *op;     /* ONNX op type */
} SrcLoc;

void m2c_diag_reset(const char *file);    /* file: model path shown at the start of each line */
const char *m2c_diag_file(void);
void m2c_diag_set_stream(FILE *f);        /* default stderr */
void m2c_diag_quiet(bool quiet);          /* tests and the fuzzer silence output but keep the counts */
int m2c_error_count(void);
int m2c_exit_code(void);                  /* the code of the first error, M2C_EXIT_OK if none */

void m2c_error(const SrcLoc *loc, const char *fmt, ...) M2C_PRINTF(2, 3);     /* invalid model: exit 1 */
void m2c_io_error(const char *fmt, ...) M2C_PRINTF(1, 2);                     /* I/O problem: exit 3 */
void m2c_usage_error(const char *fmt, ...) M2C_PRINTF(1, 2);                  /* bad arguments: exit 2 */
void m2c_warn(const SrcLoc *loc, const char *fmt, ...) M2C_PRINTF(2, 3);
void m2c_verror(int code, const SrcLoc *loc, const char *fmt, va_list ap);

M2C_NORETURN void m2c_die(const char *file, int line, const char *fmt, ...) M2C_PRINTF(3, 4);
#define M2C_ASSERT(c) ((c) ? (void)0 : m2c_die(__FILE__, __LINE__, "assertion failed: %s", #c))
#define M2C_UNREACHABLE() m2c_die(__FILE__, __LINE__, "unreachable")

#endif
