/* The accelerator as a fast C model behind the virtual FPGA's register SPI (protocol/regmap.md).
 *
 * What it models: the register file, the SPI transactions (STATUS / READ / WRITE, bursts, ports,
 * SPI_LAST CRC-8s), the loader ports (tensors and LUTs into per-tensor "BRAM", with the RTL's
 * streaming rule), START / AUTO_START / RESET, BUSY / DONE / ERROR, and the input and output
 * windows. An inference computes protocol/model.md from the bytes the driver wrote into the BRAM
 * (unpacked at START), not from the firmware's own copy of the blob, so a wrong load shows as a
 * wrong answer. It stays BUSY for accel_cycles() engine cycles at CLOCK_HZ of the virtual clock
 * (hal_time_us), and CYCLES reports exactly that count (accel_cycles.c: the RTL's formula).
 *
 * The design (shape, widths, lanes, clock) comes from the bitstream: simulated bitstreams carry a
 * design descriptor in their frame data (protocol/bitstream.md "Simulated bitstreams"):
 *   qtdeploy-sim-design/1|lanes=L|clock_hz=N|<the ABI string of protocol/blob.md>
 * whose ABI string must hash to the bitstream's AXSS value. Without one the fabric still answers
 * ID and ABI but has no engine (INPUT_LEN 0, every tensor index is BAD_TENSOR). */
#ifndef QTD_ACCEL_MODEL_H
#define QTD_ACCEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Configure for a design descriptor (NULL/0: none) and the bitstream's ABI. Returns false, with
 * a reason in err, when a descriptor is present but unusable (the engine is then absent). */
bool accel_model_configure(const char *design, size_t len, uint32_t abi, char *err, size_t err_len);
/* The configuration is gone (PROG_B low): registers and BRAM are lost. */
void accel_model_unconfigure(void);
/* One CS-low SPI transaction: out_len MOSI bytes, then in_len bytes clocked in (MOSI 0x00). */
void accel_model_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len);
/* The same, full duplex: MISO for every MOSI byte (what the RTL testbench's SPI master sees). */
void accel_model_spi(const uint8_t *mosi, uint8_t *miso, size_t n);
/* The same, one byte at a time: begin at CS low, one MISO byte per MOSI byte, end at CS high. */
void accel_model_spi_begin(void);
uint8_t accel_model_spi_byte(uint8_t mosi);
void accel_model_spi_end(void);
/* MULTIBOOT_TRIGGER with the right key ran the design's ICAPE2 IPROG sequence: true once, with
 * the WBSTAR address it wrote; the FPGA model (the part) then reconfigures from there. */
bool accel_model_take_iprog(uint32_t *addr);
/* Called with true at START and false at DONE/RESET, with the virtual time it happened (DONE is
 * noticed lazily, at the next transaction, but reported at its own instant): the power model's
 * activity hook. */
void accel_model_set_busy_hook(void (*hook)(bool busy, uint64_t t_us));
/* The same hook for another fabric backend (--fpga rtl, rtl_backend.c) that sees BUSY change. */
void accel_model_report_busy(bool busy, uint64_t t_us);

#endif /* QTD_ACCEL_MODEL_H */
