"""The stream worker: a faust app with one agent, a registry follower and a lag timer.

- ``follow_registry`` (task): every worker reads the whole compacted registry topics (sites,
  needs, exchanges) into its matcher and ledger book, so a need registered while it runs is
  matched from then on. The agent starts processing once the registry has been read to its end.
- ``readings`` (agent): readings topic (one site's push per record, keyed by site), taken
  in batches of records -> per-stream ledger -> ledger topic (compacted, keyed by stream) and,
  on each entry in order, matcher + alert lifecycle -> alerts topic
  (:class:`~streams.stage.ReadingsStage`). Window and lifecycle state live in two
  changelog-backed tables, written once per stream and batch.
- ``sweep_stale`` (timer): streams of the worker's partitions not heard from for
  ``stale_after_s`` turn stale and their open alerts resolve (``stale``); a lock keeps a sweep
  and a batch from interleaving between reading and writing the tables.
- ``refetch_undelivered`` (timer): a quiet readings partition whose consumer position ran past
  what the stage received is read again from the next record the stage must see (faust can
  drop records fetched while a restarted worker finishes its table recovery:
  :mod:`streams.refetch`).

Why one agent, batches, and one record per push: faust's consumer path costs ~0.2 ms per event
on the 2-core machine (a no-op agent drains ~4,400 small records/s), so a park sending many
small records (TEDA: 5,000 streams a second) cannot afford one record per stream, a second
per-event stage or per-event table writes; ``docs/performance.md`` has the measurements.

Both tables are keyed by stream id, and each stream's state is written to the partition its
site's readings arrive on, so partitions (and their state) move together between workers;
after a crash faust restores the tables from their changelogs and replays uncommitted
records, which the ledger ignores (readings not newer than a meter's newest) and the alert
lifecycle turns into the same idempotency keys. Payloads are bytes on the
wire and :mod:`schemas` models in code (pydantic, not ``faust.Record``). Invalid input goes to
the rejected topic with the reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.types import TP
from kafka.errors import KafkaError

from domain.matching import Matcher
from runtime import metrics
from runtime.settings import Settings
from schemas.rejections import Rejection
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.refetch import RefetchGuard, StageActivity
from streams.registry import RegistryView
from streams.stage import Incoming, ReadingsStage, StageOutput
from topics.batch_producer import BatchProducer, OutRecord
from topics.kafka_admin import committed_offsets, group_lag_by_topic
from topics.kafka_security import faust_broker_credentials, kafka_client_options

log = structlog.get_logger(__name__)

STAGE = "streams"
LAG_EVERY_S = 15.0  # each probe opens admin connections: keep it off the hot path
REFETCH_EVERY_S = 5.0
REFETCH_QUIET_S = 15.0  # idle this long (and 4 batch intervals) before a position is doubted

LEDGER_TABLE = "ledger-state"
ALERT_TABLE = "alert-state"


def changelog_topics(settings: Settings) -> list[str]:
    """Names of the changelog topics faust keeps for the worker's tables."""
    return [f"{settings.streams_group}-{t}-changelog" for t in (LEDGER_TABLE, ALERT_TABLE)]


def create_app(settings: Settings) -> faust.App:
    """Build the worker's faust app from ``settings`` (no environment reads).

    The app is wired from small parts: the registry follower task, the agent, the lag and
    staleness timers, each defined by its own function around the plain stage objects of
    :class:`_Worker` (:class:`LedgerBook`, :class:`AlertBook`, :class:`RegistryView`).
    """
    app = _faust_app(settings)
    worker = _Worker.of(app, settings)
    _output_producer(app, worker)
    _follow_registry(app, worker)
    _readings_agent(app, worker)
    _lag_timer(app, worker)
    _stale_timer(app, worker)
    _refetch_timer(app, worker)
    t = settings.topics
    metrics.touch(STAGE, [t.readings, t.ledger, t.alerts, t.rejected])
    return app


