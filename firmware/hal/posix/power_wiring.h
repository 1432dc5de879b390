/* See power_wiring.c. */
#ifndef QTD_SIM_POWER_WIRING_H
#define QTD_SIM_POWER_WIRING_H

#include "qtd/board.h"

/* Power model, PAC1934 models on the bus (absent ones left off), accelerator busy hook. */
void sim_power_wiring_init(const qtd_board_t *board);

#endif /* QTD_SIM_POWER_WIRING_H */
