"""Alert lifecycle for (stream, need) pairs: opened, updated, resolved, with hysteresis.

The tracker is pure: give it, for one stream at one instant, the needs the matcher finds
feasible now; it returns the lifecycle events to publish. Rules:

- A pair becomes *pending* when first feasible and *opens* once it has stayed feasible for the
  need's ``min_duration_s`` (so a spike does not alert).
- An open pair stays open while its quantity stays within the hysteresis band: the caller
  re-checks open pairs with the need's minimum relaxed by ``hysteresis`` (see
  :meth:`AlertTracker.observe`), so noise around the threshold does not flap.
- An open pair emits ``updated`` when its offered quantity moves by more than
  ``update_threshold`` (relative) since the last event; ``resolved`` when it stops.
- ``alert_id`` is stable for one episode (opened .. resolved); each event has a unique
  ``idempotency_key`` (``alert_id`` + event sequence number).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

EventName = Literal["opened", "updated", "resolved"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the matcher says about one feasible pair now."""

    need: str
    quantity: float
    min_duration_s: float


@dataclass(frozen=True, slots=True)
class LifecycleEvent:
    """One lifecycle step to publish."""

    event: EventName
    alert_id: str
    idempotency_key: str
    stream: str
    need: str
    quantity: float


@dataclass(slots=True)
class _PairState:
    feasible_since: float
    alert_id: str | None = None
    sequence: int = 0
    last_quantity: float = 0.0


@dataclass(slots=True)
class AlertTracker:
    """Lifecycle state of every (stream, need) pair of the streams it is fed.

    Pairs are held per stream, so every operation costs in proportion to that stream's pairs,
    never to the whole park's (a TEDA-size park has tens of thousands of open pairs).
    """

    update_threshold: float = 0.2
    streams: dict[str, dict[str, _PairState]] = field(default_factory=dict)
    """stream -> need -> the pair's state."""

    def dump(self, stream: str) -> dict[str, list[Any]]:
        """JSON-friendly snapshot of one stream's pairs (what a restart needs to go on)."""
        return {
            need: [st.feasible_since, st.alert_id, st.sequence, st.last_quantity]
            for need, st in self.streams.get(stream, {}).items()
        }

    def load(self, stream: str, state: dict[str, list[Any]]) -> None:
        """Replace one stream's pairs with a :meth:`dump` snapshot."""
        if not state:
            self.streams.pop(stream, None)
            return
        self.streams[stream] = {
            need: _PairState(
                feasible_since=float(since),
                alert_id=alert_id,
                sequence=int(sequence),
                last_quantity=float(last_quantity),
            )
            for need, (since, alert_id, sequence, last_quantity) in state.items()
        }

    def open_needs(self, stream: str) -> list[str]:
        """Needs with an open alert for ``stream`` (the caller re-checks them with hysteresis)."""
        return [n for n, st in self.streams.get(stream, {}).items() if st.alert_id is not None]

    def observe(
        self, stream: str, now: datetime, feasible: list[Candidate], held: list[Candidate]
    ) -> list[LifecycleEvent]:
        """Advance the pairs of ``stream`` to ``now``.

        Args:
            stream: the stream whose ledger changed.
            now: time of the ledger change (the newest reading's timestamp).
            feasible: pairs feasible under the need's own thresholds.
            held: open pairs still feasible with the hysteresis-relaxed threshold (a pair that is
                in neither list is resolved).

        Returns:
            Events in a deterministic order (need id).
        """
        t = now.timestamp()
        events: list[LifecycleEvent] = []
        current = {c.need: c for c in held}
        current.update({c.need: c for c in feasible})
        feasible_needs = {c.need for c in feasible}
        pairs = self.streams.setdefault(stream, {})
        for need in list(pairs):
            state = pairs[need]
            if need in current and (state.alert_id is not None or need in feasible_needs):
                continue
            if state.alert_id is not None:
                events.append(self._event(state, "resolved", stream, need, 0.0))
            del pairs[need]
        for need in sorted(current):
            cand = current[need]
            found = pairs.get(need)
            if found is None:
                if need not in feasible_needs:
                    continue
                found = pairs[need] = _PairState(feasible_since=t)
            state = found
            if state.alert_id is None:
                if t - state.feasible_since >= cand.min_duration_s:
                    state.alert_id = _alert_id(stream, need, state.feasible_since)
                    events.append(self._event(state, "opened", stream, need, cand.quantity))
            elif _moved(state.last_quantity, cand.quantity, self.update_threshold):
                events.append(self._event(state, "updated", stream, need, cand.quantity))
        if not pairs:
            del self.streams[stream]
        return events

    @staticmethod
    def _event(
        state: _PairState, name: EventName, stream: str, need: str, quantity: float
    ) -> LifecycleEvent:
        assert state.alert_id is not None
        state.sequence += 1
        state.last_quantity = quantity
        return LifecycleEvent(
            event=name,
            alert_id=state.alert_id,
            idempotency_key=f"{state.alert_id}:{state.sequence}",
            stream=stream,
            need=need,
            quantity=quantity,
        )


def _moved(before: float, after: float, threshold: float) -> bool:
    if before == 0:
        return after != 0
    return abs(after - before) / abs(before) > threshold


def _alert_id(stream: str, need: str, since: float) -> str:
    """Stable id of one episode: same pair and start always give the same id."""
    digest = hashlib.blake2s(f"{stream}|{need}|{since:.3f}".encode(), digest_size=8).hexdigest()
    return f"al-{digest}"
