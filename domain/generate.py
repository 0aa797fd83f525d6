"""Synthetic parks for tests and benchmarks: deterministic by seed, realistic in mix and scale.

:func:`generate_park` spreads sites uniformly over a square region whose area grows with the
number of sites (:data:`KM2_PER_SITE` each by default), so density stays realistic; or, with
``sites_per_park``, over several such parks on a grid, a region that grows by adding parks,
where the partners within reach of a site stay the same whatever the region's size.

Streams and needs follow a kind mix typical of eco-industrial parks (heat and materials most
common), with units, ranges, reaches and EWC codes drawn from the kind's usual practice; every
EWC code is on the bundled European List of Waste.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from domain.ewc import catalogue
from schemas.common import ResourceKind
from schemas.registry import Need, Park, Site, WaterQuality

KM2_PER_SITE: Final = 1.0
"""Default land per site: ~1 km2, like a large industrial park (TEDA's core, Kalundborg)."""

ANCHOR: Final = datetime(2025, 1, 1, tzinfo=UTC)
"""Time windows of generated needs lie around this instant."""

KIND_WEIGHTS: Final = {
    ResourceKind.HEAT: 0.25,
    ResourceKind.STEAM: 0.10,
    ResourceKind.WATER: 0.20,
    ResourceKind.MATERIAL: 0.35,
    ResourceKind.GAS: 0.10,
}

BY_PRODUCT_EWC: Final = (
    "100101",  # bottom ash, slag and boiler dust
    "100102",  # coal fly ash
    "100105",  # FGD gypsum
    "100107",  # FGD sludge
    "100104",  # oil fly ash (hazardous)
    "100118",  # gas-cleaning wastes with hazardous substances (hazardous)
    "100124",  # fluidised-bed sands
    "100201",  # processed slag
    "100202",  # unprocessed slag
    "100903",  # furnace slag
    "120101",  # ferrous filings and turnings
    "170405",  # iron and steel
    "191202",  # ferrous metal
    "030105",  # sawdust, shavings, wood
    "030310",  # fibre and filler sludges
    "020304",  # food-processing rejects
    "020704",  # drinks-industry rejects
    "150101",  # paper and cardboard packaging
    "150102",  # plastic packaging
    "070213",  # waste plastic
    "170101",  # concrete
    "170504",  # soil and stones
    "190814",  # industrial wastewater sludges
    "060314",  # solid salts
)
GAS_SPECIES: Final = ("co2", "h2", "ch4", "n2", "o2")


def generate_park(
    companies: int,
    streams_per_site: int,
    needs: int,
    seed: int,
    *,
    region_km: float | None = None,
    center: tuple[float, float] = (55.668, 11.081),
    sites_per_company: float = 1.2,
    km2_per_site: float = KM2_PER_SITE,
    sites_per_park: int | None = None,
    park_spacing_km: float = 100.0,
) -> Park:
    """A random but valid park.

    Long because: one park, built site by site; the parts share the random generator and the
    growing id sets.

    Args:
        companies: Number of companies (each has at least one site).
        streams_per_site: Surplus streams per site.
        needs: Number of needs, spread over random sites.
        seed: Same seed, same park.
        region_km: Side of the square region; by default ``sqrt(sites * km2_per_site)``.
        center: Centre of the region (lat, lon); default Kalundborg. Longitudes wrap at the
            antimeridian, latitudes are clamped at the poles.
        sites_per_company: Mean number of sites per company.
        km2_per_site: Land per site when ``region_km`` is not given (sets the density).
        sites_per_park: When set, sites are grouped into parks of this many sites, each a
            square of its own (``region_km`` or ``sqrt(sites * km2_per_site)``), laid out on a
            square grid ``park_spacing_km`` apart: a region that grows by adding parks.
        park_spacing_km: Distance between neighbouring park centres.

    Returns:
        A park that validates: unique ids, known EWC codes, every need's site exists.

    Raises:
        ValueError: ``companies`` < 1, ``streams_per_site`` < 0 or ``needs`` < 0.
    """
    if companies < 1 or streams_per_site < 0 or needs < 0:
        raise ValueError("need companies >= 1, streams_per_site >= 0, needs >= 0")
    rng = random.Random(seed)
    n_sites = max(companies, round(companies * sites_per_company))
    per_park = sites_per_park if sites_per_park is not None else n_sites
    n_parks = math.ceil(n_sites / per_park)
    grid = math.ceil(math.sqrt(n_parks))
    side = region_km if region_km is not None else math.sqrt(min(per_park, n_sites) * km2_per_site)
    lat0, lon0 = center
    km_per_deg_lon = 111.195 * max(0.01, math.cos(math.radians(lat0)))
    owners = list(range(companies)) + [rng.randrange(companies) for _ in range(n_sites - companies)]
    sites: list[dict[str, Any]] = []
    for i, owner in enumerate(owners):
        gx, gy = divmod(i // per_park, grid)
        x = (gx - (grid - 1) / 2) * park_spacing_km + rng.uniform(-side / 2, side / 2)
        y = (gy - (grid - 1) / 2) * park_spacing_km + rng.uniform(-side / 2, side / 2)
        sites.append(
            {
                "id": f"site-{i:06d}",
                "name": f"Site {i}",
                "company": f"co-{owner:06d}",
                "lat": min(90.0, max(-90.0, lat0 + y / 111.195)),
                "lon": (lon0 + x / km_per_deg_lon + 180.0) % 360.0 - 180.0,
                "disclose_identity": rng.random() < 0.3,
                "streams": [_stream(rng, f"st-{i:06d}-{j}") for j in range(streams_per_site)],
            }
        )
    need_rows = [_need(rng, f"need-{k:07d}", rng.choice(sites)["id"]) for k in range(needs)]
    return Park(
        park=f"Synthetic park (seed {seed})",
        sites=[Site.model_validate(s) for s in sites],
        needs=[Need.model_validate(n) for n in need_rows],
    )


def _kind(rng: random.Random) -> ResourceKind:
    return rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]


def _maybe(rng: random.Random, p: float, lo: float, hi: float) -> float | None:
    return round(rng.uniform(lo, hi), 1) if rng.random() < p else None


def _stream(rng: random.Random, sid: str) -> dict[str, Any]:
    kind = _kind(rng)
    row: dict[str, Any] = {"id": sid, "kind": kind, "variability": round(rng.uniform(0, 0.2), 3)}
    if kind is ResourceKind.HEAT:
        row |= {
            "unit": rng.choice(["MW", "kW"]),
            "temperature_c": round(rng.uniform(35, 160)),
            "max_distance_km": _maybe(rng, 0.5, 2, 10),
        }
        row["nominal"] = round(rng.uniform(0.5, 20) * (1000 if row["unit"] == "kW" else 1), 1)
    elif kind is ResourceKind.STEAM:
        row |= {
            "unit": rng.choice(["t/h", "MW"]),
            "nominal": round(rng.uniform(2, 40), 1),
            "temperature_c": round(rng.uniform(150, 400)),
            "max_distance_km": _maybe(rng, 0.6, 1, 5),
        }
    elif kind is ResourceKind.WATER:
        row |= {
            "unit": rng.choice(["m^3/h", "m^3/d"]),
            "water_quality": rng.choice(list(WaterQuality)),
            "max_distance_km": _maybe(rng, 0.4, 2, 10),
        }
        row["nominal"] = round(rng.uniform(10, 400) * (24 if row["unit"] == "m^3/d" else 1))
    elif kind is ResourceKind.MATERIAL:
        row |= {
            "unit": rng.choice(["t/d", "t/yr", "t/h"]),
            "ewc": rng.choice(BY_PRODUCT_EWC),
            "max_distance_km": _maybe(rng, 0.3, 10, 40),
        }
        per_day = rng.uniform(2, 300)
        row["nominal"] = round(
            {"t/d": per_day, "t/yr": per_day * 365, "t/h": per_day / 24}[row["unit"]], 2
        )
        row["description"] = catalogue().get(row["ewc"]).description
    else:
        row |= {
            "unit": rng.choice(["t/yr", "m^3/h"]),
            "gas_species": rng.choice(GAS_SPECIES),
            "purity_pct": round(rng.uniform(80, 99.99), 2),
            "max_distance_km": _maybe(rng, 0.5, 2, 10),
        }
        row["nominal"] = round(
            rng.uniform(1_000, 100_000) if row["unit"] == "t/yr" else rng.uniform(100, 10_000)
        )
    return row


def _need(rng: random.Random, nid: str, site: str) -> dict[str, Any]:
    kind = _kind(rng)
    row: dict[str, Any] = {"id": nid, "site": site, "kind": kind}
    if kind in (ResourceKind.HEAT, ResourceKind.STEAM):
        unit = "MW" if kind is ResourceKind.HEAT else rng.choice(["t/h", "MW"])
        low, temp = (
            (0.2, rng.uniform(30, 110))
            if kind is ResourceKind.HEAT
            else (1.0, rng.uniform(120, 250))
        )
        row |= {
            "unit": unit,
            "min_quantity": round(rng.uniform(low, 10), 1),
            "min_temperature_c": round(temp),
            "max_distance_km": round(
                rng.uniform(2, 10) if kind is ResourceKind.HEAT else rng.uniform(1, 5), 1
            ),
        }
    elif kind is ResourceKind.WATER:
        row |= {
            "unit": "m^3/h",
            "min_quantity": round(rng.uniform(5, 200)),
            "accepts_water_quality": sorted(
                rng.sample(list(WaterQuality), rng.randint(0, 3)), key=list(WaterQuality).index
            ),
            "max_distance_km": round(rng.uniform(2, 10), 1),
        }
    elif kind is ResourceKind.MATERIAL:
        accepted = {_prefix(rng, rng.choice(BY_PRODUCT_EWC)) for _ in range(rng.randint(1, 3))}
        row |= {
            "unit": rng.choice(["t/yr", "t/d"]),
            "accepts_ewc": sorted(accepted),
            "accepts_hazardous": rng.random() < 0.1,
            "max_distance_km": round(rng.uniform(5, 25), 1),
        }
        per_day = rng.uniform(1, 200)
        row["min_quantity"] = round(per_day * (365 if row["unit"] == "t/yr" else 1), 1)
    else:
        row |= {
            "unit": "t/yr",
            "gas_species": rng.choice(GAS_SPECIES),
            "min_purity_pct": _maybe(rng, 0.7, 80, 99.5),
            "min_quantity": round(rng.uniform(500, 50_000)),
            "max_distance_km": round(rng.uniform(2, 10), 1),
        }
    if rng.random() < 0.5:
        row["max_quantity"] = round(row["min_quantity"] * rng.uniform(1.2, 4), 1) + 1
    row["min_duration_s"] = rng.choice([0, 0, 300, 900, 3600])
    if rng.random() < 0.1:
        start = ANCHOR + timedelta(days=rng.uniform(-60, 30))
        row["active_from"] = start
        row["active_until"] = start + timedelta(days=rng.uniform(1, 120))
    return row


def _prefix(rng: random.Random, code: str) -> str:
    return code[: rng.choice([6, 6, 4, 2])]
