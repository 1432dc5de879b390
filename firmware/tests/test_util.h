/* Shared pieces of the C unit tests: checks with a parseable summary, a small made-up board,
 * and a NOR model wired to hal_flash_xfer. Each test prints one line per failure and finally
 *   SUMMARY <name> passed=<n> failed=<n>
 * which tests/firmware parses. */
#ifndef QTD_TEST_UTIL_H
#define QTD_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "nor_model.h"
#include "qtd/board.h"

extern int t_passed, t_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            t_passed++;                                                               \
        } else {                                                                      \
            t_failed++;                                                               \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                             \
    } while (0)
#define CHECK_EQ(a, b) CHECK((long long)(a) == (long long)(b))

int t_summary(const char *name);

/* 1 MiB flash, 4 KiB sectors: slots A/B at 0/128K (bitstream) and 64K/192K (blob), each 64 KiB;
 * meta copies at 256K and 260K, log after. The XC7S15 IDCODE. */
extern const qtd_board_t t_board;
extern nor_model_t t_nor;
extern uint8_t t_flash[1u << 20];

/* Fresh erased flash, fast timings, the FPGA model on the same memory. */
void t_setup(void);

/* Build a minimal 7-series bitstream (header junk, sync, IDCODE and AXSS packets, some frame
 * data in a type-2 packet, DESYNC) into out; returns its length. */
uint32_t t_make_bitstream(uint8_t *out, uint32_t idcode, uint32_t usr_access, uint32_t frame_words);

/* One-shot SHA-256 of a buffer, through the core's implementation. */
void t_sha256(const uint8_t *p, uint32_t n, uint8_t out[32]);

#endif /* QTD_TEST_UTIL_H */
