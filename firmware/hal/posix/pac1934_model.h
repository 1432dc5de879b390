/* A register-level PAC1934 on the virtual board's I2C bus (protocol/power.md "PAC1934 facts"):
 * the driver in core/pac193x.c cannot tell it from the chip. It samples its four channels at
 * the CTRL sample rate of simulated time, accumulates VPOWER codes and counts samples, and
 * latches everything on REFRESH / REFRESH_V, with the chip's register widths, big-endian bytes,
 * pointer auto-increment (skipping 0x1E/0x1F), byte-only writes and CTRL_ACT/CTRL_LAT.
 *
 * Why register level: the reference runtime's bugs (3 bytes of a 6-byte accumulator, energy
 * at a sample rate the chip was not running) live exactly at this seam; a higher-level fake
 * would have hidden them. Time is passed in by the caller (hal_time_us on the virtual board,
 * a simulated clock in tests), so samples happen lazily, when the bus is touched. */
#ifndef QTD_PAC1934_MODEL_H
#define QTD_PAC1934_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAC1934_MODEL_MAX 4u

/* The analog side: bus volts and shunt amperes of channel ch (0-based) now. */
typedef void (*pac1934_sample_fn)(void *ctx, unsigned ch, double *bus_v, double *current_a);

typedef struct {
    uint8_t addr7;
    uint32_t shunt_uohm[4];
    pac1934_sample_fn sample;
    void *ctx;
    /* chip state */
    uint8_t ptr;
    uint8_t ctrl, ctrl_act, ctrl_lat, dis, dis_act, dis_lat, neg, neg_act, neg_lat, slow;
    uint8_t rev;
    uint64_t epoch_us, n_since_epoch; /* sample schedule at the active rate */
    uint64_t acc[4];                  /* live, 48-bit */
    uint32_t count;                   /* live, 24-bit */
    uint16_t vbus[4], vsense[4];      /* last conversion */
    uint16_t hist_vbus[4][8], hist_vsense[4][8];
    unsigned hist_n;
    /* latched registers */
    uint64_t acc_l[4];
    uint32_t count_l;
    uint16_t vbus_l[4], vsense_l[4], vbus_avg_l[4], vsense_avg_l[4];
    uint32_t vpower_l[4];
    /* statistics for tests */
    uint64_t samples_total, refreshes;
} pac1934_model_t;

/* Power-on state: 1024 SPS, all channels on, unipolar, accumulators empty, at time now_us. */
void pac1934_model_init(pac1934_model_t *m, uint8_t addr7, const uint32_t shunt_uohm[4],
                        pac1934_sample_fn sample, void *ctx, uint64_t now_us);
/* Run the sampler up to now_us (the bus calls this before every transaction). */
void pac1934_model_advance(pac1934_model_t *m, uint64_t now_us);

/* The bus: models attached by address; an address with no model NACKs (returns false). */
void pac1934_bus_reset(void);
bool pac1934_bus_attach(pac1934_model_t *m);
bool pac1934_bus_write(uint8_t addr7, const uint8_t *buf, size_t len, uint64_t now_us);
bool pac1934_bus_read(uint8_t addr7, uint8_t *buf, size_t len, uint64_t now_us);
/* Run every attached model's sampler up to now_us (before the analog side changes). */
void pac1934_bus_advance(uint64_t now_us);

#endif /* QTD_PAC1934_MODEL_H */
