/* libFuzzer harness for the blob reader, the model binder and the kernel: arbitrary bytes as a
 * .qtb. The harness writes the payload's true SHA-256 into the header first, so the fuzzer gets
 * past the hash to the table, region, ABI and model checks; whatever they accept is run on an
 * all-zero window. A crash, an ASan report or UBSan (signed overflow, bad shift) is a bug.
 *
 *   make fuzz && build/fuzz/fuzz_blob -max_total_time=600 ../protocol/vectors/model/w12_d32_b2
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qtd/model.h"

static uint8_t g_blob[256 * 1024];
static qtd_model_t g_model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > sizeof g_blob) {
        return 0;
    }
    memcpy(g_blob, data, size);
    if (size >= QTD_BLOB_HEADER_SIZE) {
        qtd_sha256_t s;
        qtd_sha256_init(&s);
        qtd_sha256_update(&s, g_blob + QTD_BLOB_HEADER_SIZE, size - QTD_BLOB_HEADER_SIZE);
        qtd_sha256_final(&s, g_blob + 0x18);
    }
    qtd_blob_t b;
    const char *why = NULL;
    if (qtd_blob_open(&b, g_blob, (uint32_t)size, &why) != QTD_ST_OK) {
        if (why == NULL) {
            abort(); /* every refusal names its check */
        }
        return 0;
    }
    if (qtd_model_bind(&g_model, &b, &why) != QTD_ST_OK) {
        return 0;
    }
    int8_t x[QTD_KERNEL_MAX_WINDOW * QTD_KERNEL_MAX_FEATURES] = {0};
    int32_t y[QTD_KERNEL_MAX_HORIZON];
    (void)qtd_kernel_run(&g_model, x, y, NULL, NULL);
    return 0;
}
