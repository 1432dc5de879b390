/* What a command handler fills in: its response payload, or an error detail text.
 *
 * Handlers write straight into the transmit frame's payload area (no second buffer) and return
 * a status. On a non-OK status the payload is replaced by the detail text (link.md 7.0). */
#ifndef QTD_REPLY_H
#define QTD_REPLY_H

#include <stdint.h>

#include "qtd/frame.h"
#include "qtd/status.h"

typedef struct {
    uint8_t *payload; /* room for cap bytes */
    uint16_t cap;     /* the negotiated max payload */
    uint16_t len;
    char detail[QTD_LINK_DETAIL_MAX];
    uint8_t detail_len;
} qtd_reply_t;

/* Set the error detail to text, followed by " 0x" and value in hex when with_value is set;
 * returns st so handlers can `return qtd_fail(rep, QTD_ST_X, "offset", off, 1);`. */
qtd_status_t qtd_fail(qtd_reply_t *rep, qtd_status_t st, const char *text, uint32_t value, int with_value);

/* A request handler: req is the parsed request (payload valid during the call). */
typedef qtd_status_t (*qtd_handler_t)(const qtd_frame_t *req, qtd_reply_t *rep);

#endif /* QTD_REPLY_H */
