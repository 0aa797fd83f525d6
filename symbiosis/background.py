"""The local pipeline left running in the background by ``symbiosis up``: pid files.

One file per process, ``<stack_dir>/run/<app_id>/<name>.pid``, written when the process is
started and removed when ``symbiosis down`` stops it. A pid file whose process is gone (a
crash, a reboot) counts as not running and is cleaned up on the next look.
"""

from __future__ import annotations

from pathlib import Path

from symbiosis.procs import read_pid, terminate
from symbiosis.stack_settings import StackSettings


def run_dir(settings: StackSettings) -> Path:
    """Where the pid files of this ``app_id``'s background processes live."""
    return settings.stack_dir / "run" / settings.app_id


def record(folder: Path, name: str, pid: int) -> None:
    """Write ``name``'s pid file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pid").write_text(f"{pid}\n")


def running(folder: Path) -> dict[str, int]:
    """``name -> pid`` of the recorded processes still alive (stale pid files are removed)."""
    alive: dict[str, int] = {}
    for path in sorted(folder.glob("*.pid")):
        pid = read_pid(path)
        if pid is None:
            path.unlink(missing_ok=True)
        else:
            alive[path.stem] = pid
    return alive


def stop_all(folder: Path, *, timeout_s: float = 30.0) -> list[str]:
    """Stop every recorded process (SIGTERM, SIGKILL after ``timeout_s``); returns their names.

    Raises:
        StackError: a process survived SIGKILL.
    """
    stopped = []
    for name, pid in running(folder).items():
        terminate(pid, timeout_s=timeout_s)
        (folder / f"{name}.pid").unlink(missing_ok=True)
        stopped.append(name)
    return stopped
