/* SHA-256 (FIPS 180-4), incremental, no allocation: the board verifies images by hash. */
#ifndef QTD_SHA256_H
#define QTD_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define QTD_SHA256_SIZE 32u

typedef struct {
    uint32_t h[8];
    uint64_t total; /* bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes waiting in block */
} qtd_sha256_t;

void qtd_sha256_init(qtd_sha256_t *s);
void qtd_sha256_update(qtd_sha256_t *s, const uint8_t *data, size_t len);
void qtd_sha256_final(qtd_sha256_t *s, uint8_t out[QTD_SHA256_SIZE]);

#endif /* QTD_SHA256_H */
