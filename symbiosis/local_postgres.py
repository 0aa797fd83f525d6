"""A PostgreSQL 15 cluster from Debian's packages, in a project-owned data directory and port.

Layout under ``<stack_dir>/postgres``: ``data/`` (initdb once), ``run/`` (socket directory),
``postgres.log``. As root, the server runs as the ``postgres`` system user (PostgreSQL refuses
to run as root) and the package is installed with apt when missing.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from pathlib import Path

import psycopg
import structlog

from domain.errors import StackError
from runtime.waiting import tail, wait_until
from symbiosis.procs import apt_install, read_pid
from symbiosis.stack_settings import StackSettings

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 60.0
SERVER_USER = "postgres"


def _is_root() -> bool:
    return os.geteuid() == 0


def _traversable(path: Path) -> bool:
    """Whether every existing parent of ``path`` lets other users (the server user) through."""
    return all(not p.exists() or os.stat(p).st_mode & 0o001 for p in path.parents)


def _server_home(stack_dir: Path) -> Path:
    """Where the cluster lives: ``<stack_dir>/postgres``, or the server user's home.

    As root, when the server user cannot reach ``<stack_dir>`` (e.g. a project under a private
    ``mktemp -d`` directory), the cluster goes under that user's own home, in a folder named
    after the project path, so each project keeps its own.
    """
    home = stack_dir / "postgres"
    if not _is_root() or _traversable(home):
        return home
    try:
        server_home = Path(pwd.getpwnam(SERVER_USER).pw_dir)
    except KeyError:  # package not installed yet: install() creates the user; keep the default
        return home
    digest = hashlib.sha256(str(stack_dir.resolve()).encode()).hexdigest()[:12]
    return server_home / f"symbiosis-{digest}"


class LocalPostgres:
    """Install, initialise, start, stop and inspect the project's PostgreSQL cluster."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.bin = settings.postgres_bin

    @property
    def home(self) -> Path:
        """The cluster's folder (decided when asked: the server user may be new)."""
        return _server_home(self.settings.stack_dir)

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.home / "data"

    @property
    def run_dir(self) -> Path:
        """The socket directory."""
        return self.home / "run"

    @property
    def log_file(self) -> Path:
        """The server log."""
        return self.home / "postgres.log"

    @property
    def admin_url(self) -> str:
        """Connection string of the maintenance database ``postgres``."""
        return f"postgresql://postgres@127.0.0.1:{self.settings.postgres_port}/postgres"

    @property
    def url(self) -> str:
        """Connection string of the project's database."""
        return (
            f"postgresql://postgres@127.0.0.1:{self.settings.postgres_port}/"
            f"{self.settings.database_name}"
        )

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        return ["runuser", "-u", SERVER_USER, "--", *cmd] if _is_root() else cmd

    def _run(self, cmd: list[str], what: str) -> str:
        done = subprocess.run(
            self._as_server_user(cmd), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise StackError(f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def install(self) -> None:
        """Install PostgreSQL 15 from Debian's packages when its server binaries are missing.

        Raises:
            StackError: binaries missing and we are not root, or apt failed.
        """
        if not (self.bin / "postgres").exists():
            log.info("postgres.install", package="postgresql-15")
        apt_install("postgresql-15", binary=self.bin / "postgres", setting="SYMBIOSIS_POSTGRES_BIN")

    def timescaledb_available(self) -> bool:
        """Whether the TimescaleDB extension is installed for this server."""
        try:
            share = subprocess.run(
                [str(self.bin / "pg_config"), "--sharedir"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            share = "/usr/share/postgresql/15"
        return Path(share, "extension", "timescaledb.control").exists()

    def _prepare_dirs(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(exist_ok=True)
        self.log_file.touch(exist_ok=True)
        if _is_root():
            user = pwd.getpwnam(SERVER_USER)
            for path in (self.home, self.run_dir, self.log_file):
                os.chown(path, user.pw_uid, user.pw_gid)
            if self.data.exists():
                os.chown(self.data, user.pw_uid, user.pw_gid)
            if not _traversable(self.home):  # _server_home chose a reachable place
                raise StackError(
                    f"{self.home} is not reachable by the '{SERVER_USER}' user; "
                    "set SYMBIOSIS_STACK_DIR to a directory it can reach"
                )

    def _initdb(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        log.info("postgres.initdb", data=str(self.data))
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--locale=C.UTF-8"],
            "initdb",
        )  # fmt: skip

    def pid(self) -> int | None:
        """Pid of the postmaster of our data directory, if running."""
        return read_pid(self.data / "postmaster.pid")

    def _accepts_query(self, url: str) -> bool:
        try:
            with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def ready(self) -> bool:
        """Whether the project's database accepts a query."""
        return self._accepts_query(self.url)

    def up(self) -> None:
        """Install if needed, initdb once, start on the project port, create the database.

        Idempotent: a running cluster of ours is left alone.

        Raises:
            StackError: install/start failed or the database did not accept a query in time
                (the message holds the tail of the server log).
        """
        self.install()
        self._prepare_dirs()
        self._initdb()
        if self.pid() is None:
            if self._accepts_query(self.admin_url):
                raise StackError(
                    f"another server already listens on port {self.settings.postgres_port}; "
                    "stop it or set SYMBIOSIS_POSTGRES_PORT"
                )
            options = [
                f"-p {self.settings.postgres_port}",
                f"-k {self.run_dir}",
                "-c listen_addresses=127.0.0.1",
                "-c shared_buffers=256MB",
                "-c max_wal_size=2GB",
                "-c max_connections=200",
            ]
            if self.timescaledb_available():
                options.append("-c shared_preload_libraries=timescaledb")
            self._run(
                [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", " ".join(options),
                 "-l", str(self.log_file), "-w", "-t", str(int(READY_TIMEOUT_S)), "start"],
                "pg_ctl start",
            )  # fmt: skip
            log.info("postgres.started", port=self.settings.postgres_port)
        wait_until(
            lambda: self._accepts_query(self.admin_url),
            timeout_s=READY_TIMEOUT_S,
            what="PostgreSQL",
            log=self.log_file,
        )
        self.create_database(self.settings.database_name)
        wait_until(self.ready, timeout_s=READY_TIMEOUT_S, what="PostgreSQL", log=self.log_file)

    def create_database(self, name: str) -> None:
        """Create database ``name`` unless it exists, with TimescaleDB when available."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(
                    psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name))
                )
        if self.timescaledb_available():
            url = self.admin_url.rsplit("/", 1)[0] + f"/{name}"
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")

    def down(self) -> bool:
        """Stop our cluster (fast shutdown); returns whether it was running."""
        return self._stop("fast")

    def crash(self) -> bool:
        """Stop our cluster in immediate mode, as a crash would; returns whether it ran.

        The next start recovers from the WAL. For fault drills.
        """
        return self._stop("immediate")

    def _stop(self, mode: str) -> bool:
        if self.pid() is None:
            return False
        self._run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
            f"pg_ctl stop -m {mode}",
        )
        return True

    def status(self) -> dict[str, object]:
        """Running state, pid, port, readiness, and whether TimescaleDB is available/enabled."""
        pid = self.pid()
        ready = pid is not None and self.ready()
        enabled = False
        if ready:
            with psycopg.connect(self.url, autocommit=True) as conn:
                enabled = (
                    conn.execute(
                        "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
                    ).fetchone()
                    is not None
                )
        return {
            "service": "postgresql",
            "running": pid is not None,
            "pid": pid,
            "address": f"127.0.0.1:{self.settings.postgres_port}",
            "ready": ready,
            "version": "15",
            "timescaledb": "enabled"
            if enabled
            else (
                "available"
                if self.timescaledb_available()
                else "not installed (plain PostgreSQL path)"
            ),
            "log": str(self.log_file),
            "tail": None if ready or pid is None else tail(self.log_file, 5),
        }
