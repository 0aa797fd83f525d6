"""Alert state for the stream worker: load and save each stream's lifecycles around the decision.

The decision itself (matching, hysteresis, lifecycle, the alerts' content) is pure and lives in
:class:`domain.alert_decisions.AlertDecisions`. Here: a stream's pairs are snapshotted as bytes
after every entry (for a changelog-backed table), and loaded back when the table holds another
object than the one this book wrote (after a recovery or a rebalance). When the table holds the
object this book wrote and the entry changed no pair (the tracker's revision stayed), that same
object is returned without dumping: its bytes are what a dump would give (the common case, one
entry a second per stream). Alert ids and idempotency keys are deterministic, so an entry
replayed after a crash re-emits the same keys and subscribers (and the sink) drop the repeats.
"""

from __future__ import annotations

import orjson

from domain.alert_decisions import AlertDecisions
from domain.alerting import AlertTracker
from domain.matching import Matcher
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry
from streams.damaged import DamagedState


class AlertBook:
    """Alert lifecycle of every (stream, need) pair, fed with ledger entries."""

    def __init__(self, matcher: Matcher, *, hysteresis: float) -> None:
        """Wrap a matcher.

        Args:
            matcher: holds the registry's sites, needs and exchanges.
            hysteresis: an open alert stays open while available is at least
                ``(1 - hysteresis)`` of what would open it.
        """
        self.decisions = AlertDecisions(matcher, hysteresis=hysteresis)
        self.tracker = AlertTracker()
        self._snapshots: dict[str, bytes] = {}
        self._damaged: list[DamagedState] = []

    def take_damaged(self) -> list[DamagedState]:
        """The damaged table values met since the last call, and forget them."""
        found, self._damaged = self._damaged, []
        return found

    @property
    def matcher(self) -> Matcher:
        """The matcher the decisions use."""
        return self.decisions.matcher

    def apply(self, entry: LedgerEntry, snapshot: bytes | None) -> tuple[list[Alert], bytes]:
        """Lifecycle events caused by one ledger entry, and the stream's new snapshot.

        The snapshot returned is ``snapshot`` itself (no table write) when its bytes did not
        change; it is not even dumped when this book wrote it and no pair changed. A table value
        that is no lifecycle snapshot (damaged) does not stop the stream: the pairs that still
        read go on, the others start afresh (an alert of theirs, if open, opens again under a
        new id and the old id receives no event any more), the new snapshot replaces the value,
        and the value is kept for :meth:`take_damaged` to report.

        Raises:
            KeyError: the entry's stream is not registered with the matcher.
        """
        stream = entry.stream
        ours = self._snapshots.get(stream) is snapshot
        problems: list[str] = []
        if not ours:
            try:
                state = orjson.loads(snapshot) if snapshot is not None else {}
            except orjson.JSONDecodeError as e:
                state, problems = {}, [f"not JSON: {e}"]
            # a damaged value never stops the stream: what still reads goes on, the rest
            # starts afresh
            problems += self.tracker.load(stream, state)
        revision = self.tracker.revision
        alerts = self.decisions.decide(entry, self.tracker)
        if problems:  # reported once the stream went on (a failed decision writes nothing)
            assert snapshot is not None
            self._damaged.append(DamagedState(stream, "; ".join(problems), snapshot))
        if ours and snapshot is not None and self.tracker.revision == revision:
            return alerts, snapshot  # this book wrote it and no pair changed: the same bytes
        new = orjson.dumps(self.tracker.dump(stream))
        if snapshot is not None and new == snapshot:
            # unchanged: keep the table's object (no table write, no reload next time)
            new = snapshot
        self._snapshots[stream] = new
        return alerts, new
