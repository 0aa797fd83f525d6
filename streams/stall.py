"""A worker that holds work and makes no progress: when to exit so that a new one takes over.

faust-streaming 0.15 can stop for good inside a rebalance or a table recovery
(docs/operations.md): the process stays up, its partitions' lag grows, and nothing inside it
gets it going again; a new process does. The watch runs in a thread of its own (a stuck event
loop cannot stop it) and judges only what Kafka says, so it needs no help from the stuck code:

- **waiting**: records of the readings partitions the worker holds that its group has not
  committed (every readings partition while it holds none: a worker stuck joining its group,
  or held back with the whole group), less one offset per partition: a transaction's commit
  marker at a partition's end is never committed past (faust commits after the last record it
  was given), and an idle worker must not be taken for a stalled one;
- **progress**: the group's committed offsets of those partitions, and how far faust's table
  recovery has read (a long restore is work, not a stall).

A worker is stalled when records have been waiting, with no progress, for ``stall_s`` without a
break (:class:`StallWatch`). It then logs ``streams.stalled``, counts
``symbiosis_failures_total{stage="streams", reason="stalled"}`` and exits with
:data:`EXIT_RESTART`; its supervisor (Kubernetes, compose's ``restart:``, the local pipeline)
starts it again, and the new process reads from the group's committed offsets: nothing
acknowledged is lost, what is read twice is a replay (same idempotency keys).

When Kafka does not answer nothing is judged and the clock starts again: a worker that cannot
reach Kafka is not helped by a restart. A worker with nothing waiting is never stalled, however
long it is idle.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Final

import structlog

from streams.refetch import MARKER_OFFSETS

log = structlog.get_logger(__name__)

EXIT_RESTART: Final = 75
"""EX_TEMPFAIL: the worker exited on purpose and wants to be started again."""


@dataclass(frozen=True)
class Look:
    """One look at the worker's partitions: records waiting, and what moves when work is done."""

    waiting: int
    progress: Hashable


def look_at(
    ends: Mapping[int, int],
    committed: Mapping[int, int],
    held: Collection[int],
    restored: int = 0,
) -> Look:
    """What waits in the ``held`` readings partitions, and what moves when work is done.

    All of ``ends`` count while none is held; one offset at each partition's end is left out
    (it may be a commit marker).

    Args:
        ends: partition -> its end offset (the next record to be written).
        committed: partition -> the group's committed offset (missing: nothing committed).
        held: the partitions the worker holds now.
        restored: changelog records faust's table recovery has read so far.
    """
    mine = sorted(p for p in ends if not held or p in held)
    waiting = sum(max(ends[p] - committed.get(p, 0) - MARKER_OFFSETS, 0) for p in mine)
    return Look(waiting, (tuple((p, committed.get(p, 0)) for p in mine), restored))


@dataclass
class StallWatch:
    """Whether records have waited without progress for ``stall_s`` without a break.

    Fed one :class:`Look` (or None: Kafka did not answer) at a time, with the monotonic time.
    Nothing waiting, any change of progress, or an unknown look starts the clock again.
    """

    stall_s: float
    _since: float | None = None
    _progress: Hashable | None = None

    def observe(self, now: float, seen: Look | None) -> float:
        """Seconds records have waited without progress so far (0: not stalled)."""
        if seen is None or seen.waiting <= 0:
            self._since = self._progress = None
            return 0.0
        if self._since is None or seen.progress != self._progress:
            self._since, self._progress = now, seen.progress
            return 0.0
        return now - self._since

    def stalled(self, now: float, seen: Look | None) -> bool:
        """:meth:`observe`, then whether that reached ``stall_s``."""
        return self.observe(now, seen) >= self.stall_s


def watch(
    stall_s: float,
    look: Callable[[], Look | None],
    on_stall: Callable[[float], None],
    *,
    every_s: float | None = None,
    stop: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> threading.Thread:
    """Start a daemon thread that calls ``look`` every ``every_s`` and ``on_stall`` once stalled.

    ``every_s`` defaults to a sixth of ``stall_s`` (1 s to 15 s). ``look`` returns None when
    Kafka did not answer; an exception it raises is logged and counts as None. ``on_stall``
    gets the seconds stalled; it is expected to end the process, and the thread ends after it.
    """
    watcher = StallWatch(stall_s)
    pause = every_s if every_s is not None else min(max(stall_s / 6, 1.0), 15.0)
    stopping = stop or threading.Event()

    def run() -> None:
        while not stopping.wait(pause):
            try:
                seen = look()
            except Exception as e:  # noqa: BLE001 - the watch never dies of a failed look
                log.warning("streams.stall_look_failed", error=repr(e)[:300])
                seen = None
            waited = watcher.observe(clock(), seen)
            if waited >= stall_s:
                on_stall(waited)
                return

    thread = threading.Thread(target=run, name="stall-watch", daemon=True)
    thread.start()
    return thread
