/* What the core needs to know about its board: flash geometry and layout, the FPGA part,
 * the power monitors and rails.
 *
 * Why a struct and not macros: the core takes the board at init, so the C unit tests run the
 * same code on small made-up geometries. The real board (and the virtual one) use the instance
 * generated from boards/<name>.toml by tools/board_header.py (build/gen/qtd/board_config.h). */
#ifndef QTD_BOARD_H
#define QTD_BOARD_H

#include <stdint.h>

#define QTD_SLOT_COUNT 2u
/* Power monitors and rails the core can hold (4 PAC1934 x 4 channels). */
#define QTD_MAX_MONITORS 4u
#define QTD_MAX_RAILS    16u

typedef struct {
    uint32_t offset; /* byte address in the flash, sector-aligned */
    uint32_t size;   /* bytes, a whole number of sectors */
} qtd_region_t;

typedef struct {
    qtd_region_t bitstream;
    qtd_region_t blob;
} qtd_slot_layout_t;

/* A PAC193x on the I2C bus (the board file's [[power.monitors]]). */
typedef struct {
    uint8_t addr7;
} qtd_monitor_t;

/* A supply rail: which monitor channel measures it, through which shunt ([[power.rails]], in
 * file order: the rail id on the link is the index). */
typedef struct {
    uint8_t monitor; /* index into monitors[] */
    uint8_t channel; /* 0-based (the board file counts from 1) */
    uint32_t shunt_uohm;
} qtd_rail_t;

typedef struct {
    const char *name;
    /* flash part */
    uint32_t flash_size;
    uint32_t sector_size;         /* erase unit: 4 KiB (opcode 0x20) or 64 KiB (0xD8) */
    uint32_t page_size;           /* program unit */
    uint32_t jedec_id;            /* manufacturer << 16 | type << 8 | capacity */
    uint32_t page_program_max_us; /* datasheet maximum: beyond it the part is broken */
    uint32_t sector_erase_max_us;
    /* layout */
    qtd_slot_layout_t slots[QTD_SLOT_COUNT];
    qtd_region_t meta[2]; /* the two slot metadata copies (protocol/slots.md) */
    qtd_region_t log;     /* append-only log area: reserved, reported by FLASH_INFO */
    /* FPGA */
    uint32_t fpga_idcode; /* the part's JTAG IDCODE, compared with the bitstream's */
    /* link */
    uint32_t uart_baud;   /* after power-up and RESET */
    uint32_t max_baud;    /* SET_BAUD refuses more */
    uint16_t max_payload; /* what HELLO offers (<= QTD_LINK_MAX_PAYLOAD) */
    uint8_t window;       /* frames the board buffers (<= QTD_LINK_MAX_WINDOW) */
    /* power monitors (protocol/power.md); 0 monitors: POWER_* answer SENSOR_ERROR */
    uint8_t monitor_count;
    qtd_monitor_t monitors[QTD_MAX_MONITORS];
    uint8_t rail_count;
    qtd_rail_t rails[QTD_MAX_RAILS];
} qtd_board_t;

#endif /* QTD_BOARD_H */
