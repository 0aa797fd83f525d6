"""The stream worker: a faust app with two agents.

- ``ledger``: readings topic (batches keyed by stream) -> per-stream ledger -> ledger topic.
- ``alerts``: ledger topic -> matcher + lifecycle -> alerts topic.

Payloads are bytes on the wire and :mod:`schemas` models in code (validated with pydantic,
not ``faust.Record``). Invalid batches go to the rejected topic with the reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import faust
import structlog
from pydantic import ValidationError

from domain.matching import Matcher
from schemas.ledger import LedgerEntry
from schemas.readings import ReadingBatch
from schemas.registry import Park
from schemas.rejections import Rejection
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from symbiosis.errors import SymbiosisError
from symbiosis.settings import Settings

log = structlog.get_logger(__name__)


def create_app(settings: Settings, park: Park) -> faust.App:
    """Build the worker's faust app for ``park`` from ``settings`` (no environment reads)."""
    app = faust.App(
        settings.streams_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
        broker_commit_livelock_soft_timeout=60.0,
    )
    readings = app.topic(settings.topics.readings, value_serializer="raw")
    ledger_topic = app.topic(settings.topics.ledger, value_serializer="raw", compacting=True)
    alerts_topic = app.topic(settings.topics.alerts, value_serializer="raw")
    rejected = app.topic(settings.topics.rejected, value_serializer="raw")

    book = LedgerBook(park, settings.ledger_window_s)
    alert_book = AlertBook(Matcher.from_park(park), hysteresis=settings.alert_hysteresis)

    async def reject(reason: str, payload: bytes, source: str) -> None:
        item = Rejection(
            stage="streams",
            source=source,
            reason=reason[:4000],
            payload=payload[:65_536].decode("utf-8", errors="replace"),
            ts=datetime.now(UTC),
        )
        await rejected.send(value=item.model_dump_json().encode())
        log.warning("streams.rejected", source=source, reason=reason[:200])

    @app.agent(readings)
    async def ledger(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for value in stream:
            try:
                batch = ReadingBatch.model_validate_json(value)
                if not book.knows(batch.stream):
                    raise SymbiosisError(f"stream: {batch.stream!r} is not a stream of the park")
                entry = book.apply(batch)
            except (ValidationError, SymbiosisError) as e:
                await reject(str(e), value, settings.topics.readings)
                continue
            await ledger_topic.send(
                key=entry.stream.encode(), value=entry.model_dump_json().encode()
            )
            yield None

    @app.agent(ledger_topic)
    async def alerts(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for value in stream:
            entry = LedgerEntry.model_validate_json(value)
            for alert in alert_book.apply(entry):
                await alerts_topic.send(
                    key=f"{alert.stream}|{alert.need}".encode(),
                    value=alert.model_dump_json().encode(),
                )
                log.info(
                    "alert.emitted",
                    lifecycle=alert.event.value,
                    stream=alert.stream,
                    need=alert.need,
                )
            yield None

    return app
