"""A benchmark's own run on the local stack: its database, app id and topics, apart from others.

The drills, the soak and the pipeline benchmark each start the stack and work in a place of
their own on it, so a run never reads or deletes another run's (or the test suite's) data.
"""

from __future__ import annotations

import uuid
from typing import Any

from runtime.settings import Topics
from symbiosis.local_postgres import LocalPostgres
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


def main() -> None:
    """``python bench/scratch.py NAME``: start the stack and print where a run called NAME
    would work (its database, app id and topic prefix)."""
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else "scratch"
    run = scratch_run(StackSettings(), name)
    print(f"database {run.database_url}\napp id   {run.app_id}\ntopics   {run.topics.readings}")


if __name__ == "__main__":
    main()
