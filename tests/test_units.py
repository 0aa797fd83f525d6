"""Canonical units, conversions, bridges between dimensions, errors naming field and units."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import units
from domain.units import (
    STEAM_NET_ENTHALPY_MWH_PER_T,
    canonical_unit,
    convert,
    to_canonical,
    to_celsius,
)
from schemas.common import ResourceKind
from schemas.units import parse_unit
from symbiosis.errors import UnitError


def test_canonical_unit_per_kind():
    assert canonical_unit(ResourceKind.HEAT) == "MW"
    assert canonical_unit(ResourceKind.STEAM) == "MW"
    assert canonical_unit(ResourceKind.WATER) == "m^3/h"
    assert canonical_unit(ResourceKind.MATERIAL) == "t/yr"
    assert canonical_unit(ResourceKind.GAS) == "t/yr"


@pytest.mark.parametrize(
    ("value", "src", "dst", "expected"),
    [
        (1.0, "t/d", "t/yr", 365.25),  # pint's year is the Julian year
        (2500.0, "kW", "MW", 2.5),
        (24.0, "m^3/d", "m^3/h", 1.0),
        (1.0, "t/h", "t/yr", 8766.0),
        (1.0, "MW", "MWh/yr", 8766.0),
    ],
)
def test_convert_same_dimension(value, src, dst, expected):
    assert convert(value, src, dst, field="x") == pytest.approx(expected, rel=1e-12)


def test_steam_mass_flow_to_power_uses_the_one_enthalpy_factor():
    assert STEAM_NET_ENTHALPY_MWH_PER_T == 0.655
    mw = to_canonical(10.0, "t/h", ResourceKind.STEAM, field="s")
    assert mw == pytest.approx(6.55)
    back = convert(6.55, "MW", "t/h", field="s", kind=ResourceKind.STEAM)
    assert back == pytest.approx(10.0)


def test_heat_has_no_mass_bridge():
    with pytest.raises(UnitError, match=r"stream 'h' unit: cannot convert t/h to MW"):
        to_canonical(1.0, "t/h", ResourceKind.HEAT, field="stream 'h' unit")


def test_water_mass_and_volume_flows_bridge_at_one_tonne_per_m3():
    assert to_canonical(3.0, "t/h", ResourceKind.WATER, field="w") == pytest.approx(3.0)


def test_gas_volume_to_mass_uses_species_normal_density():
    t_per_yr = to_canonical(1.0, "m^3/h", ResourceKind.GAS, field="g", gas_species="CO2")
    assert t_per_yr == pytest.approx(1.977 * 8766 / 1000)  # 17.330 t/yr


def test_gas_volume_without_species_is_an_error_naming_the_field():
    with pytest.raises(UnitError, match=r"need 'g' unit: cannot convert m\^3/h to t/yr.*species"):
        to_canonical(1.0, "m^3/h", ResourceKind.GAS, field="need 'g' unit")


def test_error_names_field_and_both_units():
    with pytest.raises(UnitError) as e:
        convert(5.0, "t/d", "MW", field="need 'x' min_quantity")
    assert str(e.value) == "need 'x' min_quantity: cannot convert t/d to MW"


def test_offset_units_are_rejected_for_rates():
    with pytest.raises(UnitError, match="offset unit"):
        convert(1.0, "degC", "K", field="rate")


def test_unknown_unit_is_a_unit_error():
    with pytest.raises(UnitError, match="unknown unit"):
        convert(1.0, "furlongs-per-fortnight-ish", "MW", field="f")


def test_conversion_factor_is_cached_per_pair():
    units._factor.cache_clear()
    for _ in range(100):
        convert(1.0, "t/d", "t/yr", field="x")
    info = units._factor.cache_info()
    assert info.misses == 1
    assert info.hits == 99


def test_to_celsius():
    assert to_celsius(212.0, "degF", field="t") == pytest.approx(100.0)
    assert to_celsius(373.15, "K", field="t") == pytest.approx(100.0)
    with pytest.raises(UnitError, match="t: cannot convert MW to degC"):
        to_celsius(1.0, "MW", field="t")


RATE_UNITS = {
    ResourceKind.HEAT: ["MW", "kW", "GJ/h", "MWh/d"],
    ResourceKind.STEAM: ["MW", "t/h", "kg/s", "kW"],
    ResourceKind.WATER: ["m^3/h", "m^3/d", "l/s", "t/h"],
    ResourceKind.MATERIAL: ["t/yr", "t/d", "t/h", "kg/h"],
}


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(list(RATE_UNITS)),
    data=st.data(),
    value=st.floats(min_value=0, max_value=1e9, allow_nan=False),
)
def test_round_trip_within_a_kind(kind, data, value):
    a = data.draw(st.sampled_from(RATE_UNITS[kind]))
    b = data.draw(st.sampled_from(RATE_UNITS[kind]))
    there = convert(value, a, b, field="x", kind=kind)
    back = convert(there, b, a, field="x", kind=kind)
    assert back == pytest.approx(value, rel=1e-12, abs=1e-12)
    direct = to_canonical(value, a, kind, field="x")
    via_b = to_canonical(there, b, kind, field="x")
    assert via_b == pytest.approx(direct, rel=1e-12, abs=1e-12)


@given(st.text(max_size=32))
def test_any_text_either_parses_as_a_unit_or_is_a_clear_validation_error(text: str) -> None:
    # found by fuzzing the API: "{" made pint raise tokenize.TokenError (an HTTP 500)
    try:
        parse_unit(text)
    except ValueError as e:
        message = str(e)
    else:
        return
    assert "is not a unit pint understands" in message
