/* Options and wiring of the virtual board (hal/posix). */
#ifndef QTD_BOARD_POSIX_H
#define QTD_BOARD_POSIX_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"

#define QTD_EXIT_VIOLATION 70 /* a hardware rule was broken (EX_SOFTWARE) */
#define QTD_EXIT_POWER_CUT 75 /* --die-after-flash-ops fired */

typedef struct {
    const char *flash_file;
    unsigned long die_after_flash_ops; /* 0 = never */
    double time_scale;                 /* 1.0 = datasheet typicals; 0.01 = 100x faster */
    bool paced;                        /* pace the UART at the baud rate */
    uint32_t page_program_us, sector_erase_us, config_clock_hz;
} board_posix_options_t;

bool board_posix_init(const board_posix_options_t *opt, const qtd_board_t *board);

#endif /* QTD_BOARD_POSIX_H */
