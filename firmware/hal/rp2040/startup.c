/* Reset handler and vector table at 0x10000100, where boot2 jumps (RP2040 datasheet §2.8.1,
 * Armv6-M ARM §B1.5.3: word 0 = initial SP, word 1 = reset vector, 16 system + 32 RP2040 IRQs).
 *
 * Why C and not assembly: nothing runs before .data and .bss exist except this copy loop, which
 * touches no static variable; the ISR table names only the USB controller's interrupt. */
#include <stdint.h>
#include <string.h>

#include "rp2040_hal.h"

extern uint32_t __stack_top, __data_start, __data_end, __data_load, __bss_start, __bss_end;
int main(void);

static void fault_handler(void) {
    /* a fault is a firmware bug: the watchdog (armed by main) reboots into a working link */
    for (;;) {
    }
}

void qtd_reset_handler(void) {
    const uint32_t *src = &__data_load;
    for (uint32_t *dst = &__data_start; dst < &__data_end;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start; dst < &__bss_end;) {
        *dst++ = 0;
    }
    (void)main();
    for (;;) {
    }
}

#define IRQ_USBCTRL 5u
#define IRQ_TIMER_0 0u

typedef void (*vector_t)(void);
__attribute__((section(".vectors"), used)) static const vector_t k_vectors[16 + 32] = {
    [0] = (vector_t)(uintptr_t)&__stack_top,
    [1] = qtd_reset_handler,
    [2] = fault_handler,  /* NMI */
    [3] = fault_handler,  /* HardFault */
    [11] = fault_handler, /* SVCall */
    [14] = fault_handler, /* PendSV */
    [15] = fault_handler, /* SysTick */
    [16 + IRQ_TIMER_0] = rp2040_timer_irq,
    [16 + IRQ_USBCTRL] = rp2040_usb_irq,
};
