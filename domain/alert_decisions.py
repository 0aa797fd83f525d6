"""What a ledger entry means for its stream's alerts: the whole decision, pure.

For each ledger entry: find the needs the stream satisfies now (the matcher), re-check open
pairs with the hysteresis-relaxed threshold, feed both to the lifecycle tracker
(:mod:`domain.alerting`) and turn its events into :class:`~schemas.alerts.Alert` payloads. The
stream worker only loads and saves the tracker's state around :meth:`AlertDecisions.decide`
(``streams/alert_state.py``).

It runs for every ledger entry, so it works on numbers: the feasible quantities come from
:meth:`~domain.matching.Matcher.quantities` and the hysteresis re-check from
:meth:`~domain.matching.Matcher.offer`, the tracker is stepped with plain mappings
(:meth:`~domain.alerting.AlertTracker.advance`), and a distance and a benefit are computed only
for the pairs that emit an event. The alerts are exactly those of the full path (every pair a
:class:`~domain.matching.Match`, re-checks with :meth:`~domain.matching.Matcher.check`): the
same numbers from the same arithmetic (a tested property).

Most entries change nothing: a stream's amount drifts a little from second to second. After
each full decision the stream gets a *quiet band* (:meth:`AlertDecisions._band`): the amounts
between the thresholds around the current one (no need becomes feasible or infeasible), above
what keeps each held pair (open by the hysteresis alone) offered, within the update threshold
of every open pair's last event, and the times before the next active-period edge or pending
pair's opening. An entry inside it, with the registry, the exchanges on
capped needs and the tracker's pairs of the stream unchanged, is answered with no alert without
stepping the pairs; any other entry takes the full path, which makes a new band. The answers
are the full path's (a property test against the reference with slowly drifting amounts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from domain.alerting import AlertTracker, LifecycleEvent, _PairState
from domain.benefits import estimate
from domain.figures import rounded_benefit, significant
from domain.geo import haversine_km
from domain.matching import Matcher, QuietSpan
from domain.units import convert, gas_density
from schemas.alerts import Alert, AlertEvent, Benefit, ResolveReason
from schemas.ledger import LedgerEntry

_MARGIN: Final = 1e-9
"""Relative margin kept inside a quiet band's edges (float rounding is ~1e-16)."""
_TIME_MARGIN_S: Final = 1e-3
"""A pending pair's opening time is taken this much early (float seconds since 1970)."""


@dataclass(frozen=True, slots=True)
class _Quiet:
    """A stream's quiet band: an entry inside it changes nothing (:meth:`AlertDecisions._band`)."""

    span: QuietSpan
    pairs: dict[str, _PairState] | None
    """The tracker's pairs of the stream when the band was made (the same object must hold)."""
    low: float
    high: float
    since: float
    until: float


