"""The stall watch: when a worker that holds waiting records and makes no progress exits."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from streams.stall import EXIT_RESTART, Look, StallWatch, look_at, watch
from symbiosis.pipeline import MAX_RESTARTS, Child, LocalPipeline, PipelineError
from symbiosis.stack_settings import StackSettings


def test_waiting_counts_the_held_partitions_beyond_a_commit_marker() -> None:
    ends, committed = {0: 100, 1: 50, 2: 7}, {0: 40, 1: 49}
    assert look_at(ends, committed, {0}).waiting == {0: 59}  # 60 behind, one may be a marker
    assert look_at(ends, committed, {1}).waiting == {1: 0}  # only a marker's offset: idle
    assert look_at(ends, committed, {2}).waiting == {2: 6}  # nothing committed: from offset 0


def test_records_deleted_by_retention_wait_for_nobody() -> None:
    seen = look_at({0: 500}, {}, {0}, starts={0: 500})
    assert seen.waiting == {0: 0}
    assert look_at({0: 500}, {0: 100}, {0}, starts={0: 450}).waiting == {0: 49}


def test_a_worker_never_assigned_is_judged_by_every_partition() -> None:
    assert look_at({0: 10, 1: 10}, {0: 10}, None).waiting == {0: 0, 1: 9}


def test_a_worker_assigned_no_partition_waits_for_nothing() -> None:
    # more workers than partitions: the extra one must not answer for the others' partitions
    assert look_at({0: 10, 1: 10}, {}, set()).waiting == {}


def _look(waiting: dict[int, int], done: dict[int, int], restored: int = 0) -> Look:
    return Look(waiting, done, restored)


def test_stalled_after_waiting_without_progress_for_stall_s() -> None:
    w = StallWatch(60.0)
    assert not w.stalled(0.0, _look({0: 500}, {0: 7}))
    assert not w.stalled(59.0, _look({0: 900}, {0: 7}))  # more waiting is no progress
    assert w.stalled(60.0, _look({0: 900}, {0: 7}))


def test_one_stuck_partition_is_not_hidden_by_the_others_commits() -> None:
    w = StallWatch(60.0)
    for t in range(0, 61, 10):
        stalled = w.stalled(float(t), _look({0: 500, 1: 20}, {0: 7, 1: 1_000 + t}))
    assert stalled


@pytest.mark.parametrize(
    "interruption",
    [_look({0: 500}, {0: 8}), _look({0: 0}, {0: 7}), _look({0: 500}, {0: 7}, 3), None],
    ids=["progress", "nothing waiting", "tables restored", "Kafka did not answer"],
)
def test_the_clock_starts_again(interruption: Look | None) -> None:
    w = StallWatch(60.0)
    stuck = _look({0: 500}, {0: 7})
    w.observe(0.0, stuck)
    w.observe(50.0, interruption)
    assert w.observe(100.0, stuck) < 60.0
    assert not w.stalled(100.0, stuck)


def test_an_idle_worker_is_never_stalled() -> None:
    w = StallWatch(1.0)
    assert not any(w.stalled(float(t), _look({0: 0}, {0: 5})) for t in range(1_000))


def test_the_watch_thread_calls_on_stall_once_and_ends() -> None:
    ticks = itertools.count(0.0, 10.0)
    called: list[float] = []
    done = threading.Event()

    def on_stall(waited: float) -> None:
        called.append(waited)
        done.set()

    thread = watch(
        30.0, lambda: _look({0: 5}, {0: 1}), on_stall, every_s=0.001, clock=ticks.__next__
    )
    assert done.wait(5.0)
    thread.join(5.0)
    assert not thread.is_alive()
    assert called == [30.0]


def test_a_watch_of_zero_seconds_looks_and_judges_nothing() -> None:
    ticks = itertools.count(0.0, 1_000.0)
    looked = threading.Event()
    called: list[float] = []
    stop = threading.Event()

    def look() -> Look:
        looked.set()
        return _look({0: 5}, {0: 1})

    thread = watch(0.0, look, called.append, every_s=0.001, stop=stop, clock=ticks.__next__)
    assert looked.wait(5.0)
    threading.Event().wait(0.05)
    stop.set()
    thread.join(5.0)
    assert called == []


def test_a_look_that_raises_is_never_a_stall() -> None:
    def look() -> Look | None:
        raise OSError("Kafka refused the connection")

    ticks = itertools.count(0.0, 100.0)
    called: list[float] = []
    stop = threading.Event()
    thread = watch(30.0, look, called.append, every_s=0.001, stop=stop, clock=ticks.__next__)
    threading.Event().wait(0.05)
    stop.set()
    thread.join(5.0)
    assert called == []


def _child(tmp_path: Path, code: int) -> Child:
    proc = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    proc.wait(30)
    log = tmp_path / "streams.log"
    log.write_text("the worker's last words\n")
    return Child("streams", "streams", proc, log)


def test_the_local_pipeline_starts_again_a_child_that_asks_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = LocalPipeline(StackSettings(stack_dir=tmp_path))
    pipeline.children["streams"] = _child(tmp_path, EXIT_RESTART)
    restarted: list[str] = []
    monkeypatch.setattr(pipeline, "restart", restarted.append)
    pipeline.check()
    assert restarted == ["streams"]


def test_the_local_pipeline_gives_up_on_a_child_that_keeps_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = LocalPipeline(StackSettings(stack_dir=tmp_path))
    pipeline.children["streams"] = _child(tmp_path, EXIT_RESTART)
    monkeypatch.setattr(pipeline, "restart", lambda name: None)  # it exits 75 again at once
    for _ in range(MAX_RESTARTS):
        pipeline.check()
    with pytest.raises(PipelineError, match="last words"):
        pipeline.check()
    assert pipeline.restarts == {"streams": MAX_RESTARTS}


def test_symbiosis_up_restarts_nothing_itself(tmp_path: Path) -> None:
    pipeline = LocalPipeline(StackSettings(stack_dir=tmp_path))
    pipeline.children["streams"] = _child(tmp_path, EXIT_RESTART)
    with pytest.raises(PipelineError, match="code 75"):
        pipeline.check(restart=False)


def test_the_local_pipeline_raises_for_a_child_that_crashed(tmp_path: Path) -> None:
    pipeline = LocalPipeline(StackSettings(stack_dir=tmp_path))
    pipeline.children["streams"] = _child(tmp_path, 1)
    with pytest.raises(PipelineError, match="last words"):
        pipeline.check()
