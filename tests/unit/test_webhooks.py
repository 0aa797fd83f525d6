"""Webhook delivery against a real aiohttp server on 127.0.0.1 (real sockets, no HTTP mocks)."""

from __future__ import annotations

import asyncio
import base64
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from delivery.webhooks import (
    ALERT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    LEGACY_SIGNATURE_HEADER,
    WEBHOOK_ID_HEADER,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
    AttemptOutcome,
    DeadLetterError,
    DeliveryResult,
    RetryPolicy,
    WebhookDispatcher,
    deliver,
    parse_retry_after,
    sign,
    sign_standard,
    standard_signature_header,
    verify,
    verify_header,
    webhook_headers,
)
from domain.errors import ConfigurationError, PipelineError
from domain.subscriptions import WebhookEvent, gone_state, secret_text
from domain.url_guard import UrlGuard
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.common import ResourceKind
from schemas.dead_letters import DeadLetter

SECRET = b"s3cret-shared-with-subscriber"
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
FAST = RetryPolicy(max_attempts=4, base_delay_s=0.5, max_delay_s=10.0, jitter=0.0, timeout_s=2.0)


def make_alert(key: str = "a1:opened:1", need: str = "town-heat") -> Alert:
    return Alert(
        alert_id="a1",
        idempotency_key=key,
        event=AlertEvent.OPENED,
        stream="ps-steam",
        need=need,
        kind=ResourceKind.STEAM,
        available=30.0,
        unit="MW",
        quantity=12.0,
        need_unit="MW",
        distance_km=3.2,
        benefit=Benefit(co2e_t_per_yr=1234.5),
        ts=datetime(2026, 1, 1, tzinfo=UTC),
    )


def ev(
    url: str, alert: Alert | None = None, *, fmt: str = "standard", version: int = 1
) -> WebhookEvent:
    """What a subscriber gets: here the transport is under test, so any body will do."""
    alert = alert or make_alert()
    sequence = alert.idempotency_key.rsplit(":", 1)[-1]
    return WebhookEvent(
        url=url, body=alert.model_dump_json().encode(), keys=(SECRET,),
        alert_id=alert.alert_id, idempotency_key=alert.idempotency_key,
        webhook_id=f"msg_{alert.alert_id}_{alert.event.value}_{sequence}",
        event=alert.event.value, format=fmt, need=alert.need,  # type: ignore[arg-type]
        key_id="0123456789abcdef", secret_version=version,
    )  # fmt: skip


def verified(req: Received, secret: bytes = SECRET) -> Any:
    """What a Standard Webhooks receiver does: the package's own verifier, on the raw body."""
    return Webhook(secret_text(secret)).verify(req.body, req.headers)


def to(url: str) -> Callable[[Alert], WebhookEvent | None]:
    """A resolver sending every alert of need town-heat to ``url``."""
    return lambda alert: ev(url, alert) if alert.need == "town-heat" else None


