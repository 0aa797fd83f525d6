"""The alert-delivery process: alerts topic -> subscribers' webhooks, at least once.

Follows the registry (compacted topics, all partitions, no group; the same follower as the
API's) to know each need's webhook and company and each supplier's disclosure, consumes the
alerts topic in its own consumer group, and hands every alert, through its subscriber's own queue
(:mod:`delivery.subscriber_queues`: a slow or failing webhook delays only its own alerts, held
in its queue while the head one is retried over hours to days), to
:class:`~delivery.webhooks.WebhookDispatcher`: the body is the alert as the need's company may see
it (the disclosure policy), signed with that subscription's own key, retried with backoff, and
sent only to addresses the SSRF guard allows. The subscription is resolved again when the
alert's turn comes and before every retry: a held alert follows a re-pointed URL (to that URL's
queue) and a rotated key, and is dropped if the subscription went away or was disabled. An
alert is not retried past the policy's horizon after it was written to the alerts topic (its
record timestamp), however long it waited and however often this process restarted. An alert
whose delivery fails for good is written to the dead-letter topic. A webhook that answers 410 Gone
disables its subscription: this process stops sending to it at once and publishes a
:class:`~schemas.registry.WebhookState` on the registry's webhook-states topic, so every
delivery process (and the API, which shows it) knows after a restart too; registering the need
again or rotating its secret enables it again. Per partition, offsets are
committed only up to the oldest alert not yet delivered or dead-lettered (an alert in retry holds
it back, for the horizon at most), so a crash or restart redelivers (same idempotency key, the
same age limit) rather than loses. A rebalance forgets the partitions it takes or gives and
drops the rest of a batch read before it (those records are read again from the commit).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import aiohttp
import structlog
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata
from pydantic import ValidationError

from delivery.subscriber_queues import SubscriberQueues
from delivery.webhooks import (
    AttemptOutcome,
    DeliveryResult,
    GoneSink,
    Moved,
    RetryPolicy,
    WebhookDispatcher,
    redact_url,
)
from domain.errors import ConfigurationError
from domain.subscriptions import WebhookEvent, gone_state, webhook_event
from domain.url_guard import UrlGuard
from runtime import metrics
from runtime.probe_server import Heartbeat
from runtime.settings import Settings
from schemas.alerts import Alert
from topics.kafka_security import kafka_client_options
from topics.registry_follower import RegistryFollower

log = structlog.get_logger(__name__)

STAGE = "delivery"
HEARTBEAT = Heartbeat(max_age_s=300.0)
"""Beats every poll of the alerts topic, and while a poll waits for room. A poll never waits
for a subscriber in retry (its alerts are held or dead-lettered as backlog full); it may wait
while healthy subscribers' queues are full, which they leave within an attempt
(``webhook_timeout_s``; failing endpoints hold few of the request slots), so only a loop stuck
for minutes is unhealthy."""


class _Observer:
    """Feeds the dispatcher's events into Prometheus."""

    def on_attempt(self, outcome: AttemptOutcome, status: int | None, latency_s: float) -> None:
        metrics.WEBHOOK_ATTEMPTS.labels(outcome.value).inc()
        metrics.WEBHOOK_SECONDS.observe(latency_s)

    def on_result(self, result: DeliveryResult) -> None:
        if not result.delivered:
            metrics.FAILURES.labels(STAGE, "permanent" if result.permanent else "exhausted").inc()

    def on_dead_letter(self, result: DeliveryResult) -> None:
        metrics.DEAD_LETTERS.inc()


def delivery_group(settings: Settings) -> str:
    """Consumer group of the delivery processes."""
    return f"{settings.app_id}-delivery"


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing every address the SSRF guard refuses (at connect time)."""

    def __init__(self, guard: UrlGuard) -> None:
        self._inner = DefaultResolver()
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``; raises :class:`RefusedAddressError` for a refused address."""
        found = await self._inner.resolve(host, port, family)
        for entry in found:
            self._guard.check_address(entry["host"])
        return found

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def url_guard(settings: Settings) -> UrlGuard:
    """The deployment's SSRF guard."""
    return UrlGuard(
        allow_private=settings.webhook_allow_private,
        require_https=settings.webhook_require_https,
    )


MAX_HORIZON_S: Final = 6 * 86_400.0
"""The longest an alert may be held in retry: under the alerts topic's 7-day retention."""


def retry_policy(s: Settings) -> RetryPolicy:
    """The deployment's webhook retry policy (attempts, backoff, caps, jitter, timeout).

    Raises:
        ConfigurationError: a value out of range (see :class:`RetryPolicy`), or settings
            whose longest hold of an alert (:attr:`RetryPolicy.horizon_s`) passes
            :data:`MAX_HORIZON_S`: the alerts topic keeps 7 days, and an alert held past
            its retention would be lost at the next restart.
    """
    policy = RetryPolicy(
        max_attempts=s.webhook_max_attempts, base_delay_s=s.webhook_backoff_s,
        max_delay_s=s.webhook_max_backoff_s, jitter=s.webhook_jitter,
        timeout_s=s.webhook_timeout_s, max_attempts_refused=s.webhook_max_attempts_refused,
        max_retry_after_s=s.webhook_max_retry_after_s,
    )  # fmt: skip
    if policy.horizon_s > MAX_HORIZON_S:
        raise ConfigurationError(
            f"SYMBIOSIS_WEBHOOK_*: these settings hold an alert up to "
            f"{policy.horizon_s / 86_400:.1f} days, over {MAX_HORIZON_S / 86_400:.0f} (the "
            "alerts topic keeps 7): fewer attempts or shorter delays"
        )
    return policy


