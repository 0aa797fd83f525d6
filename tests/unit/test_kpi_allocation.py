"""Park KPIs count each surplus once: the allocation of open alerts' quantities."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.kpis import allocate
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.common import ResourceKind

TS = datetime(2026, 12, 3, tzinfo=UTC)


def alert(
    stream: str, need: str, available: float, quantity: float, co2e: float, unit: str = "MW"
) -> Alert:
    return Alert(
        alert_id=f"{stream}-{need}", idempotency_key=f"{stream}-{need}-1",
        event=AlertEvent.OPENED, stream=stream, need=need, kind=ResourceKind.HEAT,
        available=available, unit="MW", quantity=quantity, need_unit=unit, distance_km=1.0,
        benefit=Benefit(co2e_t_per_yr=co2e), ts=TS,
    )  # fmt: skip


def potential(alerts: list[Alert], shares: dict[str, float]) -> float:
    return sum(a.benefit.co2e_t_per_yr * shares[a.alert_id] for a in alerts)


def test_one_surplus_fitting_three_needs_is_counted_once() -> None:
    # 35 MW of steam, three needs of 20 MW each: 35 MW can be used, not 60.
    alerts = [alert("steam", f"n{i}", 35, 20, 100.0) for i in range(3)]
    shares = allocate(alerts)
    assert sum(shares[a.alert_id] * a.quantity for a in alerts) == pytest.approx(35)
    assert potential(alerts, shares) == pytest.approx(175.0)
    assert sum(a.benefit.co2e_t_per_yr for a in alerts) == 300.0  # what adding all would claim


def test_the_surplus_goes_first_where_it_avoids_most_per_unit() -> None:
    alerts = [alert("s", "low", 10, 10, 10.0), alert("s", "high", 10, 10, 50.0)]
    shares = allocate(alerts)
    assert shares == {"s-high": 1.0, "s-low": 0.0}


def test_a_need_served_by_two_streams_takes_its_demand_once() -> None:
    alerts = [alert("a", "n", 30, 20, 40.0), alert("b", "n", 30, 20, 30.0)]
    assert allocate(alerts) == {"a-n": 1.0, "b-n": 0.0}
    assert allocate(alerts, demand={"n": 30}) == {"a-n": 1.0, "b-n": pytest.approx(0.5)}


def test_units_differ_between_stream_and_need() -> None:
    alerts = [alert("s", "n1", 10, 36_000, 100.0, unit="MJ/h"), alert("s", "n2", 10, 5, 10.0)]
    shares = allocate(alerts)  # 36,000 MJ/h is 10 MW: n1 takes it all
    assert shares == {"s-n1": pytest.approx(1.0), "s-n2": pytest.approx(0.0)}


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["x", "y", "z"]),
            st.floats(0, 100),
            st.floats(0.001, 100),
            st.floats(0, 1000),
        ),
        min_size=1,
        max_size=9,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_no_stream_gives_more_than_it_has_and_no_share_leaves_0_1(
    rows: list[tuple[str, str, float, float, float]],
) -> None:
    available = {s: v for s, _, v, _, _ in rows}  # one surplus per stream
    alerts = [alert(s, n, available[s], q, c) for s, n, _, q, c in rows]
    shares = allocate(alerts)
    assert set(shares) == {a.alert_id for a in alerts}
    for stream, surplus in available.items():
        given_out = sum(shares[a.alert_id] * a.quantity for a in alerts if a.stream == stream)
        assert given_out <= surplus + 1e-6
    assert all(0.0 <= v <= 1.0 + 1e-9 for v in shares.values())
    assert potential(alerts, shares) <= sum(a.benefit.co2e_t_per_yr for a in alerts) + 1e-6
