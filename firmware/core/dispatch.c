/* The command table. A command listed with no handler answers UNSUPPORTED (the board knows it
 * but cannot do it) rather than UNKNOWN_COMMAND; today every command has one. */
#include "qtd/commands.h"
#include "qtd/power.h"
#include "qtd/stream.h"

#include <stddef.h>

static const qtd_command_t k_commands[] = {
    {QTD_CMD_HELLO, true, qtd_cmd_hello},
    {QTD_CMD_RESET, false, qtd_cmd_reset},
    {QTD_CMD_SET_BAUD, false, qtd_cmd_set_baud},
    {QTD_CMD_PING, true, qtd_cmd_ping},
    {QTD_CMD_BUILD_INFO, true, qtd_cmd_build_info},
    {QTD_CMD_FLASH_INFO, true, qtd_cmd_flash_info},
    {QTD_CMD_FLASH_ERASE, false, qtd_cmd_flash_erase},
    {QTD_CMD_FLASH_WRITE, false, qtd_cmd_flash_write},
    {QTD_CMD_FLASH_READ, true, qtd_cmd_flash_read},
    {QTD_CMD_FLASH_HASH, true, qtd_cmd_flash_hash},
    {QTD_CMD_SLOT_COMMIT, false, qtd_cmd_slot_commit},
    {QTD_CMD_SLOT_SELECT, false, qtd_cmd_slot_select},
    {QTD_CMD_SLOT_INFO, true, qtd_cmd_slot_info},
    {QTD_CMD_FPGA_CONFIGURE, false, qtd_cmd_fpga_configure},
    {QTD_CMD_FPGA_STATUS, true, qtd_cmd_fpga_status},
    {QTD_CMD_MODEL_LOAD, false, qtd_cmd_model_load},
    {QTD_CMD_INFER, true, qtd_cmd_infer},
    {QTD_CMD_STREAM_START, false, qtd_cmd_stream_start},
    {QTD_CMD_STREAM_DATA, false, qtd_cmd_stream_data},
    {QTD_CMD_STREAM_STOP, false, qtd_cmd_stream_stop},
    /* issue 7 (power): qtd/power.h */
    {QTD_CMD_POWER_READ, true, qtd_cmd_power_read},
    {QTD_CMD_POWER_STREAM, false, qtd_cmd_power_stream},
    {QTD_CMD_POWER_ENERGY, true, qtd_cmd_power_energy},
    {QTD_CMD_POWER_MARK, false, qtd_cmd_power_mark},
    /* issue 15: on-board energy benchmark (core/cmd_bench.c); re-run: it leaves no state behind */
    {QTD_CMD_POWER_BENCH, true, qtd_cmd_power_bench},
};

const qtd_command_t *qtd_command_find(uint8_t command) {
    for (size_t i = 0; i < sizeof k_commands / sizeof k_commands[0]; i++) {
        if (k_commands[i].command == command) {
            return &k_commands[i];
        }
    }
    return NULL;
}

static void append(qtd_reply_t *rep, char c) {
    if (rep->detail_len < sizeof rep->detail) {
        rep->detail[rep->detail_len++] = c;
    }
}

qtd_status_t qtd_fail(qtd_reply_t *rep, qtd_status_t st, const char *text, uint32_t value, int with_value) {
    static const char hex[] = "0123456789abcdef";
    rep->detail_len = 0;
    while (*text) {
        append(rep, *text++);
    }
    if (with_value) {
        append(rep, ' ');
        append(rep, '0');
        append(rep, 'x');
        for (int shift = 28; shift >= 0; shift -= 4) {
            append(rep, hex[(value >> shift) & 0xFu]);
        }
    }
    return st;
}
