"""qtdeploy: deploy integer-only quantized Transformer forecasters to MCU + FPGA sensor nodes.

The package is a library first; ``qtdeploy.cli`` is a thin layer over it. Modules:
errors (typed errors), _protocol (generated codes), formats (blob, bitstream), boards (board
files), link (framing, transport), model (QAT, integer reference), sim (virtual board).
"""

__version__ = "0.1.0"
