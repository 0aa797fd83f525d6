"""A stream worker in this process until SIGTERM (``python -m streams``, ``symbiosis worker``)."""

from __future__ import annotations

import faust

from runtime import metrics
from runtime.logs import configure_logging
from runtime.settings import Settings
from streams.app import create_app


def main(settings: Settings) -> None:
    """Serve metrics, then run faust's worker with the app built from ``settings``.

    Raises:
        OSError: the metrics port is in use.
    """
    configure_logging()
    metrics.serve(settings.metrics_port, process="streams", addr=settings.metrics_host)
    app = create_app(settings)
    faust.Worker(app, loglevel="INFO", redirect_stdouts=False).execute_from_commandline()
