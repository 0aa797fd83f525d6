"""The availability ledger of one meter: a sliding window of good readings.

Pure and synchronous: the stream processor feeds it readings already converted to the stream's
unit and persists :meth:`MeterWindow.to_state` between messages.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(slots=True)
class MeterWindow:
    """Readings of one meter over the last ``window_s`` seconds.

    Guarantees:
        - Only readings inside ``(newest - window_s, newest]`` count.
        - Readings are taken in time order per meter: a reading not newer than the newest one
          already counted is ignored. That makes replays (at-least-once delivery, a historian
          re-sending a batch) no-ops, so the window never counts a reading twice. Late,
          out-of-order readings are still stored by the sink; they only miss the live ledger,
          which is about the present.
    """

    window_s: float
    samples: deque[tuple[float, float]] = field(default_factory=deque)
    total: float = 0.0
    total_sq: float = 0.0
    newest: float = -math.inf

    def add(self, ts: datetime, value: float) -> bool:
        """Count one good reading (value in the stream's unit); returns whether it counted."""
        return self.add_at(ts.timestamp(), value)

    def add_at(self, t: float, value: float) -> bool:
        """:meth:`add` with the reading's time as Unix seconds (what the window keeps)."""
        if t <= self.newest:
            return False
        samples = self.samples
        samples.append((t, value))
        self.total += value
        self.total_sq += value * value
        self.newest = t
        cutoff = t - self.window_s
        while samples[0][0] <= cutoff:
            _, v = samples.popleft()
            self.total -= v
            self.total_sq -= v * v
        return True

    def stop(self, ts: datetime) -> bool:
        """The meter reported at ``ts`` that it cannot measure (a ``bad`` reading).

        Newer than the newest reading: the window is emptied (it counts nothing, so its stream's
        surplus stops being available) and later good readings start it again; returns whether
        it did. Not newer: ignored, like a replayed reading.
        """
        return self.stop_at(ts.timestamp())

    def stop_at(self, t: float) -> bool:
        """:meth:`stop` with the reading's time as Unix seconds."""
        if t <= self.newest:
            return False
        self.samples.clear()
        self.total = self.total_sq = 0.0
        self.newest = t
        return True

    @property
    def count(self) -> int:
        """Good readings in the window."""
        return len(self.samples)

    @property
    def measured(self) -> float:
        """Mean of the window's readings (0 when empty)."""
        return self.total / len(self.samples) if self.samples else 0.0

    @property
    def steadiness(self) -> float:
        """``1 - coefficient of variation``, clipped to [0, 1]; 0 for an empty or zero window."""
        n = len(self.samples)
        mean = self.measured
        if n == 0 or mean <= 0:
            return 0.0
        variance = max(self.total_sq / n - mean * mean, 0.0)
        return min(max(1.0 - math.sqrt(variance) / mean, 0.0), 1.0)

    def to_state(self) -> list[Any]:
        """A snapshot for orjson (pairs as tuples): ``[newest, [[t, v], ...]]`` once written."""
        return [None if self.newest == -math.inf else self.newest, list(self.samples)]

    @classmethod
    def from_state(cls, window_s: float, state: list[Any]) -> MeterWindow:
        """Rebuild a window from :meth:`to_state` (sums recomputed, so they carry no drift)."""
        newest, samples = state
        window = cls(window_s)
        for t, v in samples:
            window.samples.append((float(t), float(v)))
            window.total += v
            window.total_sq += v * v
        window.newest = -math.inf if newest is None else float(newest)
        return window


@dataclass(frozen=True, slots=True)
class StreamFigures:
    """What a stream's meter windows add up to (see :func:`stream_figures`)."""

    newest: float
    """Time of the newest reading of any meter (``-inf``: none)."""
    measured: float
    """Sum of the counting meters' means (unrounded)."""
    steadiness: float
    """The lowest steadiness of the counting meters (0 when none counts)."""
    samples: int
    """Good readings in the counting meters' windows."""


def stream_figures(meters: Iterable[MeterWindow], window_s: float) -> StreamFigures:
    """Add up a stream's meters, as its ledger entry reports them.

    A meter counts while its newest reading is less than ``window_s`` older than the stream's
    newest (a meter that went quiet, or only reports uncertain values, stops counting; a bad
    reading emptied its window at once). The figures equal summing :attr:`MeterWindow.measured`
    and taking the least :attr:`MeterWindow.steadiness` of the counting meters, in one pass.
    """
    windows = list(meters)
    newest = max((m.newest for m in windows), default=-math.inf)
    cutoff = newest - window_s
    measured = 0.0
    steadiness = math.inf
    samples = 0
    for m in windows:
        if m.newest <= cutoff:
            continue
        n = len(m.samples)
        samples += n
        if n == 0:
            steadiness = 0.0
            continue
        mean = m.total / n
        measured += mean
        if mean <= 0:
            steadiness = 0.0
        elif steadiness > 0.0:
            variance = max(m.total_sq / n - mean * mean, 0.0)
            steadiness = min(steadiness, min(max(1.0 - math.sqrt(variance) / mean, 0.0), 1.0))
    return StreamFigures(newest, measured, 0.0 if steadiness == math.inf else steadiness, samples)
