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


def test_a_push_is_answered_within_the_timeout_even_when_kafka_hangs_past_it() -> None:
    """Kafka holds the push past ``api_ack_timeout_s`` (a broker that froze while taking it):
    the client gets 503 at the timeout, and the push keeps its place in the bound until its
    thread ends."""
    with running_api(Settings(api_ack_timeout_s=0.5, api_max_pushes_in_flight=1)) as api:
        release = threading.Event()

        def hang(futures: Any, timeout_s: float) -> int:
            release.wait(10)  # longer than the door's timeout
            return len(list(futures))

        api.kafka.wait = hang  # type: ignore[method-assign]
        started = time.monotonic()
        answer = api.client.post("/v1/readings", json=PUSH, headers=COMPANY)
        assert time.monotonic() - started < 3
        assert answer.status_code == 503
        assert int(answer.headers["Retry-After"]) >= 1
        assert "within 0.5 s" in answer.json()["detail"]
        gate = api.client.app.state.services.pushes_in_flight  # type: ignore[attr-defined]
        assert gate.count == 1  # its thread still waits: the bound counts it
        busy = api.client.post("/v1/readings", json=PUSH, headers=COMPANY)
        assert busy.status_code == 503
        assert "waiting for Kafka" in busy.json()["detail"]
        release.set()
        deadline = time.monotonic() + 10
        while gate.count:
            assert time.monotonic() < deadline, "the push never left the gate"
            time.sleep(0.01)
        api.kafka.wait = lambda futures, timeout_s: len(list(futures))  # type: ignore[method-assign]
        assert api.client.post("/v1/readings", json=PUSH, headers=COMPANY).status_code == 200
