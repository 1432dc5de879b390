/* What the virtual board is doing, for its power model: the hook the simulated parts call.
 *
 * Why a hook that first runs the PAC1934 models up to now: the monitors sample lazily (when
 * the I2C bus is touched), so without it every sample since the last I2C transaction would
 * take the state that holds *after* a change. Advancing them before each change gives every
 * sample the state at its own instant: the monitors see a step exactly where it happened.
 *
 *   sim_activity_set(PM_CONFIGURING)         fpga_model.c, PROG_B released
 *   sim_activity_set_at(PM_IDLE, t_done)     fpga_model.c, DONE (or the failure) at its time
 *   sim_activity_set(PM_INFERRING / PM_IDLE) the accelerator model at START / DONE
 *   hal_activity(QTD_ACT_...)                the core (qtd/power.h): MODEL_LOAD, MCU inference */
#ifndef QTD_SIM_ACTIVITY_H
#define QTD_SIM_ACTIVITY_H

#include <stdint.h>

#include "power_model.h"

/* The one power model of the virtual board (board_posix.c initialises it). */
power_model_t *sim_power_model(void);
void sim_activity_set(pm_state_t state);
/* The state changed at t_us (<= now): samples up to t_us keep the old state. */
void sim_activity_set_at(pm_state_t state, uint64_t t_us);
pm_state_t sim_activity_get(void);

#endif /* QTD_SIM_ACTIVITY_H */
