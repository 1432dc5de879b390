/* RP2040 register addresses and bits the HAL uses, from the RP2040 datasheet (build-date
 * 2023-06 edition; section numbers beside each block). Written from the datasheet, not copied
 * from pico-sdk: only what this HAL touches. */
#ifndef QTD_RP2040_REGS_H
#define QTD_RP2040_REGS_H

#include <stdint.h>

#define REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
/* §2.1.2 atomic register aliases: +0x1000 XOR, +0x2000 SET, +0x3000 CLR */
#define REG_SET(addr) REG((addr) + 0x2000u)
#define REG_CLR(addr) REG((addr) + 0x3000u)

/* §2.14 Subsystem resets */
#define RESETS_BASE      0x4000C000u
#define RESETS_RESET     (RESETS_BASE + 0x0u)
#define RESETS_DONE      (RESETS_BASE + 0x8u)
#define RESET_I2C1       (1u << 4)
#define RESET_IO_BANK0   (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_PLL_SYS    (1u << 12)
#define RESET_PLL_USB    (1u << 13)
#define RESET_SPI0       (1u << 16)
#define RESET_TIMER      (1u << 21)
#define RESET_USBCTRL    (1u << 24)

/* §2.15.7 Clocks: CTRL / DIV / SELECTED per clock, 12 bytes apart */
#define CLOCKS_BASE          0x40008000u
#define CLK_REF_CTRL         (CLOCKS_BASE + 0x30u)
#define CLK_REF_DIV          (CLOCKS_BASE + 0x34u)
#define CLK_REF_SELECTED     (CLOCKS_BASE + 0x38u)
#define CLK_SYS_CTRL         (CLOCKS_BASE + 0x3Cu)
#define CLK_SYS_DIV          (CLOCKS_BASE + 0x40u)
#define CLK_SYS_SELECTED     (CLOCKS_BASE + 0x44u)
#define CLK_PERI_CTRL        (CLOCKS_BASE + 0x48u)
#define CLK_USB_CTRL         (CLOCKS_BASE + 0x54u)
#define CLK_USB_DIV          (CLOCKS_BASE + 0x58u)
#define CLK_SYS_RESUS_CTRL   (CLOCKS_BASE + 0x78u)
#define CLK_CTRL_ENABLE      (1u << 11)
#define CLK_REF_SRC_XOSC     2u
#define CLK_SYS_SRC_AUX      1u
#define CLK_SYS_AUX_PLL_SYS  (0u << 5)
#define CLK_PERI_AUX_CLK_SYS (0u << 5)
#define CLK_USB_AUX_PLL_USB  (0u << 5)

/* §2.16.7 Crystal oscillator */
#define XOSC_BASE          0x40024000u
#define XOSC_CTRL          (XOSC_BASE + 0x00u)
#define XOSC_STATUS        (XOSC_BASE + 0x04u)
#define XOSC_STARTUP       (XOSC_BASE + 0x0Cu)
#define XOSC_CTRL_1_15MHZ  0xAA0u
#define XOSC_CTRL_ENABLE   (0xFABu << 12)
#define XOSC_STATUS_STABLE (1u << 31)

/* §2.18.4 PLLs */
#define PLL_SYS_BASE      0x40028000u
#define PLL_USB_BASE      0x4002C000u
#define PLL_CS            0x0u
#define PLL_PWR           0x4u
#define PLL_FBDIV_INT     0x8u
#define PLL_PRIM          0xCu
#define PLL_CS_LOCK       (1u << 31)
#define PLL_PWR_PD        (1u << 0)
#define PLL_PWR_POSTDIVPD (1u << 3)
#define PLL_PWR_VCOPD     (1u << 5)

