/* The virtual board's power model: what each supply rail draws in each activity state of the
 * MCU and FPGA. The figures are the board file's (boards/env5.toml: the rails' sim_ua and
 * [power.sim], with their sources), compiled in by firmware/tools/board_header.py; protocol/power.md
 * §3 shows the same table and qtdeploy.energy.power_model predicts from it.
 *
 * Why a state table: the PAC1934 model needs a current per rail at every sample instant, and
 * the host must be able to check the energy it reports against an independent integral; a
 * table of constant per-state currents plus zero-mean noise makes that integral exact. */
#ifndef QTD_POWER_MODEL_H
#define QTD_POWER_MODEL_H

#include <stdint.h>

#include "qtd/board_config.h"

/* Rails in the board file's order (rail id = index); 0 for a board without [power.sim]. */
#define PM_RAILS QTD_BOARD_SIM_RAILS

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
