"""Versioned SQL migrations: ``sinks/migrations/NNN_name.sql``, applied once each, in order.

Applied versions are recorded in ``schema_migrations``; each migration runs in its own
transaction under an advisory lock, so concurrent sinks starting together apply it once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg
import structlog

from domain.errors import PipelineError

log = structlog.get_logger(__name__)

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x5359_4D42  # "SYMB"


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The bundled migrations, ordered by version.

    Raises:
        PipelineError: two files share a version.
    """
    found: dict[int, Migration] = {}
    for entry in (resources.files("sinks") / "migrations").iterdir():
        m = _NAME.match(entry.name)
        if m is None:
            continue
        version = int(m.group(1))
        if version in found:
            raise PipelineError(f"two migrations with version {version}")
        found[version] = Migration(version, m.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(conninfo: str) -> list[int]:
    """Apply pending migrations; returns the versions applied now.

    Raises:
        PipelineError: a migration failed (it is rolled back; earlier ones stay applied).
    """
    applied_now: list[int] = []
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            for mig in migrations():
                if mig.version in done:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(mig.sql.encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                            (mig.version, mig.name),
                        )
                except psycopg.Error as e:
                    raise PipelineError(
                        f"migration {mig.version:03d}_{mig.name} failed: {e}"
                    ) from e
                log.info("migration.applied", version=mig.version, name=mig.name)
                applied_now.append(mig.version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now
