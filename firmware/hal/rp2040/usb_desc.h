/* The CDC-ACM device's descriptors and numbers (usb_desc.c), shared with usb_cdc.c. */
#ifndef QTD_RP2040_USB_DESC_H
#define QTD_RP2040_USB_DESC_H

#include <stdint.h>

#define USB_EP0_SIZE  64u
#define USB_BULK_SIZE 64u
#define USB_EP_NOTIFY 1u
#define USB_EP_DATA   2u
#define USB_ITF_COMM  0u
#define USB_ITF_DATA  1u
enum { USB_STR_MANUFACTURER = 1, USB_STR_PRODUCT = 2, USB_STR_SERIAL = 3 };

extern const uint8_t k_usb_device_desc[18];
extern const uint8_t k_usb_config_desc[];
extern const uint16_t k_usb_config_desc_len;
uint16_t usb_string_desc(uint8_t index, uint8_t *buf, uint16_t cap);

#endif /* QTD_RP2040_USB_DESC_H */
