"""Publishing reading batches to Kafka: idempotent producer, ``acks=all``, keyed by stream.

A reading counts as *accepted* only once the broker acknowledged its batch; :meth:`flush`
waits for every acknowledgement and raises if any send failed, so callers never report a
reading as produced that Kafka did not take.
"""

from __future__ import annotations

import threading
from typing import Any

from domain.errors import UnavailableError
from ingest.acked_publisher import Publisher
from runtime import metrics
from schemas.readings import ReadingBatch, SiteReadings

STAGE = "ingest"


class ReadingsProducer:
    """Sends readings records to the readings topic and counts acknowledged readings."""

    def __init__(self, bootstrap: str, topic: str, **overrides: Any) -> None:
        """Connect to Kafka.

        Raises:
            UnavailableError: the brokers cannot be reached.
        """
        self.topic = topic
        self.acked = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._publisher = Publisher(bootstrap, **{"linger_ms": 5, **overrides})

    def send(self, record: SiteReadings | ReadingBatch, *, key: str | None = None) -> None:
        """Queue one record; its readings count as accepted when the broker acknowledges it.

        A :class:`SiteReadings` is keyed by its site. A lone :class:`ReadingBatch` needs
        ``key``: every record of a stream must carry the same key (the stream worker keeps a
        stream's state in the partition its readings arrive on); the doors use the stream's
        site id.

        Raises:
            ValueError: a lone batch without ``key``.
        """
        if isinstance(record, SiteReadings):
            key = record.site
            n = sum(len(b.readings) for b in record.batches)
            label = record.batches[0].batch_id
        else:
            if key is None:
                raise ValueError(f"batch {record.batch_id!r}: a lone batch needs its site as key")
            n, label = len(record.readings), record.batch_id
        future = self._publisher.send(self.topic, key, record.model_dump_json().encode())
        future.add_callback(self._on_ack, n)
        future.add_errback(self._on_error, label)

    def _on_ack(self, n: int, _metadata: object) -> None:
        with self._lock:
            self.acked += n
        metrics.EVENTS_OUT.labels(STAGE, self.topic).inc()
        metrics.READINGS.labels(STAGE).inc(n)

    def _on_error(self, batch_id: str, exc: BaseException) -> None:
        metrics.FAILURES.labels(STAGE, type(exc).__name__).inc()
        with self._lock:
            self.failures.append(f"{batch_id}: {exc}")

    def flush(self, timeout_s: float = 60.0) -> int:
        """Wait for every queued batch; returns readings acknowledged so far.

        Raises:
            UnavailableError: a batch could not be delivered (after the producer's retries).
        """
        self._publisher.flush(timeout_s)
        if self.failures:
            raise UnavailableError(f"{len(self.failures)} batches failed: {self.failures[:3]}")
        return self.acked

    def close(self) -> None:
        """Flush and close the connection."""
        self._publisher.close()
