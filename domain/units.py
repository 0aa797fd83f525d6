"""Canonical units per resource kind, and fast, cached unit conversion.

Every rate the matcher compares is first expressed in its kind's canonical unit:

========  ===========  ==========================================================
kind      canonical    why
========  ===========  ==========================================================
heat      ``MW``       thermal power, what district-heating contracts quote
steam     ``MW``       same energy basis as heat, so steam can serve a heat need
water     ``m^3/h``    how process and cooling water flows are metered
material  ``t/yr``     how by-product stocks and offtake contracts are quoted
gas       ``t/yr``     mass, the basis of CO2 reuse and hydrogen accounting; a gas
                       given as a volume flow is compared in normal ``m^3/h``
========  ===========  ==========================================================

Gas is compared in the dimension both sides share (:func:`basis_unit`): volume against volume
and mass against mass need no gas species; only mass <-> volume does.

Conversions between dimensions are allowed only where a physical bridge exists, and each
bridge lives here, in one place:

* **steam**: a mass flow (``t/h``) <-> thermal power (``MW``) via
  :data:`STEAM_NET_ENTHALPY_MWH_PER_T`;
* **water**: a mass flow (``t/h``) <-> a volume flow (``m^3/h``) via
  :data:`WATER_DENSITY_T_PER_M3`;
* **gas**: a mass flow (``t/yr``) <-> a volume flow at normal conditions (``m^3/h``,
  ``Nm3/h``, ``scf/d``...) via an explicit density (``density_kg_per_m3``, kg per normal
  m^3), else the species' normal density in :data:`GAS_NORMAL_DENSITY_KG_PER_M3`
  (:func:`gas_density` picks it for a pair). Gas volumes are normal cubic metres; ``Nm3``,
  ``scm`` and ``scf`` are defined in :data:`schemas.units.UREG`.

Unit text is parsed as plants write it (``m3/h``, ``t/y``, ``Nm³/h``): see
:func:`schemas.units.normalise_unit`.

pint is slow (~20 µs per conversion), and conversions sit on the hot path (one per ledger
update per candidate need), so the factor for each ``(from_unit, to_unit, bridge)`` is computed
once and cached; a cached conversion is one multiplication. Offset units (``degC``, ``degF``)
are rejected for rates; temperatures go through :func:`to_celsius`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Protocol

import pint

from domain.errors import UnitError
from schemas.common import ResourceKind
from schemas.units import UNIT_MAX_CHARS, UREG, AmbiguousUnitError, parse_unit, suggest_unit

CANONICAL_UNITS: Final = MappingProxyType(
    {
        ResourceKind.HEAT: "MW",
        ResourceKind.STEAM: "MW",
        ResourceKind.WATER: "m^3/h",
        ResourceKind.MATERIAL: "t/yr",
        ResourceKind.GAS: "t/yr",
    }
)
"""The unit every rate of a kind is compared in (a gas volume flow: :data:`GAS_VOLUME_UNIT`)."""

GAS_VOLUME_UNIT: Final = "m^3/h"
"""Normal cubic metres per hour: the unit gas volume flows are compared in."""

STEAM_NET_ENTHALPY_MWH_PER_T: Final = 0.655
"""Heat delivered per tonne of steam, net of condensate return.

Saturated steam at 10 bar(a) (h'' = 2778 kJ/kg) condensed and returned as saturated water at
100 degC (h' = 419 kJ/kg) gives 2359 kJ/kg = 0.655 MWh/t (IAPWS-IF97 steam tables; the common
rule of thumb is 0.63-0.70 MWh/t depending on pressure and return temperature).
"""

WATER_DENSITY_T_PER_M3: Final = 1.0
"""Density of water for mass <-> volume flows (0.9982 t/m^3 at 20 degC; 1.0 within 0.2 %)."""

GAS_NORMAL_DENSITY_KG_PER_M3: Final = MappingProxyType(
    {
        "co2": 1.977,
        "h2": 0.0899,
        "ch4": 0.717,
        "n2": 1.2506,
        "o2": 1.429,
        "co": 1.250,
        "ar": 1.784,
    }
)
"""Gas densities at normal conditions (0 degC, 101.325 kPa; DIN 1343), kg per m^3.

