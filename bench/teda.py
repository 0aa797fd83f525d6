"""The TEDA-shaped load: a park as its plants really send it, for the benchmarks.

TEDA (Tianjin) has 1,000+ companies; a historian pushes its company's meters once a second in
one request. :func:`teda_park` builds such a park with :func:`domain.generate.generate_park`
(the realistic mix of kinds, units, qualities and distances, 5,000 needs), giving every stream
``meters_per_stream`` meters; :func:`teda_pushes` yields, tick by tick, one push per company:
the readings of all its meters at that second, as the Kafka record the doors make of it (one
:class:`~schemas.readings.SiteReadings` keyed by site, see
:meth:`domain.intake.CheckedReadings.records`), so the benchmark's records are the doors'.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import orjson

from domain.generate import generate_park
from schemas.registry import Park, Site, Stream

COMPANIES: Final = 1_000
STREAMS_PER_SITE: Final = 5
METERS_PER_STREAM: Final = 4
NEEDS: Final = 5_000


@dataclass(frozen=True)
class MeterPlan:
    """One meter of the load: its stream, its share of the stream's nominal rate, its noise."""

    meter: str
    stream: str
    unit: str
    mean: float
    noise: float


def teda_park(
    companies: int = COMPANIES,
    *,
    streams_per_site: int = STREAMS_PER_SITE,
    meters_per_stream: int = METERS_PER_STREAM,
    needs: int = NEEDS,
    seed: int = 14,
) -> Park:
    """``companies`` companies with one site each, ``streams_per_site`` streams of
    ``meters_per_stream`` meters per site, and ``needs`` needs (deterministic by ``seed``)."""
    park = generate_park(companies, streams_per_site, needs, seed, sites_per_company=1.0)
    sites = [
        site.model_copy(
            update={
                "streams": [
                    Stream.model_validate(
                        {
                            **st.model_dump(),
                            "meters": [f"{st.id}-m{k}" for k in range(meters_per_stream)],
                        }
                    )
                    for st in site.streams
                ]
            }
        )
        for site in park.sites
    ]
    return Park.model_validate({**park.model_dump(), "sites": [s.model_dump() for s in sites]})


def meter_plans(sites: list[Site]) -> dict[str, list[MeterPlan]]:
    """Site -> its meters, each reading around its share of the stream's nominal rate (one site
    per company in :func:`teda_park`, so one push per company)."""
    plans: dict[str, list[MeterPlan]] = {}
    for site in sites:
        for st in site.streams:
            share = (st.nominal or 1.0) / len(st.meter_ids)
            for m in st.meter_ids:
                plans.setdefault(site.id, []).append(
                    MeterPlan(m, st.id, st.unit, share, share * max(st.variability or 0.0, 0.01))
                )
    return plans


def teda_pushes(
    plans: dict[str, list[MeterPlan]], ticks: int, start: datetime, seed: int = 14
) -> Iterator[list[tuple[bytes, bytes]]]:
    """One push per site per tick (second), as a historian sends it, as the Kafka record the
    doors make of it: one :class:`~schemas.readings.SiteReadings` keyed by site, a stream batch
    per stream (what :class:`ingest.gateway.ReadingGateway` publishes). Sites in a fixed order.
    """
    rng = random.Random(seed)
    n = 0
    for tick in range(ticks):
        ts = (start + timedelta(seconds=tick)).isoformat()
        records = []
        for site, meters in plans.items():
            by_stream: dict[str, list[dict[str, object]]] = {}
            for p in meters:
                by_stream.setdefault(p.stream, []).append(
                    {"meter": p.meter, "ts": ts, "value": round(rng.gauss(p.mean, p.noise), 4),
                     "unit": p.unit, "quality": "good"}
                )  # fmt: skip
            n += 1
            batches = [
                {"schema_version": 1, "batch_id": f"teda-{n}-{i}", "stream": stream, "readings": rows}
                for i, (stream, rows) in enumerate(by_stream.items())
            ]  # fmt: skip
            body = {"schema_version": 2, "site": site, "batches": batches}
            records.append((site.encode(), orjson.dumps(body)))
        yield records


def main() -> None:
    """``python bench/teda.py``: the TEDA park's size and one tick's records, as the benchmark
    sends them."""
    park = teda_park()
    plans = meter_plans(park.sites)
    tick = [r for push in teda_pushes(plans, 1, datetime(2026, 1, 1, tzinfo=UTC)) for r in push]
    sizes = sorted(len(v) for _, v in tick)
    meters = sum(len(m) for m in plans.values())
    print(f"{len(park.sites):,} sites, {sum(len(s.streams) for s in park.sites):,} streams, "
          f"{meters:,} meters, {len(park.needs):,} needs")  # fmt: skip
    print(f"one tick: {len(plans):,} pushes, {len(tick):,} records of {sizes[len(sizes) // 2]} "
          f"bytes (median), {sum(sizes) / 1e6:.1f} MB")  # fmt: skip


if __name__ == "__main__":
    main()
