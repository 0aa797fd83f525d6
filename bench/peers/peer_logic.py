"""What the benchmark peers do per record, as plain functions (no Kafka client needed).

Imported by ``run_peer.py`` (in ``.venv-peers``) and by ``test_peer_logic.py`` (main venv's
pytest), so it needs nothing but the standard library and orjson.

A record of the readings topic is either a ``SiteReadings`` (``schema_version`` 2: ``site`` and
``batches``, one stream batch per stream) or a lone ``ReadingBatch`` (``schema_version`` 1:
``batch_id``, ``stream``, ``readings``); see ``schemas/readings.py``. Like
``schemas.readings._shape``, a record with ``batches`` is the former.
"""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

Record = dict[str, Any]
"""A decoded readings record (either shape)."""

StreamState = dict[str, Any]
"""The quix peer's state of one stream, as stored in its RocksDB store (JSON-serialisable):

``{"meters": {meter: [epoch_s, value]}, "available": float, "ts": str | None,
"epoch": float | None}``:
each meter's newest good reading (its instant, its value), the sum of those values, and the
stream's newest reading (its ``ts`` as sent, and as epoch seconds to compare)."""


def record_batches(record: Record) -> list[Record]:
    """The stream batches a decoded record holds, in order (either shape)."""
    if "batches" in record:
        batches: list[Record] = record["batches"]
        return batches
    return [record]


def record_readings(record: Record) -> int:
    """How many readings a decoded record holds."""
    return sum(len(b["readings"]) for b in record_batches(record))


def count_readings(value: bytes) -> int:
    """The bare consumer's work per record: decode with orjson, count the readings."""
    record: Record = orjson.loads(value)
    return record_readings(record)


def apply_batch(state: StreamState | None, batch: Record) -> tuple[StreamState, Record]:
    """The quix peer's ledger step: one stream batch into the stream's state.

    Each meter keeps its newest ``good`` reading (a reading older than the one kept is ignored;
    ``uncertain``/``bad`` ones are skipped: only good readings count towards the ledger);
    ``available`` is the sum of the meters' kept values. ``state`` is not modified.

    Returns:
        The stream's new state, and the output record: ``{"stream", "available", "ts"}`` with
        ``ts`` the stream's newest reading (``None`` until it has a good one).
    """
    if state is None:
        meters: dict[str, list[float]] = {}
        newest_ts: str | None = None
        newest: float | None = None  # not -inf: JSON (orjson) has no infinity
    else:
        meters = dict(state["meters"])
        newest_ts, newest = state["ts"], state["epoch"]
    for r in batch["readings"]:
        if r.get("quality", "good") != "good":
            continue
        epoch = datetime.fromisoformat(r["ts"]).timestamp()
        kept = meters.get(r["meter"])
        if kept is None or epoch >= kept[0]:
            meters[r["meter"]] = [epoch, r["value"]]
        if newest is None or epoch >= newest:
            newest, newest_ts = epoch, r["ts"]
    available = sum(v for _, v in meters.values())
    new_state: StreamState = {
        "meters": meters,
        "available": available,
        "ts": newest_ts,
        "epoch": newest,
    }
    return new_state, {"stream": batch["stream"], "available": available, "ts": newest_ts}


class KeyedState(Protocol):
    """What :func:`ledger_step` needs of Quix's ``State`` (scoped by the record's key)."""

    def get(self, key: Any, default: Any = None) -> Any: ...

    def set(self, key: Any, value: Any) -> None: ...


def ledger_step(value: Record, state: KeyedState, tally: Tally) -> list[Record]:
    """The quix peer's stateful callback: every stream batch of a record through
    :func:`apply_batch`, its state kept under the stream id (inside Quix's per-key scope,
    i.e. the site); one output per stream batch. Counts the record and its readings."""
    tally.first()
    outputs = []
    for batch in record_batches(value):
        stream = batch["stream"]
        new_state, output = apply_batch(state.get(stream), batch)
        state.set(stream, new_state)
        outputs.append(output)
        tally.readings += len(batch["readings"])
    tally.records += 1
    return outputs


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its waited-for children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


@dataclass
class Tally:
    """A peer's progress towards ``target`` readings, and its figures once there.

    Call :meth:`first` when the first record is in hand (before its work), count records and
    readings as they are done, and :meth:`last` once :attr:`done`: the figures cover that
    span only (connecting, joining the group and the partition assignment are excluded).
    """

    target: int
    records: int = 0
    readings: int = 0
    t_first: float | None = None
    t_last: float | None = None
    cpu_first: float = 0.0
    cpu_last: float = 0.0

    @property
    def done(self) -> bool:
        """Whether ``target`` readings have been seen."""
        return self.readings >= self.target

    def first(self) -> None:
        """Mark the first record (once; later calls do nothing)."""
        if self.t_first is None:
            self.t_first = time.perf_counter()
            self.cpu_first = cpu_seconds()

    def last(self) -> None:
        """Mark the end of the last record's work."""
        self.t_last = time.perf_counter()
        self.cpu_last = cpu_seconds()

    def result(self, peer: str) -> dict[str, Any]:
        """The JSON line's fields; call after :meth:`first` and :meth:`last`."""
        if self.t_first is None or self.t_last is None:
            raise ValueError("no record was marked first and last")
        seconds = max(self.t_last - self.t_first, 1e-9)
        return {
            "peer": peer,
            "records": self.records,
            "readings": self.readings,
            "seconds": round(seconds, 3),
            "records_per_s": round(self.records / seconds, 1),
            "readings_per_s": round(self.readings / seconds, 1),
            "cpu_s": round(self.cpu_last - self.cpu_first, 3),
        }
