"""``symbiosis db rebuild``: the Kafka log is the source of truth, the database a view of it.

The pipeline runs on the demo park; then the command replays the retained topics into a fresh
database, and every stored row (readings, ledger, alerts, offers) comes back the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from domain.park import load_park
from ingest.batch_producer import ReadingsProducer
from ingest.simulator import Simulator
from symbiosis.pipeline import LocalPipeline

pytestmark = pytest.mark.integration

TABLES = {
    "readings": "meter, ts",
    "ledger": "stream, updated_at",
    "alerts": "idempotency_key, ts",
    "offers": "id",
}


def _rows(url: str, table: str) -> list[tuple[object, ...]]:
    columns = "*" if table != "offers" else "id, site, kind, quantity, unit, payload"
    query = sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
        sql.SQL(columns), sql.Identifier(table), sql.SQL(TABLES[table])
    )
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def test_db_rebuild_recreates_every_stored_row_from_the_topics(
    pipeline: LocalPipeline, demo_park_path: Path
) -> None:
    settings = pipeline.settings
    park = load_park(demo_park_path)
    pipeline.publish(park)
    pipeline.start("streams")
    pipeline.start("sink")
    sim = Simulator(park, rate_hz=1.0, seed=3)
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    start = datetime.now(UTC) - timedelta(seconds=40)
    try:
        for push in sim.pushes(start, 0.0, 40.0):
            producer.send(push)
        produced = producer.flush()
    finally:
        producer.close()
    pipeline.wait_caught_up(produced, restart_stalled="streams")
    live = {t: _rows(settings.database_url, t) for t in TABLES}
    assert len(live["readings"]) == produced
    assert live["ledger"]
    assert live["alerts"]  # the demo park opens alerts within 40 s

    name = f"symbiosis_rebuild_{uuid.uuid4().hex[:8]}"
    target = psycopg.conninfo.make_conninfo(settings.database_url, dbname=name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBIOSIS_")}
    env |= settings.child_env()
    command = [str(Path(sys.executable).parent / "symbiosis"), "db", "rebuild"]
    try:
        same = subprocess.run([*command, "--into", settings.database_url], env=env,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert same.returncode == 2, same.stderr  # never into the live database
        done = subprocess.run([*command, "--into", target], env=env, capture_output=True,
                              text=True, timeout=600, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert summary["readings"] == produced
        for table in TABLES:
            assert _rows(target, table) == live[table], table
        again = subprocess.run([*command, "--into", target], env=env, capture_output=True,
                               text=True, timeout=600, check=False)  # fmt: skip
        assert again.returncode == 0, again.stderr[-3000:]
        assert _rows(target, "readings") == live["readings"]  # replayed twice, stored once
    finally:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))  # fmt: skip
