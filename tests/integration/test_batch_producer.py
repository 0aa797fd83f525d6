"""The stream worker's batch producer on the real broker: partitions, order, acknowledgements."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka.errors import KafkaError, ProducerClosed
from kafka import KafkaConsumer, KafkaProducer

from runtime.settings import Settings
from topics.batch_producer import MAX_BATCH_BYTES, BatchProducer, OutRecord
from topics.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration

PARTITIONS = 4


def _topics(settings: Settings, *names: str) -> list[str]:
    prefix = f"test-batchproducer-{uuid.uuid4().hex[:8]}"
    topics = [f"{prefix}.{name}" for name in names]
    ensure_topics(settings.kafka_bootstrap, {t: {} for t in topics}, PARTITIONS)
    return topics


def _read(settings: Settings, topic: str, expect: int) -> list[tuple[int, bytes, bytes]]:
    """(partition, key, value) of ``expect`` records, in offset order per partition."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, consumer_timeout_ms=1000,
    )  # fmt: skip
    got: list[tuple[int, bytes, bytes]] = []
    try:
        for _ in range(60):
            for tp, records in consumer.poll(timeout_ms=500).items():
                got.extend((tp.partition, r.key, r.value) for r in records)
            if len(got) >= expect:
                break
    finally:
        consumer.close()
    return got


def test_keys_land_where_the_kafka_default_partitioner_puts_them(stack: Settings) -> None:
    ours, theirs = _topics(stack, "ours", "theirs")
    keys = [f"site-{i}/stream-{j}".encode() for i in range(50) for j in range(3)]

    async def send() -> int:
        producer = BatchProducer(stack.kafka_bootstrap, {})
        try:
            return await producer.send_all(OutRecord(ours, None, k, b"v") for k in keys)
        finally:
            await producer.stop()

    assert asyncio.run(send()) == len(keys)
    reference = KafkaProducer(bootstrap_servers=stack.kafka_bootstrap)
    for k in keys:
        reference.send(theirs, key=k, value=b"v")
    reference.flush()
    reference.close()
    placed = {key: p for p, key, _ in _read(stack, ours, len(keys))}
    expected = {key: p for p, key, _ in _read(stack, theirs, len(keys))}
    assert len(placed) == len(keys)
    assert placed == expected
    assert len(set(placed.values())) == PARTITIONS  # the keys were spread, not all in one


def test_order_is_kept_per_partition_across_batches_and_calls(stack: Settings) -> None:
    (topic,) = _topics(stack, "order")
    value = b"x" * 2000  # 600 records of 2 kB: several batches per partition per call
    per_call = 600
    assert per_call * len(value) > 2 * MAX_BATCH_BYTES

    async def send() -> None:
        producer = BatchProducer(stack.kafka_bootstrap, {})
        try:
            for call in range(2):
                await producer.send_all(
                    OutRecord(topic, i % PARTITIONS, f"{call}:{i}".encode(), value)
                    for i in range(per_call)
                )
        finally:
            await producer.stop()

    asyncio.run(send())
    got = _read(stack, topic, 2 * per_call)
    assert len(got) == 2 * per_call
    by_partition: dict[int, list[bytes]] = defaultdict(list)
    for partition, key, _ in got:
        by_partition[partition].append(key)
    for partition, keys in by_partition.items():
        expected = [f"{c}:{i}".encode() for c in range(2) for i in range(per_call)
                    if i % PARTITIONS == partition]  # fmt: skip
        assert keys == expected


def test_a_stopped_producer_refuses_to_send(stack: Settings) -> None:
    (topic,) = _topics(stack, "stopped")

    async def send_after_stop() -> None:
        producer = BatchProducer(stack.kafka_bootstrap, {})
        await producer.send_all([OutRecord(topic, 0, b"k", b"v")])
        await producer.stop()
        await producer.send_all([OutRecord(topic, 0, b"k", b"late")])

    with pytest.raises(ProducerClosed):
        asyncio.run(send_after_stop())
    assert [v for _, _, v in _read(stack, topic, 1)] == [b"v"]


def test_bad_records_are_refused_before_anything_is_sent(stack: Settings) -> None:
    (topic,) = _topics(stack, "refused")

    async def send(records: list[OutRecord]) -> None:
        producer = BatchProducer(stack.kafka_bootstrap, {})
        try:
            await producer.send_all(records)
        finally:
            await producer.stop()

    good = OutRecord(topic, 0, b"k", b"v")
    with pytest.raises(KafkaError, match="larger than a batch"):
        asyncio.run(send([good, OutRecord(topic, 1, b"k", b"x" * (MAX_BATCH_BYTES + 1))]))
    with pytest.raises(KafkaError, match="has no partition 9"):
        asyncio.run(send([good, OutRecord(topic, 9, b"k", b"v")]))
    asyncio.run(send([good]))
    assert [v for _, _, v in _read(stack, topic, 1)] == [b"v"]  # only the last call's record
