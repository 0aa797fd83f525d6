"""Matching cost per ledger update vs number of open needs: indexed Matcher vs brute force.

For each size a synthetic park is generated (domain.generate: TEDA's ratio of 5 needs per
company, 1.2 sites per company, 2 streams per site, 1 km2 per site). Two layouts:

* ``region``: the region grows by adding TEDA-sized parks (240 sites, 1,000 needs each) on a
  grid 100 km apart, so what is within reach of a site does not change with the total: the
  cost per call should not either (target: 100,000 vs 1,000 needs within 2x).
* ``park``: one ever larger park at constant density. A park smaller than the needs' reach
  (up to 25 km) holds fewer partners within reach, so the cost grows with the matches found
  until the park outgrows the reach; it is output-bound, not a scan.

Then many random ledger updates are replayed: a random stream, an available amount of
0.2x-2x its nominal surplus, a random moment and steadiness. Each update is one
``Matcher.match`` call; the tables report the median (and p90) microseconds per call, the
mean number of matches returned, and the median for a brute-force scan of ``feasible`` over
every need (``Matcher.scan``, checked to return the same matches) at the smaller sizes.

``--decide``: the stream worker's per-entry cost on the TEDA park (``bench/teda.py``: 5,000
streams, 5,000 needs): one ``AlertBook.apply`` (quantities, hysteresis re-check, lifecycle,
alerts, snapshot) per ledger entry, in steady state: a sample of streams is fed an entry a
minute for an hour (pairs open), then an entry a second, each stream's available amount
0.5x-1.5x its nominal surplus, either as a slow wave (an hour's period, 2 % noise: few alerts)
or drawn anew every entry (most open pairs move by more than the update threshold: many
"updated" alerts). Also reported: ``Matcher.quantities`` (warm cache) vs ``Matcher.match`` for
the same entries, and the one-off cost of building a stream's cache.

Usage: ``.venv/bin/python bench/bench_matching.py [--calls 3000] [--sizes 100 1000 ...]``,
``.venv/bin/python bench/bench_matching.py --decide [--streams 300]``
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from domain.generate import ANCHOR, generate_park
from domain.matching import Match, Matcher
from schemas.ledger import LedgerEntry
from schemas.registry import Park, Site, Stream
from streams.alert_state import AlertBook

NEEDS_PER_COMPANY = 5  # TEDA: 1,000 companies, 5,000 open needs
SITES_PER_PARK = 240  # 200 companies x 1.2 sites: a park with 1,000 open needs
PARK_SPACING_KM = 100.0
DEFAULT_SIZES = (100, 1_000, 10_000, 100_000)
BRUTE_FORCE_MAX = 10_000


@dataclass
class Row:
    needs: int
    sites: int
    streams: int
    region_km: float
    build_s: float
    median_us: float
    p90_us: float
    matches: float
    brute_median_us: float | None


Update = tuple[Stream, float, datetime, float]


def updates(streams: list[Stream], n: int, rng: random.Random) -> list[Update]:
    out: list[Update] = []
    for _ in range(n):
        s = rng.choice(streams)
        now = ANCHOR + timedelta(days=rng.uniform(-30, 30))
        sustained = rng.choice([0.0, 600.0, 3600.0, 86_400.0])
        out.append((s, s.nominal * rng.uniform(0.2, 2.0), now, sustained))
    return out


MatchFn = Callable[..., list[Match]]


def time_calls(fn: MatchFn, batch: list[Update]) -> tuple[list[float], float]:
    times: list[float] = []
    found = 0
    gc.disable()
    try:
        for s, available, now, sustained in batch:
            t0 = time.perf_counter_ns()
            result = fn(s.id, available, now=now, sustained_s=sustained)
            times.append((time.perf_counter_ns() - t0) / 1000.0)
            found += len(result)
    finally:
        gc.enable()
    return times, found / max(1, len(batch))


def run(needs: int, calls: int, brute_calls: int, seed: int, layout: str) -> Row:
    companies = max(4, needs // NEEDS_PER_COMPANY)
    clustered = layout == "region"
    park = generate_park(
        companies,
        2,
        needs,
        seed,
        sites_per_park=SITES_PER_PARK if clustered else None,
        park_spacing_km=PARK_SPACING_KM,
    )
    lats = [s.lat for s in park.sites]
    region = (max(lats) - min(lats)) * 111.195
    t0 = time.perf_counter()
    matcher = Matcher.from_park(park)
    build_s = time.perf_counter() - t0
    rng = random.Random(seed + 1)
    streams = [st for _, st in park.streams()]
    batch = updates(streams, calls, rng)
    time_calls(matcher.match, batch[: min(200, calls)])  # warm caches
    times, matches = time_calls(matcher.match, batch)
    brute = None
    if needs <= BRUTE_FORCE_MAX and brute_calls:
        sample = batch[:brute_calls]
        brute_times, brute_matches = time_calls(matcher.scan, sample)
        brute = statistics.median(brute_times)
        _, idx_matches = time_calls(matcher.match, sample)
        assert brute_matches == idx_matches, "index and brute force disagree"
    return Row(
        needs=needs,
        sites=len(park.sites),
        streams=len(streams),
        region_km=region,
        build_s=build_s,
        median_us=statistics.median(times),
        p90_us=statistics.quantiles(times, n=10)[-1],
        matches=matches,
        brute_median_us=brute,
    )


def table(rows: list[Row]) -> None:
    print(
        "| open needs | sites | streams | region km | build s | match median µs | match p90 µs "
        "| matches/call | brute-force median µs | speed-up |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        brute = f"{r.brute_median_us:,.0f}" if r.brute_median_us is not None else "-"
        speed = f"{r.brute_median_us / r.median_us:,.0f}x" if r.brute_median_us else "-"
        print(
            f"| {r.needs:,} | {r.sites:,} | {r.streams:,} | {r.region_km:,.0f} | {r.build_s:.2f} "
            f"| {r.median_us:,.1f} | {r.p90_us:,.1f} | {r.matches:.1f} | {brute} | {speed} |"
        )


def ratio(rows: list[Row], big: int, small: int) -> float | None:
    by_size = {r.needs: r for r in rows}
    if big in by_size and small in by_size:
        return by_size[big].median_us / by_size[small].median_us
    return None


@dataclass
class DecideRow:
    values: str
    median_us: float
    p99_us: float
    alerts_per_entry: float
    open_per_stream: float
    quantities_median_us: float
    match_median_us: float


def decide_rows(streams: int, rounds: int, seed: int) -> tuple[list[DecideRow], float]:
    """Per-entry decision cost on the TEDA park, per way of varying the amounts; cache build µs."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ runs as a script folder
    from teda import teda_park

    park = teda_park()
    build_us: list[float] = []
    rows = [decide_row(park, values, streams, rounds, seed, build_us) for values in VALUES]
    return rows, statistics.median(build_us)


