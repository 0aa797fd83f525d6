"""Each process exports its own metrics and a health answer on its internal port."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from runtime import metrics
from runtime.probe_server import Heartbeat, ProbeServer


def _get(server: ProbeServer, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def served() -> Iterator[dict[str, ProbeServer]]:
    beat = Heartbeat(max_age_s=0.05)
    servers = {
        name: ProbeServer.start("127.0.0.1", 0, metrics.registry_of(name), healthy)
        for name, healthy in (("sink", lambda: True), ("delivery", beat.healthy))
    }
    yield servers
    for s in servers.values():
        s.close()


def test_a_process_exports_only_the_metrics_it_keeps(served: dict[str, ProbeServer]) -> None:
    metrics.ROWS_WRITTEN.labels("readings").inc(0)
    metrics.WEBHOOK_ATTEMPTS.labels("delivered").inc(0)
    status, sink = _get(served["sink"], "/metrics")
    assert status == 200
    assert "symbiosis_rows_written_total" in sink
    assert "symbiosis_webhook_attempts" not in sink  # the delivery's, not the sink's
    assert "symbiosis_dead_letters" not in sink
    assert "process_cpu_seconds_total" in sink or "python_info" in sink  # runtime collectors
    _, delivery = _get(served["delivery"], "/metrics")
    assert "symbiosis_webhook_attempts_total" in delivery
    assert "symbiosis_rows_written" not in delivery


def test_healthz_follows_the_heartbeat(served: dict[str, ProbeServer]) -> None:
    assert _get(served["sink"], "/healthz") == (200, "ok\n")
    time.sleep(0.1)  # the delivery's heartbeat (max age 0.05 s) was never beaten since
    assert _get(served["delivery"], "/healthz")[0] == 503
    assert _get(served["sink"], "/nowhere")[0] == 404


def test_every_project_metric_belongs_to_a_process() -> None:
    kept = {m for ms in metrics.BY_PROCESS.values() for m in ms}
    declared = {v for v in vars(metrics).values() if isinstance(v, metrics.MetricWrapperBase)}
    assert declared <= kept, declared - kept


def test_a_busy_metrics_port_is_an_os_error() -> None:
    first = ProbeServer.start("127.0.0.1", 0, metrics.registry_of("api"), lambda: True)
    try:
        with pytest.raises(OSError, match="in use"):
            metrics.serve(first.port, process="api")
    finally:
        first.close()
