/* NOR rules: the driver (core/flash.c) against the NOR model (hal/posix/nor_model.c). */
#include <string.h>

#include "fpga_model.h"
#include "hal.h"
#include "qtd/flash.h"
#include "test_util.h"

static void direct_model_rules(void) {
    /* the model itself: a program without WRITE ENABLE, or over a 0 bit, is a violation */
    t_setup();
    uint8_t pp[4] = {QTD_NOR_PAGE_PROGRAM, 0, 0x10, 0};
    uint8_t data[2] = {0x00, 0x00};
    hal_fpga_hold_bus(true);
    nor_model_xfer(&t_nor, pp, 4, data, 2, NULL, 0);
    CHECK_EQ(t_nor.violations, 1); /* no WREN */
    CHECK_EQ(t_flash[0x1000], 0xFF);
    uint8_t wren = QTD_NOR_WRITE_ENABLE;
    nor_model_xfer(&t_nor, &wren, 1, NULL, 0, NULL, 0);
    nor_model_xfer(&t_nor, pp, 4, data, 2, NULL, 0);
    CHECK_EQ(t_flash[0x1000], 0x00);
    CHECK(nor_model_busy(&t_nor));
    nor_model_xfer(&t_nor, &wren, 1, NULL, 0, NULL, 0); /* while busy */
    CHECK_EQ(t_nor.violations, 2);
    hal_delay_us(100);
    uint8_t one[1] = {0x01};
    nor_model_xfer(&t_nor, &wren, 1, NULL, 0, NULL, 0);
    nor_model_xfer(&t_nor, pp, 4, one, 1, NULL, 0); /* 0 -> 1 */
    CHECK_EQ(t_nor.violations, 3);
    hal_delay_us(100);
    /* page wrap: a program running past the page end wraps to the page start */
    uint8_t pw[4] = {QTD_NOR_PAGE_PROGRAM, 0, 0x20, 0xFE};
    uint8_t three[3] = {0x11, 0x22, 0x33};
    nor_model_xfer(&t_nor, &wren, 1, NULL, 0, NULL, 0);
    nor_model_xfer(&t_nor, pw, 4, three, 3, NULL, 0);
    CHECK_EQ(t_flash[0x20FE], 0x11);
    CHECK_EQ(t_flash[0x20FF], 0x22);
    CHECK_EQ(t_flash[0x2000], 0x33);
    CHECK_EQ(t_flash[0x2100], 0xFF);
    hal_fpga_hold_bus(false);
    /* the shared-bus rule: any MCU access while the FPGA is not held off */
    unsigned long before = t_nor.violations;
    uint8_t rdid = QTD_NOR_READ_JEDEC, id[3];
    hal_delay_us(100);
    nor_model_xfer(&t_nor, &rdid, 1, NULL, 0, id, 3);
    CHECK_EQ(t_nor.violations, before + 1);
}

