"""``python -m ingest.api``: serve the API with this process's settings.

``symbiosis api`` and the deployments (compose, Kubernetes) run it. ``--help`` prints the usage;
an unknown argument exits 2. The listening socket is bound before anything else starts: a port
in use is one line on stderr and exit code 2, before the process connects to Kafka or claims to
be ready.
"""

from __future__ import annotations

import argparse
import errno
import socket
import sys
from collections.abc import Sequence

import uvicorn
from pydantic import ValidationError

from domain.errors import ConfigurationError
from domain.wording import reason_of
from ingest.api.app import create_app
from runtime import metrics
from runtime.logs import configure_logging
from runtime.settings import Settings, get_settings


class PortInUseError(ConfigurationError):
    """The API's (or its metrics') port is taken by another process."""


def bind(host: str, port: int, setting: str = "SYMBIOSIS_API_PORT") -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening), for uvicorn to serve on.

    Raises:
        PortInUseError: another process listens there (the message names ``setting``).
        ConfigurationError: the address cannot be bound for another reason.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise PortInUseError(f"port {port} on {host} is in use; set {setting}") from e
        raise ConfigurationError(f"cannot listen on {host}:{port}: {e.strerror}") from e
    return sock


def _serve_metrics(settings: Settings) -> None:
    """The internal metrics port (``SYMBIOSIS_METRICS_PORT``; 0: none).

    Raises:
        PortInUseError: the metrics port is taken.
    """
    try:
        metrics.serve(settings.metrics_port, process="api", addr=settings.metrics_host)
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        raise PortInUseError(
            f"port {settings.metrics_port} on {settings.metrics_host} is in use; "
            "set SYMBIOSIS_METRICS_PORT"
        ) from e


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn shuts down gracefully: open pushes finish).

    Prometheus metrics are served apart, on ``SYMBIOSIS_METRICS_PORT`` (an internal port, like
    every other process), never on the public API port.

    Raises:
        PortInUseError: the API's or the metrics' port is taken (nothing was started).
        ConfigurationError: the address cannot be bound.
    """
    host = host or settings.api_host
    port = port or settings.api_port
    sock = bind(host, port)
    try:
        configure_logging()
        _serve_metrics(settings)
        config = uvicorn.Config(
            create_app(settings), host=host, port=port, log_level="warning",
            timeout_graceful_shutdown=10,
        )  # fmt: skip
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m ingest.api``."""
    p = argparse.ArgumentParser(
        prog="python -m ingest.api",
        description="Serve the symbiosis HTTP API (OpenAPI document at /openapi.json, docs at "
        "/docs). Settings come from SYMBIOSIS_* environment variables (Kafka, database, "
        "SYMBIOSIS_METRICS_PORT for the internal metrics port); needs Kafka and the database.",
    )
    p.add_argument("--host", help="listen address (default: SYMBIOSIS_API_HOST, 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default: SYMBIOSIS_API_PORT, 18080)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, then serve; the exit code (2: a bad setting, or a port in use).

    Raises:
        SystemExit: ``--help`` (0) or a bad argument (2), from argparse.
    """
    args = parser().parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as e:  # one line per bad SYMBIOSIS_* variable
        for error in e.errors():
            name = "SYMBIOSIS_" + "__".join(str(p) for p in error["loc"]).upper()
            print(f"{name}: {reason_of(error)}", file=sys.stderr)
        return 2
    try:
        serve(settings, host=args.host, port=args.port)
    except ConfigurationError as e:
        print(e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
