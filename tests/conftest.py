"""Fixtures shared by the suite.

Integration tests (marker ``integration``) use the real local stack: the ``stack`` fixture
starts Kafka and PostgreSQL (installing what is missing) and fails the test loudly if they
cannot start — there is no skip. They use their own database (``symbiosis_test``) and topics
with a unique prefix per test, so they never touch the demo's data.
"""

from __future__ import annotations

import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from domain.errors import StackError
from domain.park import bundled_park_path
from runtime.settings import Settings
from sinks.migrate import migrate
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings
from tests.helpers import isolated

TEST_DATABASE = "symbiosis_test"


TEST_NAMES = re.compile(r"test-|t-[0-9a-f]{8}-|drills-[0-9a-f]{6}[.-]")
"""Topics and groups of tests: ``isolated`` prefixes (``test-<name>-<hex>``), test apps' ids
(``t-<hex>``, ``test-...``) and the drill's (``drills-<hex>``); never the demo's
(``symbiosis...``) or other benchmarks'."""


@pytest.fixture(scope="session")
def stack() -> Iterator[Settings]:
    """Settings pointing at the running local stack and the test database.

    At the end of the session, the tests' topics and consumer groups created while it ran are
    deleted (a developer running the suite again and again otherwise grows the local broker by
    hundreds of topics a run); when the broker could not list them at the start (just
    started), every test name is deleted, leftovers of aborted sessions included. Two sessions
    on one stack are not supported (they share the test database). A failure to list or
    delete is a warning: it never fails the session.
    """
    from symbiosis.stack import stack_up

    base = StackSettings()
    try:
        stack_up(base)
        LocalPostgres(base).create_database(TEST_DATABASE)
    except StackError as e:
        pytest.fail(f"the local stack could not start: {e}", pytrace=False)
    url = base.database_url.rsplit("/", 1)[0] + f"/{TEST_DATABASE}"
    migrate(url)
    before = _test_names(base.kafka_bootstrap, quiet=True)  # a broker just started may not list
    yield base.model_copy(update={"database_url": url})
    _delete_new_test_names(base.kafka_bootstrap, before or (set(), set()))


def _test_names(bootstrap: str, *, quiet: bool = False) -> tuple[set[str], set[str]] | None:
    """The tests' topics and consumer groups on the broker now; ``None`` if it cannot say
    (with a warning unless ``quiet``)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
        try:
            topics = {t for t in admin.list_topics() if TEST_NAMES.match(t)}
            groups = {g["group_id"] for g in admin.list_groups() if TEST_NAMES.match(g["group_id"])}
        finally:
            admin.close()
    except (KafkaError, OSError) as e:
        if not quiet:
            warnings.warn(f"could not list the tests' topics and groups: {e!r}", stacklevel=1)
        return None
    return topics, groups


def _delete_new_test_names(bootstrap: str, before: tuple[set[str], set[str]]) -> None:
    """Delete the tests' topics and groups created since ``before``; warn, never raise.

    Topics go in batches; a batch that fails (e.g. a topic already deleted) is retried one
    topic at a time, so one name never keeps the others. A group that still has members is
    not deleted by the broker (left, without a warning: it holds no data).
    """
    now = _test_names(bootstrap)
    if now is None:
        return
    topics, groups = sorted(now[0] - before[0]), sorted(now[1] - before[1])
    if not topics and not groups:
        return
    failed: list[str] = []
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    except (KafkaError, OSError) as e:
        warnings.warn(f"could not delete the tests' topics and groups: {e!r}", stacklevel=1)
        return
    try:
        for i in range(0, len(topics), 100):
            batch = topics[i : i + 100]
            try:
                admin.delete_topics(batch, timeout_ms=30_000)
            except (KafkaError, OSError):
                for name in batch:
                    try:
                        admin.delete_topics([name], timeout_ms=30_000)
                    except (KafkaError, OSError):
                        failed.append(name)
        for group in groups:  # one at a time: a group whose member's session has not expired
            try:  # yet (a killed worker) is refused alone, and stays without a warning
                admin.delete_groups([group])
            except (KafkaError, OSError):
                continue
    finally:
        admin.close()
    if failed:
        shown = ", ".join(failed[:5])
        warnings.warn(f"{len(failed)} test topics not deleted: {shown}", stacklevel=1)


@pytest.fixture
def settings(stack: Settings) -> Settings:
    """Stack settings with topics unique to this test, and emptied tables."""
    return isolated(stack, "t")


@pytest.fixture
def pipeline(settings: Settings) -> Iterator[LocalPipeline]:
    """A local pipeline (worker and sink started by the test) on this test's topics, with a
    short ledger window and sink flush; its children are stopped afterwards."""
    run = settings.model_copy(
        update={"app_id": f"t-{uuid.uuid4().hex[:8]}", "ledger_window_s": 2.0, "sink_flush_s": 0.2}
    )
    p = LocalPipeline(run)
    p.reset()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def demo_park_path() -> Path:
    """The bundled demo park file."""
    return bundled_park_path()