async def run_delivery(settings: Settings, stop: asyncio.Event) -> None:
    """Deliver alerts until ``stop`` is set.

    Raises:
        ConfigurationError: no webhook secret is configured.
        TransientError: the registry could not be read.
    """
    master = settings.webhook_secret.get_secret_value().encode()
    if not master:
        raise ConfigurationError("SYMBIOSIS_WEBHOOK_SECRET is empty: webhooks cannot be signed")
    disclosure_key = settings.disclosure_key_bytes()
    t = settings.topics
    options = kafka_client_options(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
        **options,
    )  # fmt: skip
    alerts = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=delivery_group(settings),
        enable_auto_commit=False, auto_offset_reset="earliest", **options,
    )  # fmt: skip
    registry = RegistryFollower(settings.kafka_bootstrap, t, options=options)

    async def dead_letter(alert: Alert, result: DeliveryResult) -> None:
        payload = result.dead_letter(alert).model_dump_json().encode()
        await producer.send_and_wait(t.dead_letters, payload, key=alert.alert_id.encode())
        metrics.EVENTS_OUT.labels(STAGE, t.dead_letters).inc()
        log.warning("delivery.dead_letter", alert=alert.alert_id, url=result.url,
                    attempts=result.attempts, status=result.status)  # fmt: skip

    async def gone(alert: Alert, event: WebhookEvent, result: DeliveryResult) -> None:
        state = gone_state(event, result.status or 410, datetime.now(UTC))
        await producer.send_and_wait(
            t.webhook_states, state.model_dump_json().encode(), key=state.need.encode()
        )
        metrics.FAILURES.labels(STAGE, "webhook_gone").inc()
        metrics.EVENTS_OUT.labels(STAGE, t.webhook_states).inc()
        log.warning("delivery.subscription_disabled", need=state.need, url=result.url)

    def resolve(alert: Alert) -> WebhookEvent | None:
        with registry.locked() as d:
            return webhook_event(alert, d, master, datetime.now(UTC), disclosure_key=disclosure_key)

    registry.start()
    await producer.start()
    await alerts.start()
    try:
        # Alerts wait until every need (and its webhook) is known: otherwise a backlog after
        # a restart would find no webhook for new needs and be committed undelivered.
        await asyncio.get_running_loop().run_in_executor(None, registry.wait_ready)
        log.info("delivery.ready", registry_records=registry.applied)
        await _deliver_until_stopped(settings, alerts, resolve, dead_letter, gone, stop)
    finally:
        registry.stop()
        await alerts.stop()
        await producer.stop()


async def _deliver_until_stopped(
    settings: Settings,
    alerts: AIOKafkaConsumer,
    resolve: Callable[[Alert], WebhookEvent | None],
    dead_letter: Callable[[Alert, DeliveryResult], Awaitable[None]],
    gone: GoneSink,
    stop: asyncio.Event,
) -> None:
    """The dispatcher behind the SSRF guard, per-subscriber queues, the consuming loop."""
    guard = url_guard(settings)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(guard))
    async with aiohttp.ClientSession(connector=connector) as session:
        dispatcher = WebhookDispatcher(
            session, resolve=resolve, policy=retry_policy(settings), dead_letter=dead_letter,
            max_concurrency=settings.webhook_max_concurrency, observer=_Observer(), guard=guard,
            on_gone=gone,
        )  # fmt: skip

        async def backlog_full(item: object) -> None:
            assert isinstance(item, _Queued)
            await dead_letter(item.alert, _backlog_full(redact_url(item.event.url)))

        queues: SubscriberQueues[TopicPartition] = SubscriberQueues(
            _handler(dispatcher), overflow=backlog_full,
            max_pending=settings.webhook_max_pending,
            max_per_subscriber=settings.webhook_max_pending_per_subscriber,
            max_retrying=settings.webhook_max_retrying, retrying=dispatcher.retrying,
            on_wait=HEARTBEAT.beat,
        )  # fmt: skip
        alerts.subscribe([settings.topics.alerts], listener=_Rebalanced(queues))
        try:
            await _consume(alerts, queues, resolve, stop)
        finally:
            await queues.drain(timeout_s=5.0)
            await _commit(alerts, queues)
            await queues.close()


@dataclass(slots=True)
class _Queued:
    """An alert in a subscriber's queue.

    ``event`` was resolved when it was read (it names the queue at first, and the webhook of a
    backlog-full dead letter); the dispatcher resolves it again when its turn comes. ``url`` is
    the queue it waits in (it changes when the subscription is re-pointed); ``record_ts`` when
    it was written to the alerts topic (Unix seconds; its age limit counts from there).
    """

    alert: Alert
    event: WebhookEvent
    record_ts: float
    url: str = ""

    def __post_init__(self) -> None:
        self.url = self.url or self.event.url


