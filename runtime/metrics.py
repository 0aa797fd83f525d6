"""Prometheus metrics shared by every process, and the endpoint that serves them.

Names follow Prometheus conventions: counters end in ``_total``, durations are in seconds,
every metric starts with ``symbiosis_``. Labels are small, bounded sets (stage, topic, table,
reason, event), never ids of streams or meters.

Each process calls :func:`serve` with its own port (``SYMBIOSIS_METRICS_PORT``; 0 = off);
``curl 127.0.0.1:<port>/metrics`` shows them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS_IN: Final = Counter(
    "symbiosis_events_in_total", "Records consumed from Kafka.", ["stage", "topic"]
)
EVENTS_OUT: Final = Counter(
    "symbiosis_events_out_total", "Records produced to Kafka.", ["stage", "topic"]
)
READINGS: Final = Counter(
    "symbiosis_readings_total", "Meter readings handled by a stage.", ["stage"]
)
FAILURES: Final = Counter(
    "symbiosis_failures_total", "Failures by stage and reason.", ["stage", "reason"]
)
REJECTED: Final = Counter(
    "symbiosis_rejected_total", "Items sent to the rejected topic.", ["stage"]
)
ALERTS: Final = Counter("symbiosis_alerts_total", "Alert lifecycle events emitted.", ["event"])
DEAD_LETTERS: Final = Counter(
    "symbiosis_dead_letters_total", "Alerts sent to the dead-letter topic after the last retry."
)
WEBHOOK_ATTEMPTS: Final = Counter(
    "symbiosis_webhook_attempts_total", "Webhook delivery attempts by outcome.", ["outcome"]
)
WEBHOOK_SECONDS: Final = Histogram(
    "symbiosis_webhook_attempt_duration_seconds", "Duration of one webhook attempt."
)
DB_WRITE_SECONDS: Final = Histogram(
    "symbiosis_db_write_duration_seconds",
    "Duration of one database write transaction (COPY + merge).",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
ROWS_WRITTEN: Final = Counter(
    "symbiosis_rows_written_total", "Rows newly inserted (duplicates skipped).", ["table"]
)
CONSUMER_LAG: Final = Gauge(
    "symbiosis_consumer_lag_records",
    "Records not yet committed by a consumer group, per topic.",
    ["group", "topic"],
)
FRESHNESS: Final = Gauge(
    "symbiosis_data_freshness_seconds",
    "Seconds between now and the newest event time a stage has handled.",
    ["stage"],
)

STALE_STREAMS: Final = Gauge(
    "symbiosis_stale_streams",
    "Streams that reported in the last day but not in the last SYMBIOSIS_STALE_AFTER_S "
    "(silent meters), as of the sink's last maintenance.",
)

_newest: dict[str, float] = {}


def saw_event_time(stage: str, ts: float) -> None:
    """Record the newest event time (unix seconds) a stage handled, for the freshness gauge."""
    if ts > _newest.get(stage, float("-inf")):
        if stage not in _newest:
            FRESHNESS.labels(stage).set_function(_age_of(stage))
        _newest[stage] = ts


def _age_of(stage: str) -> Callable[[], float]:
    def age() -> float:
        return time.time() - _newest[stage]

    return age


def set_lag(group: str, lag_by_topic: dict[str, int]) -> None:
    """Publish a consumer group's lag per topic."""
    for topic, lag in lag_by_topic.items():
        CONSUMER_LAG.labels(group, topic).set(lag)


def serve(port: int, *, addr: str = "127.0.0.1") -> bool:
    """Serve ``/metrics`` on ``addr:port`` in a background thread; ``port`` 0 serves nothing."""
    if port <= 0:
        return False
    start_http_server(port, addr=addr)
    return True


def touch(stage: str, topics: Iterable[str]) -> None:
    """Create a stage's per-topic series at zero so dashboards see them before traffic."""
    for topic in topics:
        EVENTS_IN.labels(stage, topic)
        EVENTS_OUT.labels(stage, topic)
