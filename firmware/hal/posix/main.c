/* qtd-virtual-board: the firmware core on the host (docs: firmware/README.md).
 *
 *   qtd-virtual-board --flash-file FILE [--die-after-flash-ops K] [--time-scale X] [--no-pacing]
 *                     [--fpga model|rtl --rtl-lib-dir DIR] [--orphan-exit-s S]
 *
 * --fpga model (default): the accelerator's C model answers the fabric SPI; --fpga rtl: the
 * Verilated rtl/qtd_top does, from the per-design libraries in DIR (fpga_model.h, rtl_backend.h).
 *
 * --orphan-exit-s S: the board exits S seconds (real time) after the process that started it has
 * gone (it is re-parented): a host command that started it through sim:// and was killed
 * (SIGKILL, so it could not stop it) leaves no board running forever. Boards that `qtdeploy sim`
 * starts do not pass it and run until they are stopped.
 *
 * The first line on stdout is the pseudo-terminal's path; the host opens it like a serial port.
 * QTD_DIE_AFTER_FLASH_OPS=K in the environment does what --die-after-flash-ops does. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "board_posix.h"
#include "fpga_model.h"
#include "hal.h"
#include "qtd/app.h"
#include "qtd/board_config.h"
#include "qtd/model.h"
#include "uart_pty.h"

static const qtd_board_t k_board = QTD_BOARD_INIT;
/* The RAM a loaded MCU model lives in (qtd/model.h): what the RP2040 build sets aside too. */
static uint8_t g_model_arena[QTD_MODEL_ARENA_SIZE];

static pid_t g_parent;
static double g_orphan_exit_s;

/* Watches for the end of the parent, the host process that started this board: polls getppid()
 * every 50 ms (re-parenting sends no signal; Linux's PR_SET_PDEATHSIG would, but is not POSIX),
 * then leaves S seconds later. */
static void *orphan_watch(void *arg) {
    (void)arg;
    const struct timespec tick = {0, 50 * 1000 * 1000};
    while (getppid() == g_parent) {
        nanosleep(&tick, NULL);
    }
    struct timespec wait = {(time_t)g_orphan_exit_s,
                            (long)((g_orphan_exit_s - (double)(time_t)g_orphan_exit_s) * 1e9)};
    nanosleep(&wait, NULL);
    fprintf(stderr, "qtd-virtual-board: the host that started this board is gone; exiting after %g s\n",
            g_orphan_exit_s);
    _exit(0);
    return NULL;
}

static int usage(const char *argv0) {
    fprintf(stderr,
            "usage: %s --flash-file FILE [--die-after-flash-ops K] [--time-scale X] [--no-pacing]\n"
            "       [--fpga model|rtl --rtl-lib-dir DIR] [--orphan-exit-s S]\n"
            "  board '%s' (compiled in from boards/%s.toml)\n",
            argv0, QTD_BOARD_ID, QTD_BOARD_ID);
    return 2;
}

int main(int argc, char **argv) {
    board_posix_options_t opt = {NULL,
                                 0,
                                 1.0,
                                 true,
                                 QTD_BOARD_PAGE_PROGRAM_TYP_US,
                                 QTD_BOARD_SECTOR_ERASE_TYP_US,
                                 QTD_BOARD_FPGA_CONFIG_BITS_PER_S,
                                 NULL,
                                 NULL};
    const char *env = getenv("QTD_DIE_AFTER_FLASH_OPS");
    if (env != NULL && *env) {
        opt.die_after_flash_ops = strtoul(env, NULL, 10);
    }
    const char *fpga = "model", *rtl_dir = NULL;
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp(argv[i], "--flash-file") == 0 && has_value) {
            opt.flash_file = argv[++i];
        } else if (strcmp(argv[i], "--die-after-flash-ops") == 0 && has_value) {
            opt.die_after_flash_ops = strtoul(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--time-scale") == 0 && has_value) {
            opt.time_scale = strtod(argv[++i], NULL);
        } else if (strcmp(argv[i], "--no-pacing") == 0) {
            opt.paced = false;
        } else if (strcmp(argv[i], "--fpga") == 0 && has_value) {
            fpga = argv[++i];
        } else if (strcmp(argv[i], "--rtl-lib-dir") == 0 && has_value) {
            rtl_dir = argv[++i];
        } else if (strcmp(argv[i], "--orphan-exit-s") == 0 && has_value) {
            g_orphan_exit_s = strtod(argv[++i], NULL);
        } else {
            return usage(argv[0]);
        }
    }
    bool rtl = strcmp(fpga, "rtl") == 0;
    if (opt.flash_file == NULL || opt.time_scale <= 0 || (!rtl && strcmp(fpga, "model") != 0) ||
        (rtl && !rtl_dir)) {
        return usage(argv[0]);
    }
    signal(SIGPIPE, SIG_IGN);
    if (g_orphan_exit_s > 0) {
        g_parent = getppid();
        pthread_t watcher;
        if (pthread_create(&watcher, NULL, orphan_watch, NULL) != 0) {
            perror("qtd-virtual-board: orphan watch");
            return 1;
        }
    }
    if (!board_posix_init(&opt, &k_board)) {
        return 1;
    }
    if (rtl) {
        fpga_model_use_rtl(rtl_dir);
    }
    const char *pty = uart_pty_open(opt.paced);
    if (pty == NULL) {
        perror("qtd-virtual-board: pseudo-terminal");
        return 1;
    }
    qtd_model_set_arena(g_model_arena, sizeof g_model_arena);
    printf("%s\n", pty);
    fflush(stdout);
    for (;;) {
        qtd_status_t st = qtd_app_init(&k_board);
        if (st != QTD_ST_OK) {
            fprintf(stderr, "qtd-virtual-board: boot: %s\n", qtd_status_name(st));
        }
        while (qtd_app_poll()) {
        }
        hal_system_reset();
    }
}
