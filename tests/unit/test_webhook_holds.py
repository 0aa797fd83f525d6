"""Held webhook alerts stay bounded and correct: what a review of the retry redesign found.

A hostile ``Retry-After`` or any surprise of one attempt never stops the process; an alert is
given up by its age (so a queue behind a dead endpoint, or daily restarts, cannot hold a
partition's offset past the topic's retention); refusals have their own count; a
``Retry-After: 0`` does not burn the schedule; a held alert follows its subscription's current
URL and keys; a rebalance mid-batch cannot make the commit pass an alert in retry; failing
endpoints cannot take every request slot. No sockets: scripted fake sessions and consumers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast

import aiohttp
import pytest
from aiokafka.structs import OffsetAndMetadata
from pydantic import ValidationError
from standardwebhooks import Webhook

from delivery.process import _consume, _handler, _Queued, _Rebalanced, retry_policy
from delivery.subscriber_queues import SubscriberQueues
from delivery.webhooks import (
    RETRY_AFTER_HUGE_S,
    DeliveryResult,
    Moved,
    RetryPolicy,
    WebhookDispatcher,
    deliver,
    parse_retry_after,
    standard_signature_header,
)
from domain.errors import ConfigurationError
from domain.subscriptions import WebhookEvent, secret_text
from runtime.settings import Settings
from schemas.alerts import Alert
from tests.unit.test_webhook_retries import (
    HOUR,
    URL,
    Clock,
    FakeSession,
    Lowest,
    _Response,
    send,
    session,
)
from tests.unit.test_webhooks import SECRET, ev, make_alert

NEW_URL = "https://new.example/hook"
NEW_SECRET = b"rotated-secret-of-the-subscriber"
DAY = 24 * HOUR


@dataclass
class Recording(FakeSession):
    """A fake session that also records the URL of every request."""

    urls: list[str] = field(default_factory=list)

    def post(self, url: str, **kw: Any) -> _Response:
        self.urls.append(url)
        return super().post(url, **kw)


@dataclass
class Letters:
    """A dead-letter sink recording (alert key, result, simulated time)."""

    clock: Clock
    items: list[tuple[str, DeliveryResult, float]] = field(default_factory=list)

    async def __call__(self, alert: Alert, result: DeliveryResult) -> None:
        self.items.append((alert.idempotency_key, result, self.clock.t))


def dispatcher(
    fake: FakeSession, clock: Clock, resolve: Callable[[Alert], WebhookEvent | None], **kw: Any
) -> tuple[WebhookDispatcher, Letters]:
    letters = Letters(clock)
    d = WebhookDispatcher(
        cast(aiohttp.ClientSession, fake), resolve=resolve, policy=kw.pop("policy", RetryPolicy()),
        dead_letter=letters, sleep=clock.sleep, now=clock, rng=Lowest(), **kw,
    )  # fmt: skip
    return d, letters


async def never(item: object) -> None:
    raise AssertionError(f"unexpected overflow of {item!r}")


# --- 1. a hostile Retry-After, an attempt's surprise: retried, never a crash --------------------


def test_a_huge_or_overlong_retry_after_is_the_cap_and_never_raises() -> None:
    assert parse_retry_after("9" * 400, now=0) == RETRY_AFTER_HUGE_S  # float overflow before
    assert parse_retry_after("9" * 5000, now=0) == RETRY_AFTER_HUGE_S  # int() limit before
    assert parse_retry_after("0" * 500 + "7", now=0) == 7.0
    assert parse_retry_after("x" * 10_000, now=0) is None
    assert parse_retry_after("Fri, 01 Jan 99999 00:00:00 GMT", now=0) is None
    fake = session(lambda n: (503, {"Retry-After": "9" * 400}) if n < 3 else (204, {}))
    clock = Clock()
    result = send(fake, RetryPolicy(), clock)
    assert (result.delivered, result.attempts) == (True, 3)
    assert clock.delays == [7200.0, 7200.0]  # the cap, not an OverflowError


def test_a_hostile_retry_after_does_not_kill_the_subscribers_worker() -> None:
    async def scenario() -> tuple[list[str], int]:
        clock = Clock()
        fake = session(lambda n: (429, {"Retry-After": "9" * 5000}) if n < 2 else (204, {}))
        d, _ = dispatcher(fake, clock, lambda a: ev(URL, a))
        delivered: list[str] = []

        async def handle(item: object) -> None:
            result = await d.dispatch(make_alert())
            assert isinstance(result, DeliveryResult)
            delivered.append(str(result.delivered))

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=10, max_per_subscriber=10, retrying=d.retrying
        )
        await queues.put(URL, "p0", 7, "x")
        await queues.drain(2)
        queues.check()  # raised OverflowError/ValueError before: the process stopped
        committed = queues.offsets.committable()["p0"]
        await queues.close()
        return delivered, committed

    assert asyncio.run(scenario()) == (["True"], 8)


def test_an_unexpected_error_of_one_attempt_is_retried_not_raised() -> None:
    @dataclass
    class Surprising(FakeSession):
        def post(self, url: str, **kw: Any) -> _Response:
            if not self.requests:
                self.requests.append(kw["data"])
                raise RuntimeError("a library's surprise")
            return super().post(url, **kw)

    result = send(Surprising(lambda n: (204, {})), RetryPolicy(), Clock())
    assert (result.delivered, result.attempts) == (True, 2)


# --- 2. give-up by age: bounded across queueing and restarts -----------------------------------


def test_the_horizon_is_the_longest_schedule_and_well_within_retention() -> None:
    policy = retry_policy(Settings())
    assert policy.span_s()[1] < policy.horizon_s < 52 * HOUR
    assert policy.horizon_s < 7 * DAY
    # even the largest settings allowed keep every delay finite and sane
    with pytest.raises(ValidationError):
        Settings(webhook_max_backoff_s=math.inf)


def test_alerts_queued_behind_a_dead_endpoint_are_all_given_up_within_the_horizon() -> None:
    """Before: the k-th queued alert started its own 25-51 h schedule only when the one ahead
    was dead-lettered (6 alerts: 152 h with the shortest jitter, past 7 days at 4 alerts)."""

    async def scenario() -> tuple[list[tuple[str, DeliveryResult, float]], float, dict[str, int]]:
        clock = Clock()
        read_at = clock.t
        d, letters = dispatcher(
            session(lambda n: (503, {})), clock, lambda a: ev(URL, a),
            policy=retry_policy(Settings()),
        )  # fmt: skip
        queues: SubscriberQueues[str] = SubscriberQueues(
            _handler(d), overflow=never, max_pending=10_000, max_per_subscriber=500,
            max_retrying=10_000, retrying=d.retrying,
        )  # fmt: skip
        for i in range(6):
            alert = make_alert(key=f"a{i}:opened:1")
            await queues.put(URL, "p0", i, _Queued(alert, ev(URL, alert), read_at))
        await queues.drain(5)
        committed = queues.offsets.committable()
        await queues.close()
        return letters.items, read_at, committed

    letters, read_at, committed = asyncio.run(scenario())
    horizon = retry_policy(Settings()).horizon_s
    assert [key for key, _, _ in letters] == [f"a{i}:opened:1" for i in range(6)]
    assert all(result.dead_letter(make_alert()).reason == "exhausted" for _, result, _ in letters)
    assert max(t for _, _, t in letters) - read_at <= horizon  # not 6 x 25-51 h
    assert committed == {"p0": 6}


def test_a_restart_does_not_start_the_alerts_clock_again() -> None:
    """Read again 40 h after it was written (restarts): retried for the ~11 h left, not 25-51 h."""
    clock = Clock()
    written = clock.t - 40 * HOUR
    d, letters = dispatcher(session(lambda n: (503, {})), clock, lambda a: ev(URL, a))
    result = asyncio.run(d.dispatch(make_alert(), record_ts=written))
    assert isinstance(result, DeliveryResult)
    assert not result.delivered
    assert result.dead_letter(make_alert()).reason == "exhausted"
    assert result.error is not None
    assert "horizon" in result.error
    assert clock.t - written <= RetryPolicy().horizon_s
    assert len(letters.items) == 1


def test_an_alert_older_than_the_horizon_still_gets_one_attempt() -> None:
    clock = Clock()
    ancient = clock.t - 7 * DAY  # e.g. the delivery process was down for days
    ok, _ = dispatcher(session(lambda n: (204, {})), clock, lambda a: ev(URL, a))
    delivered = asyncio.run(ok.dispatch(make_alert(), record_ts=ancient))
    assert isinstance(delivered, DeliveryResult)
    assert delivered.delivered
    down = session(lambda n: (503, {}))
    failing, letters = dispatcher(down, clock, lambda a: ev(URL, a))
    failed = asyncio.run(failing.dispatch(make_alert(), record_ts=ancient))
    assert isinstance(failed, DeliveryResult)
    assert (failed.delivered, failed.attempts, len(down.requests), len(letters.items)) == (
        False, 1, 1, 1,
    )  # fmt: skip


# --- 5. refusals are counted apart ---------------------------------------------------------------


def test_one_refusal_after_hours_of_503s_is_not_a_spent_refusal_budget() -> None:
    answers = {13: (404, {})}
    fake = session(lambda n: answers.get(n, (503, {})) if n <= 13 else (204, {}))
    result = send(fake, RetryPolicy(), Clock())
    assert (result.delivered, result.attempts) == (True, 14)


def test_the_refusal_budget_counts_refusals_only() -> None:
    policy = RetryPolicy(max_attempts=36, max_attempts_refused=3)
    alternating = send(
        session(lambda n: (404, {}) if n % 2 else (503, {})), policy, Clock()
    )  # refusals at attempts 1, 3, 5: the third ends it
    assert (alternating.attempts, alternating.permanent) == (5, True)
    assert alternating.dead_letter(make_alert()).reason == "refused"
    # out of attempts on a refusal, with refusals to spare: exhausted, not refused
    few = RetryPolicy(max_attempts=4, max_attempts_refused=3)
    late = send(session(lambda n: (404, {}) if n == 4 else (503, {})), few, Clock())
    assert (late.attempts, late.status, late.permanent) == (4, 404, False)
    assert late.dead_letter(make_alert()).reason == "exhausted"


# --- 6. Retry-After: 0 does not burn the schedule -------------------------------------------------


@pytest.mark.parametrize("value", ["0", "Thu, 01 Jan 1970 00:00:00 GMT"])
def test_a_zero_or_past_retry_after_waits_at_least_the_schedules_shortest(value: str) -> None:
    policy = RetryPolicy()
    clock = Clock()
    start = clock.t
    result = send(session(lambda n: (503, {"Retry-After": value})), policy, clock)
    assert result.attempts == policy.max_attempts
    for n, delay in enumerate(clock.delays, start=1):
        assert delay >= policy.floor(n) >= policy.base_delay_s
        assert delay >= policy.ceiling(n) * (1 - policy.jitter)
    assert clock.t - start >= policy.span_s()[0]  # a day, not 0 s


# --- 3. a held alert follows its subscription --------------------------------------------------


def _registry(event: WebhookEvent | None) -> tuple[dict[str, WebhookEvent | None], Any]:
    current: dict[str, WebhookEvent | None] = {"event": event}

    def resolve(alert: Alert) -> WebhookEvent | None:
        e = current["event"]
        if e is None:
            return None
        return dataclasses.replace(ev(e.url, alert), keys=e.keys, secret_version=e.secret_version)

    return current, resolve


def _through_queues(
    fake: Recording, resolve: Callable[[Alert], WebhookEvent | None], clock: Clock
) -> tuple[list[tuple[str, DeliveryResult, float]], dict[str, int], int, int]:
    async def scenario() -> tuple[
        list[tuple[str, DeliveryResult, float]], dict[str, int], int, int
    ]:
        d, letters = dispatcher(fake, clock, resolve)
        queues: SubscriberQueues[str] = SubscriberQueues(
            _handler(d), overflow=never, max_pending=10, max_per_subscriber=10,
            retrying=d.retrying,
        )  # fmt: skip
        for i in range(2):  # read while the subscription pointed at URL
            alert = make_alert(key=f"a{i}:opened:1")
            await queues.put(URL, "p0", i, _Queued(alert, ev(URL, alert), clock.t))
        await queues.drain(2)
        queues.check()
        committed = queues.offsets.committable()
        await queues.close()
        return letters.items, committed, d.stats.dropped, queues.subscribers

    return asyncio.run(scenario())


def test_a_held_alert_is_signed_with_the_rotated_key() -> None:
    clock = Clock(t=1_767_225_600.0)
    current, resolve = _registry(ev(URL))

    def answer(n: int) -> tuple[int, dict[str, str]]:
        if n == 1:  # the subscriber rotates its secret while its endpoint is down
            event = current["event"]
            assert event is not None
            current["event"] = dataclasses.replace(event, keys=(NEW_SECRET,), secret_version=2)
            return 503, {}
        return 204, {}

    fake = Recording(answer)
    letters, committed, _, _ = _through_queues(fake, resolve, clock)
    assert (letters, committed) == ([], {"p0": 2})
    assert (len(fake.requests), set(fake.urls)) == (3, {URL})

    def signed_with(key: bytes, request: Any) -> bool:
        h = request.headers
        expected = standard_signature_header(
            (key,), h["webhook-id"], int(h["webhook-timestamp"]), request.body
        )
        return bool(h["webhook-signature"] == expected)

    assert signed_with(SECRET, fake.requests[0])
    assert all(signed_with(NEW_SECRET, r) for r in fake.requests[1:])  # before: the old key


def test_a_held_alert_follows_a_re_pointed_url_to_its_queue() -> None:
    clock = Clock()
    current, resolve = _registry(ev(URL))

    def answer(n: int) -> tuple[int, dict[str, str]]:
        if n == 1:  # the subscriber re-points its webhook while the old one fails
            current["event"] = dataclasses.replace(ev(NEW_URL), keys=(NEW_SECRET,))
            return 503, {}
        return 204, {}

    fake = Recording(answer)
    letters, committed, _, subscribers = _through_queues(fake, resolve, clock)
    assert fake.urls == [URL, NEW_URL, NEW_URL]  # one failed try at the old URL, then the new
    assert letters == []
    assert committed == {"p0": 2}  # done only once delivered at the new URL
    assert subscribers == 0  # both queues idle again: dropped


def test_a_held_alert_of_a_subscription_that_went_away_is_dropped() -> None:
    clock = Clock()
    current, resolve = _registry(ev(URL))

    def answer(n: int) -> tuple[int, dict[str, str]]:
        current["event"] = None  # the need withdrew its webhook (or it was disabled)
        return 503, {}

    fake = Recording(answer)
    letters, committed, dropped, _ = _through_queues(fake, resolve, clock)
    assert len(fake.requests) == 1  # nothing more sent, the queued one not at all
    assert (letters, committed, dropped) == ([], {"p0": 2}, 1)


def test_dispatch_names_the_new_url_when_the_queue_is_another() -> None:
    d, _ = dispatcher(Recording(lambda n: (204, {})), Clock(), lambda a: ev(NEW_URL, a))
    moved = asyncio.run(d.dispatch(make_alert(), queue=URL))
    assert isinstance(moved, Moved)
    assert moved.event.url == NEW_URL


def test_the_real_verifier_accepts_a_retry_signed_after_a_rotation() -> None:
    import time

    clock = Clock(t=time.time())
    current, resolve = _registry(ev(URL))

    def answer(n: int) -> tuple[int, dict[str, str]]:
        if n == 1:
            event = current["event"]
            assert event is not None
            current["event"] = dataclasses.replace(event, keys=(NEW_SECRET,), secret_version=2)
            return 503, {}
        return 204, {}

    fake = Recording(answer)
    d, _ = dispatcher(fake, clock, resolve, policy=RetryPolicy(base_delay_s=0.0))
    result = asyncio.run(d.dispatch(make_alert()))
    assert isinstance(result, DeliveryResult)
    assert result.delivered
    last = fake.requests[-1]
    Webhook(secret_text(NEW_SECRET)).verify(last.body, last.headers)


# --- 4. a rebalance mid-batch ------------------------------------------------------------------


@dataclass(frozen=True)
class _TP:
    topic: str
    partition: int


@dataclass
class _Record:
    value: bytes
    offset: int
    timestamp: int


@dataclass
class FakeConsumer:
    """Hands one batch, then stops the loop; records every commit."""

    batch: dict[_TP, list[_Record]] | None
    stop: asyncio.Event
    assigned: set[_TP]
    commits: list[dict[_TP, int]] = field(default_factory=list)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[_TP, list[_Record]]:
        batch, self.batch = self.batch, None
        if batch is None:
            self.stop.set()
            await asyncio.sleep(0.01)
            return {}
        return batch

    def assignment(self) -> set[_TP]:
        return self.assigned

    async def commit(self, offsets: dict[_TP, OffsetAndMetadata]) -> None:
        self.commits.append({tp: o.offset for tp, o in offsets.items()})


def test_records_read_before_a_rebalance_never_let_the_commit_pass_an_alert_in_retry() -> None:
    """Before: the rest of a batch was put after the revoke, rebuilding the partition's
    tracking with only later offsets; given back, it was committed past offset 0 (in retry)."""
    tp = _TP("alerts", 0)
    down, up = "https://down.example/hook", "https://up.example/hook"

    async def scenario() -> list[dict[_TP, int]]:
        stop, gate, hang = asyncio.Event(), asyncio.Event(), asyncio.Event()
        alerts = [make_alert(key=f"a{i}:opened:1") for i in range(6)]
        batch = {tp: [_Record(a.model_dump_json().encode(), i, 1) for i, a in enumerate(alerts)]}
        consumer = FakeConsumer(batch, stop, {tp})

        async def handle(item: object) -> None:
            assert isinstance(item, _Queued)
            await (hang if item.event.url == down else gate).wait()  # offset 0: in retry for days

        queues: SubscriberQueues[Any] = SubscriberQueues(
            handle, overflow=never, max_pending=2, max_per_subscriber=10
        )
        listener = _Rebalanced(queues)

        async def rebalance() -> None:
            await asyncio.sleep(0.05)  # _consume waits for room in the middle of the batch
            await listener.on_partitions_revoked([tp])
            await listener.on_partitions_assigned([tp])  # the same partition given back
            gate.set()

        def resolve(alert: Alert) -> WebhookEvent:
            return ev(down if alert.idempotency_key.startswith("a0") else up, alert)

        task = asyncio.create_task(rebalance())
        await asyncio.wait_for(_consume(cast(Any, consumer), queues, resolve, stop), 5)
        await task
        await queues.close()
        return consumer.commits

    commits = asyncio.run(scenario())
    assert all(c.get(tp, 0) <= 0 for c in commits), commits


# --- 7. failing endpoints cannot take every request slot --------------------------------------


class _Hanging:
    """A session: the first attempt to each dead endpoint fails at once, its retries hang."""

    def __init__(self) -> None:
        self.tried: set[str] = set()
        self.hang = asyncio.Event()

    def post(self, url: str, **kw: Any) -> Any:
        first = url not in self.tried
        self.tried.add(url)
        return _Answer(url, first, self.hang)


@dataclass
class _Answer:
    url: str
    first: bool
    hang: asyncio.Event
    status: int = 204
    reason: str = "OK"
    headers: dict[str, str] = field(default_factory=dict)

    async def __aenter__(self) -> _Answer:
        if "dead" in self.url:
            if not self.first:
                await self.hang.wait()  # a black hole: held until the timeout
            self.status = 503
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    @property
    def content(self) -> Any:
        return _Empty()


class _Empty:
    async def read(self, n: int = -1) -> bytes:
        return b""


def test_retries_to_dead_endpoints_leave_slots_for_healthy_ones() -> None:
    async def scenario() -> tuple[bool, int]:
        fake = _Hanging()

        async def no_wait(delay: float) -> None:
            await asyncio.sleep(0)

        async def dead(alert: Alert, result: DeliveryResult) -> None:
            return None

        d = WebhookDispatcher(
            cast(aiohttp.ClientSession, fake), resolve=lambda a: None, policy=RetryPolicy(),
            dead_letter=dead, sleep=no_wait, max_concurrency=4,
        )  # fmt: skip
        dying = [
            asyncio.create_task(d.dispatch(make_alert(), ev(f"https://dead{i}.example/h")))
            for i in range(10)
        ]
        await asyncio.sleep(0.05)  # every dead endpoint is in retry, its retries hanging
        try:
            result = await asyncio.wait_for(d.dispatch(make_alert(), ev(NEW_URL)), 1.0)
        except TimeoutError:
            return False, len(fake.tried)
        finally:
            for task in dying:
                task.cancel()
            await asyncio.gather(*dying, return_exceptions=True)
        return isinstance(result, DeliveryResult) and result.delivered, len(fake.tried)

    delivered, _ = asyncio.run(scenario())
    assert delivered  # before: four hanging retries held all four slots


def test_a_put_waiting_for_room_keeps_the_heartbeat_beating() -> None:
    async def scenario() -> int:
        beats: list[int] = []
        release = asyncio.Event()

        async def handle(item: object) -> None:
            await release.wait()

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=1, max_per_subscriber=10,
            on_wait=lambda: beats.append(1),
        )  # fmt: skip
        await queues.put("https://a.example", "p0", 0, "x")
        waiting = asyncio.create_task(queues.put("https://b.example", "p0", 1, "y"))
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.wait_for(waiting, 2)
        await queues.close()
        return len(beats)

    assert asyncio.run(scenario()) >= 1


# --- minor: idle queues pruned, settings bounded ----------------------------------------------


def test_idle_subscriber_queues_and_workers_are_dropped() -> None:
    async def scenario() -> tuple[int, int, dict[str, int]]:
        async def handle(item: object) -> None:
            return None

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=10, max_per_subscriber=10
        )
        for i in range(50):
            await queues.put(f"https://s{i}.example/h", "p0", i, i)
        await queues.drain(2)
        await asyncio.sleep(0.01)
        idle = queues.subscribers
        await queues.put("https://s0.example/h", "p0", 50, 50)  # a new alert makes it again
        await queues.drain(2)
        await asyncio.sleep(0.01)
        again = queues.subscribers
        committed = queues.offsets.committable()
        await queues.close()
        return idle, again, committed

    assert asyncio.run(scenario()) == (0, 0, {"p0": 51})


@pytest.mark.parametrize(
    "name", ["webhook_backoff_s", "webhook_max_backoff_s", "webhook_max_retry_after_s"]
)
@pytest.mark.parametrize("value", [math.inf, math.nan, 1e12])
def test_webhook_delay_settings_are_finite_and_bounded(name: str, value: float) -> None:
    with pytest.raises(ValidationError):
        Settings(**{name: value})


@pytest.mark.parametrize("name", ["base_delay_s", "max_delay_s", "max_retry_after_s"])
def test_the_policy_refuses_non_finite_delays(name: str) -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(**{name: math.inf})


def test_deliver_keeps_its_plain_semaphore_limiter() -> None:
    """Direct callers passing an asyncio.Semaphore still work (the dispatcher uses Slots)."""
    fake = session(lambda n: (503, {}) if n == 1 else (204, {}))
    result = asyncio.run(
        deliver(
            cast(aiohttp.ClientSession, fake),
            ev(URL),
            make_alert(),
            policy=RetryPolicy(),
            sleep=Clock().sleep,
            limiter=asyncio.Semaphore(1),
        )
    )
    assert result.delivered


# --- a second review: the subscription a 410 disables, a resolver that fails -------------------


def test_a_410_after_a_key_rotation_disables_the_current_subscription() -> None:
    """Retries resolve the subscription again: the 410 answered a request signed with the new
    key, so the new secret version is the one disabled (the old one would leave it live)."""

    async def run() -> tuple[list[int], int]:
        version = {"v": 1}

        def resolve(a: Alert) -> WebhookEvent:
            e = ev(URL, a)
            return dataclasses.replace(e, secret_version=version["v"],
                                       keys=(bytes([version["v"]]) * 32,))  # fmt: skip

        def answer(n: int) -> tuple[int, dict[str, str]]:
            if n == 1:
                version["v"] = 2  # rotated while the endpoint fails
                return 503, {}
            return 410, {}

        fake = session(answer)
        disabled: list[int] = []

        async def gone(alert: Alert, event: WebhookEvent, result: object) -> None:
            disabled.append(event.secret_version)

        async def dead_letter(a: Alert, r: object) -> None:
            pass

        clock = Clock()
        d = WebhookDispatcher(cast(aiohttp.ClientSession, fake), resolve=resolve,
                              policy=RetryPolicy(), dead_letter=dead_letter, sleep=clock.sleep,
                              now=clock, rng=Lowest(), on_gone=gone)  # fmt: skip
        await d.dispatch(make_alert(key="a1:opened:1"), queue=URL)
        before = len(fake.requests)
        await d.dispatch(make_alert(key="a2:opened:1"), queue=URL)
        return disabled, len(fake.requests) - before

    disabled, sent_after = asyncio.run(run())
    assert disabled == [2]
    assert sent_after == 0  # the next alert is not sent to the Gone endpoint


def test_a_resolver_failing_when_an_alerts_turn_comes_uses_the_event_read_with_it() -> None:
    async def run() -> int:
        calls = {"n": 0}

        def resolve(a: Alert) -> WebhookEvent:
            calls["n"] += 1
            if calls["n"] >= 2:
                raise KeyError("the directory changed under us")
            return ev(URL, a)

        fake = session(lambda n: (204, {}))
        clock = Clock()

        async def dead_letter(a: Alert, r: object) -> None:
            pass

        d = WebhookDispatcher(cast(aiohttp.ClientSession, fake), resolve=resolve,
                              policy=RetryPolicy(), dead_letter=dead_letter, sleep=clock.sleep,
                              now=clock, rng=Lowest())  # fmt: skip

        async def never(item: object) -> None:
            raise AssertionError("no overflow expected")

        queues: SubscriberQueues[str] = SubscriberQueues(
            _handler(d), overflow=never, max_pending=10, max_per_subscriber=10,
            retrying=d.retrying,
        )  # fmt: skip
        alert = make_alert()
        await queues.put(URL, "p", 0, _Queued(alert, resolve(alert), clock.t))
        for _ in range(50):
            await asyncio.sleep(0.01)
            if fake.requests:
                break
        queues.check()  # the worker did not fail
        await queues.close()
        return len(fake.requests)

    assert asyncio.run(run()) == 1


def test_settings_that_would_hold_an_alert_past_the_topics_retention_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="days"):
        retry_policy(Settings(webhook_max_attempts=100, webhook_max_backoff_s=21_600))
    with pytest.raises(ValidationError):
        Settings(webhook_timeout_s=1e6)
    assert retry_policy(Settings()).horizon_s < 6 * 86_400
