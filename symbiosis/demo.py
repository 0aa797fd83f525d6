"""``symbiosis demo``: the whole pipeline on the local stack with a park file, then a summary.

Steps: start the stack (unless told not to), reset the demo's topics and tables, start the
stream worker and the sink as child processes, simulate the park's historians for
``duration`` seconds, wait until every stage has caught up (zero consumer lag), stop the
children, and print one JSON summary line built from what the database holds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import psycopg
import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from ingest.producer import ReadingsProducer
from ingest.registry import RegistryPublisher
from ingest.simulator import Simulator
from schemas.registry import Park
from sinks.migrate import migrate
from streams.app import changelog_topics
from symbiosis.errors import PipelineError
from symbiosis.kafka_admin import group_lag, recreate_topics
from symbiosis.procs import tail, terminate
from symbiosis.settings import Settings

log = structlog.get_logger(__name__)

CATCH_UP_TIMEOUT_S = 120.0


@dataclass
class Child:
    """A pipeline process started by the demo."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def check(self) -> None:
        """Raise if the process has died."""
        if self.proc.poll() is not None:
            raise PipelineError(
                f"{self.name} exited with code {self.proc.returncode}\n"
                f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
            )


def start_child(settings: Settings, name: str, args: list[str], logs: Path) -> Child:
    """Start ``python -m <args>`` with ``settings`` in its environment, logging to a file."""
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{name}.log"
    with path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **settings.child_env()},
        )
    return Child(name, proc, path)


def reset(settings: Settings) -> None:
    """Fresh topics, forgotten consumer offsets and empty tables for a demo run."""
    t = settings.topics
    compacted = {"cleanup.policy": "compact"}
    recreate_topics(
        settings.kafka_bootstrap,
        {
            t.readings: {},
            t.ledger: compacted,
            t.alerts: {},
            t.rejected: {},
            t.dead_letters: {},
            t.sites: compacted,
            t.needs: compacted,
            t.exchanges: compacted,
            **{name: compacted for name in changelog_topics(settings)},
        },
        settings.partitions,
        groups=[settings.sink_group, settings.streams_group],
    )
    migrate(settings.database_url)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE readings, ledger, alerts")


def simulate(
    settings: Settings,
    park: Park,
    duration_s: float,
    rate_hz: float,
    children: list[Child],
    console: TextIO,
) -> int:
    """Produce the park's readings in real time for ``duration_s``; returns readings acked."""
    sim = Simulator(park, rate_hz=rate_hz, seed=42)
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    start = datetime.now(UTC)
    t0 = time.monotonic()
    tick_s = 0.5
    progress = Progress(
        TextColumn("simulating historians"),
        BarColumn(),
        TextColumn("{task.fields[sent]} readings"),
        TimeRemainingColumn(),
        console=Console(file=console),
    )
    sent = 0
    try:
        with progress:
            task = progress.add_task("sim", total=duration_s, sent=0)
            elapsed = 0.0
            while elapsed < duration_s:
                span = min(tick_s, duration_s - elapsed)
                for batch in sim.tick(start, elapsed, span):
                    producer.send(batch)
                    sent += len(batch.readings)
                elapsed += span
                for child in children:
                    child.check()
                progress.update(task, completed=elapsed, sent=sent)
                time.sleep(max(t0 + elapsed - time.monotonic(), 0.0))
        return producer.flush()
    finally:
        producer.close()


def wait_caught_up(settings: Settings, children: list[Child], produced: int) -> None:
    """Block until the worker and the sink have committed everything and readings are stored.

    Raises:
        PipelineError: a child died, or they did not catch up in time.
    """
    t = settings.topics
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    calm = 0
    while time.monotonic() < deadline:
        for child in children:
            child.check()
        streams_lag = group_lag(
            settings.kafka_bootstrap, settings.streams_group, [t.readings, t.ledger]
        )
        sink_lag = group_lag(
            settings.kafka_bootstrap, settings.sink_group, [t.readings, t.ledger, t.alerts]
        )
        stored = count_readings(settings)
        calm = calm + 1 if streams_lag == 0 and sink_lag == 0 and stored >= produced else 0
        if calm >= 2:
            return
        time.sleep(1.0)
    raise PipelineError(
        f"pipeline did not catch up in {CATCH_UP_TIMEOUT_S:.0f} s "
        f"(streams lag {streams_lag}, sink lag {sink_lag}, stored {stored}/{produced})"
    )


