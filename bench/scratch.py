"""A benchmark's own run on the local stack: its database, app id and topics, apart from others.

The drills, the soak and the pipeline benchmark each start the stack and work in a place of
their own on it, so a run never reads or deletes another run's (or the test suite's) data.
"""

from __future__ import annotations

import sys
import time
import uuid
from typing import Any

import httpx
import psycopg
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from runtime.settings import Topics
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack import stack_up
from symbiosis.stack_settings import StackSettings


def scratch_run(
    base: StackSettings, name: str, *, topics: str | None = None, **update: Any
) -> StackSettings:
    """Start the stack as ``base`` says and give a run called ``name`` a place of its own.

    The run's database is ``symbiosis_<name>`` (created when missing; the pipeline's reset
    migrates and empties it), its app id ``<name>-<6 random hex>`` (its consumer groups and
    faust's changelogs), its topics ``<topics>.<topic>`` (default: the app id, so they are new
    each run). ``update``: other settings of the run (ports, windows, partitions...).

    Raises:
        StackError: a service of the stack did not start.
    """
    stack_up(base)
    LocalPostgres(base).create_database(f"symbiosis_{name}")
    app_id = f"{name}-{uuid.uuid4().hex[:6]}"
    prefix = topics or app_id
    return base.model_copy(update={
        "app_id": app_id,
        "database_url": base.database_url.rsplit("/", 1)[0] + f"/symbiosis_{name}",
        "topics": Topics(**{n: f"{prefix}.{n}" for n in Topics.model_fields}),
        **update,
    })  # fmt: skip


def wait_api(api_url: str, pipeline: LocalPipeline, timeout_s: float = 120.0) -> None:
    """Block until the run's API answers ``/healthz``.

    Raises:
        PipelineError: one of the pipeline's processes died meanwhile.
        SystemExit: no answer within ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pipeline.check()
        try:
            if httpx.get(f"{api_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the API did not answer in {timeout_s:.0f} s")


def delete_run_topics(run: StackSettings) -> None:
    """Drop the run's topics and faust's changelogs (best effort: a broker that is down
    keeps them, and says so on stderr)."""
    prefix = run.app_id
    try:
        admin = KafkaAdminClient(bootstrap_servers=run.kafka_bootstrap, request_timeout_ms=20_000)
        try:
            admin.delete_topics([t for t in admin.list_topics() if t.startswith(prefix)])
        finally:
            admin.close()
    except KafkaError as e:
        print(f"topics of {prefix} not deleted: {e}", file=sys.stderr)


def drop_run_database(run: StackSettings) -> None:
    """Drop the run's database (its connections closed first)."""
    name = run.database_url.rsplit("/", 1)[1]
    admin = run.database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    """``python bench/scratch.py NAME``: start the stack and print where a run called NAME
    would work (its database, app id and topic prefix)."""
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else "scratch"
    run = scratch_run(StackSettings(), name)
    print(f"database {run.database_url}\napp id   {run.app_id}\ntopics   {run.topics.readings}")


if __name__ == "__main__":
    main()
