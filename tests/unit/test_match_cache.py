"""The matcher's per-stream cache: Matcher.quantities, offer and distance_km equal feasible().

The fast path must give, bit for bit, the quantity :func:`feasible` gives for every pair
(and nothing for the others), keep :meth:`Matcher.incomparable` exactly as :meth:`Matcher.match`
keeps it, and stay exact after every kind of registry change (a site moving or changing
company, a stream's unit, a need added, replaced or removed, an exchange, time crossing a
window's edge, more changes than the cache replays).
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.errors import UnitError
from domain.generate import ANCHOR, generate_park
from domain.geo import haversine_km
from domain.matching import _REPLAYED, Matcher, _quantity, feasible
from schemas.registry import Exchange, Need, Site, Stream
from tests.unit.test_gas_matching import random_gas_park
from tests.unit.test_matching import HOUR, NOW, build, need, park_args, site, stream

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Registry:
    """The live sites, needs and exchanges a matcher was given: what the reference reads."""

    def __init__(self, sites: list[Site], needs: list[Need]) -> None:
        self.sites = {s.id: s for s in sites}
        self.needs = {n.id: n for n in needs}
        self.exchanges: dict[str, Exchange] = {}

    def stream(self, stream_id: str) -> tuple[Site, Stream]:
        return next((s, x) for s in self.sites.values() for x in s.streams if x.id == stream_id)

    def stream_ids(self) -> list[str]:
        return [x.id for s in self.sites.values() for x in s.streams]


def reference(
    matcher: Matcher,
    reg: Registry,
    stream_id: str,
    available: float,
    now: datetime,
    sustained_s: float,
) -> tuple[dict[str, float], set[str]]:
    """feasible() over every live need: quantities, and the needs whose units do not compare."""
    supplier, st_ = reg.stream(stream_id)
    found: dict[str, float] = {}
    incomparable: set[str] = set()
    for n in reg.needs.values():
        try:
            m = feasible(supplier, st_, n, reg.sites[n.site], available, now, sustained_s,
                         matcher.committed(n.id, now))  # fmt: skip
        except UnitError:
            incomparable.add(n.id)
            continue
        if m is not None:
            found[n.id] = m.quantity
    return found, incomparable


def assert_same(got: dict[str, float], want: dict[str, float]) -> None:
    assert got.keys() == want.keys()
    for need_id, quantity in want.items():
        assert math.copysign(1.0, got[need_id]) == math.copysign(1.0, quantity)
        assert got[need_id] == quantity  # bit for bit, not approximately


def fast_and_slow(matcher: Matcher, stream_id: str, available: float, now: datetime,
                  sustained_s: float) -> dict[str, float]:  # fmt: skip
    """quantities(), checked against match() on the same matcher (same incomparable records)."""
    got = matcher.quantities(stream_id, available, now=now, sustained_s=sustained_s)
    ranked = matcher.match(stream_id, available, now=now, sustained_s=sustained_s)
    assert_same(got, {m.need: m.quantity for m in ranked})
    return got


# --- equal to feasible() over random parks --------------------------------------------------------


@PROPERTY
@given(args=park_args)
def test_quantities_equal_feasible_over_every_need(args):
    sites, needs, rng = build(args)
    matcher = Matcher(sites, needs)
    reg = Registry(sites, needs)
    streams = reg.stream_ids()
    edges = [t for n in needs for t in (n.active_from, n.active_until) if t is not None]
    for _ in range(20):
        sid = rng.choice(streams)
        _, st_ = reg.stream(sid)
        available = st_.nominal * rng.choice([0.0, 0.3, 0.5, 1.0, 1.5, 3.0, 30.0])
        now = ANCHOR + timedelta(days=rng.uniform(-90, 90))
        if edges and rng.random() < 0.5:  # at or just around a window's edge
            now = rng.choice(edges) + timedelta(
                microseconds=rng.choice([-1_000_000, -1, 0, 0, 1, 3_600_000_000])
            )
        sustained = rng.choice([0.0, 600.0, math.inf])
        got = fast_and_slow(matcher, sid, available, now, sustained)
        want, _ = reference(matcher, reg, sid, available, now, sustained)
        assert_same(got, want)
        for nid in rng.sample(sorted(reg.needs), min(5, len(reg.needs))) + sorted(got)[:3]:
            m = matcher.check(sid, nid, available, now=now, sustained_s=sustained)
            offered = matcher.offer(sid, nid, available, now=now, sustained_s=sustained)
            assert offered == (m.quantity if m is not None else None)
            if m is not None:
                assert matcher.distance_km(sid, nid) == m.distance_km


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_incomparable_pairs_are_recorded_exactly_as_match_records_them(seed):
    # two matchers on one park: one answers through quantities(), the other through match();
    # windows put now inside, outside and within the index's millisecond of slack of an edge
    sites, needs = random_gas_park(seed)
    rng = random.Random(seed)
    windowed = []
    for n in needs:
        if rng.random() < 0.5:
            start = NOW + timedelta(seconds=rng.choice([-10, 0, 5]))
            n = n.model_copy(update={"active_from": start,
                                     "active_until": start + timedelta(seconds=10)})  # fmt: skip
        windowed.append(n)
    fast, slow = Matcher(sites, windowed), Matcher(sites, windowed)
    reg = Registry(sites, windowed)
    streams = reg.stream_ids()
    if not streams or not windowed:
        return
    for _ in range(30):
        sid = rng.choice(streams)
        _, st_ = reg.stream(sid)
        available = st_.nominal * rng.choice([0.0, 0.01, 1.0, 100.0])
        now = NOW + timedelta(
            seconds=rng.choice([-11, -10, -1, 0, 4, 5, 10, 15, 20]),
            microseconds=rng.choice([-999, -500, -1, 0, 0, 1, 500, 999, 1001]),
        )
        sustained = rng.choice([0.0, math.inf])
        got = fast.quantities(sid, available, now=now, sustained_s=sustained)
        want = slow.match(sid, available, now=now, sustained_s=sustained)
        assert_same(got, {m.need: m.quantity for m in want})
        assert fast.incomparable() == slow.incomparable()
        nid = rng.choice(windowed).id
        offered = fast.offer(sid, nid, available, now=now, sustained_s=sustained)
        m = slow.check(sid, nid, available, now=now, sustained_s=sustained)
        assert offered == (m.quantity if m is not None else None)
        assert fast.incomparable() == slow.incomparable()


def test_a_stream_id_moved_to_another_site_keeps_the_records_as_match_does():
    # an incomparable record that the cache cannot explain (the stream id now belongs to
    # another site, with another unit): the indexed path answers, with its own bookkeeping
    gas = {"kind": "gas", "nominal": 100.0}
    a = site("a", "a-co", streams=[stream(id="g", unit="t/yr", gas_species="biogas", **gas)])
    b = site("b", "b-co", 55.01)
    c = site("c", "c-co", 55.0, 11.001)
    n = Need(id="n", site="b", kind="gas", unit="m^3/h", min_quantity=1.0, max_distance_km=5)
    fast, slow = Matcher([a, b, c], [n]), Matcher([a, b, c], [n])
    for m in (fast, slow):
        assert m.match("g", 100.0, now=NOW, sustained_s=HOUR) == []
        m.update_site(c.model_copy(update={"streams": [stream(id="g", unit="m^3/h", **gas)]}))
    assert [p.need for p in fast.incomparable()] == ["n"]
    got = fast.quantities("g", 100.0, now=NOW, sustained_s=HOUR)
    want = slow.match("g", 100.0, now=NOW, sustained_s=HOUR)
    assert_same(got, {m.need: m.quantity for m in want})
    assert got == {"n": 100.0}
    assert fast.incomparable() == slow.incomparable() == []


@pytest.mark.parametrize(
    "available",
    [0.0, -0.0, -1.0, 1e-320, 5e-324, 4.999999, 5.0, 5.000001, 1e308, math.inf, math.nan],
)
@pytest.mark.parametrize("min_quantity", [0.0, 1e-300, 5.0])
def test_odd_amounts_are_decided_as_feasible_decides_them(available, min_quantity):
    a = site("a", "a-co", streams=[stream(id="heat-a")])
    b = site("b", "b-co", 55.01)
    needs = [
        need(id="mw", min_quantity=min_quantity),
        need(id="kw", unit="kW", min_quantity=min_quantity * 1000),
        need(id="cap", min_quantity=min_quantity, max_quantity=8.0),
    ]
    matcher = Matcher([a, b], needs)
    got = matcher.quantities("heat-a", available, now=NOW, sustained_s=HOUR)
    try:
        ranked = matcher.match("heat-a", available, now=NOW, sustained_s=HOUR)
    except ValidationError:  # an infinite benefit: feasible() cannot build the Match
        _, st_ = matcher.stream("heat-a")
        want = {n.id: q for n in needs if (q := _quantity(st_, n, available, 0.0)) is not None}
        assert_same(got, want)
        return
    assert_same(got, {m.need: m.quantity for m in ranked})
    want, _ = reference(matcher, Registry([a, b], needs), "heat-a", available, NOW, HOUR)
    assert_same(got, want)


# --- the cache follows every change ------------------------------------------------------------


def small() -> tuple[Matcher, Registry]:
    a = site("a", "a-co", 55.0, 11.0, [stream(id="heat-a")])
    b = site("b", "b-co", 55.01, 11.0)
    c = site("c", "c-co", 55.0, 11.05)
    needs = [need(id="near", site="b"), need(id="far", site="c", max_distance_km=2)]
    return Matcher([a, b, c], needs), Registry([a, b, c], needs)


def agree(matcher: Matcher, reg: Registry, available: float = 10.0, now: datetime = NOW,
          sustained_s: float = HOUR) -> dict[str, float]:  # fmt: skip
    got = {}
    for sid in reg.stream_ids():
        got[sid] = fast_and_slow(matcher, sid, available, now, sustained_s)
        want, _ = reference(matcher, reg, sid, available, now, sustained_s)
        assert_same(got[sid], want)
    return got.get("heat-a", {})


def test_a_needs_site_moving_into_and_out_of_reach():
    matcher, reg = small()
    assert agree(matcher, reg).keys() == {"near"}
    c = reg.sites["c"].model_copy(update={"lon": 11.001})  # now 64 m from a
    matcher.update_site(c)
    reg.sites["c"] = c
    got = agree(matcher, reg)
    assert got.keys() == {"near", "far"}
    assert matcher.distance_km("heat-a", "far") == haversine_km(55.0, 11.0, 55.0, 11.001)
    b = reg.sites["b"].model_copy(update={"lat": 56.0})  # far away
    matcher.update_site(b)
    reg.sites["b"] = b
    assert agree(matcher, reg).keys() == {"far"}


def test_a_needs_site_changing_company():
    matcher, reg = small()
    assert agree(matcher, reg).keys() == {"near"}
    b = reg.sites["b"].model_copy(update={"company": "a-co"})  # the supplier's own company
    matcher.update_site(b)
    reg.sites["b"] = b
    assert agree(matcher, reg) == {}


def test_a_stream_changing_unit_place_or_reach():
    matcher, reg = small()
    assert agree(matcher, reg)["near"] == 10.0
    for update in [
        {"streams": [stream(id="heat-a", unit="kW", nominal=10_000)]},
        {"lat": 55.005},
        {"streams": [stream(id="heat-a", max_distance_km=0.5)]},
        {"streams": [stream(id="heat-a", temperature_c=50)]},  # too cold for the needs
        {"streams": [stream(id="heat-a"), stream(id="heat-a2")]},
    ]:
        a = reg.sites["a"].model_copy(update=update)
        matcher.update_site(a)
        reg.sites["a"] = a
        agree(matcher, reg, available=10_000.0)
        agree(matcher, reg)


def test_a_need_added_replaced_and_removed():
    matcher, reg = small()
    agree(matcher, reg)
    steps: list[Need | str] = [
        need(id="new", site="b", unit="kW", min_quantity=9000),
        need(id="near", site="b", min_quantity=11),  # replaced: now out of reach of 10 MW
        need(id="near", site="b", unit="kW", min_quantity=1, max_quantity=2500),
        need(id="far", site="c", max_distance_km=20),
        need(id="win", site="b", active_from=NOW + timedelta(seconds=1)),
        "new",
        "far",
    ]
    for step in steps:
        if isinstance(step, str):
            matcher.remove_need(step)
            del reg.needs[step]
        else:
            matcher.add_need(step)
            reg.needs[step.id] = step
        agree(matcher, reg)
        agree(matcher, reg, available=9.5)


def test_exchanges_count_when_the_quantity_is_computed():
    matcher, reg = small()
    capped = need(id="cap", site="b", min_quantity=2, max_quantity=8)
    matcher.add_need(capped)
    reg.needs["cap"] = capped
    assert agree(matcher, reg)["cap"] == 8.0
    window = {"start": NOW + timedelta(hours=1), "end": NOW + timedelta(hours=2)}
    matcher.add_exchange(Exchange(id="x", stream="heat-a", need="cap", quantity=3, unit="MW"))
    assert agree(matcher, reg)["cap"] == 5.0
    matcher.add_exchange(Exchange(id="y", stream="heat-a", need="cap", quantity=3000,
                                  unit="kW", **window))  # fmt: skip
    assert agree(matcher, reg)["cap"] == 5.0
    assert agree(matcher, reg, now=NOW + timedelta(hours=1))["cap"] == 2.0
    matcher.remove_exchange("x")
    assert agree(matcher, reg, now=NOW + timedelta(hours=1))["cap"] == 5.0
    assert matcher.offer("heat-a", "cap", 10.0, now=NOW, sustained_s=HOUR) == 8.0


@pytest.mark.parametrize("delta_us", [-1, 0, 1])
def test_window_edges_to_the_microsecond(delta_us):
    matcher, reg = small()
    start, end = NOW, NOW + timedelta(hours=1)
    w = need(id="w", site="b", min_duration_s=600, active_from=start, active_until=end)
    matcher.add_need(w)
    reg.needs["w"] = w
    for edge in (start, end):
        now = edge + timedelta(microseconds=delta_us)
        for sustained in (599.999, 600.0):
            agree(matcher, reg, now=now, sustained_s=sustained)
            want = start <= now < end and sustained >= 600
            offered = matcher.offer("heat-a", "w", 10.0, now=now, sustained_s=sustained)
            assert (offered is not None) == want


def test_more_changes_than_the_cache_replays():
    matcher, reg = small()
    agree(matcher, reg)
    for i in range(_REPLAYED + 5):
        n = need(id=f"n{i}", site="c" if i % 2 else "b", min_quantity=i % 12)
        matcher.add_need(n)
        reg.needs[n.id] = n
        if i in (3, _REPLAYED - 1, _REPLAYED + 4):
            agree(matcher, reg)
    agree(matcher, reg)


OPS = ["move", "company", "stream", "add", "replace", "remove", "exchange", "unexchange", "time"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), ops=st.lists(st.sampled_from(OPS), max_size=25))
def test_random_changes_keep_the_cache_exact(seed, ops):
    park = generate_park(6, 2, 30, seed, region_km=3.0)
    rng = random.Random(seed)
    matcher = Matcher(park.sites, park.needs)
    reg = Registry(list(park.sites), list(park.needs))
    now = ANCHOR
    fresh = 0

    def calls() -> None:
        for sid in rng.sample(reg.stream_ids(), min(4, len(reg.stream_ids()))):
            _, st_ = reg.stream(sid)
            available = st_.nominal * rng.uniform(0.2, 3.0)
            got = fast_and_slow(matcher, sid, available, now, math.inf)
            want, _ = reference(matcher, reg, sid, available, now, math.inf)
            assert_same(got, want)

    calls()
    for op in ops:
        s = reg.sites[rng.choice(sorted(reg.sites))]
        if op == "move":
            s = s.model_copy(update={"lat": s.lat + rng.uniform(-0.02, 0.02)})
        elif op == "company":
            companies = sorted({x.company for x in reg.sites.values()})
            s = s.model_copy(update={"company": rng.choice(companies)})
        elif op == "stream" and s.streams:
            x = s.streams[0]
            scaled = x.model_copy(update={"unit": "kW", "nominal": x.nominal * 1000})
            changed = scaled if x.kind in ("heat", "steam") else x.model_copy(
                update={"max_distance_km": rng.choice([None, 0.5, 5.0])})  # fmt: skip
            s = s.model_copy(update={"streams": [changed, *s.streams[1:]]})
        elif op in ("add", "replace") and reg.needs:
            base = reg.needs[rng.choice(sorted(reg.needs))]
            fresh += 1
            n = base.model_copy(update={
                "id": f"new-{fresh}" if op == "add" else base.id,
                "site": rng.choice(sorted(reg.sites)),
                "min_quantity": base.min_quantity * rng.uniform(0.5, 1.5),
                "max_distance_km": rng.choice([None, 1.0, 10.0]),
            })  # fmt: skip
            matcher.add_need(n)
            reg.needs[n.id] = n
        elif op == "remove" and reg.needs:
            nid = rng.choice(sorted(reg.needs))
            matcher.remove_need(nid)
            del reg.needs[nid]
            reg.exchanges = {k: x for k, x in reg.exchanges.items() if x.need != nid}
        elif op == "exchange":
            capped = [n for n in reg.needs.values() if n.max_quantity is not None]
            if capped:
                n = rng.choice(capped)
                fresh += 1
                q = n.max_quantity * rng.uniform(0.1, 0.9)
                x = Exchange(id=f"x{fresh}", stream=rng.choice(reg.stream_ids()), need=n.id,
                             quantity=q, unit=n.unit)  # fmt: skip
                matcher.add_exchange(x)
                reg.exchanges[x.id] = x
        elif op == "unexchange" and reg.exchanges:
            xid = rng.choice(sorted(reg.exchanges))
            matcher.remove_exchange(xid)
            del reg.exchanges[xid]
        elif op == "time":
            now += timedelta(days=rng.choice([1, 10, 45]))
        if op in ("move", "company", "stream"):
            matcher.update_site(s)
            reg.sites[s.id] = s
        calls()


def test_a_record_left_by_a_need_site_moving_away_keeps_the_fast_path(monkeypatch):
    # the record of an incomparable pair stays when the need's site moves out of reach (only
    # the site's own streams are forgotten); match() never reaches it again, nor does the cache
    gas = {"kind": "gas", "nominal": 100.0}
    a = site("a", "a-co", streams=[stream(id="g", unit="t/yr", gas_species="biogas", **gas)])
    b = site("b", "b-co", 55.01)
    n = Need(id="n", site="b", kind="gas", unit="m^3/h", min_quantity=1.0, max_distance_km=5)
    m3 = Need(id="m3", site="a", kind="gas", unit="t/yr", min_quantity=1.0)  # a's own company
    fast, slow = Matcher([a, b], [n, m3]), Matcher([a, b], [n, m3])
    for m in (fast, slow):
        assert m.match("g", 100.0, now=NOW, sustained_s=HOUR) == []
        m.update_site(b.model_copy(update={"lat": 56.0}))
    assert [p.need for p in fast.incomparable()] == ["n"]

    def no_match(*args, **kwargs):
        raise AssertionError("the fast path fell back to match()")

    monkeypatch.setattr(fast, "match", no_match)
    got = fast.quantities("g", 100.0, now=NOW, sustained_s=HOUR)
    assert_same(got, {x.need: x.quantity for x in slow.match("g", 100.0, now=NOW,
                                                             sustained_s=HOUR)})  # fmt: skip
    assert fast.incomparable() == slow.incomparable()
    assert [p.need for p in fast.incomparable()] == ["n"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_pairs_taken_at_once_equal_pairs_decided_one_by_one(seed):
    # many needs under one stream's surplus, some with a minimum duration, a max quantity or an
    # active period among the plain ones: quantities() takes runs of plain pairs at once, and
    # must still leave out a pair whose duration, cap or period does not allow it
    rng = random.Random(seed)
    a = site("a", "a-co", 55.0, 11.0, [stream(id="heat-a", nominal=100)])
    b = site("b", "b-co", 55.01, 11.0)
    needs = []
    for i in range(rng.randint(1, 40)):
        extra: dict[str, object] = {}
        roll = rng.random()
        minimum = rng.choice([0.0, 1e-300, 0.5, 5.0, 20.0, 60.0, 99.99999999, 100.0])
        if roll < 0.15:
            extra["min_duration_s"] = rng.choice([600, 7200])
        elif roll < 0.3:
            extra["max_quantity"] = max(minimum, 1.0) * rng.choice([1.0, 1.5, 3.0])
        elif roll < 0.4:
            extra |= {"active_from": NOW + timedelta(hours=rng.choice([-2, 1])),
                      "active_until": NOW + timedelta(hours=rng.choice([2, 3]))}  # fmt: skip
        unit = rng.choice(["MW", "kW", "GJ/h"])
        factor = {"MW": 1.0, "kW": 1000.0, "GJ/h": 3.6}[unit]
        if "max_quantity" in extra:
            extra["max_quantity"] = float(extra["max_quantity"]) * factor  # type: ignore[arg-type]
        needs.append(need(id=f"n{i}", site="b", unit=unit, min_quantity=minimum * factor,
                          **extra))  # fmt: skip
    matcher, reg = Matcher([a, b], needs), Registry([a, b], needs)
    for _ in range(10):
        available = rng.choice([0.0, 1.0, 20.0, 59.99, 60.0, 99.95, 99.9999999, 100.0, 250.0])
        sustained = rng.choice([0.0, 600.0, 3600.0, math.inf])
        agree(matcher, reg, available=available, sustained_s=sustained)
