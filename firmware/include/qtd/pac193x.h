/* PAC1931/2/3/4 power/energy monitor driver over the I2C HAL (protocol/power.md has the
 * datasheet facts, DS20005850, and which of them were checked against what).
 *
 * Why this shape: the reference runtime (elastic-ai.runtime.enV5) read 3 bytes of the 6-byte
 * power accumulator and turned it into energy with a sample rate the chip was not running at.
 * Here one REFRESH latches every channel, one block read fetches the whole measurement block
 * (75 bytes from ACC_COUNT), and energy uses the sample rate the chip reports in CTRL_LAT for
 * exactly the window that was latched. Everything is integer: the core also runs on the M0+.
 * Unipolar (NEG_PWR = 0) channels only: every rail on our boards is a supply. */
#ifndef QTD_PAC193X_H
#define QTD_PAC193X_H

#include <stdbool.h>
#include <stdint.h>

#define QTD_PAC_CHANNELS 4u

/* Register map (DS20005850 Table 6-2 / 6-3). */
enum {
    QTD_PAC_REFRESH = 0x00,     /* command: latch, then reset accumulators and count */
    QTD_PAC_CTRL = 0x01,        /* [7:6] sample rate, [5] SLEEP, [4] SING, [3:1] alerts, [0] OVF */
    QTD_PAC_ACC_COUNT = 0x02,   /* 24-bit, samples in the accumulators */
    QTD_PAC_VPOWER1_ACC = 0x03, /* 48-bit each, 0x03..0x06 */
    QTD_PAC_VBUS1 = 0x07,       /* 16-bit each, 0x07..0x0A */
    QTD_PAC_VSENSE1 = 0x0B,     /* 16-bit each, 0x0B..0x0E */
    QTD_PAC_VBUS1_AVG = 0x0F,   /* 16-bit, average of the last 8 samples */
    QTD_PAC_VSENSE1_AVG = 0x13,
    QTD_PAC_VPOWER1 = 0x17, /* 32-bit register, value in bits [31:4] (28 bits) */
    QTD_PAC_CHANNEL_DIS = 0x1C,
    QTD_PAC_NEG_PWR = 0x1D,
    QTD_PAC_REFRESH_G = 0x1E, /* command: REFRESH for every PAC193x on the bus (general call) */
    QTD_PAC_REFRESH_V = 0x1F, /* command: latch without resetting the accumulators */
    QTD_PAC_SLOW = 0x20,
    QTD_PAC_CTRL_ACT = 0x21, /* settings in force now */
    QTD_PAC_CTRL_LAT = 0x24, /* settings in force during the latched window */
    QTD_PAC_PID = 0xFD,      /* 0x58 + channels - 1: PAC1934 = 0x5B */
    QTD_PAC_MID = 0xFE,      /* 0x5D, Microchip */
    QTD_PAC_REV = 0xFF,
};

#define QTD_PAC_MID_MICROCHIP 0x5Du
#define QTD_PAC_PID_PAC1931   0x58u
/* Bytes of the measurement block read from ACC_COUNT: 3 + 4x6 + 4x2 x4 + 4x4. */
#define QTD_PAC_BLOCK_BYTES 75u
/* After REFRESH the latched registers are stable this much later (datasheet: 1 ms). */
#define QTD_PAC_REFRESH_WAIT_US 1000u

typedef enum {
    QTD_PAC_OK = 0,
    QTD_PAC_NACK,    /* the address did not answer */
    QTD_PAC_BAD_ID,  /* MID/PID are not a PAC193x */
    QTD_PAC_BAD_ARG, /* unsupported sample rate, channel or shunt */
} qtd_pac_err_t;

