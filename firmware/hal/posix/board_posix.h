/* Options and wiring of the virtual board (hal/posix). */
#ifndef QTD_BOARD_POSIX_H
#define QTD_BOARD_POSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "nor_model.h"
#include "qtd/board.h"

#define QTD_EXIT_VIOLATION 70 /* a hardware rule was broken (EX_SOFTWARE) */
#define QTD_EXIT_POWER_CUT 75 /* --die-after-flash-ops fired */

typedef struct {
    const char *flash_file;
    unsigned long die_after_flash_ops; /* 0 = never */
    double time_scale;                 /* 1.0 = datasheet typicals; 0.01 = 100x faster */
    bool paced;                        /* pace the UART at the baud rate */
    uint32_t page_program_us, sector_erase_us;
    uint32_t config_bits_per_s; /* the FPGA reads its bitstream at clock x bus width (board file) */
    /* In-memory mode (the command fuzzer): the flash is this array of the board's size, not
     * flash_file; and a hardware rule broken calls on_violation (which must not return, e.g.
     * abort() so libFuzzer keeps the input) instead of exiting with QTD_EXIT_VIOLATION. */
    uint8_t *flash_mem;
    void (*on_violation)(const char *msg);
} board_posix_options_t;

/* Wire the board (flash, FPGA, monitors) and reset every model. In in-memory mode it may be
 * called again to power-cycle the models (the fuzzer's fast reset between inputs). */
bool board_posix_init(const board_posix_options_t *opt, const qtd_board_t *board);
/* The flash part's model, for harnesses that watch or time it (nor_model.h). */
nor_model_t *board_posix_nor(void);

#endif /* QTD_BOARD_POSIX_H */
