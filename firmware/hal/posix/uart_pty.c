/* UART = pseudo-terminal master. Both directions are paced at the configured baud (10 bits per
 * byte, 8N1): received bytes are released to the core no faster than the wire would deliver
 * them, sent bytes leave no faster than the wire would carry them. Without that the link would
 * run at memory speed and the host's throughput numbers would mean nothing.
 *
 * The board also keeps the slave side open itself: a pty master reads EIO whenever no one has
 * the slave open, and the host may close and reopen the port at any time. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#include "uart_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"

/* The board's receive path is an interrupt/DMA-fed ring buffer (16 KiB in the RP2040 HAL's RAM,
 * outside the core's static budget): bytes keep arriving at the wire rate while the core waits
 * on a 130 ms sector erase, as on the real board, so the wire and not the flash sets the pace.
 * Credit is also capped by the bytes actually queued on the pty (FIONREAD), so idle time never
 * banks credit for bytes the host had not sent yet. */
#define RX_RING_BYTES 16384u
#define UNIT 10000000ull     /* one byte of credit, in bit-microseconds (10 bits x 1e6) */
/* The RP2040 UART's TX FIFO (PL011, 32 entries, RP2040 datasheet §4.2): a write returns once its
 * bytes are in the FIFO, not when they have left. Without it every small write (the COBS encoder
 * hands over each block separately, ~40 writes for a 44-byte frame with many zeros) would sleep
 * for its own bytes, and the sleeps' overhead, not the baud, would pace the link. */
#define TX_FIFO_BYTES 32u

static int g_master = -1;
static int g_slave = -1;
static bool g_paced = true;
static uint32_t g_baud = 921600u;
static uint64_t g_rx_credit;  /* bit-microseconds */
static uint64_t g_rx_last_us;
static uint64_t g_tx_free_us; /* when the transmitter is empty */

const char *uart_pty_open(bool paced) {
    g_paced = paced;
    g_master = posix_openpt(O_RDWR | O_NOCTTY);
    if (g_master < 0 || grantpt(g_master) != 0 || unlockpt(g_master) != 0) {
        return NULL;
    }
    const char *name = ptsname(g_master);
    if (name == NULL) {
        return NULL;
    }
    g_slave = open(name, O_RDWR | O_NOCTTY);
    if (g_slave < 0) {
        return NULL;
    }
    struct termios tio;
    if (tcgetattr(g_slave, &tio) == 0) {
        cfmakeraw(&tio); /* no echo, no line editing: a byte pipe like a UART */
        tcsetattr(g_slave, TCSANOW, &tio);
    }
    fcntl(g_master, F_SETFL, fcntl(g_master, F_GETFL) | O_NONBLOCK);
    g_rx_last_us = hal_time_us();
    return name;
}

static void sleep_until(uint64_t t_us);

bool hal_uart_set_baud(uint32_t baud) {
    if (baud == 0) {
        return false;
    }
    if (g_paced) {
        sleep_until(g_tx_free_us); /* the FIFO drains at the old rate before the switch */
    }
    g_baud = baud;
    return true;
}

size_t hal_uart_read(uint8_t *buf, size_t cap) {
    size_t allowed = cap;
    if (g_paced) {
        uint64_t now = hal_time_us();
        g_rx_credit += (now - g_rx_last_us) * g_baud;
        g_rx_last_us = now;
        uint64_t cap_bytes = RX_RING_BYTES;
        int queued = 0;
        if (ioctl(g_master, FIONREAD, &queued) == 0 && queued >= 0 && (uint64_t)queued < cap_bytes) {
            cap_bytes = (uint64_t)queued; /* cannot have received what was never sent */
        }
        if (g_rx_credit > cap_bytes * UNIT) {
            g_rx_credit = cap_bytes * UNIT;
        }
        allowed = (size_t)(g_rx_credit / UNIT);
        if (allowed > cap) {
            allowed = cap;
        }
        if (allowed == 0) {
            hal_delay_us((uint32_t)(UNIT / g_baud) + 1u); /* one byte time */
            return 0;
        }
    }
    struct pollfd pfd = {g_master, POLLIN, 0};
    if (poll(&pfd, 1, 1) <= 0) {
        return 0; /* idle: wait at most 1 ms so the loop does not spin */
    }
    ssize_t n = read(g_master, buf, allowed);
    if (n <= 0) {
        return 0;
    }
    if (g_paced) {
        g_rx_credit -= (uint64_t)n * UNIT;
    }
    return (size_t)n;
}

static void sleep_until(uint64_t t_us) {
    uint64_t now = hal_time_us();
    if (t_us > now) {
        hal_delay_us((uint32_t)(t_us - now));
    }
}

static void write_all(const uint8_t *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(g_master, buf, len);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                struct pollfd pfd = {g_master, POLLOUT, 0};
                poll(&pfd, 1, 10); /* the host is not reading: the pty buffer is full */
                continue;
            }
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

void hal_uart_write(const uint8_t *buf, size_t len) {
    /* Bytes go into the TX FIFO and leave at the baud rate: a write blocks only while the FIFO is
     * full (hal.h: "on the wire or in the TX FIFO"), and then until it is down to a quarter, as an
     * interrupt-fed driver refills it: one sleep per ~24 bytes, whose wake-up latency (~0.1 ms
     * here) the last quarter covers, instead of one sleep per small write. The host may see a
     * byte up to a FIFO's worth of wire time early; the rate is the wire's. */
    const uint64_t fifo_us = (uint64_t)TX_FIFO_BYTES * UNIT / g_baud;
    while (len > 0) {
        size_t n = len < TX_FIFO_BYTES ? len : TX_FIFO_BYTES;
        if (g_paced) {
            if (g_tx_free_us > hal_time_us() + fifo_us) {
                sleep_until(g_tx_free_us - fifo_us / 4u);
            }
            uint64_t now = hal_time_us();
            uint64_t start = g_tx_free_us > now ? g_tx_free_us : now;
            g_tx_free_us = start + (uint64_t)n * UNIT / g_baud;
        }
        write_all(buf, n);
        buf += n;
        len -= n;
    }
}
