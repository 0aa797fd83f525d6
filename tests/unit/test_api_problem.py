"""Every error answer is an RFC 9457 problem document, in plain words (issue 17, points 1-2)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.api.errors import PROBLEM_TYPES
from runtime.settings import Settings
from tests.api_fakes import COMPANY, REFINERY, Api, running_api

API_DIR = Path(__file__).resolve().parents[2] / "ingest" / "api"


@pytest.fixture
def api() -> Iterator[Api]:
    with running_api(Settings(api_max_body_bytes=4096)) as a:
        yield a


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    """The answer is a problem document of ``status`` with the stable ``code``."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["type"] == f"{PROBLEM_TYPES}{code}"
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert (body["error"], body["message"]) == (code, body["detail"])  # kept for old clients
    assert isinstance(body["errors"], list)
    if status == 422:
        assert body["errors"], "a 422 names the bad fields"
    return body


def test_every_kind_of_error_answer_is_a_problem_document(api: Api) -> None:
    c = api.client
    assert_problem(c.get("/v1/me"), 401, "unauthorized")
    assert_problem(c.get("/v1/no-such-route"), 404, "not_found")
    assert_problem(c.delete("/v1/me", headers=COMPANY), 405, "method_not_allowed")
    assert_problem(c.get("/v1/readings", params={"meter": "nope"}, headers=COMPANY), 404,
                   "not_found")  # fmt: skip
    big = b'{"readings": [' + b" " * 5000 + b"]}"
    assert_problem(c.post("/v1/readings", content=big, headers={**COMPANY,
                   "Content-Type": "application/json"}), 413, "too_large")  # fmt: skip
    form = c.post("/v1/readings", content=b"a=1", headers={**COMPANY, "Content-Type": "text/plain"})
    assert_problem(form, 415, "unsupported_media_type")
    body = assert_problem(c.get("/v1/alerts", params={"hours": "-1"}, headers=COMPANY), 422,
                          "invalid_input")  # fmt: skip
    assert [e["field"] for e in body["errors"]] == ["hours"]
    omf = c.post("/omf", content=b"[]", headers={**COMPANY, "omfversion": "1.2"})
    assert_problem(omf, 400, "bad_request")  # no messagetype header


def test_a_partly_refused_push_is_a_problem_that_keeps_its_counts(api: Api) -> None:
    rows = [
        {"meter": "gas-1", "ts": "2026-01-01T00:00:00Z", "value": 1, "unit": "m^3/h"},
        {"meter": "nope", "ts": "2026-01-01T00:00:00Z", "value": 1, "unit": "m^3/h"},
    ]
    r = api.client.post("/v1/readings", json={"readings": rows}, headers=COMPANY)
    body = assert_problem(r, 422, "invalid_input")
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(1, "readings[1].meter")]
    empty = api.client.post("/v1/readings", json={"readings": []}, headers=COMPANY)
    assert assert_problem(empty, 422, "invalid_input")["errors"][0]["field"] == "readings"
    ok = api.client.post("/v1/readings", json={"readings": rows[:1]}, headers=COMPANY)
    assert ok.headers["content-type"] == "application/json"
    assert ok.json() == {"accepted": 1, "rejected": 0, "errors": []}


def test_every_422_the_routes_raise_names_its_fields(api: Api) -> None:
    site = REFINERY.model_dump(mode="json")
    r = api.client.put("/v1/sites/other-id", json=site, headers=COMPANY)
    assert [e["field"] for e in assert_problem(r, 422, "invalid_input")["errors"]] == ["id"]
    need = {"id": "n-1", "site": "not-ours", "kind": "gas", "unit": "m^3/h", "min_quantity": 1}
    r = api.client.put("/v1/needs/n-1", json=need, headers=COMPANY)
    assert [e["field"] for e in assert_problem(r, 422, "invalid_input")["errors"]] == ["site"]
    x = {"id": "x-1", "stream": "fuel-gas", "need": "no-need", "quantity": 1, "unit": "m^3/h"}
    r = api.client.put("/v1/exchanges/x-1", json=x, headers=COMPANY)
    assert [e["field"] for e in assert_problem(r, 422, "invalid_input")["errors"]] == ["need"]
    r = api.client.put("/v1/exchanges/x-1", json={**x, "stream": "other"},
                       headers={"Authorization": "Bearer rival"})  # fmt: skip
    fields = [e["field"] for e in assert_problem(r, 422, "invalid_input")["errors"]]
    assert fields == ["stream", "need"]


def _unnamed_422s() -> list[str]:
    """``ApiError(422, message)`` calls in ingest/api/ that give no field errors."""
    found = []
    for path in sorted(API_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "ApiError"):
                continue
            status = node.args[0] if node.args else None
            named = len(node.args) > 2 or any(k.arg == "errors" for k in node.keywords)
            if isinstance(status, ast.Constant) and status.value == 422 and not named:
                found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_route_raises_a_422_without_naming_the_field() -> None:
    assert _unnamed_422s() == []


def _reasons(r: Any) -> dict[str, str]:
    body = assert_problem(r, 422, "invalid_input")
    return {e["field"]: e["reason"] for e in body["errors"]}


