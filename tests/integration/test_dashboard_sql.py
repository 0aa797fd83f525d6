"""The Grafana dashboards' SQL in deploy/ runs on both database engines."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from runtime.settings import Settings
from sinks.migrate import migrate
from tests.tsdb_engine import TsdbEngine, start_tsdb_engine

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
TSDB_PORT = 25435


def _sql_targets() -> list[tuple[str, str, str]]:
    out = []
    for path in DASHBOARDS:
        for p in json.loads(path.read_text())["panels"]:
            out += [(f"{path.stem}: {p['title']}", t["rawSql"], t["format"])
                    for t in p["targets"] if "rawSql" in t]  # fmt: skip
    return out


def _expand(sql: str) -> str:
    """Grafana's macros as Grafana would expand them for the last six hours."""
    return re.sub(
        r"\$__timeFilter\((\w+)\)", r"\1 BETWEEN now() - interval '6 hours' AND now()", sql
    )


@pytest.fixture(scope="module")
def tsdb() -> Iterator[TsdbEngine]:
    engine = start_tsdb_engine(TSDB_PORT)
    try:
        migrate(engine.url)
        yield engine
    finally:
        engine.stop()


def _check_sql(url: str) -> None:
    targets = _sql_targets()
    assert len(targets) >= 5
    with psycopg.connect(url, autocommit=True) as conn:
        for title, sql, fmt in targets:
            cur = conn.execute(_expand(sql).encode())
            columns = [c.name for c in cur.description or []]
            if fmt == "time_series":
                assert columns[0] == "time", title
            cur.fetchall()


def test_dashboard_sql_runs_on_postgresql(stack: Settings) -> None:
    _check_sql(stack.database_url)


def test_dashboard_sql_runs_on_timescaledb(tsdb: TsdbEngine) -> None:
    with psycopg.connect(tsdb.url) as conn:
        row = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        ).fetchone()
    assert row is not None  # the aggregates really are continuous aggregates here
    _check_sql(tsdb.url)