def count_readings(settings: Settings) -> int:
    """Readings stored in the database."""
    with psycopg.connect(settings.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    return int(row[0]) if row else 0


def summary(settings: Settings, produced: int) -> dict[str, Any]:
    """The run's summary, read back from the database (what was really stored)."""
    with psycopg.connect(settings.database_url) as conn:
        stored = conn.execute("SELECT count(*) FROM readings").fetchone()
        streams = conn.execute("SELECT count(DISTINCT stream) FROM ledger").fetchone()
        opened = conn.execute("SELECT count(*) FROM alerts WHERE event = 'opened'").fetchone()
        rows = conn.execute(
            """
            SELECT DISTINCT ON (a.alert_id) a.stream, a.need, a.kind, a.available, a.unit,
                   a.quantity, a.need_unit, a.distance_km, a.co2e_t_per_yr, a.event
            FROM alerts a
            WHERE a.alert_id IN (SELECT alert_id FROM alerts WHERE event = 'opened')
            ORDER BY a.alert_id, a.ts DESC, a.idempotency_key DESC
            """
        ).fetchall()
    alerts = [
        {
            "stream": r[0], "need": r[1], "kind": r[2], "available": round(r[3], 3), "unit": r[4],
            "quantity": round(r[5], 3), "need_unit": r[6], "distance_km": round(r[7], 2),
            "co2e_t_per_yr": round(r[8], 1), "state": "resolved" if r[9] == "resolved" else "open",
        }
        for r in rows
    ]  # fmt: skip
    alerts.sort(key=lambda a: (a["stream"], a["need"]))
    return {
        "readings_produced": produced,
        "readings_stored": int(stored[0]) if stored else 0,
        "ledger_streams": int(streams[0]) if streams else 0,
        "alerts_opened": int(opened[0]) if opened else 0,
        "alerts": alerts,
    }


def run_demo(settings: Settings, park: Park, duration_s: float, rate_hz: float) -> dict[str, Any]:
    """Run the pipeline on ``park`` for ``duration_s`` seconds; returns the summary.

    Raises:
        PipelineError: a stage died or did not catch up (with its log's tail).
        StackError: Kafka or PostgreSQL is not reachable.
    """
    err = sys.stderr
    print(f"demo: resetting topics and tables for park {park.park!r}", file=err)
    reset(settings)
    publisher = RegistryPublisher(settings.kafka_bootstrap, settings.topics)
    try:
        records = publisher.park(park)
        publisher.flush()
    finally:
        publisher.close()
    print(f"demo: published {records} registry records (sites, needs, exchanges)", file=err)
    logs = settings.stack_dir / "logs" / settings.app_id
    children = [
        start_child(settings, "streams", ["streams"], logs),
        start_child(settings, "sink", ["sinks"], logs),
    ]
    try:
        print(f"demo: worker and sink started (logs in {logs})", file=err)
        produced = simulate(settings, park, duration_s, rate_hz, children, err)
        print(f"demo: {produced} readings accepted by Kafka; waiting for the pipeline", file=err)
        started = time.monotonic()
        wait_caught_up(settings, children, produced)
        print(f"demo: caught up in {time.monotonic() - started:.1f} s", file=err)
    finally:
        for child in children:
            if child.proc.poll() is None:
                terminate(child.proc.pid, timeout_s=30)
    return summary(settings, produced)


def print_summary(result: dict[str, Any]) -> None:
    """Human lines on stderr, then the JSON summary as the last line of stdout."""
    for a in result["alerts"]:
        print(
            f"  alert {a['state']:8} {a['stream']} -> {a['need']}: {a['available']} {a['unit']} "
            f"available, {a['distance_km']} km, {a['co2e_t_per_yr']} t CO2e/yr",
            file=sys.stderr,
        )
    sys.stderr.flush()
    print(json.dumps(result), flush=True)
