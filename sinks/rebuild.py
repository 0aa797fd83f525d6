"""Recreate the database from the Kafka log: ``symbiosis db rebuild``.

The retained topics (readings, ledger, alerts, offers) are the source of truth; the database
is a view of them. :func:`rebuild` replays them from their first retained offset into another
database (created and migrated when missing) with the sink's own write path, so the rows are
the ones the live sink stored: the same idempotent keys, the same refusals.

Guarantees: when it returns, every record that was in the topics when it started is stored in
the target database (records published since are stored too, up to where it stopped); a
record already there is skipped, so a rebuild interrupted and run again only completes it.
Its consumer group (``<app_id>-rebuild-<random>``) is deleted at the end; the live sink's
group is never touched. Records the sink refuses are put on the rejected topic again.

The topics keep what their retention keeps (the readings topic: 2 days in ``deploy/``): a
rebuild recreates what is retained, so keep the retention as long as you may need to rebuild.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping

import psycopg
import structlog
from kafka import TopicPartition
from psycopg import sql

from domain.errors import PipelineError, UnavailableError
from runtime.settings import Settings
from sinks.consumer import Sink, SinkStats
from topics.kafka_admin import delete_group, end_offsets, short_of
from topics.kafka_security import kafka_client_options

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]
"""Told ``(records done, records to do)`` as the replay moves."""


def rebuild(
    settings: Settings,
    target_url: str,
    *,
    progress: Progress = lambda done, total: None,
    timeout_s: float = 3600.0,
) -> SinkStats:
    """Replay the retained topics into the database at ``target_url``; returns the totals.

    Raises:
        UnavailableError: Kafka or the target database cannot be reached.
        PipelineError: the replay did not reach the topics' end in ``timeout_s``, or the
            replaying sink failed (the rows stored so far stay; run it again to complete).
    """
    ensure_database(target_url)
    t = settings.topics
    options = kafka_client_options(settings)
    targets = end_offsets(settings.kafka_bootstrap, [t.readings, t.ledger, t.alerts, t.offers],
                          options)  # fmt: skip
    replay = settings.model_copy(
        update={
            "database_url": target_url,
            "app_id": f"{settings.app_id}-rebuild-{uuid.uuid4().hex[:8]}",
            "metrics_port": 0,
        }
    )
    sink = Sink(replay)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            sink.run()
        except BaseException as e:  # noqa: BLE001 - told to the caller below
            failure.append(e)

    thread = threading.Thread(target=run, name="rebuild-sink", daemon=True)
    thread.start()
    try:
        _wait_until_stored(replay, targets, thread, failure, progress, timeout_s)
    finally:
        sink.stop()
        thread.join(60)
        try:
            delete_group(replay.kafka_bootstrap, replay.sink_group, options)
        except Exception as e:  # noqa: BLE001 - an idle group only costs a line in a listing
            log.warning("rebuild.group_not_deleted", group=replay.sink_group, error=str(e)[:200])
    return sink.stats


def _wait_until_stored(
    replay: Settings,
    targets: Mapping[TopicPartition, int],
    thread: threading.Thread,
    failure: list[BaseException],
    progress: Progress,
    timeout_s: float,
) -> None:
    """Return once the replaying sink's group has committed up to ``targets``.

    Raises:
        PipelineError: the sink stopped, or ``timeout_s`` passed first.
    """
    options = kafka_client_options(replay)
    total = sum(targets.values())
    deadline = time.monotonic() + timeout_s
    while True:
        if failure or not thread.is_alive():
            raise PipelineError(f"the replaying sink stopped: {failure[:1] or 'no reason'}")
        short = short_of(replay.kafka_bootstrap, replay.sink_group, targets, options)
        progress(total - short, total)
        if short == 0:
            return
        if time.monotonic() > deadline:
            raise PipelineError(
                f"rebuild did not reach the topics' end in {timeout_s:.0f} s "
                f"({short} of {total} records to go); run it again to complete"
            )
        time.sleep(1.0)


def ensure_database(url: str) -> bool:
    """Create the database ``url`` names when it does not exist; True when it was created.

    Connects to the server's ``postgres`` database to create it (the tables come with the
    first migration, which the sink applies).

    Raises:
        UnavailableError: the server cannot be reached, or refuses to create it.
    """
    target = psycopg.conninfo.conninfo_to_dict(url)
    name = str(target.get("dbname") or "")
    if not name:
        raise UnavailableError(f"{url!r} names no database")
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is not None:
                return False
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        raise UnavailableError(f"cannot create database {name!r}: {str(e).strip()[:200]}") from e
    log.info("rebuild.database_created", database=name)
    return True
