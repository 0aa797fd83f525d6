"""Send many small records at once and wait for all of them: one record batch per partition.

Why: the stream worker sends a ledger entry and a changelog record for every stream update
(TEDA: 5,000 a second), each a few hundred bytes. Sent one by one through faust's
``Topic.send`` (a future, a pending message and a callback per record, and aiokafka's
accumulator per record), the sending cost as much as the worker's own work (py-spy:
``docs/performance.md``). :class:`BatchProducer` builds one aiokafka record batch per topic
partition (aiokafka's C batch builder) and sends each with one request future.

Guarantees:
    - Records of one topic partition are written in the order given; :meth:`send_all`
      returns only when Kafka acknowledged every record (``acks=all``), and raises if any was
      not, so a caller that waits for it before saving state or committing offsets never
      commits what Kafka does not hold.
    - A record with ``partition=None`` goes where the Kafka default partitioner (murmur2 of
      the key, as the Java client, kafka-python, aiokafka and faust use) puts it, so a key
      stays in the partition other producers of the topic chose for it (compaction by key
      keeps working).
    - A send that fails raises aiokafka's :class:`~aiokafka.errors.KafkaError` (the caller
      retries the whole batch, or stops): records of other partitions may have been written,
      which is why the callers' records are idempotent (ledger rows by stream and time,
      alerts by idempotency key, changelog records by key).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, ProducerClosed
from aiokafka.partitioner import DefaultPartitioner

MAX_BATCH_BYTES = 512 * 1024
"""A record batch's size bound: half the broker's default ``max.message.bytes`` (1 MiB)."""


@dataclass(frozen=True, slots=True)
class OutRecord:
    """One record to send: topic, partition (``None``: by key), key, value."""

    topic: str
    partition: int | None
    key: bytes | None
    value: bytes


class BatchProducer:
    """An aiokafka producer that sends records in per-partition batches (see module doc)."""

    def __init__(self, bootstrap: str, client_options: dict[str, Any]) -> None:
        """A producer for ``bootstrap``; ``client_options`` from ``kafka_client_options``."""
        self._bootstrap = bootstrap
        self._client_options = client_options
        self._producer: AIOKafkaProducer | None = None  # made in start(): it needs the loop
        self._partitioner = DefaultPartitioner()
        self._started = False
        self._stopped = False
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Connect (fetches the cluster's metadata); :meth:`send_all` calls it if needed.

        Raises:
            KafkaError: Kafka cannot be reached (the next call tries again).
            ProducerClosed: the producer was stopped.
        """
        async with self._starting:
            if self._stopped:
                raise ProducerClosed()
            if not self._started:
                if self._producer is None:
                    self._producer = AIOKafkaProducer(
                        bootstrap_servers=self._bootstrap, acks="all", linger_ms=0,
                        max_batch_size=MAX_BATCH_BYTES, max_request_size=2 * MAX_BATCH_BYTES,
                        **self._client_options,
                    )  # fmt: skip
                try:
                    await self._producer.start()
                except BaseException:
                    # a half-started client holds connections: close it, start afresh next time
                    producer, self._producer = self._producer, None
                    await producer.stop()
                    raise
                self._started = True

    async def stop(self) -> None:
        """Send what is pending and close the connections; later sends raise."""
        async with self._starting:
            self._stopped = True
            if self._started and self._producer is not None:
                self._started = False
                await self._producer.stop()

    async def send_all(self, records: Iterable[OutRecord]) -> int:
        """Send ``records`` and wait until Kafka acknowledged all of them; returns how many.

        Raises:
            KafkaError: a batch was not written (after aiokafka's own retries); an unknown
                topic or partition, or a record larger than a batch, before anything is sent.
                Records of other batches may have been written.
            ProducerClosed: :meth:`stop` was called.
        """
        if not self._started:
            await self.start()
        producer = self._producer
        assert producer is not None  # started
        by_partition: dict[tuple[str, int], list[OutRecord]] = {}
        partitions: dict[str, list[int]] = {}
        count = 0
        for rec in records:
            size = len(rec.value) + (len(rec.key) if rec.key is not None else 0)
            if size > MAX_BATCH_BYTES:
                raise KafkaError(f"a record of {size} bytes for {rec.topic} is larger than a "
                                 f"batch ({MAX_BATCH_BYTES} bytes)")  # fmt: skip
            if rec.topic not in partitions:
                partitions[rec.topic] = await self._partitions(rec.topic)
            partition = rec.partition
            if partition is None:
                partition = self._partitioner(rec.key, partitions[rec.topic], None)
            elif partition not in partitions[rec.topic]:
                raise KafkaError(f"{rec.topic} has no partition {partition}")
            by_partition.setdefault((rec.topic, partition), []).append(rec)
            count += 1
        sent: list[asyncio.Future[Any]] = []
        try:
            for (topic, partition), recs in by_partition.items():
                batch = producer.create_batch()
                for rec in recs:
                    if batch.append(key=rec.key, value=rec.value, timestamp=None) is None:
                        sent.append(await _send(producer, batch, topic, partition))
                        batch = producer.create_batch()
                        batch.append(key=rec.key, value=rec.value, timestamp=None)  # fits: empty
                if batch.record_count():
                    sent.append(await _send(producer, batch, topic, partition))
            await asyncio.gather(*sent)
        except BaseException:
            # wait for the batches already queued, so none is left unawaited, then re-raise
            await asyncio.gather(*sent, return_exceptions=True)
            raise
        return count

    async def _partitions(self, topic: str) -> list[int]:
        assert self._producer is not None  # started
        found = await self._producer.partitions_for(topic)
        if not found:
            raise KafkaError(f"topic {topic!r} has no partitions (does it exist?)")
        return sorted(found)


async def _send(
    producer: AIOKafkaProducer, batch: Any, topic: str, partition: int
) -> asyncio.Future[Any]:
    batch.close()
    future: asyncio.Future[Any] = await producer.send_batch(batch, topic, partition=partition)
    return future
