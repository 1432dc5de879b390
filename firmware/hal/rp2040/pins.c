/* GPIO (RP2040 datasheet §2.19): function select per pin in IO_BANK0, pad control in PADS_BANK0,
 * software-driven levels through the SIO. FPGA control lines, power switches and LEDs. */
#include <stdbool.h>

#include "hal.h"
#include "regs.h"
#include "rp2040_hal.h"

void rp2040_gpio_function(unsigned pin, uint32_t func) {
    REG(PADS_GPIO(pin)) = PADS_IE | PADS_DRIVE_4MA | PADS_SCHMITT | (func == GPIO_FUNC_I2C ? PADS_PUE : 0u);
    REG(GPIO_CTRL(pin)) = func;
}

void rp2040_gpio_output(unsigned pin, bool level) {
    /* level first, then the driver: the pin never glitches to the wrong state */
    REG(level ? SIO_GPIO_OUT_SET : SIO_GPIO_OUT_CLR) = 1u << pin;
    REG(SIO_GPIO_OE_SET) = 1u << pin;
    rp2040_gpio_function(pin, GPIO_FUNC_SIO);
}

void rp2040_gpio_input(unsigned pin, bool pull_up) {
    REG(SIO_GPIO_OE_CLR) = 1u << pin;
    rp2040_gpio_function(pin, GPIO_FUNC_SIO);
    REG(PADS_GPIO(pin)) = PADS_IE | PADS_SCHMITT | (pull_up ? PADS_PUE : PADS_PDE);
}

void hal_gpio_set(unsigned pin, bool level) {
    if (pin < 30u) {
        REG(level ? SIO_GPIO_OUT_SET : SIO_GPIO_OUT_CLR) = 1u << pin;
    }
}

bool hal_gpio_get(unsigned pin) {
    return pin < 30u && ((REG(SIO_GPIO_IN) >> pin) & 1u);
}
