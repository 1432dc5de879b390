/* UART = pseudo-terminal master. Both directions are paced at the configured baud (10 bits per
 * byte, 8N1): received bytes are released to the core no faster than the wire would deliver
 * them, sent bytes leave no faster than the wire would carry them. Without that the link would
 * run at memory speed and the host's throughput numbers would mean nothing.
 *
 * The board also keeps the slave side open itself: a pty master reads EIO whenever no one has
 * the slave open, and the host may close and reopen the port at any time. */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* ppoll: an idle wait shorter than poll's 1 ms resolution */
#include "uart_pty.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "hal.h"
#include "qtd/protocol.h"

/* The board's receive path is an interrupt/DMA-fed ring buffer in the RP2040 HAL's RAM (outside
 * the core's 32 KiB static budget): bytes keep arriving at the wire rate while the core waits on
 * a 130 ms sector erase, as on the real board, so the wire and not the flash sets the pace. The
 * ring holds the board's whole window (16 frames of the largest encoded size, 66 KB of the
 * RP2040's 264 KiB SRAM): link.md 5 asks the board to buffer `window` frames, and at 3 Mbaud a
 * sector erase lasts 39 KB of wire time. A thread stands for the UART + DMA: it moves bytes from
 * the pty into the ring as the host writes them and stamps when the wire would have delivered
 * each (10 bits per byte after the previous one); hal_uart_read hands the core only bytes whose
 * time has come. (The pty itself cannot stand for the ring: Linux caps what a pty master has
 * buffered at 4095 bytes, which made the old credit model a 4 KiB ring and cost 13 % at 921600.) */
#define RX_RING_BYTES (16u * (QTD_LINK_MAX_ENCODED + 1u))
#define UNIT          10000000ull /* one byte of credit, in bit-microseconds (10 bits x 1e6) */
/* The transmit path is a small DMA-fed ring (128 bytes, ~2 result events): hal_uart_write queues
 * and returns unless the ring is full, and the UART empties it at the baud rate while the core
 * works on (the next window runs while this result is on the wire). Small, so that a response
 * never waits long behind queued events (a 4 KiB ring cost streams ~10 % of the rate that way).
 * A thread stands for the UART: it hands each byte to the pty when the wire would have finished
 * carrying it, so the host sees wire timing. (Writing straight to the pty with a sleep per write
 * made the sleeps' overhead, not the baud, pace the link: the COBS encoder hands over ~40 pieces
 * per 44-byte frame, which capped streams at ~25 % of 921600 baud.) */
#define TX_RING_BYTES 128u

static int g_master = -1;
static int g_slave = -1;
static bool g_paced = true;
static uint32_t g_baud = 921600u;
static uint8_t g_rx_ring[RX_RING_BYTES];
static size_t g_rx_head, g_rx_len; /* bytes in the ring, the newest still arriving over the wire */
static uint64_t g_rx_wire_ns;      /* when the last byte in the ring will have arrived */
static pthread_mutex_t g_rx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_rx_cond = PTHREAD_COND_INITIALIZER; /* bytes read from the pty, or room */
static void *rx_thread(void *arg);
static uint64_t g_tx_free_ns; /* when the last queued byte will have left the wire (ns: a byte at
                               * 921600 baud is 10,851 ns, and whole µs per small write would add up) */
static uint8_t g_tx_ring[TX_RING_BYTES];
static size_t g_tx_head, g_tx_len; /* queued bytes not yet handed to the pty */
static pthread_mutex_t g_tx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_tx_cond = PTHREAD_COND_INITIALIZER; /* bytes queued, or the ring drained */
static void *tx_thread(void *arg);

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
    pthread_t tx, rx;
    if (paced && (pthread_create(&tx, NULL, tx_thread, NULL) != 0 ||
                  pthread_create(&rx, NULL, rx_thread, NULL) != 0)) {
        return NULL;
    }
    return name;
}

