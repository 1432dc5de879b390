/* The command fuzzer's board: the real core (app.c receiver + dispatcher + every handler) over the
 * virtual board's hal/posix models (NOR flash in memory, virtual FPGA with the accelerator's C
 * model, PAC1934 monitors), with a virtual clock and an in-memory UART in place of the pty.
 *
 * Why its own UART and clock: the pty and the host clock make a run depend on scheduling; here a
 * request goes in, the board runs until it has consumed it and gone quiet, and everything it sent
 * comes back as parsed frames, so every input replays exactly. */
#ifndef QTD_FUZZ_BOARD_H
#define QTD_FUZZ_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"
#include "qtd/frame.h"

/* Frames one exchange may answer with, events included: each request of a burst answered once,
 * each STREAM_DATA adding up to a full queue of results (QTD_STREAM_QUEUE_BYTES / the base
 * model's 48-byte window = 64; the queue drains while the burst arrives), and room for power
 * events. Was 64: a burst of 8 STREAM_DATA of 8 windows each (72 frames) aborted the fuzzer. */
#define FB_MAX_OUT    640u
#define FB_MAX_WRITES 512u
#define FB_MAX_BURST  8u /* requests sent back to back in one exchange (a host's window) */

typedef struct {
    uint8_t flags, command, status;
    uint16_t seq, length;
    const uint8_t *payload; /* into the exchange's output buffer, valid until the next exchange */
} fb_frame_t;

typedef struct {
    uint32_t addr, len; /* len 0: a status-register write */
    uint8_t active;     /* the active slot when it was written */
    unsigned answer;    /* index in out[] of the first response sent after it: the request that wrote */
} fb_write_t;

typedef struct {
    fb_frame_t out[FB_MAX_OUT];
    unsigned n_out;
    fb_write_t writes[FB_MAX_WRITES];
    unsigned n_writes;
    bool rebooted; /* a RESET was answered and the core booted again */
} fb_result_t;

extern const qtd_board_t fb_board;

/* Once per process: the flash erased, then (when base_dir names a folder with bitstream.bin and
 * model.qtb) both written into slot A through the link and committed active, as a host would.
 * That flash is the state every input starts from. Aborts when the base image cannot be made. */
void fb_setup(const char *base_dir);
/* Between inputs: restore the flash sectors the last input dirtied, power-cycle the models, boot. */
void fb_reset(void);
/* Send one request frame (built and COBS-encoded here), run the board until it has read it and
 * gone quiet, and return what it sent and where it wrote. */
const fb_result_t *fb_exchange(uint8_t flags, uint16_t seq, uint8_t command, const uint8_t *payload,
                               uint16_t length);
/* The same for a burst: queue up to FB_MAX_BURST frames, then run them as one exchange. */
void fb_begin(void);
/* wire: fuzz_records.h's WIRE_* (0: the frame as built) */
void fb_queue(uint8_t flags, uint16_t seq, uint8_t command, const uint8_t *payload, uint16_t length,
              uint8_t wire);
const fb_result_t *fb_run(void);
/* Advance the virtual clock by us while the board polls (power samples and timers fire). */
const fb_result_t *fb_idle(uint32_t us);
/* The flash array (the board's whole size) and the pristine base image. */
const uint8_t *fb_flash(void);

#endif /* QTD_FUZZ_BOARD_H */