/* §4.7.6 Watchdog (its tick also clocks the timer, §4.6) */
#define WATCHDOG_BASE         0x40058000u
#define WATCHDOG_CTRL         (WATCHDOG_BASE + 0x00u)
#define WATCHDOG_LOAD         (WATCHDOG_BASE + 0x04u)
#define WATCHDOG_REASON       (WATCHDOG_BASE + 0x08u)
#define WATCHDOG_SCRATCH0     (WATCHDOG_BASE + 0x0Cu)
#define WATCHDOG_TICK         (WATCHDOG_BASE + 0x2Cu)
#define WATCHDOG_CTRL_TRIGGER (1u << 31)
#define WATCHDOG_CTRL_ENABLE  (1u << 30)
#define WATCHDOG_TICK_ENABLE  (1u << 9)

/* §4.6.5 Timer: 64-bit microsecond counter */
#define TIMER_BASE     0x40054000u
#define TIMER_ALARM0   (TIMER_BASE + 0x10u)
#define TIMER_TIMERAWH (TIMER_BASE + 0x24u)
#define TIMER_TIMERAWL (TIMER_BASE + 0x28u)
#define TIMER_INTR     (TIMER_BASE + 0x34u) /* write 1 to clear */
#define TIMER_INTE     (TIMER_BASE + 0x38u)
#define IRQ_TIMER_0    0u

/* §2.19.6 IO_BANK0 / PADS_BANK0 / SIO */
#define IO_BANK0_BASE    0x40014000u
#define GPIO_CTRL(n)     (IO_BANK0_BASE + 8u * (n) + 4u)
#define GPIO_FUNC_SPI    1u
#define GPIO_FUNC_I2C    3u
#define GPIO_FUNC_SIO    5u
#define GPIO_FUNC_NULL   0x1Fu
#define PADS_BANK0_BASE  0x4001C000u
#define PADS_GPIO(n)     (PADS_BANK0_BASE + 4u + 4u * (n))
#define PADS_OD          (1u << 7)
#define PADS_IE          (1u << 6)
#define PADS_DRIVE_4MA   (1u << 4)
#define PADS_PUE         (1u << 3)
#define PADS_PDE         (1u << 2)
#define PADS_SCHMITT     (1u << 1)
#define SIO_BASE         0xD0000000u
#define SIO_GPIO_IN      (SIO_BASE + 0x04u)
#define SIO_GPIO_OUT_SET (SIO_BASE + 0x14u)
#define SIO_GPIO_OUT_CLR (SIO_BASE + 0x18u)
#define SIO_GPIO_OE_SET  (SIO_BASE + 0x24u)
#define SIO_GPIO_OE_CLR  (SIO_BASE + 0x28u)

/* §4.4.4 SPI (ARM PL022) */
#define SPI0_BASE     0x4003C000u
#define SPI_CR0       (SPI0_BASE + 0x00u)
#define SPI_CR1       (SPI0_BASE + 0x04u)
#define SPI_DR        (SPI0_BASE + 0x08u)
#define SPI_SR        (SPI0_BASE + 0x0Cu)
#define SPI_CPSR      (SPI0_BASE + 0x10u)
#define SPI_CR0_DSS_8 7u
#define SPI_CR0_SPH   (1u << 7)
#define SPI_CR1_SSE   (1u << 1)
#define SPI_SR_TNF    (1u << 1)
#define SPI_SR_RNE    (1u << 2)
#define SPI_SR_BSY    (1u << 4)

