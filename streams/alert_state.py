"""Alert glue for the stream worker: matcher + lifecycle tracker -> :class:`Alert` payloads.

Thin around :mod:`domain.matching` and :mod:`domain.alerting`: for each ledger entry, find the
needs the stream satisfies now, re-check open pairs with the hysteresis-relaxed threshold, and
turn lifecycle events into alerts (redacted: the supplier's company only when it allows it).
"""

from __future__ import annotations

import math

from domain.alerting import AlertTracker, Candidate, LifecycleEvent
from domain.matching import Match, Matcher
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.ledger import LedgerEntry


class AlertBook:
    """Alert lifecycle of every (stream, need) pair, fed with ledger entries."""

    def __init__(self, matcher: Matcher, *, hysteresis: float) -> None:
        """Wrap a matcher.

        Args:
            matcher: holds the park's sites, needs and exchanges.
            hysteresis: an open alert stays open while available is at least
                ``(1 - hysteresis)`` of what would open it.
        """
        self.matcher = matcher
        self.hysteresis = hysteresis
        self.tracker = AlertTracker()
        self._last: dict[tuple[str, str], Match] = {}

    def apply(self, entry: LedgerEntry) -> list[Alert]:
        """Lifecycle events caused by one ledger entry, as alert payloads."""
        now = entry.updated_at
        feasible = self.matcher.match(entry.stream, entry.available, now=now, sustained_s=math.inf)
        matches = {m.need: m for m in feasible}
        held: list[Candidate] = []
        relaxed = entry.available / (1.0 - self.hysteresis)
        for need in self.tracker.open_needs(entry.stream):
            if need in matches:
                continue
            m = self.matcher.check(entry.stream, need, relaxed, now=now, sustained_s=math.inf)
            if m is not None:
                matches[need] = m
                held.append(self._candidate(m))
        events = self.tracker.observe(
            entry.stream, now, [self._candidate(m) for m in feasible], held
        )
        alerts = []
        for ev in events:
            m = matches.get(ev.need) or self._last[(ev.stream, ev.need)]
            self._last[(ev.stream, ev.need)] = m
            alerts.append(self._alert(ev, m, entry))
            if ev.event == "resolved":
                del self._last[(ev.stream, ev.need)]
        return alerts

    def _candidate(self, m: Match) -> Candidate:
        need = self.matcher.need(m.need)
        return Candidate(need=m.need, quantity=m.quantity, min_duration_s=need.min_duration_s)

    def _alert(self, ev: LifecycleEvent, m: Match, entry: LedgerEntry) -> Alert:
        site, _ = self.matcher.stream(m.stream)
        resolved = ev.event == "resolved"
        return Alert(
            alert_id=ev.alert_id,
            idempotency_key=ev.idempotency_key,
            event=AlertEvent(ev.event),
            stream=m.stream,
            need=m.need,
            kind=m.kind,
            available=entry.available,
            unit=m.unit,
            quantity=0.0 if resolved else m.quantity,
            need_unit=m.need_unit,
            distance_km=m.distance_km,
            benefit=Benefit(co2e_t_per_yr=0.0) if resolved else m.benefit,
            supplier_company=site.company if site.disclose_identity else None,
            ts=entry.updated_at,
        )
