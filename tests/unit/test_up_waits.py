"""``symbiosis up`` returns only once what it started answers its ``/healthz``."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from domain.errors import PipelineError
from symbiosis.pipeline import LocalPipeline
from symbiosis.services_cmd import _wait_answering
from symbiosis.stack_settings import StackSettings


class _Healthy(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), _Healthy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _stop(servers: list[ThreadingHTTPServer]) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[StackSettings]:
    settings = StackSettings(stack_dir=tmp_path, api_port=_free_port(), metrics_port=_free_port())
    server = _serve(settings.api_port)
    yield settings
    _stop([server])


def test_up_waits_for_a_worker_whose_health_port_opens_late(api: StackSettings) -> None:
    pipeline = LocalPipeline(api)
    late = _free_port()
    pipeline.ports["streams-1"] = late
    servers: list[ThreadingHTTPServer] = []
    timer = threading.Timer(1.5, lambda: servers.append(_serve(late)))  # imports take a while
    timer.start()
    began = time.monotonic()
    try:
        _wait_answering(api, pipeline, ["streams-1"], timeout_s=30)
        assert time.monotonic() - began >= 1.4  # it did wait for the late one
        assert servers
    finally:
        timer.join()
        _stop(servers)


def test_up_names_the_process_that_never_answers(api: StackSettings) -> None:
    pipeline = LocalPipeline(api)
    silent = _free_port()
    pipeline.ports["sink"] = silent
    with pytest.raises(PipelineError, match=f"no answer from http://127.0.0.1:{silent}/healthz"):
        _wait_answering(api, pipeline, ["sink"], timeout_s=1.5)


def test_up_asks_only_the_api_when_metrics_are_off(tmp_path: Path) -> None:
    settings = StackSettings(stack_dir=tmp_path, api_port=_free_port(), metrics_port=0)
    server = _serve(settings.api_port)
    try:
        _wait_answering(settings, LocalPipeline(settings), ["streams", "sink"], timeout_s=5)
    finally:
        _stop([server])
