"""Webhook retries as Standard Webhooks asks, without sockets: a scripted fake HTTP session.

The schedule spans a day or more (an hour-long outage loses nothing), every non-2xx but 410 is
retried (refusals on a shorter budget), ``Retry-After`` is honoured up to hours, each attempt
is signed after its concurrency slot is taken, a subscriber in retry never makes the consumer
wait, and the API's 503s say a plain reason.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast

import aiohttp
import psycopg
import pytest
from kafka.errors import KafkaTimeoutError
from standardwebhooks import Webhook
from structlog.testing import capture_logs

from delivery.process import retry_policy
from delivery.subscriber_queues import SubscriberQueues
from delivery.webhooks import (
    WEBHOOK_TIMESTAMP_HEADER,
    DeliveryResult,
    RetryPolicy,
    WebhookDispatcher,
    deliver,
)
from domain.errors import UnavailableError
from domain.subscriptions import secret_text
from runtime.settings import Settings
from schemas.alerts import Alert
from schemas.dead_letters import DeadLetter
from tests.api_fakes import COMPANY, REFINERY, running_api
from tests.unit.test_webhooks import SECRET, ev, make_alert

URL = "https://town.example/hook"
HOUR = 3600.0


class Lowest(random.Random):
    """Jitter that always picks the shortest delay: the schedule's worst case for an outage."""

    def random(self) -> float:
        return 0.0


@dataclass
class Clock:
    """Simulated Unix time; a backoff sleep advances it."""

    t: float = 1_767_225_600.0
    delays: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.t

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self.t += delay


@dataclass
class _Content:
    body: bytes

    async def read(self, n: int = -1) -> bytes:
        return self.body[:n] if n >= 0 else self.body


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    reason: str = "X"
    content: _Content = field(default_factory=lambda: _Content(b""))

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


@dataclass
class Request:
    headers: dict[str, str]
    body: bytes
    timeout: aiohttp.ClientTimeout


@dataclass
class FakeSession:
    """Answers each POST with ``answer(request number)``: (status, headers); records requests."""

    answer: Callable[[int], tuple[int, dict[str, str]]]
    requests: list[Request] = field(default_factory=list)

    def post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: Any,
             allow_redirects: bool) -> _Response:  # fmt: skip
        assert not allow_redirects
        self.requests.append(Request(dict(headers), data, timeout))
        status, extra = self.answer(len(self.requests))
        return _Response(status, extra)


def session(answer: Callable[[int], tuple[int, dict[str, str]]]) -> FakeSession:
    return FakeSession(answer)


def send(fake: FakeSession, policy: RetryPolicy, clock: Clock, **kwargs: Any) -> DeliveryResult:
    coro = deliver(
        cast(aiohttp.ClientSession, fake), ev(URL), make_alert(), policy=policy,
        sleep=clock.sleep, now=clock, rng=Lowest(), **kwargs,
    )  # fmt: skip
    return asyncio.run(coro)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


# --- 1. the schedule ---------------------------------------------------------------------------


def test_the_default_policy_spans_a_day_and_outlasts_an_hour_long_outage() -> None:
    policy = retry_policy(Settings())
    clock = Clock()
    start = clock.t

    def down_for_an_hour(n: int) -> tuple[int, dict[str, str]]:
        return (503, {}) if clock.t < start + HOUR else (204, {})

    result = send(session(down_for_an_hour), policy, clock)
    assert result.delivered
    assert clock.t >= start + HOUR
    shortest, longest = policy.span_s()
    assert shortest >= 24 * HOUR  # even with the shortest jitter every time
    assert longest <= 3 * 24 * HOUR  # well within the alerts topic's 7-day retention
    # the worst case for held alerts (every answer a capped Retry-After) stays within it too
    assert policy.max_attempts * max(policy.max_delay_s, policy.max_retry_after_s) < 7 * 24 * HOUR


def test_a_receiver_refusing_for_an_hour_still_gets_the_alert() -> None:
    """A misconfigured receiver (401/404) fixed within the hour loses nothing either."""
    policy = retry_policy(Settings())
    clock = Clock()
    start = clock.t
    result = send(
        session(lambda n: (404, {}) if clock.t < start + HOUR else (200, {})), policy, clock
    )
    assert result.delivered
    assert policy.span_s(refused=True)[0] > HOUR


