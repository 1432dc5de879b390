/* The .qtb reader (protocol/blob.md, "Reading a blob, step by step"). See qtd/blob.h.
 *
 * No allocation: the tables are read in place, and the overlap/padding check walks the data
 * regions in offset order by repeated minimum search (O(n^2) over at most 257 regions, a few
 * milliseconds on the M0+, once per MODEL_LOAD) instead of sorting a copy. */
#include "qtd/blob.h"

#include <string.h>

#include "qtd/le.h"

#define MAGIC0      0x89u
#define VERSION     1u
#define ALIGN       4u
#define TABLES_AT   (QTD_BLOB_HEADER_SIZE + QTD_BLOB_MODEL_SIZE)
#define FLAG_SIGNED 0x01u

static const uint8_t k_magic[4] = {MAGIC0, 'Q', 'T', 'B'};

static bool all_zero(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        if (p[i]) {
            return false;
        }
    }
    return true;
}

static qtd_status_t invalid(const char **why, const char *text) {
    *why = text;
    return QTD_ST_BLOB_INVALID;
}

qtd_status_t qtd_blob_check_header(const uint8_t *hdr, uint32_t avail, uint32_t *payload_size,
                                   const char **why) {
    if (avail < QTD_BLOB_HEADER_SIZE) {
        return invalid(why, "blob shorter than its 128-byte header");
    }
    if (memcmp(hdr, k_magic, 4) != 0) {
        return invalid(why, "bad magic (not a .qtb blob)");
    }
    if (qtd_le16(hdr + 4) != VERSION) {
        return invalid(why, "blob format version is not 1");
    }
    if (qtd_le16(hdr + 6) != QTD_BLOB_HEADER_SIZE) {
        return invalid(why, "header_size is not 128");
    }
    uint32_t payload = qtd_le32(hdr + 0x10);
    if (qtd_le32(hdr + 0x0C) != 0 || qtd_le16(hdr + 0x14) != 0 || qtd_le16(hdr + 0x16) != 0 ||
        !all_zero(hdr + 0x38, 64) || !all_zero(hdr + 0x78, 8) || payload % ALIGN != 0) {
        return invalid(why, "non-zero flags, sig_type, signature or reserved bytes, or unaligned payload");
    }
    if (payload > avail - QTD_BLOB_HEADER_SIZE) {
        return invalid(why, "payload_size runs past the end of the blob");
    }
    if (payload < QTD_BLOB_MODEL_SIZE) {
        return invalid(why, "payload too short for the model section");
    }
    *payload_size = payload;
    return QTD_ST_OK;
}

/* ---- table entries ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *entry;
    uint8_t bits;
    uint8_t flags;
    uint32_t count;
    uint32_t offset;
    uint32_t length;
    const uint8_t *name; /* 32 bytes */
} entry_t;

static const uint8_t *tensor_entry(const qtd_blob_t *b, uint32_t i) {
    return b->base + TABLES_AT + QTD_BLOB_TENSOR_ENTRY * i;
}

static const uint8_t *lut_entry(const qtd_blob_t *b, uint32_t i) {
    return b->base + TABLES_AT + QTD_BLOB_TENSOR_ENTRY * b->n_tensors + QTD_BLOB_LUT_ENTRY * i;
}

/* Entry i of the combined list: tensors first, then LUTs. */
static entry_t get_entry(const qtd_blob_t *b, uint32_t i) {
    entry_t e;
    if (i < b->n_tensors) {
        const uint8_t *p = tensor_entry(b, i);
        e = (entry_t){p, p[2], p[3], qtd_le32(p + 44), qtd_le32(p + 36), qtd_le32(p + 40), p + 48};
    } else {
        const uint8_t *p = lut_entry(b, i - b->n_tensors);
        e = (entry_t){p, p[2], p[3], qtd_le32(p + 4), qtd_le32(p + 8), qtd_le32(p + 12), p + 16};
    }
    return e;
}

static bool bits_ok(uint8_t bits) {
    return (bits >= 2 && bits <= 8) || bits == 16 || bits == 32;
}

/* ceil(count * bits / 8) without 32-bit overflow. */
static uint64_t packed_size(uint32_t count, uint8_t bits) {
    return ((uint64_t)count * bits + 7u) / 8u;
}

static bool name_ok(const uint8_t *name) {
    uint32_t n = 0;
    while (n < QTD_BLOB_NAME_MAX && name[n] != 0) {
        if (name[n] < '!' || name[n] > '~') {
            return false;
        }
        n++;
    }
    return n >= 1 && n < QTD_BLOB_NAME_MAX && all_zero(name + n, QTD_BLOB_NAME_MAX - n);
}

