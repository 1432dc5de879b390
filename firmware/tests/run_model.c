/* Test driver for the blob reader and the MCU kernel (tests/firmware/test_kernel*.py).
 *
 *   run_model MODEL.qtb [X.txt] [--trace]
 *   run_model --dump BLOB.qtb
 *
 * Opens the blob exactly as the firmware does (qtd_blob_open + qtd_model_bind), prints
 *   MODEL window features d_model ffn horizon layers abi
 * then, for every window in X.txt (decimal integers, '#' lines skipped, window after window),
 *   Y <window> <y values...>
 * and with --trace every intermediate row before it:
 *   T <window> <vector name> <values...>
 * --dump checks the blob only (no model binding) and prints every tensor and LUT:
 *   E <name> <bits> <s|u> <count> <values...>
 * A refused blob prints "ERR <STATUS> <why>" on stderr and exits 3; other errors exit 2. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qtd/model.h"

static const char *const k_names[] = {
    [QTD_TR_H0] = "h0",         [QTD_TR_Q] = "q",         [QTD_TR_K] = "k",         [QTD_TR_V] = "v",
    [QTD_TR_SCORES] = "scores", [QTD_TR_EXP] = "exp",     [QTD_TR_EXPSUM] = "expsum", [QTD_TR_RECIP] = "recip",
    [QTD_TR_PROBS] = "probs",   [QTD_TR_CTX] = "ctx",     [QTD_TR_ATTN] = "attn",   [QTD_TR_RES1] = "res1",
    [QTD_TR_FFN1] = "ffn1",     [QTD_TR_FFN2] = "ffn2",   [QTD_TR_RES2] = "res2",   [QTD_TR_POOL] = "pool",
    [QTD_TR_Y] = "y",
};

static void on_trace(void *ctx, qtd_trace_id_t id, unsigned layer, unsigned row, const void *v, qtd_trace_type_t type,
                     unsigned n) {
    unsigned window = *(const unsigned *)ctx;
    (void)row;
    if (id == QTD_TR_H0 || id == QTD_TR_POOL || id == QTD_TR_Y) {
        printf("T %u %s", window, k_names[id]);
    } else {
        printf("T %u l%u.%s", window, layer, k_names[id]);
    }
    for (unsigned i = 0; i < n; i++) {
        long val = type == QTD_TR_I8    ? ((const int8_t *)v)[i]
                   : type == QTD_TR_U8 ? ((const uint8_t *)v)[i]
                                       : ((const int32_t *)v)[i];
        printf(" %ld", val);
    }
    printf("\n");
}

static uint8_t *read_file(const char *path, long *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len > 0 ? (size_t)*len : 1u); /* the host driver may allocate; the core never does */
    if (buf != NULL && fread(buf, 1, (size_t)*len, f) != (size_t)*len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *x_path = NULL;
    int trace = 0, dump = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--trace") == 0) {
            trace = 1;
        } else if (strcmp(argv[i], "--dump") == 0) {
            dump = 1;
        } else if (model_path == NULL) {
            model_path = argv[i];
        } else {
            x_path = argv[i];
        }
    }
    if (model_path == NULL) {
        fprintf(stderr, "usage: run_model MODEL.qtb [X.txt] [--trace]\n");
        return 2;
    }
    long len = 0;
    uint8_t *data = read_file(model_path, &len);
    if (data == NULL) {
        perror(model_path);
        return 2;
    }
    static qtd_model_t model;
    qtd_blob_t blob;
    const char *why = "";
    qtd_status_t st = qtd_blob_open(&blob, data, (uint32_t)len, &why);
    if (st == QTD_ST_OK && dump) {
        for (uint32_t i = 0; i < (uint32_t)blob.n_tensors + blob.n_luts; i++) {
            const char *name;
            qtd_tensor_t t;
            qtd_blob_at(&blob, i, &name, &t);
            printf("E %s %u %c %lu", name, t.v.bits, t.v.is_signed ? 's' : 'u', (unsigned long)t.v.count);
            for (uint32_t k = 0; k < t.v.count; k++) {
                printf(" %ld", (long)qtd_tensor_get(&t.v, k));
            }
            printf("\n");
            /* the kernel's row unpacker, in 5-element pieces (odd bit offsets), must agree */
            for (uint32_t k = 0; t.v.bits <= 8 && k < t.v.count; k += 5) {
                int8_t piece[5];
                uint32_t n = t.v.count - k < 5 ? t.v.count - k : 5;
                qtd_unpack_row(&t.v, k, n, piece);
                for (uint32_t e = 0; e < n && t.v.is_signed; e++) {
                    if (piece[e] != qtd_tensor_get(&t.v, k + e)) {
                        printf("MISMATCH %s %lu\n", name, (unsigned long)(k + e));
                    }
                }
            }
        }
        free(data);
        return 0;
    }
    if (st == QTD_ST_OK) {
        st = qtd_model_bind(&model, &blob, &why);
    }
    if (st != QTD_ST_OK) {
        fprintf(stderr, "ERR %s %s\n", qtd_status_name(st), why);
        free(data);
        return 3;
    }
    const qtd_hparams_t *hp = &model.hp;
    printf("MODEL %u %u %u %u %u %u 0x%08x\n", hp->window, hp->features, hp->d_model, hp->ffn, hp->horizon,
           hp->layers, (unsigned)blob.abi);
    int rc = 0;
    if (x_path != NULL) {
        FILE *f = fopen(x_path, "r");
        if (f == NULL) {
            perror(x_path);
            free(data);
            return 2;
        }
        const unsigned n_in = (unsigned)hp->window * hp->features;
        int8_t x[QTD_KERNEL_MAX_WINDOW * QTD_KERNEL_MAX_FEATURES];
        int32_t y[QTD_KERNEL_MAX_HORIZON];
        char line[4096];
        unsigned have = 0, window = 0;
        while (fgets(line, sizeof line, f) != NULL && rc == 0) {
            if (line[0] == '#') {
                continue;
            }
            for (char *p = line, *end; ; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p) {
                    break;
                }
                x[have++] = (int8_t)v;
                if (have == n_in) {
                    st = qtd_kernel_run(&model, x, y, trace ? on_trace : NULL, &window);
                    if (st != QTD_ST_OK) {
                        fprintf(stderr, "ERR %s window %u\n", qtd_status_name(st), window);
                        rc = 4;
                        break;
                    }
                    printf("Y %u", window);
                    for (unsigned h = 0; h < hp->horizon; h++) {
                        printf(" %ld", (long)y[h]);
                    }
                    printf("\n");
                    have = 0;
                    window++;
                }
            }
        }
        fclose(f);
    }
    free(data);
    return rc;
}