static void driver_rules(void) {
    t_setup();
    CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
    CHECK_EQ(qtd_flash_jedec_id(), 0x012018u);
    static uint8_t buf[9000], back[9000];
    for (unsigned i = 0; i < sizeof buf; i++) {
        buf[i] = (uint8_t)(i * 7u + 1u);
    }
    /* unaligned start, crossing many pages: the driver splits on page boundaries */
    CHECK_EQ(qtd_flash_program(0x3080, buf, 5000), QTD_ST_OK);
    CHECK_EQ(qtd_flash_read(0x3080, back, 5000), QTD_ST_OK);
    CHECK(memcmp(buf, back, 5000) == 0);
    CHECK_EQ(t_flash[0x307F], 0xFF);
    /* identical rewrite (a retried FLASH_WRITE): accepted, nothing programmed */
    unsigned long ops = t_nor.write_ops;
    CHECK_EQ(qtd_flash_program(0x3080, buf, 5000), QTD_ST_OK);
    CHECK_EQ(t_nor.write_ops, ops);
    /* a 0 bit back to 1: NOT_ERASED, and nothing written (the first byte stays as it was) */
    uint8_t bad[2] = {0x00, 0xFF};
    bad[1] = (uint8_t)~t_flash[0x3081] | t_flash[0x3081];
    uint8_t first = t_flash[0x3000];
    CHECK_EQ(qtd_flash_program(0x3000, bad, 0x82), QTD_ST_NOT_ERASED);
    CHECK_EQ(t_flash[0x3000], first);
    /* sector erase: alignment, range, effect */
    CHECK_EQ(qtd_flash_erase(0x3080, 4096), QTD_ST_MISALIGNED);
    CHECK_EQ(qtd_flash_erase(0x3000, 100), QTD_ST_MISALIGNED);
    CHECK_EQ(qtd_flash_erase(0x100000, 4096), QTD_ST_OUT_OF_RANGE);
    CHECK_EQ(qtd_flash_erase(0x3000, 8192), QTD_ST_OK);
    CHECK_EQ(t_flash[0x3080], 0xFF);
    CHECK_EQ(t_flash[0x4FFF], 0xFF);
    CHECK_EQ(qtd_flash_read(0xFFFF0, back, 0x20), QTD_ST_OUT_OF_RANGE);
    /* block protect: BP=1 protects the top 1/64 (16 KiB of 1 MiB) */
    CHECK_EQ(qtd_flash_write_status(1u << QTD_NOR_SR_BP_SHIFT), QTD_ST_OK);
    CHECK_EQ(qtd_flash_program(0xFC000, buf, 16), QTD_ST_FLASH_PROTECTED);
    CHECK_EQ(qtd_flash_erase(0xFC000, 4096), QTD_ST_FLASH_PROTECTED);
    CHECK_EQ(qtd_flash_program(0xFB000, buf, 16), QTD_ST_OK);
    CHECK_EQ(qtd_flash_write_status(0), QTD_ST_OK);
    CHECK_EQ(qtd_flash_program(0xFC000, buf, 16), QTD_ST_OK);
    /* busy: a part that never finishes: the erase is answered once started, and the next
     * operation, which waits for it, gives FLASH_TIMEOUT */
    t_nor.erase_4k_us = 3000000u; /* > sector_erase_max_us */
    CHECK_EQ(qtd_flash_erase(0x8000, 4096), QTD_ST_OK);
    CHECK_EQ(qtd_flash_read(0x8000, back, 16), QTD_ST_FLASH_TIMEOUT);
    t_nor.busy_until_us = 0;
    /* the driver never broke a rule the model enforces */
    CHECK_EQ(t_nor.violations, 0);
    CHECK(!fpga_model_bus_held()); /* and gave the bus back */
}

/* FLASH_ERASE answers while the part erases (the link keeps receiving); the next operation waits
 * for the end, and the FPGA stays off the shared bus until then. */
static void erase_runs_on(void) {
    t_setup();
    CHECK_EQ(qtd_flash_init(&t_board), QTD_ST_OK);
    static uint8_t data[300], back[300];
    memset(data, 0x5A, sizeof data);
    CHECK_EQ(qtd_flash_program(0x2000, data, sizeof data), QTD_ST_OK);
    t_nor.erase_4k_us = 20000u;
    CHECK_EQ(qtd_flash_erase(0x2000, 4096), QTD_ST_OK);
    CHECK(nor_model_busy(&t_nor)); /* answered while the part still erases */
    CHECK(fpga_model_bus_held());  /* with the FPGA still off the bus */
    CHECK_EQ(qtd_flash_read(0x2000, back, sizeof back), QTD_ST_OK);
    CHECK(!nor_model_busy(&t_nor)); /* the read waited for the end */
    CHECK_EQ(back[0], 0xFF);
    CHECK_EQ(back[299], 0xFF);
    CHECK(!fpga_model_bus_held());
    /* two sectors: the first ends before the second starts; a program waits for the second */
    CHECK_EQ(qtd_flash_erase(0x4000, 8192), QTD_ST_OK);
    CHECK(nor_model_busy(&t_nor));
    CHECK_EQ(qtd_flash_program(0x5000, data, sizeof data), QTD_ST_OK);
    CHECK_EQ(qtd_flash_read(0x5000, back, sizeof back), QTD_ST_OK);
    CHECK(memcmp(back, data, sizeof data) == 0);
    CHECK_EQ(qtd_flash_erase(0x6000, 4096), QTD_ST_OK);
    CHECK_EQ(qtd_flash_idle(), QTD_ST_OK); /* what FPGA configuration calls first */
    CHECK(!nor_model_busy(&t_nor));
    CHECK(!fpga_model_bus_held());
    CHECK_EQ(t_nor.violations, 0);
}

int main(void) {
    direct_model_rules();
    driver_rules();
    erase_runs_on();
    return t_summary("nor");
}
