/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) -- the same value as Python's zlib.crc32. */
#ifndef QTD_CRC32_H
#define QTD_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: start with crc = 0, feed chunks, the result is the final CRC. */
uint32_t qtd_crc32(uint32_t crc, const uint8_t *data, size_t len);

#endif /* QTD_CRC32_H */
