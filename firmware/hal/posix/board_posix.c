/* The virtual board's wiring: flash file + NOR model on the flash SPI, the virtual FPGA on the
 * control pins, the board file's PAC1934 monitors (register models fed by the power model) on
 * the I2C bus, no GPIO consumers.
 *
 * The monitors' wiring to the power model is power_wiring.c (shared with the RP2040 emulator's
 * parts, firmware/emu). */
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "board_posix.h"

#include <errno.h>
#include <link.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accel_model.h"
#include "activity.h"
#include "fpga_model.h"
#include "hal.h"
#include "nor_model.h"
#include "pac1934_model.h"
#include "power_wiring.h"

static nor_model_t g_nor;
static void (*g_on_violation)(const char *msg); /* in-memory mode's hook (board_posix.h) */

static void fatal_violation(nor_model_t *m, const char *msg) {
    (void)m;
    if (g_on_violation != NULL) {
        g_on_violation(msg);
    }
    fprintf(stderr, "qtd-virtual-board: FATAL hardware rule violated: %s\n", msg);
    fflush(stderr);
    _exit(QTD_EXIT_VIOLATION);
}

static void fpga_violation(const char *msg) {
    fatal_violation(NULL, msg);
}

static void power_cut(nor_model_t *m) {
    fprintf(stderr, "qtd-virtual-board: power cut during flash operation %lu\n", m->write_ops);
    fflush(stderr);
    _exit(QTD_EXIT_POWER_CUT); /* no cleanup: the mmap'd flash keeps exactly what was written */
}

/* Map the flash file, creating it erased (0xFF) at the board's size if it is new or short. */
static uint8_t *map_flash(const char *path, uint32_t size) {
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) {
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size < size) {
        static uint8_t ff[65536];
        memset(ff, 0xFF, sizeof ff);
        if (lseek(fd, st.st_size, SEEK_SET) < 0) {
            close(fd);
            return NULL;
        }
        for (uint64_t at = (uint64_t)st.st_size; at < size;) {
            size_t n = size - at < sizeof ff ? (size_t)(size - at) : sizeof ff;
            if (write(fd, ff, n) != (ssize_t)n) {
                close(fd);
                return NULL;
            }
            at += n;
        }
    }
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return mem == MAP_FAILED ? NULL : mem;
}

bool board_posix_init(const board_posix_options_t *opt, const qtd_board_t *board) {
    g_on_violation = opt->on_violation;
    uint8_t *mem = opt->flash_mem != NULL ? opt->flash_mem : map_flash(opt->flash_file, board->flash_size);
    if (mem == NULL) {
        fprintf(stderr, "qtd-virtual-board: cannot map flash file %s: %s\n", opt->flash_file,
                strerror(errno));
        return false;
    }
    nor_model_init(&g_nor, mem, board->flash_size, board->page_size, board->jedec_id);
    g_nor.page_program_us = (uint32_t)(opt->page_program_us * opt->time_scale);
    g_nor.erase_64k_us = (uint32_t)(opt->sector_erase_us * opt->time_scale);
    g_nor.erase_4k_us = g_nor.erase_64k_us / 4u;
    g_nor.write_status_us = (uint32_t)(10000 * opt->time_scale);
    g_nor.die_after = opt->die_after_flash_ops;
    g_nor.on_power_cut = power_cut;
    g_nor.bus_granted = fpga_model_bus_held;
    g_nor.on_violation = fatal_violation;
    fpga_model_config_t fc = {
        mem, board->flash_size, board->fpga_idcode,
        (uint64_t)(opt->config_bits_per_s / (opt->time_scale > 0 ? opt->time_scale : 1)), fpga_violation};
    fpga_model_init(&fc);
    sim_power_wiring_init(board);
    return true;
}

nor_model_t *board_posix_nor(void) {
    return &g_nor;
}

void hal_flash_xfer(const uint8_t *cmd, size_t cmd_len, const uint8_t *out, size_t out_len, uint8_t *in,
                    size_t in_len) {
    nor_model_xfer(&g_nor, cmd, cmd_len, out, out_len, in, in_len);
}

bool hal_i2c_write(uint8_t addr7, const uint8_t *buf, size_t len) {
    return pac1934_bus_write(addr7, buf, len, hal_time_us());
}

bool hal_i2c_read(uint8_t addr7, uint8_t *buf, size_t len) {
    return pac1934_bus_read(addr7, buf, len, hal_time_us());
}

void hal_gpio_set(unsigned pin, bool level) {
    (void)pin, (void)level;
}
bool hal_gpio_get(unsigned pin) {
    (void)pin;
    return false;
}

/* RAM state is re-made by main re-running qtd_app_init; the pty and flash file stay, like the
 * USB cable and the flash chip across a watchdog reset. */
void hal_system_reset(void) {
}

/* The virtual board has no ROM bootloader to reboot into. */
bool hal_bootloader_available(void) {
    return false;
}

const char *hal_target(void) {
    return "posix";
}

/* The executable's own GNU build-id note (PT_NOTE of the main program, the first object). */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    const uint8_t **out = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) {
            continue;
        }
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)(const void *)p;
            const uint8_t *name = p + sizeof *n, *desc = name + ((n->n_namesz + 3u) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                out[0] = desc;
                out[1] = desc + n->n_descsz;
                return 1;
            }
            p = desc + ((n->n_descsz + 3u) & ~3u);
        }
    }
    return 1; /* only the main program */
}

size_t hal_build_id(const uint8_t **id) {
    const uint8_t *range[2] = {NULL, NULL};
    dl_iterate_phdr(find_build_id, range);
    *id = range[0];
    return range[0] ? (size_t)(range[1] - range[0]) : 0;
}
