/* Firmware version reported by HELLO. */
#ifndef QTD_VERSION_H
#define QTD_VERSION_H

#define QTD_FW_MAJOR 0u
#define QTD_FW_MINOR 1u
#define QTD_FW_PATCH 0u

#endif /* QTD_VERSION_H */
