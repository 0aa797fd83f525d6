"""The reading schema's window on timestamps and bound on values: every stage parses with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest
from pydantic import ValidationError
from pydantic_core import TzInfo

from schemas.readings import (
    EARLIEST_READING_TS,
    LATEST_READING_TS,
    MAX_ABS_VALUE,
    MAX_READINGS_PER_RECORD,
    Reading,
    ReadingBatch,
    ReadingsRecord,
    SiteReadings,
)

ATTACK_TS = "0001-01-01T00:00:00+23:59"  # year 0 in UTC: datetime.astimezone raises on it


def _batch_json(ts: str = "2026-11-22T10:00:00Z", value: object = 10.0) -> bytes:
    good = {"meter": "m-1", "ts": "2026-11-22T09:00:00Z", "value": 1.0, "unit": "MW"}
    bad = {"meter": "m-1", "ts": ts, "value": value, "unit": "MW"}
    return orjson.dumps({"batch_id": "b-1", "stream": "s-1", "readings": [good, bad]})


def _refused(raw: bytes) -> list[tuple[tuple[int | str, ...], str]]:
    with pytest.raises(ValidationError) as e:
        ReadingBatch.model_validate_json(raw)
    return [(err["loc"], err["msg"]) for err in e.value.errors()]


def test_the_attack_timestamp_is_refused_not_raised() -> None:
    assert _refused(_batch_json(ATTACK_TS)) == [
        (("readings", 1, "ts"), "Input should be greater than or equal to 1970-01-01T00:00:00Z")
    ]


@pytest.mark.parametrize(
    "ts",
    ["1969-12-31T23:59:59Z", "1970-01-01T00:59:59+01:00", "2200-01-01T00:00:01Z",
     "2199-12-31T23:30:00-01:00", "9999-12-31T23:59:59-23:59"],
)  # fmt: skip
def test_instants_outside_the_window_are_refused_whatever_their_offset(ts: str) -> None:
    [(loc, _)] = _refused(_batch_json(ts))
    assert loc == ("readings", 1, "ts")


@pytest.mark.parametrize(
    "ts",
    ["1970-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00", "1969-12-31T23:00:00-01:00",
     "2200-01-01T00:00:00Z", "2200-01-01T00:30:00+01:00", "2026-11-22T15:30:00+05:30"],
)  # fmt: skip
def test_instants_inside_the_window_are_kept_with_their_offset(ts: str) -> None:
    reading = ReadingBatch.model_validate_json(_batch_json(ts)).readings[1]
    assert reading.ts == datetime.fromisoformat(ts)
    assert reading.ts.utcoffset() == datetime.fromisoformat(ts).utcoffset()


@pytest.mark.parametrize(
    "ts",
    [datetime(1, 1, 1, tzinfo=TzInfo(86340)),
     datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23, minutes=59))),
     datetime(2199, 12, 31, 19, 1, tzinfo=ZoneInfo("America/New_York")),
     datetime(1970, 1, 1, 0, 59, tzinfo=ZoneInfo("Europe/Paris"))],
)  # fmt: skip
def test_python_datetimes_outside_the_window_are_refused(ts: datetime) -> None:
    with pytest.raises(ValidationError, match="ts"):
        Reading(meter="m-1", ts=ts, value=1.0, unit="MW")


def test_the_window_and_the_bound_are_inclusive() -> None:
    tick = timedelta(microseconds=1)
    for ts, value in ((EARLIEST_READING_TS, MAX_ABS_VALUE), (LATEST_READING_TS, -MAX_ABS_VALUE)):
        assert Reading(meter="m-1", ts=ts, value=value, unit="MW").ts == ts
    for ts in (EARLIEST_READING_TS - tick, LATEST_READING_TS + tick):
        with pytest.raises(ValidationError, match="ts"):
            Reading(meter="m-1", ts=ts, value=1.0, unit="MW")
    assert datetime(1970, 1, 1, tzinfo=UTC) == EARLIEST_READING_TS  # as documented


@pytest.mark.parametrize(
    ("value", "msg"),
    [("1e308", "less than or equal to 1000000000000"),
     ("-1e308", "greater than or equal to -1000000000000"),
     ("1000000000001", "less than or equal to 1000000000000"),
     ("1e999", "finite number"), ("NaN", "finite number")],
)  # fmt: skip
def test_values_must_be_finite_and_at_most_1e12(value: str, msg: str) -> None:
    raw = _batch_json().replace(b"10.0", value.encode())
    [(loc, got)] = _refused(raw)
    assert loc == ("readings", 1, "value")
    assert msg in got


@pytest.mark.parametrize("value", [1e12, -1e12, 0.0, 2950.5])
def test_values_within_the_bound_are_kept(value: float) -> None:
    assert ReadingBatch.model_validate_json(_batch_json(value=value)).readings[1].value == value


def _site_json(*batches: dict[str, object]) -> bytes:
    return orjson.dumps({"schema_version": 2, "site": "plant", "batches": list(batches)})


def _stream_batch(stream: str, n: int) -> dict[str, object]:
    reading = {"meter": "m-1", "ts": "2026-11-22T09:00:00Z", "value": 1.0, "unit": "MW"}
    return {"batch_id": f"b-{stream}", "stream": stream, "readings": [reading] * n}


def test_a_readings_record_is_a_site_push_or_a_lone_batch() -> None:
    push = ReadingsRecord.model_validate_json(
        _site_json(_stream_batch("a", 2), _stream_batch("b", 1))
    )
    assert isinstance(push.root, SiteReadings)
    assert [b.stream for b in push.batches] == ["a", "b"]
    assert push.readings == 3
    lone = ReadingsRecord.model_validate_json(orjson.dumps(_stream_batch("a", 2)))
    assert isinstance(lone.root, ReadingBatch)
    assert [b.stream for b in lone.batches] == ["a"]


def test_a_push_is_bounded_in_readings_not_only_in_batches() -> None:
    per = MAX_READINGS_PER_RECORD // 2 + 1
    with pytest.raises(ValidationError, match=f"at most {MAX_READINGS_PER_RECORD}"):
        ReadingsRecord.model_validate_json(
            _site_json(_stream_batch("a", per), _stream_batch("b", per))
        )
    with pytest.raises(ValidationError, match="at least 1"):
        ReadingsRecord.model_validate_json(_site_json())


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_site_json({"batch_id": "x", "readings": []}), "site.batches.0.stream"),
        (orjson.dumps({"site": "plant", "batches": [], "stream": "a"}), "site.stream"),
        (orjson.dumps({"stream": "a", "batch_id": "b"}), "stream.readings"),
        (b"[1]", "stream"),
    ],
)
def test_a_bad_record_names_the_field_of_its_own_shape(raw: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as e:
        ReadingsRecord.model_validate_json(raw)
    assert field in {".".join(str(p) for p in err["loc"]) for err in e.value.errors()}


def _either(raw: bytes) -> tuple[str, object]:
    """What the union says of ``raw``: its dump, or its errors (type, location, message)."""
    try:
        return "valid", ReadingsRecord.model_validate_json(raw).model_dump(mode="json")
    except ValidationError as e:
        return "invalid", [(x["type"], x["loc"], x["msg"]) for x in e.errors()]


def _from_json(raw: bytes) -> tuple[str, object]:
    try:
        record = ReadingsRecord.from_json(raw)
    except ValidationError as e:
        return "invalid", [(x["type"], x["loc"], x["msg"]) for x in e.errors()]
    assert isinstance(record, ReadingsRecord)
    return "valid", record.model_dump(mode="json")


_RECORDS = [
    _site_json(_stream_batch("a", 2), _stream_batch("b", 1)),
    orjson.dumps(_stream_batch("a", 2)),
    _site_json(),
    _site_json({"batch_id": "x", "readings": []}),
    orjson.dumps({"site": "plant", "batches": [], "stream": "a"}),
    orjson.dumps({"stream": "a", "batch_id": "b"}),
    b"[1]",
    b'"batches"',
    b'{"batches": 1}',
    b'{"schema_version": 1, "batch_id": "x", "stream": "a", "readings": [], "batches": []}',
    orjson.dumps({**_stream_batch("batches", 1), "batch_id": '"batches"'}),
    # a duplicate key: the JSON parser keeps one, both paths must keep the same one
    b'{"schema_version": 2, "site": "p", "batches": [], "batches": '
    + orjson.dumps([_stream_batch("a", 1)])
    + b"}",
    _site_json({**_stream_batch("a", 1), "readings": [{"meter": "m", "ts": "x"}]}),
    _site_json(_stream_batch("a", MAX_READINGS_PER_RECORD // 2 + 1), _stream_batch("b", 5_000)),
    b"",
    b"{",
    b"\xff",
]


@pytest.mark.parametrize("raw", _RECORDS)
def test_from_json_says_what_the_union_says(raw: bytes) -> None:
    """The sink and the worker validate with from_json: same record or same errors."""
    assert _from_json(raw) == _either(raw)


def test_from_json_keeps_each_shape() -> None:
    push = ReadingsRecord.from_json(_site_json(_stream_batch("a", 2)))
    assert isinstance(push.root, SiteReadings)
    assert push.readings == 2
    lone = ReadingsRecord.from_json(orjson.dumps(_stream_batch("a", 2)))
    assert isinstance(lone.root, ReadingBatch)
