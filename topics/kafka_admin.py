"""Topic and consumer-group chores on Kafka: reset topics, measure consumer lag."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import (
    GroupIdNotFoundError,
    KafkaError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
)

from domain.errors import UnavailableError
from runtime.waiting import wait_until


def ensure_topics(
    bootstrap: str,
    topics: dict[str, dict[str, str]],
    partitions: int,
    options: Mapping[str, Any] | None = None,
    replication_factor: int = 1,
) -> list[str]:
    """Create those of ``topics`` that do not exist yet (existing ones are left as they are).

    Returns:
        The topics created now.

    Raises:
        UnavailableError: Kafka refused or timed out.
    """
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=30_000, **(options or {})
        )
    except KafkaError as e:
        raise UnavailableError(f"cannot reach Kafka at {bootstrap}: {e}") from e
    try:
        missing = [t for t in topics if t not in set(admin.list_topics())]
        if missing:
            new = [
                NewTopic(name, num_partitions=partitions, replication_factor=replication_factor,
                         topic_configs=topics[name])
                for name in missing
            ]  # fmt: skip
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won
                admin.create_topics(new, timeout_ms=30_000)
        return missing
    except KafkaError as e:
        raise UnavailableError(f"creating topics failed: {e}") from e
    finally:
        admin.close()


def _create_retrying(
    connect: Callable[[], KafkaAdminClient], new: list[NewTopic], timeout_s: float
) -> None:
    """Create ``new``, retrying while a deletion of the same names is still in flight.

    Each retry asks through a new client: a client keeps the controller id and broker list
    it first read, and a broker that registered since (a node just restarted) is a
    controller it can never reach (``UnknownBrokerIdError`` on every retry).

    Raises:
        UnavailableError: not all created within ``timeout_s``.
    """
    names = [t.name for t in new]
    deadline = time.monotonic() + timeout_s
    while True:
        admin: KafkaAdminClient | None = None
        try:
            admin = connect()
            admin.create_topics(new, timeout_ms=30_000)
            return
        except KafkaError as e:  # deletion may still be in flight, or the cluster changed
            if time.monotonic() > deadline:
                raise UnavailableError(f"creating topics {names} failed: {e}") from e
            time.sleep(0.5)
            # a failed request may have created some of them (those whose old self was
            # gone): create the rest only, or every retry fails on those
            with contextlib.suppress(KafkaError):  # unknown yet: create them all again
                if admin is not None:
                    listed = set(admin.list_topics())
                    new = [t for t in new if t.name not in listed]
            if not new:
                return
        finally:
            if admin is not None:
                admin.close()


def recreate_topics(
    bootstrap: str,
    topics: dict[str, dict[str, str]],
    partitions: int,
    groups: Iterable[str] = (),
    options: Mapping[str, Any] | None = None,
    replication_factor: int = 1,
) -> None:
    """Delete ``topics`` and consumer ``groups`` if they exist, then create the topics afresh.

    Args:
        bootstrap: Kafka bootstrap servers.
        topics: topic name -> topic configs (e.g. ``{"cleanup.policy": "compact"}``).
        partitions: partitions per topic.
        groups: consumer groups whose committed offsets must be forgotten.
        options: Kafka client settings (security), as from ``kafka_client_options``.
        replication_factor: replicas of each topic.

    Raises:
        UnavailableError: Kafka refused or timed out.
    """

    def connect() -> KafkaAdminClient:
        return KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=30_000, **(options or {})
        )

    admin = connect()
    try:
        if groups:
            # per-group results: groups that never existed are fine
            with contextlib.suppress(GroupIdNotFoundError, KafkaError):
                admin.delete_groups(list(groups))
        existing = set(admin.list_topics())
        doomed = [t for t in topics if t in existing]
        if doomed:
            with contextlib.suppress(UnknownTopicOrPartitionError):
                admin.delete_topics(doomed, timeout_ms=30_000)
            wait_until(
                lambda: not set(doomed) & set(admin.list_topics()),
                timeout_s=30, what="topic deletion", error=UnavailableError,
            )  # fmt: skip
        new = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=replication_factor,
                topic_configs=conf,
            )
            for name, conf in topics.items()
        ]
    finally:
        admin.close()
    _create_retrying(connect, new, timeout_s=30)


def group_lag(
    bootstrap: str, group: str, topics: Iterable[str], options: Mapping[str, Any] | None = None
) -> int:
    """Records of ``topics`` not yet committed by ``group`` (a group without offsets lags all)."""
    return sum(group_lag_by_topic(bootstrap, group, topics, options).values())


def group_lag_by_topic(
    bootstrap: str, group: str, topics: Iterable[str], options: Mapping[str, Any] | None = None
) -> dict[str, int]:
    """Per topic, records not yet committed by ``group``."""
    topics = list(topics)
    ends = end_offsets(bootstrap, topics, options)
    return {t: 0 for t in topics} | _short_by_topic(
        ends, committed_offsets(bootstrap, group, options)
    )


def committed_offsets(
    bootstrap: str, group: str, options: Mapping[str, Any] | None = None
) -> dict[tuple[str, int], int]:
    """``(topic, partition) -> offset`` committed by ``group`` (its next record to read)."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **(options or {})
    )
    try:
        found = admin.list_group_offsets(group).get(group, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): m.offset for tp, m in found.items() if m.offset >= 0}


