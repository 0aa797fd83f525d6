"""Alert lifecycle for (stream, need) pairs: opened, updated, resolved, with hysteresis.

The tracker is pure: give it, for one stream at one instant, the needs the matcher finds
feasible now; it returns the lifecycle events to publish. Rules:

- A pair becomes *pending* when first feasible and *opens* once it has stayed feasible for the
  need's ``min_duration_s`` (so a spike does not alert).
- An open pair stays open while its quantity stays within the hysteresis band: the caller
  re-checks open pairs with the need's minimum relaxed by ``hysteresis`` (see
  :meth:`AlertTracker.advance`), so noise around the threshold does not flap.
- An open pair emits ``updated`` when its offered quantity moves by more than
  ``update_threshold`` (relative) since the last event; ``resolved`` when it stops.
- ``alert_id`` is stable for one episode (opened .. resolved); each event has a unique
  ``idempotency_key`` (``alert_id`` + event sequence number).

:meth:`AlertTracker.advance` takes plain need -> quantity mappings (it runs for every ledger
entry); :attr:`AlertTracker.revision` counts the changes, so a caller can tell that a stream's
snapshot cannot have changed without dumping it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from schemas.alerts import Alert
from schemas.common import max_length

EventName = Literal["opened", "updated", "resolved"]


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


_ID_MAX: Final = max_length(Alert, "alert_id")
"""The longest alert id an alert holds (an id read from a snapshot must make a valid alert)."""


def _pair(need: object, value: object) -> _PairState:
    """One pair of a :meth:`AlertTracker.dump` snapshot, checked (see :meth:`AlertTracker.load`)."""
    if not isinstance(need, str) or not isinstance(value, list) or len(value) != 4:
        raise ValueError(f"alert state of need {need!r:.80}: not a need and its four figures")
    since, alert_id, sequence, last_quantity = value
    if not _finite(since) or not _finite(last_quantity):
        raise ValueError(f"alert state of need {need!r:.80}: its time and quantity are no numbers")
    if alert_id is not None and not (isinstance(alert_id, str) and 0 < len(alert_id) <= _ID_MAX):
        raise ValueError(f"alert state of need {need!r:.80}: alert id {alert_id!r:.100}")
    if type(sequence) is not int or sequence < 0:
        raise ValueError(f"alert state of need {need!r:.80}: sequence {sequence!r:.40}")
    return _PairState(float(since), alert_id, sequence, float(last_quantity))


def _finite(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]


@dataclass(slots=True)
class AlertTracker:
    """Lifecycle state of every (stream, need) pair of the streams it is fed.

    Pairs are held per stream, so every operation costs in proportion to that stream's pairs,
    never to the whole park's (a TEDA-size park has tens of thousands of open pairs).
    """

    update_threshold: float = 0.2
    streams: dict[str, dict[str, _PairState]] = field(default_factory=dict)
    """stream -> need -> the pair's state."""
    revision: int = field(default=0, compare=False, repr=False)
    """Grows with every change the tracker's methods make to any pair (a pair begun, opened,
    advanced by an event or dropped; a stream loaded): while it stays, every :meth:`dump` is
    unchanged. Changes made to :attr:`streams` directly are not counted."""

    def dump(self, stream: str) -> dict[str, list[Any]]:
        """JSON-friendly snapshot of one stream's pairs (what a restart needs to go on)."""
        return {
            need: [st.feasible_since, st.alert_id, st.sequence, st.last_quantity]
            for need, st in self.streams.get(stream, {}).items()
        }

    def load(self, stream: str, state: object) -> list[str]:
        """Replace one stream's pairs with a :meth:`dump` snapshot; say what did not read.

        What a damaged table value still holds is kept (an open alert whose pair reads goes on
        and resolves as usual); the other pairs start afresh. Returns the reasons, one per pair
        (or one for the whole value) that was not loaded; empty when the value was whole.
        """
        if not isinstance(state, dict):
            self._set(stream, {})
            return [f"an alert state is an object of needs, not {type(state).__name__}"]
        pairs: dict[str, _PairState] = {}
        problems: list[str] = []
        for need, value in state.items():
            try:
                pairs[need] = _pair(need, value)
            except ValueError as e:
                problems.append(str(e))
        self._set(stream, pairs)
        return problems

    def _set(self, stream: str, pairs: dict[str, _PairState]) -> None:
        self.revision += 1
        if not pairs:
            self.streams.pop(stream, None)
        else:
            self.streams[stream] = pairs

    def open_needs(self, stream: str, *, besides: Container[str] = ()) -> list[str]:
        """Needs with an open alert for ``stream`` (the caller re-checks them with hysteresis).

        Args:
            stream: the stream.
            besides: needs to leave out (e.g. those already feasible).
        """
        return [
            n
            for n, st in self.streams.get(stream, {}).items()
            if st.alert_id is not None and n not in besides
        ]

    def advance(
        self,
        stream: str,
        now: datetime,
        feasible: Mapping[str, float],
        held: Mapping[str, float],
        min_duration_s: Callable[[str], float],
    ) -> list[LifecycleEvent]:
        """Advance the pairs of ``stream`` to ``now``; returns the lifecycle events.

        Long because: the lifecycle rules of the module docstring in one pass over the
        stream's pairs (drop or resolve), one over the candidates (find the pairs with a step
        to take) and one over those few, by need id; it runs for every ledger entry.

        Args:
            stream: the stream whose ledger changed.
            now: time of the ledger change.
            feasible: need -> quantity offered, for pairs feasible under the need's thresholds.
            held: need -> quantity, for open pairs still feasible with the relaxed threshold (a
                need also in ``feasible`` counts as feasible, with that quantity).
            min_duration_s: a need's ``min_duration_s``; asked only for pending pairs.

        Returns:
            Resolved events first (in the order the pairs began), then opened and updated ones
            by need id.
        """
        t = now.timestamp()
        events: list[LifecycleEvent] = []
        pairs = self.streams.setdefault(stream, {})
        gone: list[str] = []
        for need, state in pairs.items():
            if state.alert_id is None:
                if need in feasible:
                    continue
            elif need in feasible or need in held:
                continue
            else:
                events.append(self._event(state, "resolved", stream, need, 0.0))
            gone.append(need)
        for need in gone:
            del pairs[need]
            self.revision += 1
        # Each pair's step depends on that pair alone: find the pairs with a step to take
        # (begin, open, or move past the threshold; most have none), then take the steps by
        # need id.
        due: list[str] = []
        threshold = self.update_threshold
        for need in feasible.keys() | held.keys() if held else feasible:
            pair = pairs.get(need)
            if pair is None:
                if need in feasible:
                    due.append(need)
            elif pair.alert_id is None:
                if t - pair.feasible_since >= min_duration_s(need):
                    due.append(need)
            else:
                quantity = feasible[need] if need in feasible else held[need]
                before = pair.last_quantity
                if (
                    (quantity != 0)
                    if before == 0
                    else abs(quantity - before) / abs(before) > threshold
                ):
                    due.append(need)
        for need in sorted(due):
            quantity = feasible[need] if need in feasible else held[need]
            pair = pairs.get(need)
            if pair is None:
                pair = pairs[need] = _PairState(feasible_since=t)
                self.revision += 1
            if pair.alert_id is None:
                if t - pair.feasible_since >= min_duration_s(need):
                    pair.alert_id = _alert_id(stream, need, pair.feasible_since)
                    events.append(self._event(pair, "opened", stream, need, quantity))
            else:
                events.append(self._event(pair, "updated", stream, need, quantity))
        if not pairs:
            del self.streams[stream]
        return events

    def _event(
        self, state: _PairState, name: EventName, stream: str, need: str, quantity: float
    ) -> LifecycleEvent:
        assert state.alert_id is not None
        self.revision += 1
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


def _alert_id(stream: str, need: str, since: float) -> str:
    """Stable id of one episode: same pair and start always give the same id."""
    digest = hashlib.blake2s(f"{stream}|{need}|{since:.3f}".encode(), digest_size=8).hexdigest()
    return f"al-{digest}"
