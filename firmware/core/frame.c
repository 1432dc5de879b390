/* Frame codec and streaming receiver (layout in qtd/frame.h and protocol/link.md). */
#include "qtd/frame.h"

#include <string.h>

#include "qtd/crc32.h"
#include "qtd/le.h"

const char *qtd_frame_err_name(qtd_frame_err_t err) {
    switch (err) {
        case QTD_FRAME_OK: return "ok";
        case QTD_FRAME_ERR_COBS: return "cobs";
        case QTD_FRAME_ERR_SHORT: return "short";
        case QTD_FRAME_ERR_TOO_LONG: return "too_long";
        case QTD_FRAME_ERR_LENGTH: return "length";
        case QTD_FRAME_ERR_CRC: return "crc";
        case QTD_FRAME_ERR_VERSION: return "version";
    }
    return "?";
}

qtd_frame_err_t qtd_frame_parse(const uint8_t *raw, size_t len, qtd_frame_t *out) {
    if (len < QTD_LINK_HEADER_SIZE + QTD_LINK_CRC_SIZE) {
        return QTD_FRAME_ERR_SHORT;
    }
    if (len > QTD_FRAME_MAX_RAW) {
        return QTD_FRAME_ERR_TOO_LONG;
    }
    size_t body = len - QTD_LINK_CRC_SIZE;
    /* the header is filled in before the CRC check: on QTD_FRAME_ERR_CRC the caller may judge
     * whether it is plausible enough to NAK (link.md section 4), never to execute */
    out->version = raw[0];
    out->flags = raw[1];
    out->seq = qtd_le16(raw + 2);
    out->command = raw[4];
    out->status = raw[5];
    out->length = qtd_le16(raw + 6);
    out->payload = raw + QTD_LINK_HEADER_SIZE;
    if (qtd_crc32(0, raw, body) != qtd_le32(raw + body)) {
        /* plausible: our version, a request, and a length field within a few bytes of the run
         * (a dropped or doubled byte); anything else is marked untrusted with version 0 */
        size_t have = body - QTD_LINK_HEADER_SIZE;
        size_t lo = have > QTD_FRAME_NAK_SLACK ? have - QTD_FRAME_NAK_SLACK : 0;
        if (out->version != QTD_LINK_PROTOCOL_VERSION ||
            (out->flags & (QTD_FLAG_RESPONSE | QTD_FLAG_EVENT)) != 0 || out->length < lo ||
            out->length > have + QTD_FRAME_NAK_SLACK) {
            out->version = 0;
        }
        return QTD_FRAME_ERR_CRC;
    }
    /* link.md section 4: version is checked before length */
    if (out->version != QTD_LINK_PROTOCOL_VERSION) {
        return QTD_FRAME_ERR_VERSION;
    }
    if ((size_t)out->length != body - QTD_LINK_HEADER_SIZE) {
        return QTD_FRAME_ERR_LENGTH;
    }
    return QTD_FRAME_OK;
}

qtd_frame_err_t qtd_frame_decode(uint8_t *buf, size_t len, qtd_frame_t *out) {
    size_t raw_len = 0;
    if (!qtd_cobs_decode(buf, len, buf, len, &raw_len)) {
        return QTD_FRAME_ERR_COBS;
    }
    return qtd_frame_parse(buf, raw_len, out);
}

size_t qtd_frame_build(const qtd_frame_t *f, uint8_t *out, size_t cap) {
    size_t total = QTD_LINK_HEADER_SIZE + (size_t)f->length + QTD_LINK_CRC_SIZE;
    if (f->length > QTD_LINK_MAX_PAYLOAD || total > cap) {
        return 0;
    }
    out[0] = f->version;
    out[1] = f->flags;
    qtd_put_le16(out + 2, f->seq);
    out[4] = f->command;
    out[5] = f->status;
    qtd_put_le16(out + 6, f->length);
    if (f->length > 0 && f->payload != out + QTD_LINK_HEADER_SIZE) {
        memmove(out + QTD_LINK_HEADER_SIZE, f->payload, f->length);
    }
    size_t body = QTD_LINK_HEADER_SIZE + f->length;
    qtd_put_le32(out + body, qtd_crc32(0, out, body));
    return total;
}

void qtd_rx_reset(qtd_rx_t *rx) {
    rx->len = 0;
    rx->overflow = false;
}

qtd_rx_event_t qtd_rx_feed(qtd_rx_t *rx, uint8_t byte, qtd_frame_t *out, qtd_frame_err_t *err) {
    if (byte != QTD_LINK_DELIMITER) {
        if (rx->len < sizeof rx->buf) {
            rx->buf[rx->len++] = byte;
        } else {
            rx->overflow = true; /* keep counting nothing: drop until the delimiter */
        }
        return QTD_RX_NONE;
    }
    size_t len = rx->len;
    bool overflow = rx->overflow;
    qtd_rx_reset(rx);
    if (overflow) {
        *err = QTD_FRAME_ERR_TOO_LONG;
        return QTD_RX_ERROR;
    }
    if (len == 0) {
        return QTD_RX_NONE; /* back-to-back delimiters: senders may flush with one */
    }
    *err = qtd_frame_decode(rx->buf, len, out);
    return *err == QTD_FRAME_OK ? QTD_RX_FRAME : QTD_RX_ERROR;
}
