"""The stack's own lifecycle, on a second broker and cluster (other ports, a temporary dir)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.errors import StackError
from runtime.waiting import wait_until
from symbiosis.local_kafka import LocalKafka
from symbiosis.local_postgres import LocalPostgres
from symbiosis.procs import alive
from symbiosis.stack import stack_down, stack_up
from symbiosis.stack_settings import StackSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def other_stack(stack: StackSettings) -> Iterator[StackSettings]:
    # under the main stack dir: the postgres user must be able to reach it
    root = stack.stack_dir / "test-stacks" / uuid.uuid4().hex[:8]
    (root / "kafka").mkdir(parents=True)
    # reuse the jars fetched for the main stack instead of calling mvn again
    (root / "kafka" / "lib").symlink_to(stack.stack_dir / "kafka" / "lib")
    yield StackSettings(
        stack_dir=root,
        kafka_port=29092,
        kafka_controller_port=29093,
        kafka_bootstrap="127.0.0.1:29092",
        postgres_port=25432,
        database_url="postgresql://postgres@127.0.0.1:25432/symbiosis",
        kafka_heap="256m",
    )
    shutil.rmtree(root, ignore_errors=True)


def test_up_is_idempotent_and_down_stops_exactly_what_up_started(
    other_stack: StackSettings,
) -> None:
    try:
        stack_up(other_stack)
        kafka, pg = LocalKafka(other_stack), LocalPostgres(other_stack)
        pids = (kafka.pid(), pg.pid())
        assert None not in pids
        assert kafka.ready()
        assert pg.ready()
        stack_up(other_stack)  # second call: same processes, nothing new
        assert (kafka.pid(), pg.pid()) == pids
        assert {s["service"]: s["ready"] for s in (kafka.status(), pg.status())} == {
            "kafka": True,
            "postgresql": True,
        }
    finally:
        stopped = stack_down(other_stack)
    assert sorted(stopped) == ["kafka", "postgresql"]
    for pid in pids:
        assert pid is not None
        wait_until(lambda p=pid: not alive(p), timeout_s=10, what=f"process {pid} to exit")
    assert stack_down(other_stack) == []  # nothing left to stop


def test_port_taken_by_someone_else_is_a_clear_error(stack: StackSettings, tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    (tmp_path / "kafka").mkdir()
    (tmp_path / "kafka" / "lib").symlink_to(stack.stack_dir / "kafka" / "lib")
    squatter = StackSettings(stack_dir=tmp_path, kafka_port=stack.kafka_port)
    with pytest.raises(StackError, match="something else already answers"):
        LocalKafka(squatter).up()
