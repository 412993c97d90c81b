/* ir/arena.c — the one allocator of a compilation: a bump arena over malloc'd chunks, growable arrays,
 * string buffers and a string map built on it.  Nothing is freed one by one (chibicc, QBE). */
#include "m2c.h"

#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
    struct Chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
} Chunk;

struct M2cArena {
    Chunk *head;
    size_t total;
};

enum { CHUNK_MIN = 1 << 16 };

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) m2c_die(__FILE__, __LINE__, "out of memory (%zu bytes)", n);
    return p;
}

M2cArena *m2c_arena_new(void)
{
    M2cArena *a = xmalloc(sizeof *a);
    a->head = NULL;
    a->total = 0;
    return a;
}

void m2c_arena_free(M2cArena *a)
{
    if (!a) return;
    for (Chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

void *m2c_alloc(M2cArena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    Chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        /* Big requests get a chunk of their own so the current chunk keeps its free space. */
        size_t size = n > CHUNK_MIN / 4 ? n : CHUNK_MIN;
        Chunk *nc = xmalloc(sizeof *nc + size);
        nc->size = size;
        nc->used = 0;
        if (c && size == n) {
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        a->total += size;
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

void *m2c_alloc_array(M2cArena *a, size_t n, size_t esz)
{
    if (esz && n > SIZE_MAX / esz) m2c_die(__FILE__, __LINE__, "allocation overflow (%zu x %zu)", n, esz);
    return m2c_alloc(a, n * esz);
}

void *m2c_memdup(M2cArena *a, const void *p, size_t n)
{
    void *q = m2c_alloc(a, n);
    if (n) memcpy(q, p, n);
    return q;
}

char *m2c_strndup(M2cArena *a, const char *s, size_t n)
{
    char *p = m2c_alloc(a, n + 1);
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *m2c_strdup(M2cArena *a, const char *s)
{
    return s ? m2c_strndup(a, s, strlen(s)) : NULL;
}

char *m2c_sprintf(M2cArena *a, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = m2c_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, aq);
    va_end(aq);
    return p;
}

size_t m2c_arena_bytes(const M2cArena *a)
{
    return a->total;
}

void m2c_vec_grow_(M2cArena *a, void **v, uint32_t *cap, size_t esz, uint32_t need)
{
    uint32_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > UINT32_MAX / 2) m2c_die(__FILE__, __LINE__, "array too large");
        ncap *= 2;
    }
    void *nv = m2c_alloc_array(a, ncap, esz);
    if (*v) memcpy(nv, *v, (size_t)*cap * esz);
    *v = nv;
    *cap = ncap;
}

/* String buffers. */

void m2c_buf_vprintf(M2cBuf *b, const char *fmt, va_list ap)
{
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(NULL, 0, fmt, aq);
    va_end(aq);
    if (n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) m2c_die(__FILE__, __LINE__, "out of memory");
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void m2c_buf_printf(M2cBuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    m2c_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void m2c_buf_puts(M2cBuf *b, const char *s)
{
    m2c_buf_printf(b, "%s", s);
}

void m2c_buf_putc(M2cBuf *b, char c)
{
    m2c_buf_printf(b, "%c", c);
}

void m2c_buf_free(M2cBuf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/* String map. */

uint64_t m2c_hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void map_rehash(M2cArena *a, M2cMap *m, uint32_t cap)
{
    const char **keys = m2c_alloc_array(a, cap, sizeof *keys);
    uint32_t *vals = m2c_alloc_array(a, cap, sizeof *vals);
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        uint32_t j = (uint32_t)m2c_hash_bytes(m->keys[i], strlen(m->keys[i]), 0) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
}

void m2c_map_put(M2cArena *a, M2cMap *m, const char *key, uint32_t val)
{
    if ((m->n + 1) * 2 > m->cap) map_rehash(a, m, m->cap ? m->cap * 2 : 64);
    uint32_t j = (uint32_t)m2c_hash_bytes(key, strlen(key), 0) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            m->vals[j] = val;
            return;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->n++;
}

bool m2c_map_get(const M2cMap *m, const char *key, uint32_t *val)
{
    if (!m->cap) return false;
    uint32_t j = (uint32_t)m2c_hash_bytes(key, strlen(key), 0) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            if (val) *val = m->vals[j];
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}
