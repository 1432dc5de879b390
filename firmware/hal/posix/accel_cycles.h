/* Engine clock cycles of one inference of rtl/qtd_engine.v (START to DONE, as the CYCLES
 * register counts them), for the virtual board's C model of the accelerator. */
#ifndef QTD_ACCEL_CYCLES_H
#define QTD_ACCEL_CYCLES_H

#include <stdint.h>

/* window T, features M, d_model D, ffn F, horizon H, MAC lanes L (layers = heads = 1). */
uint32_t accel_cycles(uint32_t T, uint32_t M, uint32_t D, uint32_t F, uint32_t H, uint32_t L);

#endif /* QTD_ACCEL_CYCLES_H */
