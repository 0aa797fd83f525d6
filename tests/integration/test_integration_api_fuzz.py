"""The API under generated input, on the real stack.

1. Schemathesis generates requests from the OpenAPI document (valid and invalid bodies,
   parameters, headers) for every operation, as a company and as the operator: no answer is a
   5xx, every answer has a documented status and matches its documented schema.
2. Hypothesis pushes random mixes of good and bad readings for registered meters: every
   reading the API answered as accepted is stored, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from ingest.api.app import create_app
from runtime.settings import Settings
from tests.api_env import SUPPLIER, ApiEnv, api_env
from tests.helpers import isolated, scalar, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(stack: Settings) -> Iterator[ApiEnv]:
    s = isolated(stack, "fuzz")
    with api_env(s) as e:
        yield e


# The document needs only the routes, not running services (pytest 9 breaks schemathesis'
# from_fixture, so the schema is built at import and each case is sent to the fixture's app).
schema = schemathesis.openapi.from_dict(create_app(Settings()).openapi())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_generated_requests_get_documented_answers_and_no_5xx(case: Any, env: ApiEnv) -> None:
    who = SUPPLIER if hash(case.path) % 2 else "operator"
    case.call_and_validate(headers=env.auth(who), checks=CHECKS, app=env.client.app)


_METERS = ["refinery-fuel-gas", "refinery-cooling-water"]
_T0 = datetime.now(UTC) - timedelta(hours=2)

good_row = st.builds(
    lambda meter, offset, value: {
        "meter": meter,
        "ts": (_T0 + timedelta(milliseconds=offset)).isoformat(),
        "value": value,
        "unit": "m^3/h",
    },
    st.sampled_from(_METERS),
    st.integers(0, 3_600_000),
    st.floats(0, 1e6, allow_nan=False),
)
bad_row = st.one_of(
    good_row.map(lambda r: {**r, "value": "NaN"}),
    good_row.map(lambda r: {**r, "unit": "furlong"}),
    good_row.map(lambda r: {**r, "meter": "not-registered"}),
    good_row.map(lambda r: {**r, "ts": r["ts"][:19]}),  # naive
    good_row.map(lambda r: {**r, "extra": 1}),
    st.none(),
    st.integers(),
)


@given(rows=st.lists(st.one_of(good_row, bad_row), min_size=1, max_size=60))
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_accepted_reading_is_stored(env: ApiEnv, rows: list[Any]) -> None:
    with psycopg.connect(env.settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM readings WHERE meter = ANY(%s)", (_METERS,))
    r = env.client.post("/v1/readings", json={"readings": rows}, headers=env.auth(SUPPLIER))
    assert r.status_code in (200, 422), r.text
    body = r.json()
    expected = {(x["meter"], x["ts"]) for x in rows if x in _accepted(rows, body)}
    assert body["accepted"] == sum(1 for x in _accepted(rows, body))
    assert body["rejected"] == len({e["row"] for e in body["errors"]})
    count = "SELECT count(*) FROM readings WHERE meter LIKE 'refinery-%'"
    wait_for(lambda: scalar(env.settings, count) >= len(expected), 30, "accepted readings stored")
    assert scalar(env.settings, count) == len(expected)


def _accepted(rows: list[Any], body: dict[str, Any]) -> list[Any]:
    bad = {e["row"] for e in body["errors"]}
    return [x for i, x in enumerate(rows) if i not in bad]
