"""Per-stream ledger kept by the stream worker, built on :mod:`domain.ledger`.

Thin glue: the registry (sites with their streams, exchanges) arrives from compacted topics;
readings are converted to the stream's unit and counted in one window per meter (a stream's
measured surplus is the sum of its meters' means); committed exchanges are subtracted.

State: each stream's windows are snapshotted as bytes after every batch so the worker can keep
them in a changelog-backed table and recover them after a restart. A snapshot is only decoded
when the table holds a different object than the one this book wrote last (after recovery or
a rebalance), so the steady state costs one encode per batch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from domain.errors import InvalidRecordError, SymbiosisError, UnknownReferenceError
from domain.figures import significant
from domain.ledger import MeterWindow, stream_figures
from domain.units import convert
from schemas.ledger import LedgerEntry
from schemas.readings import EARLIEST_READING_S, LATEST_READING_S, BatchFields, ReadingQuality
from schemas.registry import Exchange, Site, Stream
from streams.damaged import DamagedState


@dataclass(slots=True)
class _Windows:
    meters: dict[str, MeterWindow] = field(default_factory=dict)
    available_since: float | None = None
    heard_at: float | None = None
    """When the stream was last heard from: the Kafka time of the newest record that moved one
    of its windows (a replayed or re-sent reading does not)."""
    stale_after: float | None = None
    """Set while the stream is stale: the time of the newest reading it had then."""
    partition: int | None = None
    """The readings partition the stream's state belongs to (where its changelog goes);
    ``None`` for a snapshot written before it was kept (known again at the next batch)."""
    snapshot: bytes | None = None

    def newest(self) -> float:
        """Time of the stream's newest good or bad reading (``-inf``: none yet)."""
        return max((m.newest for m in self.meters.values()), default=-math.inf)