bool hal_uart_set_baud(uint32_t baud) {
    if (baud == 0) {
        return false;
    }
    pthread_mutex_lock(&g_tx_lock);
    while (g_paced && g_tx_len > 0) {
        pthread_cond_wait(&g_tx_cond, &g_tx_lock); /* the ring drains at the old rate first */
    }
    pthread_mutex_lock(&g_rx_lock);
    g_baud = baud;
    pthread_mutex_unlock(&g_rx_lock);
    pthread_mutex_unlock(&g_tx_lock);
    return true;
}

/* Bytes of the ring still on the wire at now_ns (the newest ones). Lock held. */
static size_t rx_in_flight(uint64_t now_ns) {
    if (g_rx_wire_ns <= now_ns) {
        return 0;
    }
    uint64_t n = ((g_rx_wire_ns - now_ns) * g_baud + UNIT * 1000u - 1u) / (UNIT * 1000u);
    return n < g_rx_len ? (size_t)n : g_rx_len;
}

/* The UART + DMA: move what the host wrote into the ring while there is room, each byte
 * arriving one byte time after the previous one (or after it was written, if the wire was idle). */
static void *rx_thread(void *arg) {
    (void)arg;
    static uint8_t chunk[4096];
    for (;;) {
        pthread_mutex_lock(&g_rx_lock);
        while (g_rx_len == RX_RING_BYTES) {
            pthread_cond_wait(&g_rx_cond, &g_rx_lock); /* full: the host's writes wait in the pty */
        }
        size_t room = RX_RING_BYTES - g_rx_len;
        pthread_mutex_unlock(&g_rx_lock);
        struct pollfd pfd = {g_master, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0) {
            continue;
        }
        ssize_t n = read(g_master, chunk, room < sizeof chunk ? room : sizeof chunk);
        if (n <= 0) {
            hal_delay_us(1000); /* EAGAIN, or EIO while no one holds the slave */
            continue;
        }
        pthread_mutex_lock(&g_rx_lock);
        uint64_t now_ns = hal_time_us() * 1000u;
        uint64_t start = g_rx_wire_ns > now_ns ? g_rx_wire_ns : now_ns;
        g_rx_wire_ns = start + (uint64_t)n * UNIT * 1000u / g_baud;
        for (ssize_t i = 0; i < n; i++) {
            g_rx_ring[(g_rx_head + g_rx_len + (size_t)i) % RX_RING_BYTES] = chunk[i];
        }
        g_rx_len += (size_t)n;
        pthread_cond_broadcast(&g_rx_cond);
        pthread_mutex_unlock(&g_rx_lock);
    }
    return NULL;
}

static uint64_t g_wake_by_us; /* hal_wake_by: 0 = no timed work announced */

void hal_wake_by(uint64_t t_us) {
    g_wake_by_us = t_us;
}

/* How long an idle read may wait: 1 ms (so the loop does not spin), less when the core has timed
 * work due sooner (a power sample: a late REFRESH makes the stream drop samples); 0 once that
 * time has come, which also clears the hint. */
static uint64_t idle_wait_us(void) {
    if (g_wake_by_us == 0) {
        return 1000;
    }
    uint64_t now = hal_time_us();
    if (g_wake_by_us <= now) {
        g_wake_by_us = 0;
        return 0;
    }
    return g_wake_by_us - now < 1000 ? g_wake_by_us - now : 1000;
}