@dataclass
class Sleeps:
    """Fake sleep: records each delay and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


Script = Callable[[int], Awaitable[web.StreamResponse]]


@dataclass
class Receiver:
    """A subscriber: records every request and answers with ``script(n)`` (n: 1-based)."""

    script: Script
    received: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    in_flight: int = 0
    max_in_flight: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(dict(request.headers), body))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self.script(len(self.received))
        finally:
            self.in_flight -= 1


@asynccontextmanager
async def serve(script: Script) -> AsyncIterator[Receiver]:
    receiver = Receiver(script)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hook"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await runner.cleanup()


def statuses(*codes: int, headers: dict[str, str] | None = None) -> Script:
    async def script(n: int) -> web.StreamResponse:
        code = codes[min(n, len(codes)) - 1]
        return web.Response(status=code, text=f"status {code}", headers=headers or {})

    return script


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


# --- signatures --------------------------------------------------------------------------------


def test_signature_verifies_and_rejects_wrong_secret_tampering_and_stale() -> None:
    body = make_alert().model_dump_json().encode()
    ts = int(NOW)
    sig = sign(SECRET, ts, body)
    assert len(sig) == 64
    assert verify(SECRET, ts, body, sig, now=NOW + 10)
    assert not verify(b"wrong", ts, body, sig, now=NOW)
    assert not verify(SECRET, ts, body + b" ", sig, now=NOW)
    assert not verify(SECRET, ts + 1, body, sig, now=NOW)  # timestamp is inside the MAC
    assert not verify(SECRET, ts, body, sig, now=NOW + 301)  # stale
    assert not verify(SECRET, ts, body, sig, now=NOW - 301)  # from the future
    assert verify(SECRET, ts, body, sig, tolerance_s=3600, now=NOW + 3000)
    assert not verify(SECRET, ts, body, "zz-not-hex-é", now=NOW)


def test_signature_header_parsing() -> None:
    body = b'{"x":1}'
    ts = int(NOW)
    good = sign(SECRET, ts, body)
    assert verify_header(SECRET, f"t={ts},v1={good}", body, now=NOW)
    assert verify_header(SECRET, f"t={ts}, v1={'0' * 64}, v1={good}", body, now=NOW)  # rotation
    for bad in ["", "garbage", f"v1={good}", f"t={ts}", f"t=abc,v1={good}", f"t={ts},v1"]:
        assert not verify_header(SECRET, bad, body, now=NOW), bad


def test_standard_signatures_pass_the_standardwebhooks_verifier() -> None:
    """Our signer against the package's verifier: one key, two keys (a rotation), refusals."""
    body = make_alert().model_dump_json().encode()
    msg_id, now = "msg_alp-0011223344556677_opened_1", int(time.time())
    old_key, new_key = b"k" * 32, b"n" * 32
    one = {
        WEBHOOK_ID_HEADER: msg_id, WEBHOOK_TIMESTAMP_HEADER: str(now),
        WEBHOOK_SIGNATURE_HEADER: standard_signature_header([new_key], msg_id, now, body),
    }  # fmt: skip
    two = {**one, WEBHOOK_SIGNATURE_HEADER: standard_signature_header(
        [new_key, old_key], msg_id, now, body)}  # fmt: skip
    assert one[WEBHOOK_SIGNATURE_HEADER].startswith("v1,")
    assert len(base64.b64decode(one[WEBHOOK_SIGNATURE_HEADER][3:])) == 32
    assert len(two[WEBHOOK_SIGNATURE_HEADER].split(" ")) == 2
    assert Webhook(secret_text(new_key)).verify(body, one) == make_alert().model_dump(mode="json")
    # during a rotation both the new and the old secret verify the same request
    for key in (new_key, old_key):
        Webhook(secret_text(key)).verify(body, two)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(old_key)).verify(body, one)  # only the new key signed it
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(b"x" * 32)).verify(body, two)  # a stranger's key
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(new_key)).verify(body.replace(b"30.0", b"31.0"), one)  # tampered
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_text(new_key)).verify(body, {**one, WEBHOOK_ID_HEADER: "msg_other"})
    stale = now - 301
    old = {**one, WEBHOOK_TIMESTAMP_HEADER: str(stale),
           WEBHOOK_SIGNATURE_HEADER: sign_standard(new_key, msg_id, stale, body)}  # fmt: skip
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret_text(new_key)).verify(body, old)


def test_delivered_request_follows_standard_webhooks() -> None:
    alert = make_alert()

    async def scenario() -> tuple[DeliveryResult, list[Received]]:
        async with serve(statuses(204)) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), alert, policy=FAST)
            return result, rx.received

    result, received = run(scenario())
    assert result == DeliveryResult(
        delivered=True, attempts=1, status=204, error=None, permanent=False, url=result.url
    )
    (req,) = received
    assert req.headers["Content-Type"] == "application/json"
    assert req.headers[WEBHOOK_ID_HEADER] == "msg_a1_opened_1"
    assert abs(int(req.headers[WEBHOOK_TIMESTAMP_HEADER]) - time.time()) < 60
    assert Alert.model_validate(verified(req)) == alert
    # none of the deprecated headers for a standard subscription
    for legacy in (LEGACY_SIGNATURE_HEADER, IDEMPOTENCY_HEADER, ALERT_ID_HEADER,
                   "Symbiosis-Event", "Symbiosis-Attempt"):  # fmt: skip
        assert legacy not in req.headers
    with pytest.raises(WebhookVerificationError):
        verified(req, b"another-secret")
    with pytest.raises(WebhookVerificationError):
        verified(Received(req.headers, req.body.replace(b"30.0", b"31.0")))


