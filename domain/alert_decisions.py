"""What a ledger entry means for its stream's alerts: the whole decision, pure.

For each ledger entry: find the needs the stream satisfies now (the matcher), re-check open
pairs with the hysteresis-relaxed threshold, feed both to the lifecycle tracker
(:mod:`domain.alerting`) and turn its events into :class:`~schemas.alerts.Alert` payloads. The
stream worker only loads and saves the tracker's state around :meth:`AlertDecisions.decide`
(``streams/alert_state.py``).
"""

from __future__ import annotations

import math
from dataclasses import replace

from domain.alerting import AlertTracker, Candidate, LifecycleEvent
from domain.benefits import estimate
from domain.geo import haversine_km
from domain.matching import Match, Matcher
from domain.units import convert, gas_density
from schemas.alerts import Alert, AlertEvent, Benefit
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

        Raises:
            KeyError: the entry's stream is not registered with the matcher.
        """
        stream = entry.stream
        now = entry.updated_at
        feasible = self.matcher.match(stream, entry.available, now=now, sustained_s=math.inf)
        matches = {m.need: m for m in feasible}
        held: list[Candidate] = []
        relaxed = entry.available / (1.0 - self.hysteresis)
        for need in tracker.open_needs(stream):
            if need in matches:
                continue
            m = self.matcher.check(stream, need, relaxed, now=now, sustained_s=math.inf)
            if m is not None:  # still open: describe it with what is really available
                m = self._actual(m, entry.available)
                matches[need] = m
                held.append(self._candidate(m))
        events = tracker.observe(stream, now, [self._candidate(m) for m in feasible], held)
        return [self._alert(ev, matches.get(ev.need), entry) for ev in events]

    def _actual(self, relaxed: Match, available: float) -> Match:
        """A held pair's match re-expressed at the real ``available`` (not the relaxed one)."""
        _, stream = self.matcher.stream(relaxed.stream)
        need = self.matcher.need(relaxed.need)
        in_need_unit = convert(
            available, stream.unit, need.unit, field=f"stream {stream.id!r} available",
            kind=stream.kind, gas_species=stream.gas_species or need.gas_species,
            density_kg_per_m3=gas_density(stream, need),
        )  # fmt: skip
        quantity = min(relaxed.quantity, in_need_unit)
        benefit = estimate(stream, need, quantity, relaxed.distance_km)
        return replace(
            relaxed, available=available, quantity=quantity, benefit=benefit,
            score=benefit.co2e_t_per_yr,
        )  # fmt: skip

    def _candidate(self, m: Match) -> Candidate:
        need = self.matcher.need(m.need)
        return Candidate(need=m.need, quantity=m.quantity, min_duration_s=need.min_duration_s)

    def _alert(self, ev: LifecycleEvent, m: Match | None, entry: LedgerEntry) -> Alert:
        site, stream = self.matcher.stream(ev.stream)
        if m is not None:
            quantity, need_unit, distance, benefit = (
                m.quantity,
                m.need_unit,
                m.distance_km,
                m.benefit,
            )
        else:  # resolved: the pair no longer matches, describe it from the registry
            quantity, benefit = 0.0, Benefit(co2e_t_per_yr=0.0)
            need_unit, distance = self._static(ev.stream, ev.need)
        return Alert(
            alert_id=ev.alert_id,
            idempotency_key=ev.idempotency_key,
            event=AlertEvent(ev.event),
            stream=ev.stream,
            need=ev.need,
            kind=stream.kind,
            available=entry.available,
            unit=stream.unit,
            quantity=quantity,
            need_unit=need_unit,
            distance_km=distance,
            benefit=benefit,
            supplier_company=site.company if site.disclose_identity else None,
            ts=entry.updated_at,
        )

    def _static(self, stream_id: str, need_id: str) -> tuple[str, float]:
        site, stream = self.matcher.stream(stream_id)
        try:
            need = self.matcher.need(need_id)
            need_site = self.matcher.site(need.site)
        except KeyError:  # the need was withdrawn: that is why the alert resolves
            return stream.unit, 0.0
        return need.unit, haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
