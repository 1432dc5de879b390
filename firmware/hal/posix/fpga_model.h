/* The virtual FPGA: a Spartan-7 as seen from its pins, its configuration flash and its
 * register SPI. On power-up and on a PROG_B pulse (which clears WBSTAR, UG470 ch. 7) it reads the
 * bitstream from flash address 0, the golden image (the way master-SPI configuration does); only
 * the running design can make it reconfigure from another address, by IPROG through ICAPE2 (the
 * accelerator's MULTIBOOT_ADDR / MULTIBOOT_TRIGGER, accel_model.h), and a failed configuration
 * there falls back to the golden image at 0 (UG470 "fallback"; a missing sync word only when the
 * golden image armed the watchdog by writing TIMER, else the part hangs as silicon does). It walks its
 * packets, checks the IDCODE packet against the part's own IDCODE and takes the ABI from USR_ACCESS; DONE
 * rises after the time the bitstream takes at the configuration clock. Once DONE, the register SPI reaches
 * the accelerator's C model (accel_model.h), built for the design descriptor that a simulated bitstream
 * carries in its frame data (protocol/bitstream.md). */
#ifndef QTD_FPGA_MODEL_H
#define QTD_FPGA_MODEL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const uint8_t *flash; /* the configuration flash, read by the FPGA as bus master */
    uint32_t flash_size;
    uint32_t idcode;            /* this part's JTAG IDCODE */
    uint64_t config_bits_per_s; /* bits read from the flash per second while configuring (x 1/time scale) */
    /* called when the MCU grabs the shared bus in the middle of a configuration */
    void (*on_violation)(const char *msg);
} fpga_model_config_t;

void fpga_model_init(const fpga_model_config_t *cfg);
/* true while the MCU holds the FPGA off the shared flash bus */
bool fpga_model_bus_held(void);
/* --fpga rtl: configured designs run as Verilated RTL libraries from lib_dir (rtl_backend.h). */
void fpga_model_use_rtl(const char *lib_dir);
/* The register SPI one byte at a time (CS low: begin, CS high: end), for the RP2040 emulator. */
void fpga_model_spi_begin(void);
uint8_t fpga_model_spi_byte(uint8_t mosi);
void fpga_model_spi_end(void);
/* for tests: the IDCODE/ABI the last configuration found, and why it failed */
const char *fpga_model_last_error(void);
/* BOOTSTS.FALLBACK: the running configuration is the golden image after a failed MultiBoot */
bool fpga_model_fell_back(void);

#endif /* QTD_FPGA_MODEL_H */