def test_a_legacy_subscription_gets_the_old_headers_beside_the_standard_ones() -> None:
    alert = make_alert()

    async def scenario() -> list[Received]:
        async with serve(statuses(204)) as rx, aiohttp.ClientSession() as session:
            await deliver(session, ev(rx.url, fmt="legacy"), alert, policy=FAST)
            return rx.received

    (req,) = run(scenario())
    assert Alert.model_validate(verified(req)) == alert
    assert req.headers[IDEMPOTENCY_HEADER] == alert.idempotency_key
    assert req.headers[ALERT_ID_HEADER] == alert.alert_id
    assert req.headers["Symbiosis-Event"] == "opened"
    assert req.headers["Symbiosis-Attempt"] == "1"
    header = req.headers[LEGACY_SIGNATURE_HEADER]
    ts = int(req.headers[WEBHOOK_TIMESTAMP_HEADER])
    assert header.startswith(f"t={ts},v1=")  # one timestamp for both schemes
    assert verify_header(SECRET, header, req.body)
    assert not verify_header(b"another-secret", header, req.body)
    assert not verify_header(SECRET, header, req.body.replace(b"30.0", b"31.0"))
    assert not verify_header(SECRET, header, req.body, now=ts + 3600)


def test_headers_carry_one_signature_per_key_during_a_rotation() -> None:
    event = ev("https://x.example/hook")
    rotated = WebhookEvent(**{**_fields(event), "keys": (b"new-key", SECRET)})
    headers = webhook_headers(rotated, int(time.time()), 1)
    assert len(headers[WEBHOOK_SIGNATURE_HEADER].split(" ")) == 2
    req = Received(headers, rotated.body)
    verified(req)  # the old secret still verifies
    verified(req, b"new-key")


def _fields(event: WebhookEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in WebhookEvent.__dataclass_fields__}


# --- retries -----------------------------------------------------------------------------------


def test_retries_5xx_then_succeeds() -> None:
    async def scenario() -> tuple[DeliveryResult, Sleeps, int]:
        sleeps = Sleeps()
        async with serve(statuses(500, 503, 200)) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=FAST, sleep=sleeps)
            ids = {r.headers[WEBHOOK_ID_HEADER] for r in rx.received}
            assert ids == {"msg_a1_opened_1"}  # the same id on every retry
            for r in rx.received:  # each attempt is signed afresh
                verified(r)
            return result, sleeps, len(rx.received)

    result, sleeps, requests = run(scenario())
    assert (result.delivered, result.attempts, result.status, requests) == (True, 3, 200, 3)
    assert sleeps.delays == [0.5, 1.0]


def test_429_honours_retry_after_seconds_and_caps_it() -> None:
    async def attempt(retry_after: str) -> tuple[DeliveryResult, list[float]]:
        sleeps = Sleeps()
        script = statuses(429, 200, headers={"Retry-After": retry_after})
        async with serve(script) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=FAST, sleep=sleeps)
        return result, sleeps.delays

    result, delays = run(attempt("7"))
    assert (result.delivered, result.attempts, delays) == (True, 2, [7.0])
    result, delays = run(attempt("3600"))  # an hour: honoured, far beyond the backoff cap
    assert (result.delivered, delays) == (True, [3600.0])
    result, delays = run(attempt("864000"))  # ten days: capped
    assert (result.delivered, delays) == (True, [FAST.max_retry_after_s])


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:42 GMT", now=NOW) == 42.0
    assert parse_retry_after("Thu, 01 Jan 2025 00:00:00 GMT", now=NOW) == 0.0
    assert parse_retry_after("12", now=NOW) == 12.0
    assert parse_retry_after("soon", now=NOW) is None
    assert parse_retry_after(None, now=NOW) is None