typedef struct {
    uint8_t addr7;                         /* 0x10..0x1F */
    uint32_t shunt_uohm[QTD_PAC_CHANNELS]; /* from the board file; 0 = channel unused */
    /* filled by the driver */
    uint8_t channels; /* from PID */
    uint8_t revision;
    uint16_t rate_sps;                   /* what CTRL_ACT says now */
    uint64_t last_refresh_us;            /* when the last REFRESH(_V) was sent */
    bool pending_reset;                  /* a REFRESH whose window is not folded yet */
    int64_t energy_nj[QTD_PAC_CHANNELS]; /* running totals since qtd_pac_init */
    uint64_t samples;                    /* accumulated samples since qtd_pac_init */
} qtd_pac_t;

/* One channel's instantaneous reading, in the link's units (protocol/link.md RailReading). */
typedef struct {
    uint16_t bus_mv;
    int32_t current_ua;
    int32_t power_uw;
    bool saturated; /* VSENSE at full scale: the real current may be higher */
} qtd_pac_reading_t;

/* The latched measurement block, decoded (raw codes, plus the window's sample rate). */
typedef struct {
    uint32_t acc_count;
    uint64_t vpower_acc[QTD_PAC_CHANNELS]; /* 48-bit */
    uint16_t vbus[QTD_PAC_CHANNELS];
    uint16_t vsense[QTD_PAC_CHANNELS];
    uint16_t vbus_avg[QTD_PAC_CHANNELS];
    uint16_t vsense_avg[QTD_PAC_CHANNELS];
    uint32_t vpower[QTD_PAC_CHANNELS]; /* 28-bit */
    uint16_t window_rate_sps;          /* from CTRL_LAT */
} qtd_pac_block_t;

/* Check MID/PID/REV, select the sample rate (1024, 256, 64 or 8), REFRESH once so the rate is in
 * force and the accumulators start from zero. */
qtd_pac_err_t qtd_pac_init(qtd_pac_t *pac, uint16_t rate_sps);
/* Write CTRL (takes effect at the next REFRESH, which this sends, folding the old window into the
 * energy totals at the old rate). */
qtd_pac_err_t qtd_pac_set_rate(qtd_pac_t *pac, uint16_t rate_sps);
/* REFRESH (reset = true: accumulators restart; the window's energy is added to energy_nj) or
 * REFRESH_V (reset = false: live values only), wait, read the block into *out (may be NULL). */
qtd_pac_err_t qtd_pac_update(qtd_pac_t *pac, bool reset, qtd_pac_block_t *out);
/* The two halves of qtd_pac_update, for callers that must not block 1 ms (the firmware's power
 * poll refreshes every monitor, returns to the link, and collects QTD_PAC_REFRESH_WAIT_US later):
 * send REFRESH / REFRESH_V and note its time; read the block and, after a REFRESH, fold it. */
qtd_pac_err_t qtd_pac_refresh(qtd_pac_t *pac, bool reset);
qtd_pac_err_t qtd_pac_collect(qtd_pac_t *pac, qtd_pac_block_t *out);
/* Instantaneous V, I, P of a channel (0-based) from a block, with this pac's shunt. */
qtd_pac_reading_t qtd_pac_reading(const qtd_pac_t *pac, const qtd_pac_block_t *b, unsigned ch);
/* Energy in nJ of `acc` accumulator units at `rate_sps` through a shunt of `shunt_uohm`:
 * acc / 2^28 x (3.2 V^2 / Rsense) / rate. Exact to 1 nJ over the whole 48-bit range. */
int64_t qtd_pac_energy_nj(uint64_t acc, uint32_t shunt_uohm, uint16_t rate_sps);
/* The sample rate coded by CTRL bits [7:6], and back (0 for a rate the chip cannot do). */
uint16_t qtd_pac_rate_from_ctrl(uint8_t ctrl);
uint8_t qtd_pac_ctrl_for_rate(uint16_t rate_sps, bool *ok);
/* (a x b) / c without overflow for 64-bit a, b (c > 0); the quotient must fit 64 bits. */
uint64_t qtd_pac_muldiv(uint64_t a, uint64_t b, uint64_t c);

#endif /* QTD_PAC193X_H */
