"""A restarted worker waits for its dead self to leave the group before joining."""

from __future__ import annotations

import pytest

from topics import kafka_admin


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


def settle(monkeypatch: pytest.MonkeyPatch, states: list[str | None]) -> float:
    clock = Clock()
    asked = iter(states)
    last: list[str | None] = [None]

    def state(*_: object) -> str | None:
        last[0] = next(asked, last[0])
        return last[0]

    monkeypatch.setattr(kafka_admin, "group_state", state)
    return kafka_admin.wait_members_departed("x:1", "g", 10.0, clock=clock.now, pause=clock.sleep)


def test_an_empty_or_unknown_group_is_joined_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settle(monkeypatch, [None]) == 0.0
    assert settle(monkeypatch, ["Empty"]) == 0.0


def test_it_waits_until_the_dead_member_has_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    waited = settle(monkeypatch, ["Stable"] * 8 + ["PreparingRebalance", "Empty"])
    assert waited == 4.5  # nine pauses of 0.5 s


def test_live_members_hold_it_one_session_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settle(monkeypatch, ["Stable"]) == pytest.approx(11.0)
