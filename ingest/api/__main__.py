"""``python -m ingest.api``: serve the API with this process's settings.

``symbiosis api`` and the demo run it.
"""

from __future__ import annotations

import uvicorn

from ingest.api.app import create_app
from runtime import metrics
from runtime.logs import configure_logging
from runtime.settings import Settings, get_settings


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn shuts down gracefully: open pushes finish).

    Prometheus metrics are served apart, on ``SYMBIOSIS_METRICS_PORT`` (an internal port, like
    every other process), never on the public API port.
    """
    configure_logging()
    metrics.serve(settings.metrics_port, addr=settings.metrics_host)
    uvicorn.run(
        create_app(settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        log_level="warning",
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    serve(get_settings())
