"""A worker that holds work and makes no progress: when to exit so that a new one takes over.

faust-streaming 0.15 can stop for good inside a rebalance or a table recovery
(docs/operations.md): the process stays up, its partitions' lag grows, and nothing inside it
gets it going again; a new process does. The watch runs in a thread of its own (a stuck event
loop cannot stop it) and judges only what Kafka says, so it needs no help from the stuck code:

- **waiting**: records of the readings partitions the worker holds that its group has not
  committed, counted from the log's first offset (records deleted by retention wait for
  nobody) and less one offset per partition (a transaction's commit marker at a partition's
  end is never committed past: faust commits after the last record it was given). A worker
  never given partitions (stuck joining its group) is judged by every partition; one given
  none (more workers than partitions) holds nothing and waits for nothing;
- **progress**: per partition, the group's committed offset; for all of them, how far faust's
  table recovery has read (a long restore is work, not a stall).

A worker is stalled when one of its partitions has had records waiting, with no progress, for
``stall_s`` without a break (:class:`StallWatch`). It then logs ``streams.stalled`` (critical,
the signal to alert on: a counter set just before the exit would never be scraped) and exits
with :data:`EXIT_RESTART`; its supervisor (Kubernetes, compose's ``restart:``, the local
pipeline) starts it again, and the new process reads from the group's committed offsets:
nothing acknowledged is lost, what is read twice is a replay (same idempotency keys).

When Kafka does not answer nothing is judged and the clocks start again: a worker that cannot
reach Kafka is not helped by a restart. A worker with nothing waiting is never stalled, however
long it is idle. What the watch cannot tell from a stall: a worker whose readings partitions
answer while a changelog or output partition it writes to is offline for longer than
``stall_s``; it is restarted, which costs a rebalance and nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Final

import structlog

from streams.refetch import MARKER_OFFSETS

log = structlog.get_logger(__name__)

EXIT_RESTART: Final = 75
"""EX_TEMPFAIL: the worker exited on purpose and wants to be started again."""


@dataclass(frozen=True)
class Look:
    """One look at the worker's readings partitions."""

    waiting: Mapping[int, int]
    """Partition -> records waiting in it beyond a commit marker's offset."""
    done: Mapping[int, int]
    """Partition -> where the group's work on it stands (what moves when work is done)."""
    restored: int = 0
    """Changelog records faust's table recovery has read so far (a long restore is work)."""


def look_at(
    ends: Mapping[int, int],
    committed: Mapping[int, int],
    held: Collection[int] | None,
    restored: int = 0,
    starts: Mapping[int, int] | None = None,
) -> Look:
    """What waits in the ``held`` readings partitions.

    Args:
        ends: partition -> its end offset (the next record to be written).
        committed: partition -> the group's committed offset (missing: nothing committed).
        held: the partitions the worker holds now; None when it has never been given any (a
            worker stuck joining its group: every partition counts). An empty set holds none.
        restored: changelog records faust's table recovery has read so far.
        starts: partition -> its first offset still in the log: records before it were
            deleted (retention), so nothing waits there, committed or not.
    """
    mine = sorted(ends) if held is None else sorted(p for p in ends if p in held)
    first = starts or {}
    done = {p: max(committed.get(p, 0), first.get(p, 0)) for p in mine}
    waiting = {p: max(ends[p] - done[p] - MARKER_OFFSETS, 0) for p in mine}
    return Look(waiting, done, restored)


@dataclass
class StallWatch:
    """Whether a partition has had records waiting without progress for ``stall_s``.

    Fed one :class:`Look` (or None: Kafka did not answer) at a time, with the monotonic time.
    Each partition has its own clock (one stuck partition is not hidden by the others'
    commits); it starts again when the partition's work moves or nothing waits in it. Any
    progress of the table recovery, or an unknown look, starts every clock again.
    """

    stall_s: float
    _since: dict[int, tuple[float, int]] = field(default_factory=dict)
    """Partition -> since when records have waited in it, and where its work stood then."""
    _restored: int | None = None

    def observe(self, now: float, seen: Look | None) -> float:
        """The longest any partition has had records waiting without progress (0: none)."""
        if seen is None or seen.restored != self._restored:
            self._since.clear()
            self._restored = None if seen is None else seen.restored
        if seen is None:
            return 0.0
        since: dict[int, tuple[float, int]] = {}
        for p, waiting in seen.waiting.items():
            if waiting <= 0:
                continue
            done = seen.done.get(p, 0)
            started, was = self._since.get(p, (now, done))
            since[p] = (started if was == done else now, done)
        self._since = since
        return max((now - started for started, _ in since.values()), default=0.0)

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

    ``every_s`` defaults to a sixth of ``stall_s`` (1 s to 15 s; 15 s when ``stall_s`` is 0,
    which judges nothing: the looks go on for what they do on the way). ``look`` returns None
    when Kafka did not answer; an exception it raises is logged and counts as None.
    ``on_stall`` gets the seconds stalled; it is expected to end the process, and the thread
    ends after it.
    """
    watcher = StallWatch(stall_s)
    pause = every_s if every_s is not None else min(max(stall_s / 6, 1.0), 15.0)
    if every_s is None and stall_s <= 0:
        pause = 15.0
    stopping = stop or threading.Event()

    def run() -> None:
        while not stopping.wait(pause):
            try:
                seen = look()
            except Exception as e:  # noqa: BLE001 - the watch never dies of a failed look
                log.warning("streams.stall_look_failed", error=repr(e)[:300])
                seen = None
            waited = watcher.observe(clock(), seen)
            if 0 < stall_s <= waited:
                on_stall(waited)
                return

    thread = threading.Thread(target=run, name="stall-watch", daemon=True)
    thread.start()
    return thread
