"""Pushes built to break a door: every one is answered with a named refusal, never a 500."""

from __future__ import annotations

import gzip

import pytest

from tests.api_fakes import COMPANY, running_api

JSON = {**COMPANY, "content-type": "application/json"}
DEEP = b'{"a":' * 300 + b"1" + b"}" * 300  # orjson reads 1,024 levels, writes 254


@pytest.mark.parametrize(
    ("path", "headers", "body"),
    [
        ("/v1/readings", JSON, b'{"readings":[' + DEEP + b"]}"),
        ("/v1/sites/refinery/omf", JSON, b"[" + DEEP + b"]"),
        (
            "/omf",
            {**COMPANY, "messagetype": "data", "action": "create", "messageformat": "JSON",
             "omfversion": "1.2", "content-type": "application/json",
             "compression": "gzip"},
            gzip.compress(b'[{"containerid":"c","values":[' + DEEP + b"]}]"),
        ),
    ],
)  # fmt: skip
def test_json_nested_deeper_than_it_can_be_written_again_is_refused_by_field(
    path: str, headers: dict[str, str], body: bytes
) -> None:
    with running_api() as api:
        answer = api.client.post(path, content=body, headers=headers)
        assert answer.status_code in (400, 404, 422), answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_numeric_string_is_no_timestamp() -> None:
    push = {"readings": [{"meter": "gas-1", "ts": "0", "value": 5.0, "unit": "m^3/h"}]}
    with running_api() as api:
        answer = api.client.post("/v1/readings", json=push, headers=COMPANY)
        assert answer.status_code == 422
        [error] = answer.json()["errors"]
        assert error["field"] == "readings[0].ts"
        assert "ISO 8601" in error["reason"]
