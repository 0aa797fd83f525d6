"""The readings topic's fast reader answers only with what the models would hold.

:func:`schemas.readings_wire.wire_batches` may decline any record (the models then decide);
when it answers, the models must accept the same bytes with the same values. Checked on
hand-written corners and on records generated from tricky values per field, with duplicate
keys and escapes at the JSON level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schemas.readings import MAX_READINGS_PER_RECORD, BatchFields, ReadingBatch, ReadingsRecord
from schemas.readings_wire import WireBatch, wire_batches
from tests.wire_fuzz import Raw, agrees, answered, escaped

Pairs = list[tuple[str, Any]]
"""A JSON object as key-value pairs, so a key can appear twice."""


def _dump(obj: Any) -> bytes:
    if isinstance(obj, list) and obj and all(isinstance(p, tuple) for p in obj):
        return b"{" + b",".join(orjson.dumps(k) + b":" + _dump(v) for k, v in obj) + b"}"
    if isinstance(obj, list):
        return b"[" + b",".join(_dump(v) for v in obj) + b"]"
    if isinstance(obj, Raw):
        return obj.text
    return orjson.dumps(obj)


def _reading(meter: str = "m-1", ts: str = "2026-11-22T09:00:00Z") -> Pairs:
    return [("meter", meter), ("ts", ts), ("value", 812.25), ("unit", "MW"), ("quality", "good")]


def _batch(stream: str = "st-1", n: int = 2) -> Pairs:
    readings = [_reading(f"m-{i}") for i in range(n)]
    return [("schema_version", 1), ("batch_id", "b-1"), ("stream", stream), ("readings", readings)]


def _site(*batches: Pairs) -> Pairs:
    return [("schema_version", 2), ("site", "plant-1"), ("batches", list(batches))]


def _view(batches: list[BatchFields]) -> list[tuple[Any, ...]]:
    """Everything a stage reads of the batches; a time as its instant and its offset."""

    def when(ts: datetime) -> tuple[float, Any, Any]:
        return (ts.timestamp(), ts.utcoffset(), ts.replace(tzinfo=None))

    return [
        (b.batch_id, b.stream,
         [(r.meter, when(r.ts), r.value, r.unit, r.quality) for r in b.readings])
        for b in batches
    ]  # fmt: skip


def _agrees(raw: bytes) -> bool:
    return agrees(
        raw, wire_batches, lambda b: ReadingsRecord.model_validate_json(b).batches,
        lambda batches: _view(list(batches)),
    )  # fmt: skip


def test_it_answers_for_the_records_the_doors_write() -> None:
    site = _dump(_site(_batch("st-1"), _batch("st-2", 3)))
    assert _agrees(site)
    assert _agrees(_dump(_batch("st-1")))
    record = ReadingsRecord.model_validate_json(site)
    assert _agrees(record.model_dump_json().encode())  # as a door serialises it


_DECLINED = [
    # what the models refuse, each for one reason
    _site(),
    _site(_batch(n=0)),
    _site([*_batch(), ("extra", 1)]),
    _site(_batch("St-1")),
    _site(_batch(" st-1")),
    _site(_batch("st-1\n")),
    _batch("a" * 65),
    [*_batch()[:1], ("batch_id", ""), *_batch()[2:]],
    [*_batch()[:3], ("readings", [[*_reading()[:2], ("value", Raw(b"1e400")), *_reading()[3:]]])],
    [*_batch()[:3], ("readings", [[*_reading()[:3], ("unit", "M\u0000W"), *_reading()[4:]]])],
    [*_batch()[:3], ("readings", [[*_reading()[:3], ("unit", "ton"), *_reading()[4:]]])],
    [*_batch()[:3], ("readings", [_reading(ts="1969-12-31T23:59:59Z")])],
    [*_batch()[:3], ("readings", [_reading(ts="2200-01-01T00:00:00.000001Z")])],
    [*_batch()[:3], ("readings", [_reading(ts="2199-12-31T23:00:01-01:00")])],
    [*_batch()[:3], ("readings", [_reading(ts="0001-01-01T00:00:00+23:59")])],
    [*_batch()[:3], ("readings", [_reading(ts="2026-11-22T09:00:00")])],
    # what the models accept in another form than the fast reader's: declined, not misread
    [*_batch()[:1], ("batch_id", " b-1 "), *_batch()[2:]],
    [*_batch()[:3], ("readings", [[*_reading()[:3], ("unit", " MW"), *_reading()[4:]]])],
    [*_batch()[:3], ("readings", [_reading(ts="2026-11-22T09:00:00.1234567Z")])],
    [*_batch()[:3], ("readings", [_reading(ts="2026-11-22T09:00:00.9999995+01:00")])],
    [*_batch()[:3], ("readings", [[*_reading()[:2], ("value", "1.5"), *_reading()[3:]]])],
    # an escaped digit or dot hides a long fraction from a test on the raw bytes
    [*_batch()[:3], ("readings", [_reading(ts=Raw(b'"2026-11-22T09:00:00.123456\\u0037Z"'))])],
    [*_batch()[:3], ("readings", [_reading(ts=Raw(b'"1969-12-31T23:59:59\\u002e9999995Z"'))])],
    [
        *_batch()[:3],
        ("readings", [[*_reading()[:3], ("unit", Raw(b'"\\u004dW"')), *_reading()[4:]]]),
    ],
]


@pytest.mark.parametrize("record", _DECLINED, ids=range(len(_DECLINED)))
def test_it_declines_what_it_cannot_be_sure_of(record: Pairs) -> None:
    assert wire_batches(_dump(record)) is None


def test_a_push_over_the_record_bound_is_declined() -> None:
    per = MAX_READINGS_PER_RECORD // 2 + 1
    raw = _dump(_site(_batch("a", per), _batch("b", per)))
    assert wire_batches(raw) is None
    with pytest.raises(ValidationError):
        ReadingsRecord.model_validate_json(raw)


def test_a_batch_the_stage_refuses_goes_to_the_rejected_topic_as_its_json() -> None:
    fast = wire_batches(_dump(_batch()))
    assert fast is not None
    assert isinstance(fast[0], WireBatch)
    again = ReadingBatch.model_validate_json(fast[0].to_json())
    assert _view([again]) == _view(list(fast))
    assert fast[0].to_json() == again.model_dump_json().encode()  # the bytes it used to be


_SLUGS = ["a", "st-1", "m_2", "A", "a b", " a", "a ", "a\n", "a--b", "-a", "a_", "ä", "a" * 64,
          "a" * 65, "", "a\u0000", "a\u2028", 1, None]  # fmt: skip
_TIMES = [
    "2026-11-22T09:00:00Z", "2026-11-22T09:00:00.5+01:00", "2026-11-22T09:00:00+23:59",
    "2026-11-22T09:00:00-00:00", "2026-11-22T09:00:00+24:00", "2026-11-22t09:00:00z",
    "2026-11-22 09:00:00Z", "2026-11-22T09:00:00.123456Z", "2026-11-22T09:00:00.1234567Z",
    "2026-11-22T09:00:00,5Z", "2026-11-22T09:00Z", "2026-11-22T09:00:00+0100",
    "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z", "1970-01-01T00:59:59+01:00",
    "2200-01-01T00:00:00Z", "2200-01-01T00:30:00+01:00", "2199-12-31T23:30:00-01:00",
    "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "2026-11-22T09:00:00",
    "2026-11-22", "2026-02-30T00:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T23:59:60Z",
    1_700_000_000, "1700000000", None,
]  # fmt: skip
_VALUES = [0, -0.0, 1e12, -1e12, 1.5, 812.123456789, 5e-324, Raw(b"1e400"), Raw(b"-1E2"),
           Raw(b"1000000000000.0000001"), Raw(b"1.00000000000000000001"), Raw(b"01"),
           "1", True, None, 10**12 + 1]  # fmt: skip
_UNITS = ["MW", " MW", "MW ", "m3/h", "Nm³/h", "t/y", "ton", "m**999", "M\u0000W", "x" * 33, "",
          "furlong", "吨/小时", "GJ/month", 1]  # fmt: skip
_QUALITIES = ["good", "bad", "uncertain", "GOOD", None, 1]
_BATCH_IDS = ["b", " b", "b ", "", "x" * 64, "x" * 65, "\t", "b\u2028", "b\u001c", "batches", 7]
_VERSIONS = [1, 2, "1", Raw(b"1.0"), 0]


@st.composite
def _records(draw: st.DrawFn) -> bytes:
    def pick(pool: list[Any], usual: Any) -> Any:
        return draw(st.sampled_from(pool)) if draw(st.integers(0, 9)) == 0 else usual

    def reading() -> Pairs:
        pairs: Pairs = [
            ("meter", pick(_SLUGS, "m-1")),
            ("ts", pick(_TIMES, "2026-11-22T09:00:00Z")),
            ("value", pick(_VALUES, draw(st.floats(-1e12, 1e12)))),
            ("unit", pick(_UNITS, "MW")),
            ("quality", pick(_QUALITIES, "good")),
        ]
        return _shaped(draw, pairs)

    def batch() -> Pairs:
        pairs: Pairs = [
            ("schema_version", pick(_VERSIONS, 1)),
            ("batch_id", pick(_BATCH_IDS, "b-1")),
            ("stream", pick(_SLUGS, "st-1")),
            ("readings", [reading() for _ in range(pick([0], draw(st.integers(1, 3))))]),
        ]
        return _shaped(draw, pairs)

    if draw(st.booleans()):
        return escaped(draw, _dump(batch()))
    site: Pairs = [
        ("schema_version", pick(_VERSIONS, 2)),
        ("site", pick(_SLUGS, "plant-1")),
        ("batches", [batch() for _ in range(pick([0], draw(st.integers(1, 3))))]),
    ]
    return escaped(draw, _dump(_shaped(draw, site)))


def _shaped(draw: st.DrawFn, pairs: Pairs) -> Pairs:
    """The object as written, or with a key left out, repeated, or added."""
    how = draw(st.integers(0, 15))
    if how == 0 and pairs:
        del pairs[draw(st.integers(0, len(pairs) - 1))]
    elif how == 1 and pairs:
        key, _ = pairs[draw(st.integers(0, len(pairs) - 1))]
        pairs.append((key, draw(st.sampled_from([v for k, v in pairs if k != key] or [1]))))
    elif how == 2:
        pairs.append((draw(st.sampled_from(["extra", "batches", "readings", "Meter"])), 1))
    return pairs


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_when_it_answers_the_models_agree(raw: bytes) -> None:
    _agrees(raw)


def test_the_generated_records_are_answered_often_enough_to_mean_something() -> None:
    """The property above proves nothing if the fast reader declined every generated record."""
    assert answered(_records(), _agrees) >= 30
