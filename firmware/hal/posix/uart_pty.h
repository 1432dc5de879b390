/* The virtual board's UART: the master side of a pseudo-terminal, paced at the baud rate. */
#ifndef QTD_UART_PTY_H
#define QTD_UART_PTY_H

#include <stdbool.h>

/* Open the pty; returns the slave path (what the host opens) or NULL with errno set. */
const char *uart_pty_open(bool paced);

#endif /* QTD_UART_PTY_H */
