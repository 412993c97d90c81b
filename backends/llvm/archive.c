/* backends/llvm/archive.c — a static library (.a) in the System V / GNU ar format: the "!<arch>" magic, a
 * symbol index member "/" (big-endian count, member offsets, NUL-terminated names: what GNU ld and lld need to
 * pull members in), then the object files.  Written here because LLVM-C has no archive writer and a crate's
 * build.rs should not need `ar`. */
#include "llvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* bytes, NULs included (M2cBuf is for text) */
typedef struct {
    char *s;
    size_t len, cap;
} Bytes;

static void put(Bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
}

static void header(Bytes *b, const char *name, size_t size)
{
    char h[128];
    /* name/ (terminated by a slash), date, uid, gid, mode, size, end marker: fixed-width, space-padded; the
     * callers keep names under 16 characters and sizes under 10 digits */
    snprintf(h, sizeof h, "%-16.16s%-12s%-6s%-6s%-8s%-10.10zu`\n", name, "0", "0", "0", "644", size);
    put(b, h, 60);
}

static void put_be32(Bytes *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    put(b, c, 4);
}

bool llvm_write_archive(const char *path, const LlvmArMember *m, uint32_t n)
{
    /* the index's size first: member offsets depend on it */
    uint32_t nsyms = 0;
    size_t names = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (strlen(m[i].name) > 15) {
            llvm_set_error("archive member name '%s' longer than 15 characters", m[i].name);
            return false;
        }
        nsyms += m[i].nsyms;
        for (uint32_t s = 0; s < m[i].nsyms; s++) names += strlen(m[i].syms[s]) + 1;
    }
    size_t index = 4 + 4 * (size_t)nsyms + names;
    size_t at = 8 + 60 + index + (index & 1);
    uint32_t *off = calloc(n ? n : 1, sizeof *off);
    for (uint32_t i = 0; i < n; i++) {
        off[i] = (uint32_t)at;
        at += 60 + m[i].len + (m[i].len & 1);
    }
    Bytes b = {0};
    put(&b, "!<arch>\n", 8);
    header(&b, "/", index);
    put_be32(&b, nsyms);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t s = 0; s < m[i].nsyms; s++) put_be32(&b, off[i]);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t s = 0; s < m[i].nsyms; s++)
            put(&b, m[i].syms[s], strlen(m[i].syms[s]) + 1);
    if (index & 1) put(&b, "\n", 1);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(b.s, 1, b.len, f) == b.len;
    for (uint32_t i = 0; ok && i < n; i++) {
        Bytes h = {0};
        char nm[20];
        snprintf(nm, sizeof nm, "%s/", m[i].name);
        header(&h, nm, m[i].len);
        ok = fwrite(h.s, 1, h.len, f) == h.len && fwrite(m[i].data, 1, m[i].len, f) == m[i].len &&
             (!(m[i].len & 1) || fputc('\n', f) != EOF);
        free(h.s);
    }
    if (f && fclose(f) != 0) ok = false;
    if (!ok) llvm_set_error("cannot write '%s': %s", path, strerror(errno));
    free(b.s);
    free(off);
    return ok;
}
