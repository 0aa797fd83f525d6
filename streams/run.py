"""A stream worker in this process until SIGTERM (``python -m streams``, ``symbiosis worker``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import faust
import structlog
from kafka.errors import KafkaError

from runtime import metrics
from runtime.heap import collect_less_often
from runtime.logs import configure_logging
from runtime.settings import Settings
from streams.app import create_app
from streams.stall import EXIT_RESTART, Look, look_at, watch
from topics.kafka_admin import committed_offsets, log_bounds, wait_members_departed
from topics.kafka_security import kafka_client_options

log = structlog.get_logger(__name__)


def main(settings: Settings) -> None:
    """Serve metrics, then run faust's worker with the app built from ``settings``.

    Raises:
        OSError: the metrics port is in use.
    """
    configure_logging()
    collect_less_often()  # a record's objects are short-lived (runtime/heap.py)
    metrics.serve(settings.metrics_port, process="streams", addr=settings.metrics_host)
    # A worker restarted after a crash must not join a group that still lists its dead self:
    # the dead member's session expiring seconds later rebalances the group again right after
    # the join, and faust-streaming 0.15 can stop for good in that second rebalance
    # (docs/operations.md). Waiting out one session here costs at most that, only when the
    # group is not empty.
    waited = wait_members_departed(
        settings.kafka_bootstrap, settings.streams_group, settings.kafka_session_timeout_s,
        kafka_client_options(settings),
    )  # fmt: skip
    log.info("streams.group_settled", waited_s=round(waited, 1))
    app = create_app(settings)
    # the group's lag for the dashboards and the stall watch, from a thread of their own (a
    # stuck event loop stops neither)
    options = kafka_client_options(settings)
    watch(settings.streams_stall_s, lambda: _look(app, settings, options), _exit_stalled)
    faust.Worker(app, loglevel="INFO", redirect_stdouts=False).execute_from_commandline()


def _look(app: faust.App, settings: Settings, options: Mapping[str, Any]) -> Look | None:
    """The stall watch's look (:mod:`streams.stall`), from the watch's thread.

    On the way it publishes the group's lag on the readings topic
    (``symbiosis_consumer_lag_records``): from this thread, it goes on when the event loop is
    stuck. Reads only what faust replaces rather than changes in place (its assignment set,
    None until the first one) or only counts up (its recovery's offsets), and never builds one
    of faust's lazy objects (the table manager and its recovery are read only once they exist:
    a recovery built on this thread would get an event loop that never runs). Asks Kafka with
    clients of its own. None when Kafka does not answer (logged).
    """
    readings, group = settings.topics.readings, settings.streams_group
    assigned = getattr(app, "_assignment", None)
    held = None if assigned is None else {tp.partition for tp in assigned if tp.topic == readings}
    try:
        bounds = log_bounds(settings.kafka_bootstrap, [readings], options)
        committed = committed_offsets(settings.kafka_bootstrap, group, options)
    except (KafkaError, OSError) as e:
        log.warning("streams.lag_unavailable", error=str(e))
        return None
    ends = {tp.partition: end for tp, (_, end) in bounds.items()}
    done = {p: offset for (topic, p), offset in committed.items() if topic == readings}
    metrics.set_lag(group, {readings: sum(max(end - done.get(p, 0), 0) for p, end in ends.items())})
    recovery = getattr(app.__dict__.get("tables"), "_recovery", None)
    offsets = dict(getattr(recovery, "active_offsets", None) or {})
    restored = sum(offset for offset in offsets.values() if offset is not None)
    starts = {tp.partition: start for tp, (start, _) in bounds.items()}
    return look_at(ends, done, held, restored, starts=starts)


def _exit_stalled(waited_s: float) -> None:
    """Log, and end the process for its supervisor to start again."""
    log.critical("streams.stalled", waited_s=round(waited_s, 1),
                 action="exit; a restart reads again from the committed offsets")  # fmt: skip
    logging.shutdown()
    os._exit(EXIT_RESTART)
