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
"""

from __future__ import annotations

import math

from domain.alerting import AlertTracker, LifecycleEvent
from domain.benefits import estimate
from domain.figures import rounded_benefit, significant
from domain.geo import haversine_km
from domain.matching import Matcher
from domain.units import convert, gas_density
from schemas.alerts import Alert, AlertEvent, Benefit, ResolveReason
from schemas.ledger import LedgerEntry


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
        feasible = matcher.quantities(stream, available, now=now, sustained_s=math.inf)
        held: dict[str, float] = {}
        relaxed = available / (1.0 - self.hysteresis)
        for need in tracker.open_needs(stream, besides=feasible):
            quantity = matcher.offer(stream, need, relaxed, now=now, sustained_s=math.inf)
            if quantity is not None:  # still open: describe it with what is really available
                held[need] = min(quantity, self._in_need_unit(stream, need, available))
        events = tracker.advance(stream, now, feasible, held, matcher.min_duration_s)
        return [self._alert(ev, entry) for ev in events]

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
