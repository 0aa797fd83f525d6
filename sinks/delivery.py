"""The alert-delivery process: alerts topic -> subscribers' webhooks, at least once.

Reads the needs registry (compacted topic, all partitions, no group) to know each need's
webhook, consumes the alerts topic in its own consumer group, and hands every alert to
:class:`~sinks.webhooks.WebhookDispatcher` (signed POST, retries with backoff). An alert whose
delivery fails for good is written to the dead-letter topic. Offsets are committed only after
every alert of a poll was delivered or dead-lettered, so a crash redelivers (same idempotency
key) rather than loses.
"""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from schemas.alerts import Alert
from schemas.registry import Need
from sinks.webhooks import (
    AttemptOutcome,
    DeliveryResult,
    RetryPolicy,
    WebhookDispatcher,
)
from symbiosis import metrics
from symbiosis.errors import ConfigurationError
from symbiosis.settings import Settings

log = structlog.get_logger(__name__)

STAGE = "delivery"


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


async def run_delivery(settings: Settings, stop: asyncio.Event) -> None:
    """Deliver alerts until ``stop`` is set.

    Raises:
        ConfigurationError: no webhook secret is configured.
    """
    secret = settings.webhook_secret.get_secret_value().encode()
    if not secret:
        raise ConfigurationError("SYMBIOSIS_WEBHOOK_SECRET is empty: webhooks cannot be signed")
    t = settings.topics
    policy = RetryPolicy(
        max_attempts=settings.webhook_max_attempts,
        base_delay_s=settings.webhook_backoff_s,
        max_delay_s=settings.webhook_max_backoff_s,
        jitter=settings.webhook_jitter,
        timeout_s=settings.webhook_timeout_s,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    needs = AIOKafkaConsumer(
        t.needs, bootstrap_servers=settings.kafka_bootstrap, group_id=None,
        enable_auto_commit=False, auto_offset_reset="earliest", metadata_max_age_ms=5000,
    )  # fmt: skip
    alerts = AIOKafkaConsumer(
        t.alerts, bootstrap_servers=settings.kafka_bootstrap, group_id=delivery_group(settings),
        enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip

    async def dead_letter(alert: Alert, result: DeliveryResult) -> None:
        payload = result.dead_letter(alert).model_dump_json().encode()
        await producer.send_and_wait(t.dead_letters, payload, key=alert.alert_id.encode())
        metrics.EVENTS_OUT.labels(STAGE, t.dead_letters).inc()
        log.warning("delivery.dead_letter", alert=alert.alert_id, url=result.url,
                    attempts=result.attempts, status=result.status)  # fmt: skip

    await producer.start()
    await needs.start()
    await alerts.start()
    try:
        async with aiohttp.ClientSession() as session:
            dispatcher = WebhookDispatcher(
                session, secret=secret, policy=policy, dead_letter=dead_letter,
                max_concurrency=settings.webhook_max_concurrency, observer=_Observer(),
            )  # fmt: skip
            needs_ready = asyncio.Event()
            follower = asyncio.create_task(_follow_needs(needs, dispatcher, stop, needs_ready))
            # Alerts wait until every need (and its webhook) is known: otherwise a backlog
            # after a restart would find no webhook for new needs and be committed undelivered.
            await needs_ready.wait()
            log.info("delivery.ready", webhooks=len(dispatcher.webhooks))
            try:
                while not stop.is_set():
                    polled = await alerts.getmany(timeout_ms=500, max_records=500)
                    batch: list[Alert] = []
                    for tp, records in polled.items():
                        for rec in records:
                            metrics.EVENTS_IN.labels(STAGE, tp.topic).inc()
                            try:
                                batch.append(Alert.model_validate_json(rec.value or b""))
                            except ValidationError as e:
                                metrics.REJECTED.labels(STAGE).inc()
                                log.warning("delivery.invalid_alert", error=str(e)[:200])
                    if batch:
                        await _dispatch_in_order(dispatcher, batch)
                    if polled:
                        await alerts.commit()
            finally:
                follower.cancel()
    finally:
        await alerts.stop()
        await needs.stop()
        await producer.stop()


async def _dispatch_in_order(dispatcher: WebhookDispatcher, alerts: list[Alert]) -> None:
    """Deliver concurrently across alerts, one event after another within an alert.

    So a subscriber never gets an alert's ``resolved`` before its ``opened``.
    """
    by_alert: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_alert.setdefault(alert.alert_id, []).append(alert)

    async def in_order(events: list[Alert]) -> None:
        for event in events:
            await dispatcher.dispatch(event)

    await asyncio.gather(*(in_order(events) for events in by_alert.values()))


async def _follow_needs(
    consumer: AIOKafkaConsumer,
    dispatcher: WebhookDispatcher,
    stop: asyncio.Event,
    ready: asyncio.Event,
) -> None:
    """Keep the dispatcher's webhooks in step with the needs topic; set ``ready`` once read."""
    ends: dict[TopicPartition, int] | None = None
    while not stop.is_set():
        polled = await consumer.getmany(timeout_ms=500)
        for records in polled.values():
            for rec in records:
                if rec.key is None:
                    log.warning("delivery.need_without_key", offset=rec.offset)
                    continue
                if rec.value is None:
                    # A withdrawn need keeps its webhook: its open alerts resolve next, and the
                    # subscriber must get that 'resolved'. Only alerts of that need use it.
                    continue
                try:
                    dispatcher.set_need(Need.model_validate_json(rec.value))
                except ValidationError as e:
                    log.warning("delivery.invalid_need", error=str(e)[:200])
        if ready.is_set():
            continue
        assigned = consumer.assignment()
        if not assigned:
            continue
        if ends is None:
            ends = await consumer.end_offsets(list(assigned))
        if all([await consumer.position(tp) >= end for tp, end in ends.items()]):
            ready.set()


def main(settings: Settings) -> None:
    """Run the delivery process until SIGTERM/SIGINT."""
    metrics.serve(settings.metrics_port, addr=settings.metrics_host)
    stop = asyncio.Event()

    async def runner() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_delivery(settings, stop)

    asyncio.run(runner())