def _short_by_topic(
    targets: Mapping[TopicPartition, int], committed: Mapping[tuple[str, int], int]
) -> dict[str, int]:
    """Per topic, records between the committed offsets and ``targets`` (none: all of them)."""
    short: dict[str, int] = {}
    for tp, target in targets.items():
        done = committed.get((tp.topic, tp.partition), 0)
        short[tp.topic] = short.get(tp.topic, 0) + max(target - done, 0)
    return short


def end_offsets(
    bootstrap: str, topics: Iterable[str], options: Mapping[str, Any] | None = None
) -> dict[TopicPartition, int]:
    """The next offset of every partition of ``topics`` (what a reader has when it is done)."""
    return {tp: end for tp, (_, end) in log_bounds(bootstrap, topics, options).items()}


def log_bounds(
    bootstrap: str, topics: Iterable[str], options: Mapping[str, Any] | None = None
) -> dict[TopicPartition, tuple[int, int]]:
    """Every partition of ``topics``: its first offset still in the log, and its end offset."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, **(options or {})
    )
    try:
        partitions = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        starts = consumer.beginning_offsets(partitions)
        ends = consumer.end_offsets(partitions)
        return {tp: (starts[tp], ends[tp]) for tp in partitions}
    finally:
        consumer.close()


def short_of(
    bootstrap: str,
    group: str,
    targets: Mapping[TopicPartition, int],
    options: Mapping[str, Any] | None = None,
) -> int:
    """Records ``group`` has still to commit before it reaches ``targets`` (0: there)."""
    return sum(_short_by_topic(targets, committed_offsets(bootstrap, group, options)).values())


def delete_group(bootstrap: str, group: str, options: Mapping[str, Any] | None = None) -> None:
    """Delete a consumer group that has no members (its committed offsets go with it)."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **(options or {})
    )
    try:
        admin.delete_groups([group])
    finally:
        admin.close()


def group_state(bootstrap: str, group: str, options: Mapping[str, Any] | None = None) -> str | None:
    """The consumer group's state (``Stable``, ``PreparingRebalance``, ``Empty``...), or None."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=10_000, **(options or {})
    )
    try:
        for g in admin.list_groups():
            if g["group_id"] == group:
                return str(g["group_state"])
        return None
    finally:
        admin.close()


def wait_members_departed(
    bootstrap: str,
    group: str,
    session_timeout_s: float,
    options: Mapping[str, Any] | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    pause: Callable[[float], None] = time.sleep,
) -> float:
    """Before joining ``group``: wait until a member that died before now has left it.

    Returns at once when the group has no member; else once it empties, or after one
    ``session_timeout_s`` (+ 1 s): by then the broker has removed every member that was dead
    when this was called (live members stay, and are no reason to wait longer). Returns the
    seconds waited. Kafka unreachable: returns (joining will say so).
    """
    started = clock()
    while clock() - started < session_timeout_s + 1.0:
        try:
            state = group_state(bootstrap, group, options)
        except (KafkaError, UnavailableError, OSError):
            break
        if state in (None, "Empty", "Dead"):
            break
        pause(0.5)
    return clock() - started