def _faust_app(settings: Settings) -> faust.App:
    (settings.state_dir / "faust").mkdir(parents=True, exist_ok=True)  # faust makes one level
    return faust.App(
        settings.streams_group,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=faust_broker_credentials(settings),
        store="memory://",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        value_serializer="raw",
        key_serializer="raw",
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
        datadir=str(settings.state_dir / "faust" / settings.streams_group),
        broker_commit_livelock_soft_timeout=60.0,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=settings.kafka_session_timeout_s / 3,
        consumer_max_fetch_size=8 * 1024 * 1024,  # batches are ~40 kB messages
        # Records read ahead of the agent: two batches. The bound is in records, not bytes, and
        # a historian back-filling after an outage sends records of up to 2,000 readings, so a
        # larger read-ahead grew the worker by hundreds of MB under a soak (bench/soak.py).
        stream_buffer_maxsize=2 * settings.streams_batch_records,
        table_cleanup_interval=3600.0,
    )


@dataclass
class _Worker:
    """What the worker's tasks and agents share: topics, state tables, the stage objects."""

    settings: Settings
    options: dict[str, Any]
    readings: Any  # faust topics and tables (untyped library)
    rejected: Any
    ledger_state: Any
    alert_state: Any
    book: LedgerBook
    alert_book: AlertBook
    stage: ReadingsStage
    registry: RegistryView
    registry_ready: asyncio.Event
    out: BatchProducer
    """Sends a batch's ledger entries, alerts and changelog records (one record batch per
    partition, awaited together: faust's per-record send path cost as much as the stage)."""
    state_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while a batch or a sweep reads, sends and writes state: they never interleave."""
    read_up_to: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Readings partition -> (offset, record time) of the newest record processed."""
    activity: StageActivity = field(default_factory=StageActivity)
    """Batches and sweeps running and done, per-partition progress (the refetch rule's input)."""

    @classmethod
    def of(cls, app: faust.App, settings: Settings) -> _Worker:
        """Declare the app's topics and tables; make the stage objects."""
        t = settings.topics

        def topic(name: str) -> Any:
            return app.topic(name, value_serializer="raw", key_serializer="raw")

        def table(name: str) -> Any:
            # bytes in, bytes out: the app's raw serializers apply to the tables' changelogs
            return app.Table(name, partitions=settings.partitions, key_type=bytes, value_type=bytes)

        options = kafka_client_options(settings)
        matcher = Matcher()
        book = LedgerBook(settings.ledger_window_s, max_skew_s=settings.max_clock_skew_s,
                          stale_after_s=settings.stale_after_s)  # fmt: skip
        alert_book = AlertBook(matcher, hysteresis=settings.alert_hysteresis)
        return cls(
            settings=settings, options=options,
            readings=topic(t.readings), rejected=topic(t.rejected),
            ledger_state=table(LEDGER_TABLE), alert_state=table(ALERT_TABLE),
            book=book, alert_book=alert_book, stage=ReadingsStage(book, alert_book),
            registry=RegistryView(t, matcher, book), registry_ready=asyncio.Event(),
            out=BatchProducer(settings.kafka_bootstrap, options),
        )  # fmt: skip

    async def process(self, events: Sequence[Any]) -> None:
        """One batch of readings events: outputs first, acknowledged; then the tables.

        Output before state: the ledger entries and alerts of the batch are sent and Kafka has
        acknowledged them before the tables change (and before faust acks the events, which
        happens when this returns). A crash in between replays the batch, which gives the same
        entries and idempotency keys (dropped downstream); the reverse order could lose an alert.
        """
        self.activity.begin({e.message.partition for e in events})
        try:
            async with self.state_lock:
                await self._process(events)
        finally:
            self.activity.end(batch=True)

    async def _process(self, events: Sequence[Any]) -> None:
        t = self.settings.topics
        for e in events:
            self.read_up_to[e.message.partition] = (e.message.offset, e.message.timestamp)
        records = [
            Incoming(e.message.partition, f"{t.readings}/{e.message.partition}/{e.message.offset}",
                     e.value, e.message.timestamp)
            for e in events
        ]  # fmt: skip
        metrics.EVENTS_IN.labels(STAGE, t.readings).inc(len(records))
        out = self.stage.process(records, self.ledger_state.get, self.alert_state.get)
        await self.publish(out)
        metrics.READINGS.labels(STAGE).inc(out.readings)

    async def sweep(self, clocks: Callable[[], dict[int, float] | None]) -> None:
        """Mark the quiet streams of this worker's partitions stale; publish what it causes.

        ``clocks`` is asked inside the state lock (so no batch and no rebalance step runs
        between judging the partitions and writing their state): partition -> the time to
        judge its streams at; ``None`` to sweep nothing now.
        """
        self.activity.begin()
        try:
            async with self.state_lock:
                by_partition = clocks()
                if not by_partition:
                    return
                items = list(self.ledger_state.data.items())
                out = self.stage.sweep(items, by_partition.get, self.alert_state.get)
                await self.publish(out)
        finally:
            self.activity.end(batch=False)
        if out.ledger:
            log.info("streams.stale", streams=len(out.ledger), resolved=len(out.alerts))

    async def publish(self, out: StageOutput) -> None:
        """Send a stage's outputs and wait for Kafka's acknowledgements; then its state.

        The changelog records go out only once the outputs are acknowledged, and are awaited
        too: state restored after a crash never holds readings whose entries or alerts were
        not sent (the replay then gives them), and offsets are committed (when this returns)
        only for state Kafka holds.
        """
        t = self.settings.topics
        for refused in out.refused:
            if refused.internal:
                metrics.FAILURES.labels(STAGE, "internal").inc()
            await self.reject(refused.reason, refused.payload, refused.source)
        await self.out.send_all(
            [OutRecord(t.ledger, None, e.stream.encode(), e.model_dump_json().encode())
             for e in out.ledger]
            + [OutRecord(t.alerts, None, a.stream.encode(), a.model_dump_json().encode())
               for a in out.alerts]
        )  # fmt: skip
        for alert in out.alerts:
            metrics.ALERTS.labels(alert.event.value).inc()
        tables = ((self.ledger_state, out.ledger_state), (self.alert_state, out.alert_state))
        await self.out.send_all(
            OutRecord(table.changelog_topic.get_topic_name(), w.partition, w.key, w.value)
            for table, writes in tables for w in writes
        )  # fmt: skip
        for table, writes in tables:
            for w in writes:
                table.data[w.key] = w.value
        metrics.EVENTS_OUT.labels(STAGE, t.ledger).inc(len(out.ledger))
        metrics.EVENTS_OUT.labels(STAGE, t.alerts).inc(len(out.alerts))
        if out.ledger:
            metrics.saw_event_time(STAGE, max(e.updated_at for e in out.ledger).timestamp())
        if out.alerts:
            log.info("alerts.emitted", alerts=len(out.alerts), streams=len(out.ledger),
                     opened=sum(a.event.value == "opened" for a in out.alerts))  # fmt: skip

    async def reject(self, reason: str, payload: bytes | None, source: str) -> None:
        """Put one refused record on the rejected topic, with its reason and source."""
        item = Rejection.of(STAGE, source, reason, payload)
        await self.rejected.send(value=item.model_dump_json().encode())
        metrics.REJECTED.labels(STAGE).inc()
        metrics.EVENTS_OUT.labels(STAGE, self.settings.topics.rejected).inc()
        log.warning("streams.rejected", source=source, reason=reason[:200])


