"""Staleness on the real stack: a stream that goes quiet counts zero and its alerts resolve.

The worker runs with ``stale_after_s`` = 15 s: a stream's readings stop, and within seconds its
newest ledger row is stale (zero available) and its open alert resolves with reason ``stale``;
when it reports again, a new episode opens.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import psycopg
import pytest

from schemas.registry import Park
from symbiosis.pipeline import LocalPipeline
from tests.helpers import produce
from tests.integration.test_integration_lifecycle import SUPPLIER, TAKER, batches, heat_need

pytestmark = pytest.mark.integration

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout_s: float) -> T:
    """The first truthy answer of ``probe``, polled every 0.5 s; fails after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        assert time.monotonic() < deadline, f"nothing after {timeout_s:.0f} s"
        time.sleep(0.5)


def alerts(p: LocalPipeline) -> list[tuple[str, str, str | None]]:
    with psycopg.connect(p.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT alert_id, event, payload->>'reason' FROM alerts ORDER BY ts, idempotency_key"
        ).fetchall()
    return [(a, e, r) for a, e, r in rows]


def newest_ledger(p: LocalPipeline, stream: str) -> tuple[bool, float] | None:
    with psycopg.connect(p.settings.database_url) as conn:
        row = conn.execute(
            "SELECT stale, available FROM ledger WHERE stream = %s "
            "ORDER BY updated_at DESC LIMIT 1",
            (stream,),
        ).fetchone()
    return (bool(row[0]), float(row[1])) if row is not None else None


def test_a_quiet_stream_turns_stale_resolves_its_alert_and_comes_back(
    pipeline: LocalPipeline,
) -> None:
    pipeline.settings = pipeline.settings.model_copy(update={"stale_after_s": 15.0})
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need()]))
    pipeline.start("streams")
    pipeline.start("sink")
    produced = produce(pipeline, batches("heat-0", [10.0] * 5, start_s=0))
    pipeline.wait_caught_up(produced)
    assert [e for _, e, _ in alerts(pipeline)] == ["opened"]
    assert newest_ledger(pipeline, "heat-0") == (False, 10.0)

    # silence: no record for heat-0 from now on
    resolved = eventually(lambda: [a for a in alerts(pipeline) if a[1] == "resolved"], 60)
    assert [(e, r) for _, e, r in resolved] == [("resolved", "stale")]
    assert eventually(lambda: newest_ledger(pipeline, "heat-0"), 10) == (True, 0.0)
    time.sleep(3)  # later sweeps leave a stale stream alone
    assert len(alerts(pipeline)) == 2

    # it reports again (newer readings): back, and a new episode opens
    produced += produce(pipeline, batches("heat-0", [10.0] * 5, start_s=60))
    pipeline.wait_caught_up(produced)
    events = alerts(pipeline)
    assert [e for _, e, _ in events] == ["opened", "resolved", "opened"], events
    assert events[2][0] != events[0][0]  # another alert id: another episode
    assert newest_ledger(pipeline, "heat-0") == (False, 10.0)
