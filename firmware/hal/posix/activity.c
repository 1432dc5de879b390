/* See activity.h. */
#include "activity.h"

#include "hal.h"
#include "pac1934_model.h"
#include "qtd/power.h"

static power_model_t g_pm = {PM_IDLE, 0, 1};

power_model_t *sim_power_model(void) {
    return &g_pm;
}

void sim_activity_set_at(pm_state_t state, uint64_t t_us) {
    pac1934_bus_advance(t_us);
    power_model_set_state(&g_pm, state);
}

void sim_activity_set(pm_state_t state) {
    sim_activity_set_at(state, hal_time_us());
}

pm_state_t sim_activity_get(void) {
    return g_pm.state;
}

_Static_assert((int)QTD_ACT_IDLE == (int)PM_IDLE && (int)QTD_ACT_CONFIGURING == (int)PM_CONFIGURING &&
                   (int)QTD_ACT_LOADING == (int)PM_LOADING && (int)QTD_ACT_INFERRING == (int)PM_INFERRING &&
                   (int)QTD_ACT_MCU_INFERRING == (int)PM_MCU_INFERRING,
               "qtd_activity_t and pm_state_t name the same states");

void hal_activity(qtd_activity_t activity) {
    sim_activity_set((pm_state_t)activity);
}
