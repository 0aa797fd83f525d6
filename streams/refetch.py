"""Records that were fetched but never reached the stage: which partitions to read again.

faust-streaming 0.15 can lose records between fetching and its agents. Seen on a worker
restarted after ``kill -9`` (tests/integration/test_integration_lifecycle.py), about one restart
in five: the table recovery resumes the stream partitions and then awaits the seek to the
committed offsets; records fetched in that window are passed on by the fetcher (its read
offset moves past them) but never reach the agent's stream, are never acknowledged, and are
not fetched again unless the consumer seeks. When the group had a committed offset the seek
repairs it; for a partition the group never committed, nothing does. Left alone, the worker
then sits idle with a lag that never falls until new records arrive, and once later records of
that partition are committed, the lost ones are never applied to the ledger at all.

This module decides, from what the worker can observe, where to fetch again: a partition whose
consumer position is past the next record the stage has to see, while that partition is quiet
(:class:`StageActivity`): either the whole stage has had nothing to do for ``quiet_s``, or the
partition has made no progress for ``quiet_s`` while the stage finished at least
``BUFFERED_BATCHES`` batches of other records (everything faust had fetched for it by then was
in its buffers, which hold less than that). Reading a record twice is safe (a replay after a
crash does the same: the outputs carry the same idempotency keys and the ledger ignores
readings not newer than a meter's newest); skipping one is not.

The same window also costs partitions that keep receiving records, where the idle rule cannot
see it: faust commits the first run of acknowledged offsets it has, so once later records
are processed, the skipped ones are committed over. :class:`GapCheck` compares each
partition's first record after a rebalance with where it should have started; the worker
reads the records in between with a consumer of its own and processes them first.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

BUFFERED_BATCHES = 4
"""Batches after which a record fetched before them has reached the stage: faust's stream
queue holds two batches of records (``stream_buffer_maxsize``) and its take buffer one."""


@dataclass
class StageActivity:
    """What the stage has been doing, as the refetch rule needs it (monotonic seconds).

    Work is counted from before it waits for the state lock, so a batch or a sweep waiting
    behind another is never taken for idleness.
    """

    running: int = 0
    batches: int = 0
    idle_since: float = field(default_factory=time.monotonic)
    started: tuple[float, int] = field(default_factory=lambda: (time.monotonic(), 0))
    """When (and after how many batches) the agent started taking records."""
    progress: dict[int, tuple[float, int]] = field(default_factory=dict)
    """Partition -> when the stage last took one of its records, and the batch count once
    that batch is done (batches after it are what may have emptied the buffers)."""

    def start(self, now: float | None = None) -> None:
        """The agent starts taking records (the registry is read): quiet times count from now."""
        at = time.monotonic() if now is None else now
        self.started, self.idle_since = (at, self.batches), at

    def begin(self, partitions: Iterable[int] = (), now: float | None = None) -> None:
        """A batch (with records of ``partitions``) or a sweep starts."""
        at = time.monotonic() if now is None else now
        self.running += 1
        for partition in partitions:  # counted from the end of this batch
            self.progress[partition] = (at, self.batches + 1)

    def end(self, *, batch: bool, now: float | None = None) -> None:
        """The batch or sweep begun last ended (also when it failed)."""
        self.running -= 1
        self.batches += int(batch)
        if not self.running:
            self.idle_since = time.monotonic() if now is None else now

    def quiet(
        self, partitions: Iterable[int], quiet_s: float, now: float | None = None
    ) -> set[int]:
        """Of ``partitions``, those whose fetched records must have reached the stage by now."""
        at = time.monotonic() if now is None else now
        if not self.running and at - self.idle_since >= quiet_s:
            return set(partitions)
        found = set()
        for partition in partitions:
            since, batches = self.progress.get(partition, self.started)
            if at - since >= quiet_s and self.batches - batches >= BUFFERED_BATCHES:
                found.add(partition)
        return found


@dataclass
class RefetchGuard:
    """Per readings partition: whether to read it again, and from where.

    Guarantees: a partition is sent back only when its consumer position is past the next
    offset the stage must process (the larger of the last processed offset + 1 and the
    group's committed offset); only for partitions the caller found quiet
    (:meth:`StageActivity.quiet`); and never twice to the same offset for the same position
    once a seek there succeeded (:meth:`confirm`): records that are not delivered by design,
    such as transaction markers, would otherwise be read again forever.
    """

    _sent: dict[int, tuple[int, int]] = field(default_factory=dict)
    _proposed: dict[int, tuple[int, int]] = field(default_factory=dict)
    _judged: dict[int, int] = field(default_factory=dict)
    """Partition -> a position already judged not to need a refetch (no need to ask again)."""

    def doubtful(self, positions: Mapping[int, int | None], processed: Mapping[int, int]) -> bool:
        """Whether a partition's position needs the group's committed offsets to be judged.

        False when every position is at most one past the stage's last processed offset, or
        was judged before as it is now: an idle worker asks the group once, not at every tick.
        """
        for partition, position in positions.items():
            done = processed.get(partition)
            if position is None or (done is not None and position <= done + 1):
                continue
            if self._judged.get(partition) != position:
                return True
        return False

    def decide(
        self,
        positions: Mapping[int, int | None],
        processed: Mapping[int, int],
        committed: Mapping[int, int],
        quiet: Collection[int],
    ) -> dict[int, int]:
        """Partition -> the offset to fetch again from; empty when nothing looks lost.

        Args:
            positions: partition -> the consumer's next offset to return (``None``: unknown).
            processed: partition -> the last offset the stage processed in this process.
            committed: partition -> the group's committed offset (next to read), if any.
            quiet: the partitions whose fetched records must have reached the stage by now.
        """
        seek: dict[int, int] = {}
        for partition, position in positions.items():
            if position is None or partition not in quiet:
                continue
            done = processed.get(partition)
            expected = max(done + 1 if done is not None else 0, committed.get(partition, 0))
            if position <= expected or self._sent.get(partition) == (expected, position):
                self._judged[partition] = position
                continue
            self._proposed[partition] = (expected, position)
            seek[partition] = expected
        return seek

    def confirm(self, partition: int) -> None:
        """The seek :meth:`decide` proposed for ``partition`` was made."""
        proposed = self._proposed.pop(partition, None)
        if proposed is not None:
            self._sent[partition] = proposed


MARKER_OFFSETS = 1
"""Offsets with no record a partition may show between two records within a generation."""


@dataclass(frozen=True, slots=True)
class Gap:
    """Records of one partition the stage must process before the first one it was given."""

    partition: int
    start: int | None
    """The first offset to read; ``None``: the partition's log start (nothing committed)."""
    end: int
    """The first record faust delivered in this generation (read up to before it)."""


@dataclass
class GapCheck:
    """Per readings partition and consumer generation: was anything skipped before its start?

    The faust window :class:`RefetchGuard` repairs also costs partitions that go on receiving
    records: the 20-restart drill once stored a ledger whose newest entries missed ten
    seconds of readings after a restart; the new worker's first record of the partition was
    past the group's committed offset, and faust committed later records over the gap. So the
    first record the stage takes of a partition in each generation (each rebalance) is
    compared with the record it should have been: one past what this process already
    processed of the partition, or the group's committed offset, the later; with neither, the
    partition's log start. Records in between are a :class:`Gap`, which the worker reads with
    a consumer of its own (faust's positions are never moved from the agent: that races its
    fetcher) and processes before the batch.

    Also within a generation, a batch whose first record of a partition is more than
    ``1 + MARKER_OFFSETS`` past the last one the stage processed has a hole before it (records
    acknowledged but never processed, e.g. a batch whose processing was interrupted): that is
    a gap too, from one after the last processed record. A single missing offset there is a
    transaction's commit marker (a producer writing transactions to the readings topic adds
    one per transaction), not worth a read each time.

    Guarantees: each partition is checked at its first record in each generation, and at
    every batch that does not continue where the stage left it. A gap may hold no records (a
    transaction marker, records deleted by retention): reading it finds nothing. The group's
    offsets are needed only for a partition new to the generation that this process has not
    processed up to its first record (:meth:`needs_committed`): a rebalance that leaves a
    partition where it was costs no lookup. ``processed`` (the last offset the stage
    processed of each partition) is trusted to have no holes below it: every hole is filled
    here or, for a partition that went quiet, by :class:`RefetchGuard`.
    """

    _checked: dict[int, int] = field(default_factory=dict)
    """Partition -> the generation it was checked in."""

    def suspects(
        self, firsts: Mapping[int, int], processed: Mapping[int, int], generation: int
    ) -> dict[int, int]:
        """Of a batch's first offset per partition, those to check before the batch.

        ``processed``: partition -> the last offset this process processed of it.
        """
        return {
            p: first
            for p, first in firsts.items()
            if self._checked.get(p) != generation
            or (p in processed and first > processed[p] + 1 + MARKER_OFFSETS)
        }

    def needs_committed(
        self, firsts: Mapping[int, int], processed: Mapping[int, int], generation: int
    ) -> bool:
        """Whether judging ``firsts`` (from :meth:`suspects`) needs the group's offsets."""
        return any(
            self._checked.get(p) != generation
            and (processed.get(p) is None or first > processed[p] + 1)
            for p, first in firsts.items()
        )

    def recheck(self, partitions: Iterable[int]) -> None:
        """A batch of ``partitions`` failed: check each again at its next record, any hole."""
        for partition in partitions:
            self._checked.pop(partition, None)

    def checked(self, partitions: Iterable[int], generation: int) -> None:
        """``partitions`` were checked (and their gaps processed) in ``generation``."""
        for partition in partitions:
            self._checked[partition] = generation

    @staticmethod
    def gaps(
        firsts: Mapping[int, int], processed: Mapping[int, int], committed: Mapping[int, int]
    ) -> list[Gap]:
        """The records to process before each partition's first one (none: nothing missing).

        ``committed``: partition -> the group's committed offset (its next record), if any.
        """
        found: list[Gap] = []
        for partition, first in firsts.items():
            start = committed.get(partition)
            before = processed.get(partition)
            if before is not None:
                start = before + 1 if start is None else max(start, before + 1)
            if start is None and first > 0:
                found.append(Gap(partition, None, first))
            elif start is not None and start < first:
                found.append(Gap(partition, start, first))
        return found
