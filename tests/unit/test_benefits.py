"""Benefit estimates against hand-computed numbers, and the factor table's integrity.

A year is the Julian year (8,766 h), as in pint. Factors (domain/data/benefit-factors.csv):
natural gas 201.96 kg CO2/MWh fuel; boilers 0.92 (hot water) and 0.87 (steam); steam
0.655 MWh/t; clinker 520 kg/t; inert landfill 1.26338 kg/t; HGV 0.12366 kg/t/km; water
supply 0.15311 and treatment 0.18574 kg/m3; hydrogen 33.32 MWh/t.
"""

from __future__ import annotations

import pytest

from domain.benefits import estimate as _estimate
from domain.benefits import factors, parse_factors
from domain.errors import ConfigurationError
from schemas.alerts import Benefit
from schemas.registry import Need, Stream


def stream(**kw):
    return Stream.model_validate({"id": "s", "unit": "MW", "nominal": 1, **kw})


def need(**kw):
    return Need.model_validate({"id": "n", "site": "b", "min_quantity": 0, **kw})


def estimate(s, n, quantity, distance_km=1.0):
    return _estimate(s, n, quantity, distance_km)


def test_heat_displaces_a_gas_hot_water_boiler():
    # 10 MW x 8766 h = 87,660 MWh; / 0.92 = 95,282.6 MWh gas; x 0.20196 t/MWh = 19,243.28 t
    b = estimate(
        stream(kind="steam", temperature_c=200), need(kind="heat", unit="MW"), quantity=10.0
    )
    assert b.co2e_t_per_yr == pytest.approx(19243.28, rel=1e-6)
    assert b.diverted_t_per_yr == 0
    assert b.water_m3_per_yr == 0


def test_heat_in_kw_gives_the_same_answer():
    b = estimate(stream(kind="heat", temperature_c=90), need(kind="heat", unit="kW"), 10_000.0)
    assert b.co2e_t_per_yr == pytest.approx(19243.28, rel=1e-6)


def test_steam_need_in_tonnes_displaces_a_gas_steam_boiler():
    # 10 t/h x 0.655 = 6.55 MW; x 8766 h = 57,417.3 MWh; / 0.87 x 0.20196 = 13,328.73 t
    b = estimate(
        stream(kind="steam", unit="t/h", temperature_c=200), need(kind="steam", unit="t/h"), 10.0
    )
    assert b.co2e_t_per_yr == pytest.approx(13328.73, rel=1e-6)


def test_gypsum_earns_landfill_minus_haulage():
    # 1,000 t/yr x (1.26338 - 0.12366 x 10 km) kg/t = 26.78 kg
    s = stream(kind="material", unit="t/d", ewc="100105")
    n = need(kind="material", unit="t/yr", accepts_ewc=["1001"])
    b = estimate(s, n, 1000.0, distance_km=10.0)
    assert b.co2e_t_per_yr == pytest.approx(0.02678, rel=1e-6)
    assert b.diverted_t_per_yr == pytest.approx(1000.0)


def test_fly_ash_displaces_clinker():
    # 1,000 t/yr x (520 + 1.26338 - 0.12366 x 20) kg/t = 518,790.18 kg
    s = stream(kind="material", unit="t/yr", ewc="100102")
    n = need(kind="material", unit="t/yr", accepts_ewc=["10"])
    b = estimate(s, n, 1000.0, distance_km=20.0)
    assert b.co2e_t_per_yr == pytest.approx(518.79018, rel=1e-9)


def test_long_haul_of_an_inert_material_has_negative_co2e():
    s = stream(kind="material", unit="t/yr", ewc="170504")
    n = need(kind="material", unit="t/yr", accepts_ewc=["17"])
    b = estimate(s, n, 1000.0, distance_km=100.0)
    assert b.co2e_t_per_yr == pytest.approx((1.26338 - 12.366), rel=1e-9)
    assert b.diverted_t_per_yr == 1000.0


def test_material_quantity_in_tonnes_per_day():
    s = stream(kind="material", unit="t/d", ewc="100102")
    n = need(kind="material", unit="t/d", accepts_ewc=["10"])
    b = estimate(s, n, 1.0, distance_km=0.0)
    assert b.diverted_t_per_yr == pytest.approx(365.25)


def test_process_water_displaces_mains_supply():
    # 100 m3/h x 8766 h = 876,600 m3; x 0.15311 kg = 134.216 t
    s = stream(kind="water", unit="m^3/h", water_quality="process")
    b = estimate(s, need(kind="water", unit="m^3/h"), 100.0)
    assert b.co2e_t_per_yr == pytest.approx(134.216226, rel=1e-9)
    assert b.water_m3_per_yr == pytest.approx(876_600)


def test_reused_wastewater_also_avoids_treatment():
    # 876,600 m3 x (0.15311 + 0.18574) kg = 297.036 t
    s = stream(kind="water", unit="m^3/h", water_quality="wastewater")
    b = estimate(s, need(kind="water", unit="m^3/h"), 100.0)
    assert b.co2e_t_per_yr == pytest.approx(297.03591, rel=1e-9)


def test_hydrogen_displaces_natural_gas_by_energy_scaled_by_purity():
    # 1,000 t/yr x 0.9 x 33.32 MWh/t x 0.20196 t/MWh = 6,056.38 t
    s = stream(kind="gas", unit="t/yr", gas_species="h2", purity_pct=90)
    b = estimate(s, need(kind="gas", unit="t/yr", gas_species="h2"), 1000.0)
    assert b.co2e_t_per_yr == pytest.approx(6056.37648, rel=1e-9)


