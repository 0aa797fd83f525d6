"""Compressed pushes: ``Content-Encoding: gzip``/``deflate`` bodies are read as if sent plain,
with the same size limit on what they decode to (``ingest.api.middleware``). No services."""

from __future__ import annotations

import gzip
import time
import zlib
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from runtime.settings import Settings
from tests.api_fakes import COMPANY, running_api

TS = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
PUSH = orjson.dumps({"readings": [{"meter": "gas-1", "ts": TS, "value": 5.0, "unit": "m^3/h"}]})
JSON = {**COMPANY, "content-type": "application/json"}


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", gzip.compress(PUSH)),
        ("GZip", gzip.compress(PUSH)),
        ("x-gzip", gzip.compress(PUSH)),
        ("deflate", zlib.compress(PUSH)),
        ("deflate", _raw_deflate(PUSH)),  # what some clients send as deflate
        ("identity", PUSH),
    ],
)
def test_a_compressed_push_is_read_as_if_sent_plain(coding: str, body: bytes) -> None:
    with running_api() as api:
        answer = api.client.post(
            "/v1/readings", content=body, headers={**JSON, "content-encoding": coding}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] == 1


def test_a_body_that_inflates_past_the_limit_is_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"[" + b" " * 50_000_000 + b"]")  # ~50 KB on the wire
    with running_api(Settings(api_max_body_bytes=1_000_000)) as api:
        answer = api.client.post(
            "/v1/readings", content=bomb, headers={**JSON, "content-encoding": "gzip"}
        )
        assert answer.status_code == 413
        assert "once decoded" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("coding", "body", "status"),
    [
        ("gzip", PUSH, 400),  # says gzip, is not
        ("gzip", gzip.compress(PUSH)[:-12], 400),  # cut short
        ("deflate", b"not deflate at all", 400),
        ("br", PUSH, 415),
        ("gzip, gzip", gzip.compress(gzip.compress(PUSH)), 415),
    ],
)
def test_a_body_that_is_not_what_its_coding_says_is_refused_by_name(
    coding: str, body: bytes, status: int
) -> None:
    with running_api() as api:
        answer = api.client.post(
            "/v1/readings", content=body, headers={**JSON, "content-encoding": coding}
        )
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        if status == 415:
            assert answer.headers["accept-encoding"] == "gzip, deflate"
        assert api.kafka.sent == []


def test_a_body_of_many_gzip_members_is_refused_quickly_without_a_token() -> None:
    """Thousands of tiny members under the size limit cost the door quadratic copying (16 s
    on the event loop, before authentication): at most 64 members are read."""
    members = gzip.compress(b"") * 100_000
    with running_api() as api:
        started = time.perf_counter()
        answer = api.client.post(
            "/v1/readings", content=members,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )  # fmt: skip
        assert answer.status_code == 400
        assert "more than 64 gzip members" in answer.json()["detail"]
        assert time.perf_counter() - started < 2.0  # linear: milliseconds; was seconds


@pytest.mark.parametrize(
    ("coding", "body", "status"),
    [
        ("deflate", zlib.compress(PUSH) + b"GARBAGE", 400),  # a second stream is not lost
        ("gzip, identity", gzip.compress(PUSH), 200),
        ("gzip", gzip.compress(PUSH[:20]) + gzip.compress(PUSH[20:]) + b"\x00\x00", 200),
    ],
)
def test_trailing_bytes_identity_and_padding(coding: str, body: bytes, status: int) -> None:
    with running_api() as api:
        answer = api.client.post(
            "/v1/readings", content=body, headers={**JSON, "content-encoding": coding}
        )
        assert answer.status_code == status, answer.text


def test_a_request_without_a_body_is_no_deflate_error() -> None:
    with running_api() as api:
        answer = api.client.get("/v1/sites", headers={**COMPANY, "content-encoding": "deflate"})
        assert answer.status_code != 400, answer.text
