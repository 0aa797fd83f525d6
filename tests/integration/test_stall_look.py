"""The stream worker's stall watch asks the real broker what waits in its partitions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from runtime.settings import Settings
from streams.run import _look
from topics.kafka_admin import ensure_topics

pytestmark = pytest.mark.integration


def _app(held: set[TP] | None, restored: int = 0) -> Any:
    """What the look reads of a faust app: its assignment and its recovery's offsets (None
    for a changelog partition not read yet, as faust keeps it after a rebalance)."""
    offsets = {TP("changelog", 0): restored, TP("changelog", 1): None}
    recovery = SimpleNamespace(active_offsets=offsets, standby_offsets={TP("other", 0): 99})
    return SimpleNamespace(_assignment=held, tables=SimpleNamespace(_recovery=recovery))


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
    assert held.waiting == {0: 10 - 4 - 1}  # one offset at each end may be a commit marker
    assert held.done == {0: 4}
    lag = REGISTRY.get_sample_value(
        "symbiosis_consumer_lag_records",
        {"group": settings.streams_group, "topic": readings},
    )
    assert lag == (10 - 4) + (3 - 0)  # the group's lag, published on the way
    never_assigned = _look(_app(None), settings, {})
    assert never_assigned is not None
    assert never_assigned.waiting == {0: 10 - 4 - 1, 1: 3 - 0 - 1}
    restoring = _look(_app({TP(readings, 0)}, restored=7), settings, {})
    assert restoring is not None
    assert restoring.restored == 7  # the active changelogs read; standbys and None left out


def test_the_look_is_none_when_kafka_does_not_answer(settings: Settings) -> None:
    gone = settings.model_copy(update={"kafka_bootstrap": "127.0.0.1:1"})
    assert _look(_app(None), gone, {}) is None


def test_the_look_never_builds_fausts_lazy_tables(settings: Settings) -> None:
    app = SimpleNamespace(_assignment=None)  # no table manager built yet
    seen = _look(app, settings, {})
    assert seen is not None
    assert seen.restored == 0
    assert "tables" not in vars(app)
