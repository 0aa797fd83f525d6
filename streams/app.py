"""The stream worker: a faust app with one agent, a registry follower and two timers.

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
  :mod:`streams.refetch`). When a partition's first record after a rebalance comes past
  where it should start, the agent reads the records in between with a consumer of its own
  and processes them first (:class:`~streams.refetch.GapCheck`).

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
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, NoReturn, TypeVar

import faust
import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError as AIOKafkaError
from faust.types import TP
from kafka.errors import KafkaError

from domain.errors import TransientError, UnavailableError
from domain.matching import Matcher
from runtime import metrics
from runtime.settings import Settings
from schemas.rejections import Rejection
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.refetch import Gap, GapCheck, RefetchGuard, StageActivity
from streams.registry import RegistryView
from streams.stage import Incoming, ReadingsStage, StageOutput
from streams.stall import EXIT_RESTART
from topics.batch_producer import BatchProducer, OutRecord
from topics.kafka_admin import committed_offsets
from topics.kafka_security import faust_broker_credentials, kafka_client_options
from topics.range_reader import read_range

log = structlog.get_logger(__name__)

STAGE = "streams"
REFETCH_EVERY_S = 5.0
REFETCH_QUIET_S = 15.0  # idle this long (and 4 batch intervals) before a position is doubted

_T = TypeVar("_T")
GAP_RETRY_S: Final = 30.0
"""How long a gap's lookup or read waits for Kafka before the worker exits (a rebalance waits
for the agent, up to faust's rebalance timeout of 60 s)."""
EXIT_GAP_UNFILLED: Final = EXIT_RESTART  # EX_TEMPFAIL: start the worker again

LEDGER_TABLE = "ledger-state"
ALERT_TABLE = "alert-state"


CHANGELOG_SEGMENT: Final = {"segment.ms": "60000", "segment.bytes": str(64 * 1024 * 1024)}
"""A table changelog's segments close every minute (or at 64 MiB). Kafka compacts only closed
segments, and a partition given to a worker is restored from its changelog's start: with the
broker's defaults (a segment closes after a week or 1 GiB) that meant reading every update of
the open segment, at 1x TEDA ~5,000 a second of park time; now at most about a minute of them
after the compacted part (one record per stream)."""

CHANGELOG_CONFIGS: Final = {"cleanup.policy": "compact", **CHANGELOG_SEGMENT}
"""Topic configs of the worker's table changelogs (faust's tables get them too)."""


def changelog_topics(settings: Settings) -> list[str]:
    """Names of the changelog topics faust keeps for the worker's tables."""
    return [f"{settings.streams_group}-{t}-changelog" for t in (LEDGER_TABLE, ALERT_TABLE)]


def changelog_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Each changelog topic of the worker's tables -> its topic configs, to create it with."""
    return {name: dict(CHANGELOG_CONFIGS) for name in changelog_topics(settings)}


def create_app(settings: Settings) -> faust.App:
    """Build the worker's faust app from ``settings`` (no environment reads).

    The app is wired from small parts: the registry follower task, the agent, the staleness
    and refetch timers, each defined by its own function around the plain stage objects of
    :class:`_Worker` (:class:`LedgerBook`, :class:`AlertBook`, :class:`RegistryView`).
    """
    app = _faust_app(settings)
    worker = _Worker.of(app, settings)
    _output_producer(app, worker)
    _follow_registry(app, worker)
    _readings_agent(app, worker)
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
        table_standby_replicas=settings.streams_standby_replicas,  # faust: 1 (see the setting)
    )