/* §4.3.17 I2C (Synopsys DW_apb_i2c) */
#define I2C1_BASE            0x40048000u
#define IC_CON               (I2C1_BASE + 0x00u)
#define IC_TAR               (I2C1_BASE + 0x04u)
#define IC_DATA_CMD          (I2C1_BASE + 0x10u)
#define IC_FS_SCL_HCNT       (I2C1_BASE + 0x1Cu)
#define IC_FS_SCL_LCNT       (I2C1_BASE + 0x20u)
#define IC_RAW_INTR_STAT     (I2C1_BASE + 0x34u)
#define IC_CLR_TX_ABRT       (I2C1_BASE + 0x54u)
#define IC_CLR_STOP_DET      (I2C1_BASE + 0x60u)
#define IC_ENABLE            (I2C1_BASE + 0x6Cu)
#define IC_STATUS            (I2C1_BASE + 0x70u)
#define IC_RXFLR             (I2C1_BASE + 0x78u)
#define IC_SDA_HOLD          (I2C1_BASE + 0x7Cu)
#define IC_TX_ABRT_SOURCE    (I2C1_BASE + 0x80u)
#define IC_FS_SPKLEN         (I2C1_BASE + 0xA0u)
#define IC_CON_MASTER        (1u << 0)
#define IC_CON_SPEED_FAST    (2u << 1)
#define IC_CON_RESTART_EN    (1u << 5)
#define IC_CON_SLAVE_DISABLE (1u << 6)
#define IC_CON_TX_EMPTY_CTRL (1u << 8)
#define IC_DATA_CMD_READ     (1u << 8)
#define IC_DATA_CMD_STOP     (1u << 9)
#define IC_INTR_TX_ABRT      (1u << 6)
#define IC_INTR_STOP_DET     (1u << 9)
#define IC_STATUS_TFNF       (1u << 1)

/* §4.1.4 USB controller: DPRAM and registers */
#define USB_DPRAM      0x50100000u
#define USB_DPRAM_SIZE 4096u
#define USB_EP_CTRL(ep, out)                                                                                 \
    (USB_DPRAM + 8u * (ep) + ((out) ? 4u : 0u)) /* ep >= 1: EP1_IN_CONTROL at 0x08                           \
                                                 */
#define USB_BUF_CTRL(ep, out) (USB_DPRAM + 0x80u + 8u * (ep) + ((out) ? 4u : 0u))
#define USB_EP0_BUF           0x100u /* DPRAM offset of EP0's shared buffer */
#define USB_REGS              0x50110000u
#define USB_ADDR_ENDP         (USB_REGS + 0x00u)
#define USB_MAIN_CTRL         (USB_REGS + 0x40u)
#define USB_SIE_CTRL          (USB_REGS + 0x4Cu)
#define USB_SIE_STATUS        (USB_REGS + 0x50u)
#define USB_BUFF_STATUS       (USB_REGS + 0x58u)
#define USB_EP_STALL_ARM      (USB_REGS + 0x68u)
#define USB_MUXING            (USB_REGS + 0x74u)
#define USB_PWR               (USB_REGS + 0x78u)
#define USB_MAIN_CTRL_EN      (1u << 0)
#define USB_SIE_PULLUP_EN     (1u << 16)
#define USB_SIE_EP0_INT_1BUF  (1u << 29)
#define USB_SIE_SETUP_REC     (1u << 17)
#define USB_SIE_BUS_RESET     (1u << 19)
#define USB_MUX_TO_PHY        (1u << 0)
#define USB_MUX_SOFTCON       (1u << 3)
#define USB_PWR_VBUS_DETECT   (1u << 2)
#define USB_PWR_VBUS_OVERRIDE (1u << 3)
#define EP_CTRL_ENABLE        (1u << 31)
#define EP_CTRL_INT_1BUF      (1u << 29)
#define EP_CTRL_TYPE_BULK     (2u << 26)
#define EP_CTRL_TYPE_INT      (3u << 26)
#define BUF_FULL              (1u << 15)
#define BUF_LAST              (1u << 14)
#define BUF_DATA1             (1u << 13)
#define BUF_STALL             (1u << 11)
#define BUF_AVAILABLE         (1u << 10)
#define BUF_LEN_MASK          0x3FFu

/* §2.8.3 Bootrom: the function table lookup */
#define ROM_TABLE_LOOKUP 0x18u /* halfword pointer to rom_table_lookup(table, code) */
#define ROM_FUNC_TABLE   0x14u /* halfword pointer to the function table */

#endif /* QTD_RP2040_REGS_H */
