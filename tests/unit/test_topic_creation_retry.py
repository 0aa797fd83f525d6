"""Creating topics after a reset retries through a new client each time (``topics.kafka_admin``).

A client keeps the controller id and broker list it first read: a broker that registered
since is a controller it can never reach, so retrying on the same client failed for the
whole timeout (seen in the three-node drill, ``UnknownBrokerIdError: 3``).
"""

from __future__ import annotations

import pytest
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownBrokerIdError

from domain.errors import UnavailableError
from topics.kafka_admin import _create_retrying


class _Client:
    """An admin client that fails ``create_topics`` with ``error`` (or succeeds)."""

    def __init__(self, error: Exception | None, listed: set[str]) -> None:
        self.error = error
        self.listed = listed
        self.created: list[str] = []
        self.closed = False

    def create_topics(self, new: list[NewTopic], timeout_ms: int) -> None:
        if self.error is not None:
            raise self.error
        self.created = [t.name for t in new]
        self.listed.update(self.created)

    def list_topics(self) -> list[str]:
        return sorted(self.listed)

    def close(self) -> None:
        self.closed = True


def _topics(*names: str) -> list[NewTopic]:
    return [NewTopic(n, num_partitions=1, replication_factor=1) for n in names]


def test_a_client_that_cannot_reach_the_controller_is_replaced_on_retry() -> None:
    listed: set[str] = set()
    clients = [_Client(UnknownBrokerIdError(3), listed), _Client(None, listed)]
    made: list[_Client] = []

    def connect() -> _Client:
        made.append(clients[len(made)])
        return made[-1]

    _create_retrying(connect, _topics("a", "b"), timeout_s=5)  # type: ignore[arg-type]
    assert len(made) == 2
    assert made[1].created == ["a", "b"]
    assert all(c.closed for c in made)


def test_a_retry_creates_only_the_topics_the_failed_request_did_not() -> None:
    listed = {"a"}  # the failed request created "a" before failing on "b"
    clients = [_Client(TopicAlreadyExistsError("a"), listed), _Client(None, listed)]
    made: list[_Client] = []

    def connect() -> _Client:
        made.append(clients[len(made)])
        return made[-1]

    _create_retrying(connect, _topics("a", "b"), timeout_s=5)  # type: ignore[arg-type]
    assert made[1].created == ["b"]


def test_failing_past_the_deadline_says_which_topics_and_closes_every_client() -> None:
    made: list[_Client] = []

    def connect() -> _Client:
        made.append(_Client(UnknownBrokerIdError(3), set()))
        return made[-1]

    with pytest.raises(UnavailableError, match=r"creating topics \['a'\] failed"):
        _create_retrying(connect, _topics("a"), timeout_s=0)  # type: ignore[arg-type]
    assert made
    assert all(c.closed for c in made)