VALUES = ("wave", "drawn")


def decide_row(
    park: Park, values: str, streams: int, rounds: int, seed: int, build_us: list[float]
) -> DecideRow:
    """One steady-state replay (see the module docstring); appends cache build times."""
    rng = random.Random(seed)
    matcher = Matcher.from_park(park)
    book = AlertBook(matcher, hysteresis=0.1)
    sample = rng.sample([(s, x) for s in park.sites for x in s.streams], streams)
    phase = {x.id: rng.uniform(0, 2 * math.pi) for _, x in sample}

    def entry(site: Site, x: Stream, t: float) -> LedgerEntry:
        if values == "drawn":
            a = x.nominal * rng.uniform(0.5, 1.5)
        else:
            wave = 1 + 0.5 * math.sin(phase[x.id] + t / 3600 * 2 * math.pi)
            a = x.nominal * wave * rng.uniform(0.98, 1.02)
        return LedgerEntry(stream=x.id, site=site.id, kind=x.kind, unit=x.unit, window_s=10,
                           measured=a, committed=0, available=a, steadiness=1, samples=1,
                           updated_at=ANCHOR + timedelta(seconds=t))  # fmt: skip

    for _, x in sample:
        t0 = time.perf_counter_ns()
        matcher.quantities(x.id, x.nominal, now=ANCHOR, sustained_s=math.inf)
        build_us.append((time.perf_counter_ns() - t0) / 1000)
    table: dict[str, bytes] = {}
    for r in range(60):  # an hour, an entry a minute: pairs open
        for site, x in sample:
            _, table[x.id] = book.apply(entry(site, x, r * 60.0), table.get(x.id))
    measured = [entry(site, x, 3600.0 + r) for r in range(rounds) for site, x in sample]
    times: list[float] = []
    fast: list[float] = []
    slow: list[float] = []
    alerts = 0
    gc.disable()
    try:
        for e in measured:
            t0 = time.perf_counter_ns()
            emitted, table[e.stream] = book.apply(e, table.get(e.stream))
            times.append((time.perf_counter_ns() - t0) / 1000)
            alerts += len(emitted)
        for e in measured[: len(sample)]:
            t0 = time.perf_counter_ns()
            matcher.quantities(e.stream, e.available, now=e.updated_at, sustained_s=math.inf)
            t1 = time.perf_counter_ns()
            matcher.match(e.stream, e.available, now=e.updated_at, sustained_s=math.inf)
            fast.append((t1 - t0) / 1000)
            slow.append((time.perf_counter_ns() - t1) / 1000)
    finally:
        gc.enable()
    pairs = [p for ps in book.tracker.streams.values() for p in ps.values()]
    return DecideRow(
        values=values,
        median_us=statistics.median(times),
        p99_us=statistics.quantiles(times, n=100)[-1],
        alerts_per_entry=alerts / len(times),
        open_per_stream=sum(p.alert_id is not None for p in pairs) / streams,
        quantities_median_us=statistics.median(fast),
        match_median_us=statistics.median(slow),
    )