Source: CRC Handbook of Chemistry and Physics, densities of gases at STP. Keys are the
lowercase species names used in park files (``Stream.gas_species``).
"""

_STEAM_BRIDGE: Final = UREG.Quantity(STEAM_NET_ENTHALPY_MWH_PER_T, "MWh/t")
_WATER_BRIDGE: Final = UREG.Quantity(WATER_DENSITY_T_PER_M3, "t/m^3")
_VOLUME_FLOW: Final = UREG.Unit("m^3/s").dimensionality


class GasSide(Protocol):
    """What a stream or a need says about its gas.

    Both :class:`~schemas.registry.Stream` and :class:`~schemas.registry.Need` fit.
    """

    @property
    def gas_species(self) -> str | None:
        """The gas, e.g. ``co2``; None when not given."""

    @property
    def density_kg_per_m3(self) -> float | None:
        """Its density in kg per normal m^3; None when not given."""


def canonical_unit(kind: ResourceKind) -> str:
    """The canonical unit of ``kind`` (see the module table)."""
    return CANONICAL_UNITS[kind]


def basis_unit(unit: str, kind: ResourceKind, *, field: str = "unit") -> str:
    """The unit a rate in ``unit`` of ``kind`` is compared in, reached without a gas bridge.

    The kind's canonical unit, except for a gas given as a volume flow: normal ``m^3/h``
    (:data:`GAS_VOLUME_UNIT`). Two gas rates by volume (or two by mass) thus compare without a
    species or density.

    Raises:
        UnitError: a gas's ``unit`` does not parse; names ``field``.
    """
    if kind is not ResourceKind.GAS:
        return CANONICAL_UNITS[kind]
    if len(unit) > UNIT_MAX_CHARS:  # before pint: its parser is slow on long text
        raise UnitError(f"{field}: a unit has at most {UNIT_MAX_CHARS} characters")
    try:
        volume = _is_volume_flow(unit)
    except ValueError as e:
        raise UnitError(f"{field}: {e}") from e
    return GAS_VOLUME_UNIT if volume else CANONICAL_UNITS[kind]


def gas_density(*sides: GasSide | None) -> float | None:
    """The density (kg per normal m^3) bridging a gas's mass and volume, or None.

    Sides in order of precedence (a pair: the stream, then the need): the first side's
    explicit ``density_kg_per_m3``, else the normal density of its ``gas_species`` when known,
    else the next side's.
    """
    for side in sides:
        if side is None:
            continue
        if side.density_kg_per_m3 is not None:
            return side.density_kg_per_m3
        if side.gas_species is not None:
            density = GAS_NORMAL_DENSITY_KG_PER_M3.get(side.gas_species.lower())
            if density is not None:
                return density
    return None


def convert(
    value: float,
    from_unit: str,
    to_unit: str,
    *,
    field: str,
    kind: ResourceKind | None = None,
    gas_species: str | None = None,
    density_kg_per_m3: float | None = None,
) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit``.

    Args:
        value: The magnitude in ``from_unit``.
        from_unit: Unit of ``value``, any string :func:`schemas.units.parse_unit` parses.
        to_unit: Target unit.
        field: What is converted, for the error message, e.g. ``"need 'x' min_quantity"``.
        kind: Enables the kind's bridge between dimensions (steam: mass <-> energy, water:
            mass <-> volume, gas: mass <-> volume with a density or ``gas_species``). Units
            of the same dimension convert without a bridge.
        gas_species: The gas, for a gas mass <-> volume bridge (its normal density).
        density_kg_per_m3: Explicit gas density, kg per normal m^3; wins over the species.

    Returns:
        ``value`` in ``to_unit``; exact up to float rounding of the cached factor.

    Raises:
        UnitError: a unit does not parse, is an offset unit, or the dimensions differ and no
            bridge applies. The message names ``field`` and both units.
    """
    return value * factor(
        from_unit,
        to_unit,
        field=field,
        kind=kind,
        gas_species=gas_species,
        density_kg_per_m3=density_kg_per_m3,
    )


def to_canonical(
    value: float,
    unit: str,
    kind: ResourceKind,
    *,
    field: str,
    gas_species: str | None = None,
    density_kg_per_m3: float | None = None,
) -> float:
    """``value`` (in ``unit``) in the canonical unit of ``kind``.

    Raises:
        UnitError: as :func:`convert`.
    """
    return value * factor(
        unit,
        CANONICAL_UNITS[kind],
        field=field,
        kind=kind,
        gas_species=gas_species,
        density_kg_per_m3=density_kg_per_m3,
    )


