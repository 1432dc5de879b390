/* FPGA configuration over the control pins and the MultiBoot abstraction, and the accelerator's
 * identity registers.
 *
 * Sequence: (IDCODE checked against the slot record first), release the shared flash bus, point
 * MultiBoot at the slot's bitstream, pulse PROG_B, wait for INIT_B high, then DONE high (INIT_B
 * falling instead means a CRC or IDCODE error), take the bus back, read ID and ABI. */
#ifndef QTD_FPGA_H
#define QTD_FPGA_H

#include <stdint.h>

#include "qtd/board.h"
#include "qtd/status.h"

#define QTD_FPGA_INIT_TIMEOUT_US 50000u  /* INIT_B rises ~ms after PROG_B (UG470 T_POR) */
#define QTD_FPGA_DONE_BASE_US    500000u /* plus the bitstream's time at a slow 1-bit clock */
#define QTD_FPGA_PROG_PULSE_US   10u     /* > T_PROGRAM (250 ns) */

typedef struct {
    uint8_t state; /* QTD_FPGA_* */
    uint8_t done;
    uint8_t init_b;
    uint8_t slot;    /* slot configured from, QTD_LINK_NO_SLOT if none */
    uint32_t idcode; /* the IDCODE of the configured bitstream, 0 if unknown */
    uint32_t abi;    /* the accelerator's ABI register, 0 if not configured */
} qtd_fpga_status_t;

void qtd_fpga_init(const qtd_board_t *board);
/* Configure from a committed slot (BAD_SLOT, FPGA_IDCODE, FPGA_NOT_DONE, BAD_IMAGE when DONE
 * rises but no accelerator answers). */
qtd_status_t qtd_fpga_configure(uint8_t slot);
void qtd_fpga_status(qtd_fpga_status_t *out);
/* For loading a blob: ABI_MISMATCH unless the configured accelerator has exactly this ABI. */
qtd_status_t qtd_fpga_check_abi(uint32_t blob_abi);

#endif /* QTD_FPGA_H */
