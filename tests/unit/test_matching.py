"""Matching: one test per rule of exchangeable surplus, the indexed Matcher, properties.

Each rule test starts from a pair that matches and changes one thing so that it fails.
Property tests check that the index never changes the answer (Matcher.match equals a
brute-force scan of `feasible`), that more surplus never removes a match, that a company
never trades with itself, and the geometry the index relies on.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from domain.errors import ConfigurationError, UnitError
from domain.generate import ANCHOR, generate_park
from domain.geo import EARTH_RADIUS_KM, cell_of, cells_within, cover, haversine_km, level_for
from domain.matching import Match, Matcher, feasible, rank
from schemas.registry import Exchange, Need, Site, Stream

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
HOUR = 3600.0


# --- builders ---------------------------------------------------------------------------------


def site(sid="a", company="a-co", lat=55.0, lon=11.0, streams=()):
    return Site(id=sid, name=sid, company=company, lat=lat, lon=lon, streams=list(streams))


def stream(**kw):
    base = {"id": "s", "kind": "heat", "unit": "MW", "nominal": 10, "temperature_c": 90}
    return Stream.model_validate(base | kw)


def need(**kw):
    base = {
        "id": "n",
        "site": "b",
        "kind": "heat",
        "unit": "MW",
        "min_quantity": 5,
        "min_temperature_c": 80,
        "max_distance_km": 10,
    }
    return Need.model_validate(base | kw)


SUPPLIER = site("a", "a-co", 55.0, 11.0)
TAKER = site("b", "b-co", 55.01, 11.0)  # 1.11 km north


def check(s=None, n=None, *, supplier=SUPPLIER, taker=TAKER, available=10.0, now=NOW,
          sustained_s=HOUR, committed=0.0):  # fmt: skip
    return feasible(
        supplier,
        s if s is not None else stream(),
        n if n is not None else need(),
        taker,
        available,
        now,
        sustained_s,
        committed,
    )


def test_baseline_pair_matches():
    m = check()
    assert isinstance(m, Match)
    assert (m.stream, m.need, m.kind, m.unit, m.need_unit) == ("s", "n", "heat", "MW", "MW")
    assert m.available == 10.0
    assert m.quantity == 10.0
    assert m.distance_km == pytest.approx(1.112, abs=1e-3)
    assert m.score == m.benefit.co2e_t_per_yr > 0


# --- rule 1: kind -----------------------------------------------------------------------------


def test_kind_must_be_compatible():
    assert check(stream(kind="water", unit="m^3/h", temperature_c=None), need()) is None
    assert check(stream(), need(kind="steam")) is None  # heat cannot serve a steam need


def test_steam_serves_a_heat_need():
    m = check(stream(kind="steam", temperature_c=180))
    assert m is not None
    assert m.kind == "steam"


def test_steam_in_tonnes_serves_heat_in_mw_via_enthalpy():
    s = stream(kind="steam", unit="t/h", temperature_c=180)
    assert check(s, available=7.0) is None  # 7 t/h = 4.585 MW < 5 MW
    m = check(s, available=8.0)  # 8 t/h = 5.24 MW
    assert m is not None
    assert m.quantity == pytest.approx(5.24)


# --- rule 2: temperature ----------------------------------------------------------------------


def test_temperature_must_reach_minimum_plus_approach_margin():
    assert check(stream(temperature_c=84.9)) is None  # 80 + 5 K margin
    assert check(stream(temperature_c=85)) is not None
    assert check(stream(temperature_c=84.9), need(approach_margin_k=0)) is not None
    assert check(stream(temperature_c=40), need(min_temperature_c=None)) is not None


# --- rule 3: EWC ------------------------------------------------------------------------------


def material(ewc="100105", **kw):
    return stream(kind="material", unit="t/yr", nominal=1000, temperature_c=None, ewc=ewc, **kw)


def material_need(accepts, **kw):
    return need(kind="material", unit="t/yr", min_quantity=100, min_temperature_c=None,
                accepts_ewc=accepts, **kw)  # fmt: skip


@pytest.mark.parametrize("accepts", [["100105"], ["1001"], ["10"], ["17", "1001"]])
def test_ewc_accepted_by_code_sub_chapter_or_chapter(accepts):
    assert check(material(), material_need(accepts), available=1000) is not None


@pytest.mark.parametrize("accepts", [["100102"], ["1002"], ["17"]])
def test_ewc_not_accepted(accepts):
    assert check(material(), material_need(accepts), available=1000) is None


def test_hazardous_only_where_allowed():
    oil_ash = material("100104")  # 10 01 04* oil fly ash and boiler dust
    assert check(oil_ash, material_need(["10"]), available=1000) is None
    assert check(oil_ash, material_need(["10"], accepts_hazardous=True), available=1000)


def test_material_without_ewc_code_does_not_match():
    s = stream(kind="material", unit="t/yr", temperature_c=None, description="grey powder")
    assert check(s, material_need(["10"]), available=1000) is None


# --- rule 4: water quality --------------------------------------------------------------------


def water(quality="cooling"):
    return stream(kind="water", unit="m^3/h", temperature_c=None, water_quality=quality)


def water_need(accepts=()):
    return need(kind="water", unit="m^3/h", min_quantity=5, min_temperature_c=None,
                accepts_water_quality=list(accepts))  # fmt: skip


def test_water_quality_must_be_accepted():
    assert check(water("grey"), water_need(["process", "cooling"])) is None
    assert check(water("cooling"), water_need(["process", "cooling"])) is not None
    assert check(water(None), water_need(["cooling"])) is None


def test_empty_quality_list_accepts_any_water():
    assert check(water("wastewater"), water_need()) is not None


# --- rule 5: gas ------------------------------------------------------------------------------


def gas(species="co2", purity=99.0, unit="t/yr"):
    return stream(kind="gas", unit=unit, temperature_c=None, gas_species=species,
                  purity_pct=purity)  # fmt: skip


def gas_need(species="co2", min_purity=95.0, unit="t/yr"):
    return need(kind="gas", unit=unit, min_quantity=5, min_temperature_c=None,
                gas_species=species, min_purity_pct=min_purity)  # fmt: skip


def test_gas_species_must_be_equal():
    assert check(gas("h2"), gas_need("co2")) is None
    assert check(gas("CO2"), gas_need("co2")) is not None
    assert check(gas(None), gas_need("co2")) is None
    assert check(gas("h2"), gas_need(None)) is not None


def test_gas_purity_must_reach_minimum():
    assert check(gas(purity=94.9), gas_need(min_purity=95)) is None
    assert check(gas(purity=95), gas_need(min_purity=95)) is not None
    assert check(gas(purity=None), gas_need(min_purity=95)) is None
    assert check(gas(purity=None), gas_need(min_purity=None)) is not None


def test_gas_volume_flow_converts_with_the_species_density():
    s = gas(unit="m^3/h")
    # 1 m3/h of CO2 = 17.33 t/yr
    assert check(s, gas_need(), available=0.28) is None  # 4.85 t/yr < 5
    assert check(s, gas_need(), available=0.29) is not None


def test_gas_volume_against_volume_needs_no_species():
    s = gas(None, purity=None, unit="Nm³/h")
    n = gas_need(None, min_purity=None, unit="m3/h")
    assert check(s, n, available=4.9) is None
    m = check(s, n, available=5.0)
    assert m is not None
    assert (m.quantity, m.unit, m.need_unit) == (5.0, "Nm³/h", "m3/h")
    assert check(s, gas_need(None, min_purity=None, unit="kNm3/h"), available=5000.0) is not None


def test_gas_mass_against_mass_needs_no_species():
    s = gas(None, purity=None, unit="t/y")
    m = check(s, gas_need(None, min_purity=None, unit="t/yr"), available=5.0)
    assert m is not None
    assert m.quantity == pytest.approx(5.0)


def test_gas_mass_against_volume_with_an_explicit_density():
    n = gas_need(None, min_purity=None, unit="m^3/h")  # min 5 m3/h
    s = gas(None, purity=None, unit="kg/h").model_copy(update={"density_kg_per_m3": 2.0})
    assert check(s, n, available=9.9) is None  # 4.95 m3/h
    assert check(s, n, available=10.0).quantity == pytest.approx(5.0)
    # no density on the stream: the need's density bridges
    bare = gas(None, purity=None, unit="kg/h")
    dense_need = n.model_copy(update={"density_kg_per_m3": 2.0})
    assert check(bare, dense_need, available=10.0).quantity == pytest.approx(5.0)
    # the stream's own density wins over the need's
    assert check(s, n.model_copy(update={"density_kg_per_m3": 1.0}), available=10.0).quantity == (
        pytest.approx(5.0)
    )


def test_gas_mass_against_volume_without_species_or_density_is_an_error_naming_the_pair():
    s = gas(None, purity=None, unit="t/yr")
    with pytest.raises(UnitError) as e:
        check(s, gas_need(None, min_purity=None, unit="Nm3/h"))
    assert str(e.value) == (
        "stream 's' available for need 'n': cannot convert t/yr to Nm3/h "
        "(a gas mass <-> volume conversion needs gas_species or density_kg_per_m3)"
    )


# --- rule 6: quantity -------------------------------------------------------------------------


def test_available_after_unit_conversion_must_reach_minimum():
    s = stream(unit="kW")
    assert check(s, available=4999.0) is None
    m = check(s, available=5000.0)
    assert m is not None
    assert m.quantity == pytest.approx(5.0)
    assert m.available == 5000.0
    assert m.unit == "kW"


def test_offered_quantity_is_capped_by_remaining_capacity():
    n = need(max_quantity=8)
    assert check(n=n).quantity == 8.0
    assert check(n=n, committed=2.0).quantity == 6.0
    assert check(n=n, committed=3.5) is None  # 4.5 MW left < 5 MW minimum


def test_zero_surplus_never_matches_a_zero_minimum():
    assert check(n=need(min_quantity=0), available=0.0) is None


def test_incompatible_units_are_an_error_not_a_silent_miss():
    with pytest.raises(UnitError, match="stream 's' available for need 'n'"):
        check(stream(unit="t/h"))


# --- rule 7: distance -------------------------------------------------------------------------


def test_distance_within_need_limit():
    assert check(n=need(max_distance_km=1.0)) is None
    assert check(n=need(max_distance_km=1.2)) is not None


def test_distance_within_stream_limit():
    assert check(stream(max_distance_km=1.0)) is None
    assert check(stream(max_distance_km=1.2)) is not None


def test_no_distance_limits_match_anywhere():
    far = site("b", "b-co", -33.9, 151.2)  # Sydney
    assert check(n=need(max_distance_km=None), taker=far) is not None


# --- rule 8: sustained ------------------------------------------------------------------------


def test_surplus_must_be_sustained_for_the_minimum_duration():
    n = need(min_duration_s=900)
    assert check(n=n, sustained_s=899) is None
    assert check(n=n, sustained_s=900) is not None


# --- rule 9: time window ----------------------------------------------------------------------


def test_now_must_lie_in_the_active_window():
    n = need(active_from=NOW, active_until=NOW + timedelta(days=1))
    assert check(n=n, now=NOW - timedelta(seconds=1)) is None
    assert check(n=n, now=NOW) is not None
    assert check(n=n, now=NOW + timedelta(days=1)) is None  # the end is exclusive
    assert check(n=need(active_until=NOW + timedelta(days=1))) is not None


# --- rule 10: company -------------------------------------------------------------------------


def test_same_company_never_trades_with_itself():
    assert check(taker=site("b", "a-co", 55.01, 11.0)) is None


# --- Matcher ----------------------------------------------------------------------------------


def small_matcher():
    a = site("a", "a-co", 55.0, 11.0, [stream(id="heat-a"), material(id="ash-a", ewc="100102")])
    b = site("b", "b-co", 55.01, 11.0)
    c = site("c", "c-co", 55.02, 11.0)
    needs = [
        need(id="heat-b", site="b"),
        need(id="heat-c", site="c"),
        need(id="heat-big", site="c", min_quantity=50),
        material_need(["10"], id="ash-b", site="b"),
    ]
    return Matcher([a, b, c], needs)


def test_matcher_ranks_by_co2e_then_distance():
    m = small_matcher()
    got = m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)
    assert [x.need for x in got] == ["heat-b", "heat-c"]  # equal benefit: nearer first
    assert got == m.scan("heat-a", 10.0, now=NOW, sustained_s=HOUR)
    assert [x.need for x in m.match("ash-a", 1000.0, now=NOW, sustained_s=HOUR)] == ["ash-b"]


def test_add_and_remove_need():
    m = small_matcher()
    m.add_need(need(id="heat-b2", site="b", min_quantity=9))
    assert len(m) == 5
    assert "heat-b2" in {x.need for x in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}
    m.remove_need("heat-b2")
    m.remove_need("never-existed")
    assert "heat-b2" not in {x.need for x in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}


def test_replacing_a_need_reindexes_it():
    m = small_matcher()
    m.add_need(need(id="heat-b", site="b", min_quantity=11))
    assert "heat-b" not in {x.need for x in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}


def test_update_site_moves_its_needs():
    m = small_matcher()
    m.update_site(site("b", "b-co", 56.0, 11.0))  # 111 km away: out of reach
    got = {x.need for x in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}
    assert got == {"heat-c"}


def test_update_site_moves_its_streams():
    m = small_matcher()
    m.update_site(site("a", "a-co", 56.0, 11.0, [stream(id="heat-a")]))
    assert m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR) == []
    with pytest.raises(KeyError):
        m.match("ash-a", 1000.0, now=NOW, sustained_s=HOUR)


def test_exchanges_use_up_capacity_while_active():
    m = small_matcher()
    m.add_need(need(id="heat-b", site="b", max_quantity=8))
    start, end = NOW - timedelta(days=1), NOW + timedelta(days=1)
    x = Exchange(id="x1", stream="heat-a", need="heat-b", quantity=2000, unit="kW",
                 start=start, end=end)  # fmt: skip
    m.add_exchange(x)
    assert m.committed("heat-b", NOW) == pytest.approx(2.0)
    got = {g.need: g for g in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}
    assert got["heat-b"].quantity == pytest.approx(6.0)
    m.add_exchange(x.model_copy(update={"quantity": 4000}))  # replaces x1: 4 MW, 4 left < 5
    assert "heat-b" not in {g.need for g in m.match("heat-a", 10, now=NOW, sustained_s=HOUR)}
    later = end + timedelta(seconds=1)
    assert "heat-b" in {g.need for g in m.match("heat-a", 10, now=later, sustained_s=HOUR)}
    m.remove_exchange("x1")
    assert m.committed("heat-b", NOW) == 0.0


def test_exchange_for_unknown_need_is_rejected():
    with pytest.raises(ConfigurationError, match="unknown need"):
        small_matcher().add_exchange(Exchange(id="x", stream="heat-a", need="no", quantity=1,
                                              unit="MW"))  # fmt: skip


def test_need_at_unknown_site_is_rejected():
    with pytest.raises(ConfigurationError, match="unknown site 'zz'"):
        small_matcher().add_need(need(id="n2", site="zz"))


def test_need_with_a_unit_unfit_for_its_kind_is_rejected_when_added():
    with pytest.raises(UnitError, match="need 'bad' unit: cannot convert t/d to MW"):
        small_matcher().add_need(need(id="bad", site="b", unit="t/d"))


def test_unknown_stream_is_a_key_error():
    with pytest.raises(KeyError):
        small_matcher().match("nope", 1.0, now=NOW, sustained_s=0)


def test_match_nominal_covers_every_stream():
    got = small_matcher().match_nominal(now=NOW)
    assert {(g.stream, g.need) for g in got} == {
        ("heat-a", "heat-b"),
        ("heat-a", "heat-c"),
        ("ash-a", "ash-b"),
    }


# --- generator --------------------------------------------------------------------------------


def test_generator_is_deterministic_and_valid():
    a = generate_park(30, 2, 60, seed=7)
    b = generate_park(30, 2, 60, seed=7)
    assert a == b
    assert a != generate_park(30, 2, 60, seed=8)
    assert len(a.needs) == 60
    assert all(len(s.streams) == 2 for s in a.sites)
    assert len({s.company for s in a.sites}) == 30
    kinds = {n.kind for n in a.needs} | {st.kind for _, st in a.streams()}
    assert len(kinds) == 5


def test_generator_region_grows_with_size():
    def spread(park):
        lats = [s.lat for s in park.sites]
        return max(lats) - min(lats)

    assert spread(generate_park(1000, 1, 0, seed=1)) > 5 * spread(generate_park(20, 1, 0, seed=1))


# --- properties -------------------------------------------------------------------------------


def brute_force(matcher, park_sites, needs, stream_id, available, now, sustained_s):
    """Independent reference: feasible() over every need, no index."""
    site_by_id = {s.id: s for s in park_sites}
    supplier, st_ = next((s, x) for s in park_sites for x in s.streams if x.id == stream_id)
    out = []
    for n in needs:
        m = feasible(supplier, st_, n, site_by_id[n.site], available, now, sustained_s,
                     matcher.committed(n.id, now))  # fmt: skip
        if m is not None:
            out.append(m)
    return rank(out)


park_args = st.fixed_dictionaries(
    {
        "companies": st.integers(2, 25),
        "streams": st.integers(1, 3),
        "needs": st.integers(0, 80),
        "seed": st.integers(0, 2**32 - 1),
        "region_km": st.sampled_from([None, 0.5, 2.0, 30.0, 300.0]),
        "center": st.sampled_from([(55.67, 11.08), (0.0, 179.99), (89.9, 0.0), (-45.0, -60.0)]),
        "unlimited": st.floats(0, 1),
    }
)


def build(args):
    park = generate_park(args["companies"], args["streams"], args["needs"], args["seed"],
                         region_km=args["region_km"], center=args["center"])  # fmt: skip
    rng = random.Random(args["seed"])
    needs = []
    for n in park.needs:
        update: dict[str, object] = {}
        if rng.random() < args["unlimited"]:
            update["max_distance_km"] = None
        if n.kind == "gas" and rng.random() < 0.3:
            update["gas_species"] = None  # takes any gas
        elif n.kind == "gas" and rng.random() < 0.3:
            update |= {"unit": "m^3/h", "min_quantity": n.min_quantity / 20, "max_quantity": None}
        needs.append(n.model_copy(update=update))
    sites = [
        s.model_copy(update={"streams": [
            x.model_copy(update={"max_distance_km": None}) if rng.random() < 0.3 else x
            for x in s.streams
        ]})
        for s in park.sites
    ]  # fmt: skip
    return sites, needs, rng


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(args=park_args)
def test_index_equals_brute_force_scan(args):
    sites, needs, rng = build(args)
    matcher = Matcher(sites, needs)
    streams = [x for s in sites for x in s.streams]
    edges = [t for n in needs for t in (n.active_from, n.active_until) if t is not None]
    for _ in range(15):
        st_ = rng.choice(streams)
        available = st_.nominal * rng.choice([0.0, 0.3, 1.0, 3.0, 30.0])
        now = ANCHOR + timedelta(days=rng.uniform(-90, 90))
        if edges and rng.random() < 0.5:  # at or just around a window's edge
            now = rng.choice(edges) + timedelta(seconds=rng.choice([-1.0, 0.0, 0.0, 1.0, 3600.0]))
        sustained = rng.choice([0.0, 600.0, math.inf])
        got = matcher.match(st_.id, available, now=now, sustained_s=sustained)
        want = brute_force(matcher, sites, needs, st_.id, available, now, sustained)
        assert got == want


@PROPERTY
@given(args=park_args)
@example(  # a site moved past the North Pole (lat 90.04) was looked up in the wrong cell
    args={"companies": 9, "streams": 1, "needs": 16, "seed": 3949, "region_km": 300.0,
          "center": (89.9, 0.0), "unlimited": 0.0}
)  # fmt: skip
def test_index_stays_exact_under_updates(args):
    sites, needs, rng = build(args)
    half = len(needs) // 2
    matcher = Matcher(sites, needs[:half])
    live = {n.id: n for n in needs[:half]}
    for n in needs[half:]:
        matcher.add_need(n)
        live[n.id] = n
    for nid in rng.sample(sorted(live), len(live) // 3):
        matcher.remove_need(nid)
        del live[nid]
    moved = []
    for s in sites:
        if rng.random() < 0.3:
            s = s.model_copy(update={"lat": s.lat + rng.uniform(-0.05, 0.05)})
            matcher.update_site(s)
        moved.append(s)
    for i, n in enumerate(sorted(live.values(), key=lambda n: n.id)[:5]):
        src = rng.choice([x for s in moved for x in s.streams if x.kind == n.kind] or [None])
        if src is not None and n.max_quantity is not None:
            matcher.add_exchange(Exchange(id=f"x{i}", stream=src.id, need=n.id,
                                          quantity=n.max_quantity / 2, unit=n.unit))  # fmt: skip
    streams = [x for s in moved for x in s.streams]
    for _ in range(10):
        st_ = rng.choice(streams)
        got = matcher.match(st_.id, st_.nominal * 2, now=ANCHOR, sustained_s=math.inf)
        want = brute_force(matcher, moved, list(live.values()), st_.id, st_.nominal * 2,
                           ANCHOR, math.inf)  # fmt: skip
        assert got == want


@PROPERTY
@given(args=park_args, factor=st.floats(1.0, 100.0))
def test_more_surplus_never_removes_a_match(args, factor):
    sites, needs, rng = build(args)
    matcher = Matcher(sites, needs)
    for s in rng.sample(sites, min(5, len(sites))):
        for x in s.streams:
            base = x.nominal * rng.uniform(0, 1.5)
            less = {m.need for m in matcher.match(x.id, base, now=ANCHOR, sustained_s=HOUR)}
            more = {m.need for m in matcher.match(x.id, base * factor, now=ANCHOR,
                                                   sustained_s=HOUR)}  # fmt: skip
            assert less <= more


@PROPERTY
@given(args=park_args)
def test_same_company_never_matches(args):
    sites, needs, _ = build({**args, "companies": 2})
    matcher = Matcher(sites, needs)
    company = {s.id: s.company for s in sites}
    for s in sites:
        for x in s.streams:
            for m in matcher.match(x.id, x.nominal * 10, now=ANCHOR, sustained_s=math.inf):
                assert (
                    company[matcher.stream(m.stream)[0].id]
                    != company[next(n.site for n in needs if n.id == m.need)]
                )


lat = st.floats(-90, 90)
lon = st.floats(-180, 180)


@settings(max_examples=200, deadline=None)
@given(a=st.tuples(lat, lon), b=st.tuples(lat, lon), c=st.tuples(lat, lon))
def test_haversine_is_a_metric(a, b, c):
    ab, ba = haversine_km(*a, *b), haversine_km(*b, *a)
    assert ab == pytest.approx(ba, abs=1e-9)
    assert haversine_km(*a, *a) == pytest.approx(0.0, abs=1e-9)
    assert 0.0 <= ab <= math.pi * EARTH_RADIUS_KM + 1e-6
    bc = haversine_km(*b, *c)
    # float rounding near antipodes reaches a few micrometres on 20,000 km: a relative margin
    assert haversine_km(*a, *c) <= (ab + bc) * (1 + 1e-9) + 1e-6


def test_haversine_known_distance():
    # one degree of latitude on the mean sphere: 111.195 km
    assert haversine_km(0, 0, 1, 0) == pytest.approx(111.195, abs=1e-3)


@settings(max_examples=300, deadline=None)
@given(
    center=st.tuples(st.floats(-90, 90), lon),
    radius=st.floats(0.1, 3000),
    bearing=st.floats(0, 2 * math.pi),
    frac=st.sampled_from([1.0, 1.0 - 1e-12]) | st.floats(0, 1),
    finer=st.integers(0, 3),
)
def test_cover_contains_every_point_within_the_radius(center, radius, bearing, frac, finer):
    lat1, lon1 = map(math.radians, center)
    d = radius * frac / EARTH_RADIUS_KM
    lat2 = math.asin(
        math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(d) * math.cos(lat1),
        math.cos(d) - math.sin(lat1) * math.sin(lat2),
    )
    point = (math.degrees(lat2), (math.degrees(lon2) + 540) % 360 - 180)
    if haversine_km(*center, *point) > radius:
        return  # float rounding put the point just outside: nothing to check
    level, cells = cover(*center, radius)
    assert cell_of(*point, level) in cells
    assert len(cells) <= 64
    fine = max(0, level_for(radius) - finer)  # smaller cells: the cap's edge matters more
    assert cell_of(*point, fine) in cells_within(*center, radius, fine)


@settings(max_examples=200, deadline=None)
@given(
    center=st.tuples(st.floats(-80, 80), lon),
    radius=st.floats(0.1, 1000),
    finer=st.integers(0, 4),
    east=st.booleans(),
)
def test_cover_reaches_the_caps_widest_longitude(center, radius, finer, east):
    phi = math.radians(center[0])
    delta = radius / EARTH_RADIUS_KM
    if math.sin(delta) >= math.cos(phi) or abs(center[0]) + math.degrees(delta) >= 90:
        return  # the cap holds a pole: every longitude is covered
    lat_t = math.degrees(math.asin(min(1.0, math.sin(phi) / math.cos(delta))))
    dlon = math.degrees(math.asin(math.sin(delta) / math.cos(phi)))
    lon_t = center[1] + (dlon if east else -dlon)
    point = (lat_t, (lon_t + 540) % 360 - 180)
    assert haversine_km(*center, *point) == pytest.approx(radius, rel=1e-6)
    level = max(0, level_for(radius) - finer)
    assert cell_of(*point, level) in cells_within(*center, radius, level)


def test_replacing_a_need_keeps_its_exchanges_in_the_new_unit():
    m = small_matcher()
    m.add_need(need(id="heat-b", site="b", max_quantity=8))
    m.add_exchange(Exchange(id="x1", stream="heat-a", need="heat-b", quantity=2, unit="MW"))
    m.add_need(need(id="heat-b", site="b", unit="kW", min_quantity=5000, max_quantity=8000))
    assert m.committed("heat-b", NOW) == pytest.approx(2000.0)
    got = {g.need: g for g in m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)}
    assert got["heat-b"].quantity == pytest.approx(6000.0)
    assert got["heat-b"].need_unit == "kW"
    m.remove_need("heat-b")
    assert m.committed("heat-b", NOW) == 0.0


def test_a_site_moved_past_the_pole_is_matched_like_the_scan_does():
    # model_copy skips validation: lat 90.037 is (89.963, lon + 180) to haversine_km, and so
    # to feasible(); the index must file and look it up there too
    a = site("a", "a-co", 89.95, -34.65, [stream(id="heat-a")])
    b = site("b", "b-co", 89.95236199142647, 122.44604938018858)
    m = Matcher([a, b], [need(id="near", site="b", max_distance_km=3.1)])
    m.update_site(a.model_copy(update={"lat": 90.03731725651386}))
    got = m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)
    assert [x.need for x in got] == ["near"]
    assert got == m.scan("heat-a", 10.0, now=NOW, sustained_s=HOUR)
    m.update_site(b.model_copy(update={"lat": 90.04}))  # the need's site past the pole
    m.update_site(a)
    got = m.match("heat-a", 10.0, now=NOW, sustained_s=HOUR)
    assert got == m.scan("heat-a", 10.0, now=NOW, sustained_s=HOUR)


@pytest.mark.parametrize(
    ("a_at", "b_at"),
    [
        ((89.99, 0.0), (89.99, 180.0)),  # across the North Pole, 2.2 km apart
        ((-89.99, 45.0), (-89.995, -135.0)),  # across the South Pole
        ((0.0, 179.9), (0.0, -179.9)),  # across the antimeridian, 22 km apart
        ((65.0, -179.99), (65.05, 179.95)),
    ],
)
def test_matcher_finds_partners_across_a_pole_or_the_antimeridian(a_at, b_at):
    a = site("a", "a-co", *a_at, [stream(id="heat-a"), stream(id="far-a", max_distance_km=30)])
    b = site("b", "b-co", *b_at)
    m = Matcher([a, b], [need(id="near", site="b", max_distance_km=30),
                         need(id="any", site="b", max_distance_km=None)])  # fmt: skip
    for sid in ("heat-a", "far-a"):
        got = m.match(sid, 10.0, now=NOW, sustained_s=HOUR)
        assert {x.need for x in got} == {"near", "any"}
        assert got == m.scan(sid, 10.0, now=NOW, sustained_s=HOUR)


def test_matcher_agrees_with_feasible_at_the_cheap_rules_edges():
    a = site("a", "a-co", 55.0, 11.0, [stream(id="heat-a")])
    b = site("b", "b-co", 55.01, 11.0)
    dist = haversine_km(55.0, 11.0, 55.01, 11.0)
    window = {"active_from": NOW, "active_until": NOW + timedelta(hours=1)}
    m = Matcher(
        [a, b], [need(id="w", site="b", min_duration_s=600, max_distance_km=dist, **window)]
    )
    for now, sustained in [
        (NOW, 600.0),
        (NOW - timedelta(microseconds=1), 600.0),
        (NOW + timedelta(hours=1), 600.0),
        (NOW + timedelta(hours=1) - timedelta(microseconds=1), 600.0),
        (NOW, 599.999),
    ]:
        got = m.match("heat-a", 10.0, now=now, sustained_s=sustained)
        assert got == m.scan("heat-a", 10.0, now=now, sustained_s=sustained)
    assert m.match("heat-a", 10.0, now=NOW, sustained_s=600)
