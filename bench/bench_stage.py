"""The stream worker's stage alone, on the TEDA load: stream updates per second, no Kafka.

What the ledger stage costs per record, apart from faust and Kafka: the TEDA park's pushes
(``bench/teda.py``: 1,000 companies, 5,000 streams of 4 meters) go through
:class:`streams.stage.ReadingsStage` in batches, with the tables as plain dicts (the snapshots
written back after each batch, as the worker does). Prints readings/s and stream updates/s,
and with ``--profile PATH`` writes a cProfile of the run (``python -m pstats PATH``).

Usage::

    .venv/bin/python bench/bench_stage.py [--ticks 20] [--warm 0] [--batch 2000] [--profile /tmp/stage.prof]
"""

from __future__ import annotations

import argparse
import cProfile
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from teda import meter_plans, teda_park, teda_pushes

from domain.matching import Matcher
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.stage import Incoming, ReadingsStage


def run(
    ticks: int, batch: int, warm: int = 0, profiler: cProfile.Profile | None = None
) -> tuple[int, int, int, float]:
    """Readings, stream updates and alerts of ``ticks`` park seconds after ``warm`` park seconds
    not measured (nor profiled); and the seconds taken."""
    park = teda_park()
    matcher = Matcher.from_park(park)
    book = LedgerBook(10.0)
    for site in park.sites:
        book.update_site(site)
    alert_book = AlertBook(matcher, hysteresis=0.1)
    stage = ReadingsStage(book, alert_book)
    start = datetime.now(UTC) - timedelta(seconds=warm + ticks + 5)
    records = [
        Incoming(0, f"teda/{i}", value, None)
        for i, (_, value) in enumerate(r for push in teda_pushes(
            meter_plans(park.sites), warm + ticks, start) for r in push)
    ]  # fmt: skip
    ledger: dict[bytes, bytes] = {}
    alerts: dict[bytes, bytes] = {}
    measured_from = len(records) * warm // (warm + ticks)  # records per tick are constant
    for i in range(0, measured_from, batch):
        out = stage.process(records[i : min(i + batch, measured_from)], ledger.get, alerts.get)
        ledger.update((w.key, w.value) for w in out.ledger_state)
        alerts.update((w.key, w.value) for w in out.alert_state)
    hits_before = alert_book.decisions.quiet_hits
    readings = updates = emitted = 0
    if profiler:
        profiler.enable()
    t0 = time.perf_counter()
    for i in range(measured_from, len(records), batch):
        out = stage.process(records[i : i + batch], ledger.get, alerts.get)
        for w in out.ledger_state:
            ledger[w.key] = w.value
        for w in out.alert_state:
            alerts[w.key] = w.value
        for e in out.ledger:
            e.model_dump_json()
        for a in out.alerts:
            a.model_dump_json()
        readings += out.readings
        updates += len(out.ledger)
        emitted += len(out.alerts)
    took = time.perf_counter() - t0
    if profiler:
        profiler.disable()
    print(f"entries answered from a quiet band: {alert_book.decisions.quiet_hits - hits_before:,}")
    return readings, updates, emitted, took


def main() -> None:
    """Parse the arguments, run the stage, print the rates."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=20, help="park seconds (20,000 readings each)")
    ap.add_argument("--batch", type=int, default=2000, help="records per stage batch")
    ap.add_argument(
        "--warm",
        type=int,
        default=0,
        help="park seconds run first and not measured (the pair caches' cold start)",
    )
    ap.add_argument("--profile", metavar="PATH", help="write a cProfile of the measured part")
    args = ap.parse_args()
    profiler = cProfile.Profile() if args.profile else None
    readings, updates, emitted, took = run(args.ticks, args.batch, args.warm, profiler)
    if profiler:
        profiler.dump_stats(args.profile)
    print(f"{readings:,} readings, {updates:,} stream updates, {emitted:,} alerts in {took:.2f} s: "
          f"{readings / took:,.0f} readings/s, {updates / took:,.0f} updates/s")  # fmt: skip


if __name__ == "__main__":
    main()
