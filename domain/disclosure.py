"""What a tenant may see of an alert: the brief's confidentiality rule as one pure function.

A partner learns that exchangeable surplus exists and what it is worth, not who has it or
exactly how much: quantities and distances are shown as bands (1-2-5 steps), quality as a
summary, and the supplier's identity only when its site allows disclosure.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from typing import Final

from schemas.alerts import Alert, Benefit
from schemas.common import ResourceKind
from schemas.registry import Site, Stream
from schemas.views import AlertView

_STEPS: Final = (1.0, 2.0, 5.0)
_DISTANCE_EDGES_KM: Final = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0)


def band(value: float) -> tuple[float, float]:
    """The 1-2-5 band holding ``value`` (``[lo, hi)``); ``(0, 0)`` for zero or less."""
    if value <= 0 or not math.isfinite(value):
        return (0.0, 0.0)
    decade = 10.0 ** math.floor(math.log10(value))
    for lo, hi in zip(_STEPS, (*_STEPS[1:], 10.0), strict=True):
        if value < hi * decade:
            return (lo * decade, hi * decade)
    return (10 * decade, 20 * decade)  # float rounding at a decade's edge


def _fmt(x: float) -> str:
    return f"{x:g}"


def quantity_band(value: float, unit: str) -> str:
    """E.g. ``quantity_band(37, "MW") == "20-50 MW"``."""
    lo, hi = band(value)
    return f"0 {unit}" if hi == 0 else f"{_fmt(lo)}-{_fmt(hi)} {unit}"


def distance_band(km: float) -> str:
    """E.g. ``"2-5 km"``; ``"< 1 km"`` and ``"> 50 km"`` at the ends."""
    if km < _DISTANCE_EDGES_KM[0]:
        return f"< {_fmt(_DISTANCE_EDGES_KM[0])} km"
    for lo, hi in itertools.pairwise(_DISTANCE_EDGES_KM):
        if km < hi:
            return f"{_fmt(lo)}-{_fmt(hi)} km"
    return f"> {_fmt(_DISTANCE_EDGES_KM[-1])} km"


def quality_summary(stream: Stream | None, kind: ResourceKind) -> str:
    """What the surplus is, without naming who gives it: temperature band, EWC code, class."""
    if stream is None:
        return str(kind)
    if stream.temperature_c is not None:
        lo = math.floor(stream.temperature_c / 50) * 50
        return f"{kind}, {lo}-{lo + 50} degC"
    if stream.ewc is not None:
        return f"{kind}, EWC {stream.ewc}"
    if stream.water_quality is not None:
        return f"{kind}, {stream.water_quality}"
    if stream.gas_species is not None:
        purity = f" >= {math.floor(stream.purity_pct)} %" if stream.purity_pct is not None else ""
        return f"{kind}, {stream.gas_species}{purity}"
    return str(kind)


def band_floor(value: float) -> float:
    """The lower edge of the 1-2-5 band holding ``value`` (0 for zero or less)."""
    return band(value)[0]


def banded_benefit(b: Benefit) -> Benefit:
    """A benefit as a partner sees it: each figure at the lower edge of its 1-2-5 band.

    Benefits grow in proportion to the quantity (CO2e of heat per MW, tonnes diverted are the
    tonnage itself), so any finer figure, even rounded to two digits, would give the exact
    quantity back within a band; a band of the benefit tells no more than the quantity band.
    """
    return b.model_copy(
        update={
            "co2e_t_per_yr": band_floor(b.co2e_t_per_yr),
            "diverted_t_per_yr": band_floor(b.diverted_t_per_yr),
            "water_m3_per_yr": band_floor(b.water_m3_per_yr),
        }
    )


def pseudonym(alert_id: str, key: bytes) -> str:
    """The id a partner sees for an alert: stable (one episode, one id) and opaque.

    An alert id is a hash of (stream, need, start): a partner who knows its need and roughly
    when the alert opened could confirm a guessed supplier stream by hashing candidates.
    Keyed with a deployment secret, the partner's id confirms nothing.
    """
    digest = hashlib.blake2s(alert_id.encode(), key=key[:32], digest_size=8).hexdigest()
    return f"alp-{digest}"


def alert_view(
    alert: Alert,
    site: Site | None,
    stream: Stream | None,
    viewer: str | None,
    *,
    key: bytes,
    receiver: Site | None = None,
) -> AlertView:
    """The alert as ``viewer`` may see it.

    Args:
        alert: The alert as the stream workers emitted it.
        site: The supplier's site (``None`` if no longer registered: then nothing identifies it).
        stream: The supplier's stream.
        viewer: The viewing company; ``None`` for the operator.
        key: The deployment's disclosure key: a redacted view's ``alert_id`` is
            :func:`pseudonym` of the real one.
        receiver: The need's site: the supplier sees the exact distance only when it
            discloses its identity (exact distances from several sites would locate it).

    Returns:
        Everything for the operator; the same for the supplier but the exact distance to a
        receiver that does not disclose itself; for anyone else (the need's company) bands,
        summaries, a banded benefit (:func:`banded_benefit`), a pseudonymous alert id, and
        the supplier's identity only when its site discloses it.
    """
    full = viewer is None or (site is not None and site.company == viewer)
    disclosed = full or (site is not None and site.disclose_identity)
    exact_distance = viewer is None or (
        full and receiver is not None and receiver.disclose_identity
    )
    return AlertView(
        alert_id=alert.alert_id if full else pseudonym(alert.alert_id, key),
        event=alert.event,
        need=alert.need,
        kind=alert.kind,
        quality=quality_summary(stream, alert.kind),
        available_band=quantity_band(alert.available, alert.unit),
        quantity_band=quantity_band(alert.quantity, alert.need_unit),
        need_unit=alert.need_unit,
        distance_band=distance_band(alert.distance_km),
        benefit=alert.benefit if full else banded_benefit(alert.benefit),
        ts=alert.ts,
        redacted=not full,
        stream=alert.stream if disclosed else None,
        supplier_company=site.company if disclosed and site is not None else None,
        available=alert.available if full else None,
        unit=alert.unit if full else None,
        quantity=alert.quantity if full else None,
        distance_km=alert.distance_km if exact_distance else None,
    )
