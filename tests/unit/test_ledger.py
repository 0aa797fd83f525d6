import math
import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.ledger import MeterWindow, stream_figures

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_mean_over_window_and_eviction() -> None:
    w = MeterWindow(window_s=10)
    for i in range(10):
        w.add(at(i), 10.0)
    assert w.count == 10
    assert w.measured == pytest.approx(10.0)
    w.add(at(20), 4.0)  # 10 s later the old readings fall out of the window
    assert w.count == 1
    assert w.measured == pytest.approx(4.0)


def test_replayed_and_late_readings_are_not_counted_twice() -> None:
    w = MeterWindow(window_s=60)
    for i in range(5):
        assert w.add(at(i), 10.0)
    for i in range(5):  # a replayed batch
        assert not w.add(at(i), 10.0)
    assert not w.add(at(2.5), 1000.0)  # late, out of order
    assert w.count == 5
    assert w.measured == pytest.approx(10.0)


def test_steadiness_drops_with_noise() -> None:
    steady, noisy = MeterWindow(window_s=60), MeterWindow(window_s=60)
    for i in range(20):
        steady.add(at(i), 10.0)
        noisy.add(at(i), 10.0 + (5 if i % 2 else -5))
    assert steady.steadiness == pytest.approx(1.0)
    assert noisy.steadiness == pytest.approx(0.5)


def test_state_round_trip_keeps_window_and_order_guard() -> None:
    w = MeterWindow(window_s=5)
    for i in range(8):
        w.add(at(i), float(i))
    again = MeterWindow.from_packed(5, w.newest, w.packed())
    assert (again.count, again.measured, again.newest) == (w.count, w.measured, w.newest)
    assert (again.total, again.total_sq, again.readings()) == (w.total, w.total_sq, w.readings())
    assert not again.add(at(7), 99.0)
    assert again.add(at(8), 8.0)


def test_empty_window() -> None:
    w = MeterWindow(window_s=10)
    assert (w.measured, w.steadiness, w.count) == (0.0, 0.0, 0)
    assert MeterWindow.from_packed(10, None, w.packed()).newest == w.newest
    with pytest.raises(ValueError, match="pairs of doubles"):
        MeterWindow.from_packed(10, None, b"\0" * 24)


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.floats(0, 0.2, allow_nan=False),  # seconds since the previous reading
            st.sampled_from([None] + [0.0] * 49).flatmap(  # a bad reading (None) now and then
                lambda bad: st.none() if bad is None else st.floats(-1e6, 1e6, allow_nan=False)
            ),
        ),
        min_size=100,
        max_size=400,
    )
)
def test_a_window_is_the_readings_of_its_last_seconds_and_packs_exactly(steps) -> None:
    # the flat array (evicting by moving its start, compacting now and then) keeps exactly the
    # readings of the last window_s seconds, with sums equal to adding them up in order; packed
    # and rebuilt, it is the same window (None: a bad reading, which empties it)
    w = MeterWindow(window_s=3)
    kept: list[tuple[float, float]] = []
    t = 0.0
    for dt, v in steps:
        t += dt
        if v is None:
            if w.stop(at(t)):
                kept = []
            continue
        if w.add(at(t), v):
            kept.append((at(t).timestamp(), v))
            kept = [(s, x) for s, x in kept if s > at(t).timestamp() - 3]
    assert w.readings() == kept
    assert w.count == len(kept)
    again = MeterWindow.from_packed(3, None if w.newest == -math.inf else w.newest, w.packed())
    assert again.readings() == kept
    total = total_sq = 0.0
    for _, x in kept:
        total += x
        total_sq += x * x
    assert (again.total, again.total_sq) == (total, total_sq)


def test_a_snapshot_written_as_json_before_is_read() -> None:
    # a worker restored from a changelog written before the packed form
    w = MeterWindow.from_state(10, [3.5, [[1.0, 2.0], [3.5, 4.0]]])
    assert (w.readings(), w.newest, w.total, w.measured) == (
        [(1.0, 2.0), (3.5, 4.0)],
        3.5,
        6.0,
        3.0,
    )