class LedgerBook:
    """The ledger of every known stream; one :meth:`apply` per reading batch."""

    def __init__(
        self, window_s: float, *, max_skew_s: float = 300.0, stale_after_s: float = math.inf
    ) -> None:
        """An empty book; feed it sites and exchanges as the registry delivers them.

        Args:
            window_s: averaging window of every meter.
            max_skew_s: a reading more than this ahead of the wall clock is refused (a meter
                with a wrong clock would otherwise freeze its window until that time).
            stale_after_s: a stream with no good reading for this long is stale
                (:meth:`mark_stale`).
        """
        self.window_s = window_s
        self.max_skew_s = max_skew_s
        self.stale_after_s = stale_after_s
        self._streams: dict[str, tuple[Site, Stream]] = {}
        self._meters: dict[str, frozenset[str]] = {}
        # stream id -> exchange id -> (exchange, quantity in the stream's unit)
        self._exchanges: dict[str, dict[str, tuple[Exchange, float]]] = {}
        self._windows: dict[str, _Windows] = {}
        self._damaged: list[DamagedState] = []

    def take_damaged(self) -> list[DamagedState]:
        """The damaged table values met since the last call (each once), and forget them."""
        found, self._damaged = self._damaged, []
        return found

    def update_site(self, site: Site) -> None:
        """Register or replace a site and its streams (streams it no longer lists are dropped)."""
        for stream_id in [k for k, (s, _) in self._streams.items() if s.id == site.id]:
            del self._streams[stream_id]
            self._windows.pop(stream_id, None)
        for stream in site.streams:
            self._streams[stream.id] = (site, stream)
            self._meters[stream.id] = frozenset(stream.meter_ids)
            # the stream's unit may have changed: convert its exchanges again; one that no
            # longer converts stops counting (its record stays on the registry topic)
            for x, _ in list(self._exchanges.get(stream.id, {}).values()):
                try:
                    self.set_exchange(x)
                except SymbiosisError:
                    self.remove_exchange(x.id)

    def set_exchange(self, exchange: Exchange) -> None:
        """Register or replace an exchange; only an active one counts (a proposal is dropped).

        Its quantity is converted to the stream's unit here, once, so a unit that does not
        convert is refused at registration and never fails a reading batch later.

        Raises:
            UnknownReferenceError: the exchange names an unknown stream (nothing changed).
            UnitError: its unit does not convert to the stream's unit (nothing changed).
        """
        if not exchange.committed:
            self.remove_exchange(exchange.id)
            return
        found = self._streams.get(exchange.stream)
        if found is None:
            raise UnknownReferenceError(f"stream: exchange {exchange.id!r} names an unknown stream")
        stream = found[1]
        quantity = convert(
            exchange.quantity, exchange.unit, stream.unit,
            field=f"exchange {exchange.id!r} quantity", kind=stream.kind,
            gas_species=stream.gas_species, density_kg_per_m3=stream.density_kg_per_m3,
        )  # fmt: skip
        self.remove_exchange(exchange.id)
        self._exchanges.setdefault(exchange.stream, {})[exchange.id] = (exchange, quantity)

    def remove_exchange(self, exchange_id: str) -> None:
        """Forget an exchange (no error if unknown)."""
        for by_id in self._exchanges.values():
            by_id.pop(exchange_id, None)

    def knows(self, stream_id: str) -> bool:
        """Whether ``stream_id`` is a registered stream."""
        return stream_id in self._streams

    def committed(self, stream_id: str, at: datetime) -> float:
        """Quantity of active exchanges from the stream running at ``at``, in its unit."""
        total = 0.0
        for x, quantity in self._exchanges.get(stream_id, {}).values():
            if (x.start is not None and at < x.start) or (x.end is not None and at >= x.end):
                continue
            total += quantity
        return total

    def apply(
        self,
        batch: BatchFields,
        snapshot: bytes | None,
        *,
        partition: int = 0,
        received_at: float | None = None,
    ) -> tuple[LedgerEntry, bytes]:
        """Count a batch's good readings; return the stream's entry and its new snapshot.

        A stale stream (:meth:`mark_stale`) stays stale, its entries at zero, until a good
        reading newer than its meter's newest arrives (a replayed or re-sent batch, or a
        ``bad`` reading, does not bring it back); its first entry then is dated after the
        stale entry, so the newest entry of the stream is the one that says it is back.

        A ``bad`` reading newer than its meter's newest empties that meter's window
        (:meth:`~domain.ledger.MeterWindow.stop`: e.g. a Sparkplug edge node died), so the
        stream counts nothing of it until its next good reading; ``uncertain`` ones are skipped.

        Long because: it checks and converts the whole batch before touching any window (all
        or nothing), then applies it with the rollback that guarantee needs.

        All or nothing: the batch is checked and converted before any window changes, and a
        failure afterwards drops the cached windows, so a rejected batch never leaves a trace
        in the ledger (the next batch starts again from the table's snapshot).

        A table value that is no snapshot (damaged: :func:`_decode` refuses it) does not stop
        the stream: its windows start afresh from this batch (the readings counted before are
        lost to the ledger, not to the readings table), and the value is kept for
        :meth:`take_damaged` to report.

        Args:
            batch: readings of one stream.
            snapshot: what the worker's table holds for the stream (``None``: nothing yet).
            partition: the readings partition the batch came from (kept in the snapshot).
            received_at: the Kafka time of the batch's record (Unix seconds; default: its
                newest reading's time), what staleness is judged by.

        Raises:
            UnknownReferenceError: the batch names an unknown stream.
            InvalidRecordError: a meter not listed for the stream, or a time in the future.
            UnitError: a reading's unit cannot be converted to the stream's unit.
        """
        found = self._streams.get(batch.stream)
        if found is None:
            raise UnknownReferenceError(f"stream: {batch.stream!r} is not a registered stream")
        site, stream = found
        meters = self._meters[batch.stream]
        latest = time.time() + self.max_skew_s
        unit = stream.unit
        # a good reading's value; None: a bad one (the meter cannot measure, so it stops)
        good: list[tuple[str, float, float | None]] = []
        for i, r in enumerate(batch.readings):
            if r.meter not in meters:
                raise InvalidRecordError(
                    f"readings[{i}].meter: {r.meter!r} is not a meter of stream {stream.id!r}"
                )
            t = r.ts.timestamp()
            if t > latest:
                raise InvalidRecordError(
                    f"readings[{i}].ts: {r.ts.isoformat()} is more than {self.max_skew_s:.0f} s "
                    "in the future (meter clock wrong?)"
                )
            quality = r.quality
            if quality is ReadingQuality.GOOD:
                value = r.value
                if r.unit != unit:
                    value = convert(
                        value, r.unit, unit, field=f"readings[{i}] of meter {r.meter!r}",
                        kind=stream.kind, gas_species=stream.gas_species,
                        density_kg_per_m3=stream.density_kg_per_m3,
                    )  # fmt: skip
                good.append((r.meter, t, value))
            elif quality is ReadingQuality.BAD:
                good.append((r.meter, t, None))
        windows = self._windows_for(batch.stream, snapshot, applying=True)
        try:
            moved = counted = False
            by_meter = windows.meters
            for meter, t, counts in good:
                window = by_meter.get(meter)
                if window is None:
                    window = by_meter[meter] = MeterWindow(self.window_s)
                if counts is None:
                    moved |= window.stop_at(t)
                elif window.add_at(t, counts):
                    moved = counted = True
            windows.partition = partition
            if moved:  # heard from (a bad reading too: the meter reports it cannot measure)
                heard = (
                    max(r.ts for r in batch.readings).timestamp()
                    if received_at is None
                    else received_at
                )
                windows.heard_at = heard
            was_stale = windows.stale_after
            if counted:  # a newer good reading: a stale stream is back
                windows.stale_after = None
            if windows.stale_after is not None:
                entry = self._stale_entry(site, stream, windows, windows.stale_after)
            else:
                entry = self._entry(site, stream, windows, batch)
                if was_stale is not None:
                    entry = self._after_stale(entry, was_stale)
            windows.snapshot = _encode(windows)
        except BaseException:
            self._windows.pop(batch.stream, None)
            # a refused batch heals nothing: its damaged value is met (and reported) again
            self._damaged = [d for d in self._damaged if d.stream != batch.stream]
            raise
        return entry, windows.snapshot

    def partition_of(self, stream_id: str, snapshot: bytes) -> int | None:
        """The readings partition ``snapshot`` (the stream's table value) belongs to.

        ``None`` for an unknown stream, or a snapshot written before partitions were kept.
        """
        if stream_id not in self._streams:
            return None
        return self._windows_for(stream_id, snapshot).partition

    def mark_stale(
        self, stream_id: str, snapshot: bytes, clock: float
    ) -> tuple[LedgerEntry, bytes] | None:
        """Make the stream stale if not heard from for ``stale_after_s`` at ``clock``.

        Heard from: a record that moved one of its windows arrived (Kafka time, see
        :meth:`apply`), so a historian back-filling old readings keeps its streams alive and a
        meter whose readings stopped, or only repeat what was counted, goes stale.

        Returns ``None`` when nothing changes (an unknown stream, one already stale, one heard
        from recently); else its stale entry (zero measured and available, ``stale``, dated
        in the stream's own time: its newest reading's time + ``stale_after_s``, so the same
        snapshot always gives the same entry and it sorts after the stream's last entry) and
        its new snapshot. Its windows are kept: a newer reading brings the stream back
        (:meth:`apply`).

        Args:
            stream_id: the stream.
            snapshot: what the worker's table holds for it.
            clock: the time it is judged at (Unix seconds, Kafka time): the wall clock when the
                worker has read its partition to the end, else the time of the last record it
                read.
        """
        found = self._streams.get(stream_id)
        if found is None:
            return None
        windows = self._windows_for(stream_id, snapshot)
        newest = windows.newest()
        if newest == -math.inf or windows.stale_after is not None:
            return None  # never read (nothing to count), or already stale
        heard = newest if windows.heard_at is None else windows.heard_at
        if clock < heard + self.stale_after_s:
            return None
        try:
            windows.stale_after = newest
            entry = self._stale_entry(*found, windows, newest)
            windows.snapshot = _encode(windows)
        except BaseException:
            self._windows.pop(stream_id, None)
            raise
        return entry, windows.snapshot

    def _windows_for(
        self, stream_id: str, snapshot: bytes | None, *, applying: bool = False
    ) -> _Windows:
        cached = self._windows.get(stream_id)
        if cached is not None and cached.snapshot is snapshot:
            return cached
        windows = _Windows()
        if snapshot is not None:
            try:
                state, meters = _decode(snapshot, self.window_s)
            except ValueError as e:  # a damaged value never stops the stream: it starts afresh
                self._damaged.append(DamagedState(stream_id, str(e), snapshot, applying))
            else:
                windows.meters = meters
                windows.available_since = state["s"]
                windows.stale_after = state.get("z")
                windows.heard_at = state.get("h")
                windows.partition = state.get("p")
            windows.snapshot = snapshot  # the same value again is not read (nor reported) again
        self._windows[stream_id] = windows
        return windows

    def _after_stale(self, entry: LedgerEntry, stale_after: float) -> LedgerEntry:
        """A stream's first entry after it was stale, dated after its stale entry.

        Its newest reading may be older than the stale entry's date (readings a gateway held
        back, a meter clock ahead): readers take a stream's newest entry as its state.
        """
        stale_at = datetime.fromtimestamp(stale_after + self.stale_after_s, UTC)
        if entry.updated_at > stale_at:
            return entry
        return entry.model_copy(update={"updated_at": stale_at + timedelta(milliseconds=1)})

    def _stale_entry(
        self, site: Site, stream: Stream, windows: _Windows, newest: float
    ) -> LedgerEntry:
        """The entry of a stale stream: nothing measured or available since it went quiet."""
        at = datetime.fromtimestamp(newest + self.stale_after_s, UTC)
        windows.available_since = None
        return LedgerEntry(
            stream=stream.id, site=site.id, kind=stream.kind, unit=stream.unit,
            window_s=self.window_s, measured=0.0,
            committed=significant(self.committed(stream.id, at)), available=0.0,
            steadiness=0.0, samples=0, available_since=None, updated_at=at, stale=True,
        )  # fmt: skip

    def _entry(
        self, site: Site, stream: Stream, windows: _Windows, batch: BatchFields
    ) -> LedgerEntry:
        figures = stream_figures(windows.meters.values(), self.window_s)
        newest = figures.newest
        measured = significant(figures.measured)
        # deterministic (a replay gives the same row): without any good reading yet, the
        # batch's own newest timestamp
        updated_at = (
            datetime.fromtimestamp(newest, UTC)
            if newest > -math.inf
            else max(r.ts for r in batch.readings)
        )
        committed = significant(self.committed(stream.id, updated_at))
        available = max(significant(measured - committed), 0.0)
        if available <= 0:
            windows.available_since = None
        elif windows.available_since is None:
            windows.available_since = updated_at.timestamp()
        return LedgerEntry(
            stream=stream.id,
            site=site.id,
            kind=stream.kind,
            unit=stream.unit,
            window_s=self.window_s,
            measured=measured,
            committed=committed,
            available=available,
            steadiness=figures.steadiness,
            samples=figures.samples,
            available_since=(
                datetime.fromtimestamp(windows.available_since, UTC)
                if windows.available_since is not None
                else None
            ),
            updated_at=updated_at,
        )