def _output_producer(app: faust.App, w: _Worker) -> None:
    """The output producer connects at its first send, and stops with the app."""

    async def stop_output(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        await w.out.stop()

    # faust's stub spells the receiver's type in a way no def matches (mypy); the signal
    # calls it as (sender, signal=...), which this one takes
    app.on_before_shutdown.connect(stop_output)  # type: ignore[arg-type]


def _follow_registry(app: faust.App, w: _Worker) -> None:
    """Every worker reads the whole registry; agents start once it is read to its end."""
    t = w.settings.topics

    @app.task
    async def follow_registry() -> None:
        # No group: the consumer is assigned every partition of the registry topics.
        consumer = AIOKafkaConsumer(
            *t.registry(), bootstrap_servers=w.settings.kafka_bootstrap, group_id=None,
            enable_auto_commit=False, auto_offset_reset="earliest", metadata_max_age_ms=5000,
            **w.options,
        )  # fmt: skip
        await consumer.start()
        try:
            ends: dict[TopicPartition, int] | None = None
            while True:
                polled = await consumer.getmany(timeout_ms=500, max_records=5000)
                for tp, records in polled.items():
                    for rec in records:
                        for refused in w.registry.apply(tp.topic, rec.key, rec.value):
                            where = f"{tp.topic}/{tp.partition}/{rec.offset} ({refused.item_id})"
                            await w.reject(refused.reason, refused.payload, where)
                if w.registry_ready.is_set():
                    continue
                assigned = consumer.assignment()
                if {tp.topic for tp in assigned} != set(t.registry()):
                    log.info("registry.waiting_for_topics", assigned=sorted(map(str, assigned)))
                    continue
                if ends is None:
                    ends = await consumer.end_offsets(list(assigned))
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    w.activity.start()  # the agent starts taking records now
                    w.registry_ready.set()
                    log.info("registry.ready", records=w.registry.applied,
                             pending_needs=len(w.registry.pending_needs))  # fmt: skip
        finally:
            await consumer.stop()


def _readings_agent(app: faust.App, w: _Worker) -> None:
    """Readings (site pushes keyed by site) -> ledger entries and alerts, records in batches.

    See :class:`~streams.stage.ReadingsStage` and :meth:`_Worker.process` for the order.
    """
    s = w.settings

    @app.agent(w.readings)
    async def readings(
        stream: Any,
    ) -> AsyncIterator[None]:  # faust.Stream (StreamT lacks take_events)
        await w.registry_ready.wait()
        async for events in stream.take_events(s.streams_batch_records, within=s.streams_batch_s):
            await w.process(events)
            yield None


def _lag_timer(app: faust.App, w: _Worker) -> None:
    """Consumer lag of the worker's group, for the dashboards (never stops the worker)."""
    s = w.settings

    @app.timer(interval=LAG_EVERY_S)
    async def report_lag() -> None:
        loop = asyncio.get_running_loop()
        try:
            lag = await loop.run_in_executor(
                None, group_lag_by_topic, s.kafka_bootstrap, s.streams_group,
                [s.topics.readings], w.options,
            )  # fmt: skip
        except KafkaError as e:
            log.warning("streams.lag_unavailable", error=str(e))
            return
        metrics.set_lag(s.streams_group, lag)


def _stale_timer(app: faust.App, w: _Worker) -> None:
    """Every ``stale_after_s / 4`` (1 s to 60 s): mark quiet streams stale (see the stage).

    Each readings partition this worker holds is judged by its own clock (:func:`_clocks`).
    Nothing is judged while faust rebalances or restores its tables, nor in the first interval
    after the agent starts. A sweep that fails is logged and counted; the worker goes on (the
    next sweep gives the same outputs: they are dated by the streams, not by the sweep).
    """
    s = w.settings
    every = min(max(s.stale_after_s / 4, 1.0), 60.0)
    started: list[float] = []

    @app.timer(interval=every)
    async def sweep_stale() -> None:
        if not w.registry_ready.is_set() or _busy(app):
            return
        now = time.time()
        if not started:
            started.append(now)
        if now - started[0] < every:
            return
        try:
            committed: dict[tuple[str, int], int] = {}
            if any(tp.topic == s.topics.readings and tp.partition not in w.read_up_to
                   for tp in app.consumer.assignment()):  # fmt: skip
                committed = await asyncio.get_running_loop().run_in_executor(
                    None, committed_offsets, s.kafka_bootstrap, s.streams_group, w.options
                )
            await w.sweep(lambda: None if _busy(app) else _clocks(app, w, committed, time.time()))
        except Exception as e:  # noqa: BLE001 - a failed sweep never stops the worker
            metrics.FAILURES.labels(STAGE, "stale_sweep").inc()
            log.warning("streams.sweep_failed", error=repr(e)[:300])


def _refetch_timer(app: faust.App, w: _Worker) -> None:
    """Every ``REFETCH_EVERY_S``: read again what was fetched but never reached the stage.

    Judged only once the registry is read and outside rebalances and table recovery, for the
    partitions that are quiet (:meth:`~streams.refetch.StageActivity.quiet`, with
    ``REFETCH_QUIET_S`` or four batch intervals, the longer); see
    :class:`~streams.refetch.RefetchGuard` for the rule. The seek runs on faust's consumer
    thread (``seek_wait``). Each refetch is logged (``streams.refetch``) and counted
    (``symbiosis_failures_total{reason="undelivered"}``). A failed check or seek is logged and
    tried again at a later tick; the worker goes on.
    """
    s = w.settings
    quiet_s = max(REFETCH_QUIET_S, 4 * s.streams_batch_s)
    guard = RefetchGuard()

    def judged() -> tuple[dict[int, int], set[int]]:
        """The stage's last processed offsets, and the quiet readings partitions held now."""
        processed = {p: offset for p, (offset, _) in w.read_up_to.items()}
        held = {tp.partition for tp in app.consumer.assignment() if tp.topic == s.topics.readings}
        return processed, w.activity.quiet(held, quiet_s)

    @app.timer(interval=REFETCH_EVERY_S)
    async def refetch_undelivered() -> None:
        if not w.registry_ready.is_set() or _busy(app):
            return
        try:
            generation = app.consumer_generation_id
            processed, quiet = judged()
            readings = [TP(s.topics.readings, p) for p in sorted(quiet)]
            positions = {tp.partition: await app.consumer.position(tp) for tp in readings}
            if not guard.doubtful(positions, processed):
                return  # the usual case: everything fetched was processed (no admin call)
            committed = await asyncio.get_running_loop().run_in_executor(
                None, committed_offsets, s.kafka_bootstrap, s.streams_group, w.options
            )
            if _busy(app) or app.consumer_generation_id != generation:
                return  # a rebalance came while the offsets were asked for
            done = {p: o for (topic, p), o in committed.items() if topic == s.topics.readings}
            processed, quiet = judged()  # batches may have run meanwhile
            seek = guard.decide(positions, processed, done, quiet)
            for tp in readings:
                offset = seek.get(tp.partition)
                if offset is None:
                    continue
                await app.consumer.seek_wait({tp: offset})
                guard.confirm(tp.partition)
                log.warning("streams.refetch", partition=tp.partition, offset=offset,
                            position=positions[tp.partition])  # fmt: skip
                metrics.FAILURES.labels(STAGE, "undelivered").inc()
        except Exception as e:  # noqa: BLE001 - a failed check never stops the worker
            log.warning("streams.refetch_failed", error=repr(e)[:300])


def _busy(app: faust.App) -> bool:
    """Whether faust is rebalancing or restoring tables (state not to be judged then)."""
    return bool(app.rebalancing or getattr(app, "in_recovery", False))


def _clocks(
    app: faust.App, w: _Worker, committed: dict[tuple[str, int], int], now: float
) -> dict[int, float]:
    """Readings partition -> the time its streams are judged at.

    The wall clock once the worker has processed everything the partition had when last
    fetched (or, before it processed any of its records, once the group's committed offset
    reaches its end); else the Kafka time of the newest record processed, so a worker catching
    up a backlog judges the backlog's streams by the backlog's time and a restart never makes
    the whole park stale. A partition whose end is not known yet is left alone.
    """
    readings = w.settings.topics.readings
    clocks: dict[int, float] = {}
    for tp in app.consumer.assignment():
        if tp.topic != readings:
            continue
        try:
            high = app.consumer.highwater(tp)
        except Exception:  # noqa: BLE001, S112 - no longer assigned: not this worker's to judge
            continue
        if high is None:
            continue
        done = w.read_up_to.get(tp.partition)
        if done is None:
            if committed.get((tp.topic, tp.partition), -1) >= high:
                clocks[tp.partition] = now  # nothing new since the worker started
        elif done[0] + 1 >= high:
            clocks[tp.partition] = now
        else:
            clocks[tp.partition] = done[1]
    return clocks