@settings(max_examples=200, deadline=None)
@given(
    meters=st.lists(
        st.lists(
            st.tuples(
                st.floats(0, 40, allow_nan=False),
                st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)),
            ),
            max_size=12,
        ),
        max_size=5,
    )
)
def test_stream_figures_equal_the_meters_added_up_one_by_one(meters) -> None:
    # what the ledger entry reports: the sum of the counting meters' means and their least
    # steadiness, bit for bit as summing the properties (None: a bad reading)
    windows = []
    for readings in meters:
        w = MeterWindow(window_s=10)
        for t, v in readings:
            if v is None:
                w.stop(at(t))
            else:
                w.add(at(t), v)
        windows.append(w)
    newest = max((w.newest for w in windows), default=-math.inf)
    counting = [w for w in windows if w.newest > newest - 10]
    got = stream_figures(windows, 10)
    assert got.newest == newest
    measured = 0.0  # left to right, as Python 3.11's sum() adds floats
    for w in counting:
        measured += w.measured
    assert got.measured == measured
    assert got.steadiness == min((w.steadiness for w in counting), default=0.0)
    assert got.samples == sum(w.count for w in counting)


def test_a_long_window_drops_what_it_evicted_and_keeps_exactly_its_readings() -> None:
    # 1,000 readings 0.1 s apart in a 3 s window: the array is compacted as it goes, so it
    # never holds much more than the readings in the window
    w = MeterWindow(window_s=3)
    for i in range(1000):
        w.add(at(i / 10), float(i))
        assert len(w.samples) <= 4 * w.count + 64
    newest = at(99.9).timestamp()
    want = [(at(i / 10).timestamp(), float(i)) for i in range(1000)]
    want = [(t, v) for t, v in want if t > newest - 3]
    assert len(want) in (29, 30)  # 97.0 > 99.9 - 3 in floats
    assert w.readings() == want
    assert w.count == len(want)
    assert w.measured == pytest.approx(sum(v for _, v in want) / len(want))
    again = MeterWindow.from_packed(3, w.newest, w.packed())
    assert again.readings() == want
    assert w.stop(at(101))
    assert (w.readings(), w.start) == ([], 0)
    assert w.add(at(102), 5.0)
    assert w.readings() == [(at(102).timestamp(), 5.0)]


def test_the_packed_form_is_little_endian_time_value_pairs() -> None:
    w = MeterWindow(window_s=10)
    w.add(at(1), 2.5)
    w.add(at(2), -4.0)
    t1, t2 = at(1).timestamp(), at(2).timestamp()
    assert w.packed() == struct.pack("<4d", t1, 2.5, t2, -4.0)


@pytest.mark.parametrize(
    ("pairs", "newest", "reason"),
    [
        ([(1.0, math.nan)], 1.0, "not finite"),
        ([(math.inf, 1.0)], math.inf, "not finite"),
        ([(2.0, 1.0), (1.0, 1.0)], 2.0, "not increasing"),
        ([(1.0, 1.0), (1.0, 1.0)], 1.0, "not increasing"),
        ([(5.0, 1.0)], 4.0, "not increasing"),
    ],
)
def test_a_damaged_packed_window_is_refused(pairs, newest, reason) -> None:
    data = b"".join(struct.pack("<2d", t, v) for t, v in pairs)
    with pytest.raises(ValueError, match=reason):
        MeterWindow.from_packed(10, newest, data)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ([1.0, [["nan", 1.0]]], "not finite"),  # a NaN time would never leave the window
        ([2.0, [[2.0, 1.0], [1.0, 1.0]]], "not increasing"),
        ([1.0, [[5.0, 1.0]]], "not increasing"),
        ([[1.0], [[1.0, 1.0]]], "newest time"),
        (["1e9", []], "newest time"),
        ([1.0, [[1.0, [2]]]], "not a window snapshot"),
        ({"newest": 1.0}, "not a window snapshot"),
    ],
)
def test_a_damaged_json_window_is_refused_as_a_packed_one_is(state, reason) -> None:
    with pytest.raises(ValueError, match=reason):
        MeterWindow.from_state(10, state)
