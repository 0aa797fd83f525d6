"""Prometheus metrics shared by every process, and the endpoint that serves them.

Names follow Prometheus conventions: counters end in ``_total``, durations are in seconds,
every metric starts with ``symbiosis_``. Labels are small, bounded sets (stage, topic, table,
reason, event), never ids of streams or meters.

Each process calls :func:`serve` with its own port (``SYMBIOSIS_METRICS_PORT``; 0 = off) and
its name: it exports only the metrics that process keeps (:data:`BY_PROCESS`) plus the
``process_*``/``python_*`` runtime collectors and any other library metrics registered in the
process (the API's request metrics), never another process's series at zero.
``curl 127.0.0.1:<port>/metrics`` shows them; ``/healthz`` answers 200 while the process is
healthy (:class:`Heartbeat`) and 503 otherwise, for liveness probes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from runtime.probe_server import ProbeServer

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

MQTT_MESSAGES: Final = Counter(
    "symbiosis_mqtt_messages_total",
    "MQTT messages the bridge took from the broker, by outcome (forwarded: readings or their "
    "rejection are in Kafka; ignored: not readings; kafka_away: not acknowledged, the broker "
    "sends them again; refused: the bridge failed on it, it is in the rejected topic).",
    ["outcome"],
)

BY_PROCESS: Final[dict[str, tuple[MetricWrapperBase, ...]]] = {
    "streams": (EVENTS_IN, EVENTS_OUT, READINGS, FAILURES, REJECTED, ALERTS, CONSUMER_LAG,
                FRESHNESS),
    "sink": (EVENTS_IN, READINGS, FAILURES, REJECTED, DB_WRITE_SECONDS, ROWS_WRITTEN,
             CONSUMER_LAG, FRESHNESS, STALE_STREAMS),
    "delivery": (EVENTS_IN, EVENTS_OUT, FAILURES, REJECTED, DEAD_LETTERS, WEBHOOK_ATTEMPTS,
                 WEBHOOK_SECONDS),
    "api": (EVENTS_OUT, READINGS, FAILURES, REJECTED),
    "mqtt-bridge": (READINGS, FAILURES, REJECTED, MQTT_MESSAGES),
    "demo": (EVENTS_OUT, READINGS, FAILURES),
}  # fmt: skip
"""The project's metrics each process keeps; :func:`serve` exports only these."""

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


class _OwnMetrics(Collector):
    """The default registry seen by one process: other processes' ``symbiosis_*`` left out."""

    def __init__(self, process: str) -> None:
        self._own = {f.name for m in BY_PROCESS[process] for f in m.describe()}

    def collect(self) -> Iterable[Metric]:
        for family in REGISTRY.collect():
            if family.name in self._own or not family.name.startswith("symbiosis_"):
                yield family


def registry_of(process: str) -> CollectorRegistry:
    """A registry exporting what ``process`` (a key of :data:`BY_PROCESS`) keeps.

    Raises:
        KeyError: ``process`` is not a known process name.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OwnMetrics(process))
    return registry


def serve(
    port: int,
    *,
    process: str,
    addr: str = "127.0.0.1",
    healthy: Callable[[], bool] | None = None,
) -> ProbeServer | None:
    """Serve ``/metrics`` and ``/healthz`` on ``addr:port`` in a background thread.

    Args:
        port: 0 serves nothing (returns ``None``).
        process: which process this is (a key of :data:`BY_PROCESS`).
        addr: the address to listen on.
        healthy: what ``/healthz`` asks (default: the process answers, so it is alive).

    Raises:
        OSError: the port is in use or cannot be bound.
        KeyError: unknown ``process``.
    """
    if port <= 0:
        return None
    return ProbeServer.start(addr, port, registry_of(process), healthy or (lambda: True))


def touch(stage: str, topics: Iterable[str]) -> None:
    """Create a stage's per-topic series at zero so dashboards see them before traffic."""
    for topic in topics:
        EVENTS_IN.labels(stage, topic)
        EVENTS_OUT.labels(stage, topic)
