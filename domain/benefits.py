"""Yearly benefit of an exchange: CO2e avoided, tonnes diverted from landfill, m3 water reused.

Every number comes from one table, ``domain/data/benefit-factors.csv``, where each factor has
its value, unit, published source and year. The rules, per kind of the need served, for an
exchange running at ``quantity`` (in the need's unit) all year:

* **heat / steam**: the heat delivered displaces a natural-gas boiler:
  ``MWh/yr / boiler efficiency x natural_gas_co2`` (hot-water boiler for a heat need, steam
  boiler for a steam need).
* **material**: each tonne displaces virgin material where the table has a
  ``displaced_*`` factor for the stream's EWC code (longest prefix wins), avoids landfill
  (``landfill_inert``), and costs road haulage over the straight-line distance
  (``road_freight`` x km). ``diverted_t_per_yr`` is the tonnage.
* **water**: each m3 displaces mains supply (``water_supply``), plus wastewater treatment
  (``water_treatment``) when the stream is grey water or wastewater. ``water_m3_per_yr`` is
  the volume.
* **gas**: a fuel gas displaces natural gas on an energy basis. The energy comes from the
  stream's ``heating_value_mj_per_m3`` (MJ per normal m3, of the gas as delivered) when given,
  else from the species' ``lhv_*`` factor scaled by purity; other species the project knows
  earn no CO2e credit. A gas with neither a species nor a heating value, a species the project
  does not know, or a quantity that cannot be put in the heating value's basis (mass without
  a density) gives a benefit with ``quantified=False`` and a ``note`` saying why (CO2e 0).

CO2e may be negative (a long haul of a low-value material). Results are not rounded.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final

from domain.errors import ConfigurationError, UnitError
from domain.units import GAS_NORMAL_DENSITY_KG_PER_M3, convert, gas_density, to_canonical
from schemas.alerts import Benefit
from schemas.common import ResourceKind
from schemas.registry import Need, Stream, WaterQuality

FACTORS_FILE: Final = "benefit-factors.csv"

_EXPECTED_UNITS: Final = MappingProxyType(
    {
        "natural_gas_co2": "kg CO2e/MWh",
        "boiler_efficiency_hot_water": "1",
        "boiler_efficiency_steam": "1",
        "landfill_inert": "kg CO2e/t",
        "water_supply": "kg CO2e/m3",
        "water_treatment": "kg CO2e/m3",
        "road_freight": "kg CO2e/t/km",
    }
)
"""Factors the rules need, with the unit the code assumes; the loader checks both."""

_PREFIX_UNITS: Final = MappingProxyType({"displaced_": "kg CO2e/t", "lhv_": "MWh/t"})
_MJ_PER_MWH: Final = 3600.0
_NOTE_MAX_CHARS: Final = 300
_TREATED_QUALITIES: Final = frozenset({WaterQuality.GREY, WaterQuality.WASTEWATER})


@dataclass(frozen=True, slots=True)
class Factor:
    """One row of the factor table."""

    key: str
    value: float
    unit: str
    applies_to: tuple[str, ...]
    description: str
    source: str
    year: int


@dataclass(frozen=True, slots=True)
class FactorTable:
    """The benefit factors, by key, with lookups by EWC code and gas species."""

    factors: Mapping[str, Factor]
    _displaced_by_code: dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def value(self, key: str) -> float:
        """The value of factor ``key``.

        Raises:
            KeyError: no such factor.
        """
        return self.factors[key].value

    def displaced_kg_per_t(self, ewc: str | None) -> float:
        """CO2e avoided (kg per tonne) by the virgin material a material with ``ewc`` displaces.

        The ``displaced_*`` factor whose ``applies_to`` holds the longest prefix of ``ewc``;
        0 when none applies or ``ewc`` is None.
        """
        if ewc is None:
            return 0.0
        value = self._displaced_by_code.get(ewc)
        if value is None:
            value = self._displaced_by_code[ewc] = _displaced(self, ewc)
        return value

    def fuel_lhv_mwh_per_t(self, species: str | None) -> float:
        """Lower heating value of a fuel gas, MWh per tonne; 0 for a non-fuel or unknown gas."""
        if species is None:
            return 0.0
        for f in self.factors.values():
            if f.key.startswith("lhv_") and species.lower() in f.applies_to:
                return f.value
        return 0.0


def estimate(
    stream: Stream,
    need: Need,
    quantity: float,
    distance_km: float,
    *,
    table: FactorTable | None = None,
) -> Benefit:
    """The yearly benefit of ``stream`` serving ``need`` at ``quantity`` (need's unit).

    Args:
        stream: The supplying stream (its EWC code, water quality, gas species and purity).
        need: The need served; its kind picks the rule and its unit is ``quantity``'s unit.
        quantity: The exchanged rate, in ``need.unit``, assumed sustained for a whole year.
        distance_km: Distance between the two sites (materials pay road haulage over it).
        table: Factors to use; the bundled table by default.

    Returns:
        CO2e avoided (t/yr, may be negative), tonnes diverted and m3 reused per year. For a
        gas whose CO2e cannot be estimated, ``quantified`` is False and ``note`` says why.

    Raises:
        UnitError: ``need.unit`` cannot be expressed in its kind's canonical unit (not for a
            gas: its benefit is then not quantified).
    """
    t = table if table is not None else factors()
    label = f"need {need.id!r} quantity"
    kind = need.kind
    if kind in (ResourceKind.HEAT, ResourceKind.STEAM):
        mw = to_canonical(quantity, need.unit, kind, field=label)
        mwh_per_yr = convert(mw, "MW", "MWh/yr", field=label)
        boiler = "steam" if kind is ResourceKind.STEAM else "hot_water"
        efficiency = t.value(f"boiler_efficiency_{boiler}")
        co2e_kg = mwh_per_yr / efficiency * t.value("natural_gas_co2")
        return Benefit(co2e_t_per_yr=co2e_kg / 1000.0)
    if kind is ResourceKind.WATER:
        m3_per_h = to_canonical(quantity, need.unit, kind, field=label)
        m3_per_yr = convert(m3_per_h, "m^3/h", "m^3/yr", field=label)
        per_m3 = t.value("water_supply")
        if stream.water_quality in _TREATED_QUALITIES:
            per_m3 += t.value("water_treatment")
        return Benefit(co2e_t_per_yr=m3_per_yr * per_m3 / 1000.0, water_m3_per_yr=m3_per_yr)
    if kind is ResourceKind.MATERIAL:
        t_per_yr = to_canonical(quantity, need.unit, kind, field=label)
        credit = t.displaced_kg_per_t(stream.ewc) + t.value("landfill_inert")
        haul = t.value("road_freight") * distance_km
        return Benefit(
            co2e_t_per_yr=t_per_yr * (credit - haul) / 1000.0, diverted_t_per_yr=t_per_yr
        )
    return _gas(stream, need, quantity, t, label)


def _gas(stream: Stream, need: Need, quantity: float, t: FactorTable, label: str) -> Benefit:
    species = stream.gas_species or need.gas_species
    density = gas_density(stream, need)
    kind = ResourceKind.GAS
    try:
        if stream.heating_value_mj_per_m3 is not None:
            m3_per_yr = convert(
                quantity, need.unit, "m^3/yr", field=label, kind=kind, gas_species=species,
                density_kg_per_m3=density,
            )  # fmt: skip
            mwh_per_yr = m3_per_yr * stream.heating_value_mj_per_m3 / _MJ_PER_MWH
            return Benefit(co2e_t_per_yr=mwh_per_yr * t.value("natural_gas_co2") / 1000.0)
        if species is None:
            return _not_quantified(
                "a gas with neither gas_species nor heating_value_mj_per_m3: CO2e not quantified"
            )
        lhv = t.fuel_lhv_mwh_per_t(species)
        if lhv == 0.0:
            if species.lower() in GAS_NORMAL_DENSITY_KG_PER_M3:
                return Benefit(co2e_t_per_yr=0.0)  # a known gas that is not a fuel
            return _not_quantified(
                f"no heating value known for gas {species!r}: CO2e not quantified "
                "(give heating_value_mj_per_m3)"
            )
        t_per_yr = to_canonical(
            quantity, need.unit, kind, field=label, gas_species=species, density_kg_per_m3=density
        )
    except UnitError as e:
        return _not_quantified(f"CO2e not quantified: {e}")
    purity = (stream.purity_pct if stream.purity_pct is not None else 100.0) / 100.0
    mwh_per_yr = t_per_yr * purity * lhv
    return Benefit(co2e_t_per_yr=mwh_per_yr * t.value("natural_gas_co2") / 1000.0)


def _not_quantified(note: str) -> Benefit:
    return Benefit(co2e_t_per_yr=0.0, quantified=False, note=note[:_NOTE_MAX_CHARS])


@cache
def factors() -> FactorTable:
    """The bundled factor table, loaded and checked once per process.

    Raises:
        ConfigurationError: a factor the rules need is missing, has another unit than the
            code assumes, or a row does not parse.
    """
    text = (resources.files("domain") / "data" / FACTORS_FILE).read_text(encoding="utf-8")
    return parse_factors(text.splitlines())


def parse_factors(lines: list[str]) -> FactorTable:
    """Parse and check a factor table given as CSV lines (header first).

    Raises:
        ConfigurationError: as :func:`factors`.
    """
    rows: dict[str, Factor] = {}
    for n, row in enumerate(csv.DictReader(lines), start=2):
        try:
            f = Factor(
                key=row["key"],
                value=float(row["value"]),
                unit=row["unit"],
                applies_to=tuple(row["applies_to"].split()),
                description=row["description"],
                source=row["source"],
                year=int(row["year"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigurationError(f"{FACTORS_FILE} line {n}: cannot parse {row!r}") from e
        if not f.source:
            raise ConfigurationError(f"{FACTORS_FILE} line {n}: factor {f.key!r} has no source")
        rows[f.key] = f
    for key, unit in _EXPECTED_UNITS.items():
        if key not in rows:
            raise ConfigurationError(f"{FACTORS_FILE}: factor {key!r} is missing")
        if rows[key].unit != unit:
            raise ConfigurationError(
                f"{FACTORS_FILE}: factor {key!r} is in {rows[key].unit!r}, expected {unit!r}"
            )
    for f in rows.values():
        for prefix, unit in _PREFIX_UNITS.items():
            if f.key.startswith(prefix) and f.unit != unit:
                raise ConfigurationError(
                    f"{FACTORS_FILE}: factor {f.key!r} is in {f.unit!r}, expected {unit!r}"
                )
    return FactorTable(factors=MappingProxyType(rows))


def _displaced(table: FactorTable, ewc: str) -> float:
    best_len, best = 0, 0.0
    for f in table.factors.values():
        if not f.key.startswith("displaced_"):
            continue
        for prefix in f.applies_to:
            if len(prefix) > best_len and ewc.startswith(prefix):
                best_len, best = len(prefix), f.value
    return best
