/* POWER_BENCH's refusals (link.md 7.24) on a board file with no power monitor: the request is
 * answered at once with a status that says why, before any inference runs. The measuring path
 * runs against the whole virtual board (tests/e2e/test_power_bench.py). */
#include <string.h>

#include "qtd/commands.h"
#include "qtd/infer.h"
#include "qtd/le.h"
#include "qtd/power.h"
#include "qtd/protocol.h"
#include "test_util.h"

static uint8_t g_req[64], g_rep[512];

static qtd_status_t bench(uint8_t engine, uint32_t n, uint16_t count, uint16_t length) {
    memset(g_req, 0, sizeof g_req);
    g_req[0] = engine;
    qtd_put_le16(g_req + 2, count);
    qtd_put_le32(g_req + 4, n);
    qtd_frame_t req = {QTD_LINK_PROTOCOL_VERSION, 0, 1, QTD_CMD_POWER_BENCH, 0, length, g_req};
    qtd_reply_t rep = {g_rep, sizeof g_rep, 0, {0}, 0};
    qtd_status_t st = qtd_cmd_power_bench(&req, &rep);
    if (st != QTD_ST_OK)
        printf("  status 0x%02x: %.*s\n", st, rep.detail_len, rep.detail);
    return st;
}

int main(void) {
    t_setup();
    qtd_power_init(&t_board); /* no monitors, no rails */
    CHECK_EQ(bench(QTD_ENGINE_FPGA, 10, 0, 4), QTD_ST_BAD_LENGTH);
    CHECK_EQ(bench(QTD_ENGINE_FPGA, 0, 0, 8), QTD_ST_BENCH_LIMIT);
    CHECK_EQ(bench(QTD_ENGINE_FPGA, QTD_BENCH_MAX_INFERENCES + 1u, 0, 8), QTD_ST_BENCH_LIMIT);
    CHECK_EQ(bench(QTD_ENGINE_FPGA, 10, 0, 8), QTD_ST_NO_POWER_MONITOR);
    CHECK_EQ(bench(QTD_ENGINE_MCU, QTD_BENCH_MAX_INFERENCES, 0, 8), QTD_ST_NO_POWER_MONITOR);
    CHECK(!qtd_infer_pending()); /* nothing was started */
    return t_summary("test_bench");
}
