/* Link commands: HELLO, RESET, SET_BAUD, PING (link.md 7.1-7.4). */
#include <string.h>

#include "hal.h"
#include "qtd/commands.h"
#include "qtd/fpga.h"
#include "qtd/le.h"
#include "qtd/slots.h"
#include "qtd/version.h"

#define MIN_BAUD 1200u

qtd_status_t qtd_cmd_hello(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 4) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "HELLO request is 4 bytes, got", req->length, 1);
    }
    uint8_t window = req->payload[1];
    uint16_t max_payload = qtd_le16(req->payload + 2);
    if (window < 1 || window > QTD_LINK_MAX_WINDOW) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "window", window, 1);
    }
    if (max_payload < QTD_LINK_MIN_PAYLOAD || max_payload > QTD_LINK_MAX_PAYLOAD) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "max_payload", max_payload, 1);
    }
    const qtd_board_t *b = qtd_link.board;
    qtd_link.max_payload = max_payload < b->max_payload ? max_payload : b->max_payload;
    qtd_link.window = window < b->window ? window : b->window;
    qtd_fpga_status_t fs;
    qtd_fpga_status(&fs);
    uint8_t *p = rep->payload;
    memset(p, 0, 36);
    p[0] = QTD_LINK_PROTOCOL_VERSION;
    p[1] = QTD_FW_MAJOR;
    p[2] = QTD_FW_MINOR;
    p[3] = QTD_FW_PATCH;
    size_t id_len = strlen(b->name);
    memcpy(p + 4, b->name, id_len < QTD_LINK_BOARD_ID_SIZE ? id_len : QTD_LINK_BOARD_ID_SIZE);
    qtd_put_le16(p + 20, qtd_link.max_payload);
    p[22] = qtd_link.window;
    p[23] = fs.state;
    qtd_put_le16(p + 24, 0x01FCu); /* bit_widths: 2..8 (the MCU kernel unpacks any of them) */
    /* engines: the MCU kernel always; the accelerator while the FPGA is configured */
    p[26] =
        (uint8_t)((1u << QTD_ENGINE_MCU) | (fs.state == QTD_FPGA_CONFIGURED ? 1u << QTD_ENGINE_FPGA : 0u));
    p[27] =
        (1u << QTD_CODEC_NONE) | (1u << QTD_CODEC_HEATSHRINK); /* FLASH_WRITE decodes both (cmd_flash.c) */
    qtd_put_le32(p + 28, fs.state == QTD_FPGA_CONFIGURED ? fs.abi : 0);
    p[32] = qtd_slots_table()->active;
    rep->len = (uint16_t)(36u + qtd_put_flash_layout(p + 36));
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_reset(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 1) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "RESET request is 1 byte, got", req->length, 1);
    }
    if (req->payload[0] == 1 && !hal_bootloader_available()) {
        return qtd_fail(rep, QTD_ST_UNSUPPORTED, "no ROM bootloader reset on this board", 0, 0);
    }
    if (req->payload[0] > 1) {
        return qtd_fail(rep, QTD_ST_BAD_ARGUMENT, "mode", req->payload[0], 1);
    }
    qtd_link.reset_requested = true;
    qtd_link.reset_to_bootloader = req->payload[0] == 1;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_set_baud(const qtd_frame_t *req, qtd_reply_t *rep) {
    if (req->length != 4) {
        return qtd_fail(rep, QTD_ST_BAD_LENGTH, "SET_BAUD request is 4 bytes, got", req->length, 1);
    }
    uint32_t baud = qtd_le32(req->payload);
    if (baud < MIN_BAUD || baud > qtd_link.board->max_baud) {
        return qtd_fail(rep, QTD_ST_UNSUPPORTED, "baud", baud, 1);
    }
    qtd_link.new_baud = baud;
    qtd_put_le32(rep->payload, baud);
    rep->len = 4;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_ping(const qtd_frame_t *req, qtd_reply_t *rep) {
    memcpy(rep->payload, req->payload, req->length);
    rep->len = req->length;
    return QTD_ST_OK;
}

qtd_status_t qtd_cmd_build_info(const qtd_frame_t *req, qtd_reply_t *rep) {
    (void)req;
    uint8_t *p = rep->payload;
    memset(p, 0, 40);
    const uint8_t *id = NULL;
    size_t n = hal_build_id(&id);
    n = n > 20u ? 20u : n;
    p[0] = qtd_link.boot_status;
    p[1] = (uint8_t)n;
    if (n > 0) {
        memcpy(p + 4, id, n);
    }
    const char *target = hal_target();
    for (size_t i = 0; i < 16u && target[i]; i++) {
        p[24 + i] = (uint8_t)target[i];
    }
    rep->len = 40;
    return QTD_ST_OK;
}