def test_non_fuel_gas_earns_no_co2e():
    s = stream(kind="gas", unit="t/yr", gas_species="co2", purity_pct=99)
    b = estimate(s, need(kind="gas", unit="t/yr"), 1000.0)
    assert b.co2e_t_per_yr == 0.0


def test_every_factor_has_value_unit_source_and_year():
    table = factors()
    assert len(table.factors) >= 10
    for f in table.factors.values():
        assert f.source
        assert f.unit
        assert 1980 <= f.year <= 2030
        assert f.value > 0


def test_displaced_material_uses_the_longest_prefix():
    table = factors()
    assert table.displaced_kg_per_t("100102") == 520
    assert table.displaced_kg_per_t("100105") == 0
    assert table.displaced_kg_per_t("170405") == 1500
    assert table.displaced_kg_per_t(None) == 0


HEADER = "key,value,unit,applies_to,description,source,year"


def _table_without(key):
    lines = [HEADER]
    for f in factors().factors.values():
        if f.key != key:
            lines.append(
                f'{f.key},{f.value},{f.unit},{" ".join(f.applies_to)},"d","{f.source}",{f.year}'
            )
    return lines


def test_a_missing_factor_is_a_configuration_error():
    with pytest.raises(ConfigurationError, match="'road_freight' is missing"):
        parse_factors(_table_without("road_freight"))


def test_a_factor_in_the_wrong_unit_is_a_configuration_error():
    lines = [*_table_without("water_supply"), "water_supply,0.1,kg CO2e/l,water,d,src,2024"]
    with pytest.raises(ConfigurationError, match="expected 'kg CO2e/m3'"):
        parse_factors(lines)


def test_a_factor_without_source_is_a_configuration_error():
    lines = [*_table_without("water_supply"), "water_supply,0.1,kg CO2e/m3,water,d,,2024"]
    with pytest.raises(ConfigurationError, match="no source"):
        parse_factors(lines)


# --- gas: heating value, or "not quantified" ----------------------------------------------------


def test_gas_without_species_uses_the_heating_value():
    # 1,000 Nm3/h x 8766 h = 8,766,000 Nm3; x 36 MJ / 3600 = 87,660 MWh; x 0.20196 = 17,703.8 t
    s = stream(kind="gas", unit="Nm3/h", heating_value_mj_per_m3=36.0)
    b = estimate(s, need(kind="gas", unit="m3/h"), 1000.0)
    assert b.quantified is True
    assert b.note is None
    assert b.co2e_t_per_yr == pytest.approx(87_660 * 0.20196, rel=1e-9)


def test_heating_value_of_a_need_in_mass_uses_the_density():
    # 8,766 t/yr at 0.8 kg/Nm3 = 10,957,500 Nm3 x 30 MJ / 3600 = 91,312.5 MWh
    s = stream(kind="gas", unit="t/h", heating_value_mj_per_m3=30.0, density_kg_per_m3=0.8)
    b = estimate(s, need(kind="gas", unit="t/yr"), 8766.0)
    assert b.co2e_t_per_yr == pytest.approx(91_312.5 * 0.20196, rel=1e-9)


def test_heating_value_wins_over_the_species_factor():
    s = stream(kind="gas", unit="m^3/h", gas_species="ch4", purity_pct=55,
               heating_value_mj_per_m3=20.0)  # fmt: skip
    b = estimate(s, need(kind="gas", unit="m^3/h"), 1000.0)
    # 8,766,000 Nm3 x 20 MJ / 3600 = 48,700 MWh (purity does not scale a heating value)
    assert b.co2e_t_per_yr == pytest.approx(48_700 * 0.20196, rel=1e-9)


def test_gas_without_species_or_heating_value_is_not_quantified():
    s = stream(kind="gas", unit="m^3/h")
    b = estimate(s, need(kind="gas", unit="m^3/h"), 1000.0)
    assert (b.co2e_t_per_yr, b.quantified) == (0.0, False)
    assert b.note == (
        "a gas with neither gas_species nor heating_value_mj_per_m3: CO2e not quantified"
    )
    assert b.model_dump()["diverted_t_per_yr"] == 0  # the old fields are all still there


def test_gas_of_an_unknown_species_is_not_quantified():
    b = estimate(stream(kind="gas", unit="t/yr", gas_species="biogas"),
                 need(kind="gas", unit="t/yr"), 1000.0)  # fmt: skip
    assert not b.quantified
    assert "no heating value known for gas 'biogas'" in (b.note or "")


def test_heating_value_of_a_need_in_mass_without_density_is_not_quantified():
    s = stream(kind="gas", unit="m^3/h", heating_value_mj_per_m3=30.0)
    b = estimate(s, need(kind="gas", unit="t/yr"), 1000.0)
    assert not b.quantified
    assert "needs gas_species or density_kg_per_m3" in (b.note or "")


def test_known_non_fuel_gas_is_quantified_as_zero():
    b = estimate(stream(kind="gas", unit="m^3/h", gas_species="co2"),
                 need(kind="gas", unit="m^3/h"), 1000.0)  # fmt: skip
    assert (b.co2e_t_per_yr, b.quantified, b.note) == (0.0, True, None)


def test_a_quantified_benefit_keeps_its_json_shape_plus_the_optional_fields():
    b = estimate(stream(kind="gas", unit="t/yr", gas_species="h2"),
                 need(kind="gas", unit="t/yr"), 1.0)  # fmt: skip
    dumped = b.model_dump()
    assert set(dumped) == {"co2e_t_per_yr", "diverted_t_per_yr", "water_m3_per_yr",
                           "quantified", "note"}  # fmt: skip
    assert Benefit.model_validate({"co2e_t_per_yr": 1.0}).quantified is True  # old payloads
