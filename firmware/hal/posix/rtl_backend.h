/* `qtd-virtual-board --fpga rtl`: the Verilated RTL behind the virtual FPGA's register SPI.
 *
 * The library for a design is <dir>/qtd-rtl-<first 16 hex digits of SHA-256(descriptor)>.so,
 * built by the host (qtdeploy.sim.rtl, cached; `qtdeploy sim --fpga rtl` builds every design in
 * the flash before it starts the board). Virtual time drives the RTL's clock while the engine
 * is busy: before each transaction it runs for the virtual microseconds since the last one (at
 * CLOCK_HZ, at most RTL_CATCHUP_CYCLES at a time), so BUSY lasts the RTL's own cycles; the SPI
 * transactions clock it too (8 engine clocks per SCLK, the cocotb bench's default timing). */
#ifndef QTD_RTL_BACKEND_H
#define QTD_RTL_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTL_CATCHUP_CYCLES 200000u /* 2 ms of engine time per transaction, > any paper config */

void rtl_backend_set_dir(const char *dir);
/* Load the design's library (false, with the reason, when there is none or it is unusable). */
bool rtl_backend_configure(const char *design, size_t len, char *err, size_t err_len);
void rtl_backend_unconfigure(void);
/* One transaction as hal_fabric_xfer: out_len bytes out, then in_len bytes in. */
void rtl_backend_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len);
/* The design ran its IPROG sequence (MULTIBOOT_TRIGGER): true once, with the WBSTAR it sent. */
bool rtl_backend_take_iprog(uint32_t *addr);

#endif /* QTD_RTL_BACKEND_H */
