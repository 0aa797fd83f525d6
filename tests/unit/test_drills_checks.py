"""The fault drills' verdict can fail: the alert lifecycle check catches each broken lifecycle.

``bench/drills.py`` decides whether a drill lost or broke anything; these tests feed its
lifecycle check hand-made alert histories, well-formed and not.
"""

from __future__ import annotations

import runpy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
DRILLS: dict[str, Any] = runpy.run_path(str(BENCH / "drills.py"), run_name="imported")
T = datetime(2026, 12, 4, tzinfo=UTC)


def history(*steps: tuple[str, str, int]) -> list[tuple[object, ...]]:
    """(alert id, event, sequence) -> the rows the drill reads from the alerts table."""
    return [
        (aid, "s", "n", event, f"{aid}:{seq}", T + timedelta(seconds=i))
        for i, (aid, event, seq) in enumerate(steps)
    ]


def errors(events: list[tuple[object, ...]]) -> int:
    problems: list[str] = []
    found: int = DRILLS["lifecycle_errors"](events, problems)
    assert len(problems) == found
    return found


def test_well_formed_episodes_are_no_error() -> None:
    assert errors(history(("a", "opened", 1), ("a", "updated", 2), ("a", "resolved", 3),
                          ("b", "opened", 1), ("b", "updated", 2))) == 0  # fmt: skip


def test_a_duplicate_event_is_left_to_the_duplicate_count() -> None:
    assert errors(history(("a", "opened", 1), ("a", "opened", 1), ("a", "resolved", 2))) == 0


@pytest.mark.parametrize(
    "steps",
    [
        [("a", "updated", 1)],  # no opened
        [("a", "opened", 1), ("a", "updated", 3)],  # a gap: an event lost
        [("a", "opened", 1), ("a", "resolved", 2), ("a", "updated", 3)],  # resolved, not last
        [("a", "opened", 1), ("a", "opened", 2)],  # opened twice
        [("a", "opened", 1), ("b", "opened", 1)],  # the pair opened again, a never resolved
        [("a", "opened", 1), ("b", "opened", 1), ("a", "resolved", 2)],  # b opened first
    ],
)
def test_each_broken_lifecycle_is_one_error(steps: list[tuple[str, str, int]]) -> None:
    assert errors(history(*steps)) == 1
