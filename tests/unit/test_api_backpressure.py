"""Back-pressure at the push door: past the pushes in flight, a 503 with Retry-After at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from ingest.api.limits import InFlight
from runtime.settings import Settings
from tests.api_fakes import COMPANY, running_api

PUSH = {"readings": [{"meter": "gas-1", "ts": "2026-01-01T00:00:00Z", "value": 5.0,
                      "unit": "m^3/h"}]}  # fmt: skip


def test_pushes_past_the_bound_are_refused_at_once_while_kafka_is_slow() -> None:
    with running_api(Settings(api_max_pushes_in_flight=2)) as api:
        slow = threading.Event()

        def wait(futures: Any, timeout_s: float) -> int:
            slow.wait(10)  # Kafka takes its time to acknowledge
            return len(list(futures))

        api.kafka.wait = wait  # type: ignore[method-assign]
        answers: list[httpx.Response] = []

        def push() -> None:
            answers.append(api.client.post("/v1/readings", json=PUSH, headers=COMPANY))

        waiting = [threading.Thread(target=push) for _ in range(2)]
        for t in waiting:
            t.start()
        gate = api.client.app.state.services.pushes_in_flight  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10
        while gate.count < 2:
            assert time.monotonic() < deadline, "the two pushes never reached Kafka"
            time.sleep(0.01)
        started = time.monotonic()
        refused = api.client.post("/v1/readings", json=PUSH, headers=COMPANY)
        assert time.monotonic() - started < 2  # answered at once, not after Kafka's time-out
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        assert "waiting for Kafka" in refused.json()["detail"]
        slow.set()
        for t in waiting:
            t.join(10)
        assert [a.status_code for a in answers] == [200, 200]
        assert gate.count == 0  # every push left the gate
        assert api.client.post("/v1/readings", json=PUSH, headers=COMPANY).status_code == 200


def test_the_gate_counts_and_refuses_past_its_limit() -> None:
    gate = InFlight(1)
    assert gate.enter()
    assert not gate.enter()
    gate.leave()
    assert gate.enter()
