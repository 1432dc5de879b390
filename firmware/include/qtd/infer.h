/* One inference on either engine, for INFER (link.md 7.16) and window streams (7.17-7.19).
 *
 * Why a start/poll pair next to the blocking call: a stream keeps the accelerator busy with the
 * next window while the MCU sends the previous window's result over the UART, so the link and
 * not the two in series sets the pace. The MCU engine finishes inside start (the kernel is the
 * MCU's own time), the FPGA engine finishes when the accelerator raises DONE. */
#ifndef QTD_INFER_H
#define QTD_INFER_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/model.h"
#include "qtd/status.h"

#define QTD_INFER_RESULT_HEADER 24u /* InferResult before the outputs */

typedef struct {
    uint8_t engine;
    uint16_t out_count; /* int32 outputs (model.md row 15) */
    uint32_t accel_cycles;
    uint64_t t_start_us, t_end_us;
    int32_t y[QTD_KERNEL_MAX_HORIZON];
} qtd_infer_result_t;

/* OK when `engine` has a model loaded and can run now; sets the window size in int8 values and
 * the output count. BAD_ARGUMENT (unknown engine), NO_MODEL, UNSUPPORTED otherwise. */
qtd_status_t qtd_infer_ready(uint8_t engine, uint16_t *in_count, uint16_t *out_count, const char **why);

/* Blocking: one window x (in_count int8) -> r. BAD_ARGUMENT when x leaves x.range,
 * ACCEL_TIMEOUT when the accelerator does not finish. */
qtd_status_t qtd_infer_run(uint8_t engine, const int8_t *x, qtd_infer_result_t *r, const char **why);

/* Non-blocking: start one window; at most one may be started and not yet collected. */
qtd_status_t qtd_infer_start(uint8_t engine, const int8_t *x, const char **why);
/* true once the started window has finished: *st and *r (on OK) or *why (otherwise) are set. */
bool qtd_infer_poll(qtd_infer_result_t *r, qtd_status_t *st, const char **why);
/* true while a started window has not been collected. */
bool qtd_infer_pending(void);
/* Forget a started window (stream stopped by HELLO): the accelerator is reset. */
void qtd_infer_abort(void);

/* InferResult bytes (link.md 7.16) at p; returns their length. */
uint16_t qtd_infer_put(uint8_t *p, const qtd_infer_result_t *r);

#endif /* QTD_INFER_H */