def test_a_bad_site_body_is_answered_in_plain_words(api: Api) -> None:
    site = REFINERY.model_dump(mode="json")
    stream = {**site["streams"][0], "colour": "red", "nominal": -1, "kind": "plasma",
              "id": "x" * 70}  # fmt: skip
    bad = {**site, "lat": "north", "streams": [stream]}
    del bad["company"]
    reasons = _reasons(api.client.put("/v1/sites/refinery", json=bad, headers=COMPANY))
    assert reasons["company"] == "required"
    assert reasons["lat"] == "must be a number"
    assert reasons["streams[0].nominal"] == "must be at least 0"
    assert reasons["streams[0].kind"] == "must be one of: heat, steam, water, material, gas"
    assert reasons["streams[0].id"] == "at most 64 characters"
    assert reasons["streams[0].colour"].startswith("unknown field; expected one of: id, kind, ")
    assert "nominal" in reasons["streams[0].colour"]
    for reason in reasons.values():
        assert "Input should" not in reason
        assert "Field required" not in reason


def test_a_bad_push_is_answered_in_plain_words(api: Api) -> None:
    rows = [
        {"meter": "gas-1", "ts": "2026-01-01T00:00:00", "value": 1, "unit": "m^3/h",
         "quality": "meh", "colour": 1},
        {"meter": "g" * 70, "ts": "yesterday", "value": 1, "unit": "m^3/h"},
        {"ts": "2026-01-01T00:00:00Z"},
    ]  # fmt: skip
    r = api.client.post("/v1/readings", json={"readings": rows}, headers=COMPANY)
    reasons = _reasons(r)
    assert reasons["readings[0].ts"] == "must be an ISO 8601 date-time with a time zone"
    assert reasons["readings[0].quality"] == "must be one of: good, uncertain, bad"
    assert reasons["readings[0].colour"] == "unknown field"
    assert reasons["readings[1].meter"] == "at most 64 characters"
    assert reasons["readings[1].ts"] == "must be an ISO 8601 date-time with a time zone"
    assert reasons["readings[2].meter"] == "required"
    assert all("Input should" not in x for x in reasons.values())
    assert "Input should" not in r.json()["detail"]
    top = api.client.post("/v1/readings", content=b'{"readings": [1,\n 2,, 3]}',
                          headers={**COMPANY, "Content-Type": "application/json"})  # fmt: skip
    assert top.status_code == 400
    assert top.json()["detail"].startswith("the body is not valid JSON (at line 2, column 4): ")
    json_body = {**COMPANY, "Content-Type": "application/json"}
    surrogate = api.client.post("/v1/readings", content=b'{"readings": ["\\ud800"]}',
                                headers=json_body)  # fmt: skip
    assert surrogate.json()["detail"].endswith("): no low surrogate in string")


def test_time_errors_and_broken_json_are_answered_in_plain_words(api: Api) -> None:
    need = {"id": "n-1", "site": "refinery", "kind": "gas", "unit": "m^3/h", "min_quantity": 1,
            "colour": 1}  # fmt: skip
    reasons = _reasons(api.client.put("/v1/needs/n-1", json=need, headers=COMPANY))
    assert reasons["colour"].startswith("unknown field; expected one of: ")
    naive = {"meter": "gas-1", "since": "2026-01-01T00:00:00"}
    reasons = _reasons(api.client.get("/v1/readings", params=naive, headers=COMPANY))
    assert reasons == {"since": "must be an ISO 8601 date-time with a time zone"}
    broken = b'{"id": "n-1",\n  "site": }'
    r = api.client.put("/v1/needs/n-1", content=broken,
                       headers={**COMPANY, "Content-Type": "application/json"})  # fmt: skip
    reasons = _reasons(r)
    assert reasons == {"(body)": "the body is not valid JSON (at line 2, column 11)"}


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        ({"type": "missing", "loc": ("a",), "msg": "Field required"}, "required"),
        ({"type": "string_too_short", "loc": ("a",), "msg": "String should have at least 1 "
          "character", "ctx": {"min_length": 1}}, "at least 1 character"),
        ({"type": "less_than_equal", "loc": ("a",), "msg": "Input should be less than or equal"
          " to 5", "ctx": {"le": 5}}, "must be at most 5"),
        ({"type": "float_parsing", "loc": ("a",), "msg": "Input should be a valid number"},
         "must be a number"),
        ({"type": "literal_error", "loc": ("a",), "msg": "Input should be 'a' or 'b'",
          "ctx": {"expected": "'a' or 'b'"}}, "must be one of: a, b"),
        ({"type": "timezone_aware", "loc": ("a",), "msg": "Input should have timezone info"},
         "must be an ISO 8601 date-time with a time zone"),
        ({"type": "value_error", "loc": ("a",), "msg": "Value error, tag_map['X']: 'm' is not a"
          " meter of this site"}, "tag_map['X']: 'm' is not a meter of this site"),
        ({"type": "brand_new", "loc": ("a",), "msg": "Input should be a valid frobnicator"},
         "must be a valid frobnicator"),
    ],
)  # fmt: skip
def test_pydantic_errors_read_as_plain_sentences(error: dict[str, Any], reason: str) -> None:
    from domain.wording import reason_of

    assert reason_of(error) == reason


def test_a_push_while_kafka_is_away_is_a_503_that_says_when_to_retry(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.errors import UnavailableError

    def away(topic: str, key: str | None, value: bytes | None) -> object:
        raise UnavailableError(f"Kafka did not take a record for {topic}")

    monkeypatch.setattr(api.kafka, "send", away)
    push = {"readings": [{"meter": "gas-1", "ts": "2026-01-01T00:00:00Z", "value": 5.0,
                          "unit": "m^3/h"}]}  # fmt: skip
    r = api.client.post("/v1/readings", json=push, headers={"Authorization": "Bearer refco"})
    body = assert_problem(r, 503, "unavailable")
    assert "retry" in body["detail"]
    assert int(r.headers["Retry-After"]) >= 1