size_t hal_uart_read(uint8_t *buf, size_t cap) {
    if (!g_paced) {
        struct pollfd pfd = {g_master, POLLIN, 0};
        uint64_t wait = idle_wait_us();
        struct timespec ts = {0, (long)(wait * 1000u)};
        if (ppoll(&pfd, 1, &ts, NULL) <= 0) {
            return 0; /* idle */
        }
        ssize_t n = read(g_master, buf, cap);
        return n > 0 ? (size_t)n : 0;
    }
    pthread_mutex_lock(&g_rx_lock);
    uint64_t now_ns = hal_time_us() * 1000u;
    size_t arrived = g_rx_len - rx_in_flight(now_ns);
    size_t n = arrived < cap ? arrived : cap;
    for (size_t i = 0; i < n; i++) {
        buf[i] = g_rx_ring[(g_rx_head + i) % RX_RING_BYTES];
    }
    g_rx_head = (g_rx_head + n) % RX_RING_BYTES;
    g_rx_len -= n;
    if (n > 0) {
        pthread_cond_broadcast(&g_rx_cond); /* room again */
    } else if (g_rx_len == 0) {
        /* idle: wait for the host, at most idle_wait_us() */
        uint64_t wait = idle_wait_us();
        if (wait > 0) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)(wait * 1000u);
            if (until.tv_nsec >= 1000000000) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g_rx_cond, &g_rx_lock, &until);
        }
    }
    uint64_t byte_us = UNIT / g_baud;
    bool on_wire = n == 0 && g_rx_len > 0;
    pthread_mutex_unlock(&g_rx_lock);
    if (on_wire) {
        hal_delay_us((uint32_t)byte_us + 1u); /* the next byte is on the wire */
    }
    return n;
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

/* The UART: hand every queued byte whose wire time is over to the pty, then sleep until the next
 * one's is. */
static void *tx_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&g_tx_lock);
    for (;;) {
        while (g_tx_len == 0) {
            pthread_cond_wait(&g_tx_cond, &g_tx_lock);
        }
        uint64_t now = hal_time_us();
        uint64_t byte_bits_us = UNIT / g_baud; /* whole microseconds per byte, rounded down */
        uint64_t now_ns = now * 1000u;
        uint64_t left_ns = g_tx_free_ns > now_ns ? g_tx_free_ns - now_ns : 0;
        size_t on_wire =
            (size_t)((left_ns * g_baud + UNIT * 1000u - 1u) / (UNIT * 1000u)); /* still being sent */
        size_t due = on_wire >= g_tx_len ? 0 : g_tx_len - on_wire;
        if (due == 0) {
            pthread_mutex_unlock(&g_tx_lock);
            hal_delay_us((uint32_t)(byte_bits_us + 1u));
            pthread_mutex_lock(&g_tx_lock);
            continue;
        }
        size_t n = due < TX_RING_BYTES - g_tx_head ? due : TX_RING_BYTES - g_tx_head;
        const uint8_t *p = g_tx_ring + g_tx_head;
        pthread_mutex_unlock(&g_tx_lock); /* the core may queue more meanwhile (not over these) */
        write_all(p, n);
        pthread_mutex_lock(&g_tx_lock);
        g_tx_head = (g_tx_head + n) % TX_RING_BYTES;
        g_tx_len -= n;
        pthread_cond_broadcast(&g_tx_cond); /* room in the ring; maybe drained */
    }
    return NULL;
}

void hal_uart_write(const uint8_t *buf, size_t len) {
    if (!g_paced) {
        write_all(buf, len);
        return;
    }
    pthread_mutex_lock(&g_tx_lock);
    while (len > 0) {
        while (g_tx_len == TX_RING_BYTES) {
            pthread_cond_wait(&g_tx_cond, &g_tx_lock); /* ring full: wait for the wire */
        }
        size_t tail = (g_tx_head + g_tx_len) % TX_RING_BYTES;
        size_t n = len;
        if (n > TX_RING_BYTES - g_tx_len) {
            n = TX_RING_BYTES - g_tx_len;
        }
        if (n > TX_RING_BYTES - tail) {
            n = TX_RING_BYTES - tail;
        }
        memcpy(g_tx_ring + tail, buf, n);
        uint64_t now_ns = hal_time_us() * 1000u;
        uint64_t start = g_tx_free_ns > now_ns ? g_tx_free_ns : now_ns;
        g_tx_free_ns = start + (uint64_t)n * UNIT * 1000u / g_baud;
        g_tx_len += n;
        buf += n;
        len -= n;
        pthread_cond_broadcast(&g_tx_cond);
    }
    pthread_mutex_unlock(&g_tx_lock);
}
