"""Running the pipeline's processes locally: the stream worker(s) and the sink as children.

Used by ``symbiosis demo`` and by the failure tests (kill a worker, restart the database) so
both drive exactly the same processes. Each child gets the parent's :class:`StackSettings` through
its environment, logs to ``<stack_dir>/logs/<app_id>/<name>.log``, and runs in its own process
group so it can be stopped (or killed) alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import psycopg
import structlog

from domain.errors import PipelineError
from ingest.registry_publisher import RegistryPublisher
from runtime.waiting import tail
from schemas.registry import Park
from sinks.migrate import migrate
from streams.app import changelog_configs
from streams.stall import EXIT_RESTART
from symbiosis.procs import terminate
from symbiosis.stack_settings import StackSettings
from topics.kafka_admin import group_lag, recreate_topics

log = structlog.get_logger(__name__)

CATCH_UP_TIMEOUT_S = 120.0

ROLES: dict[str, list[str]] = {
    "streams": ["streams"],
    "sink": ["sinks"],
    "delivery": ["delivery"],
    "api": ["ingest.api"],
    "mqtt-bridge": ["ingest.mqtt_service"],
    "simulator": ["symbiosis.simulate_process"],
}
"""Child role -> ``python -m`` arguments."""

MAX_RESTARTS: Final = 3
"""Restarts of one child asked for by its exit code before :meth:`LocalPipeline.check` gives
up and raises: a child that keeps asking is broken, not stalled."""


@dataclass
class Child:
    """A pipeline process started by :class:`LocalPipeline`."""

    name: str
    role: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False
    """Killed on purpose (:meth:`LocalPipeline.kill`): its death is not a failure."""

    def check(self) -> None:
        """Raise if the process has died (unless it was killed on purpose).

        Raises:
            PipelineError: it exited; the message holds its log's tail.
        """
        if not self.killed and self.proc.poll() is not None:
            raise PipelineError(
                f"{self.name} exited with code {self.proc.returncode}\n"
                f"--- last lines of {self.log_path} ---\n{tail(self.log_path)}"
            )


@dataclass
class LocalPipeline:
    """The pipeline's topics, tables and child processes for one ``app_id``."""

    settings: StackSettings
    children: dict[str, Child] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    """Child name -> times :meth:`check` started it again because it asked to be."""

    def metrics_port(self, name: str) -> int:
        """The metrics port of child ``name``; 0 when metrics are off.

        Children get ``metrics_port + 1, + 2, ...`` in start order, kept across restarts.
        """
        if self.settings.metrics_port <= 0:
            return 0
        if name not in self.ports:
            self.ports[name] = self.settings.metrics_port + 1 + len(self.ports)
        return self.ports[name]

    @property
    def logs(self) -> Path:
        """Directory of the children's logs."""
        return self.settings.stack_dir / "logs" / self.settings.app_id

    def reset(self) -> None:
        """Fresh topics (incl. registry and changelogs), no consumer offsets, empty tables."""
        s = self.settings
        recreate_topics(
            s.kafka_bootstrap,
            {**s.topics.configs(), **changelog_configs(s)},
            s.partitions,
            groups=[s.sink_group, s.streams_group, f"{s.app_id}-delivery"],
            replication_factor=s.kafka_replication_factor,
        )
        migrate(s.database_url)
        with psycopg.connect(s.database_url, autocommit=True) as conn:
            conn.execute("TRUNCATE readings, ledger, alerts, offers")

    def publish(self, park: Park) -> int:
        """Publish a park's sites, needs and exchanges to the registry topics."""
        publisher = RegistryPublisher(self.settings.kafka_bootstrap, self.settings.topics)
        try:
            records = publisher.park(park)
            publisher.flush()
        finally:
            publisher.close()
        return records

    def start(
        self,
        role: str,
        name: str | None = None,
        *,
        wrap: list[str] | None = None,
        args: list[str] | None = None,
    ) -> Child:
        """Start a child of ``role`` (a key of :data:`ROLES`) under ``name`` (default: role).

        ``wrap`` is a command the child runs under (e.g. a profiler: ``py-spy record ... --``);
        ``args`` are added after the role's module.
        """
        name = name or role
        self.logs.mkdir(parents=True, exist_ok=True)
        path = self.logs / f"{name}.log"
        with path.open("ab") as out:
            proc = subprocess.Popen(
                [*(wrap or []), sys.executable, "-m", *ROLES[role], *(args or [])],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={
                    **os.environ,
                    **self.settings.child_env(),
                    "SYMBIOSIS_METRICS_PORT": str(self.metrics_port(name)),
                },
            )
        child = self.children[name] = Child(name, role, proc, path)
        log.info("pipeline.started", child=name, pid=proc.pid)
        return child

    def kill(self, name: str) -> None:
        """``kill -9`` a child (and its process group), as a crash would."""
        child = self.children[name]
        child.killed = True
        os.killpg(child.proc.pid, signal.SIGKILL)
        child.proc.wait(timeout=30)
        log.info("pipeline.killed", child=name)

    def restart(self, name: str) -> Child:
        """Start a child again with the same role and name (after :meth:`kill` or a crash).

        At once: a stream worker itself waits for its dead self to leave the group before it
        joins (``streams/run.py``).
        """
        return self.start(self.children[name].role, name)

    def check(self, *, restart: bool = True) -> None:
        """Raise if any child has died; start again one that exited asking for it.

        With ``restart``, a child that exits with :data:`~streams.stall.EXIT_RESTART` (a
        stalled stream worker, or one that left a gap for a replay) is started again at once,
        as Kubernetes or compose's ``restart:`` would (logged as ``pipeline.restarted`` and
        counted in :attr:`restarts`), up to :data:`MAX_RESTARTS` times per child.

        Raises:
            PipelineError: a child exited otherwise, or asked for one restart too many (the
                message holds its log's tail).
        """
        for name, child in list(self.children.items()):
            asked = not child.killed and child.proc.poll() == EXIT_RESTART
            times = self.restarts.get(name, 0) + 1
            if restart and asked and times <= MAX_RESTARTS:
                self.restarts[name] = times
                log.warning("pipeline.restarted", child=name, code=EXIT_RESTART, times=times)
                self.restart(name)
                continue
            child.check()

    def stop(self) -> None:
        """Stop every child still running (SIGTERM, then SIGKILL after 30 s)."""
        for child in self.children.values():
            if child.proc.poll() is None:
                terminate(child.proc.pid, timeout_s=30)

    def lag(self) -> tuple[int, int]:
        """Uncommitted records of the stream workers' and the sink's consumer groups."""
        s, t = self.settings, self.settings.topics
        return (
            group_lag(s.kafka_bootstrap, s.streams_group, [t.readings]),
            group_lag(s.kafka_bootstrap, s.sink_group, [t.readings, t.ledger, t.alerts]),
        )

    def stored_readings(self) -> int:
        """Readings in the database."""
        with psycopg.connect(self.settings.database_url) as conn:
            row = conn.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0]) if row else 0

    def wait_caught_up(
        self,
        produced: int,
        timeout_s: float = CATCH_UP_TIMEOUT_S,
        *,
        restart_stalled: str | tuple[str, ...] | None = None,
        stall_s: float = 90.0,
    ) -> float:
        """Block until both groups have no lag and ``produced`` readings are stored.

        Args:
            produced: readings that must be stored.
            timeout_s: overall limit.
            restart_stalled: the stream worker(s) to restart, as a liveness probe would, when
                the workers' lag stays above zero without falling for ``stall_s`` seconds
                (faust-streaming 0.15 can stall restoring its tables; see docs/operations.md).
            stall_s: how long the lag may stay flat before that restart.

        Returns:
            Seconds it took.

        Raises:
            PipelineError: a child died, or the pipeline did not catch up in time.
        """
        started = time.monotonic()
        deadline = started + timeout_s
        calm = 0
        streams_lag = sink_lag = stored = -1
        best_lag, best_at = None, started
        while time.monotonic() < deadline:
            self.check()
            streams_lag, sink_lag = self.lag()
            if best_lag is None or streams_lag < best_lag:
                best_lag, best_at = streams_lag, time.monotonic()
            elif restart_stalled and streams_lag > 0 and time.monotonic() - best_at > stall_s:
                names = (restart_stalled,) if isinstance(restart_stalled, str) else restart_stalled
                for name in names:
                    log.warning("pipeline.worker_stalled", child=name, lag=streams_lag)
                    self.kill(name)
                    self.restart(name)
                best_lag, best_at = None, time.monotonic()
            stored = self.stored_readings()
            calm = calm + 1 if (streams_lag, sink_lag) == (0, 0) and stored >= produced else 0
            if calm >= 2:
                return time.monotonic() - started
            time.sleep(0.5)
        raise PipelineError(
            f"pipeline did not catch up in {timeout_s:.0f} s "
            f"(streams lag {streams_lag}, sink lag {sink_lag}, stored {stored}/{produced})"
        )
