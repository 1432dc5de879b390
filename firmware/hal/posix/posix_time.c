/* Time for the virtual board: the host's monotonic clock, so the flash busy times, the FPGA
 * configuration time and the UART pacing all run in real time. */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "hal.h"

uint64_t hal_time_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void hal_delay_us(uint32_t us) {
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    nanosleep(&ts, NULL);
}
