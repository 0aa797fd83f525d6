from datetime import UTC, datetime, timedelta

import pytest

from domain.alerting import AlertTracker
from tests.helpers import Candidate, observe

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def cand(q: float, dur: float = 0.0, need: str = "n1") -> Candidate:
    return Candidate(need=need, quantity=q, min_duration_s=dur)


def test_opens_after_min_duration_only() -> None:
    tr = AlertTracker()
    assert observe(tr, "s1", at(0), [cand(10, dur=5)], []) == []
    assert observe(tr, "s1", at(3), [cand(10, dur=5)], []) == []
    events = observe(tr, "s1", at(5), [cand(10, dur=5)], [])
    assert [e.event for e in events] == ["opened"]
    assert (events[0].stream, events[0].need) == ("s1", "n1")


def test_spike_shorter_than_min_duration_never_opens() -> None:
    tr = AlertTracker()
    assert observe(tr, "s1", at(0), [cand(10, dur=5)], []) == []
    assert observe(tr, "s1", at(2), [], []) == []
    assert observe(tr, "s1", at(4), [cand(10, dur=5)], []) == []  # pending restarts
    assert observe(tr, "s1", at(8), [cand(10, dur=5)], []) == []
    assert [e.event for e in observe(tr, "s1", at(9), [cand(10, dur=5)], [])] == ["opened"]


def test_held_by_hysteresis_does_not_flap() -> None:
    tr = AlertTracker()
    observe(tr, "s1", at(0), [cand(10)], [])
    # below the need's own threshold but within the hysteresis band: stays open, no event
    for i in range(1, 20):
        assert observe(tr, "s1", at(i), [], [cand(9.5)]) == []
    assert tr.open_needs("s1") == ["n1"]


def test_resolves_when_neither_feasible_nor_held() -> None:
    tr = AlertTracker()
    opened = observe(tr, "s1", at(0), [cand(10)], [])
    resolved = observe(tr, "s1", at(1), [], [])
    assert [e.event for e in resolved] == ["resolved"]
    assert resolved[0].alert_id == opened[0].alert_id
    assert resolved[0].idempotency_key != opened[0].idempotency_key
    assert tr.open_needs("s1") == []


def test_held_pair_that_was_never_open_does_not_open() -> None:
    tr = AlertTracker()
    assert observe(tr, "s1", at(0), [], [cand(9)]) == []
    assert tr.open_needs("s1") == []


def test_updated_on_material_change_only() -> None:
    tr = AlertTracker(update_threshold=0.2)
    observe(tr, "s1", at(0), [cand(10)], [])
    assert observe(tr, "s1", at(1), [cand(11)], []) == []
    events = observe(tr, "s1", at(2), [cand(13)], [])
    assert [e.event for e in events] == ["updated"]
    assert events[0].quantity == 13


def test_new_episode_gets_new_alert_id_and_keys_are_unique() -> None:
    tr = AlertTracker()
    first = observe(tr, "s1", at(0), [cand(10)], [])[0]
    observe(tr, "s1", at(1), [], [])
    second = observe(tr, "s1", at(2), [cand(10)], [])[0]
    assert second.alert_id != first.alert_id
    keys = {first.idempotency_key, second.idempotency_key}
    assert len(keys) == 2


def test_streams_are_independent() -> None:
    tr = AlertTracker()
    observe(tr, "s1", at(0), [cand(10)], [])
    assert observe(tr, "s2", at(1), [], []) == []
    assert tr.open_needs("s1") == ["n1"]


def test_dump_and_load_continue_the_same_episode() -> None:
    tr = AlertTracker()
    opened = observe(tr, "s1", at(0), [cand(10)], [])[0]
    observe(tr, "s2", at(0), [cand(5, need="n2")], [])
    restored = AlertTracker()
    restored.load("s1", tr.dump("s1"))
    assert restored.open_needs("s1") == ["n1"]
    assert restored.open_needs("s2") == []
    resolved = observe(restored, "s1", at(1), [], [])[0]
    assert resolved.alert_id == opened.alert_id
    assert resolved.idempotency_key == f"{opened.alert_id}:2"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ([1, 2], "an object of needs"),
        ({"n": [0.0, None, 0]}, "four figures"),
        ({"n": "x"}, "four figures"),
        ({"n": [None, None, 0, 0.0]}, "no numbers"),
        ({"n": [0.0, None, 0, float("inf")]}, "no numbers"),
        ({"n": [True, None, 0, 0.0]}, "no numbers"),
        ({"n": [0.0, 7, 0, 0.0]}, "alert id 7"),
        ({"n": [0.0, None, -1, 0.0]}, "sequence -1"),
        ({"n": [0.0, None, 1.5, 0.0]}, "sequence 1.5"),
    ],
)
def test_a_damaged_lifecycle_snapshot_is_not_loaded_and_says_why(state, reason) -> None:
    tr = AlertTracker()
    assert tr.load("s1", {"n": [1.0, "a-1", 2, 3.0]}) == []
    problems = tr.load("s1", state)
    assert len(problems) == 1
    assert reason in problems[0]
    assert tr.dump("s1") == {}


def test_a_snapshot_round_tripped_through_json_loads_whole_numbers_too() -> None:
    tr = AlertTracker()
    tr.load("s1", {"n": [5, "a-1", 0, 3]})  # whole numbers where floats are kept
    assert tr.dump("s1") == {"n": [5.0, "a-1", 0, 3.0]}


@pytest.mark.parametrize("alert_id", ["", "x" * 81])
def test_an_alert_id_no_alert_could_carry_is_refused(alert_id: str) -> None:
    assert "alert id" in AlertTracker().load("s1", {"n": [0.0, alert_id, 0, 0.0]})[0]


def test_a_partly_damaged_snapshot_keeps_the_pairs_that_read() -> None:
    tr = AlertTracker()
    problems = tr.load("s1", {"good": [1.0, "a-1", 2, 3.0], "bad": [1.0, None, -1, 0.0]})
    assert tr.dump("s1") == {"good": [1.0, "a-1", 2, 3.0]}
    assert len(problems) == 1
    assert "'bad'" in problems[0]
    assert tr.load("s1", [1]) == ["an alert state is an object of needs, not list"]
    assert tr.dump("s1") == {}
