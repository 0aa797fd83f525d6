"""The stream worker's stall watch asks the real broker what waits in its partitions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from runtime.settings import Settings
from streams.run import _look
from topics.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration


def _app(held: set[TP], restored: int = 0) -> Any:
    """What the look reads of a faust app: its assignment and its recovery's offsets."""
    recovery = SimpleNamespace(active_offsets={TP("changelog", 0): restored}, standby_offsets={})
    return SimpleNamespace(_assignment=held, tables=SimpleNamespace(recovery=recovery))


def test_the_look_counts_uncommitted_records_of_the_held_partitions(settings: Settings) -> None:
    readings = settings.topics.readings
    ensure_topics(settings.kafka_bootstrap, {readings: {}}, 2)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        for i in range(13):
            producer.send(readings, b"x", partition=0 if i < 10 else 1)
        producer.flush()
    finally:
        producer.close()
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                             group_id=settings.streams_group, enable_auto_commit=False)  # fmt: skip
    try:
        consumer.commit({TopicPartition(readings, 0): OffsetAndMetadata(4, "", -1)})
    finally:
        consumer.close()

    held = _look(_app({TP(readings, 0), TP("other", 1)}), settings, {})
    assert held is not None
    assert held.waiting == 10 - 4 - 1  # one offset at each end may be a commit marker
    every = _look(_app(set()), settings, {})
    assert every is not None
    assert every.waiting == (10 - 4 - 1) + (3 - 0 - 1)
    again = _look(_app({TP(readings, 0)}), settings, {})
    assert again is not None
    assert again.progress == held.progress
    restoring = _look(_app({TP(readings, 0)}, restored=7), settings, {})
    assert restoring is not None
    assert restoring.progress != held.progress


def test_the_look_is_none_when_kafka_does_not_answer(settings: Settings) -> None:
    gone = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    assert _look(_app(set()), gone, {}) is None