# --- 2. every non-2xx but 410 is retried -------------------------------------------------------


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422, 301, 307])
def test_every_failure_but_410_is_retried(code: int) -> None:
    fake = session(lambda n: (code, {}) if n == 1 else (204, {}))
    result = send(fake, RetryPolicy(), Clock())
    assert (result.delivered, result.attempts, len(fake.requests)) == (True, 2, 2)


def test_refusals_have_the_shorter_budget_and_410_stops_at_once() -> None:
    policy = RetryPolicy()
    refused = send(session(lambda n: (422, {})), policy, Clock())
    assert (refused.delivered, refused.attempts, refused.permanent) == (
        False, policy.max_attempts_refused, True,
    )  # fmt: skip
    assert refused.dead_letter(make_alert()).reason == "refused"
    failing = send(session(lambda n: (503, {})), policy, Clock())
    assert (failing.attempts, failing.permanent) == (policy.max_attempts, False)
    assert failing.dead_letter(make_alert()).reason == "exhausted"
    gone = send(session(lambda n: (410, {})), policy, Clock())
    assert (gone.attempts, gone.permanent, gone.gone) == (1, True, True)


# --- 3. Retry-After ----------------------------------------------------------------------------


def test_retry_after_is_honoured_up_to_two_hours() -> None:
    def after(value: str) -> list[float]:
        clock = Clock()
        fake = session(lambda n: (503, {"Retry-After": value}) if n == 1 else (204, {}))
        assert send(fake, RetryPolicy(), clock).delivered
        return clock.delays

    assert after("3600") == [3600.0]
    assert after("864000") == [RetryPolicy().max_retry_after_s] == [7200.0]


# --- 4. signed after the concurrency slot ------------------------------------------------------


def test_the_signature_is_taken_after_waiting_for_a_concurrency_slot() -> None:
    clock = Clock(t=time.time() - 301.0)  # ends at the real time: the real verifier judges it

    async def scenario() -> FakeSession:
        limiter = asyncio.Semaphore(1)
        await limiter.acquire()  # another subscriber's attempt holds the only slot

        async def other() -> None:
            await asyncio.sleep(0.05)
            clock.t += 301.0  # longer than a verifier's 5-minute tolerance
            limiter.release()

        fake = session(lambda n: (204, {}))
        waiting = asyncio.create_task(other())
        result = await deliver(
            cast(aiohttp.ClientSession, fake), ev(URL), make_alert(), policy=RetryPolicy(),
            sleep=clock.sleep, now=clock, limiter=limiter,
        )  # fmt: skip
        await waiting
        assert result.delivered
        return fake

    (request,) = run(scenario()).requests
    assert int(request.headers[WEBHOOK_TIMESTAMP_HEADER]) == int(clock.t)
    Webhook(secret_text(SECRET)).verify(request.body, request.headers)


# --- 5. timeout --------------------------------------------------------------------------------


def test_the_default_request_timeout_is_15_s() -> None:
    assert RetryPolicy().timeout_s == Settings().webhook_timeout_s == 15.0
    fake = session(lambda n: (204, {}))
    send(fake, retry_policy(Settings()), Clock())
    assert fake.requests[0].timeout.total == 15.0


# --- held retries never block the consumer -----------------------------------------------------


def test_the_dispatcher_says_which_webhooks_are_retrying() -> None:
    async def scenario() -> tuple[list[bool], bool, DeliveryResult | None]:
        seen: list[bool] = []
        d: WebhookDispatcher

        async def sleep(delay: float) -> None:
            seen.append(d.retrying(URL))

        async def dead(alert: Alert, result: DeliveryResult) -> None:
            raise AssertionError("not dead-lettered")

        d = WebhookDispatcher(
            cast(aiohttp.ClientSession, session(lambda n: (503, {}) if n < 3 else (204, {}))),
            resolve=lambda alert: ev(URL, alert), policy=RetryPolicy(), dead_letter=dead,
            sleep=sleep,
        )  # fmt: skip
        before = d.retrying(URL)
        result = await d.dispatch(make_alert())
        return [before, *seen], d.retrying(URL), result

    seen, after, result = run(scenario())
    assert result is not None
    assert result.delivered
    assert seen == [False, True, True]  # backing off between the attempts
    assert not after


