/* Window streams (link.md 7.17-7.19): windows queued by STREAM_DATA, run in window order on
 * one engine, each answered by one EVENT frame carrying its window number.
 *
 * The queue is a ring of max_in_flight window slots (QTD_STREAM_QUEUE_BYTES in all, so the
 * granted max_in_flight is what fits, at most 255). A window's slot is freed when its result
 * event has been sent, so "queued" counts every window accepted and not yet answered. */
#ifndef QTD_STREAM_H
#define QTD_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/reply.h"

#define QTD_STREAM_QUEUE_BYTES 3072u /* 64 windows of 12 x 4, 6 of the kernel's largest (32 x 16) */
#define QTD_STREAM_SLICE_US    2000u /* stream work per poll before the link is read again */

bool qtd_stream_running(void);
/* While a stream runs only STREAM_DATA, STREAM_STOP, PING, HELLO and POWER_* execute. */
bool qtd_stream_allows(uint8_t command);
/* Stop without answering (HELLO, boot): queued windows are dropped. */
void qtd_stream_reset(void);
/* Run queued windows and send their events for up to QTD_STREAM_SLICE_US; when the link has
 * bytes waiting, return after one answered window (so reading keeps up with the wire). Waiting
 * for the accelerator (<= 0.6 ms for the paper's configurations) does not count as an answer. */
void qtd_stream_poll(bool link_busy);

qtd_status_t qtd_cmd_stream_start(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_stream_data(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_stream_stop(const qtd_frame_t *req, qtd_reply_t *rep);

#endif /* QTD_STREAM_H */