def factor(
    from_unit: str,
    to_unit: str,
    *,
    field: str,
    kind: ResourceKind | None = None,
    gas_species: str | None = None,
    density_kg_per_m3: float | None = None,
) -> float:
    """The multiplier taking a value in ``from_unit`` to ``to_unit`` (cached per pair).

    Raises:
        UnitError: as :func:`convert`.
    """
    for text in (from_unit, to_unit):
        if len(text) > UNIT_MAX_CHARS:  # before pint: its parser is slow on long text
            raise UnitError(f"{field}: a unit has at most {UNIT_MAX_CHARS} characters")
    species = density = None
    if kind is ResourceKind.GAS:
        species = gas_species.lower() if gas_species is not None else None
        density = density_kg_per_m3
        if density is None and species is not None:
            density = GAS_NORMAL_DENSITY_KG_PER_M3.get(species)
    try:
        return _factor(from_unit, to_unit, kind, species, density)
    except _NoConversionError as e:
        raise UnitError(f"{field}: cannot convert {from_unit} to {to_unit}{e.reason}") from e


def to_celsius(value: float, unit: str, *, field: str) -> float:
    """A temperature in ``unit`` (``degC``, ``degF``, ``K``) in degrees Celsius.

    Raises:
        UnitError: the unit does not parse or is not a temperature; names ``field``.
    """
    try:
        return float(UREG.Quantity(value, unit).to("degC").magnitude)
    except (pint.errors.PintError, AttributeError, TypeError, ValueError, SyntaxError) as e:
        raise UnitError(f"{field}: cannot convert {unit} to degC") from e


class _NoConversionError(Exception):
    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=4096)
def _is_volume_flow(unit: str) -> bool:
    return parse_unit(unit).dimensionality == _VOLUME_FLOW


@lru_cache(maxsize=4096)
def _factor(
    from_unit: str,
    to_unit: str,
    kind: ResourceKind | None,
    species: str | None,
    density: float | None,
) -> float:
    parsed: list[pint.Unit] = []
    for text in (from_unit, to_unit):
        try:
            parsed.append(parse_unit(text))
        except AmbiguousUnitError as e:
            raise _NoConversionError(f" ({e})") from e
        except ValueError as e:
            close = suggest_unit(text)
            hint = f"; did you mean {close!r}?" if close is not None else ""
            raise _NoConversionError(f" (unknown unit {text!r}{hint})") from e
    source, target = parsed
    for unit in (source, target):
        if UREG.Quantity(0.0, unit).to_base_units().magnitude != 0:
            raise _NoConversionError(f" ({unit:~} is an offset unit, not allowed for rates)")
    one = UREG.Quantity(1.0, source)
    candidates = [one]  # the shared dimension first: no bridge when none is needed
    bridge = _bridge(kind, density)
    if bridge is not None:
        candidates += [one * bridge, one / bridge]
    for candidate in candidates:
        if candidate.dimensionality == target.dimensionality:
            try:
                result = float(candidate.to(target).magnitude)
            except ArithmeticError as e:  # OverflowError, ZeroDivisionError
                raise _NoConversionError(f" (the conversion factor is out of range: {e})") from e
            if not math.isfinite(result) or result == 0:
                raise _NoConversionError(" (the conversion factor is out of range)")
            return result
    if kind is ResourceKind.GAS and density is None and _bridgeable(one, target):
        if species is None:
            raise _NoConversionError(
                " (a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)"
            )
        raise _NoConversionError(
            f" (no normal density known for gas {species!r}; give density_kg_per_m3)"
        )
    raise _NoConversionError()


def _bridgeable(one: pint.Quantity[float], target: pint.Unit) -> bool:
    """Whether a density would bridge ``one``'s unit to ``target`` (mass <-> volume)."""
    density = UREG.Quantity(1.0, "kg/m^3")
    return target.dimensionality in ((one * density).dimensionality, (one / density).dimensionality)


def _bridge(kind: ResourceKind | None, density: float | None) -> pint.Quantity[float] | None:
    if kind is ResourceKind.STEAM:
        return _STEAM_BRIDGE
    if kind is ResourceKind.WATER:
        return _WATER_BRIDGE
    if kind is ResourceKind.GAS and density is not None:
        return UREG.Quantity(density, "kg/m^3")
    return None
