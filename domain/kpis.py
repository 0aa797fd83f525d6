"""Park KPIs: what committed exchanges are worth per year, and availability summed per kind.

Pure functions over registry records and ledger entries; the dashboard calls them per viewer
with the records that viewer may see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.benefits import estimate
from domain.errors import UnitError
from domain.geo import haversine_km
from domain.units import canonical_unit, convert, gas_density, to_canonical
from schemas.alerts import Alert, Benefit
from schemas.common import ResourceKind
from schemas.ledger import LedgerEntry
from schemas.registry import Exchange, Need, Site, Stream


@dataclass(frozen=True, slots=True)
class Totals:
    """Yearly benefit of a set of exchanges."""

    co2e_t_per_yr: float = 0.0
    diverted_t_per_yr: float = 0.0
    water_m3_per_yr: float = 0.0


def active(exchange: Exchange, at: datetime) -> bool:
    """Whether the exchange is agreed and runs at ``at`` (open-ended when unset)."""
    return (
        exchange.committed
        and (exchange.start is None or exchange.start <= at)
        and (exchange.end is None or at < exchange.end)
    )


def exchange_benefit(
    exchange: Exchange, supplier: tuple[Site, Stream], receiver: tuple[Site, Need]
) -> Benefit:
    """Yearly benefit of an exchange at its committed quantity.

    Raises:
        UnitError: the exchange's unit cannot be expressed in the need's unit.
    """
    (s_site, stream), (n_site, need) = supplier, receiver
    quantity = convert(
        exchange.quantity, exchange.unit, need.unit, field=f"exchange {exchange.id!r} quantity",
        kind=stream.kind, gas_species=stream.gas_species or need.gas_species,
        density_kg_per_m3=gas_density(stream, need),
    )  # fmt: skip
    distance = haversine_km(s_site.lat, s_site.lon, n_site.lat, n_site.lon)
    return estimate(stream, need, quantity, distance)


def totals(benefits: Iterable[Benefit]) -> Totals:
    """The sum of yearly benefits."""
    listed = list(benefits)
    return Totals(
        sum(b.co2e_t_per_yr for b in listed),
        sum(b.diverted_t_per_yr for b in listed),
        sum(b.water_m3_per_yr for b in listed),
    )


@dataclass(frozen=True, slots=True)
class KindAvailability:
    """Available surplus of one kind at one site, in the kind's canonical unit."""

    site: str
    kind: ResourceKind
    available: float
    unit: str
    streams: int
    stale: int = 0
    """Of ``streams``, those stale (silent: they count zero)."""


def availability_by_kind(
    entries: Iterable[LedgerEntry], gas_species: dict[str, str | None] | None = None
) -> list[KindAvailability]:
    """Sum the latest ledger entries per (site, kind), in canonical units, sorted.

    Args:
        entries: One (latest) entry per stream.
        gas_species: Stream id -> gas species, for gas volume -> mass conversion.

    Entries whose unit cannot be expressed canonically (a gas volume without species) are
    left out rather than summed wrongly.
    """
    sums: dict[tuple[str, ResourceKind], tuple[float, int, int]] = {}
    species = gas_species or {}
    for e in entries:
        try:
            value = to_canonical(
                e.available, e.unit, e.kind, field=f"ledger {e.stream!r}",
                gas_species=species.get(e.stream),
            )  # fmt: skip
        except UnitError:
            continue
        total, n, stale = sums.get((e.site, e.kind), (0.0, 0, 0))
        sums[(e.site, e.kind)] = (total + value, n + 1, stale + e.stale)
    return [
        KindAvailability(site, kind, total, canonical_unit(kind), n, stale)
        for (site, kind), (total, n, stale) in sorted(sums.items())
    ]


def allocate(
    alerts: Sequence[Alert], demand: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Share of each open alert's quantity a park can really use: each surplus counted once.

    One surplus often fits several needs, and one need several surpluses; adding every alert's
    benefit counts the same megawatt once per need it could serve. Here each stream's available
    surplus and each need's demand are handed out once, greedily, to the pairs with the highest
    CO2e benefit per unit first (ties by alert id, so the answer is deterministic). A pair whose
    units cannot be compared takes the whole of what is left of its stream.

    Args:
        alerts: the open alerts (one per stream and need).
        demand: need id -> its demand in the need's unit; without it, a need takes at most the
            largest quantity any one of its alerts offers.

    Returns:
        alert id -> share in [0, 1] of its quantity (and so of its benefit) allocated.
    """
    left_supply: dict[str, float] = {}
    left_demand: dict[str, float] = dict(demand or {})
    offers: list[tuple[float, str, Alert, float | None]] = []
    for a in alerts:
        left_supply.setdefault(a.stream, a.available)
        if demand is None or a.need not in demand:
            left_demand[a.need] = max(left_demand.get(a.need, 0.0), a.quantity)
        try:
            in_stream_unit: float | None = convert(
                a.quantity, a.need_unit, a.unit, field=f"alert {a.alert_id!r}", kind=a.kind
            )
        except UnitError:
            in_stream_unit = None
        per_unit = a.benefit.co2e_t_per_yr / in_stream_unit if in_stream_unit else 0.0
        offers.append((per_unit, a.alert_id, a, in_stream_unit))
    shares: dict[str, float] = {}
    for _, alert_id, a, in_stream_unit in sorted(offers, key=lambda o: (-o[0], o[1])):
        supply = left_supply[a.stream]
        if a.quantity <= 0 or supply <= 0:
            shares[alert_id] = 0.0
            continue
        if in_stream_unit is None:
            shares[alert_id] = 1.0
            left_supply[a.stream] = 0.0
            continue
        wanted = max(0.0, min(a.quantity, left_demand[a.need]))  # in the need's unit
        taken = min(in_stream_unit * wanted / a.quantity, supply)  # in the stream's unit
        share = taken / in_stream_unit
        shares[alert_id] = share
        left_supply[a.stream] = supply - taken
        left_demand[a.need] -= share * a.quantity
    return shares
