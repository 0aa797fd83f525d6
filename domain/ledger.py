"""The availability ledger of one meter: a sliding window of good readings.

Pure and synchronous: the stream processor feeds it readings already converted to the stream's
unit and persists :meth:`MeterWindow.packed` between messages.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Final

from schemas.readings import LATEST_READING_S

_COMPACT_AT: Final = 64
"""A window drops the readings it evicted once they are this many numbers and half its array."""

_LITTLE_ENDIAN: Final = sys.byteorder == "little"


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

    The readings are kept flat in one array of doubles (time, value, time, value...), so a
    snapshot of the window (:meth:`packed`) is one copy of memory, not a number formatted per
    reading: the stream worker writes one for every stream update.
    """

    window_s: float
    samples: array[float] = field(default_factory=lambda: array("d"))
    """Time (Unix s) and value of each reading, flat, oldest first, from position ``start``."""
    start: int = 0
    """Position of the oldest reading still in the window (the ones before it were evicted)."""
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
        samples.append(t)
        samples.append(value)
        self.total += value
        self.total_sq += value * value
        self.newest = t
        cutoff = t - self.window_s
        start = self.start
        while samples[start] <= cutoff:  # stops at the reading just added at the latest
            v = samples[start + 1]
            self.total -= v
            self.total_sq -= v * v
            start += 2
        if start >= _COMPACT_AT and 2 * start >= len(samples):
            del samples[:start]
            start = 0
        self.start = start
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
        del self.samples[:]
        self.start = 0
        self.total = self.total_sq = 0.0
        self.newest = t
        return True

    @property
    def count(self) -> int:
        """Good readings in the window."""
        return (len(self.samples) - self.start) >> 1

    @property
    def measured(self) -> float:
        """Mean of the window's readings (0 when empty)."""
        n = self.count
        return self.total / n if n else 0.0

    @property
    def steadiness(self) -> float:
        """``1 - coefficient of variation``, clipped to [0, 1]; 0 for an empty or zero window."""
        return _steadiness(self.count, self.total, self.total_sq)

    def readings(self) -> list[tuple[float, float]]:
        """The window's readings, oldest first, as (time, value) pairs."""
        flat = self.samples[self.start :]
        return list(zip(flat[::2], flat[1::2], strict=True))

    def packed(self) -> bytes:
        """The window's readings as little-endian doubles: time, value, time, value...

        With :attr:`newest`, what :meth:`from_packed` rebuilds the window from.
        """
        if _LITTLE_ENDIAN:
            with memoryview(self.samples) as view:
                return view[self.start :].tobytes()
        flat = self.samples[self.start :]
        flat.byteswap()
        return flat.tobytes()

    @classmethod
    def from_packed(cls, window_s: float, newest: float | None, data: bytes) -> MeterWindow:
        """Rebuild a window from :meth:`packed` and its newest time (``None``: never read).

        The sums are recomputed in the readings' order (without the drift of a window's running
        sums, which add and subtract as readings come and go).

        Raises:
            ValueError: ``data`` is not a whole number of (time, value) pairs, holds a number
                that is not finite, or times not increasing or after ``newest`` (a window only
                ever holds such readings: the snapshot is damaged).
        """
        if len(data) % 16:
            raise ValueError(f"a packed window holds pairs of doubles, not {len(data)} bytes")
        samples = array("d")
        samples.frombytes(data)
        if not _LITTLE_ENDIAN:
            samples.byteswap()
        return cls._from_samples(window_s, newest, samples)

    @classmethod
    def from_state(cls, window_s: float, state: Any) -> MeterWindow:
        """Rebuild a window from a JSON snapshot ``[newest, [[t, v], ...]]``.

        The form the stream worker wrote before 2026-12-05 (:meth:`packed` since): a worker
        restored from an older changelog reads it, checked as :meth:`from_packed` checks.

        Raises:
            ValueError: ``state`` is not of this form, or as :meth:`from_packed`.
        """
        try:
            newest, pairs = state
            samples = array("d", [x for t, v in pairs for x in (float(t), float(v))])
        except (TypeError, ValueError) as e:
            raise ValueError(f"not a window snapshot [newest, [[t, v], ...]]: {e}") from e
        return cls._from_samples(window_s, newest, samples)

    @classmethod
    def _from_samples(cls, window_s: float, newest: Any, samples: array[float]) -> MeterWindow:
        """A window of these flat readings, checked; its sums recomputed in their order."""
        if newest is not None and (type(newest) not in (int, float) or not math.isfinite(newest)):
            raise ValueError(f"a window's newest time {newest!r} is not finite or not a number")
        # no reading is newer: a newest time after it would make the window ignore every
        # reading to come
        if newest is not None and newest > LATEST_READING_S:
            raise ValueError(f"a window's newest time {newest!r} is after any reading's")
        window = cls(window_s, samples)
        window.newest = -math.inf if newest is None else float(newest)
        if not all(map(math.isfinite, samples)):
            raise ValueError("a window snapshot holds a number that is not finite")
        times = samples[::2]
        if any(a >= b for a, b in pairwise(times)) or (times and times[-1] > window.newest):
            raise ValueError("a window snapshot holds times not increasing")
        for v in samples[1::2]:
            window.total += v
            window.total_sq += v * v
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
        n = (len(m.samples) - m.start) >> 1
        samples += n
        if n:
            measured += m.total / n
        if steadiness > 0.0:
            steadiness = min(steadiness, _steadiness(n, m.total, m.total_sq))
    return StreamFigures(newest, measured, 0.0 if steadiness == math.inf else steadiness, samples)


def _steadiness(n: int, total: float, total_sq: float) -> float:
    """``1 - coefficient of variation`` of ``n`` readings of these sums, clipped to [0, 1].

    0 for no readings or a mean not above zero.
    """
    if n == 0:
        return 0.0
    mean = total / n
    if mean <= 0:
        return 0.0
    variance = max(total_sq / n - mean * mean, 0.0)
    return min(max(1.0 - math.sqrt(variance) / mean, 0.0), 1.0)
