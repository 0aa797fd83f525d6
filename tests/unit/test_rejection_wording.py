"""Rejections from the stages say what is wrong in one line of plain words (domain.wording)."""

from __future__ import annotations

import orjson
import pytest
from pydantic import ValidationError

from domain.wording import summary
from schemas.ledger import LedgerEntry
from schemas.readings import RECORD_SHAPES, ReadingsRecord


def refusal(value: object, model: type = ReadingsRecord) -> str:
    data = value if isinstance(value, bytes) else orjson.dumps(value)
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(data)
    tags = RECORD_SHAPES if model is ReadingsRecord else None
    return summary(caught.value, model=model, tags=tags)


READING = {"meter": "m1", "ts": "2026-12-04T10:00:00Z", "value": 1.0, "unit": "MW"}


def site(*readings: dict[str, object], site_id: str = "plant") -> dict[str, object]:
    batch = {"batch_id": "b", "stream": "heat", "readings": list(readings)}
    return {"schema_version": 2, "site": site_id, "batches": [batch]}


def test_each_field_is_named_under_the_record_and_said_plainly() -> None:
    bad = {**READING, "ts": "2026-12-04T10:00:00", "value": 1e13, "colour": "red"}
    assert refusal(site(READING, bad, site_id="Plant 1")) == (
        "site: must be lowercase letters and digits, with single '-' or '_' between them; "
        "batches[0].readings[1].ts: must be an ISO 8601 date-time with a time zone; "
        "batches[0].readings[1].value: must be at most 1000000000000; "
        "batches[0].readings[1].colour: unknown field; expected one of: meter, ts, value, "
        "unit, quality"
    )


def test_a_lone_stream_batch_is_located_under_its_own_fields() -> None:
    got = refusal({"batch_id": "b", "stream": "heat", "readings": []})
    assert got == "readings: at least 1 item"


def test_not_json_says_where() -> None:
    assert refusal(b'{"site": ').startswith("not valid JSON (")


def test_many_errors_are_counted_not_listed() -> None:
    readings = [{**READING, "value": "x"} for _ in range(8)]
    got = refusal(site(*readings))
    assert got.count("value: must be a number") == 5
    assert got.endswith("; and 3 more")
    for raw in ("\n", "pydantic", "input_value"):
        assert raw not in got


def test_other_payloads_keep_their_field_names() -> None:
    got = refusal({"stream": "heat"}, LedgerEntry)
    assert got.startswith("site: required; ")


@pytest.mark.parametrize("value", [b"[1]", b"5", b"null", b'"text"'])
def test_a_record_that_is_not_an_object_names_no_field(value: bytes) -> None:
    assert refusal(value) == "must be an object"


def test_hostile_keys_cannot_break_the_line_or_grow_it() -> None:
    evil = {**READING, "\x1b[2J\nroot": 1, "k" * 5000: 2}
    got = refusal(site(*[evil] * 3))
    assert "\n" not in got
    assert "\x1b" not in got
    assert len(got) <= 1000
    assert "batches[0].readings[0].'\\x1b[2J\\nroot': unknown field" in got
