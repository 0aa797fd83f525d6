"""The whole slice on the real stack: simulator -> Kafka -> faust worker -> PostgreSQL + alerts."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from domain.park import load_park
from runtime.settings import Settings
from symbiosis.demo import run_demo
from tests.helpers import APPEARING_HEAT_PARK

pytestmark = pytest.mark.integration

PARK = APPEARING_HEAT_PARK


def test_surplus_appears_alert_opens_then_resolves_and_nothing_is_lost(settings: Settings) -> None:
    run = settings.model_copy(
        update={"app_id": f"test-{uuid.uuid4().hex[:8]}", "ledger_window_s": 2.0}
    )
    result = run_demo(run, load_park(PARK), duration_s=24, rate_hz=5)

    assert result["readings_produced"] == 2 * 24 * 5
    assert result["readings_stored"] == result["readings_produced"]
    assert result["ledger_streams"] == 2
    assert result["alerts_opened"] == 1
    [alert] = result["alerts"]
    assert (alert["stream"], alert["need"], alert["kind"]) == (
        "smelter-heat",
        "greenhouse-heat",
        "heat",
    )
    assert alert["state"] == "resolved"

    with psycopg.connect(run.database_url) as conn:
        events = conn.execute(
            "SELECT event, ts FROM alerts ORDER BY ts, idempotency_key"
        ).fetchall()
        stored_per_meter = dict(
            conn.execute("SELECT meter, count(*) FROM readings GROUP BY meter").fetchall()
        )
    names = [e for e, _ in events]
    # the window ramps up after the surplus appears: material changes are 'updated' events
    assert (names[0], names[-1]) == ("opened", "resolved")
    assert set(names[1:-1]) <= {"updated"}
    opened_at, resolved_at = events[0][1], events[-1][1]
    # surplus runs from 5 s to 16 s of the run: the alert spans roughly that interval
    assert 8 <= (resolved_at - opened_at).total_seconds() <= 14
    assert stored_per_meter == {"smelter-heat": 120, "smelter-slag": 120}
