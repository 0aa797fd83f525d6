"""A stream worker in this process until SIGTERM (``python -m streams``, ``symbiosis worker``)."""

from __future__ import annotations

import faust
import structlog

from runtime import metrics
from runtime.heap import collect_less_often
from runtime.logs import configure_logging
from runtime.settings import Settings
from streams.app import create_app
from topics.kafka_admin import wait_members_departed
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
    faust.Worker(app, loglevel="INFO", redirect_stdouts=False).execute_from_commandline()