def decide_table(rows: list[DecideRow], build_us: float) -> None:
    print(
        "| amounts | apply median µs | apply p99 µs | alerts/entry | open pairs/stream "
        "| quantities() median µs | match() median µs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r.values} | {r.median_us:,.1f} | {r.p99_us:,.1f} | {r.alerts_per_entry:.2f} "
            f"| {r.open_per_stream:.1f} | {r.quantities_median_us:,.1f} "
            f"| {r.match_median_us:,.1f} |"
        )
    print(f"\nbuilding a stream's cache (first entry): median {build_us:,.0f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--calls", type=int, default=3000, help="match() calls per size")
    parser.add_argument("--brute-calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--layout", choices=["region", "park", "both"], default="both")
    parser.add_argument("--decide", action="store_true", help="per-entry decision, TEDA park")
    parser.add_argument("--streams", type=int, default=300, help="streams fed (--decide)")
    parser.add_argument("--rounds", type=int, default=30, help="entries per stream (--decide)")
    args = parser.parse_args()
    if args.decide:
        print("\n### decide per ledger entry, TEDA park\n")
        decide_table(*decide_rows(args.streams, args.rounds, args.seed))
        return
    layouts = ["region", "park"] if args.layout == "both" else [args.layout]
    for layout in layouts:
        rows = [run(n, args.calls, args.brute_calls, args.seed, layout) for n in args.sizes]
        print(f"\n### layout: {layout}\n")
        table(rows)
        r = ratio(rows, 100_000, 1_000)
        if r is not None:
            verdict = "within" if r <= 2.0 else "NOT within"
            print(f"\nmedian cost ratio 100,000 vs 1,000 needs: {r:.2f}x ({verdict} 2x)")
        r = ratio(rows, 100_000, 10_000)
        if r is not None:
            print(f"median cost ratio 100,000 vs 10,000 needs: {r:.2f}x")


if __name__ == "__main__":
    main()