class AlertDecisions:
    """What each ledger entry means for its stream's alerts; pure, the tracker is passed in."""

    def __init__(self, matcher: Matcher, *, hysteresis: float) -> None:
        """Wrap a matcher.

        Args:
            matcher: holds the registry's sites, needs and exchanges.
            hysteresis: an open alert stays open while available is at least
                ``(1 - hysteresis)`` of what would open it.
        """
        self.matcher = matcher
        self.hysteresis = hysteresis
        self._quiet: dict[str, _Quiet] = {}
        self.quiet_hits = 0
        """Entries answered from a quiet band (for tests and benchmarks)."""

    def decide(self, entry: LedgerEntry, tracker: AlertTracker) -> list[Alert]:
        """The alerts one ledger entry causes; ``tracker`` holds (and keeps) the lifecycles.

        Finds the needs the stream satisfies now, re-checks open pairs with the
        hysteresis-relaxed threshold (described at the real availability), and turns the
        tracker's lifecycle events into alerts.

        Cost: the quantities come from :meth:`Matcher.quantities` and :meth:`Matcher.offer`
        (no :class:`Match` or benefit per pair); distance and benefit are computed only for
        the pairs that emit an event. The alerts are those :meth:`Matcher.match`,
        and :meth:`Matcher.check` give (same numbers, bit for bit).

        Raises:
            KeyError: the entry's stream is not registered with the matcher.
        """
        stream = entry.stream
        now = entry.updated_at
        available = entry.available
        matcher = self.matcher
        quiet = self._quiet.get(stream)
        if quiet is not None and not entry.stale and quiet.low < available < quiet.high:
            t = now.timestamp()
            if (
                quiet.since <= t < quiet.until
                and tracker.streams.get(stream) is quiet.pairs
                and matcher.unchanged(stream, quiet.span)
            ):
                self.quiet_hits += 1
                return []
        feasible = matcher.quantities(stream, available, now=now, sustained_s=math.inf)
        held: dict[str, float] = {}
        relaxed = available / (1.0 - self.hysteresis)
        for need in tracker.open_needs(stream, besides=feasible):
            quantity = matcher.offer(stream, need, relaxed, now=now, sustained_s=math.inf)
            if quantity is not None:  # still open: describe it with what is really available
                held[need] = min(quantity, self._in_need_unit(stream, need, available))
        events = tracker.advance(stream, now, feasible, held, matcher.min_duration_s)
        band = None if entry.stale else self._band(stream, entry, tracker, feasible, held)
        if band is None:
            self._quiet.pop(stream, None)
        else:
            self._quiet[stream] = band
        return [self._alert(ev, entry) for ev in events]

    def _band(
        self,
        stream: str,
        entry: LedgerEntry,
        tracker: AlertTracker,
        feasible: dict[str, float],
        held: dict[str, float],
    ) -> _Quiet | None:
        """The amounts and times over which a later entry of ``stream`` changes nothing.

        After the tracker stepped, for an amount and time inside the band: the same needs are
        feasible (:meth:`Matcher.quiet_span`), every held pair (open, feasible only with the
        hysteresis-relaxed amount) stays held (:meth:`QuietSpan.held_terms`), no pending pair
        reaches its opening time, and no open pair's quantity moves past the tracker's update
        threshold from its last event; so the lifecycle emits nothing and no pair changes. A
        held pair's quantity is the same function of the amount as a feasible one's (the
        smaller of the amount in the need's unit and the need's cap). ``None`` when the stream
        has nothing to gain (no span).

        Long because: one pass over the stream's pairs, narrowing the band by each pair's rule
        (pending, feasible or held), and the final check of the entry against it.
        """
        matcher = self.matcher
        span = matcher.quiet_span(stream, entry.available, now=entry.updated_at)
        if span is None:
            return None
        low, high, until = span.low, span.high, span.until
        pairs = tracker.streams.get(stream)
        step = tracker.update_threshold * (1.0 - _MARGIN)
        for need, pair in (pairs or {}).items():
            if pair.alert_id is None:  # pending: opens once feasible for the need's duration
                opens = pair.feasible_since + matcher.min_duration_s(need) - _TIME_MARGIN_S
                until = min(until, opens)
                continue
            last = pair.last_quantity
            if last == 0:
                return None
            if need not in feasible:
                if need not in held:
                    return None
                factor, floor, ends = span.held_terms(need)
                if factor <= 0:
                    return None
                # offered at the relaxed amount a / (1 - h): a x factor >= floor (1 - h), a > 0
                keep = max(floor, 0.0) * (1.0 - self.hysteresis) / factor
                low = max(low, keep * (1.0 + _MARGIN), 0.0)
                until = min(until, ends)
            factor, cap = span.terms(need)
            below, above = last - step * abs(last), last + step * abs(last)
            low = max(low, below / factor * (1.0 + _MARGIN))
            if below <= cap <= above:
                continue  # capped inside the band: any larger amount is quiet too
            if cap < below:
                return None
            high = min(high, above / factor * (1.0 - _MARGIN))
        t = entry.updated_at.timestamp()
        if not low < entry.available < high or t >= until:
            return None
        return _Quiet(span, pairs, low, high, t, until)

    def _in_need_unit(self, stream_id: str, need_id: str, available: float) -> float:
        """``available`` (stream unit) in the need's unit, for a held pair at the real amount."""
        _, stream = self.matcher.stream(stream_id)
        need = self.matcher.need(need_id)
        return convert(
            available, stream.unit, need.unit, field=f"stream {stream.id!r} available",
            kind=stream.kind, gas_species=stream.gas_species or need.gas_species,
            density_kg_per_m3=gas_density(stream, need),
        )  # fmt: skip

    def _alert(self, ev: LifecycleEvent, entry: LedgerEntry) -> Alert:
        """The alert of one event; a live pair is described at the event's quantity."""
        site, stream = self.matcher.stream(ev.stream)
        reason: ResolveReason | None = None
        if ev.event != "resolved":  # the pair is feasible or held: its need is open
            need = self.matcher.need(ev.need)
            quantity, need_unit = ev.quantity, need.unit
            distance = self.matcher.distance_km(ev.stream, ev.need)
            benefit = estimate(stream, need, quantity, distance)
        else:  # resolved: the pair no longer matches, describe it from the registry
            quantity, benefit = 0.0, Benefit(co2e_t_per_yr=0.0)
            found = self._static(ev.stream, ev.need)
            if entry.stale:
                reason = ResolveReason.STALE
            elif found is None:
                reason = ResolveReason.WITHDRAWN
            else:
                reason = ResolveReason.INSUFFICIENT
            need_unit, distance = found if found is not None else (stream.unit, 0.0)
        return Alert(
            alert_id=ev.alert_id,
            idempotency_key=ev.idempotency_key,
            event=AlertEvent(ev.event),
            stream=ev.stream,
            need=ev.need,
            kind=stream.kind,
            available=entry.available,
            unit=stream.unit,
            quantity=significant(quantity),
            need_unit=need_unit,
            distance_km=significant(distance),
            benefit=rounded_benefit(benefit),
            supplier_company=site.company if site.disclose_identity else None,
            ts=entry.updated_at,
            reason=reason,
        )

    def _static(self, stream_id: str, need_id: str) -> tuple[str, float] | None:
        """The need's unit and distance from the registry; ``None``: the need was withdrawn."""
        site, _ = self.matcher.stream(stream_id)
        try:
            need = self.matcher.need(need_id)
            need_site = self.matcher.site(need.site)
        except KeyError:  # the need was withdrawn: that is why the alert resolves
            return None
        return need.unit, haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
