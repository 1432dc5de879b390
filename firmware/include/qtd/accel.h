/* The accelerator driver: the FPGA engine over the register SPI (protocol/regmap.md).
 *
 * Load: the FPGA must be configured and its ABI register must equal the blob's (ABI_MISMATCH
 * otherwise); the accelerator is RESET, every tensor and then every LUT of the blob (blob table
 * order, each streamed from offset 0 as the RTL's loader requires) is written through the
 * WLOAD/LUT ports in bursts of QTD_ACCEL_CHUNK bytes, each burst checked against SPI_LAST's
 * CRC-8 when the design has FEATURES.SPI_CRC (rewritten once on a mismatch); then MODEL_VALID
 * and AUTO_START are set. The tensors come from the model already copied into RAM and
 * hash-checked by MODEL_LOAD (qtd/model.h), so the shared flash is not read again.
 *
 * Inference: the window goes into the input window in one write transaction (with AUTO_START
 * its last byte starts the engine), STATUS is polled with the 1-byte STATUS command, then the
 * output window and CYCLES are read and DONE is cleared. */
#ifndef QTD_ACCEL_H
#define QTD_ACCEL_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/model.h"
#include "qtd/status.h"

#define QTD_ACCEL_CHUNK      256u    /* data bytes per load burst */
#define QTD_ACCEL_TIMEOUT_US 100000u /* 10x the slowest paper config (57k cycles at 100 MHz) */

/* MODEL_LOAD for the FPGA engine (m: the model MODEL_LOAD just bound). */
qtd_status_t qtd_accel_load(const qtd_model_t *m, const char **why);
/* Forget the loaded model (a new MCU model or a reconfiguration makes it stale). */
void qtd_accel_forget(void);
/* OK when a model is loaded and the accelerator still holds it (one STATUS poll). */
qtd_status_t qtd_accel_ready(uint16_t *in_count, uint16_t *out_count, const char **why);
/* Write one window and start it. BAD_ARGUMENT for a value outside x.range. */
qtd_status_t qtd_accel_start(const int8_t *x, const char **why);
/* true once the started window finished: *st OK with y[out_count] and *cycles, or an error. */
bool qtd_accel_poll(int32_t *y, uint32_t *cycles, qtd_status_t *st, const char **why);
/* Abort a running window (CTRL.RESET; weights and LUTs stay). */
void qtd_accel_abort(void);

#endif /* QTD_ACCEL_H */
