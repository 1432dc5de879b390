/* The core's result type: one of the QTD_ST_* codes from protocol.h, nothing else.
 * Why a typedef over the generated enum: the generated enums are anonymous (codegen keeps them
 * plain constants for C), and a named type makes every function's contract readable. */
#ifndef QTD_STATUS_H
#define QTD_STATUS_H

#include <stdint.h>

#include "qtd/protocol.h"

typedef uint8_t qtd_status_t;

#endif /* QTD_STATUS_H */