@pytest.mark.parametrize("code", [400, 401, 403, 404, 413, 422, 301])
def test_client_errors_are_retried(code: int) -> None:
    async def scenario() -> tuple[DeliveryResult, list[float], int]:
        sleeps = Sleeps()
        async with serve(statuses(code, 200)) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=FAST, sleep=sleeps)
            return result, sleeps.delays, len(rx.received)

    result, delays, requests = run(scenario())
    assert (result.delivered, result.attempts, result.status, delays, requests) == (
        True, 2, 200, [0.5], 2,
    )  # fmt: skip


def test_410_gone_is_not_retried() -> None:
    async def scenario() -> tuple[DeliveryResult, list[float], int]:
        sleeps = Sleeps()
        async with serve(statuses(410, 200)) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=FAST, sleep=sleeps)
            return result, sleeps.delays, len(rx.received)

    result, delays, requests = run(scenario())
    assert (result.delivered, result.permanent, result.attempts, result.status) == (
        False, True, 1, 410,
    )  # fmt: skip
    assert (delays, requests) == ([], 1)
    assert result.error is not None
    assert result.error.startswith("HTTP 410")


def test_timeouts_are_retried() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1, jitter=0.0, timeout_s=0.2)

    async def scenario() -> tuple[DeliveryResult, list[float]]:
        sleeps = Sleeps()

        async def slow_first(n: int) -> web.StreamResponse:
            if n == 1:
                await asyncio.wait_for(rx.release.wait(), timeout=2.0)
            return web.Response(status=200)

        async with serve(slow_first) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=policy, sleep=sleeps)
        return result, sleeps.delays

    result, delays = run(scenario())
    assert (result.delivered, result.attempts, delays) == (True, 2, [0.1])


# --- dispatcher --------------------------------------------------------------------------------


@dataclass
class DeadLetters:
    items: list[DeadLetter] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, alert: Alert, result: DeliveryResult) -> None:
        if self.fail:
            raise RuntimeError("kafka down")
        self.items.append(result.dead_letter(alert, ts=datetime(2026, 1, 1, 1, tzinfo=UTC)))


def test_a_404_for_good_is_retried_then_dead_lettered_as_refused() -> None:
    async def scenario() -> tuple[DeliveryResult | None, WebhookDispatcher, DeadLetters, str]:
        dead = DeadLetters()
        async with serve(statuses(404)) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session, resolve=to(rx.url), policy=FAST, dead_letter=dead, sleep=Sleeps()
            )
            return await d.dispatch(make_alert()), d, dead, rx.url

    result, d, dead, url = run(scenario())
    assert result is not None
    assert (result.delivered, result.permanent, result.attempts, result.status) == (
        False, True, FAST.max_attempts, 404,
    )  # fmt: skip
    (letter,) = dead.items
    assert letter.alert == make_alert()
    assert (letter.url, letter.attempts, letter.last_status, letter.permanent, letter.reason) == (
        url, FAST.max_attempts, 404, True, "refused",
    )  # fmt: skip
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter
    assert (d.stats.attempts, d.stats.failed_permanent, d.stats.dead_lettered) == (4, 1, 1)


def test_connection_refused_retries_max_attempts_then_dead_letters() -> None:
    # a bound socket that does not listen: connecting to it is refused, and no one can take it
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/hook"

        async def scenario() -> tuple[DeliveryResult | None, WebhookDispatcher, Sleeps]:
            dead, sleeps = DeadLetters(), Sleeps()
            async with aiohttp.ClientSession() as session:
                d = WebhookDispatcher(
                    session, resolve=to(url), policy=FAST, dead_letter=dead, sleep=sleeps
                )
                result = await d.dispatch(make_alert())
                assert len(dead.items) == 1
                assert not dead.items[0].permanent
                return result, d, sleeps

        result, d, sleeps = run(scenario())
    assert result is not None
    assert (result.delivered, result.permanent, result.attempts, result.status) == (
        False,
        False,
        FAST.max_attempts,
        None,
    )
    assert result.error is not None
    assert "Connect" in result.error
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert (d.stats.attempts, d.stats.retryable_attempts, d.stats.dead_lettered) == (4, 4, 1)


