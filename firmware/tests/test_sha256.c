/* SHA-256 driver: each stdin line "<hex>" -> its digest, hashed in uneven pieces to exercise
 * the block buffering; the pytest side compares with hashlib. */
#include <stdlib.h>
#include <string.h>

#include "qtd/sha256.h"
#include "test_util.h"

int main(void) {
    static char line[1 << 18];
    static uint8_t buf[1 << 17];
    while (fgets(line, sizeof line, stdin)) {
        size_t n = 0;
        for (char *s = line; s[0] && s[1] && s[0] != '\n'; s += 2) {
            char b[3] = {s[0], s[1], 0};
            buf[n++] = (uint8_t)strtoul(b, NULL, 16);
        }
        qtd_sha256_t s;
        uint8_t d[QTD_SHA256_SIZE];
        qtd_sha256_init(&s);
        for (size_t at = 0, step = 1; at < n; at += step, step = step * 3 % 97 + 1) {
            qtd_sha256_update(&s, buf + at, at + step > n ? n - at : step);
        }
        qtd_sha256_final(&s, d);
        for (unsigned i = 0; i < QTD_SHA256_SIZE; i++) {
            printf("%02x", d[i]);
        }
        printf("\n");
        fflush(stdout);
    }
    t_passed++;
    return t_summary("sha256");
}
