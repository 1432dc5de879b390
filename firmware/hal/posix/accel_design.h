/* The accelerator design the virtual FPGA was configured with (accel_model.h): its shape and
 * widths from the bitstream's design descriptor, its memories ("BRAM": one per tensor and LUT,
 * filled through the register SPI's ports) and its engine, protocol/model.md computed from what
 * those memories hold. Split from accel_model.c, which is the register interface around it. */
#ifndef QTD_ACCEL_DESIGN_H
#define QTD_ACCEL_DESIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACCEL_N_TENSORS 54u /* layers = 1 (blob table order, protocol/model.md) */
#define ACCEL_MAX_H     16u

typedef struct {
    uint8_t bits;
    bool is_signed;
    uint32_t count, bytes;
    uint8_t *mem; /* the bytes as written through the port */
    int32_t *val; /* its elements, unpacked at START when written since (the RTL unpacks on load) */
    bool stale;
} accel_bram_t;

typedef struct {
    uint32_t T, M, D, F, H, lanes, clock_hz, cycles;
    accel_bram_t t[ACCEL_N_TENSORS]; /* by table index (WLOAD_TENSOR) */
    uint8_t tab[ACCEL_N_TENSORS];    /* role (canonical order) -> table index */
    accel_bram_t lut;
    uint32_t lut_len; /* the highest entry written since entry 0, + 1 (rtl/README.md) */
    int64_t *work;    /* the engine's activations, sized at parse (not allocated per inference) */
} accel_design_t;

/* Parse a descriptor (accel_model.h) whose ABI string must hash to abi, and allocate the
 * memories. false, with the reason in err, for an unusable one (nothing stays allocated). */
bool accel_design_parse(accel_design_t *d, const char *s, size_t len, uint32_t abi, char *err,
                        size_t err_len);
void accel_design_free(accel_design_t *d);
/* One inference: input (T*M int8) -> y[H] from the memories' contents. */
void accel_design_compute(accel_design_t *d, const uint8_t *input, int32_t *y);
/* s starts with the n bytes of lit: a byte loop, not strncmp (accel_design.c says why). */
bool accel_starts_with(const char *s, const char *lit, size_t n);

#endif /* QTD_ACCEL_DESIGN_H */
