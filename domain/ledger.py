"""The availability ledger of one stream: a sliding window of good readings.

Pure and synchronous: the stream processor feeds it readings already converted to the stream's
unit and publishes what :meth:`StreamLedger.entry` returns.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class StreamLedger:
    """Measured surplus of one stream over the last ``window_s`` seconds of readings.

    Guarantees: only readings inside ``(newest - window_s, newest]`` count; a reading older than
    the window when it arrives is ignored (it cannot change the present); ``available`` is
    never negative.
    """

    window_s: float
    samples: deque[tuple[float, float]] = field(default_factory=deque)
    total: float = 0.0
    total_sq: float = 0.0
    newest: float = -math.inf
    available_since: float | None = None

    def add(self, ts: datetime, value: float) -> bool:
        """Count one good reading (value in the stream's unit); returns whether it counted."""
        t = ts.timestamp()
        if t <= self.newest - self.window_s:
            return False
        self.samples.append((t, value))
        self.total += value
        self.total_sq += value * value
        if t > self.newest:
            self.newest = t
        self._evict()
        return True

    def _evict(self) -> None:
        cutoff = self.newest - self.window_s
        while self.samples and self.samples[0][0] <= cutoff:
            _, v = self.samples.popleft()
            self.total -= v
            self.total_sq -= v * v
        if not self.samples:
            self.total = self.total_sq = 0.0

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

    def available(self, committed: float) -> float:
        """``max(measured - committed, 0)``; also tracks since when it has stayed above zero."""
        value = max(self.measured - committed, 0.0)
        if value > 0:
            if self.available_since is None:
                self.available_since = self.newest
        else:
            self.available_since = None
        return value
