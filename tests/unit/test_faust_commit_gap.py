"""The faust internals the worker's gap repair relies on (faust-streaming 0.15's commit rule).

No broker: these are faust's in-memory offset books, the contract ``streams.app`` relies on
when it tells faust which offsets it processed itself. Run again before upgrading faust.
"""

from __future__ import annotations

import asyncio
from typing import Any

import faust
import pytest
from aiokafka.errors import KafkaConnectionError
from faust.types import TP

from domain.errors import UnavailableError
from streams.app import _retrying, _skip_in_commits

TOPIC = TP("readings", 0)


def _consumer(committed: int | None, acked: list[int]) -> tuple[faust.App, Any]:
    app = faust.App("test-gap-commit", broker="kafka://127.0.0.1:1", store="memory://")
    consumer = app.consumer
    consumer._committed_offset[TOPIC] = committed
    consumer._acked[TOPIC].extend(acked)
    consumer._acked_index[TOPIC].update(acked)
    return app, consumer


def test_faust_commits_nothing_past_a_missing_head_of_more_than_one_record() -> None:
    _, consumer = _consumer(100, list(range(150, 161)))
    assert consumer._new_offset(TOPIC) is None


def test_offsets_the_worker_processed_itself_let_faust_commit_past_them() -> None:
    app, consumer = _consumer(100, list(range(150, 161)))
    asyncio.run(_skip_in_commits(app, TOPIC, 150))
    assert consumer._new_offset(TOPIC) == 161


def test_nothing_is_added_without_a_committed_offset_or_a_missing_head() -> None:
    app, consumer = _consumer(None, [40, 41])
    asyncio.run(_skip_in_commits(app, TOPIC, 40))
    assert not consumer._gap[TOPIC]
    assert consumer._new_offset(TOPIC) == 42  # faust checks no head without a committed offset
    app, consumer = _consumer(100, [101, 102])
    asyncio.run(_skip_in_commits(app, TOPIC, 101))
    assert not consumer._gap[TOPIC]
    assert consumer._new_offset(TOPIC) == 103


# --- retrying a gap's lookup or read -------------------------------------------------------


def _flaky(failures: list[BaseException]) -> tuple[list[int], Any]:
    calls: list[int] = []

    async def attempt() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return calls, attempt


def test_kafka_not_answering_is_retried_until_it_does(monkeypatch: Any) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    app = faust.App("test-gap-retry", broker="kafka://127.0.0.1:1", store="memory://")
    calls, attempt = _flaky([KafkaConnectionError(), UnavailableError("x"), TimeoutError()])
    assert asyncio.run(_retrying(app, "test", attempt)) == "done"
    assert len(calls) == 4


def test_anything_else_is_raised_at_once(monkeypatch: Any) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    app = faust.App("test-gap-retry", broker="kafka://127.0.0.1:1", store="memory://")
    calls, attempt = _flaky([ValueError("a bug")])
    with pytest.raises(ValueError, match="a bug"):
        asyncio.run(_retrying(app, "test", attempt))
    assert len(calls) == 1


def test_retrying_gives_up_after_its_time(monkeypatch: Any) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    app = faust.App("test-gap-retry", broker="kafka://127.0.0.1:1", store="memory://")
    calls, attempt = _flaky([KafkaConnectionError()] * 1000)
    with pytest.raises(UnavailableError, match="Kafka did not answer"):
        asyncio.run(_retrying(app, "test", attempt, give_up_s=0.0))
    assert len(calls) == 1


async def _no_sleep(_: float) -> None:
    return None
