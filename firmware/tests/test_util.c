/* See test_util.h. Also the HAL pieces the tests do not take from hal/posix: the flash SPI goes
 * to t_nor, the UART to nowhere. */
#include "test_util.h"

#include <string.h>

#include "fpga_model.h"
#include "hal.h"
#include "qtd/sha256.h"

int t_passed, t_failed;
nor_model_t t_nor;
uint8_t t_flash[1u << 20];

const qtd_board_t t_board = {
    .name = "test",
    .flash_size = 1u << 20,
    .sector_size = 4096u,
    .page_size = 256u,
    .jedec_id = 0x012018u,
    .page_program_max_us = 100000u,
    .sector_erase_max_us = 1000000u,
    .slots = {{{0x00000u, 0x10000u}, {0x10000u, 0x10000u}}, {{0x20000u, 0x10000u}, {0x30000u, 0x10000u}}},
    .meta = {{0x40000u, 0x1000u}, {0x41000u, 0x1000u}},
    .log = {0x42000u, 0x10000u},
    .fpga_idcode = 0x03620093u,
    .uart_baud = 921600u,
    .max_baud = 3000000u,
    .max_payload = 4096u,
    .window = 8u,
};

int t_summary(const char *name) {
    printf("SUMMARY %s passed=%d failed=%d\n", name, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

void t_setup(void) {
    memset(t_flash, 0xFF, sizeof t_flash);
    nor_model_init(&t_nor, t_flash, sizeof t_flash, 256u, 0x012018u);
    t_nor.page_program_us = 5;
    t_nor.erase_4k_us = 50;
    t_nor.erase_64k_us = 200;
    t_nor.write_status_us = 20;
    t_nor.bus_granted = fpga_model_bus_held;
    fpga_model_config_t fc = {t_flash, sizeof t_flash, 0x03620093u, 4000000000u, NULL};
    fpga_model_init(&fc);
}

static uint32_t put_be(uint8_t *p, uint32_t at, uint32_t w) {
    p[at] = (uint8_t)(w >> 24);
    p[at + 1] = (uint8_t)(w >> 16);
    p[at + 2] = (uint8_t)(w >> 8);
    p[at + 3] = (uint8_t)w;
    return at + 4;
}

uint32_t t_make_bitstream(uint8_t *out, uint32_t idcode, uint32_t usr_access, uint32_t frame_words) {
    uint32_t at = 0;
    const char *hdr = "\x00\x09\x0f\xf0\x0f\xf0\x0f\xf0\x0f\xf0\x00\x00\x01" "a" "\x00\x05top;\x00";
    memcpy(out, hdr, 21); /* a .bit-like header to skip */
    at = 21;
    for (int i = 0; i < 8; i++) {
        at = put_be(out, at, 0xFFFFFFFFu); /* dummy words */
    }
    at = put_be(out, at, 0x000000BBu);     /* bus width detection */
    at = put_be(out, at, 0x11220044u);
    at = put_be(out, at, 0xFFFFFFFFu);
    at = put_be(out, at, 0xAA995566u);     /* sync */
    at = put_be(out, at, 0x20000000u);     /* NOOP */
    at = put_be(out, at, 0x30018001u);     /* type 1 write IDCODE (reg 0x0C), 1 word */
    at = put_be(out, at, idcode);
    at = put_be(out, at, 0x3001A001u);     /* type 1 write AXSS (reg 0x0D), 1 word */
    at = put_be(out, at, usr_access);
    at = put_be(out, at, 0x30004000u);     /* type 1 write FDRI, 0 words ... */
    at = put_be(out, at, 0x50000000u | frame_words); /* ... type 2 with the frame data */
    for (uint32_t i = 0; i < frame_words; i++) {
        at = put_be(out, at, 0x01020304u * (i + 1));
    }
    at = put_be(out, at, 0x30008001u);     /* CMD */
    at = put_be(out, at, 0x0000000Du);     /* DESYNC */
    at = put_be(out, at, 0x20000000u);
    return at;
}

/* ---- HAL pieces ---------------------------------------------------------------------------- */
void hal_flash_xfer(const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len,
                    uint8_t *in, size_t in_len) {
    nor_model_xfer(&t_nor, cmd, cmd_len, out, out_len, in, in_len);
}
size_t hal_uart_read(uint8_t *buf, size_t cap) {
    (void)buf, (void)cap;
    return 0;
}
void hal_uart_write(const uint8_t *buf, size_t len) { (void)buf, (void)len; }
bool hal_uart_set_baud(uint32_t baud) { return baud != 0; }
void hal_wake_by(uint64_t t_us) { (void)t_us; }
bool hal_i2c_write(uint8_t a, const uint8_t *b, size_t n) {
    (void)a, (void)b, (void)n;
    return false;
}
bool hal_i2c_read(uint8_t a, uint8_t *b, size_t n) {
    (void)a, (void)b, (void)n;
    return false;
}
void hal_gpio_set(unsigned pin, bool level) { (void)pin, (void)level; }
bool hal_gpio_get(unsigned pin) {
    (void)pin;
    return false;
}
void hal_system_reset(void) {}
bool hal_bootloader_available(void) { return false; }
size_t hal_build_id(const uint8_t **id) {
    *id = NULL;
    return 0;
}
const char *hal_target(void) { return "test"; }

void t_sha256(const uint8_t *p, uint32_t n, uint8_t out[32]) {
    qtd_sha256_t s;
    qtd_sha256_init(&s);
    qtd_sha256_update(&s, p, n);
    qtd_sha256_final(&s, out);
}
