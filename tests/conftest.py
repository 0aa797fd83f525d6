"""Fixtures shared by the suite.

Integration tests (marker ``integration``) use the real local stack: the ``stack`` fixture
starts Kafka and PostgreSQL (installing what is missing) and fails the test loudly if they
cannot start — there is no skip. They use their own database (``symbiosis_test``) and topics
with a unique prefix per test, so they never touch the demo's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import StackError
from domain.park import bundled_park_path
from runtime.settings import Settings
from sinks.migrate import migrate
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings
from tests.helpers import isolated

TEST_DATABASE = "symbiosis_test"


@pytest.fixture(scope="session")
def stack() -> Settings:
    """Settings pointing at the running local stack and the test database."""
    from symbiosis.stack import stack_up

    base = StackSettings()
    try:
        stack_up(base)
        LocalPostgres(base).create_database(TEST_DATABASE)
    except StackError as e:
        pytest.fail(f"the local stack could not start: {e}", pytrace=False)
    url = base.database_url.rsplit("/", 1)[0] + f"/{TEST_DATABASE}"
    migrate(url)
    return base.model_copy(update={"database_url": url})


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