def test_dead_letter_failure_raises_so_alert_is_not_committed() -> None:
    async def scenario() -> None:
        async with serve(statuses(410)) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session, resolve=to(rx.url), policy=FAST, dead_letter=DeadLetters(fail=True)
            )
            with pytest.raises(DeadLetterError, match="kafka down") as info:
                await d.dispatch(make_alert())
            assert isinstance(info.value, PipelineError)
            assert isinstance(info.value.__cause__, RuntimeError)
            assert d.stats.dead_lettered == 0

    run(scenario())


def test_same_alert_twice_carries_same_webhook_id() -> None:
    async def scenario() -> list[Received]:
        async with serve(statuses(200)) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session, resolve=to(rx.url), policy=FAST, dead_letter=DeadLetters()
            )
            for _ in range(2):
                result = await d.dispatch(make_alert())
                assert result is not None
                assert result.delivered
            other = await d.dispatch(make_alert(key="a1:updated:2"))
            assert other is not None
            assert other.delivered
            return rx.received

    received = run(scenario())
    keys = [r.headers[WEBHOOK_ID_HEADER] for r in received]
    assert keys == ["msg_a1_opened_1", "msg_a1_opened_1", "msg_a1_opened_2"]
    assert received[0].body == received[1].body
    seen: set[str] = set()
    processed = []
    for k in keys:  # what a receiver does: drop a key it has seen
        if k not in seen:
            seen.add(k)
            processed.append(k)
    assert processed == ["msg_a1_opened_1", "msg_a1_opened_2"]


def test_alert_without_webhook_event_is_skipped() -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session, resolve=lambda alert: None, policy=FAST, dead_letter=DeadLetters()
            )
            assert await d.dispatch(make_alert()) is None
            assert d.stats.attempts == 0

    run(scenario())


def test_guard_refuses_private_target_permanently_without_connecting() -> None:
    async def scenario() -> tuple[DeliveryResult, int]:
        async with serve(statuses(204)) as rx, aiohttp.ClientSession() as session:
            result = await deliver(
                session, ev(rx.url), make_alert(), policy=FAST, guard=UrlGuard(require_https=False)
            )
            return result, len(rx.received)

    result, received = run(scenario())
    assert (result.delivered, result.permanent, received) == (False, True, 0)
    assert result.error is not None
    assert "loopback" in result.error


def test_concurrency_is_bounded() -> None:
    async def scenario() -> tuple[list[DeliveryResult | None], int, int]:
        async def slowish(n: int) -> web.StreamResponse:
            await asyncio.sleep(0.02)
            return web.Response(status=200)

        async with serve(slowish) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session,
                resolve=to(rx.url),
                policy=FAST,
                dead_letter=DeadLetters(),
                max_concurrency=2,
            )
            results = await asyncio.gather(
                *(d.dispatch(make_alert(key=f"k{i}")) for i in range(10))
            )
            return list(results), rx.max_in_flight, d.stats.delivered

    results, max_in_flight, delivered = run(scenario())
    assert all(r is not None and r.delivered for r in results)
    assert max_in_flight <= 2
    assert delivered == 10


