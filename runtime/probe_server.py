"""A process's internal HTTP port: ``/metrics`` for Prometheus, ``/healthz`` for probes.

Kept off every public port (the API's included): it listens on ``SYMBIOSIS_METRICS_HOST``
(127.0.0.1 unless a container needs otherwise). Serves in a daemon thread; a slow scrape never
blocks the process's work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder


@dataclass
class Heartbeat:
    """Liveness of a loop: healthy while :meth:`beat` was called in the last ``max_age_s``.

    A loop that stops turning (a stuck poll, a deadlock) makes ``/healthz`` answer 503, so a
    supervisor restarts the process; a process that is merely idle still beats.
    """

    max_age_s: float = 60.0
    _last: float = field(default_factory=time.monotonic)

    def beat(self) -> None:
        """The loop turned."""
        self._last = time.monotonic()

    def healthy(self) -> bool:
        """Whether the loop turned recently enough."""
        return time.monotonic() - self._last <= self.max_age_s


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, addr: tuple[str, int], registry: CollectorRegistry, healthy: Callable[[], bool]
    ) -> None:
        super().__init__(addr, _Handler)
        self.registry = registry
        self.healthy = healthy


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
            self._answer(200, encoder(self.server.registry), content_type)
        elif path == "/healthz":
            ok = self.server.healthy()
            self._answer(200 if ok else 503, b"ok\n" if ok else b"unhealthy\n", "text/plain")
        else:
            self._answer(404, b"not found: try /metrics or /healthz\n", "text/plain")

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return  # scrapes every few seconds would flood the process's log


class ProbeServer:
    """The running server (see the module docstring); :meth:`close` stops it."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.port = int(server.server_address[1])

    @classmethod
    def start(
        cls, addr: str, port: int, registry: CollectorRegistry, healthy: Callable[[], bool]
    ) -> ProbeServer:
        """Bind ``addr:port`` (0: any free port) and serve in a daemon thread.

        Raises:
            OSError: the address cannot be bound (e.g. the port is in use).
        """
        server = _Server((addr, port), registry, healthy)
        threading.Thread(target=server.serve_forever, name="probe-server", daemon=True).start()
        return cls(server)

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.shutdown()
        self._server.server_close()
