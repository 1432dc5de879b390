/* SPI0 shared by the NOR flash (GPIO 0-3) and the FPGA register link (GPIO 16-19) by pin
 * switching, I2C1 to the power monitors, and the FPGA's control lines (RP2040 datasheet §4.4
 * PL022, §4.3 DW_apb_i2c; pins and clocks from boards/<board>.toml via qtd/board_config.h).
 *
 * The flash is shared with the FPGA too: while the FPGA may master it (hal_fpga_hold_bus(false))
 * the MCU's flash pins, chip select included, float (function NULL, CS pulled up), so the FPGA's
 * configuration reads meet no second driver. The core holds the FPGA off around every flash
 * operation and never during a configuration (core/flash.c, core/fpga.c), as on the virtual board.
 * On the enV5 neither INIT_B nor DONE reaches the MCU: "configured" is read from the accelerator's
 * ID register over the fabric SPI (protocol/regmap.md, ALIVE), the way the board file says. */
#include <string.h>

#include "hal.h"
#include "qtd/board_config.h"
#include "qtd/mcu_config.h"
#include "qtd/protocol.h"
#include "regs.h"
#include "rp2040_hal.h"

#define I2C_TIMEOUT_US 10000u
#define FPGA_INIT_US   5000u /* UG470 Table 5-12 T_POR after PROG_B: INIT_B is not routed, wait it out */

typedef enum { ROUTE_NONE, ROUTE_FLASH, ROUTE_FABRIC } route_t;
static route_t g_route = ROUTE_NONE;
static bool g_held;            /* the FPGA is held off the flash bus */
static bool g_prog_b = true;   /* last PROG_B level */
static uint64_t g_released_us; /* when PROG_B last rose */

static void spi_route(route_t to) {
    if (g_route == to) {
        return;
    }
    REG(SPI_CR1) = 0; /* CR0 changes only while the PL022 is disabled */
    if (to == ROUTE_FLASH) {
        rp2040_gpio_function(QTD_PIN_FABRIC_SCK, GPIO_FUNC_NULL);
        rp2040_gpio_function(QTD_PIN_FABRIC_MOSI, GPIO_FUNC_NULL);
        rp2040_gpio_function(QTD_PIN_FABRIC_MISO, GPIO_FUNC_NULL);
        REG(SPI_CPSR) = QTD_MCU_FLASH_SPI_CPSR;
        REG(SPI_CR0) = SPI_CR0_DSS_8 | (QTD_MCU_FLASH_SPI_SCR << 8); /* mode 0 */
        rp2040_gpio_function(QTD_PIN_FLASH_SCK, GPIO_FUNC_SPI);
        rp2040_gpio_function(QTD_PIN_FLASH_MOSI, GPIO_FUNC_SPI);
        rp2040_gpio_function(QTD_PIN_FLASH_MISO, GPIO_FUNC_SPI);
    } else {
        rp2040_gpio_function(QTD_PIN_FLASH_SCK, GPIO_FUNC_NULL);
        rp2040_gpio_function(QTD_PIN_FLASH_MOSI, GPIO_FUNC_NULL);
        rp2040_gpio_function(QTD_PIN_FLASH_MISO, GPIO_FUNC_NULL);
        REG(SPI_CPSR) = QTD_MCU_FABRIC_SPI_CPSR;
        REG(SPI_CR0) = SPI_CR0_DSS_8 | SPI_CR0_SPH | (QTD_MCU_FABRIC_SPI_SCR << 8); /* mode 1 */
        rp2040_gpio_function(QTD_PIN_FABRIC_SCK, GPIO_FUNC_SPI);
        rp2040_gpio_function(QTD_PIN_FABRIC_MOSI, GPIO_FUNC_SPI);
        rp2040_gpio_function(QTD_PIN_FABRIC_MISO, GPIO_FUNC_SPI);
    }
    REG(SPI_CR1) = SPI_CR1_SSE;
    g_route = to;
}

/* Clock n bytes: out (or zeros) on MOSI, MISO into in (or dropped); up to 8 in the FIFOs. */
static void spi_bytes(const uint8_t *out, uint8_t *in, size_t n) {
    size_t tx = 0, rx = 0;
    while (rx < n) {
        if (tx < n && tx - rx < 8u && (REG(SPI_SR) & SPI_SR_TNF)) {
            REG(SPI_DR) = out ? out[tx] : 0u;
            tx++;
        }
        if (REG(SPI_SR) & SPI_SR_RNE) {
            uint8_t b = (uint8_t)REG(SPI_DR);
            if (in) {
                in[rx] = b;
            }
            rx++;
        }
    }
}

void rp2040_spi_init(void) {
    rp2040_unreset(RESET_SPI0);
    rp2040_gpio_output(QTD_PIN_FABRIC_CS, true);
    rp2040_gpio_input(QTD_PIN_FLASH_CS, true); /* released: the FPGA may master the flash */
    spi_route(ROUTE_FABRIC);
}

void hal_flash_xfer(const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len, uint8_t *in,
                    size_t in_len) {
    spi_route(ROUTE_FLASH);
    rp2040_gpio_output(QTD_PIN_FLASH_CS, false);
    spi_bytes(cmd, NULL, cmd_len);
    spi_bytes(out, NULL, out_len);
    spi_bytes(NULL, in, in_len);
    rp2040_gpio_output(QTD_PIN_FLASH_CS, true);
}

void hal_fabric_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    spi_route(ROUTE_FABRIC);
    hal_gpio_set(QTD_PIN_FABRIC_CS, false);
    spi_bytes(out, NULL, out_len);
    spi_bytes(NULL, in, in_len);
    hal_gpio_set(QTD_PIN_FABRIC_CS, true);
}