def test_observer_sees_attempts_and_results() -> None:
    @dataclass
    class Recorder:
        events: list[tuple[str, Any]] = field(default_factory=list)

        def on_attempt(self, outcome: AttemptOutcome, status: int | None, latency_s: float) -> None:
            assert latency_s >= 0
            self.events.append(("attempt", (outcome, status)))

        def on_result(self, result: DeliveryResult) -> None:
            self.events.append(("result", result.delivered))

        def on_dead_letter(self, result: DeliveryResult) -> None:
            self.events.append(("dead", result.status))

    async def scenario() -> Recorder:
        rec = Recorder()
        async with serve(statuses(502, 410)) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(
                session,
                resolve=to(rx.url),
                policy=FAST,
                dead_letter=DeadLetters(),
                observer=rec,
                sleep=Sleeps(),
            )
            await d.dispatch(make_alert())
        return rec

    assert run(scenario()).events == [
        ("attempt", (AttemptOutcome.RETRYABLE, 502)),
        ("attempt", (AttemptOutcome.PERMANENT, 410)),
        ("result", False),
        ("dead", 410),
    ]


def test_invalid_url_is_permanent() -> None:
    async def scenario() -> DeliveryResult:
        async with aiohttp.ClientSession() as session:
            return await deliver(session, ev("ftp://example.org/x"), make_alert(), policy=FAST)

    result = run(scenario())
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)


# --- backoff -----------------------------------------------------------------------------------


def test_backoff_grows_and_is_capped() -> None:
    plain = RetryPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=10.0, jitter=0.0)
    assert [plain.delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 10, 10, 10]
    assert plain.delay(10_000) == 10.0  # no overflow

    full = RetryPolicy(base_delay_s=0.5, max_delay_s=10.0, jitter=1.0)
    a = [full.delay(n, random.Random(7)) for n in range(1, 12)]
    b = [full.delay(n, random.Random(7)) for n in range(1, 12)]
    assert a == b  # deterministic with a seeded rng
    for n, d in enumerate(a, start=1):
        assert 0.0 <= d <= full.ceiling(n) <= 10.0

    half = RetryPolicy(base_delay_s=1.0, max_delay_s=30.0, jitter=0.5)
    rng = random.Random(1)
    for n in range(1, 10):
        d = half.delay(n, rng)
        assert half.ceiling(n) / 2 <= d <= half.ceiling(n)


def test_jittered_delays_are_used_between_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=1.0, max_delay_s=5.0, jitter=1.0)

    async def scenario() -> list[float]:
        sleeps = Sleeps()
        async with serve(statuses(500)) as rx, aiohttp.ClientSession() as session:
            await deliver(
                session,
                ev(rx.url),
                make_alert(),
                policy=policy,
                sleep=sleeps,
                rng=random.Random(3),
            )
        return sleeps.delays

    rng = random.Random(3)
    assert run(scenario()) == [policy.delay(1, rng), policy.delay(2, rng)]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_s": -1},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"timeout_s": 0},
    ],
)
def test_policy_rejects_bad_values(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**kwargs)


def test_empty_secret_is_refused() -> None:
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            empty = WebhookEvent(url="http://127.0.0.1:9/x", body=b"{}", keys=(b"",))
            with pytest.raises(ConfigurationError):
                await deliver(session, empty, make_alert(), policy=FAST)

    run(scenario())


def test_the_connect_time_resolver_refuses_a_name_that_resolves_inside() -> None:
    """DNS rebinding: the name passed at registration, then resolves to the metadata address."""
    from aiohttp.abc import ResolveResult

    from delivery.process import GuardedResolver

    class Rebound:
        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[ResolveResult]:
            return [
                ResolveResult(hostname=host, host="169.254.169.254", port=port, family=2,
                              proto=0, flags=0)
            ]  # fmt: skip

        async def close(self) -> None:
            pass

    async def scenario() -> DeliveryResult:
        guard = UrlGuard(require_https=False)
        resolver = GuardedResolver(guard)
        resolver._inner = Rebound()  # type: ignore[assignment]
        connector = aiohttp.TCPConnector(resolver=resolver)
        async with aiohttp.ClientSession(connector=connector) as session:
            return await deliver(
                session, ev("http://rebind.example/hook?token=s3cret"), make_alert(),
                policy=FAST, guard=guard,
            )  # fmt: skip

    result = run(scenario())
    assert (result.delivered, result.permanent, result.attempts) == (False, True, 1)
    assert result.error is not None
    assert "link-local" in result.error
    assert "s3cret" not in result.url  # URLs are reported without their query


