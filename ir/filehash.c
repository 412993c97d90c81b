/* ir/filehash.c — the SHA-256 of a file, computed on a thread while the caller goes on.
 *
 * `ml2candle model.onnx -o DIR` records the model's hash in the README and in the safetensors metadata.
 * Hashing a 440 MB BERT-base export takes about a third of a second; started before the import, it runs
 * beside the import, the passes, the code generation and the weight writing instead of before them.  The
 * file is read in chunks rather than mapped, so the hash adds nothing to the resident set. */
#include "m2c.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct M2cFileHash {
    pthread_t thread;
    bool running;        /* a thread was started and not yet joined */
    int fd;
    char hex[65];        /* "" until done, or when the file cannot be read */
};

static void hash_fd(M2cFileHash *h)
{
    enum { CHUNK = 1 << 20 };
    uint8_t *buf = malloc(CHUNK);
    if (!buf) return;
    M2cSha256 s;
    m2c_sha256_init(&s);
    for (;;) {
        ssize_t k = read(h->fd, buf, CHUNK);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            free(buf);
            return;
        }
        if (k == 0) break;
        m2c_sha256_update(&s, buf, (size_t)k);
    }
    free(buf);
    m2c_sha256_final_hex(&s, h->hex);
}

static void *hash_main(void *arg)
{
    hash_fd(arg);
    return NULL;
}

M2cFileHash *m2c_file_hash_start(const char *path)
{
    M2cFileHash *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    h->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (h->fd >= 0) {
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(h->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
        /* without a thread (none could be made) the hash is computed at the join instead */
        h->running = pthread_create(&h->thread, NULL, hash_main, h) == 0;
    }
    return h;
}

const char *m2c_file_hash_finish(M2cFileHash *h, M2cArena *a)
{
    if (!h) return NULL;
    if (h->running)
        pthread_join(h->thread, NULL);
    else if (h->fd >= 0)
        hash_fd(h);
    if (h->fd >= 0) close(h->fd);
    const char *out = h->hex[0] && a ? m2c_strdup(a, h->hex) : NULL;
    free(h);
    return out;
}
