"""One idempotent, ``acks=all`` Kafka producer for request/response style ingest.

The HTTP API, the MQTT bridge and the ERP import answer "accepted" only for what Kafka
acknowledged: :meth:`Publisher.send` returns a future per record and :meth:`Publisher.wait`
blocks until those futures (and only those: other threads may share the producer) are
acknowledged, raising if any was not.

The texts of its :class:`~domain.errors.UnavailableError` name topics, brokers and Kafka's
exceptions: they are for the log. The API answers its clients a plain reason instead
(:func:`ingest.api.submitting.kafka_unavailable`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from domain.errors import UnavailableError
from runtime import metrics

STAGE = "ingest"


class Publisher:
    """Thread-safe sender of keyed records; see the module docstring for the guarantee."""

    def __init__(self, bootstrap: str, *, max_block_s: float = 30.0, **overrides: Any) -> None:
        """Connect to Kafka.

        Args:
            bootstrap: Kafka bootstrap servers.
            max_block_s: Longest :meth:`send` blocks (topic metadata missing, buffer full).
            overrides: Other ``KafkaProducer`` settings.

        Raises:
            UnavailableError: the brokers cannot be reached.
        """
        config: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 2,
            "batch_size": 256 * 1024,
            "max_request_size": 8 * 1024 * 1024,
            "max_block_ms": int(max_block_s * 1000),
            **overrides,
        }
        try:
            self._producer = KafkaProducer(**config)
        except KafkaError as e:
            raise UnavailableError(f"cannot reach Kafka at {bootstrap}: {e}") from e

    def send(self, topic: str, key: str | None, value: bytes | None) -> FutureRecordMetadata:
        """Queue one record (``value=None``: a tombstone); returns its acknowledgement future.

        Raises:
            UnavailableError: the record could not even be queued (no metadata for the topic or
                the buffer full for ``max_block_s``, or the record is too large).
        """
        try:
            future: FutureRecordMetadata = self._producer.send(
                topic, key=key.encode() if key is not None else None, value=value
            )
        except KafkaError as e:
            metrics.FAILURES.labels(STAGE, type(e).__name__).inc()
            raise UnavailableError(f"Kafka did not take a record for {topic}: {e}") from e
        return future

    def wait(self, futures: Iterable[FutureRecordMetadata], timeout_s: float) -> int:
        """Block until every future is acknowledged; returns how many were.

        Raises:
            UnavailableError: a record was refused, or not acknowledged within ``timeout_s``
                (it may still arrive later: callers answer "not accepted", so a client
                retries, and every consumer treats a repeat as a no-op).
        """
        pending = list(futures)
        deadline = time.monotonic() + timeout_s
        failed: list[str] = []
        for f in pending:  # only the caller's records: others' batches never delay it
            try:
                f.get(timeout=max(deadline - time.monotonic(), 0.0))
            except KafkaError as e:
                failed.append(f"{type(e).__name__}: {e}")
        if failed:
            metrics.FAILURES.labels(STAGE, "kafka_not_acknowledged").inc(len(failed))
            raise UnavailableError(
                f"Kafka did not acknowledge {len(failed)} of {len(pending)} records "
                f"within {timeout_s:g} s: {failed[0]}"
            )
        return len(pending)

    def flush(self, timeout_s: float) -> None:
        """Wait until everything queued (by any thread) is sent or has failed.

        Raises:
            UnavailableError: not done within ``timeout_s``.
        """
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as e:
            raise UnavailableError(f"flushing the producer failed: {e}") from e

    def close(self) -> None:
        """Flush what is queued and close the connection."""
        self._producer.close(timeout=30)
