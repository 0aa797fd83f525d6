"""One queue per subscriber, so a slow or dead webhook delays only its own alerts.

The delivery process reads alerts in partition order but must not deliver them in that order
across subscribers: one endpoint that times out for minutes would hold every other tenant's
alerts behind it. :class:`SubscriberQueues` gives each subscriber (webhook URL) its own FIFO
and worker task; events of one subscriber stay in order (so an alert's ``resolved`` never
overtakes its ``opened``), subscribers never wait for each other (the dispatcher's limiter
still bounds requests in flight across all of them).

Retries are held per subscriber: a subscriber whose webhook fails keeps its alerts in its
queue while the one at the head backs off (its due time is the end of its backoff sleep; the
schedule spans hours to days), and the consumer never waits for such a subscriber: ``retrying``
(the dispatcher's :meth:`~delivery.webhooks.WebhookDispatcher.retrying`) names them, and
:meth:`SubscriberQueues.put` queues (or overflows) their alerts without waiting for room.

Offsets: :class:`OffsetTracker` says, per partition, up to where every alert has been delivered
or dead-lettered; only that is committed, so a crash or restart redelivers (same idempotency
keys) and never loses; partitions a rebalance takes away, or gives, are forgotten, and each
such change bumps :attr:`OffsetTracker.epoch` (the consumer drops the rest of a batch read
before it). An alert in retry therefore holds its partition's committed offset back for as
long as it is retried: the dispatcher gives up on an alert by its age (the policy's horizon,
51 h by default, from when it was written to the topic), whether it was retried or waited
behind others, and across restarts, so the hold stays below the alerts topic's retention.

A subscription re-pointed while its alerts wait: ``handle`` returns the new subscriber, and the
item moves to that subscriber's queue (still not done; it may go beyond that queue's
``max_per_subscriber``). An idle subscriber's queue and worker are dropped (a new alert makes
them again), so a URL seen once costs nothing afterwards.

Memory is bounded: at most ``max_pending + max_retrying`` alerts are held in all, one
subscriber holds at most ``max_per_subscriber`` (more are handed to ``overflow``, e.g. the
dead-letter topic), subscribers in retry hold at most ``max_retrying`` of them (beyond, their
new alerts overflow too), and :meth:`SubscriberQueues.put` waits while the others hold
``max_pending`` (they answer or time out within one attempt, so that wait is short).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)

P = TypeVar("P")  # a partition id (aiokafka's TopicPartition in the process, anything in tests)
_RECHECK_S = 0.5
"""How often a :meth:`SubscriberQueues.put` waiting for room looks again without being woken."""


@dataclass
class OffsetTracker(Generic[P]):
    """Which offsets of each partition are done; what may be committed."""

    _pending: dict[P, set[int]] = field(default_factory=dict)
    _next: dict[P, int] = field(default_factory=dict)
    """Per partition: one past the highest offset seen."""
    epoch: int = 0
    """Bumped by every :meth:`forget`: records read before a rebalance must not be tracked."""

    def seen(self, partition: P, offset: int) -> None:
        """An offset was read and is being handled."""
        self._pending.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def done(self, partition: P, offset: int) -> None:
        """An offset was handled for good (delivered, dead-lettered or skipped)."""
        self._pending.get(partition, set()).discard(offset)

    def forget(self, partitions: Iterable[P]) -> None:
        """Drop partitions a rebalance took away or gave (their owner reads from the commit).

        Bumps :attr:`epoch`: the caller stops tracking records it read before.
        """
        self.epoch += 1
        for partition in partitions:
            self._pending.pop(partition, None)
            self._next.pop(partition, None)

    @property
    def pending(self) -> int:
        """Offsets seen and not done, over every partition."""
        return sum(len(p) for p in self._pending.values())

    def committable(self) -> dict[P, int]:
        """Per partition, the offset to commit: everything before it is done."""
        out: dict[P, int] = {}
        for partition, upper in self._next.items():
            waiting = self._pending.get(partition)
            out[partition] = min(waiting) if waiting else upper
        return out


@dataclass(frozen=True, slots=True)
class Queued(Generic[P]):
    """One alert waiting for its subscriber, with where it was read."""

    partition: P
    offset: int
    item: object


class SubscriberQueues(Generic[P]):
    """Per-subscriber FIFOs with one worker each; see the module docstring.

    Args:
        handle: Awaited with each item, in order per subscriber; returns None when the item is
            done, or another subscriber to move it to (its subscription was re-pointed). It
            must not raise for one item's failure (the dispatcher dead-letters); if it raises
            anyway, the queues stop and :meth:`check` re-raises, so the process stops and
            redelivers.
        overflow: Awaited with an item whose subscriber already holds ``max_per_subscriber``
            items (e.g. dead-letter it as "backlog full"): one dead endpoint never holds
            more than its share, and never stops the others.
        max_pending: Most items held at once by subscribers not in retry; :meth:`put` waits
            beyond.
        max_per_subscriber: Most items one subscriber holds (queued or being handled).
        max_retrying: Most items held by subscribers in retry; beyond, their new items go to
            ``overflow`` (never waited for). ``max_pending`` when omitted.
        retrying: Whether a subscriber is in retry (its head item failed and backs off); none
            is when omitted (then every put may wait, as for a healthy subscriber).
        on_wait: Called at least every :data:`_RECHECK_S` while :meth:`put` waits for room
            (e.g. a liveness heartbeat: waiting for healthy subscribers is not being stuck).
    """

    def __init__(
        self,
        handle: Callable[[object], Awaitable[str | None]],
        *,
        overflow: Callable[[object], Awaitable[None]],
        max_pending: int,
        max_per_subscriber: int,
        max_retrying: int | None = None,
        retrying: Callable[[str], bool] | None = None,
        on_wait: Callable[[], None] | None = None,
    ) -> None:
        self._handle = handle
        self._overflow = overflow
        self._max_pending = max_pending
        self._max_per_subscriber = max_per_subscriber
        self._max_retrying = max_pending if max_retrying is None else max_retrying
        self._retrying: Callable[[str], bool] = retrying or (lambda subscriber: False)
        self._on_wait = on_wait
        self._queues: dict[str, asyncio.Queue[Queued[P]]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, int] = {}
        """Items per subscriber: queued or being handled."""
        self._room = asyncio.Condition()
        self.offsets: OffsetTracker[P] = OffsetTracker()
        self._failure: BaseException | None = None
        self._closing = False
        self.overflowed = 0

    async def put(self, subscriber: str | None, partition: P, offset: int, item: object) -> None:
        """Queue ``item`` for ``subscriber`` (``None``: nothing to send, done at once).

        Never waits for a subscriber in retry: its item is queued, or handed to ``overflow`` if
        it holds ``max_per_subscriber`` or those in retry hold ``max_retrying`` (or all hold
        ``max_pending + max_retrying``). Waits while the other subscribers hold ``max_pending``.

        Raises:
            BaseException: a worker's failure (see :meth:`check`), also while waiting; or what
                ``overflow`` raised (nothing is then marked done).
        """
        self.check()
        self.offsets.seen(partition, offset)
        if subscriber is None:
            self.offsets.done(partition, offset)
            return
        if self._held.get(subscriber, 0) >= self._max_per_subscriber or (
            self._retrying(subscriber) and not self._room_for_retrying()
        ):
            await self._overflow(item)
            self.overflowed += 1
            self.offsets.done(partition, offset)
            return
        if not self._retrying(subscriber):
            await self._wait_for_room()
        self.check()
        self._enqueue(subscriber, Queued(partition, offset, item))

    def _enqueue(self, subscriber: str, queued: Queued[P]) -> None:
        """Append to ``subscriber``'s queue, making it and its worker if it has none."""
        queue = self._queues.get(subscriber)
        if queue is None:
            queue = self._queues[subscriber] = asyncio.Queue()
            self._workers[subscriber] = asyncio.create_task(self._work(subscriber, queue))
        self._held[subscriber] = self._held.get(subscriber, 0) + 1
        queue.put_nowait(queued)

    def _held_retrying(self) -> int:
        return sum(n for s, n in self._held.items() if n and self._retrying(s))

    def _room_for_retrying(self) -> bool:
        total = sum(self._held.values())
        return (
            self._held_retrying() < self._max_retrying
            and total < self._max_pending + self._max_retrying
        )

    def _room_for_fresh(self) -> bool:
        total = sum(self._held.values())
        fresh = total - self._held_retrying()
        return fresh < self._max_pending and total < self._max_pending + self._max_retrying

    async def _wait_for_room(self) -> None:
        """Wait for room for a subscriber not in retry (or a failure, or closing).

        Woken when a worker finishes an item, and every :data:`_RECHECK_S` besides: a
        subscriber entering retry frees room without finishing anything.
        """
        async with self._room:
            while not (self._room_for_fresh() or self._failure is not None or self._closing):
                if self._on_wait is not None:
                    self._on_wait()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=_RECHECK_S)

    async def _work(self, subscriber: str, queue: asyncio.Queue[Queued[P]]) -> None:
        """Handle ``subscriber``'s items in order; end (dropping its queue) once it has none."""
        while True:
            queued = await queue.get()
            try:
                moved_to = await self._handle(queued.item)
            except asyncio.CancelledError:
                raise
            except BaseException as e:  # noqa: BLE001 - surfaced by check(); nothing committed
                self._failure = e
                log.error("delivery.worker_failed", error=repr(e)[:300])
                async with self._room:
                    self._room.notify_all()
                return
            self._held[subscriber] -= 1
            if moved_to is not None and moved_to != subscriber:
                self._enqueue(moved_to, queued)  # not done: its new subscriber sends it
            else:
                self.offsets.done(queued.partition, queued.offset)
            async with self._room:
                self._room.notify_all()
            if queue.empty() and not self._held.get(subscriber) and not self._closing:
                # idle: drop it (no await since the check, so no put slipped in between)
                del self._queues[subscriber], self._workers[subscriber], self._held[subscriber]
                return

    def check(self) -> None:
        """Re-raise a worker's failure (the process must stop and redeliver).

        Raises:
            BaseException: whatever a worker's ``handle`` raised.
        """
        if self._failure is not None:
            raise self._failure

    @property
    def subscribers(self) -> int:
        """Subscribers with a queue."""
        return len(self._queues)

    async def drain(self, timeout_s: float) -> None:
        """Wait until every queued item is handled, or ``timeout_s`` passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self.offsets.pending and loop.time() < deadline and self._failure is None:
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        """Stop the workers (items still queued stay uncommitted: they are redelivered)."""
        self._closing = True
        async with self._room:
            self._room.notify_all()
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
