"""A fault-injecting byte pipe between the host's link and the virtual board.

It wraps the real transport (the pty of a running ``qtd-virtual-board``) and damages bytes in
both directions, at the byte level, because bytes are the hardware boundary: a flipped bit on
the cable, a byte the UART overran, a line that goes quiet, a cable pulled mid-transfer. The
firmware and the host link see exactly what they would on a bad cable; nothing of ours is mocked.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from qtdeploy.errors import LinkError


@dataclass(frozen=True)
class Faults:
    """Rates are per byte, applied independently in each direction."""

    corrupt: float = 0.0  # probability a byte is replaced by a different one
    drop: float = 0.0  # probability a byte vanishes
    stall_every: int = 0  # after this many bytes read (0: never) the line goes quiet ...
    stall_s: float = 0.0  # ... for this long (bytes are delayed, not lost)
    disconnect_after: int = 0  # bytes written before the cable is pulled (0: never)
    seed: int = 1
    directions: str = "tx rx"  # where corrupt/drop apply: host->board "tx", board->host "rx"


class FaultyTransport:
    """Transport protocol (qtdeploy.link.transport) over another transport, with faults."""

    def __init__(self, inner, faults: Faults) -> None:
        self.inner, self.faults = inner, faults
        # one generator per direction: what the host sends is damaged the same way whatever the
        # timing of the board's answers (a shared one made the tx faults depend on read chunking)
        self.rng = {d: random.Random(f"{faults.seed}/{d}") for d in ("tx", "rx")}
        self.counts: Counter[str] = Counter()
        self.baud = getattr(inner, "baud", 921600)
        self._read_since_stall = 0
        self._quiet_until = 0.0
        self._dead = False

    def _damage(self, data: bytes, direction: str) -> bytes:
        f, out = self.faults, bytearray()
        if direction not in f.directions.split():
            return data
        rng = self.rng[direction]
        for b in data:
            r = rng.random()
            if r < f.drop:
                self.counts[f"dropped_{direction}"] += 1
                continue
            if r < f.drop + f.corrupt:
                self.counts[f"corrupted_{direction}"] += 1
                b ^= rng.randrange(1, 256)
            out.append(b)
        return bytes(out)

    def _check_alive(self) -> None:
        if self._dead:
            raise LinkError(
                "The serial port is gone (the cable was pulled).",
                "Reconnect the board and run the command again.",
            )

    def write(self, data: bytes) -> None:
        self._check_alive()
        limit = self.faults.disconnect_after
        if limit and self.counts["written"] + len(data) >= limit:
            self.inner.write(data[: max(0, limit - self.counts["written"])])
            self.counts["written"] = limit
            self._dead = True
            self._check_alive()
        self.counts["written"] += len(data)
        self.inner.write(self._damage(data, "tx"))

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self._check_alive()
        now = time.monotonic()
        if now < self._quiet_until:
            time.sleep(min(timeout, self._quiet_until - now))
            return b""
        data = self.inner.read(max_bytes, timeout)
        self._read_since_stall += len(data)
        if self.faults.stall_every and self._read_since_stall >= self.faults.stall_every:
            self._read_since_stall = 0
            self._quiet_until = time.monotonic() + self.faults.stall_s
            self.counts["stalls"] += 1
        return self._damage(data, "rx")

    def set_baud(self, baud: int) -> None:
        self.inner.set_baud(baud)

    def close(self) -> None:
        self.inner.close()

    @property
    def injected(self) -> int:
        return sum(v for k, v in self.counts.items() if k.startswith(("dropped", "corrupted")))
