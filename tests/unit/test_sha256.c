/* tests/unit/test_sha256.c — SHA-256 against FIPS 180-4's examples, and the SHA-extension path against the
 * portable one on every length around the block boundaries. */
#include "check.h"
#include "m2c.h"

#include <stdlib.h>

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
    free(buf);
    CHECK_DONE();
}