@dataclass
class _Worker:
    """What the worker's tasks and agents share: topics, state tables, the stage objects."""

    app: faust.App
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
    gap_check: GapCheck = field(default_factory=GapCheck)
    """Each partition's first record per generation against where it should have started."""

    @classmethod
    def of(cls, app: faust.App, settings: Settings) -> _Worker:
        """Declare the app's topics and tables; make the stage objects."""
        t = settings.topics

        def topic(name: str) -> Any:
            return app.topic(name, value_serializer="raw", key_serializer="raw")

        def table(name: str) -> Any:
            # bytes in, bytes out: the app's raw serializers apply to the tables' changelogs
            return app.Table(name, partitions=settings.partitions, key_type=bytes,
                             value_type=bytes, extra_topic_configs=CHANGELOG_SEGMENT)  # fmt: skip

        options = kafka_client_options(settings)
        matcher = Matcher()
        book = LedgerBook(settings.ledger_window_s, max_skew_s=settings.max_clock_skew_s,
                          stale_after_s=settings.stale_after_s)  # fmt: skip
        alert_book = AlertBook(matcher, hysteresis=settings.alert_hysteresis)
        return cls(
            app=app, settings=settings, options=options,
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

        A batch that fails is still acknowledged by faust (its ``take_events`` acks the buffer
        when the agent's loop ends), so its partitions are checked again at their next record:
        the records from the last one processed are then read again (:class:`GapCheck`).
        """
        partitions = {e.message.partition for e in events}
        self.activity.begin(partitions)
        try:
            async with self.state_lock:
                await self._process(events)
        except BaseException:
            self.gap_check.recheck(partitions)
            raise
        finally:
            self.activity.end(batch=True)

    async def _process(self, events: Sequence[Any]) -> None:
        """Each run of the batch's events fetched in one consumer generation, in order."""
        if events[0].message.generation_id == events[-1].message.generation_id:
            await self._process_run(events)  # the usual case: generations only grow in a batch
            return
        start = 0
        for i in range(1, len(events)):
            if events[i].message.generation_id != events[start].message.generation_id:
                await self._process_run(events[start:i])
                start = i
        await self._process_run(events[start:])

    async def _process_run(self, events: Sequence[Any]) -> None:
        """Events of one generation: first what faust skipped before them, then the events."""
        t = self.settings.topics
        firsts: dict[int, int] = {}
        lasts: dict[int, tuple[int, float]] = {}
        for e in events:
            firsts.setdefault(e.message.partition, e.message.offset)
            lasts[e.message.partition] = (e.message.offset, e.message.timestamp)
        generation = events[0].message.generation_id
        processed = {p: offset for p, (offset, _) in self.read_up_to.items()}
        suspects = self.gap_check.suspects(firsts, processed, generation)
        if suspects:
            await self._fill_gaps(suspects, processed, generation)
        await self._apply(
            [Incoming(e.message.partition, f"{t.readings}/{e.message.partition}/{e.message.offset}",
                      e.value, e.message.timestamp)
             for e in events]
        )  # fmt: skip
        self.read_up_to.update(lasts)  # once processed: the refetch and gap rules read it as done

    async def _apply(self, records: list[Incoming]) -> None:
        """Run readings records through the stage and publish what they give."""
        metrics.EVENTS_IN.labels(STAGE, self.settings.topics.readings).inc(len(records))
        # the tables' stores, read as they are written (publish): the table's own get adds
        # faust's sensor call and two mapping layers per lookup (0.55 against 0.13 us)
        out = self.stage.process(records, self.ledger_state.data.get, self.alert_state.data.get)
        await self.publish(out)
        metrics.READINGS.labels(STAGE).inc(out.readings)

    async def _fill_gaps(
        self, firsts: dict[int, int], processed: dict[int, int], generation: int
    ) -> None:
        """Process what faust skipped before each partition's first record (:class:`GapCheck`).

        Kafka not answering (the group's offsets, or a gap's records) is retried with backoff
        (:func:`_retrying`), going on after the last record processed. If it cannot be done
        (``GAP_RETRY_S`` without an answer, the worker stopping, any other error), the worker
        exits at once (:func:`_exit_for_replay`): returning would let faust acknowledge the
        batch and commit past the gap. Then faust is told the offsets before each first record
        are done (:func:`_skip_in_commits`).
        """
        s = self.settings
        try:
            committed: dict[int, int] = {}
            if self.gap_check.needs_committed(firsts, processed, generation):
                group = await _retrying(
                    self.app, "streams.gap_check_failed",
                    lambda: asyncio.get_running_loop().run_in_executor(
                        None, committed_offsets, s.kafka_bootstrap, s.streams_group, self.options
                    ),
                )  # fmt: skip
                committed = {p: o for (t, p), o in group.items() if t == s.topics.readings}
            for gap in GapCheck.gaps(firsts, processed, committed):
                await _retrying(self.app, "streams.gap_unread", partial(self._read_gap, gap))
        except Exception as e:  # noqa: BLE001 - any failure here: stop before the batch is acked
            _exit_for_replay(e)
        self.gap_check.checked(firsts, generation)
        for partition, first in firsts.items():
            await _skip_in_commits(self.app, TP(s.topics.readings, partition), first)

    async def _read_gap(self, gap: Gap) -> None:
        """Read one gap with a consumer of its own (no group) and process it, in order.

        Called again after a failure, it goes on after the last record it processed.
        """
        s = self.settings
        t = s.topics
        done = self.read_up_to.get(gap.partition)  # past gap.start: an earlier attempt's
        start = gap.start
        if done is not None and (start is None or done[0] + 1 > start):
            start = done[0] + 1
        read = 0
        chunks = read_range(s.kafka_bootstrap, t.readings, gap.partition, start, gap.end,
                            options=self.options, chunk=s.streams_batch_records)  # fmt: skip
        async with aclosing(chunks):
            async for chunk in chunks:
                await self._apply([
                    Incoming(gap.partition, f"{t.readings}/{gap.partition}/{r.offset}",
                             r.value or b"", r.timestamp / 1000.0)
                    for r in chunk
                ])  # fmt: skip
                last = chunk[-1]
                self.read_up_to[gap.partition] = (last.offset, last.timestamp / 1000.0)
                read += len(chunk)
        if read:
            metrics.FAILURES.labels(STAGE, "undelivered").inc()
            log.warning("streams.gap_read", partition=gap.partition, start=start, end=gap.end,
                        records=read)  # fmt: skip

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
                out = self.stage.sweep(items, by_partition.get, self.alert_state.data.get)
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


_TRANSIENT: Final = (TransientError, KafkaError, AIOKafkaError, OSError, TimeoutError)
"""What Kafka not answering raises (kafka-python, aiokafka, sockets, timeouts)."""


async def _retrying(
    app: faust.App, event: str, attempt: Callable[[], Awaitable[_T]], give_up_s: float = GAP_RETRY_S
) -> _T:
    """``attempt()`` until it succeeds while Kafka does not answer, with backoff.

    Each failure is logged as ``event`` and counted (``symbiosis_failures_total{reason=
    "gap_retry"}``); waits grow from 0.5 s to 10 s.

    Raises:
        UnavailableError: still failing after ``give_up_s``, or the worker is stopping (a
            rebalance waits for the agent: it cannot wait for long).
        Exception: whatever ``attempt`` raised that is not Kafka not answering, at once.
    """
    wait, since = 0.5, time.monotonic()
    while True:
        try:
            return await attempt()
        except _TRANSIENT as e:
            if app.should_stop or time.monotonic() - since > give_up_s:
                raise UnavailableError(f"{event}: Kafka did not answer: {e!r}") from e
            metrics.FAILURES.labels(STAGE, "gap_retry").inc()
            log.warning(event, error=repr(e)[:300], retry_in_s=wait)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 10.0)


def _exit_for_replay(error: BaseException) -> NoReturn:
    """Stop the worker now, without acknowledging or committing anything more.

    The batch waiting behind an unfilled gap must not be acknowledged (faust would commit past
    the gap); a process that ends here is a crash the pipeline is built for: the restarted
    worker (or another one) reads from the group's committed offset, before the gap.
    """
    metrics.FAILURES.labels(STAGE, "gap_unfilled").inc()
    log.critical("streams.gap_unfilled", error=repr(error)[:500],
                 action="exit; a restart reads it again from the committed offset")  # fmt: skip
    logging.shutdown()
    os._exit(EXIT_GAP_UNFILLED)


async def _skip_in_commits(app: faust.App, tp: TP, first: int) -> None:
    """Let faust commit ``tp`` past its committed offset up to ``first``, all processed.

    faust-streaming 0.15 commits a partition only when its acknowledged offsets start at most
    one past its committed offset (``Consumer._new_offset``); offsets it will never see
    acknowledged it keeps as a gap (``Consumer._add_gap``, what its fetcher does for a jump in
    offsets) and counts as acknowledged. The offsets before ``first`` that faust skipped were
    processed by the worker itself (:class:`~streams.refetch.GapCheck`), so they are added
    as such a gap; without it, faust would commit nothing more of the partition in this
    generation. Nothing is added when faust holds no committed offset (it then checks no
    head). A faust without these internals is logged; the worker goes on.
    """
    consumer = app.consumer
    committed = getattr(consumer, "_committed_offset", {}).get(tp)
    add_gap = getattr(consumer, "_add_gap", None)
    if committed is None or committed + 1 >= first:
        return
    if add_gap is None:
        log.warning("streams.gap_not_marked", partition=tp.partition, committed=committed,
                    first=first)  # fmt: skip
        return
    await add_gap(tp, committed, first - 1)  # both ends included; faust starts it after committed


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
