/* Power commands (link.md 7.20-7.23, protocol/power.md §6): the board's PAC193x monitors read,
 * streamed, and integrated into energy per rail since a marker.
 *
 * Why a poll and not blocking reads: a PAC193x needs 1 ms between REFRESH and a stable block.
 * qtd_power_poll sends REFRESH to every monitor, returns to the link, and collects the blocks
 * on a later call, so a power stream at hundreds of samples per second never stalls frames.
 * The accumulators are REFRESHed at least once a second whether or not a stream runs, so the
 * 48-bit accumulators never overflow and the running energy stays current. */
#ifndef QTD_POWER_H
#define QTD_POWER_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"
#include "qtd/reply.h"

#define QTD_POWER_PAC_RATE     1024u    /* samples/s every monitor runs at */
#define QTD_POWER_MAX_RATE     1024u    /* POWER_STREAM rate_hz cap (the PAC rate) */
#define QTD_POWER_KEEPALIVE_US 1000000u /* REFRESH at least this often */
#define QTD_POWER_BATCH_US     100000u  /* a PowerEvent goes out at least this often */
#define QTD_POWER_BATCH_BYTES  512u     /* room for the samples of one PowerEvent */
#define QTD_POWER_MARKERS      4u       /* POWER_MARK ring: older markers are forgotten */

/* What the MCU and FPGA are doing, for the virtual board's power model (hal/posix/activity.c).
 * hal_activity is the HAL's: a no-op on the RP2040, where the rails simply draw what they draw. */
typedef enum {
    QTD_ACT_IDLE = 0,
    QTD_ACT_CONFIGURING,   /* FPGA reading its bitstream */
    QTD_ACT_LOADING,       /* MODEL_LOAD: weights MCU -> accelerator */
    QTD_ACT_INFERRING,     /* accelerator computing a window */
    QTD_ACT_MCU_INFERRING, /* the MCU kernel computing a window (FPGA idle) */
} qtd_activity_t;
void hal_activity(qtd_activity_t activity);

/* Boot: qtd_pac_init every monitor of the board at QTD_POWER_PAC_RATE. A monitor that does not
 * answer marks its rails invalid (POWER_* touching them answer SENSOR_ERROR; it is tried again
 * at each request). Stops any stream and forgets the markers. */
void qtd_power_init(const qtd_board_t *board);
/* Main loop: keep-alive REFRESH, stream samples, PowerEvents. Sends EVENT frames, so it must
 * not run between a handler and its reply (app.c calls it after the frames of a poll). */
void qtd_power_poll(void);
/* HELLO: stop a power stream without an answer (link.md 5). */
void qtd_power_stream_reset(void);
bool qtd_power_streaming(void);

qtd_status_t qtd_cmd_power_read(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_power_stream(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_power_energy(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_power_mark(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_power_bench(const qtd_frame_t *req, qtd_reply_t *rep);

/* For POWER_BENCH (core/cmd_bench.c): REFRESH every monitor now, wait for it, and give the
 * window's end (the REFRESH instant) and every rail's running energy. NO_POWER_MONITOR on a board
 * without monitors, SENSOR_ERROR when one does not answer (rep's detail set). */
qtd_status_t qtd_power_snapshot(qtd_reply_t *rep, uint64_t *t_us, int64_t nj[QTD_MAX_RAILS]);
unsigned qtd_power_rail_count(void);

#endif /* QTD_POWER_H */
