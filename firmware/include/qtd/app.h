/* The firmware's top level: boot (flash, slots, FPGA from the boot slot), then serve the link.
 * A HAL's main calls qtd_app_init once per (re)boot and qtd_app_poll forever. */
#ifndef QTD_APP_H
#define QTD_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/board.h"
#include "qtd/status.h"

/* Boot. Returns the first error (a flash part that does not answer with the board's JEDEC ID
 * is INTERNAL); the board still serves the link so the host can see what happened. */
qtd_status_t qtd_app_init(const qtd_board_t *board);
/* Read what the UART has, answer every complete frame. Returns false once a RESET has been
 * answered: the caller reboots (calls hal_system_reset / qtd_app_init again). */
bool qtd_app_poll(void);
/* EVENT frames (stream results, power samples): write the payload at qtd_app_event_payload()
 * (room for the negotiated max payload), then send it. The area is the transmit buffer that
 * command replies are built in too, so a handler that sends events must do so before it
 * writes its own reply payload. */
uint8_t *qtd_app_event_payload(void);
void qtd_app_send_event(uint8_t command, uint8_t status, uint16_t len);

#endif /* QTD_APP_H */
