/* qtdeploy's configuration of the vendored heatshrink 0.4.1 decoder (from the heatshrink2 0.15.0
 * sdist, ISC license in LICENSE; heatshrink_decoder.c/.h and heatshrink_common.h are unmodified).
 * Static allocation, no malloc: the decoder state is one struct of 256 (window) + 32 (input
 * buffer) + 12 bytes, fixed at the parameters protocol.toml names for Codec HEATSHRINK. */
#ifndef HEATSHRINK_CONFIG_H
#define HEATSHRINK_CONFIG_H

#define HEATSHRINK_DYNAMIC_ALLOC 0
#define HEATSHRINK_STATIC_INPUT_BUFFER_SIZE 32
#define HEATSHRINK_STATIC_WINDOW_BITS 8
#define HEATSHRINK_STATIC_LOOKAHEAD_BITS 4

#define HEATSHRINK_DEBUGGING_LOGS 0
#define HEATSHRINK_USE_INDEX 0 /* encoder-only option; the board never encodes */

#endif
