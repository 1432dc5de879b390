/* A command-level SPI NOR flash model for the virtual board (and the C unit tests).
 *
 * It answers the opcodes the core uses (qtd/flash.h) the way a W25Q-class part does, over a
 * byte array that is usually a shared mmap of the flash file, and it enforces the rules a real
 * part only punishes silently: programming a 0 bit back to 1, a program or erase without WRITE
 * ENABLE, any command but READ STATUS while busy, writes into block-protected space, and any
 * MCU access while the FPGA may drive the shared bus. Each is a violation: the virtual board
 * makes it a loud fatal error, the unit tests count them. */
#ifndef QTD_NOR_MODEL_H
#define QTD_NOR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nor_model nor_model_t;

struct nor_model {
    uint8_t *mem;
    uint32_t size, page_size;
    uint32_t jedec_id;
    /* busy times (typical, datasheet-like), microseconds */
    uint32_t page_program_us, erase_4k_us, erase_64k_us, write_status_us;

    uint8_t sr; /* BP bits live here; BUSY and WEL are derived below */
    bool wel;
    uint64_t busy_until_us;

    /* power-cut simulation: the die_after-th program/erase (1-based) is cut half-way;
     * 0 = never. on_power_cut must not return (exit, or longjmp in tests). */
    unsigned long die_after;
    unsigned long write_ops; /* program + erase + write-status operations started */
    void (*on_power_cut)(nor_model_t *m);

    /* returns true when the MCU may use the bus (the FPGA is held off it) */
    bool (*bus_granted)(void);
    unsigned long violations;
    char last_violation[160];
    void (*on_violation)(nor_model_t *m, const char *msg); /* optional; after counting */
    /* optional: called before every program, erase or status write the part accepts, with the
     * byte range it may change (the bytes a program reaches, its whole page if it wraps, the whole unit for
     * an erase, 0/0 for a status write); the command fuzzer checks where writes land and restores what they
     * dirtied */
    void (*on_write)(nor_model_t *m, uint32_t addr, uint32_t len);
};

/* Fill in geometry and timings with defaults; mem must hold size bytes. */
void nor_model_init(nor_model_t *m, uint8_t *mem, uint32_t size, uint32_t page_size, uint32_t jedec_id);
void nor_model_xfer(nor_model_t *m, const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len,
                    uint8_t *in, size_t in_len);
bool nor_model_busy(const nor_model_t *m);

#endif /* QTD_NOR_MODEL_H */
