"""Reading an offset range outside any group (topics.range_reader) on the real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition

from domain.errors import UnavailableError
from runtime.settings import Settings
from topics.kafka_admin import ensure_topics
from topics.range_reader import read_range

pytestmark = pytest.mark.integration


def _topic(settings: Settings, records: int) -> str:
    """A new one-partition topic holding values b"0" ... b"<records - 1>" at those offsets."""
    topic = f"test-rangereader-{uuid.uuid4().hex[:8]}"
    ensure_topics(settings.kafka_bootstrap, {topic: {}}, 1)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, linger_ms=5)
    try:
        for i in range(records):
            producer.send(topic, str(i).encode(), partition=0)
        producer.flush()
    finally:
        producer.close()
    return topic


def _read(settings: Settings, topic: str, start: int | None, end: int, **kw: float) -> list[int]:
    async def run() -> list[int]:
        got: list[int] = []
        async for chunk in read_range(
            settings.kafka_bootstrap, topic, 0, start, end, chunk=7, **kw
        ):
            assert len(chunk) <= 7
            got.extend(r.offset for r in chunk if r.value == str(r.offset).encode())
        return got

    return asyncio.run(run())


def test_a_range_is_read_whole_and_in_order(stack: Settings) -> None:
    topic = _topic(stack, 100)
    assert _read(stack, topic, 20, 70) == list(range(20, 70))
    assert _read(stack, topic, None, 12) == list(range(12))
    assert _read(stack, topic, 30, 30) == []


def test_records_deleted_by_retention_are_skipped_not_waited_for(stack: Settings) -> None:
    topic = _topic(stack, 60)
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap)
    try:
        admin.delete_records({TopicPartition(topic, 0): 25})
    finally:
        admin.close()
    assert _read(stack, topic, 10, 40, stall_s=5.0) == list(range(25, 40))
    assert _read(stack, topic, None, 30, stall_s=5.0) == list(range(25, 30))


def test_a_range_past_the_log_end_gives_up_after_the_stall_with_what_it_read(
    stack: Settings,
) -> None:
    topic = _topic(stack, 10)
    got: list[int] = []

    async def run() -> None:
        async for chunk in read_range(stack.kafka_bootstrap, topic, 0, 5, 50, stall_s=1.5):
            got.extend(r.offset for r in chunk)

    with pytest.raises(UnavailableError, match=r"stopped at offset 10 of 50"):
        asyncio.run(run())
    assert got == list(range(5, 10))