def _encode(windows: _Windows) -> bytes:
    """A stream's snapshot: a JSON header, a NUL byte, then each meter's packed readings.

    The header holds each meter's id, newest time and number of readings (in the order of the
    packed readings that follow), and the stream's available-since time, stale mark, last
    heard time and partition. JSON never holds a raw NUL byte, so the first one ends it.
    """
    meters = windows.meters
    header = orjson.dumps(
        {"m": [[k, None if w.newest == -math.inf else w.newest, w.count]
               for k, w in meters.items()],
         "s": windows.available_since, "z": windows.stale_after, "h": windows.heard_at,
         "p": windows.partition}
    )  # fmt: skip
    return b"".join([header, b"\0", *(w.packed() for w in meters.values())])


def _decode(snapshot: bytes, window_s: float) -> tuple[dict[str, Any], dict[str, MeterWindow]]:
    """A snapshot's header and meter windows (:func:`_encode`'s form, or the JSON one before).

    Snapshots written before 2026-12-05 are one JSON object with each meter's readings as
    pairs (``MeterWindow.from_state``); a worker restored from an older changelog reads them.

    Raises:
        ValueError: the snapshot is neither form, or damaged (a header of another shape, a
            packed part of the wrong length, a window that could not have been written).
    """
    header, nul, body = snapshot.partition(b"\0")
    state = orjson.loads(header)
    if not isinstance(state, dict) or "s" not in state or "m" not in state:
        raise ValueError("a ledger snapshot's header is not an object with 's' and 'm'")
    for name in ("s", "z", "h"):  # times (Unix s) or None, of readings (1970 to 2200)
        t = state.get(name)
        if t is not None and (
            type(t) not in (int, float) or not EARLIEST_READING_S <= t <= LATEST_READING_S
        ):
            raise ValueError(f"a ledger snapshot's header gives {name!r} {t!r:.40}, not a time")
    p = state.get("p")
    if p is not None and (type(p) is not int or p < 0):
        raise ValueError(f"a ledger snapshot's header gives partition {p!r}")
    try:
        return state, _meters(state["m"], nul, body, window_s)
    except (TypeError, AttributeError) as e:  # a header field of another type
        raise ValueError(f"a ledger snapshot's meters are not of its form: {e!r}") from e


def _meters(listed: Any, nul: bytes, body: bytes, window_s: float) -> dict[str, MeterWindow]:
    """The meter windows a snapshot's header lists (see :func:`_decode`)."""
    if not nul:
        return {k: MeterWindow.from_state(window_s, v) for k, v in listed.items()}
    meters: dict[str, MeterWindow] = {}
    at = 0
    for meter, newest, count in listed:
        if type(count) is not int or count < 0:
            raise ValueError(f"a ledger snapshot gives meter {meter!r} {count!r} readings")
        size = 16 * count
        if at + size > len(body):
            raise ValueError(f"a ledger snapshot is {at + size - len(body)} bytes short")
        meters[meter] = MeterWindow.from_packed(window_s, newest, body[at : at + size])
        at += size
    if at != len(body):
        raise ValueError(f"a ledger snapshot holds {len(body) - at} bytes past its meters")
    return meters
