/* The model blob (.qtb, protocol/blob.md): header check, table parse, tensor look-up, and the
 * LSB-first bit unpacking of 2..8-bit tensors.
 *
 * The reader works on bytes in RAM. A blob streamed from flash is checked in two steps so that
 * the caller never needs the whole file at once: qtd_blob_check_header on the first 128 bytes,
 * then the payload is hashed while it is copied (only as much as the caller can hold: the
 * metadata JSON at the end is host-only and need not be kept), then qtd_blob_parse on what was
 * kept. Every offset, length and count is checked before it is used, so a malformed blob gives
 * BLOB_INVALID (or UNSUPPORTED when it is well-formed but too big to keep), never a stray read. */
#ifndef QTD_BLOB_H
#define QTD_BLOB_H

#include <stdbool.h>
#include <stdint.h>

#include "qtd/sha256.h"
#include "qtd/status.h"

#define QTD_BLOB_HEADER_SIZE  128u
#define QTD_BLOB_MODEL_SIZE   32u
#define QTD_BLOB_TENSOR_ENTRY 80u
#define QTD_BLOB_LUT_ENTRY    48u
#define QTD_BLOB_NAME_MAX     32u  /* including the NUL padding: names are 1..31 characters */
#define QTD_BLOB_MAX_ENTRIES  256u /* tensors + LUTs; a 1-layer model has 55, 4 layers 151 */

/* The elements of a tensor or LUT: all the kernel keeps of it (12 bytes). */
typedef struct {
    const uint8_t *data; /* first byte of the element data (inside the blob buffer) */
    uint32_t count;      /* elements */
    uint8_t bits;        /* 2..8, 16 or 32 */
    bool is_signed;
} qtd_vec_t;

/* A table entry: its elements plus what the binder checks once. */
typedef struct {
    qtd_vec_t v;
    uint32_t length;   /* bytes of data, ceil(count * bits / 8) */
    uint32_t shape[4]; /* outermost first; unused dims 0 */
    uint8_t ndim;
    int32_t zero_point;
} qtd_tensor_t;

typedef struct {
    uint16_t window, features, d_model, heads, layers, ffn, horizon;
} qtd_hparams_t;

typedef struct {
    const uint8_t *base; /* blob byte 0 */
    uint32_t kept;       /* bytes available at base (may stop before the metadata) */
    uint32_t size;       /* the blob's full size, 128 + payload_size */
    uint32_t abi;
    qtd_hparams_t hp;
    uint16_t n_tensors;
    uint16_t n_luts;
} qtd_blob_t;

/* Step 1 of blob.md: magic, version, header size, reserved fields, sig_type, payload size a
 * multiple of 4 and 128 + payload_size <= avail. On success *payload_size is set. *why names
 * the failed check (a static string) for the link's error detail. */
qtd_status_t qtd_blob_check_header(const uint8_t *hdr, uint32_t avail, uint32_t *payload_size,
                                   const char **why);

/* Steps 3-5 and 7 on a blob whose header passed qtd_blob_check_header and whose payload hash
 * was checked by the caller (qtd_blob_open does both for a blob fully in RAM). kept may be less
 * than the blob's size: then every tensor and LUT must lie below kept (UNSUPPORTED otherwise,
 * the model is bigger than the memory it is loaded into). */
qtd_status_t qtd_blob_parse(qtd_blob_t *b, const uint8_t *base, uint32_t kept, const char **why);

/* A whole blob in RAM: header, SHA-256 of the payload, then qtd_blob_parse. */
qtd_status_t qtd_blob_open(qtd_blob_t *b, const uint8_t *data, uint32_t len, const char **why);

/* Entry i of the tables (tensors first, then LUTs), i < n_tensors + n_luts; *name points at
 * its NUL-terminated name inside the blob. */
void qtd_blob_at(const qtd_blob_t *b, uint32_t i, const char **name, qtd_tensor_t *out);

/* Look up a tensor or a LUT (a LUT is returned as a 1-D tensor) by name; false if absent. */
bool qtd_blob_find(const qtd_blob_t *b, const char *name, qtd_tensor_t *out);

/* Element i of a tensor, sign- or zero-extended (any width; i < count is the caller's duty). */
int32_t qtd_tensor_get(const qtd_vec_t *t, uint32_t i);

/* n elements starting at element first of a 2..8-bit tensor, sign-extended into out. Reads only
 * the bytes that hold them (blob.md "C reader"), whatever the bit alignment of first. */
void qtd_unpack_row(const qtd_vec_t *t, uint32_t first, uint32_t n, int8_t *out);

#endif /* QTD_BLOB_H */
