/* USB CDC-ACM device on the RP2040's USB controller, register level (RP2040 datasheet §4.1;
 * USB 2.0 ch. 9 for the standard requests, CDC PSTN 1.2 §6.3 for the class requests). The host
 * link's bytes travel over bulk endpoint 2; hal_uart_read/write are its ends.
 *
 * Interrupt driven (USBCTRL_IRQ): enumeration and bus resets are answered while the core is busy
 * in a sector erase or an MCU inference, as a host expects. Bulk OUT is flow-controlled by the
 * hardware: the OUT buffer is re-armed only when the receive ring has room for a whole packet,
 * so the host is NAKed, never dropped. A bulk IN transfer that ends on a full 64-byte packet is
 * closed by a zero-length packet, or Linux's cdc-acm would hold the data in its URB. */
#include <stddef.h>
#include <string.h>

#include "hal.h"
#include "regs.h"
#include "rp2040_hal.h"
#include "usb_desc.h"

#define RX_RING          8192u /* power of two */
#define TX_RING          1024u
#define DPRAM8(off)      ((volatile uint8_t *)(uintptr_t)(USB_DPRAM + (off)))
#define BUF_NOTIFY       0x180u /* DPRAM offsets, 64-byte aligned after EP0's buffers */
#define BUF_OUT          0x1C0u
#define BUF_IN           0x200u
#define IRQ_USBCTRL      5u
#define NVIC_ISER        0xE000E100u
#define NVIC_ICER        0xE000E180u
#define INTE_BUFF_STATUS (1u << 4)
#define INTE_BUS_RESET   (1u << 12)
#define INTE_SETUP_REQ   (1u << 16)

typedef struct {
    uint8_t bmRequestType, bRequest;
    uint16_t wValue, wIndex, wLength;
} setup_t;

typedef struct {
    bool configured;
    uint8_t pending_addr; /* SET_ADDRESS takes effect after its status stage */
    bool addr_pending;
    /* EP0 */
    const uint8_t *ctl_data;
    uint16_t ctl_left;
    bool ctl_zlp;        /* a final ZLP ends an IN data stage shorter than wLength on a packet boundary */
    bool ctl_pid1;       /* next EP0 packet's PID */
    uint8_t ctl_out_req; /* class request whose OUT data stage is expected (0: none) */
    uint8_t ctl_buf[256];
    uint8_t line_coding[7];
    uint16_t line_state;
    /* bulk */
    bool out_pid1, in_pid1, out_armed, in_busy;
    uint16_t in_last_len;
} usb_state_t;
static usb_state_t g_usb;

static uint8_t g_rx[RX_RING];
static volatile uint32_t g_rx_head, g_rx_tail; /* free-running counters */
static uint8_t g_tx[TX_RING];
static volatile uint32_t g_tx_head, g_tx_tail;

