/* tests/unit/test_sha256.c — SHA-256 against FIPS 180-4's examples, and the SHA-extension path against the
 * portable one on every length around the block boundaries, the streaming form, and a file hashed on a thread. */
#include "check.h"
#include "m2c.h"

#include <stdlib.h>
#include <unistd.h>

int main(void)
{
    char hex[65], ref[65];
    m2c_sha256_hex("abc", 3, hex);
    CHECK_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    m2c_sha256_hex("", 0, hex);
    CHECK_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    m2c_sha256_hex(two, 56, hex);
    CHECK_EQ_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    unsigned char *buf = malloc(4096);
    for (int i = 0; i < 4096; i++) buf[i] = (unsigned char)(i * 131 + 7);
    for (size_t n = 0; n <= 4096; n += (n < 200 ? 1 : 61)) {
        m2c_sha256_hex(buf, n, hex);
        m2c_sha256_hex_portable(buf, n, ref);
        CHECK_EQ_STR(hex, ref);
    }
    /* given in pieces of every size 1..97 (across block boundaries), the same digest */
    m2c_sha256_hex(buf, 4096, ref);
    for (size_t piece = 1; piece < 98; piece++) {
        M2cSha256 s;
        m2c_sha256_init(&s);
        for (size_t at = 0; at < 4096; at += piece) m2c_sha256_update(&s, buf + at, 4096 - at < piece ? 4096 - at : piece);
        m2c_sha256_final_hex(&s, hex);
        CHECK_EQ_STR(hex, ref);
    }
    /* a file hashed on a thread; a missing file gives no hash */
    char path[] = "/tmp/m2c_sha_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, buf, 4096) == 4096);
    close(fd);
    M2cArena *a = m2c_arena_new();
    const char *got = m2c_file_hash_finish(m2c_file_hash_start(path), a);
    CHECK(got != NULL);
    if (got) CHECK_EQ_STR(got, ref);
    unlink(path);
    CHECK(m2c_file_hash_finish(m2c_file_hash_start(path), a) == NULL);
    m2c_arena_free(a);
    free(buf);
    CHECK_DONE();
}
