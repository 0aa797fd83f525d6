"""Per-stream ledger state held by the stream worker, built on :mod:`domain.ledger`.

Thin glue: converts readings to the stream's unit, keeps one window per meter (a stream's
measured surplus is the sum of its meters' means), subtracts committed exchanges and produces
:class:`~schemas.ledger.LedgerEntry` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.ledger import StreamLedger
from domain.units import convert
from schemas.ledger import LedgerEntry
from schemas.readings import ReadingBatch, ReadingQuality
from schemas.registry import Park, Site, Stream


@dataclass(slots=True)
class _StreamState:
    site: Site
    stream: Stream
    committed: float
    meters: dict[str, StreamLedger] = field(default_factory=dict)
    available_since: float | None = None


class LedgerBook:
    """The ledger of every stream of a park; one :meth:`apply` per reading batch."""

    def __init__(self, park: Park, window_s: float) -> None:
        """Index the park's streams and their committed exchanges (in each stream's unit)."""
        self.window_s = window_s
        self._streams: dict[str, _StreamState] = {}
        committed: dict[str, float] = {}
        units = {st.id: st.unit for _, st in park.streams()}
        for x in park.exchanges:
            committed[x.stream] = committed.get(x.stream, 0.0) + convert(
                x.quantity, x.unit, units[x.stream], field=f"exchange {x.id!r} quantity"
            )
        for site, st in park.streams():
            self._streams[st.id] = _StreamState(site, st, committed.get(st.id, 0.0))

    def knows(self, stream_id: str) -> bool:
        """Whether ``stream_id`` is a stream of the park."""
        return stream_id in self._streams

    def apply(self, batch: ReadingBatch) -> LedgerEntry:
        """Count a batch's good readings and return the stream's ledger entry after it.

        Raises:
            KeyError: the batch names a stream the park does not have.
            domain.units.UnitError: a reading's unit cannot be converted to the stream's unit.
        """
        state = self._streams[batch.stream]
        unit = state.stream.unit
        for r in batch.readings:
            if r.quality is not ReadingQuality.GOOD:
                continue
            value = (
                r.value
                if r.unit == unit
                else convert(r.value, r.unit, unit, field=f"reading of meter {r.meter!r}")
            )
            ledger = state.meters.get(r.meter)
            if ledger is None:
                ledger = state.meters[r.meter] = StreamLedger(self.window_s)
            ledger.add(r.ts, value)
        return self._entry(state)

    def _entry(self, state: _StreamState) -> LedgerEntry:
        meters = list(state.meters.values())
        measured = sum(m.measured for m in meters)
        newest = max((m.newest for m in meters), default=0.0)
        available = max(measured - state.committed, 0.0)
        if available <= 0:
            state.available_since = None
        elif state.available_since is None:
            state.available_since = newest
        return LedgerEntry(
            stream=state.stream.id,
            site=state.site.id,
            kind=state.stream.kind,
            unit=state.stream.unit,
            window_s=self.window_s,
            measured=measured,
            committed=state.committed,
            available=available,
            steadiness=min((m.steadiness for m in meters), default=0.0),
            samples=sum(m.count for m in meters),
            available_since=(
                datetime.fromtimestamp(state.available_since, UTC)
                if state.available_since is not None
                else None
            ),
            updated_at=datetime.fromtimestamp(newest, UTC),
        )