# --- Standard Webhooks status handling ---------------------------------------------------------


@pytest.mark.parametrize("code", [429, 502, 504])
def test_throttling_statuses_are_retried_and_retry_after_is_honoured(code: int) -> None:
    async def scenario() -> tuple[DeliveryResult, list[float]]:
        sleeps = Sleeps()
        script = statuses(code, code, 200, headers={"Retry-After": "4"})
        async with serve(script) as rx, aiohttp.ClientSession() as session:
            result = await deliver(session, ev(rx.url), make_alert(), policy=FAST, sleep=sleeps)
        return result, sleeps.delays

    result, delays = run(scenario())
    assert (result.delivered, result.attempts, delays) == (True, 3, [4.0, 4.0])


@dataclass
class Gone:
    calls: list[tuple[Alert, WebhookEvent, DeliveryResult]] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, alert: Alert, event: WebhookEvent, result: DeliveryResult) -> None:
        self.calls.append((alert, event, result))
        if self.fail:
            raise RuntimeError("kafka down")


@pytest.mark.parametrize("recording_fails", [False, True])
def test_410_gone_disables_the_subscription(recording_fails: bool) -> None:
    """No retry, dead-lettered as gone, recorded once, nothing more sent to that subscription;
    the same need after a rotation (another subscription) is sent to again."""
    second = make_alert(key="a1:updated:2")

    async def scenario() -> tuple[WebhookDispatcher, DeadLetters, Gone, list[Any], int]:
        dead, gone = DeadLetters(), Gone(fail=recording_fails)
        async with serve(statuses(410, 200)) as rx, aiohttp.ClientSession() as session:
            d = WebhookDispatcher(session, resolve=to(rx.url), policy=FAST, dead_letter=dead,
                                  sleep=Sleeps(), on_gone=gone)  # fmt: skip
            results = [await d.dispatch(make_alert()), await d.dispatch(second)]
            sent_before_rotation = len(rx.received)
            results.append(await d.dispatch(second, ev(rx.url, second, version=2)))
            return d, dead, gone, results, sent_before_rotation

    d, dead, gone, results, sent = run(scenario())
    first, skipped, rotated = results
    assert first is not None
    assert (first.gone, first.attempts, first.permanent, first.status) == (True, 1, True, 410)
    assert skipped is None
    assert sent == 1
    assert rotated is not None
    assert rotated.delivered
    (letter,) = dead.items
    assert (letter.reason, letter.last_status, letter.permanent) == ("gone", 410, True)
    ((alert, event, result),) = gone.calls
    assert (alert, event.secret_version, result.status) == (make_alert(), 1, 410)
    assert (d.stats.disabled, d.stats.skipped_disabled, d.stats.dead_lettered) == (1, 1, 1)


def test_the_gone_record_names_the_subscription_it_disables() -> None:
    event = ev("https://partner.example/hook")
    state = gone_state(event, 410, datetime(2026, 1, 1, tzinfo=UTC))
    assert (state.need, state.key_id, state.secret_version, str(state.webhook)) == (
        "town-heat", "0123456789abcdef", 1, "https://partner.example/hook",
    )  # fmt: skip
    assert (state.disabled.reason, state.disabled.status) == ("gone", 410)


def test_dead_letters_say_why() -> None:
    ts = datetime(2026, 1, 1, tzinfo=UTC)

    def reason(**kw: Any) -> str | None:
        base: dict[str, Any] = {"delivered": False, "attempts": 1, "status": None,
                                "error": "x", "permanent": False, "url": "u"}  # fmt: skip
        return DeliveryResult(**{**base, **kw}).dead_letter(make_alert(), ts=ts).reason

    assert reason(status=410, permanent=True) == "gone"
    assert reason(status=404, permanent=True) == "refused"
    assert reason(status=503) == "exhausted"
    assert reason(attempts=0, reason="backlog_full") == "backlog_full"
