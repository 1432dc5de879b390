"""The board's own firmware from the host: build the RP2040 UF2, install it, run it emulated.

``build`` runs the firmware's Makefile (``make rp2040``) into a cache directory keyed by the
sources; ``install`` copies a checked UF2 onto a mounted RPI-RP2 drive; the emulated board
lives in :mod:`qtdeploy.sim.rp2040`.
"""

from qtdeploy.firmware.build import FirmwareBuild, SizeReport, build, read_build_id

__all__ = ["FirmwareBuild", "SizeReport", "build", "read_build_id"]
