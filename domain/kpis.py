"""Park KPIs: what committed exchanges are worth per year, and availability summed per kind.

Pure functions over registry records and ledger entries; the dashboard calls them per viewer
with the records that viewer may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.benefits import estimate
from domain.errors import UnitError
from domain.geo import haversine_km
from domain.units import canonical_unit, convert, gas_density, to_canonical
from schemas.alerts import Benefit
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
    sums: dict[tuple[str, ResourceKind], tuple[float, int]] = {}
    species = gas_species or {}
    for e in entries:
        try:
            value = to_canonical(
                e.available, e.unit, e.kind, field=f"ledger {e.stream!r}",
                gas_species=species.get(e.stream),
            )  # fmt: skip
        except UnitError:
            continue
        total, n = sums.get((e.site, e.kind), (0.0, 0))
        sums[(e.site, e.kind)] = (total + value, n + 1)
    return [
        KindAvailability(site, kind, total, canonical_unit(kind), n)
        for (site, kind), (total, n) in sorted(sums.items())
    ]
