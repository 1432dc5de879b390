/* Bare-metal entry points for measuring the MCU kernel on a Cortex-M0+ model (bench/mcu_kernel.py
 * runs them in the unicorn emulator). The blob is placed in RAM by the caller, as MODEL_LOAD
 * leaves it in the board's arena; no startup code, no C library beyond memcpy/memset/memcmp. */
#include "qtd/model.h"

static qtd_model_t g_model;

/* qtd_blob_open (header, SHA-256, tables, padding, ABI) + qtd_model_bind: MODEL_LOAD's CPU work. */
int bench_load(const uint8_t *blob, uint32_t len) {
    qtd_blob_t b;
    const char *why;
    qtd_status_t st = qtd_blob_open(&b, blob, len, &why);
    if (st == QTD_ST_OK) {
        st = qtd_model_bind(&g_model, &b, &why);
    }
    return st;
}

/* One inference: INFER's CPU work. */
int bench_infer(const int8_t *x, int32_t *y) { return qtd_kernel_run(&g_model, x, y, 0, 0); }
