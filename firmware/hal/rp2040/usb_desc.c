/* USB descriptors of the CDC-ACM device (USB 2.0 ch. 9; CDC 1.2 + PSTN 1.2 for the functional
 * descriptors). VID/PID come from the board file ([usb]); the serial-number string is the
 * program flash's 64-bit unique id in hex, so two boards differ and the host's auto-detection
 * can match "qtdeploy" in the product string to tell our firmware from any other RP2040 CDC. */
#include "usb_desc.h"

#include "qtd/board_config.h"
#include "qtd/mcu_config.h"
#include "qtd/version.h"
#include "rp2040_hal.h"

const uint8_t k_usb_device_desc[18] = {
    18,
    1, /* bLength, DEVICE */
    0x00,
    0x02, /* bcdUSB 2.00 */
    0xEF,
    0x02,
    0x01,         /* misc / common / IAD: the composite CDC convention */
    USB_EP0_SIZE, /* bMaxPacketSize0 */
    QTD_USB_VID & 0xFF,
    QTD_USB_VID >> 8, /* idVendor */
    QTD_USB_PID & 0xFF,
    QTD_USB_PID >> 8, /* idProduct */
    QTD_FW_MINOR,
    QTD_FW_MAJOR, /* bcdDevice = firmware major.minor */
    USB_STR_MANUFACTURER,
    USB_STR_PRODUCT,
    USB_STR_SERIAL,
    1, /* bNumConfigurations */
};

#define CONFIG_LEN (9 + 8 + 9 + 5 + 5 + 4 + 5 + 7 + 9 + 7 + 7)
const uint8_t k_usb_config_desc[CONFIG_LEN] = {
    9,
    2,
    CONFIG_LEN & 0xFF,
    CONFIG_LEN >> 8,
    2,
    1,
    0,
    0x80,
    250, /* 2 interfaces, bus powered, 500 mA */
    /* interface association: interfaces 0-1 are one CDC function */
    8,
    11,
    USB_ITF_COMM,
    2,
    2,
    2,
    0,
    0,
    /* interface 0: communication class, ACM subclass, no protocol */
    9,
    4,
    USB_ITF_COMM,
    0,
    1,
    2,
    2,
    0,
    0,
    5,
    0x24,
    0x00,
    0x20,
    0x01, /* header, CDC 1.20 */
    5,
    0x24,
    0x01,
    0x00,
    USB_ITF_DATA, /* call management: none, data on interface 1 */
    4,
    0x24,
    0x02,
    0x02, /* ACM: SET/GET_LINE_CODING, SET_CONTROL_LINE_STATE */
    5,
    0x24,
    0x06,
    USB_ITF_COMM,
    USB_ITF_DATA, /* union */
    7,
    5,
    0x80 | USB_EP_NOTIFY,
    3,
    8,
    0,
    16, /* notification: interrupt IN, 8 bytes, 16 ms */
    /* interface 1: data class, two bulk endpoints */
    9,
    4,
    USB_ITF_DATA,
    0,
    2,
    0x0A,
    0,
    0,
    0,
    7,
    5,
    USB_EP_DATA,
    2,
    USB_BULK_SIZE,
    0,
    0, /* bulk OUT */
    7,
    5,
    0x80 | USB_EP_DATA,
    2,
    USB_BULK_SIZE,
    0,
    0, /* bulk IN */
};
const uint16_t k_usb_config_desc_len = CONFIG_LEN;

static const char *const k_strings[] = {NULL, "qtdeploy", "qtdeploy " QTD_BOARD_ID " (RP2040)", NULL};

/* String descriptor index i into buf (UTF-16LE), returns its length (0: no such string). */
uint16_t usb_string_desc(uint8_t index, uint8_t *buf, uint16_t cap) {
    char serial[17];
    const char *s;
    if (index == 0) {
        buf[0] = 4, buf[1] = 3, buf[2] = 0x09, buf[3] = 0x04; /* English (US) */
        return 4;
    } else if (index == USB_STR_SERIAL) {
        uint8_t id[8];
        rp2040_read_unique_id(id);
        for (unsigned i = 0; i < 8; i++) {
            serial[2 * i] = "0123456789ABCDEF"[id[i] >> 4];
            serial[2 * i + 1] = "0123456789ABCDEF"[id[i] & 15];
        }
        serial[16] = 0;
        s = serial;
    } else if (index < sizeof k_strings / sizeof k_strings[0]) {
        s = k_strings[index];
    } else {
        return 0;
    }
    uint16_t n = 2;
    for (; *s && n + 2 <= cap && n < 254; s++) {
        buf[n++] = (uint8_t)*s;
        buf[n++] = 0;
    }
    buf[0] = (uint8_t)n;
    buf[1] = 3;
    return n;
}
