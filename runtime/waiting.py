"""Waiting for something to become true, with a deadline and a useful error."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from domain.errors import SymbiosisError, UnavailableError


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(
    check: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    log: Path | None = None,
    error: type[SymbiosisError] = UnavailableError,
) -> None:
    """Poll ``check`` until it returns true.

    Raises:
        SymbiosisError: ``error`` (default :class:`UnavailableError`) once ``timeout_s``
            passed; the message carries the log's tail when ``log`` is given.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.1
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    detail = f"\n--- last lines of {log} ---\n{tail(log)}" if log is not None else ""
    raise error(f"{what} not ready after {timeout_s:.0f} s{detail}")
