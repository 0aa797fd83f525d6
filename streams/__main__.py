"""``python -m streams``: run a stream worker until SIGTERM (settings from ``SYMBIOSIS_*``)."""

import faust

from runtime import metrics
from runtime.logs import configure_logging
from runtime.settings import get_settings
from streams.app import create_app

if __name__ == "__main__":
    configure_logging()
    settings = get_settings()
    metrics.serve(settings.metrics_port, addr=settings.metrics_host)
    app = create_app(settings)
    faust.Worker(app, loglevel="INFO", redirect_stdouts=False).execute_from_commandline()
