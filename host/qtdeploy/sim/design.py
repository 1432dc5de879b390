"""The design descriptor a simulated bitstream carries, so the virtual FPGA knows what it is.

A real bitstream *is* its design: the accelerator's shape, widths and MAC lanes are fixed when
Vivado builds it, and USR_ACCESS (the ABI) only names it. A simulated bitstream has no logic in
its frames, so it states the design in words at the start of its frame data (protocol/bitstream.md
"Simulated bitstreams")::

    "QTDD" (u32 BE), length in bytes (u32 BE), then the ASCII text, zero-padded to whole words:
    qtdeploy-sim-design/1|lanes=18|clock_hz=100000000|names=x.range,h0.range,...|qtdeploy-abi/1|...

The text from ``qtdeploy-abi/`` on is exactly the ABI string of protocol/blob.md, so the virtual
FPGA checks it against AXSS (SHA-256) and builds its accelerator model (firmware/hal/posix/
accel_design.c) for that shape; ``lanes`` and ``clock_hz`` are what the RTL's Verilog parameters
would be (qtdeploy.rtl.config), and decide the simulated cycles per inference; an optional
``multiboot=0`` says the design has no IPROG sequencer (qtd_top MULTIBOOT = 0); ``names`` is the
blob's tensor table order (the ABI string has widths only), which the C model follows and the
RTL requires to be the exporter's (qtdeploy.sim.rtl refuses to build other orders).
"""

from __future__ import annotations

from qtdeploy.errors import CompatibilityError

PREFIX = "qtdeploy-sim-design/1"
DEFAULT_CLOCK_HZ = 100_000_000  # rtl/qtd_top.v CLOCK_HZ


def sim_design(
    blob, *, lanes: int | None = None, clock_hz: int = DEFAULT_CLOCK_HZ, multiboot: bool = True
) -> str:
    """The descriptor of the accelerator the RTL would build for ``blob`` (qtdeploy.rtl.config).

    ``multiboot=False`` describes a design built without the ICAPE2 IPROG sequencer (qtd_top
    MULTIBOOT = 0, FEATURES.MULTIBOOT 0): one that cannot serve as slot A's golden image."""
    from qtdeploy.formats.abi import blob_abi_string
    from qtdeploy.rtl.config import from_blob

    cfg = from_blob(blob, lanes)  # refuses what the RTL does not build (layers, heads, mixed widths)
    if not 1 <= cfg.lanes <= 64 or clock_hz <= 0:
        raise CompatibilityError(
            f"lanes {cfg.lanes} / clock {clock_hz} Hz are outside the RTL's limits.",
            "Use 1..64 lanes and a positive clock.",
        )
    names = ",".join(t.name for t in blob.tensors)
    mb = "" if multiboot else "multiboot=0|"  # absent: the board top's default, MULTIBOOT = 1
    return f"{PREFIX}|lanes={cfg.lanes}|clock_hz={clock_hz}|names={names}|{mb}{blob_abi_string(blob)}"
