"""The producer and the sink on the real broker and database."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from kafka import KafkaProducer

from ingest.batch_producer import ReadingsProducer
from runtime.settings import Settings
from schemas.ledger import LedgerEntry
from schemas.readings import Reading, ReadingBatch, ReadingQuality
from schemas.rejections import Rejection
from sinks.consumer import Sink, _Item, _Readings
from tests.helpers import T0, batch, consume_all, scalar, wait_for

ATTACK_TS = "0001-01-01T00:00:00+23:59"  # year 0 in UTC: Python's datetime cannot convert it

pytestmark = pytest.mark.integration


def test_producer_round_trip_through_the_broker(settings: Settings) -> None:
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    sent = [batch("ps-steam", 50, start=i * 50) for i in range(4)]
    for b in sent:
        producer.send(b, key=b.stream)
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
        producer.send(b, key=b.stream)
    producer.send(batches[0], key=batches[0].stream)  # a replayed batch (e.g. a historian retrying)
    producer.send(batches[4], key=batches[4].stream)
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
        producer.send(batch("s9", 5, start=10_000), key="s9")
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
        producer.send(b, key=b.stream)
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


def test_a_reading_at_the_attack_timestamp_never_stops_the_sink(settings: Settings) -> None:
    # Raw bytes, as a producer that skips validation would send them: one good reading and one
    # at year 1 +23:59 in the same batch (on the old sink its write raised "year 0 is out of
    # range", uncaught, and every restart re-read the same batch).
    attack = orjson.loads(batch("evil", 2, start=200).model_dump_json())
    attack["readings"][1]["ts"] = ATTACK_TS
    raw = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    for value in (batch("ok1", 4).model_dump_json().encode(), orjson.dumps(attack),
                  batch("ok2", 3, start=100).model_dump_json().encode()):  # fmt: skip
        raw.send(settings.topics.readings, value)
    raw.flush()
    sink, thread = _run_sink(settings)
    try:
        wait_for(lambda: sink.stats.records >= 3, 60, "the sink to consume all three")
        assert scalar(settings, "SELECT count(*) FROM readings") == 7
        # still running: a later good batch is stored too
        raw.send(settings.topics.readings, batch("ok3", 2, start=300).model_dump_json().encode())
        raw.flush()
        wait_for(lambda: sink.stats.records >= 4, 60, "the sink to consume the fourth")
        assert thread.is_alive()
    finally:
        raw.close()
        sink.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert scalar(settings, "SELECT count(*) FROM readings") == 9
    assert scalar(settings, "SELECT count(*) FROM readings WHERE stream = 'evil'") == 0
    [rejected] = [
        Rejection.model_validate_json(v) for v in consume_all(settings, settings.topics.rejected, 1)
    ]
    assert rejected.stage == "sink"
    assert rejected.reason == "readings[1].ts: must be at least 1970-01-01T00:00:00Z"
    assert ATTACK_TS in rejected.payload
    assert settings.topics.readings in rejected.source


def _close(sink: Sink) -> None:
    sink.consumer.close(autocommit=False)
    sink.rejects.close()
    if sink.conn is not None:
        sink.conn.close()


def test_decode_rejects_a_record_whose_validation_raises_anything(settings: Settings) -> None:
    entry = LedgerEntry(stream="s1", site="p1", kind="heat", unit="MW", window_s=60,
                        measured=1, committed=0, available=1, steadiness=1, samples=1,
                        updated_at=T0)  # fmt: skip
    bad = orjson.loads(entry.model_dump_json())
    bad["updated_at"] = ATTACK_TS  # the UTC conversion raises OverflowError, not a ValueError
    sink = Sink(settings)
    try:
        assert sink._decode(settings.topics.ledger, orjson.dumps(bad), "ledger/0/7") is None
        assert sink._decode(settings.topics.readings, b"\xff not json", "readings/0/8") is None
        assert sink.stats.rejected == 2
        sink.rejects.flush()
    finally:
        _close(sink)
    rejected = sorted(
        (
            Rejection.model_validate_json(v)
            for v in consume_all(settings, settings.topics.rejected, 2)
        ),
        key=lambda r: r.source,
    )
    assert [r.source for r in rejected] == ["ledger/0/7", "readings/0/8"]
    assert ATTACK_TS in rejected[0].payload
    assert rejected[0].reason


def _constructed(stream: str, ts: datetime, quality: object = ReadingQuality.GOOD) -> _Item:
    """An item as the decoder never makes it: built without validation."""
    reading = Reading.model_construct(meter=stream, ts=ts, value=1.0, unit="MW", quality=quality)
    model = ReadingBatch.model_construct(
        schema_version=1, batch_id=f"{stream}-b", stream=stream, readings=[reading]
    )
    return _Item(f"readings/0/{stream}", stream.encode(), _Readings([model], 1))


def test_write_isolates_and_rejects_records_the_write_path_raises_on(settings: Settings) -> None:
    year1 = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    good = [
        _Item(f"readings/0/g{i}", b"g", _Readings([batch(f"g{i}", 3, start=10 * i)], 3))
        for i in range(3)
    ]
    year0 = _constructed("year0", year1)  # the writer refuses times outside the window
    broken = _constructed("broken", T0, quality="good")  # a str, not the enum: AttributeError
    sink = Sink(settings)
    refused: list[_Item] = []
    try:
        result = sink._write([good[0], year0, good[1], broken, good[2]], refused)
        sink.rejects.flush()
        assert sink.conn is not None
        assert sink.conn.execute("SELECT 1").fetchone() == (1,)  # the connection still works
    finally:
        _close(sink)
    assert result.readings == 9
    assert scalar(settings, "SELECT count(*) FROM readings") == 9
    assert refused == [year0, broken]
    rejected = {
        r.source: r.reason
        for r in map(
            Rejection.model_validate_json, consume_all(settings, settings.topics.rejected, 2)
        )
    }
    assert set(rejected) == {"readings/0/year0", "readings/0/broken"}
    assert "reading times must lie within 1970-01-01" in rejected["readings/0/year0"]
    assert "AttributeError" in rejected["readings/0/broken"]
