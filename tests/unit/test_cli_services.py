"""``symbiosis up | down | worker | sink | delivery``: help, and the background bookkeeping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from symbiosis import background, services_cmd
from symbiosis.cli import app
from symbiosis.procs import alive

runner = CliRunner()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        ("up", "dashboard"),
        ("down", "symbiosis up"),
        ("worker", "stream worker"),
        ("sink", "PostgreSQL sink"),
        ("delivery", "webhook delivery"),
    ],
)
def test_each_process_command_explains_itself(command: str, words: str) -> None:
    done = runner.invoke(app, [command, "--help"])
    assert done.exit_code == 0, done.output
    assert words in " ".join(done.output.split())


def test_up_refuses_a_park_and_no_park_together(tmp_path: Path) -> None:
    park = tmp_path / "park.yaml"
    park.write_text("park: x\n")
    done = runner.invoke(app, ["up", "--no-stack", "--park", str(park), "--no-park"])
    assert done.exit_code == 2


def test_up_refuses_more_workers_than_partitions(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_start(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("the pipeline was started")

    monkeypatch.setattr(services_cmd, "_start_pipeline", must_not_start)
    monkeypatch.setattr(services_cmd, "_with_webhook_secret", must_not_start)
    monkeypatch.setenv("SYMBIOSIS_PARTITIONS", "4")
    done = runner.invoke(app, ["up", "--no-stack", "--no-park", "--workers", "5"])
    assert done.exit_code == 2
    assert "error: --workers 5: more than the 4 partitions" in " ".join(done.output.split())
    none = runner.invoke(app, ["up", "--no-stack", "--no-park", "--workers", "0"])
    assert none.exit_code == 2
    assert "Invalid value for '--workers'" in " ".join(none.output.split())


def test_up_starts_extra_workers_after_the_pipeline() -> None:
    wanted = services_cmd._processes(None, simulate=False, mqtt=True, workers=3)
    assert [(name, role) for name, role, _ in wanted] == [
        ("streams", "streams"), ("sink", "sink"), ("delivery", "delivery"), ("api", "api"),
        ("streams-1", "streams"), ("streams-2", "streams"), ("mqtt-bridge", "mqtt-bridge"),
    ]  # fmt: skip
    one = services_cmd._processes(None, simulate=False, mqtt=False, workers=1)
    assert [name for name, _, _ in one] == ["streams", "sink", "delivery", "api"]


def test_each_process_of_up_has_its_own_metrics_slot() -> None:
    # fixed by name, not by start order: a process a later `up` starts takes no running one's
    names = [n for n, _, _ in services_cmd._processes(None, simulate=True, mqtt=True, workers=4)]
    slots = [services_cmd._metrics_slot(n) for n in names]
    assert len(set(slots)) == len(slots)
    assert slots[:4] == [1, 2, 3, 4]  # streams, sink, delivery, api: as documented
    assert services_cmd._metrics_slot("streams-1") == services_cmd._metrics_slot("simulator") + 1


def test_pid_files_track_live_processes_and_stop_them(tmp_path: Path) -> None:
    folder = tmp_path / "run" / "app"
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    background.record(folder, "sink", sleeper.pid)
    background.record(folder, "api", gone.pid)  # exited: a stale pid file
    assert background.running(folder) == {"sink": sleeper.pid}
    assert not (folder / "api.pid").exists()  # cleaned up on the look
    assert background.stop_all(folder, timeout_s=10) == ["sink"]
    sleeper.wait(timeout=10)
    assert not alive(sleeper.pid)
    assert background.running(folder) == {}