static inline uint32_t irq_off(void) {
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
    return primask;
}
static inline void irq_restore(uint32_t primask) {
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* §4.1.2.5.1: write the buffer control word without AVAILABLE, let clk_usb see it, then set it. */
static void buf_arm(uint8_t ep, bool out, uint16_t len, bool pid1) {
    uint32_t v = len | (pid1 ? BUF_DATA1 : 0u) | (out ? 0u : BUF_FULL);
    REG(USB_BUF_CTRL(ep, out)) = v;
    __asm__ volatile("nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop");
    REG(USB_BUF_CTRL(ep, out)) = v | BUF_AVAILABLE;
}

static uint16_t buf_offset(uint8_t ep, bool out) {
    return ep == 0 ? USB_EP0_BUF : (ep == USB_EP_DATA ? (out ? BUF_OUT : BUF_IN) : BUF_NOTIFY);
}

static void ep_send(uint8_t ep, const uint8_t *data, uint16_t len, bool pid1) {
    volatile uint8_t *dst = DPRAM8(buf_offset(ep, false));
    for (uint16_t i = 0; i < len; i++) {
        dst[i] = data[i];
    }
    buf_arm(ep, false, len, pid1);
}

static void ep0_stall(void) {
    REG(USB_EP_STALL_ARM) = 3u;
    REG(USB_BUF_CTRL(0, false)) = BUF_STALL;
    REG(USB_BUF_CTRL(0, true)) = BUF_STALL;
}

static void ep0_in_next(void) {
    uint16_t n = g_usb.ctl_left < USB_EP0_SIZE ? g_usb.ctl_left : USB_EP0_SIZE;
    ep_send(0, g_usb.ctl_data, n, g_usb.ctl_pid1);
    g_usb.ctl_pid1 = !g_usb.ctl_pid1;
    g_usb.ctl_data += n;
    g_usb.ctl_left -= n;
    if (n < USB_EP0_SIZE) {
        g_usb.ctl_zlp = false; /* a short packet ends the stage by itself */
    }
}

/* Start an IN data stage of len bytes (clipped to wLength); the OUT status stage follows. */
static void ep0_reply(const setup_t *s, const uint8_t *data, uint16_t len) {
    if (len > s->wLength) {
        len = s->wLength;
    }
    g_usb.ctl_data = data;
    g_usb.ctl_left = len;
    g_usb.ctl_zlp = len < s->wLength && len % USB_EP0_SIZE == 0;
    g_usb.ctl_pid1 = true;
    ep0_in_next();
}

static void ep0_status_in(void) {
    ep_send(0, NULL, 0, true); /* zero-length status packet, always DATA1 */
}

static void bulk_configure(void) {
    REG(USB_EP_CTRL(USB_EP_NOTIFY, false)) =
        EP_CTRL_ENABLE | EP_CTRL_INT_1BUF | EP_CTRL_TYPE_INT | BUF_NOTIFY;
    REG(USB_EP_CTRL(USB_EP_DATA, true)) = EP_CTRL_ENABLE | EP_CTRL_INT_1BUF | EP_CTRL_TYPE_BULK | BUF_OUT;
    REG(USB_EP_CTRL(USB_EP_DATA, false)) = EP_CTRL_ENABLE | EP_CTRL_INT_1BUF | EP_CTRL_TYPE_BULK | BUF_IN;
    g_usb.out_pid1 = g_usb.in_pid1 = false;
    g_usb.in_busy = false;
    g_usb.out_armed = true;
    buf_arm(USB_EP_DATA, true, USB_BULK_SIZE, false);
    g_usb.configured = true;
}

static bool get_descriptor(const setup_t *s) {
    uint8_t type = (uint8_t)(s->wValue >> 8), index = (uint8_t)s->wValue;
    if (type == 1) {
        ep0_reply(s, k_usb_device_desc, sizeof k_usb_device_desc);
    } else if (type == 2) {
        ep0_reply(s, k_usb_config_desc, k_usb_config_desc_len);
    } else if (type == 3) {
        uint16_t n = usb_string_desc(index, g_usb.ctl_buf, sizeof g_usb.ctl_buf);
        if (n == 0) {
            return false;
        }
        ep0_reply(s, g_usb.ctl_buf, n);
    } else {
        return false; /* device qualifier (a full-speed device has none), others */
    }
    return true;
}

static bool standard_request(const setup_t *s) {
    switch (s->bRequest) {
        case 0x06: /* GET_DESCRIPTOR */ return get_descriptor(s);
        case 0x05: /* SET_ADDRESS: after the status stage */
            g_usb.pending_addr = (uint8_t)(s->wValue & 0x7F);
            g_usb.addr_pending = true;
            ep0_status_in();
            return true;
        case 0x09: /* SET_CONFIGURATION */
            if (s->wValue == 1) {
                bulk_configure();
            } else {
                g_usb.configured = false;
            }
            ep0_status_in();
            return true;
        case 0x08: /* GET_CONFIGURATION */
            g_usb.ctl_buf[0] = g_usb.configured ? 1u : 0u;
            ep0_reply(s, g_usb.ctl_buf, 1);
            return true;
        case 0x00: /* GET_STATUS: not self-powered, no remote wakeup, no halt */
            g_usb.ctl_buf[0] = g_usb.ctl_buf[1] = 0;
            ep0_reply(s, g_usb.ctl_buf, 2);
            return true;
        case 0x0A: /* GET_INTERFACE: alternate setting 0 */
            g_usb.ctl_buf[0] = 0;
            ep0_reply(s, g_usb.ctl_buf, 1);
            return true;
        case 0x0B: /* SET_INTERFACE (only alternate 0 exists) */
        case 0x01: /* CLEAR_FEATURE (ENDPOINT_HALT: the data toggle restarts at DATA0) */
            if (s->bRequest == 0x01 && (s->bmRequestType & 0x1F) == 2 && (s->wIndex & 0x0F) == USB_EP_DATA) {
                if (s->wIndex & 0x80) {
                    g_usb.in_pid1 = false;
                } else {
                    g_usb.out_pid1 = false;
                }
            }
            ep0_status_in();
            return true;
        default: return false;
    }
}

static bool class_request(const setup_t *s) {
    switch (s->bRequest) {
        case 0x20: /* SET_LINE_CODING: 7 bytes in the OUT data stage */
            g_usb.ctl_out_req = s->bRequest;
            buf_arm(0, true, USB_EP0_SIZE, true);
            return true;
        case 0x21: /* GET_LINE_CODING */
            ep0_reply(s, g_usb.line_coding, sizeof g_usb.line_coding);
            return true;
        case 0x22: /* SET_CONTROL_LINE_STATE: DTR bit 0, RTS bit 1 */
            g_usb.line_state = s->wValue;
            ep0_status_in();
            return true;
        case 0x23: /* SEND_BREAK */ ep0_status_in(); return true;
        default: return false;
    }
}

static void on_setup(void) {
    volatile uint8_t *p = DPRAM8(0);
    setup_t s = {p[0], p[1], (uint16_t)(p[2] | p[3] << 8), (uint16_t)(p[4] | p[5] << 8),
                 (uint16_t)(p[6] | p[7] << 8)};
    g_usb.ctl_left = 0;
    g_usb.ctl_zlp = false;
    g_usb.ctl_out_req = 0;
    uint8_t type = (s.bmRequestType >> 5) & 3u;
    bool ok = type == 0 ? standard_request(&s) : type == 1 ? class_request(&s) : false;
    if (!ok) {
        ep0_stall();
    }
}

static void on_ep0_in_done(void) {
    if (g_usb.addr_pending) {
        REG(USB_ADDR_ENDP) = g_usb.pending_addr;
        g_usb.addr_pending = false;
    } else if (g_usb.ctl_left > 0 || g_usb.ctl_zlp) {
        if (g_usb.ctl_left == 0) {
            g_usb.ctl_zlp = false;
        }
        ep0_in_next();
    } else if (g_usb.ctl_data != NULL) {
        g_usb.ctl_data = NULL;
        buf_arm(0, true, 0, true); /* the host's zero-length OUT status stage */
    }
}

static void on_ep0_out_done(void) {
    uint32_t ctrl = REG(USB_BUF_CTRL(0, true));
    if (g_usb.ctl_out_req == 0x20) {
        uint16_t n = (uint16_t)(ctrl & BUF_LEN_MASK);
        volatile uint8_t *src = DPRAM8(USB_EP0_BUF);
        for (uint16_t i = 0; i < n && i < sizeof g_usb.line_coding; i++) {
            g_usb.line_coding[i] = src[i];
        }
        g_usb.ctl_out_req = 0;
        ep0_status_in();
    }
}

static void bulk_out_arm(void) {
    if (!g_usb.out_armed && g_rx_head - g_rx_tail <= RX_RING - USB_BULK_SIZE) {
        g_usb.out_armed = true;
        buf_arm(USB_EP_DATA, true, USB_BULK_SIZE, g_usb.out_pid1);
    }
}

static void on_bulk_out_done(void) {
    uint16_t n = (uint16_t)(REG(USB_BUF_CTRL(USB_EP_DATA, true)) & BUF_LEN_MASK);
    volatile uint8_t *src = DPRAM8(BUF_OUT);
    for (uint16_t i = 0; i < n; i++) {
        g_rx[(g_rx_head + i) % RX_RING] = src[i];
    }
    g_rx_head += n;
    g_usb.out_pid1 = !g_usb.out_pid1;
    g_usb.out_armed = false;
    bulk_out_arm();
}

static void bulk_in_next(void) {
    uint32_t queued = g_tx_head - g_tx_tail;
    if (g_usb.in_busy || !g_usb.configured) {
        return;
    }
    if (queued == 0 && g_usb.in_last_len != USB_BULK_SIZE) {
        return;
    }
    uint8_t pkt[USB_BULK_SIZE];
    uint16_t n = queued < USB_BULK_SIZE ? (uint16_t)queued : USB_BULK_SIZE;
    for (uint16_t i = 0; i < n; i++) {
        pkt[i] = g_tx[(g_tx_tail + i) % TX_RING];
    }
    g_tx_tail += n;
    g_usb.in_busy = true;
    g_usb.in_last_len = n; /* a ZLP (n = 0) follows a full packet that ended the queue */
    ep_send(USB_EP_DATA, pkt, n, g_usb.in_pid1);
    g_usb.in_pid1 = !g_usb.in_pid1;
}

static void bus_reset(void) {
    REG(USB_ADDR_ENDP) = 0;
    memset(&g_usb, 0, offsetof(usb_state_t, ctl_buf));
    g_rx_head = g_rx_tail = 0;
    g_tx_head = g_tx_tail = 0;
}

void rp2040_usb_irq(void) {
    uint32_t sie = REG(USB_SIE_STATUS);
    if (sie & USB_SIE_BUS_RESET) {
        bus_reset();
        REG(USB_SIE_STATUS) = USB_SIE_BUS_RESET; /* write 1 to clear */
    }
    if (sie & USB_SIE_SETUP_REC) {
        REG(USB_SIE_STATUS) = USB_SIE_SETUP_REC;
        on_setup();
    }
    uint32_t bs = REG(USB_BUFF_STATUS);
    if (bs) {
        REG(USB_BUFF_STATUS) = bs;
        if (bs & (1u << 0)) {
            on_ep0_in_done();
        }
        if (bs & (1u << 1)) {
            on_ep0_out_done();
        }
        if (bs & (1u << (2 * USB_EP_DATA + 1))) {
            on_bulk_out_done();
        }
        if (bs & (1u << (2 * USB_EP_DATA))) {
            g_usb.in_busy = false;
            bulk_in_next();
        }
    }
}

void rp2040_usb_init(void) {
    static const uint8_t k_default_coding[7] = {0x00, 0x10, 0x0E, 0x00, 0, 0, 8}; /* 921600 8N1 */
    REG_SET(RESETS_RESET) = RESET_USBCTRL;
    rp2040_unreset(RESET_USBCTRL);
    for (uint32_t i = 0; i < USB_DPRAM_SIZE; i += 4) {
        REG(USB_DPRAM + i) = 0;
    }
    memcpy(g_usb.line_coding, k_default_coding, sizeof k_default_coding);
    REG(USB_MUXING) = USB_MUX_TO_PHY | USB_MUX_SOFTCON;
    REG(USB_PWR) = USB_PWR_VBUS_DETECT | USB_PWR_VBUS_OVERRIDE; /* the board is bus powered */
    REG(USB_SIE_CTRL) = USB_SIE_EP0_INT_1BUF;
    REG(USB_REGS + 0x90u) = INTE_BUFF_STATUS | INTE_BUS_RESET | INTE_SETUP_REQ; /* INTE */
    REG(NVIC_ISER) = 1u << IRQ_USBCTRL;
    REG(USB_MAIN_CTRL) = USB_MAIN_CTRL_EN;
    REG_SET(USB_SIE_CTRL) = USB_SIE_PULLUP_EN; /* D+ pull-up: the host sees a full-speed device */
}

/* ---- the host link's ends ------------------------------------------------------------------ */
size_t hal_uart_read(uint8_t *buf, size_t cap) {
    rp2040_watchdog_feed();
    size_t n = 0;
    while (n < cap && g_rx_tail != g_rx_head) {
        buf[n++] = g_rx[g_rx_tail % RX_RING];
        g_rx_tail++;
    }
    if (n > 0) {
        uint32_t m = irq_off();
        bulk_out_arm();
        irq_restore(m);
    } else {
        rp2040_idle(1000u); /* nothing from the host: sleep until it sends (or 1 ms) */
    }
    return n;
}

void hal_uart_write(const uint8_t *buf, size_t len) {
    for (size_t i = 0; i < len;) {
        if (!g_usb.configured) {
            return; /* no host: the bytes have no wire to go to (a UART would drop them too) */
        }
        if (g_tx_head - g_tx_tail < TX_RING) {
            g_tx[g_tx_head % TX_RING] = buf[i++];
            g_tx_head++;
        } else {
            rp2040_watchdog_feed(); /* the host is draining slowly, not a hang */
        }
        if (g_tx_head - g_tx_tail == TX_RING || i == len) {
            uint32_t m = irq_off();
            bulk_in_next();
            irq_restore(m);
        }
    }
}

/* USB CDC has no wire rate: the line coding is the host's to set and read back. */
bool hal_uart_set_baud(uint32_t baud) {
    (void)baud;
    return true;
}

/* The RESET answer is queued: it leaves once the bulk IN queue drains (or no host is there). */
void rp2040_usb_drain(void) {
    while (g_usb.configured && (g_tx_head != g_tx_tail || g_usb.in_busy)) {
    }
}
