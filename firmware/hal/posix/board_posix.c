/* The virtual board's wiring: flash file + NOR model on the flash SPI, the virtual FPGA on the
 * control pins, the board file's PAC1934 monitors (register models fed by the power model) on
 * the I2C bus, no GPIO consumers.
 *
 * QTD_SIM_ABSENT_MONITORS=0x12[,0x11] in the environment leaves those monitors off the bus (they
 * NACK, as a monitor with a broken ADDRSEL resistor or no supply would): the tests' way in. */
#define _DEFAULT_SOURCE
#include "board_posix.h"

#include <errno.h>
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

#define POWER_NOISE_PPM 20000u /* protocol/power.md §3: +-2 % on each current */
#define POWER_SEED      0x5EED0007u

static nor_model_t g_nor;
static pac1934_model_t g_pac[QTD_MAX_MONITORS];
static const qtd_board_t *g_board;
static void (*g_on_violation)(const char *msg); /* in-memory mode's hook (board_posix.h) */

/* The analog side of monitor m's channel ch: the power model's rail wired to it. */
static void pac_sample(void *ctx, unsigned ch, double *bus_v, double *current_a) {
    unsigned m = (unsigned)(uintptr_t)ctx;
    *bus_v = 0, *current_a = 0;
    for (unsigned r = 0; r < g_board->rail_count; r++) {
        if (g_board->rails[r].monitor == m && g_board->rails[r].channel == ch && r < PM_RAILS) {
            power_model_sample(sim_power_model(), r, bus_v, current_a);
        }
    }
}

static bool monitor_absent(uint8_t addr7) {
    const char *env = getenv("QTD_SIM_ABSENT_MONITORS");
    while (env != NULL && *env) {
        char *end;
        unsigned long a = strtoul(env, &end, 0);
        if (end == env) {
            break;
        }
        if (a == addr7) {
            return true;
        }
        env = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* The accelerator computing a window: PM_INFERRING from START to DONE, at their own instants. */
static void on_accel_busy(bool busy, uint64_t t_us) {
    sim_activity_set_at(busy ? PM_INFERRING : PM_IDLE, t_us);
}

static void power_init(const qtd_board_t *board) {
    g_board = board;
    power_model_init(sim_power_model(), POWER_SEED, POWER_NOISE_PPM);
    pac1934_bus_reset();
    accel_model_set_busy_hook(on_accel_busy);
    for (unsigned m = 0; m < board->monitor_count && m < QTD_MAX_MONITORS; m++) {
        uint32_t shunt[4] = {0, 0, 0, 0};
        for (unsigned r = 0; r < board->rail_count; r++) {
            if (board->rails[r].monitor == m && board->rails[r].channel < 4u) {
                shunt[board->rails[r].channel] = board->rails[r].shunt_uohm;
            }
        }
        pac1934_model_init(&g_pac[m], board->monitors[m].addr7, shunt, pac_sample, (void *)(uintptr_t)m,
                           hal_time_us());
        if (!monitor_absent(board->monitors[m].addr7)) {
            pac1934_bus_attach(&g_pac[m]);
        }
    }
}

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
    fpga_model_config_t fc = {mem, board->flash_size, board->fpga_idcode,
                              (uint32_t)(opt->config_clock_hz / (opt->time_scale > 0 ? opt->time_scale : 1)),
                              fpga_violation};
    fpga_model_init(&fc);
    power_init(board);
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
