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
consumer position is past the next record the stage has to see, while the stage has had
nothing to do for a while (a backlog in the agent's buffer would have been handed over within
one batch interval). Reading a record twice is safe (a replay after a crash does the same: the
outputs carry the same idempotency keys and the ledger is keyed by stream and time); skipping
one is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class RefetchGuard:
    """Per readings partition: where the stage is, and where the last refetch went.

    Guarantees: a partition is sent back only when its consumer position is past the next
    offset the stage must process (the larger of the last processed offset + 1 and the
    group's committed offset); only after the stage has been idle for ``quiet_s``; and never
    twice to the same offset for the same position (records that are not delivered by design,
    such as transaction markers, would otherwise be read again forever).
    """

    quiet_s: float
    _sent: dict[int, tuple[int, int]] = field(default_factory=dict)

    def decide(
        self,
        positions: Mapping[int, int | None],
        processed: Mapping[int, int],
        committed: Mapping[int, int],
        idle_s: float,
    ) -> dict[int, int]:
        """Partition -> the offset to fetch again from; empty when nothing looks lost.

        Args:
            positions: partition -> the consumer's next offset to return (``None``: unknown).
            processed: partition -> the last offset the stage processed in this process.
            committed: partition -> the group's committed offset (next to read), if any.
            idle_s: seconds since the stage last finished a batch, 0 while one runs.
        """
        if idle_s < self.quiet_s:
            return {}
        seek: dict[int, int] = {}
        for partition, position in positions.items():
            if position is None:
                continue
            done = processed.get(partition)
            expected = max(done + 1 if done is not None else 0, committed.get(partition, 0))
            if position <= expected or self._sent.get(partition) == (expected, position):
                continue
            self._sent[partition] = (expected, position)
            seek[partition] = expected
        return seek
