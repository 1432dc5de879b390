/* Clocks (RP2040 datasheet §2.15 - §2.18): the 12 MHz crystal, PLL_SYS to the board file's
 * clk_sys (PLL dividers computed by tools/board_header.py from boards/<board>.toml), PLL_USB to
 * 48 MHz for the USB controller, clk_peri = clk_sys (SPI, I2C), and the watchdog tick that
 * makes the timer count microseconds. The sequence is the datasheet's: switch glitchless clocks
 * to a safe source before touching the PLL feeding them. */
#include "qtd/board_config.h"
#include "qtd/mcu_config.h"
#include "regs.h"
#include "rp2040_hal.h"

void rp2040_unreset(uint32_t bits) {
    REG_CLR(RESETS_RESET) = bits;
    while ((REG(RESETS_DONE) & bits) != bits) {
    }
}

static void pll_start(uint32_t base, uint32_t fbdiv, uint32_t pd1, uint32_t pd2) {
    REG(base + PLL_PWR) = 0xFFFFFFFFu; /* everything powered down while it is set */
    REG(base + PLL_FBDIV_INT) = 0;
    REG(base + PLL_CS) = 1u; /* REFDIV = 1: the reference is the 12 MHz crystal */
    REG(base + PLL_FBDIV_INT) = fbdiv;
    REG_CLR(base + PLL_PWR) = PLL_PWR_PD | PLL_PWR_VCOPD;
    while (!(REG(base + PLL_CS) & PLL_CS_LOCK)) {
    }
    REG(base + PLL_PRIM) = (pd1 << 16) | (pd2 << 12);
    REG_CLR(base + PLL_PWR) = PLL_PWR_POSTDIVPD;
}

void rp2040_clocks_init(void) {
    REG(CLK_SYS_RESUS_CTRL) = 0;
    /* §2.16: the crystal, 1-15 MHz range; startup delay = 1 ms in units of 256 cycles */
    REG(XOSC_CTRL) = XOSC_CTRL_1_15MHZ;
    REG(XOSC_STARTUP) = (QTD_MCU_XOSC_HZ / 1000u + 128u) / 256u;
    REG_SET(XOSC_CTRL) = XOSC_CTRL_ENABLE;
    while (!(REG(XOSC_STATUS) & XOSC_STATUS_STABLE)) {
    }
    /* clk_sys back to clk_ref, clk_ref to the crystal, before the PLLs change under them */
    REG_CLR(CLK_SYS_CTRL) = 1u;
    while (REG(CLK_SYS_SELECTED) != 1u) {
    }
    REG(CLK_REF_CTRL) = CLK_REF_SRC_XOSC;
    while (REG(CLK_REF_SELECTED) != (1u << CLK_REF_SRC_XOSC)) {
    }
    REG_SET(RESETS_RESET) = RESET_PLL_SYS | RESET_PLL_USB;
    rp2040_unreset(RESET_PLL_SYS | RESET_PLL_USB);
    pll_start(PLL_SYS_BASE, QTD_MCU_PLL_SYS_FBDIV, QTD_MCU_PLL_SYS_POSTDIV1, QTD_MCU_PLL_SYS_POSTDIV2);
    pll_start(PLL_USB_BASE, QTD_MCU_PLL_USB_FBDIV, QTD_MCU_PLL_USB_POSTDIV1, QTD_MCU_PLL_USB_POSTDIV2);
    /* clk_sys: aux = PLL_SYS, then the glitchless mux to aux */
    REG(CLK_SYS_DIV) = 1u << 8;
    REG(CLK_SYS_CTRL) = CLK_SYS_AUX_PLL_SYS;
    REG_SET(CLK_SYS_CTRL) = CLK_SYS_SRC_AUX;
    while (REG(CLK_SYS_SELECTED) != (1u << CLK_SYS_SRC_AUX)) {
    }
    REG(CLK_USB_DIV) = 1u << 8;
    REG(CLK_USB_CTRL) = CLK_CTRL_ENABLE | CLK_USB_AUX_PLL_USB;
    REG(CLK_PERI_CTRL) = CLK_CTRL_ENABLE | CLK_PERI_AUX_CLK_SYS;
    /* §4.7.2: the tick generator divides clk_ref (the crystal) down to 1 MHz for the timer */
    REG(WATCHDOG_TICK) = WATCHDOG_TICK_ENABLE | (QTD_MCU_XOSC_HZ / 1000000u);
    rp2040_unreset(RESET_TIMER);
}

/* §4.7: the watchdog counts down in 1 us ticks (RP2040-E1: it decrements by 2, so load 2x);
 * §2.13.3 PSM_WDSEL: its reset reaches every block but the oscillators. */
#define PSM_WDSEL 0x40010008u
static uint32_t g_wd_load;
void rp2040_watchdog_start(uint32_t ms) {
    REG(PSM_WDSEL) = 0x1FFFFu & ~3u;
    g_wd_load = ms * 1000u * 2u;
    REG(WATCHDOG_LOAD) = g_wd_load;
    REG_SET(WATCHDOG_CTRL) = WATCHDOG_CTRL_ENABLE;
}
void rp2040_watchdog_feed(void) {
    REG(WATCHDOG_LOAD) = g_wd_load;
}
