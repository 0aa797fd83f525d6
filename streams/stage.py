"""The stream worker's one stage, per batch of readings records: ledger, then alerts.

:class:`ReadingsStage` takes the readings records the worker consumed in one go (any number,
from any of its partitions) and returns everything the batch causes, for the faust glue in
:mod:`streams.app` to send and save:

- a record is one site's push (:class:`~schemas.readings.SiteReadings`: a stream batch per
  stream) or one stream batch alone (:class:`~schemas.readings.ReadingBatch`); both are
  keyed by site, so all of a stream's records arrive on one partition;
- each stream's batches are applied in offset order to its windows (:class:`LedgerBook`), and
  each gives a ledger entry and an alert decision (:class:`AlertBook`) on it, in that order: a
  backlog caught up in one batch gives the same entries and lifecycle (opened, updated,
  resolved) as records taken one at a time (coalescing to the newest entry would skip an alert
  that opened and resolved inside the backlog, and make the lifecycle depend on batch timing);
- each table key is written once per batch, with the stream's state after its last record:
  the window snapshot, and the alert lifecycle snapshot only when the lifecycle changed (what
  a batch saves over one record at a time: table writes, changelog records, sends awaited);
- a record that does not validate becomes one rejection; a stream batch that fails (unknown
  stream, unit that does not convert, an internal error) becomes a rejection with its reason
  and the stream batch as payload; the record's other streams and the stream's other batches
  still count.

:meth:`ReadingsStage.sweep` is the stage's other input, run on a timer: streams not heard
from for ``stale_after_s`` become stale (zero surplus), which resolves their open alerts with
reason ``stale``; its outputs and state writes take the same path as a batch's.

Both tables are keyed by stream; the readings topic is keyed by the stream's site, so a
stream's state lives in the partition its site's readings arrive on: each state write carries
that partition, which is where its changelog record must go (faust's own table writes use the
*current* event's partition, which in a batch is the last event's, not the stream's).

Guarantee on replay: the glue sends the outputs, waits for Kafka to acknowledge them, and only
then saves state and commits offsets. A crash in between replays the records: readings not newer
than a meter's newest are ignored, so the windows, the entries and the alerts' idempotency keys
come out the same, and downstream drops the repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

import structlog
from pydantic import ValidationError

from domain.errors import SymbiosisError
from domain.wording import summary
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry
from schemas.readings import RECORD_SHAPES, BatchFields, ReadingBatch, ReadingsRecord
from schemas.readings_wire import WireBatch, wire_batches
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook

log = structlog.get_logger(__name__)

Lookup = Callable[[bytes], bytes | None]
"""Reads a table: stream key -> its snapshot (``None``: nothing stored)."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One readings record as consumed: its partition, where it came from, its payload."""

    partition: int
    source: str
    value: bytes
    received_at: float | None = None
    """The record's Kafka time (Unix seconds), what staleness is judged by."""


_REASON_CHARS: Final = 500
"""A damaged value's reason is cut to this (it may quote the value)."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A record the stage could not use, and why (for the rejected topic)."""

    source: str
    reason: str
    payload: bytes | None
    internal: bool = False


@dataclass(frozen=True, slots=True)
class StateWrite:
    """A table write: key and value, and the partition its changelog record belongs to."""

    partition: int
    key: bytes
    value: bytes


@dataclass
class StageOutput:
    """Everything one batch causes, in the order the glue acts on it."""

    ledger: list[LedgerEntry] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    ledger_state: list[StateWrite] = field(default_factory=list)
    alert_state: list[StateWrite] = field(default_factory=list)
    readings: int = 0
    """Readings in the records the ledger took (good or not)."""


@dataclass
class _Stream:
    """A stream's state while the batch is applied: as in the tables, then as it goes."""

    partition: int
    ledger: bytes | None
    alerts_before: bytes | None
    alerts: bytes | None
    applied: bool = False


