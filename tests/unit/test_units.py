"""Canonical units, conversions, bridges between dimensions, errors naming field and units."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain import units
from domain.errors import UnitError
from domain.units import (
    STEAM_NET_ENTHALPY_MWH_PER_T,
    basis_unit,
    canonical_unit,
    convert,
    gas_density,
    to_canonical,
    to_celsius,
)
from schemas.common import ResourceKind
from schemas.registry import Stream
from schemas.units import normalise_unit, parse_unit


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
    reasons = (
        "is not a unit pint understands",
        "holds a control, invisible or comment character",
        "its SI base units",  # a size out of bounds
        "is ambiguous",
        "is arithmetic, not a unit",
        "a unit has at most 32 characters",
    )
    assert any(reason in message for reason in reasons), message


# --- plant spellings, normal cubic metres, suggestions ------------------------------------------


@pytest.mark.parametrize(
    ("written", "reference", "ratio"),
    [
        ("m3/h", "m^3/h", 1.0),
        ("m³/h", "m^3/h", 1.0),
        ("m3/d", "m^3/d", 1.0),
        ("t/y", "t/yr", 1.0),
        ("t/a", "t/yr", 1.0),
        ("kt/y", "t/yr", 1000.0),
        ("Nm3/h", "m^3/h", 1.0),
        ("Nm^3/h", "m^3/h", 1.0),
        ("Nm³/h", "m^3/h", 1.0),
        ("Nm**3/h", "m^3/h", 1.0),
        ("kNm3/h", "Nm3/h", 1000.0),
        ("kNm³/h", "m^3/h", 1000.0),
        ("GJ/month", "MW", 1000.0 / (365.25 / 12 * 24 * 3600)),
        ("MWh/d", "MW", 1.0 / 24.0),
        ("scm/h", "Nm3/h", 273.15 / 288.15),  # ISO 13443: 15 degC
        ("scf/d", "Nm3/d", 0.028316846592 * 273.15 / (273.15 + 15.555555555555556)),  # 60 degF
    ],
)
def test_plant_spellings_parse_and_convert(written: str, reference: str, ratio: float) -> None:
    parse_unit(written)  # a UnitStr accepts it
    assert convert(1.0, written, reference, field="x") == pytest.approx(ratio, rel=1e-12)


def test_normal_cubic_metres_are_volumes_not_newton_metres() -> None:
    volume_flow = parse_unit("m^3/s").dimensionality
    for text in ("Nm³/h", "Nm^3/h", "Nm3/h", "kNm3/h", "scf/d", "Sm3/d"):
        assert parse_unit(text).dimensionality == volume_flow, text
    assert convert(1.0, "Nm3", "scf", field="x") == pytest.approx(37.326, rel=1e-4)


def test_normalise_unit_rewrites_plant_spellings_only() -> None:
    assert normalise_unit("m3/h") == "m**3/h"
    assert normalise_unit("m³/h") == "m^3/h"
    assert normalise_unit("Nm³/h") == "Nm3/h"
    assert normalise_unit("t/y") == "t/yr"
    assert normalise_unit("t/a") == "t/yr"
    for unchanged in ("MW", "t/yr", "m^3/h", "kg/s", "t/d", "GJ/month", "MWh/d", "kNm3/h"):
        assert normalise_unit(unchanged) == unchanged


def test_unit_text_is_kept_as_written() -> None:
    s = Stream(id="s", kind="gas", unit="Nm³/h", nominal=1)
    assert s.unit == "Nm³/h"
    assert json.loads(s.model_dump_json())["unit"] == "Nm³/h"


@pytest.mark.parametrize(
    ("text", "suggestion"), [("MWW", "MW"), ("m3/hx", "m^3/h"), ("mw", "MW"), ("t/dy", "t/d")]
)
def test_unknown_unit_suggests_a_common_one(text: str, suggestion: str) -> None:
    with pytest.raises(ValueError, match="is not a unit pint understands") as e:
        parse_unit(text)
    assert str(e.value).endswith(f"; did you mean {suggestion!r}?")
    with pytest.raises(UnitError, match=re.escape(f"did you mean {suggestion!r}?")):
        convert(1.0, text, "MW", field="f")
    with pytest.raises(ValidationError, match=re.escape(f"did you mean {suggestion!r}?")):
        Stream(id="s", kind="gas", unit=text, nominal=1)


def test_no_suggestion_when_nothing_is_close() -> None:
    with pytest.raises(ValueError, match=r"understands$"):
        parse_unit("furlongs-per-fortnight-ish")


# --- gas: the shared dimension first, a bridge only for mass <-> volume ---------------------------

GAS = ResourceKind.GAS


def test_gas_volume_to_volume_needs_no_species() -> None:
    assert convert(2400.0, "m^3/d", "Nm3/h", field="g", kind=GAS) == pytest.approx(100.0)
    assert convert(1.0, "kNm3/h", "m3/h", field="g", kind=GAS) == pytest.approx(1000.0)


def test_gas_mass_to_mass_needs_no_species() -> None:
    assert convert(1.0, "t/h", "t/y", field="g", kind=GAS) == pytest.approx(8766.0)


def test_gas_mass_to_volume_with_a_species() -> None:
    m3_per_h = convert(1.977, "kg/h", "Nm3/h", field="g", kind=GAS, gas_species="co2")
    assert m3_per_h == pytest.approx(1.0)


def test_gas_mass_to_volume_with_an_explicit_density_that_wins_over_the_species() -> None:
    assert convert(1.0, "t/h", "Nm3/h", field="g", kind=GAS, density_kg_per_m3=0.8) == (
        pytest.approx(1250.0)
    )
    with_both = convert(
        1.0, "t/h", "Nm3/h", field="g", kind=GAS, gas_species="co2", density_kg_per_m3=0.8
    )
    assert with_both == pytest.approx(1250.0)


def test_gas_mass_to_volume_without_species_or_density_says_why() -> None:
    with pytest.raises(UnitError) as e:
        convert(1.0, "t/yr", "m^3/h", field="stream 's' available for need 'n'", kind=GAS)
    assert str(e.value) == (
        "stream 's' available for need 'n': cannot convert t/yr to m^3/h "
        "(a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)"
    )
    with pytest.raises(UnitError, match=r"no normal density known for gas 'biogas'"):
        convert(1.0, "t/yr", "m^3/h", field="g", kind=GAS, gas_species="biogas")


def test_gas_in_a_power_unit_is_not_blamed_on_the_species() -> None:
    with pytest.raises(UnitError) as e:
        convert(1.0, "MW", "t/yr", field="g", kind=GAS)
    assert str(e.value) == "g: cannot convert MW to t/yr"


def test_basis_unit_keeps_the_dimension_of_a_gas() -> None:
    assert basis_unit("Nm³/h", GAS) == "m^3/h"
    assert basis_unit("scf/d", GAS) == "m^3/h"
    assert basis_unit("t/y", GAS) == "t/yr"
    assert basis_unit("t/h", ResourceKind.WATER) == "m^3/h"
    assert basis_unit("t/h", ResourceKind.STEAM) == "MW"
    with pytest.raises(UnitError, match=r"^need 'n' unit: 'MWW' is not a unit"):
        basis_unit("MWW", GAS, field="need 'n' unit")


def test_gas_density_prefers_the_first_side_that_knows_it() -> None:
    def side(species: str | None = None, density: float | None = None) -> Stream:
        return Stream(id="s", kind="gas", unit="t/h", nominal=1, gas_species=species,
                      density_kg_per_m3=density)  # fmt: skip

    assert gas_density(side("CO2"), side(density=0.5)) == 1.977
    assert gas_density(side("co2", 2.5), side(density=0.5)) == 2.5
    assert gas_density(side("biogas"), side(density=0.5)) == 0.5
    assert gas_density(side(), side("h2")) == 0.0899
    assert gas_density(side(), None) is None
