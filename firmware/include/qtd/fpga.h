/* FPGA configuration over the control pins and Xilinx MultiBoot, and the accelerator's identity
 * registers.
 *
 * Sequence (UG470 ch. 2 and 7): the IDCODE is checked against the slot record first; release the
 * shared flash bus; pulse PROG_B, which clears WBSTAR, so the part loads flash address 0: slot A's
 * bitstream, the golden image; wait for INIT_B high, then DONE high (INIT_B falling instead means
 * a CRC or IDCODE error); read ID. For slot A that is all. For slot B the golden design must have
 * FEATURES.MULTIBOOT: write MULTIBOOT_ADDR (slot B's bitstream offset) and MULTIBOOT_TRIGGER, the
 * design issues WBSTAR and IPROG through ICAPE2, DONE falls, and the part reconfigures from slot
 * B (or, when that fails, falls back to the golden image at 0); wait for DONE, read ID and ABI
 * (slot A's ABI: the part fell back; no DONE at all: PROG_B brings slot A back).
 * No MCU pin can set WBSTAR: slot B is unreachable without a MultiBoot-capable slot A. */
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
 * rises but no accelerator answers). For slot B: NO_GOLDEN when slot A holds no committed
 * bitstream for this part, fails to configure, or runs a design without FEATURES.MULTIBOOT (slot A
 * then runs, if it configured); FPGA_FALLBACK when slot B's image failed and the part fell back to
 * slot A's (running, status slot A). */
qtd_status_t qtd_fpga_configure(uint8_t slot);
void qtd_fpga_status(qtd_fpga_status_t *out);
/* For loading a blob: ABI_MISMATCH unless the configured accelerator has exactly this ABI. */
qtd_status_t qtd_fpga_check_abi(uint32_t blob_abi);

#endif /* QTD_FPGA_H */