class ReadingsStage:
    """Ledger and alert decisions for batches of readings records; see the module docstring."""

    def __init__(self, book: LedgerBook, alert_book: AlertBook) -> None:
        """Wrap the worker's books (the registry view feeds them sites, needs and exchanges)."""
        self.book = book
        self.alert_book = alert_book

    def process(
        self, records: Sequence[Incoming], ledger_state: Lookup, alert_state: Lookup
    ) -> StageOutput:
        """Apply ``records`` (in consumed order) and return their outputs and state writes.

        Never raises for a record's content: each failure is a :class:`Refused` entry.

        Args:
            records: readings records, in the order consumed (per partition: offset order).
            ledger_state: the ledger table (stream key -> window snapshot).
            alert_state: the alert table (stream key -> lifecycle snapshot).
        """
        out = StageOutput()
        streams: dict[bytes, _Stream] = {}
        for rec in records:
            try:
                batches = _batches(rec.value)
            except ValidationError as e:
                out.refused.append(Refused(rec.source, summary(e, tags=RECORD_SHAPES), rec.value))
                continue
            except Exception as e:  # one bad record never stops the stage
                log.exception("streams.decode_failed", source=rec.source)
                out.refused.append(Refused(rec.source, f"internal error: {e!r}", rec.value, True))
                continue
            for i, batch in enumerate(batches):
                failed = self._apply(rec, batch, streams, out, ledger_state, alert_state)
                if failed is not None:
                    reason, internal = failed
                    where = f"{rec.source} batch {i} ({batch.stream})"
                    source = where if len(batches) > 1 else rec.source
                    out.refused.append(Refused(source, reason, _payload(batch), internal))
        self._report_damaged(out)
        _state_writes(streams, out)
        return out

    def _report_damaged(self, out: StageOutput) -> None:
        """The table values the books could not read and started afresh, as refusals."""
        for table, what, found in (
            ("ledger", "windows", self.book.take_damaged()),
            ("alert", "alert lifecycles", self.alert_book.take_damaged()),
        ):
            for damaged in found:
                stream, why = damaged.stream, damaged.reason[:_REASON_CHARS]
                log.error(f"streams.{table}_state_damaged", stream=stream, reason=why)
                when = "" if damaged.healed else " at its next batch"
                reason = f"damaged {table} state, the stream's {what} start afresh{when}: {why}"
                out.refused.append(Refused(f"{table} state of {stream}", reason,
                                           damaged.snapshot, True))  # fmt: skip

    def sweep(
        self,
        ledger_items: Iterable[tuple[bytes, bytes]],
        clock_of: Callable[[int], float | None],
        alert_state: Lookup,
    ) -> StageOutput:
        """Mark the streams that went quiet stale; their open alerts resolve (``stale``).

        A stream is stale when it had no good or bad reading for the book's
        ``stale_after_s`` by its partition's clock (:meth:`LedgerBook.mark_stale`); its
        stale entry counts zero surplus, so the alert decision on it resolves every open pair
        with reason ``stale``. The entry and alerts are dated when the stream became stale, so
        a sweep repeated after a crash gives the same entry and idempotency keys.

        Never raises for a stream's content: each failure is a :class:`Refused` entry.

        Args:
            ledger_items: the ledger table's (stream key, snapshot) items.
            clock_of: a partition -> the time to judge its streams at (Unix seconds), or
                ``None`` to leave them alone (not this worker's, or not read far enough).
            alert_state: the alert table (stream key -> lifecycle snapshot).
        """
        out = StageOutput()
        streams: dict[bytes, _Stream] = {}
        for key, snapshot in ledger_items:
            stream = key.decode()
            try:
                partition = self.book.partition_of(stream, snapshot)
                if partition is None:  # unknown stream, or its partition not known yet
                    continue
                clock = clock_of(partition)
                marked = None if clock is None else self.book.mark_stale(stream, snapshot, clock)
            except Exception as e:  # one bad snapshot never stops the sweep
                log.exception("streams.sweep_failed", stream=stream)
                out.refused.append(Refused(f"ledger state of {stream}", f"internal error: {e!r}",
                                           None, True))  # fmt: skip
                continue
            if marked is None:
                continue
            entry, new = marked
            held = alert_state(key)
            st = streams[key] = _Stream(partition, new, held, held, applied=True)
            out.ledger.append(entry)
            self._decide(entry, st, out)
        self._report_damaged(out)
        _state_writes(streams, out)
        return out

    def _apply(
        self,
        rec: Incoming,
        batch: BatchFields,
        streams: dict[bytes, _Stream],
        out: StageOutput,
        ledger_state: Lookup,
        alert_state: Lookup,
    ) -> tuple[str, bool] | None:
        """One stream batch: its ledger entry and alert decision, or why it was refused.

        Returns:
            None when applied; else the reason and whether the cause is internal (the caller
            names the source).
        """
        try:
            key = batch.stream.encode()
            current = streams.get(key)
            if current is None:
                held = alert_state(key)
                current = streams[key] = _Stream(rec.partition, ledger_state(key), held, held)
            entry, snapshot = self.book.apply(batch, current.ledger, partition=current.partition,
                                              received_at=rec.received_at)  # fmt: skip
        except ValidationError as e:  # the entry built from the batch (the record was valid)
            return f"{e.title}: {summary(e)}", False
        except SymbiosisError as e:
            return str(e), False
        except Exception as e:  # one bad record never stops the stage
            log.exception("streams.ledger_failed", stream=batch.stream)
            return f"internal error: {e!r}", True
        current.ledger, current.applied = snapshot, True
        out.readings += len(batch.readings)
        out.ledger.append(entry)
        self._decide(entry, current, out)
        return None

    def _decide(self, entry: LedgerEntry, st: _Stream, out: StageOutput) -> None:
        """The alert decision on one entry; the stream's lifecycle snapshot moves on."""
        where = f"ledger entry of {entry.stream}"
        try:
            emitted, st.alerts = self.alert_book.apply(entry, st.alerts)
        except (KeyError, SymbiosisError) as e:
            reason = f"alerting failed: {e!r}"
            out.refused.append(Refused(where, reason, entry.model_dump_json().encode()))
            return
        except Exception as e:  # one bad entry never stops the stage
            log.exception("streams.alerting_failed", stream=entry.stream)
            reason = f"internal error: {e!r}"
            out.refused.append(Refused(where, reason, entry.model_dump_json().encode(), True))
            return
        out.alerts.extend(emitted)


def _state_writes(streams: dict[bytes, _Stream], out: StageOutput) -> None:
    """Each stream's table writes, once, with its state after the last change."""
    for key, st in streams.items():
        if st.applied:
            assert st.ledger is not None  # an applied record leaves a snapshot
            out.ledger_state.append(StateWrite(st.partition, key, st.ledger))
        if st.alerts is not st.alerts_before:
            assert st.alerts is not None
            out.alert_state.append(StateWrite(st.partition, key, st.alerts))


def _batches(value: bytes) -> Sequence[BatchFields]:
    """The stream batches of a readings record, validated.

    The fast reader first (:func:`~schemas.readings_wire.wire_batches`: the models' values
    when it answers); when it does not, the models (:meth:`ReadingsRecord.from_json`).

    Raises:
        ValidationError: the record is neither shape.
    """
    wire = wire_batches(value)
    return wire if wire is not None else ReadingsRecord.from_json(value).batches


def _payload(batch: BatchFields) -> bytes:
    """A refused stream batch as it goes to the rejected topic (on its own, not its record)."""
    if isinstance(batch, WireBatch):
        return batch.to_json()
    assert isinstance(batch, ReadingBatch)
    return batch.model_dump_json().encode()
