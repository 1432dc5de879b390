/* The command table: every Command code, its handler and whether a retry may re-run it. */
#ifndef QTD_COMMANDS_H
#define QTD_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"
#include "qtd/reply.h"

typedef struct {
    uint8_t command;
    bool rerun;            /* side-effect free: not cached, re-executed on RETRY (link.md 5) */
    qtd_handler_t handler; /* NULL: known but not done here, answered UNSUPPORTED */
} qtd_command_t;

/* The entry for a command code, NULL for an unknown code. */
const qtd_command_t *qtd_command_find(uint8_t command);

/* Shared state the handlers read (set by app.c). */
typedef struct {
    const qtd_board_t *board;
    uint16_t max_payload; /* negotiated by HELLO */
    uint8_t window;
    bool reset_requested;     /* RESET answered: reboot after the response is out */
    bool reset_to_bootloader; /* ... into the ROM bootloader (RESET mode 1) */
    uint8_t boot_status;      /* what qtd_app_init returned (BUILD_INFO) */
    uint32_t new_baud;        /* SET_BAUD answered: switch after the response is out (0: none) */
} qtd_link_state_t;

extern qtd_link_state_t qtd_link;

/* Handlers, grouped by file. */
qtd_status_t qtd_cmd_hello(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_reset(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_set_baud(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_ping(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_build_info(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_flash_info(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_flash_erase(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_flash_write(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_flash_read(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_flash_hash(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_slot_commit(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_slot_select(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_slot_info(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_fpga_configure(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_fpga_status(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_model_load(const qtd_frame_t *req, qtd_reply_t *rep);
qtd_status_t qtd_cmd_infer(const qtd_frame_t *req, qtd_reply_t *rep);

/* FlashLayout (link.md 7.5), shared by HELLO and FLASH_INFO; returns its length. */
uint16_t qtd_put_flash_layout(uint8_t *out);

#endif /* QTD_COMMANDS_H */