def _backlog_full(url: str) -> DeliveryResult:
    return DeliveryResult(
        delivered=False, attempts=0, status=None, permanent=False, url=url,
        error="the subscriber's backlog is full (it is slow or down): not tried",
        reason="backlog_full",
    )  # fmt: skip


class _Rebalanced(ConsumerRebalanceListener):  # type: ignore[misc]
    """Forgets the offsets of partitions a rebalance takes away or gives.

    aiokafka runs it concurrently with :func:`_consume` (at its awaits); forgetting bumps the
    tracker's epoch, so :func:`_consume` drops the rest of a batch read before the rebalance
    (those records are read again from the committed offset). A partition given back starts
    from a clean slate too: nothing read before can make the commit pass an alert in retry.
    """

    def __init__(self, queues: SubscriberQueues[TopicPartition]) -> None:
        self._queues = queues

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self._queues.offsets.forget(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self._queues.offsets.forget(assigned)


def _handler(dispatcher: WebhookDispatcher) -> Callable[[object], Awaitable[str | None]]:
    """The queues' handler: dispatch, resolving the alert again; its new URL if it moved."""

    async def handle(item: object) -> str | None:
        assert isinstance(item, _Queued)
        outcome = await dispatcher.dispatch(item.alert, record_ts=item.record_ts, queue=item.url,
                                            fallback=item.event)  # fmt: skip
        if not isinstance(outcome, Moved):
            return None
        log.info("delivery.subscription_moved", alert=item.alert.alert_id,
                 old=redact_url(item.url), new=redact_url(outcome.event.url))  # fmt: skip
        item.url = outcome.event.url
        return item.url

    return handle


async def _consume(
    alerts: AIOKafkaConsumer,
    queues: SubscriberQueues[TopicPartition],
    resolve: Callable[[Alert], WebhookEvent | None],
    stop: asyncio.Event,
) -> None:
    """Poll alerts into their subscribers' queues; commit what is done, every poll."""
    while not stop.is_set():
        HEARTBEAT.beat()
        queues.check()
        polled = await alerts.getmany(timeout_ms=500, max_records=500)
        await _put_batch(polled, queues, resolve)
        await _commit(alerts, queues)


async def _put_batch(
    polled: dict[TopicPartition, list[ConsumerRecord]],
    queues: SubscriberQueues[TopicPartition],
    resolve: Callable[[Alert], WebhookEvent | None],
) -> None:
    """Queue one poll's records, until a rebalance (the tracker's epoch changed) stops it.

    The epoch is checked just before each put, which marks the offset seen before it first
    awaits: a record is tracked only if no rebalance came since the batch was read. The rest is
    read again after the rebalance (aiokafka's rebalances are eager: every partition is
    revoked and fetched again from its committed offset).
    """
    epoch = queues.offsets.epoch
    for tp, records in polled.items():
        for rec in records:
            if queues.offsets.epoch != epoch:
                log.info("delivery.batch_dropped_after_rebalance", partition=str(tp))
                return
            metrics.EVENTS_IN.labels(STAGE, tp.topic).inc()
            try:
                alert = Alert.model_validate_json(rec.value or b"")
            except ValidationError as e:
                metrics.REJECTED.labels(STAGE).inc()
                log.warning("delivery.invalid_alert", error=str(e)[:200])
                await queues.put(None, tp, rec.offset, None)
                continue
            event = resolve(alert)
            queued = _Queued(alert, event, _record_ts(rec)) if event is not None else None
            await queues.put(event.url if event is not None else None, tp, rec.offset, queued)


def _record_ts(rec: ConsumerRecord) -> float:
    """When the record was written (Unix seconds); now if it has no usable timestamp."""
    now = time.time()
    ts = rec.timestamp
    return min(ts / 1000.0, now) if isinstance(ts, int) and ts > 0 else now


async def _commit(alerts: AIOKafkaConsumer, queues: SubscriberQueues[TopicPartition]) -> None:
    """Commit, per partition, up to the oldest alert not yet delivered or dead-lettered."""
    offsets = queues.offsets.committable()
    assigned = alerts.assignment()
    mine = {tp: off for tp, off in offsets.items() if tp in assigned}
    if not mine:
        return
    try:
        await alerts.commit({tp: OffsetAndMetadata(off, "") for tp, off in mine.items()})
    except CommitFailedError as e:
        # a rebalance took partitions away: their new owner redelivers from its last commit
        # (same idempotency keys); ours are forgotten by the rebalance listener
        metrics.FAILURES.labels(STAGE, "commit_failed").inc()
        log.warning("delivery.commit_failed", error=str(e)[:200])


def main(settings: Settings) -> None:
    """Run the delivery process until SIGTERM/SIGINT."""
    metrics.serve(
        settings.metrics_port, process="delivery", addr=settings.metrics_host,
        healthy=HEARTBEAT.healthy,
    )  # fmt: skip
    stop = asyncio.Event()

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_delivery(settings, stop)

    asyncio.run(runner())