static bool value_fits(int64_t v, uint8_t bits, bool is_signed) {
    if (is_signed) {
        int64_t half = (int64_t)1 << (bits - 1);
        return v >= -half && v < half;
    }
    return v >= 0 && v < ((int64_t)1 << bits);
}

static qtd_status_t check_entry(const qtd_blob_t *b, uint32_t i, uint32_t data_start, const char **why) {
    entry_t e = get_entry(b, i);
    bool is_tensor = i < b->n_tensors;
    uint32_t index = is_tensor ? i : i - b->n_tensors;
    if (qtd_le16(e.entry) != index || !bits_ok(e.bits) || (e.flags & ~FLAG_SIGNED) != 0 || e.count < 1) {
        return invalid(why, "table entry: bad id, bits, flags or count");
    }
    if (!name_ok(e.name)) {
        return invalid(why, "table entry: name not 1..31 printable ASCII, NUL-padded");
    }
    if (is_tensor) {
        const uint8_t *p = e.entry;
        uint8_t ndim = p[4];
        uint64_t prod = 1;
        if (ndim > 4 || p[5] || p[6] || p[7]) {
            return invalid(why, "tensor entry: ndim > 4 or reserved bytes set");
        }
        for (uint32_t d = 0; d < 4; d++) {
            uint32_t dim = qtd_le32(p + 8 + 4 * d);
            if (d < ndim) {
                prod *= dim;
                if (prod > 0xFFFFFFFFu) {
                    return invalid(why, "tensor entry: shape product overflows");
                }
            } else if (dim != 0) {
                return invalid(why, "tensor entry: unused dims must be 0");
            }
        }
        int32_t shift = (int32_t)qtd_le32(p + 32);
        if (prod != e.count || shift < -32 || shift > 63 ||
            !value_fits((int32_t)qtd_le32(p + 24), e.bits, e.flags & FLAG_SIGNED)) {
            return invalid(why, "tensor entry: count is not the shape's product, or bad shift/zero point");
        }
    }
    if (e.length != packed_size(e.count, e.bits)) {
        return invalid(why, "table entry: length does not match count and bits");
    }
    if (e.offset % ALIGN != 0 || e.offset < data_start || e.offset > b->size ||
        e.length > b->size - e.offset) {
        return invalid(why, "table entry: data outside the data area or unaligned");
    }
    if (e.offset > b->kept || e.length > b->kept - e.offset) {
        *why = "model too large for the memory it is loaded into";
        return QTD_ST_UNSUPPORTED;
    }
    uint32_t tail_bits = (uint32_t)(((uint64_t)e.count * e.bits) % 8u);
    if (tail_bits != 0 && (b->base[e.offset + e.length - 1] >> tail_bits) != 0) {
        return invalid(why, "non-zero unused bits after a tensor's last element");
    }
    /* names are unique across tensors and LUTs */
    for (uint32_t j = 0; j < i; j++) {
        if (memcmp(get_entry(b, j).name, e.name, QTD_BLOB_NAME_MAX) == 0) {
            return invalid(why, "two table entries share a name");
        }
    }
    return QTD_ST_OK;
}

/* Region r: 0 is the metadata, 1.. the table entries. */
static void region(const qtd_blob_t *b, uint32_t r, uint32_t *off, uint32_t *len) {
    if (r == 0) {
        const uint8_t *m = b->base + QTD_BLOB_HEADER_SIZE;
        *off = qtd_le32(m + 20);
        *len = qtd_le32(m + 24);
    } else {
        entry_t e = get_entry(b, r - 1);
        *off = e.offset;
        *len = e.length;
    }
}

/* Walk the regions in (offset, index) order: no overlap, zero bytes in every gap (within kept). */
static qtd_status_t check_regions(const qtd_blob_t *b, uint32_t data_start, const char **why) {
    uint32_t n = 1u + b->n_tensors + b->n_luts;
    uint32_t pos = data_start;
    uint64_t last_key = 0;
    bool first = true;
    for (uint32_t done = 0; done < n; done++) {
        uint64_t best = UINT64_MAX;
        for (uint32_t r = 0; r < n; r++) {
            uint32_t off, len;
            region(b, r, &off, &len);
            uint64_t key = ((uint64_t)off << 16) | r;
            if ((first || key > last_key) && key < best) {
                best = key;
            }
        }
        uint32_t r = (uint32_t)(best & 0xFFFFu), off, len;
        region(b, r, &off, &len);
        if (off < pos) {
            return invalid(why, "data regions overlap each other or the tables");
        }
        if (off > b->size || len > b->size - off) {
            return invalid(why, "metadata runs past the end of the blob");
        }
        uint32_t gap_end = off < b->kept ? off : b->kept;
        if (gap_end > pos && !all_zero(b->base + pos, gap_end - pos)) {
            return invalid(why, "non-zero padding between data regions");
        }
        pos = off + len;
        last_key = best;
        first = false;
    }
    if (pos < b->kept && !all_zero(b->base + pos, b->kept - pos)) {
        return invalid(why, "non-zero padding after the last data region");
    }
    return QTD_ST_OK;
}

