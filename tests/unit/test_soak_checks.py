"""The soak's schedule, its memory verdict and its pauses do what bench/soak.py says."""

from __future__ import annotations

import runpy
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SOAK: dict[str, Any] = runpy.run_path(str(BENCH / "soak.py"), run_name="imported")


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(0, (0, "normal")), (59.9, (0, "normal")), (60, (0, "kafka slow")),
     (125, (0, "kafka stopped")), (150, (0, "normal")), (180, (0, "postgres slow")),
     (250, (0, "postgres stopped")), (299, (0, "normal")), (300, (1, "normal")),
     (661, (2, "kafka slow"))],
)  # fmt: skip
def test_the_cycle_repeats_every_five_minutes(elapsed: float, expected: tuple[int, str]) -> None:
    assert SOAK["phase_at"](elapsed) == expected


def test_a_scaled_cycle_is_shorter() -> None:
    assert SOAK["phase_at"](12.5, 0.2) == (0, "kafka slow")
    assert SOAK["phase_at"](60.0, 0.2) == (1, "normal")


def test_memory_is_flat_only_when_the_last_cycle_needs_no_more() -> None:
    flat = SOAK["rss_flat"]
    assert [flat(300.0, 300.0), flat(300.0, 360.0), flat(50.0, 80.0)] == [True] * 3
    assert [flat(300.0, 400.0), flat(300.0, 700.0)] == [False] * 2


def _stopped(pid: int) -> bool:
    """Whether ``pid`` is stopped, once a signal sent to it has been delivered (1 s at most)."""

    def state() -> str:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    first = state()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and state() == first:
        time.sleep(0.01)
    return state() == "T"


def test_a_stopped_phase_pauses_the_process_and_normal_resumes_it() -> None:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        faults = SOAK["Faults"]([proc.pid], 0)
        faults.set("kafka stopped", 0)
        assert _stopped(proc.pid)
        faults.set("kafka slow", 1)  # the running half of a slow second
        assert not _stopped(proc.pid)
        faults.set("kafka slow", 2)
        assert _stopped(proc.pid)
        faults.set("normal", 3)
        assert not _stopped(proc.pid)
        assert faults.paused == []
    finally:
        proc.kill()
        proc.wait()
