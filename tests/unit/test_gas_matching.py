"""Gas and plant units on real plant data: matching by the dimension both sides share.

Volume against volume and mass against mass compare without a gas species; mass against
volume needs a species or a density, and a pair with neither is reported on its own while
the rest of the park still matches (``Matcher.incomparable``, ``symbiosis match`` stderr).
The bundled demo park's output is pinned, so none of this changes its alerts.
"""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from domain.errors import UnitError
from domain.matching import Incomparable, Matcher, feasible, rank
from domain.park import bundled_park_path, parse_park
from schemas.registry import Need, Site, Stream
from symbiosis.cli import app

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
runner = CliRunner()

GAS_PARK = """\
park: Gas park
sites:
  - id: refinery
    name: Refinery
    company: oil-co
    lat: 55.0
    lon: 11.0
    streams:
      - {id: offgas, kind: gas, unit: Nm³/h, nominal: 3000}
      - {id: offgas-yearly, kind: gas, unit: m3/yr, nominal: 20000000, heating_value_mj_per_m3: 30}
      - {id: vent-mass, kind: gas, unit: t/y, nominal: 5000}
  - id: board
    name: Board plant
    company: board-co
    lat: 55.01
    lon: 11.0
    streams:
      - {id: board-heat, kind: heat, unit: MW, nominal: 5, temperature_c: 90}
  - id: town
    name: Town
    company: town-co
    lat: 55.0
    lon: 11.01
needs:
  - {id: board-fuel, site: board, kind: gas, unit: m^3/h, min_quantity: 1000}
  - {id: board-fuel-k, site: board, kind: gas, unit: kNm3/h, min_quantity: 0.5, max_quantity: 10}
  - {id: board-mass, site: board, kind: gas, unit: t/yr, min_quantity: 1000}
  - {id: town-heat, site: town, kind: heat, unit: kW, min_quantity: 1000}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "park.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def pairs(matches: list) -> set[tuple[str, str]]:
    return {(m.stream, m.need) for m in matches}


# --- the matcher ---------------------------------------------------------------------------------


def test_a_park_with_gas_in_volume_units_and_no_species_matches() -> None:
    park = parse_park(GAS_PARK, "gas.yaml")
    matcher = Matcher.from_park(park)  # used to raise: "... needs gas_species"
    got = pairs(matcher.match_nominal(now=NOW))
    assert got == {
        ("offgas", "board-fuel"),
        ("offgas", "board-fuel-k"),
        ("offgas-yearly", "board-fuel"),
        ("offgas-yearly", "board-fuel-k"),
        ("vent-mass", "board-mass"),
        ("board-heat", "town-heat"),
    }
    [k] = [
        m
        for m in matcher.match("offgas", 3000.0, now=NOW, sustained_s=math.inf)
        if m.need == "board-fuel-k"
    ]
    assert (k.quantity, k.need_unit) == (pytest.approx(3.0), "kNm3/h")  # 1 kNm3 = 1000 Nm3


def test_an_incomparable_pair_is_reported_alone_and_the_rest_still_matches() -> None:
    park = parse_park(GAS_PARK, "gas.yaml")
    matcher = Matcher.from_park(park)
    matches = matcher.match_nominal(now=NOW)
    assert ("board-heat", "town-heat") in pairs(matches)
    assert matcher.incomparable() == [
        Incomparable(
            "offgas",
            "board-mass",
            "stream 'offgas' available for need 'board-mass': cannot convert Nm³/h to t/yr "
            "(a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)",
        ),
        Incomparable(
            "offgas-yearly",
            "board-mass",
            "stream 'offgas-yearly' available for need 'board-mass': cannot convert m3/yr to "
            "t/yr (a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)",
        ),
        Incomparable(
            "vent-mass",
            "board-fuel",
            "stream 'vent-mass' available for need 'board-fuel': cannot convert t/y to m^3/h "
            "(a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)",
        ),
        Incomparable(
            "vent-mass",
            "board-fuel-k",
            "stream 'vent-mass' available for need 'board-fuel-k': cannot convert t/y to "
            "kNm3/h (a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)",
        ),
    ]
    # a density on the need bridges it: the pair compares, and is no longer reported
    need = matcher.need("board-mass").model_copy(update={"density_kg_per_m3": 0.8})
    matcher.add_need(need)
    assert [p.need for p in matcher.incomparable()] == ["board-fuel", "board-fuel-k"]
    got = {m.need: m for m in matcher.match("offgas", 3000.0, now=NOW, sustained_s=math.inf)}
    assert got["board-mass"].quantity == pytest.approx(3000 * 0.8 * 8766 / 1000)
    matcher.remove_need("board-fuel")
    assert [p.need for p in matcher.incomparable()] == ["board-fuel-k"]


def test_gas_pair_with_a_species_or_a_density_compares_mass_with_volume() -> None:
    park = parse_park(GAS_PARK, "gas.yaml")
    refinery = park.site("refinery")
    streams = [
        refinery.streams[2].model_copy(update={"gas_species": "ch4"}),  # 0.717 kg/Nm3
        refinery.streams[0].model_copy(update={"id": "dense", "density_kg_per_m3": 1.0}),
    ]
    matcher = Matcher(
        [refinery.model_copy(update={"streams": streams}), *park.sites[1:]], park.needs
    )
    got = {m.need: m for m in matcher.match("vent-mass", 50e3, now=NOW, sustained_s=math.inf)}
    assert got["board-fuel"].quantity == pytest.approx(50e6 / 0.717 / 8766)  # 7,955 Nm3/h
    got = {m.need: m for m in matcher.match("dense", 3000.0, now=NOW, sustained_s=math.inf)}
    assert got["board-mass"].quantity == pytest.approx(3000 * 8766 / 1000)
    assert matcher.incomparable() == []


def test_from_park_leaves_out_an_exchange_it_cannot_count() -> None:
    text = GAS_PARK + (
        "exchanges:\n"
        "  - {id: x-k, stream: vent-mass, need: board-fuel-k, quantity: 100, unit: t/yr}\n"
        "  - {id: x-k2, stream: vent-mass, need: board-fuel-k, quantity: 100, unit: t/yr}\n"
        "  - {id: x-fuel, stream: vent-mass, need: board-fuel, quantity: 100, unit: t/yr}\n"
        "  - {id: x-heat, stream: board-heat, need: town-heat, quantity: 1, unit: MW}\n"
    )
    park = parse_park(text, "gas.yaml")
    with pytest.raises(UnitError, match="exchange 'x-k' quantity"):
        Matcher.from_park(park)
    problems: list[str] = []
    matcher = Matcher.from_park(park, problems=problems)
    assert len(problems) == 2
    assert problems[0].startswith(
        "need 'board-fuel-k' left out: its remaining capacity is unknown, exchange 'x-k' "
        "cannot be counted against it: exchange 'x-k' quantity: cannot convert t/yr to kNm3/h"
    )
    assert problems[1].startswith("exchange 'x-fuel' not counted: exchange 'x-fuel' quantity")
    assert len(matcher) == 3  # board-fuel-k is out: with max_quantity, its capacity is unknown
    assert matcher.committed("town-heat", NOW) == 1000.0  # kW, the need's unit


# --- the index only prunes: equal to feasible() over every need, incomparable pairs included ------

GAS_UNITS = ["t/yr", "t/y", "kg/h", "m^3/h", "Nm3/d", "kNm3/h", "scf/d", "m3/h", "Nm³/h"]


def random_gas_park(seed: int) -> tuple[list[Site], list[Need]]:
    rng = random.Random(seed)

    def gas_props() -> dict[str, object]:
        return {
            "unit": rng.choice(GAS_UNITS),
            "gas_species": rng.choice([None, None, "co2", "biogas"]),
            "density_kg_per_m3": rng.choice([None, None, 0.9]),
        }

    sites = []
    for i in range(6):
        streams = [
            Stream.model_validate(
                {"id": f"s{i}-{j}", "kind": "gas", "nominal": rng.uniform(1, 1e4), **gas_props()}
            )
            for j in range(rng.randint(0, 3))
        ]
        sites.append(
            Site(
                id=f"site{i}",
                name=f"s{i}",
                company=f"co{i % 4}",
                lat=55 + rng.uniform(0, 0.1),
                lon=11 + rng.uniform(0, 0.1),
                streams=streams,
            )
        )
    needs = []
    for k in range(rng.randint(0, 25)):
        props = gas_props()
        if rng.random() < 0.7:
            props["gas_species"] = None  # takes any gas
        needs.append(
            Need.model_validate(
                {
                    "id": f"n{k}",
                    "site": f"site{rng.randrange(6)}",
                    "kind": "gas",
                    "min_quantity": rng.choice([0.0, 1.0, 100.0, 1e4]),
                    "max_distance_km": rng.choice([None, 3.0, 30.0]),
                    **props,
                }
            )
        )
    return sites, needs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), factor=st.sampled_from([0.0, 0.01, 1.0, 100.0]))
def test_gas_index_equals_feasible_over_every_need(seed: int, factor: float) -> None:
    sites, needs = random_gas_park(seed)
    matcher = Matcher(sites, needs)
    by_id = {s.id: s for s in sites}
    for site in sites:
        for stream in site.streams:
            available = stream.nominal * factor
            want, failed = [], set()
            for need in needs:
                try:
                    m = feasible(site, stream, need, by_id[need.site], available, NOW, math.inf)
                except UnitError:
                    failed.add((stream.id, need.id))
                    continue
                if m is not None:
                    want.append(m)
            got = matcher.match(stream.id, available, now=NOW, sustained_s=math.inf)
            assert got == rank(want)
            assert got == matcher.scan(stream.id, available, now=NOW, sustained_s=math.inf)
            mine = {(p.stream, p.need) for p in matcher.incomparable() if p.stream == stream.id}
            assert mine == failed


# --- symbiosis match ---------------------------------------------------------------------------


def test_match_on_a_gas_park_in_volume_units_exits_0_and_names_each_bad_pair(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, GAS_PARK)
    assert runner.invoke(app, ["park", "check", str(path)]).exit_code == 0
    result = runner.invoke(app, ["match", str(path)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {(m["stream"], m["need"]) for m in lines} >= {
        ("offgas", "board-fuel"),
        ("vent-mass", "board-mass"),
        ("board-heat", "town-heat"),
    }
    errors = result.stderr.splitlines()
    assert len(errors) == 4
    assert errors[0] == (
        f"{path}: not compared: stream 'offgas' available for need 'board-mass': cannot convert "
        "Nm³/h to t/yr (a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)"
    )
    by_pair = {(m["stream"], m["need"]): m for m in lines}
    unknown = by_pair["offgas", "board-fuel"]
    assert unknown["co2e_t_per_yr"] is None
    assert "not quantified" in unknown["benefit_note"]
    # 20e6 Nm3/yr x 30 MJ/Nm3 / 3600 = 166,667 MWh of natural gas displaced
    yearly = by_pair["offgas-yearly", "board-fuel"]
    assert yearly["co2e_t_per_yr"] == pytest.approx(20e6 * 30 / 3600 * 0.20196, rel=1e-6)
    assert "benefit_note" not in yearly


def test_match_with_an_uncountable_exchange_reports_it_and_matches_the_rest(
    tmp_path: Path,
) -> None:
    text = GAS_PARK + (
        "exchanges:\n"
        "  - {id: x-fuel, stream: vent-mass, need: board-fuel, quantity: 100, unit: t/yr}\n"
    )
    result = runner.invoke(app, ["match", str(write(tmp_path, text))])
    assert result.exit_code == 0, result.output
    assert "exchange 'x-fuel' not counted" in result.stderr
    assert '"need": "town-heat"' in result.stdout


# the bundled demo park, as `symbiosis match` printed it before gas units changed (2026-11-22)
DEMO_MATCHES = [
    (
        "argo-waste-gypsum",
        "gyproc-gypsum",
        "material",
        40.0,
        "t/d",
        14610.0,
        "t/yr",
        1.663,
        15.4538,
    ),
    (
        "asnaes-gypsum",
        "gyproc-gypsum",
        "material",
        100.0,
        "t/d",
        36525.0,
        "t/yr",
        2.508,
        34.8162,
    ),
    ("asnaes-steam", "fish-farm-heat", "steam", 35.0, "MW", 10.0, "MW", 0.493, 19243.3),
    ("asnaes-steam", "kf-district-heat", "steam", 35.0, "MW", 35000.0, "kW", 2.464, 67351.5),
    ("asnaes-steam", "novo-steam", "steam", 35.0, "MW", 20.0, "MW", 3.178, 40698.4),
    ("asnaes-warm-water", "fish-farm-heat", "heat", 8.0, "MW", 8.0, "MW", 0.493, 15394.6),
    ("kf-sludge", "farms-fertiliser", "material", 40.0, "t/d", 14610.0, "t/yr", 2.999, 13.0391),
    (
        "kf-treated-effluent",
        "asnaes-reuse-water",
        "water",
        400.0,
        "m^3/h",
        9600.0,
        "m^3/d",
        2.678,
        1188.14,
    ),
    (
        "novo-yeast-slurry",
        "farms-fertiliser",
        "material",
        120.0,
        "t/d",
        43830.0,
        "t/yr",
        3.243,
        37.7957,
    ),
    (
        "novozymes-biomass",
        "farms-fertiliser",
        "material",
        400.0,
        "t/d",
        146100.0,
        "t/yr",
        3.202,
        126.725,
    ),
    (
        "refinery-cooling-water",
        "asnaes-reuse-water",
        "water",
        300.0,
        "m^3/h",
        7200.0,
        "m^3/d",
        0.927,
        402.649,
    ),
    (
        "refinery-fuel-gas",
        "gyproc-fuel-gas",
        "gas",
        3000.0,
        "m^3/h",
        2500.0,
        "m^3/h",
        2.116,
        24243.3,
    ),
]


def test_demo_park_match_output_is_unchanged() -> None:
    result = runner.invoke(app, ["match", str(bundled_park_path("kalundborg"))])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    keys = (
        "stream",
        "need",
        "kind",
        "available",
        "unit",
        "quantity",
        "need_unit",
        "distance_km",
        "co2e_t_per_yr",
    )
    got = [tuple(json.loads(line)[k] for k in keys) for line in result.stdout.splitlines()]
    assert [len(json.loads(line)) for line in result.stdout.splitlines()] == [9] * 12
    assert got == DEMO_MATCHES
