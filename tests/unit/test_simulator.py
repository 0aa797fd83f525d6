from datetime import UTC, datetime

import pytest

from domain.park import load_park
from ingest.simulator import Simulator
from tests.helpers import APPEARING_HEAT_PARK as PARK

START = datetime(2026, 5, 1, tzinfo=UTC)


def run(sim: Simulator, seconds: float, tick: float = 0.5) -> list:
    out, t = [], 0.0
    while t < seconds:
        out += list(sim.tick(START, t, tick))
        t += tick
    return out


def test_count_and_timestamps_follow_rate() -> None:
    batches = run(Simulator(load_park(PARK), rate_hz=4, seed=1), 10)
    readings = [r for b in batches for r in b.readings]
    assert len(readings) == 2 * 10 * 4  # 2 streams, 10 s, 4 Hz
    per_meter = {}
    for r in readings:
        per_meter.setdefault(r.meter, []).append(r.ts)
    for stamps in per_meter.values():
        assert len(set(stamps)) == len(stamps) == 40
        assert stamps == sorted(stamps)


def test_same_seed_same_values_and_profile_is_followed() -> None:
    a = run(Simulator(load_park(PARK), rate_hz=2, seed=7), 20)
    b = run(Simulator(load_park(PARK), rate_hz=2, seed=7), 20)
    assert [r.value for x in a for r in x.readings] == [r.value for x in b for r in x.readings]
    heat = [r for x in a if x.stream == "smelter-heat" for r in x.readings]
    off = [r.value for r in heat if (r.ts - START).total_seconds() < 5]
    on = [r.value for r in heat if 5 <= (r.ts - START).total_seconds() < 16]
    assert off == [0.0] * len(off)
    assert sum(on) / len(on) == pytest.approx(10, rel=0.05)


def test_batch_ids_are_unique() -> None:
    batches = run(Simulator(load_park(PARK), rate_hz=1, seed=0), 10)
    assert len({b.batch_id for b in batches}) == len(batches)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate_hz"):
        Simulator(load_park(PARK), rate_hz=0)


def test_reading_timestamps_must_be_aware_and_keep_their_instant() -> None:
    from pydantic import ValidationError

    from schemas.readings import Reading

    with pytest.raises(ValidationError, match="timezone"):
        Reading(meter="m", ts="2026-05-01T10:00:00", value=1, unit="MW")
    r = Reading(meter="m", ts="2026-05-01T12:00:00+02:00", value=1, unit="MW")
    assert r.ts == datetime(2026, 5, 1, 10, tzinfo=UTC)


def test_pushes_are_the_ticks_batches_one_record_per_site() -> None:
    park = load_park(PARK)
    ticks = list(Simulator(park, rate_hz=2, seed=3).tick(START, 0.0, 1.0))
    pushes = list(Simulator(park, rate_hz=2, seed=3).pushes(START, 0.0, 1.0))
    assert [b for p in pushes for b in p.batches] == ticks
    site_of = {st.id: site.id for site, st in park.streams()}
    for push in pushes:
        assert {site_of[b.stream] for b in push.batches} == {push.site}
    assert len({p.site for p in pushes}) == len(pushes)
