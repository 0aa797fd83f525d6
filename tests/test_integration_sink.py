"""The producer and the sink on the real broker and database."""

from __future__ import annotations

import threading

import orjson
import pytest
from kafka import KafkaProducer

from ingest.producer import ReadingsProducer
from schemas.readings import ReadingBatch
from schemas.rejections import Rejection
from sinks.consumer import Sink
from symbiosis.settings import Settings
from tests.helpers import batch, consume_all, scalar, wait_for

pytestmark = pytest.mark.integration


def test_producer_round_trip_through_the_broker(settings: Settings) -> None:
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    sent = [batch("ps-steam", 50, start=i * 50) for i in range(4)]
    for b in sent:
        producer.send(b)
    assert producer.flush() == 200
    producer.close()
    got = [
        ReadingBatch.model_validate_json(v)
        for v in consume_all(settings, settings.topics.readings, 4)
    ]
    assert sorted(got, key=lambda b: b.batch_id) == sorted(sent, key=lambda b: b.batch_id)


def _run_sink(settings: Settings) -> tuple[Sink, threading.Thread]:
    sink = Sink(settings.model_copy(update={"sink_flush_s": 0.2}))
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    return sink, thread


def test_sink_stores_every_reading_once_even_when_replayed(settings: Settings) -> None:
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    batches = [batch(f"s{i % 3}", 100, start=i * 100) for i in range(9)]
    for b in batches:
        producer.send(b)
    producer.send(batches[0])  # a replayed batch (e.g. a historian retrying)
    producer.send(batches[4])
    assert producer.flush() == 1100
    producer.close()

    sink, thread = _run_sink(settings)
    try:
        wait_for(lambda: sink.stats.records >= 11, 60, "the sink to consume 11 batches")
    finally:
        sink.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert scalar(settings, "SELECT count(*) FROM readings") == 900
    assert scalar(settings, "SELECT count(DISTINCT (meter, ts)) FROM readings") == 900

    # A second sink in the same group starts after the committed offsets: nothing re-read.
    sink2, thread2 = _run_sink(settings)
    try:
        producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
        producer.send(batch("s9", 5, start=10_000))
        producer.flush()
        producer.close()
        wait_for(lambda: sink2.stats.records >= 1, 60, "the second sink to consume")
    finally:
        sink2.stop()
        thread2.join(30)
    assert sink2.stats.records == 1
    assert scalar(settings, "SELECT count(*) FROM readings") == 905


def test_invalid_payload_goes_to_rejected_topic_with_reason(settings: Settings) -> None:
    raw = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    raw.send(
        settings.topics.readings, b'{"schema_version": 1, "batch_id": "x", "stream": "Bad Id"}'
    )
    raw.send(settings.topics.readings, batch("ok", 3).model_dump_json().encode())
    raw.flush()
    raw.close()
    sink, thread = _run_sink(settings)
    try:
        wait_for(lambda: sink.stats.records >= 2, 60, "the sink to consume both records")
    finally:
        sink.stop()
        thread.join(30)
    assert scalar(settings, "SELECT count(*) FROM readings") == 3
    rejected = [
        Rejection.model_validate_json(v) for v in consume_all(settings, settings.topics.rejected, 1)
    ]
    assert len(rejected) == 1
    assert rejected[0].stage == "sink"
    assert "stream" in rejected[0].reason
    assert "readings" in rejected[0].source
    assert orjson.loads(rejected[0].payload)["stream"] == "Bad Id"


def test_record_the_database_refuses_is_rejected_and_the_rest_stored(settings: Settings) -> None:
    poisoned = batch("p", 2, start=50).model_copy(update={"batch_id": "nul\x00byte"})
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    for b in (batch("ok1", 4), poisoned, batch("ok2", 3, start=100)):
        producer.send(b)
    assert producer.flush() == 9
    producer.close()
    sink, thread = _run_sink(settings)
    try:
        wait_for(lambda: sink.stats.records >= 3, 60, "the sink to consume all three")
    finally:
        sink.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert scalar(settings, "SELECT count(*) FROM readings") == 7
    [rejected] = [
        Rejection.model_validate_json(v) for v in consume_all(settings, settings.topics.rejected, 1)
    ]
    assert "database refused" in rejected.reason
    assert '"batch_id":"nul\\u0000byte"' in rejected.payload
