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

Usage: ``.venv/bin/python bench/bench_matching.py [--calls 3000] [--sizes 100 1000 ...]``
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.generate import ANCHOR, generate_park
from domain.matching import Match, Matcher
from schemas.registry import Stream

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--calls", type=int, default=3000, help="match() calls per size")
    parser.add_argument("--brute-calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--layout", choices=["region", "park", "both"], default="both")
    args = parser.parse_args()
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
