"""Read one partition's records in an offset range, outside any consumer group.

The stream worker uses it to process records its own (faust) consumer skipped, without moving
that consumer's positions (:mod:`streams.refetch` says why): a short-lived aiokafka consumer
with no group is assigned the one partition, reads ``[start, end)`` and stops. It commits
nothing and joins nothing, so the group's members and offsets are untouched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from domain.errors import UnavailableError

STALL_S = 15.0
"""Seconds without progress after which a read gives up (the range is not all there)."""


async def read_range(
    bootstrap: str,
    topic: str,
    partition: int,
    start: int | None,
    end: int,
    *,
    options: Mapping[str, Any] | None = None,
    chunk: int = 1000,
    stall_s: float = STALL_S,
) -> AsyncGenerator[list[ConsumerRecord[bytes, bytes]], None]:
    """Yield the records of ``topic``/``partition`` from ``start`` to before ``end``, in order.

    Args:
        bootstrap: Kafka's bootstrap servers.
        topic: the topic to read.
        partition: its partition to read.
        start: the first offset to read; ``None``: the partition's log start. An offset below
            the log start (records deleted by retention) reads from the log start.
        end: the offset to stop before (the first record the caller already has).
        options: the client's security options (``kafka_client_options``).
        chunk: at most this many records per yielded list (the caller's memory bound).
        stall_s: give up after this long without the consumer's position moving.

    Guarantees: every record still in the log in the range is yielded once, in offset order;
    offsets with no record (transaction markers, compacted or deleted records) are skipped,
    never waited for. Nothing is committed.

    Raises:
        UnavailableError: Kafka did not answer, or the position stopped short of ``end`` for
            ``stall_s`` (the records before it were yielded).
    """
    if start is not None and start >= end:
        return
    tp = TopicPartition(topic, partition)
    consumer: AIOKafkaConsumer[bytes, bytes] = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", **(options or {}),
    )  # fmt: skip
    try:
        async with asyncio.timeout(stall_s):
            await consumer.start()
            await asyncio.sleep(0)  # its no-group coordinator's task starts (stop() awaits it)
        consumer.assign([tp])
        if start is None:
            async with asyncio.timeout(stall_s):
                await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, start)
        async for records in _until(consumer, tp, end, chunk, stall_s):
            yield records
    except KafkaError as e:
        raise UnavailableError(f"reading {topic}/{partition}: {e}") from e
    except TimeoutError as e:
        raise UnavailableError(f"reading {topic}/{partition}: no answer in {stall_s:g} s") from e
    finally:
        await consumer.stop()


async def _until(
    consumer: AIOKafkaConsumer[bytes, bytes],
    tp: TopicPartition,
    end: int,
    chunk: int,
    stall_s: float,
) -> AsyncGenerator[list[ConsumerRecord[bytes, bytes]], None]:
    """The assigned consumer's records of ``tp`` before ``end`` (see :func:`read_range`)."""
    position, moved = -1, time.monotonic()
    while True:
        async with asyncio.timeout(stall_s):
            now_at = await consumer.position(tp)
        if now_at >= end:
            return
        if now_at != position:
            position, moved = now_at, time.monotonic()
        elif time.monotonic() - moved > stall_s:
            raise UnavailableError(
                f"reading {tp.topic}/{tp.partition} stopped at offset {now_at} of {end} "
                f"for {stall_s:g} s"
            )
        async with asyncio.timeout(stall_s):
            polled = await consumer.getmany(tp, timeout_ms=500, max_records=chunk)
        records = [r for r in polled.get(tp, []) if r.offset < end]
        if records:
            yield records
