"""Why a (stream, need) pair matches or not, rule by rule (``symbiosis match --explain``).

The rules are those of :func:`domain.matching.feasible` (its module docstring), told apart so
a plant engineer sees which one fails; the verdict is always the matcher's own. Should the two
ever disagree, a ``matcher`` check says so rather than show a verdict without its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain import ewc as ewc_list
from domain.errors import UnitError
from domain.figures import significant as figure
from domain.geo import haversine_km
from domain.match_index import compatible_need_kinds
from domain.matching import QUANTITY_TOLERANCE, Matcher
from domain.park import nominal_available
from domain.units import factor, gas_density
from schemas.common import ResourceKind
from schemas.registry import Need, Park, Site, Stream


@dataclass(frozen=True, slots=True)
class Check:
    """One matching rule applied to one (stream, need) pair, in words."""

    rule: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class PairVerdict:
    """One stream against one need: the matcher's verdict and each rule's outcome.

    ``match`` and ``quantity`` (in the need's unit) are the matcher's own answer
    (:meth:`domain.matching.Matcher.check`); ``checks`` say why. Should they ever disagree (a
    rule here out of step with :func:`domain.matching.feasible`), a ``matcher`` check says so
    rather than show a verdict without its reason.
    """

    site: Site
    stream: Stream
    match: bool
    quantity: float | None
    distance_km: float
    checks: tuple[Check, ...]

    def as_dict(self, number: Any) -> dict[str, Any]:
        """JSON-ready, figures passed through ``number`` (e.g. :func:`figure`)."""
        return {
            "stream": self.stream.id, "site": self.site.id, "company": self.site.company,
            "kind": self.stream.kind.value, "match": self.match,
            "quantity": number(self.quantity) if self.quantity is not None else None,
            "distance_km": round(self.distance_km, 3),
            "checks": [{"rule": c.rule, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }  # fmt: skip


def explain_need(park: Park, matcher: Matcher, need_id: str, now: datetime) -> list[PairVerdict]:
    """Every stream of ``park`` against the need, at nominal surplus (as ``match``), file order.

    The rules are those of :func:`domain.matching.feasible` (its module docstring), each told
    apart; the verdict is the matcher's, with the need's committed capacity at ``now``.

    Raises:
        KeyError: the matcher does not hold the need (unknown, or left out of the park).
    """
    need = matcher.need(need_id)
    need_site = matcher.site(need.site)
    available = nominal_available(park, now)
    committed = matcher.committed(need.id, now)
    out = []
    for site, stream in park.streams():
        amount = available[stream.id]
        checks = pair_checks(site, stream, need, need_site, amount, now, committed)
        found = matcher.check(stream.id, need.id, amount, now=now, sustained_s=math.inf)
        if (found is not None) != all(c.ok for c in checks):
            said = "matches" if found is not None else "does not match"
            checks.append(Check("matcher", False, f"the matcher {said}: report this as a bug"))
        distance = haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
        quantity = found.quantity if found is not None else None
        out.append(PairVerdict(site, stream, found is not None, quantity, distance, tuple(checks)))
    return out


def pair_checks(
    site: Site,
    stream: Stream,
    need: Need,
    need_site: Site,
    available: float,
    now: datetime,
    committed: float,
) -> list[Check]:
    """Each rule of :func:`domain.matching.feasible` for the pair, surplus taken as sustained.

    The quality and quantity rules are only checked for a kind the stream can serve.
    """
    kind_ok = need.kind in compatible_need_kinds(stream.kind)
    distance = haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
    checks = [
        Check("company", site.company != need_site.company,
              f"{site.company} -> {need_site.company}" if site.company != need_site.company
              else f"same company ({site.company})"),
        Check("kind", kind_ok, f"{stream.kind.value} -> {need.kind.value}" if kind_ok
              else f"a {stream.kind.value} stream cannot serve a {need.kind.value} need"),
        _distance_check(distance, stream, need),
        _window_check(need, now),
    ]  # fmt: skip
    if need.min_duration_s > 0:
        detail = f"needs {need.min_duration_s:g} s; nominal surplus counts as sustained"
        checks.append(Check("duration", True, detail))
    if kind_ok:
        checks += _quality_checks(stream, need)
        checks.append(_quantity_check(stream, need, available, committed))
    return checks


def _distance_check(distance: float, stream: Stream, need: Need) -> Check:
    for limit, whose in ((need.max_distance_km, "need's"), (stream.max_distance_km, "stream's")):
        if limit is not None and distance > limit:
            return Check("distance", False, f"{distance:.1f} km > the {whose} {limit:g} km")
    return Check("distance", True, f"{distance:.1f} km")


def _window_check(need: Need, now: datetime) -> Check:
    start, end = need.active_from, need.active_until
    if start is not None and now < start:
        return Check("window", False, f"the need starts {start:%Y-%m-%d %H:%M} UTC")
    if end is not None and now >= end:
        return Check("window", False, f"the need ended {end:%Y-%m-%d %H:%M} UTC")
    return Check("window", True, "the need is open now")


def _quality_checks(stream: Stream, need: Need) -> list[Check]:
    """The quality rule of the need's kind (temperature, EWC, water quality, gas)."""
    if need.kind in (ResourceKind.HEAT, ResourceKind.STEAM):
        if need.min_temperature_c is None:
            return []
        wanted = f"{need.min_temperature_c:g} °C + {need.approach_margin_k:g} K"
        supply = stream.temperature_c
        if supply is None:
            return [Check("temperature", False, f"no stream temperature; needs {wanted}")]
        ok = supply >= need.min_temperature_c + need.approach_margin_k
        return [Check("temperature", ok, f"{supply:g} °C {'>=' if ok else '<'} {wanted}")]
    if need.kind is ResourceKind.MATERIAL:
        return [_ewc_check(stream, need)]
    if need.kind is ResourceKind.WATER:
        if not need.accepts_water_quality:
            return []
        accepted = ", ".join(need.accepts_water_quality)
        ok = stream.water_quality in need.accepts_water_quality
        return [Check("water quality", ok, f"{stream.water_quality or 'none given'}; "
                      f"accepts {accepted}")]  # fmt: skip
    return _gas_checks(stream, need)


def _ewc_check(stream: Stream, need: Need) -> Check:
    if stream.ewc is None:
        return Check("ewc", False, "the stream has no EWC code")
    entry = ewc_list.catalogue().get(stream.ewc)
    if entry.hazardous and not need.accepts_hazardous:
        return Check("ewc", False, f"{entry.display} is hazardous; the need accepts none")
    ok = ewc_list.accepts(
        stream.ewc, need.accepts_ewc, hazardous=entry.hazardous,
        accepts_hazardous=need.accepts_hazardous,
    )  # fmt: skip
    accepted = ", ".join(need.accepts_ewc) or "none"
    return Check("ewc", ok, f"{entry.display} {'in' if ok else 'not in'} accepted {accepted}")


def _gas_checks(stream: Stream, need: Need) -> list[Check]:
    checks = []
    if need.gas_species is not None:
        given = stream.gas_species
        ok = given is not None and given.lower() == need.gas_species.lower()
        checks.append(
            Check("gas species", ok, f"{given or 'none given'}; needs {need.gas_species}")
        )
    if need.min_purity_pct is not None:
        purity = stream.purity_pct
        ok = purity is not None and purity >= need.min_purity_pct
        shown = f"{purity:g} %" if purity is not None else "none given"
        checks.append(Check("purity", ok, f"{shown}; needs >= {need.min_purity_pct:g} %"))
    return checks


def _quantity_check(stream: Stream, need: Need, available: float, committed: float) -> Check:
    """As :func:`domain.matching.feasible`: minimum (relative tolerance), capacity, positive."""
    gas = stream.kind is ResourceKind.GAS
    try:
        unit_factor = factor(
            stream.unit, need.unit, field=f"stream {stream.id!r} available for need {need.id!r}",
            kind=stream.kind, gas_species=stream.gas_species or need.gas_species,
            density_kg_per_m3=gas_density(stream, need) if gas else None,
        )  # fmt: skip
    except UnitError as e:
        return Check("quantity", False, f"not comparable: {e}")
    offered = available * unit_factor
    floor = need.min_quantity * (1.0 - QUANTITY_TOLERANCE)
    unit, least = need.unit, f"{need.min_quantity:g} {need.unit}"
    if offered < floor:
        return Check("quantity", False, f"{figure(offered):g} {unit} available < {least}")
    if need.max_quantity is not None:
        remaining = need.max_quantity - committed
        if remaining < floor:
            detail = f"room for {figure(remaining):g} {unit} (max less committed) < {least}"
            return Check("quantity", False, detail)
        offered = min(offered, remaining)
    if offered <= 0:
        return Check("quantity", False, f"nothing to offer (needs {least})")
    return Check("quantity", True, f"{figure(offered):g} {unit} >= {least}")
