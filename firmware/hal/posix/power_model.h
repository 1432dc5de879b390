/* The virtual board's power model: what each supply rail draws in each activity state of the
 * MCU and FPGA (protocol/power.md "Power model" has the table and where each number comes from).
 *
 * Why a state table: the PAC1934 model needs a current per rail at every sample instant, and
 * the host must be able to check the energy it reports against an independent integral; a
 * table of constant per-state currents plus zero-mean noise makes that integral exact. */
#ifndef QTD_POWER_MODEL_H
#define QTD_POWER_MODEL_H

#include <stdint.h>

/* Rails in boards/env5.toml order (rail id = index). */
enum {
    PM_SENSORS,
    PM_USB_RAW,
    PM_MCU,
    PM_WIFI,
    PM_FPGA_VCCIO,
    PM_FPGA_VCCAUX,
    PM_FPGA_VCCINT,
    PM_FPGA_VCCBRAM,
    PM_RAILS
};

typedef enum {
    PM_IDLE = 0,    /* MCU polling the link; FPGA configured, clock running, no work */
    PM_CONFIGURING, /* FPGA reading its bitstream from flash (bits / (clock x bus width), boards/env5.toml) */
    PM_LOADING,     /* weights streaming MCU -> accelerator over the fabric SPI */
    PM_INFERRING,   /* accelerator computing one window */
    PM_MCU_INFERRING, /* the MCU kernel computing one window; FPGA idle */
    PM_STATES
} pm_state_t;

typedef struct {
    pm_state_t state;
    uint32_t noise_ppm; /* peak of uniform zero-mean noise on each current, ppm of the value */
    uint64_t rng;       /* xorshift64 state: the same seed gives the same trace */
} power_model_t;

/* Nominal bus voltage (mV) and the state's current (uA) of a rail: the table. */
uint32_t power_model_bus_mv(unsigned rail);
uint32_t power_model_current_ua(pm_state_t state, unsigned rail);
/* Nominal power of a rail in a state, uW (bus x current): what an exact integral uses. */
uint64_t power_model_power_uw(pm_state_t state, unsigned rail);

void power_model_init(power_model_t *pm, uint64_t seed, uint32_t noise_ppm);
void power_model_set_state(power_model_t *pm, pm_state_t state);
/* One sample of a rail now: bus volts and current amperes (noise applied to the current). */
void power_model_sample(power_model_t *pm, unsigned rail, double *bus_v, double *current_a);

#endif /* QTD_POWER_MODEL_H */