void hal_fpga_hold_bus(bool hold) {
    if (hold && !g_held) {
        /* an unconfigured FPGA with PROG_B high keeps hunting the flash for a sync word:
         * keep it in reset while the MCU owns the bus */
        if (g_prog_b && !hal_fpga_done()) {
            hal_fpga_prog_b(false);
        }
    }
    g_held = hold;
    if (hold) {
        spi_route(ROUTE_FLASH);
        rp2040_gpio_output(QTD_PIN_FLASH_CS, true);
    } else {
        spi_route(ROUTE_FABRIC);
        rp2040_gpio_input(QTD_PIN_FLASH_CS, true);
    }
}

void hal_fpga_prog_b(bool level) {
    rp2040_gpio_output(QTD_PIN_FPGA_PROG_B, level);
    if (level && !g_prog_b) {
        g_released_us = hal_time_us();
    }
    g_prog_b = level;
}

bool hal_fpga_init_b(void) {
#if QTD_PIN_FPGA_INIT_B >= 0
    return hal_gpio_get(QTD_PIN_FPGA_INIT_B) != QTD_PIN_FPGA_INIT_B_ACTIVE_LOW;
#else
    return g_prog_b && hal_time_us() - g_released_us >= FPGA_INIT_US;
#endif
}

bool hal_fpga_done(void) {
#if QTD_PIN_FPGA_DONE >= 0
    return hal_gpio_get(QTD_PIN_FPGA_DONE) != QTD_PIN_FPGA_DONE_ACTIVE_LOW;
#else
    if (!g_prog_b || g_held) {
        return false;
    }
    const uint8_t cmd[4] = {QTD_SPI_CMD_READ, (uint8_t)(QTD_REG_ID >> 8), (uint8_t)QTD_REG_ID, 0};
    uint8_t id[4];
    hal_fabric_xfer(cmd, sizeof cmd, id, sizeof id);
    uint32_t magic = id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16 | (uint32_t)id[3] << 24;
    return magic == QTD_RM_MAGIC;
#endif
}

/* ---- I2C1 -------------------------------------------------------------------------------- */
void rp2040_i2c_init(void) {
    rp2040_unreset(RESET_I2C1);
    REG(IC_ENABLE) = 0;
    REG(IC_CON) =
        IC_CON_MASTER | IC_CON_SPEED_FAST | IC_CON_RESTART_EN | IC_CON_SLAVE_DISABLE | IC_CON_TX_EMPTY_CTRL;
    /* §4.3.14: SCL low 60 % / high 40 % of the period, spike filter and SDA hold for fast mode */
    uint32_t period = (QTD_MCU_CLOCK_HZ + QTD_I2C_CLOCK_HZ / 2u) / QTD_I2C_CLOCK_HZ;
    uint32_t lcnt = period * 3u / 5u;
    REG(IC_FS_SCL_HCNT) = period - lcnt;
    REG(IC_FS_SCL_LCNT) = lcnt;
    REG(IC_FS_SPKLEN) = lcnt < 16u ? 1u : lcnt / 16u;
    REG(IC_SDA_HOLD) = QTD_MCU_CLOCK_HZ * 3u / 10000000u + 1u;
    rp2040_gpio_function(QTD_PIN_I2C_SDA, GPIO_FUNC_I2C);
    rp2040_gpio_function(QTD_PIN_I2C_SCL, GPIO_FUNC_I2C);
}

/* After the last byte: wait for STOP; a NACK (TX_ABRT) or a stuck bus is false. */
static bool i2c_finish(uint64_t deadline) {
    while (!(REG(IC_RAW_INTR_STAT) & (IC_INTR_STOP_DET | IC_INTR_TX_ABRT))) {
        if (hal_time_us() > deadline) {
            return false;
        }
    }
    bool abort = (REG(IC_RAW_INTR_STAT) & IC_INTR_TX_ABRT) != 0;
    (void)REG(IC_CLR_TX_ABRT);
    (void)REG(IC_CLR_STOP_DET);
    return !abort;
}

static void i2c_target(uint8_t addr7) {
    REG(IC_ENABLE) = 0;
    REG(IC_TAR) = addr7;
    REG(IC_ENABLE) = 1;
}

bool hal_i2c_write(uint8_t addr7, const uint8_t *buf, size_t len) {
    uint64_t deadline = hal_time_us() + I2C_TIMEOUT_US;
    i2c_target(addr7);
    for (size_t i = 0; i < len; i++) {
        while (!(REG(IC_STATUS) & IC_STATUS_TFNF)) {
            if (hal_time_us() > deadline) {
                return false;
            }
        }
        REG(IC_DATA_CMD) = buf[i] | (i + 1 == len ? IC_DATA_CMD_STOP : 0u);
        if (REG(IC_RAW_INTR_STAT) & IC_INTR_TX_ABRT) {
            break; /* NACK: the controller flushed the rest and stops by itself */
        }
    }
    return i2c_finish(deadline);
}

bool hal_i2c_read(uint8_t addr7, uint8_t *buf, size_t len) {
    uint64_t deadline = hal_time_us() + I2C_TIMEOUT_US;
    i2c_target(addr7);
    for (size_t i = 0; i < len; i++) {
        REG(IC_DATA_CMD) = IC_DATA_CMD_READ | (i + 1 == len ? IC_DATA_CMD_STOP : 0u);
        while (REG(IC_RXFLR) == 0) {
            if ((REG(IC_RAW_INTR_STAT) & IC_INTR_TX_ABRT) || hal_time_us() > deadline) {
                (void)i2c_finish(deadline);
                return false;
            }
        }
        buf[i] = (uint8_t)REG(IC_DATA_CMD);
    }
    return i2c_finish(deadline);
}
