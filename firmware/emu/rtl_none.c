/* The RP2040 emulator's FPGA has the accelerator's C model only: the Verilated RTL libraries are
 * host shared objects (hal/posix/rtl_backend.c loads them with dlopen), which WebAssembly cannot
 * load. fpga_model.c calls these only in --fpga rtl mode, which the emulator never sets. */
#include <stdio.h>

#include "rtl_backend.h"

void rtl_backend_set_dir(const char *dir) {
    (void)dir;
}
bool rtl_backend_configure(const char *design, size_t len, char *err, size_t err_len) {
    (void)design, (void)len;
    snprintf(err, err_len, "no Verilated RTL in the RP2040 emulator (the C model answers)");
    return false;
}
void rtl_backend_unconfigure(void) {
}
void rtl_backend_xfer(const uint8_t *out, size_t out_len, uint8_t *in, size_t in_len) {
    (void)out, (void)out_len;
    for (size_t i = 0; i < in_len; i++) {
        in[i] = 0xFF;
    }
}
bool rtl_backend_take_iprog(uint32_t *addr) {
    (void)addr;
    return false;
}
