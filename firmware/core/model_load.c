/* The loaded model: the blob copied from a flash slot into the board's arena, hashed on the
 * way, parsed and bound (qtd/model.h). One model at a time; a failed load leaves none, so INFER
 * can never run a half-checked blob. */
#include <string.h>

#include "qtd/flash.h"
#include "qtd/model.h"

static uint8_t *g_arena;
static uint32_t g_arena_size;
static qtd_model_t g_model;
static bool g_loaded;

void qtd_model_set_arena(uint8_t *arena, uint32_t size) {
    qtd_model_unload();
    g_arena = arena;
    g_arena_size = size;
}

void qtd_model_unload(void) {
    g_loaded = false;
}

const qtd_model_t *qtd_model_loaded(void) {
    return g_loaded ? &g_model : NULL;
}

qtd_status_t qtd_model_load_flash(uint32_t addr, uint32_t region_size, const char **why) {
    static uint8_t piece[256]; /* what is hashed past the arena (the metadata) goes through here */
    uint32_t payload;
    qtd_status_t st;
    qtd_model_unload();
    if (g_arena == NULL || g_arena_size < QTD_BLOB_HEADER_SIZE) {
        *why = "this board has no RAM arena for an MCU model";
        return QTD_ST_UNSUPPORTED;
    }
    if ((st = qtd_flash_read(addr, g_arena, QTD_BLOB_HEADER_SIZE)) != QTD_ST_OK) {
        *why = "flash read failed";
        return st;
    }
    if ((st = qtd_blob_check_header(g_arena, region_size, &payload, why)) != QTD_ST_OK) {
        return st;
    }
    /* stream the payload: keep what fits in the arena, hash all of it */
    const uint32_t total = QTD_BLOB_HEADER_SIZE + payload;
    qtd_sha256_t s;
    qtd_sha256_init(&s);
    for (uint32_t at = QTD_BLOB_HEADER_SIZE; at < total;) {
        uint32_t n = total - at < sizeof piece ? total - at : (uint32_t)sizeof piece;
        uint8_t *dst = at + n <= g_arena_size ? g_arena + at : piece;
        if ((st = qtd_flash_read(addr + at, dst, n)) != QTD_ST_OK) {
            *why = "flash read failed";
            return st;
        }
        qtd_sha256_update(&s, dst, n);
        at += n;
    }
    uint8_t digest[QTD_SHA256_SIZE];
    qtd_sha256_final(&s, digest);
    if (memcmp(digest, g_arena + 0x18, QTD_SHA256_SIZE) != 0) {
        *why = "payload SHA-256 does not match the blob header";
        return QTD_ST_BLOB_INVALID;
    }
    /* kept: the whole 256-byte pieces that landed in the arena */
    uint32_t kept = total <= g_arena_size ? total : QTD_BLOB_HEADER_SIZE;
    if (total > g_arena_size) {
        uint32_t room = g_arena_size - QTD_BLOB_HEADER_SIZE;
        kept += room - room % (uint32_t)sizeof piece;
    }
    qtd_blob_t blob;
    if ((st = qtd_blob_parse(&blob, g_arena, kept, why)) != QTD_ST_OK) {
        return st;
    }
    if ((st = qtd_model_bind(&g_model, &blob, why)) != QTD_ST_OK) {
        return st;
    }
    g_loaded = true;
    return QTD_ST_OK;
}
