"""Helpers for the tests: produce, consume, wait on real services; lifecycle candidates."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
from kafka import KafkaConsumer

from domain.alerting import AlertTracker, LifecycleEvent
from domain.errors import UnavailableError
from ingest.batch_producer import ReadingsProducer
from runtime.settings import Settings, Topics
from schemas.readings import Reading, ReadingBatch

if TYPE_CHECKING:  # the pipeline imports faust: only the integration tests need it
    from symbiosis.pipeline import LocalPipeline

APPEARING_HEAT_PARK = Path(__file__).resolve().parent / "data" / "appearing-heat.yaml"
"""A small park whose heat surplus appears mid-run (simulator and pipeline tests)."""

# Recent, whole-hour event time: older data would fall to the sink's retention (90 days).
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)


def batch(stream: str, n: int, *, start: int = 0, value: float = 10.0, unit: str = "MW",
          meter: str | None = None) -> ReadingBatch:  # fmt: skip
    return ReadingBatch(
        batch_id=f"{stream}-{start}-{n}",
        stream=stream,
        readings=[
            Reading(
                meter=meter or stream, ts=T0 + timedelta(seconds=start + i), value=value, unit=unit
            )
            for i in range(n)
        ],
    )


def consume_all(settings: Settings, topic: str, expect: int, timeout_s: float = 30) -> list[bytes]:
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=1000,
    )
    out: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for polled in consumer.poll(timeout_ms=500).values():
                out.extend(r.value for r in polled)
    finally:
        consumer.close()
    return out


def scalar(settings: Settings, sql: str) -> int:
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute(sql.encode()).fetchone()
    assert row is not None
    return int(row[0])


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def isolated(stack: Settings, name: str, **updates: Any) -> Settings:
    """Stack settings with topics of their own (``test-<name>-<random>.*``), emptied tables."""
    prefix = f"test-{name}-{uuid.uuid4().hex[:8]}"
    topics = Topics(**{field: f"{prefix}.{field}" for field in Topics.model_fields})
    with psycopg.connect(stack.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE readings, ledger, alerts, offers")
    return stack.model_copy(update={"topics": topics, "partitions": 2, **updates})


class KafkaAway:
    """A publisher while the brokers are away: nothing is taken (as ``Publisher.send`` raises
    once ``max_block_s`` passed without metadata or buffer space) and nothing acknowledged."""

    def send(self, topic: str, key: str | None, value: bytes | None) -> object:
        raise UnavailableError(f"Kafka did not take a record for {topic}: KafkaTimeoutError")

    def wait(self, futures: Any, timeout_s: float) -> int:
        raise UnavailableError("not acknowledged")


def produce(p: LocalPipeline, items: list[ReadingBatch]) -> int:
    """Send reading batches to the pipeline's readings topic; the readings acknowledged.

    Each lone batch is keyed by its stream: what the worker needs is the same key for all of
    a stream's records (the doors use its site; tests of the doors cover that), and keying by
    stream spreads one site's streams over the partitions (the two-worker test needs that)."""
    producer = ReadingsProducer(p.settings.kafka_bootstrap, p.settings.topics.readings)
    try:
        for b in items:
            producer.send(b, key=b.stream)
        return producer.flush()
    finally:
        producer.close()


@dataclass(frozen=True)
class Candidate:
    """One feasible pair as the lifecycle tests state it: need, quantity, its minimum duration."""

    need: str
    quantity: float
    min_duration_s: float


def observe(
    tracker: AlertTracker, stream: str, now: datetime, feasible: list[Candidate],
    held: list[Candidate],
) -> list[LifecycleEvent]:  # fmt: skip
    """:meth:`AlertTracker.advance` fed candidate lists (a need in both counts as feasible)."""
    durations = {c.need: c.min_duration_s for c in [*held, *feasible]}
    return tracker.advance(
        stream, now, {c.need: c.quantity for c in feasible}, {c.need: c.quantity for c in held},
        durations.__getitem__,
    )  # fmt: skip
