"""``symbiosis demo``: the whole pipeline on the local stack with a park file, then a summary.

Steps: start the stack (unless told not to), reset the demo's topics and tables, start the
stream worker and the sink as child processes, simulate the park's historians for
``duration`` seconds, wait until every stage has caught up (zero consumer lag), stop the
children, and print one JSON summary line built from what the database holds.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import psycopg
import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from domain.errors import SymbiosisError
from ingest.api import tokens
from ingest.batch_producer import ReadingsProducer
from ingest.simulator import Simulator
from schemas.registry import Park
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings

log = structlog.get_logger(__name__)

KEEP_EXPLORING = (
    "demo: done; the demo's processes are stopped and its token revoked. To keep exploring:\n"
    "  symbiosis up --simulate   the whole pipeline stays up (prints the dashboard URL and the "
    "token file)\n"
    "  symbiosis down            stops it all"
)


def simulate(
    settings: StackSettings,
    park: Park,
    duration_s: float,
    rate_hz: float,
    pipeline: LocalPipeline,
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
                for push in sim.pushes(start, elapsed, span):
                    producer.send(push)
                    sent += sum(len(b.readings) for b in push.batches)
                elapsed += span
                pipeline.check()
                progress.update(task, completed=elapsed, sent=sent)
                time.sleep(max(t0 + elapsed - time.monotonic(), 0.0))
        return producer.flush()
    finally:
        producer.close()


def summary(settings: StackSettings, produced: int) -> dict[str, Any]:
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
            ORDER BY a.alert_id, a.ts DESC,
                     split_part(a.idempotency_key, ':', 2)::int DESC
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


def run_demo(
    settings: StackSettings,
    park: Park,
    duration_s: float,
    rate_hz: float,
    *,
    screenshot: Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline on ``park`` for ``duration_s`` seconds; returns the summary.

    The API serves the dashboard during the run; an operator token is issued for the run and
    revoked at its end. With ``screenshot``, the dashboard is saved as a PNG once the
    pipeline has caught up (a failing browser only costs the picture, not the run).

    Raises:
        PipelineError: a stage died or did not catch up (with its log's tail).
        StackError: Kafka or PostgreSQL is not reachable.
    """
    err = sys.stderr
    # SIGTERM (e.g. `timeout make demo`) unwinds like Ctrl-C, so the children are stopped too
    signal.signal(signal.SIGTERM, _interrupt)
    pipeline = LocalPipeline(settings)
    print(f"demo: resetting topics and tables for park {park.park!r}", file=err)
    pipeline.reset()
    records = pipeline.publish(park)
    print(f"demo: published {records} registry records (sites, needs, exchanges)", file=err)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        token = tokens.issue(conn, None, label="demo run")
    url = f"http://{settings.api_host}:{settings.api_port}/dashboard#token={token}"
    try:
        pipeline.start("streams")
        pipeline.start("sink")
        pipeline.start("api")
        print(f"demo: worker, sink and API started (logs in {pipeline.logs})", file=err)
        print(f"demo: live dashboard at {url}", file=err)
        produced = simulate(settings, park, duration_s, rate_hz, pipeline, err)
        print(f"demo: {produced} readings accepted by Kafka; waiting for the pipeline", file=err)
        took = pipeline.wait_caught_up(produced)
        print(f"demo: caught up in {took:.1f} s", file=err)
        if screenshot is not None:
            _screenshot(settings, url, screenshot)
    finally:
        pipeline.stop()
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            tokens.revoke(conn, token[:10])
    return summary(settings, produced)


def _screenshot(settings: StackSettings, url: str, path: Path) -> None:
    from symbiosis.browser import screenshot_dashboard

    try:
        screenshot_dashboard(settings, url, path)
    except SymbiosisError as e:
        print(f"demo: no dashboard screenshot: {e}", file=sys.stderr)
        return
    print(f"demo: dashboard screenshot saved to {path}", file=sys.stderr)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def print_summary(result: dict[str, Any]) -> None:
    """Human lines on stderr, then the JSON summary as the last line of stdout."""
    for a in result["alerts"]:
        print(
            f"  alert {a['state']:8} {a['stream']} -> {a['need']}: {a['available']} {a['unit']} "
            f"available, {a['distance_km']} km, {a['co2e_t_per_yr']} t CO2e/yr",
            file=sys.stderr,
        )
    print(KEEP_EXPLORING, file=sys.stderr)
    sys.stderr.flush()
    print(json.dumps(result), flush=True)