/* ---- ABI id (blob.md "ABI id"): SHA-256 of the ABI string, first 4 bytes big-endian -------- */

static void put_str(qtd_sha256_t *s, const char *text) {
    qtd_sha256_update(s, (const uint8_t *)text, strlen(text));
}

static void put_dec(qtd_sha256_t *s, uint32_t v) {
    char buf[10];
    uint32_t n = 0;
    do {
        buf[sizeof buf - 1 - n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    qtd_sha256_update(s, (const uint8_t *)buf + sizeof buf - n, n);
}

static void put_widths(qtd_sha256_t *s, const qtd_blob_t *b, uint32_t from, uint32_t to) {
    for (uint32_t i = from; i < to; i++) {
        entry_t e = get_entry(b, i);
        if (i > from) {
            put_str(s, ",");
        }
        put_dec(s, e.bits);
        put_str(s, (e.flags & FLAG_SIGNED) ? "s" : "u");
    }
}

static uint32_t derive_abi(const qtd_blob_t *b) {
    static const char *const names[7] = {"window", "features", "d_model", "heads",
                                         "layers", "ffn",      "horizon"};
    const uint16_t vals[7] = {b->hp.window, b->hp.features, b->hp.d_model, b->hp.heads,
                              b->hp.layers, b->hp.ffn,      b->hp.horizon};
    qtd_sha256_t s;
    uint8_t digest[QTD_SHA256_SIZE];
    qtd_sha256_init(&s);
    put_str(&s, "qtdeploy-abi/1");
    for (unsigned i = 0; i < 7; i++) {
        put_str(&s, "|");
        put_str(&s, names[i]);
        put_str(&s, "=");
        put_dec(&s, vals[i]);
    }
    put_str(&s, "|tensors=");
    put_widths(&s, b, 0, b->n_tensors);
    put_str(&s, "|luts=");
    put_widths(&s, b, b->n_tensors, (uint32_t)b->n_tensors + b->n_luts);
    qtd_sha256_final(&s, digest);
    uint32_t id =
        ((uint32_t)digest[0] << 24) | ((uint32_t)digest[1] << 16) | ((uint32_t)digest[2] << 8) | digest[3];
    return id == 0 ? 1u : id == 0xFFFFFFFFu ? 0xFFFFFFFEu : id;
}

/* ---- parse -------------------------------------------------------------------------------- */

qtd_status_t qtd_blob_parse(qtd_blob_t *b, const uint8_t *base, uint32_t kept, const char **why) {
    memset(b, 0, sizeof *b);
    b->base = base;
    b->size = QTD_BLOB_HEADER_SIZE + qtd_le32(base + 0x10); /* checked by qtd_blob_check_header */
    b->kept = kept < b->size ? kept : b->size;
    b->abi = qtd_le32(base + 8);
    if (b->kept < TABLES_AT) {
        *why = "model too large for the memory it is loaded into";
        return QTD_ST_UNSUPPORTED;
    }
    const uint8_t *m = base + QTD_BLOB_HEADER_SIZE;
    uint16_t *hp[7] = {&b->hp.window, &b->hp.features, &b->hp.d_model, &b->hp.heads,
                       &b->hp.layers, &b->hp.ffn,      &b->hp.horizon};
    for (unsigned i = 0; i < 7; i++) {
        *hp[i] = qtd_le16(m + 2 * i);
        if (*hp[i] == 0) {
            return invalid(why, "a hyper-parameter is 0");
        }
    }
    if (b->hp.d_model % b->hp.heads != 0 || qtd_le16(m + 14) != 0 || qtd_le32(m + 28) != 0) {
        return invalid(why, "d_model not a multiple of heads, or reserved model fields set");
    }
    b->n_tensors = qtd_le16(m + 16);
    b->n_luts = qtd_le16(m + 18);
    uint32_t n = (uint32_t)b->n_tensors + b->n_luts;
    uint32_t tables_end = TABLES_AT + QTD_BLOB_TENSOR_ENTRY * b->n_tensors + QTD_BLOB_LUT_ENTRY * b->n_luts;
    if (tables_end > b->size) {
        return invalid(why, "tensor and LUT tables run past the payload");
    }
    if (n > QTD_BLOB_MAX_ENTRIES || tables_end > b->kept) {
        *why = "more tensors and LUTs than this firmware handles";
        return QTD_ST_UNSUPPORTED;
    }
    for (uint32_t i = 0; i < n; i++) {
        qtd_status_t st = check_entry(b, i, tables_end, why);
        if (st != QTD_ST_OK) {
            return st;
        }
    }
    qtd_status_t st = check_regions(b, tables_end, why);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (derive_abi(b) != b->abi) {
        return invalid(why, "header ABI id differs from the one derived from the model");
    }
    return QTD_ST_OK;
}

qtd_status_t qtd_blob_open(qtd_blob_t *b, const uint8_t *data, uint32_t len, const char **why) {
    uint32_t payload;
    qtd_status_t st = qtd_blob_check_header(data, len, &payload, why);
    if (st != QTD_ST_OK) {
        return st;
    }
    if (payload != len - QTD_BLOB_HEADER_SIZE) {
        return invalid(why, "bytes after the payload (a blob ends at 128 + payload_size)");
    }
    uint8_t digest[QTD_SHA256_SIZE];
    qtd_sha256_t s;
    qtd_sha256_init(&s);
    qtd_sha256_update(&s, data + QTD_BLOB_HEADER_SIZE, payload);
    qtd_sha256_final(&s, digest);
    if (memcmp(digest, data + 0x18, QTD_SHA256_SIZE) != 0) {
        return invalid(why, "payload SHA-256 does not match the header");
    }
    return qtd_blob_parse(b, data, len, why);
}

/* ---- look-up and unpacking ------------------------------------------------------------- */

void qtd_blob_at(const qtd_blob_t *b, uint32_t i, const char **name, qtd_tensor_t *out) {
    entry_t e = get_entry(b, i);
    memset(out, 0, sizeof *out);
    *name = (const char *)e.name;
    out->v.data = b->base + e.offset;
    out->v.count = e.count;
    out->v.bits = e.bits;
    out->v.is_signed = e.flags & FLAG_SIGNED;
    out->length = e.length;
    if (i < b->n_tensors) {
        out->ndim = e.entry[4];
        for (unsigned d = 0; d < 4; d++) {
            out->shape[d] = qtd_le32(e.entry + 8 + 4 * d);
        }
        out->zero_point = (int32_t)qtd_le32(e.entry + 24);
    } else {
        out->ndim = 1;
        out->shape[0] = e.count;
    }
}

bool qtd_blob_find(const qtd_blob_t *b, const char *name, qtd_tensor_t *out) {
    size_t len = strlen(name);
    if (len == 0 || len >= QTD_BLOB_NAME_MAX) {
        return false;
    }
    for (uint32_t i = 0; i < (uint32_t)b->n_tensors + b->n_luts; i++) {
        entry_t e = get_entry(b, i);
        if (memcmp(e.name, name, len) == 0 && e.name[len] == 0) {
            const char *ignored;
            qtd_blob_at(b, i, &ignored, out);
            return true;
        }
    }
    return false;
}

int32_t qtd_tensor_get(const qtd_vec_t *t, uint32_t i) {
    if (t->bits == 32) {
        return (int32_t)qtd_le32(t->data + 4u * i);
    }
    if (t->bits == 16) {
        uint16_t u = qtd_le16(t->data + 2u * i);
        return t->is_signed ? (int32_t)(int16_t)u : (int32_t)u;
    }
    /* blob.md "C reader": the element spans at most two bytes; touch the second only if needed */
    uint32_t o = i * t->bits;
    uint32_t u = t->data[o >> 3];
    if ((o & 7u) + t->bits > 8u) {
        u |= (uint32_t)t->data[(o >> 3) + 1] << 8;
    }
    u = (u >> (o & 7u)) & ((1u << t->bits) - 1u);
    if (!t->is_signed) {
        return (int32_t)u;
    }
    uint32_t s = 1u << (t->bits - 1);
    return (int32_t)(u ^ s) - (int32_t)s;
}

void qtd_unpack_row(const qtd_vec_t *t, uint32_t first, uint32_t n, int8_t *out) {
    const uint32_t b = t->bits;
    if (n == 0) {
        return;
    }
    if (b == 8) {
        memcpy(out, t->data + first, n); /* two's complement bytes are already int8 */
        return;
    }
    /* a bit buffer refilled a byte at a time: reads exactly the bytes that hold the elements */
    uint32_t bit = first * b;
    const uint8_t *p = t->data + (bit >> 3);
    uint32_t avail = 8u - (bit & 7u);
    uint32_t buf = avail ? (uint32_t)(*p++ >> (bit & 7u)) : 0u;
    const uint32_t mask = (1u << b) - 1u, sign = 1u << (b - 1);
    for (uint32_t i = 0; i < n; i++) {
        if (avail < b) {
            buf |= (uint32_t)*p++ << avail;
            avail += 8u;
        }
        uint32_t u = buf & mask;
        buf >>= b;
        avail -= b;
        out[i] = (int8_t)((int32_t)(u ^ sign) - (int32_t)sign);
    }
}
