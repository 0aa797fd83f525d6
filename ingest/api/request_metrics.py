"""Request count and latency of the HTTP API, by route template, method and status.

Counted by ``prometheus-fastapi-instrumentator`` (ISC) on prometheus_client's default
``REGISTRY``, which the process's internal metrics port serves (:mod:`runtime.metrics`); no
``/metrics`` route is added to the public API port. Series:

- ``http_requests_total{handler, method, status}``
- ``http_request_duration_seconds{handler, method, status}`` (a histogram)

``handler`` is the route's template (``/v1/needs/{need_id}``), never the raw path, and
``none`` for a path no route matches, so ids and probes cannot grow the number of series;
``status`` is the exact code (``422``, ``429``, ``503``: the ones alerts care about). The
names are the instrumentator's usual ones (its dashboards work as they are); they carry no
``symbiosis_`` prefix, which the internal port keeps for the project's own metrics.

The collectors are created once per process, at import: any number of apps (tests build
many) count into the same series.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator, metrics

BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a registry write waits for Kafka (up to the ack timeout), a read is milliseconds."""

_COUNTERS: Final[list[Callable[[metrics.Info], None]]] = [
    f
    for f in (
        metrics.requests(metric_doc="HTTP requests answered, by route template and status."),
        metrics.latency(
            metric_doc="Seconds from request to the end of the answer, by route template.",
            buckets=BUCKETS,
        ),
    )
    if f is not None  # None: registered already (this module imported twice)
]


def instrument(app: FastAPI) -> None:
    """Count ``app``'s requests.

    Call it after adding every other middleware: outermost, it also counts the answers of the
    door middlewares (413, 415).
    """
    counter = Instrumentator(
        should_group_status_codes=False,
        should_group_untemplated=True,
        should_respect_env_var=False,
    )
    counter.add(*_COUNTERS).instrument(app)