def test_a_subscriber_in_retry_never_makes_the_consumer_wait() -> None:
    async def scenario() -> tuple[list[object], list[str], int]:
        retrying: set[str] = set()
        hang = asyncio.Event()  # the failing endpoint's head alert backs off for hours
        delivered: list[str] = []
        overflowed: list[object] = []

        async def handle(item: object) -> None:
            assert isinstance(item, str)
            if item.startswith("down"):
                await hang.wait()
            delivered.append(item)

        async def overflow(item: object) -> None:
            overflowed.append(item)

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=overflow, max_pending=2, max_per_subscriber=100, max_retrying=3,
            retrying=lambda s: s in retrying,
        )  # fmt: skip
        for i in range(2):  # fills max_pending while the endpoint still looks healthy
            await queues.put("https://down.example", "p0", i, f"down-{i}")
        retrying.add("https://down.example")  # its first attempt failed: it backs off
        for i in range(2, 6):  # never waited for: held up to max_retrying, then dead-lettered
            await asyncio.wait_for(queues.put("https://down.example", "p0", i, f"down-{i}"), 1)
        for i in range(6, 10):  # the other subscribers flow
            await asyncio.wait_for(queues.put("https://up.example", "p0", i, f"up-{i}"), 1)
        await asyncio.sleep(0.05)
        committed = queues.offsets.committable()["p0"]
        await queues.close()
        return overflowed, delivered, committed

    overflowed, delivered, committed = run(scenario())
    assert delivered == ["up-6", "up-7", "up-8", "up-9"]
    assert overflowed == ["down-3", "down-4", "down-5"]  # three held in all for the failing one
    assert committed == 0  # nothing committed past the alert in retry: a restart redelivers it


# --- 6. the API's 503s -------------------------------------------------------------------------

_INTERNALS = re.compile(
    r"Kafka\w*Error|symbiosis\.(readings|registry)|OperationalError|db\.internal"
)


def test_an_outage_answers_a_plain_503_and_logs_what_kafka_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(topic: str, key: str | None, value: bytes | None) -> object:
        e = KafkaTimeoutError("Failed to update metadata after 30.0 secs.")
        raise UnavailableError(f"Kafka did not take a record for {topic}: {e}") from e

    rows = [{"meter": "gas-1", "ts": "2026-12-05T07:00:00Z", "value": 1, "unit": "m^3/h"}]
    site = REFINERY.model_dump(mode="json")
    with running_api() as api, capture_logs() as logs:
        monkeypatch.setattr(api.kafka, "send", refuse)
        answers = [
            api.client.post("/v1/readings", json={"readings": rows}, headers=COMPANY),
            api.client.put(f"/v1/sites/{REFINERY.id}", json=site, headers=COMPANY),
        ]

        def down(items: object) -> None:
            raise psycopg.OperationalError('connection to server at "db.internal" failed')

        services = api.client.app.state.services  # type: ignore[attr-defined]
        monkeypatch.setattr(services, "store_retirements", down)
        database = api.client.put(f"/v1/sites/{REFINERY.id}", json=site, headers=COMPANY)
    for r in answers:
        assert r.status_code == 503
        assert r.json()["detail"] == "not accepted: Kafka is unavailable; retry after 5 s"
        assert not _INTERNALS.search(r.text)
        assert r.headers["Retry-After"] == "5"
    assert database.status_code == 503
    assert database.json()["detail"] == "not accepted: the database is unavailable; retry after 5 s"
    assert not _INTERNALS.search(database.text)
    logged = " ".join(str(entry.get("error", "")) for entry in logs)
    assert "KafkaTimeoutError: Failed to update metadata" in logged  # the details: in the log
    assert "symbiosis.readings" in logged
    assert "db.internal" in logged


def test_a_dead_letter_after_the_refusal_budget_says_refused() -> None:
    result = send(session(lambda n: (401, {})), RetryPolicy(max_attempts_refused=2), Clock())
    letter: DeadLetter = result.dead_letter(make_alert())
    assert (letter.attempts, letter.last_status, letter.reason, letter.permanent) == (
        2, 401, "refused", True,
    )  # fmt: skip
