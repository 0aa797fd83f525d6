"""Exchangeable surplus: which needs a stream's available surplus can serve, and how much.

:func:`feasible` is the rule book for one (stream, need) pair, a pure function. A pair is
exchangeable when **all** of these hold (each one alone can make it fail):

1. **kind**: same kind, or a steam stream serving a heat need;
2. **temperature** (heat, steam): ``stream.temperature_c >= need.min_temperature_c +
   need.approach_margin_k`` when the need sets a minimum;
3. **EWC** (material): the stream has an EWC code, it starts with one of
   ``need.accepts_ewc`` (code, sub-chapter or chapter), and a hazardous code only goes to a
   need with ``accepts_hazardous``;
4. **water quality**: the stream's class is in ``need.accepts_water_quality`` (empty = any);
5. **gas**: the species equals ``need.gas_species`` when set (case-insensitive) and
   ``stream.purity_pct >= need.min_purity_pct`` when set;
6. **quantity**: the available surplus in the need's unit is at least ``need.min_quantity``
   (relative tolerance 1e-9 for unit-conversion rounding); with ``need.max_quantity``, the
   remaining capacity ``max_quantity - committed_to_need`` must also reach ``min_quantity``,
   and the quantity offered is ``min(available, remaining)``; it must be positive. Units
   convert in the dimension both sides share; a gas mass <-> volume conversion uses the
   density of :func:`domain.units.gas_density` (the stream's, else the need's);
7. **distance**: the great-circle distance is within ``need.max_distance_km`` and
   ``stream.max_distance_km``, each when set;
8. **duration**: the surplus has been sustained for ``need.min_duration_s``;
9. **window**: ``now`` lies in ``[need.active_from, need.active_until)``, open ends allowed;
10. **company**: the two sites belong to different companies.

:class:`Matcher` answers the same question for one stream against every open need, through
an index (see :mod:`domain.match_index`) so that one call costs the same with 1,000 or
100,000 open needs. It only prunes: every candidate is still checked by :func:`feasible`, so
its answer equals a scan of :func:`feasible` over all needs (a tested property). A pair whose
quantities cannot be compared (:func:`feasible` raises :class:`~domain.errors.UnitError`,
e.g. a gas by mass against one by volume with no density on either side) does not match; the
matcher records it with its reason (:meth:`Matcher.incomparable`) and the other pairs are
matched as usual.

:meth:`Matcher.quantities` is the stream worker's hot path (one call per ledger update): the
same pairs as :meth:`Matcher.match`, each with the same quantity bit for bit, without
:class:`Match` objects, distances, benefits or ranking (:meth:`Matcher.offer` does the same for
one pair, as :meth:`Matcher.check`). It reads a per-stream cache of the *statically compatible*
needs, those passing the rules that depend on neither the amount nor the time (company, kind,
distance, quality): per pair the stream -> need unit factor (``convert`` is ``value x
factor``, so ``available x factor`` is the same float), the distance, and the need's compact
rule (minimum less the tolerance, max quantity, minimum duration, window in integer
microseconds, which compare exactly as the datetimes do), sorted by the minimum in the
stream's unit so a bisection skips the needs out of reach. Committed capacity is not cached:
:meth:`Matcher.committed` is asked at call time for a need with ``max_quantity`` and
exchanges. Pairs whose units do not compare are kept aside and recorded in, or cleared from,
:meth:`Matcher.incomparable` exactly when :meth:`Matcher.match` would (it reaches them in their
window widened by the index's millisecond, and its answer raises only inside the window).

Cache guarantee: a stream's cache is always what a rebuild from the current state would give.
A cache is built on first use (through :meth:`domain.match_index.NeedIndex.reachable`) and is
keyed to the stream's ``(site, stream)`` entry, which :meth:`Matcher.update_site` replaces (and
drops the site's caches). Changes to needs (added, replaced, removed) and to the place or
company of a site with needs are logged in O(1); on its next use a cache replays the log and is
rebuilt if a change touched a need it holds or a changed need now fits its stream, or if more
than ``_REPLAYED`` changes happened since. Exchanges need nothing (capacity is read at call
time). The rare record of an incomparable pair the cache cannot account for (a stream id moved
to another site, keeping its record) makes :meth:`Matcher.quantities` answer through
:meth:`Matcher.match`.
"""

from __future__ import annotations

import contextlib
import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from domain import ewc as ewc_list
from domain.benefits import estimate
from domain.errors import SymbiosisError, UnitError, UnknownReferenceError
from domain.geo import haversine_km
from domain.match_index import NeedIndex, compatible_need_kinds
from domain.units import basis_unit, convert, factor, gas_density
from schemas.alerts import Benefit
from schemas.common import ResourceKind
from schemas.registry import Exchange, Need, Park, Site, Stream

QUANTITY_TOLERANCE: Final = 1e-9
"""Relative slack when comparing a converted quantity with a need's minimum."""


@dataclass(frozen=True, slots=True)
class Match:
    """An exchangeable (stream, need) pair at one moment.

    ``kind`` is the stream's kind (what is offered; a steam stream may serve a heat need),
    ``available`` is in the stream's ``unit``, ``quantity`` (what the need can take of it) in
    ``need_unit``. ``score`` orders matches: the CO2e avoided, t/yr.
    """

    stream: str
    need: str
    kind: ResourceKind
    available: float
    unit: str
    quantity: float
    need_unit: str
    distance_km: float
    benefit: Benefit
    score: float


@dataclass(frozen=True, slots=True)
class Incomparable:
    """A (stream, need) pair whose quantities cannot be compared.

    It passed every rule checked before the quantity; ``reason`` is the conversion error,
    naming the stream, the need and both units.
    """

    stream: str
    need: str
    reason: str


def feasible(
    site: Site,
    stream: Stream,
    need: Need,
    need_site: Site,
    available: float,
    now: datetime,
    sustained_s: float,
    committed_to_need: float = 0.0,
) -> Match | None:
    """Whether ``stream`` (of ``site``) with ``available`` surplus can serve ``need``.

    The time rules are checked first, then the static ones (:func:`_static_ok`, shared with the
    per-stream cache), then the quantity; each returns early with no match.

    Args:
        site: The site giving the stream.
        stream: The surplus stream.
        need: The need.
        need_site: The site having the need.
        available: Available surplus now, in ``stream.unit`` (measured minus committed).
        now: The moment of the check, timezone-aware.
        sustained_s: How long the surplus has stayed available, in seconds.
        committed_to_need: Quantity already committed to ``need`` by active exchanges, in
            ``need.unit``.

    Returns:
        The match with its quantity, distance and benefit, or None when any rule fails
        (rules in the module docstring).

    Raises:
        UnitError: the stream's unit cannot be converted to the need's unit although kinds and
            qualities match (a configuration error, never silently dropped).
        ClassificationError: the stream's EWC code is not on the European List of Waste.
    """
    if sustained_s < need.min_duration_s:
        return None
    if need.active_from is not None and now < need.active_from:
        return None
    if need.active_until is not None and now >= need.active_until:
        return None
    distance = _static_ok(site, stream, need, need_site)  # company, kind, distance, quality
    if distance is None:
        return None
    quantity = _quantity(stream, need, available, committed_to_need)
    if quantity is None:
        return None
    benefit = estimate(stream, need, quantity, distance)
    return Match(
        stream=stream.id,
        need=need.id,
        kind=stream.kind,
        available=available,
        unit=stream.unit,
        quantity=quantity,
        need_unit=need.unit,
        distance_km=distance,
        benefit=benefit,
        score=benefit.co2e_t_per_yr,
    )


def rank(matches: Iterable[Match]) -> list[Match]:
    """Matches best first: CO2e avoided descending, then distance, then need id."""
    return sorted(matches, key=lambda m: (-m.score, m.distance_km, m.need))


def _quality_ok(stream: Stream, need: Need) -> bool:
    kind = need.kind
    if kind in (ResourceKind.HEAT, ResourceKind.STEAM):
        if need.min_temperature_c is None:
            return True
        supply = stream.temperature_c
        return supply is not None and supply >= need.min_temperature_c + need.approach_margin_k
    if kind is ResourceKind.MATERIAL:
        if stream.ewc is None:
            return False
        hazardous = ewc_list.catalogue().is_hazardous(stream.ewc)
        return ewc_list.accepts(
            stream.ewc,
            need.accepts_ewc,
            hazardous=hazardous,
            accepts_hazardous=need.accepts_hazardous,
        )
    if kind is ResourceKind.WATER:
        return not need.accepts_water_quality or stream.water_quality in need.accepts_water_quality
    if need.gas_species is not None and (
        stream.gas_species is None or stream.gas_species.lower() != need.gas_species.lower()
    ):
        return False
    return need.min_purity_pct is None or (
        stream.purity_pct is not None and stream.purity_pct >= need.min_purity_pct
    )


def _quantity(stream: Stream, need: Need, available: float, committed: float) -> float | None:
    in_need_unit = available * _pair_factor(stream, need)  # what convert() computes
    floor = _floor(need)
    if in_need_unit < floor:
        return None
    quantity = in_need_unit
    if need.max_quantity is not None:
        remaining = need.max_quantity - committed
        if remaining < floor:
            return None
        quantity = min(quantity, remaining)
    return quantity if quantity > 0 else None


def _pair_factor(stream: Stream, need: Need) -> float:
    """The factor taking the stream's unit to the need's (``convert`` is value x factor).

    Raises:
        UnitError: the quantities cannot be compared; the message names the pair.
    """
    gas = stream.kind is ResourceKind.GAS
    return factor(
        stream.unit,
        need.unit,
        field=f"stream {stream.id!r} available for need {need.id!r}",
        kind=stream.kind,
        gas_species=stream.gas_species or need.gas_species,
        density_kg_per_m3=gas_density(stream, need) if gas else None,
    )


def _floor(need: Need) -> float:
    """The need's minimum with the relative tolerance taken off: a quantity below it fails."""
    return need.min_quantity * (1.0 - QUANTITY_TOLERANCE)


def _static_ok(
    site: Site, stream: Stream, need: Need, need_site: Site, distance: float | None = None
) -> float | None:
    """The pair's distance when it passes the rules that depend on neither quantity nor time.

    Those are the company, kind, distance and quality rules of :func:`feasible`, checked the
    same way (the distance is the same number :func:`feasible` computes); None when one fails.
    ``distance``, when given, must be that number (the index's, computed alike).

    Raises:
        ClassificationError: the stream's EWC code is not on the European List of Waste.
    """
    if site.company == need_site.company:
        return None
    if need.kind not in compatible_need_kinds(stream.kind):
        return None
    if distance is None:
        distance = haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
    if need.max_distance_km is not None and distance > need.max_distance_km:
        return None
    if stream.max_distance_km is not None and distance > stream.max_distance_km:
        return None
    if not _quality_ok(stream, need):
        return None
    return distance


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_TIME_SLACK_S: Final = 1e-3  # the index's slack on windows (domain.match_index)
_BISECT_SLACK: Final = 1e-6
_NORMAL: Final = 1e-280  # thresholds and factors below this (or above its inverse) are not bisected
_REPLAYED: Final = 32
"""Changes to needs a stream's cache is checked against before it is simply rebuilt."""

_Rule = tuple[str, float, float | None, float, float, float, float, float]
"""What the time- and quantity-dependent rules read of a need: (id, minimum less the tolerance
(:func:`_floor`), max quantity, minimum duration s, active from, active until as integer
microseconds since the epoch (-inf / inf when open), the same two as POSIX seconds (as the
index files them, for its millisecond slack)). One per need, shared by every pair."""


def _micros(moment: datetime) -> int:
    """Integer microseconds since the epoch: compares exactly as aware datetimes do."""
    return (moment - _EPOCH) // _MICROSECOND


def _rule(need: Need) -> _Rule:
    start, end = need.active_from, need.active_until
    return (
        need.id,
        _floor(need),
        need.max_quantity,
        need.min_duration_s,
        _micros(start) if start is not None else -math.inf,
        _micros(end) if end is not None else math.inf,
        start.timestamp() if start is not None else -math.inf,
        end.timestamp() if end is not None else math.inf,
    )


def _threshold(floor: float, unit_factor: float) -> float:
    """The least stream-unit amount that can reach ``floor``, for bisection; -inf: always look.

    For a normal ``floor / unit_factor`` the bisection is padded by 1e-6 relative, far above
    the float rounding of ``available * unit_factor >= floor``; every other pair (a zero or
    tiny minimum, an extreme factor) is always looked at and decided exactly.
    """
    if not (floor >= _NORMAL and _NORMAL <= unit_factor <= 1.0 / _NORMAL):
        return -math.inf
    threshold = floor / unit_factor
    return threshold if threshold >= _NORMAL else -math.inf


def _odd(rules: list[_Rule]) -> array[int]:
    """:attr:`_StreamPairs.odd` of ``rules`` (in their order)."""
    return array("q", [i for i, r in enumerate(rules)
                       if r[4] != -math.inf or r[5] != math.inf
                       or (r[2] is not None and not r[2] >= r[1])])  # fmt: skip


def _run_at_once(
    cache: _StreamPairs, lo: int, hi: int, available: float, now: datetime
) -> dict[str, float]:
    """The pairs at positions ``lo`` to ``hi``, known to reach their minimum, at once.

    Each is offered ``available x factor`` capped by its need's max quantity (what the
    one-by-one rule gives when no exchange lowers the cap), but for its odd pairs (an active
    period, or a cap below the minimum), which are checked alone.
    """
    offered = map(min, map(float(available).__mul__, cache.factors[lo:hi]), cache.caps[lo:hi])
    out = dict(zip(cache.ids[lo:hi], offered, strict=True))
    odd = cache.odd
    first, last = bisect_left(odd, lo), bisect_left(odd, hi)
    if first < last:
        now_us, rules, ids = _micros(now), cache.rules, cache.ids
        for i in odd[first:last]:
            _, floor, cap, _, active_from, until, _, _ = rules[i]
            if now_us < active_from or now_us >= until or (cap is not None and cap < floor):
                del out[ids[i]]
    return out


@dataclass(slots=True)
class _StreamPairs:
    """One stream's statically compatible needs (see :meth:`Matcher.quantities`).

    Parallel columns, position ``i`` one pair, sorted by threshold: about 60 bytes a pair (a
    TEDA-size park holds ~400,000 pairs when every stream has been seen).
    """

    source: tuple[Site, Stream]
    """The matcher's entry the pairs were computed from (a replaced entry: stale)."""
    thresholds: array[float]
    """Ascending bisection keys (:func:`_threshold`)."""
    factors: array[float]
    """Stream unit -> need unit (what :func:`convert` multiplies by)."""
    distances: array[float]
    """km, the number :func:`feasible` computes."""
    rules: list[_Rule]
    """The need's :func:`_rule` (shared with every stream's cache)."""
    at: dict[str, int]
    """need id -> its position."""
    incomparable: list[tuple[_Rule, str]]
    """Pairs passing the static rules whose units do not compare, with the error message."""
    incomparable_ids: frozenset[str]
    """The needs of :attr:`incomparable`."""
    ids: list[str]
    """The needs' ids, by position."""
    always: int
    """Pairs before this position have no bisection key (-inf): always decided exactly."""
    caps: array[float]
    """The needs' max quantity (inf: none), by position."""
    capped: frozenset[str]
    """The needs with a max quantity (their exchanges lower it: decided one by one)."""
    odd: array[int]
    """Ascending positions of the pairs a run never takes at once: a need with an active
    period (or a max quantity below its minimum)."""
    longest: float
    """The longest minimum duration of the pairs' needs (s)."""
    version: int
    """The matcher's change count it is known exact at (see ``Matcher._stream_pairs``)."""


@dataclass(frozen=True, slots=True)
class QuietSpan:
    """Amounts and times over which a stream's feasible needs stay (:meth:`Matcher.quiet_span`)."""

    low: float
    high: float
    until: float
    cache: _StreamPairs
    version: int

    def terms(self, need_id: str) -> tuple[float, float]:
        """A pair's unit factor and its need's max quantity (inf: none).

        Raises:
            KeyError: a need not statically compatible with the stream.
        """
        i = self.cache.at[need_id]
        return self.cache.factors[i], self.cache.caps[i]

    def held_terms(self, need_id: str) -> tuple[float, float, float]:
        """What keeps a pair offered at an amount and time: (unit factor, floor, until).

        :meth:`Matcher.offer` gives a quantity for an amount ``a`` at a moment before
        ``until`` (POSIX s, inf: never ends; the moment must be in the need's active period)
        while ``a x factor >= floor`` and ``a x factor > 0`` (the span holds no capped need
        with exchanges, so a cap never removes the offer).

        Raises:
            KeyError: a need not statically compatible with the stream.
        """
        i = self.cache.at[need_id]
        _, floor, _, _, _, until, _, _ = self.cache.rules[i]
        return self.cache.factors[i], floor, math.inf if until == math.inf else (until - 1) / 1e6


class Matcher:
    """Indexed matching of one stream's surplus against all open needs.

    Holds the park's sites (with their streams), open needs and committed exchanges, and a
    cache per stream of its statically compatible needs (module docstring; about 60 bytes a
    pair, ~25 MB for a TEDA-size park once every stream has been seen). Not thread-safe; one
    matcher per stream processor. Deterministic: the same state and call give the same list in
    the same order.
    """

    def __init__(
        self,
        sites: Iterable[Site] = (),
        needs: Iterable[Need] = (),
        exchanges: Iterable[Exchange] = (),
    ) -> None:
        self._sites: dict[str, Site] = {}
        self._streams: dict[str, tuple[Site, Stream]] = {}
        self._needs: dict[str, Need] = {}
        self._needs_by_site: dict[str, set[str]] = {}
        self._exchanges: dict[str, Exchange] = {}
        self._committed: dict[str, dict[str, tuple[Exchange, float]]] = {}
        self._incomparable: dict[str, dict[str, str]] = {}
        """stream -> need -> why their quantities cannot be compared (latest)."""
        self._index = NeedIndex()
        self._rules: dict[str, _Rule] = {}
        self._pairs: dict[str, _StreamPairs] = {}
        """stream -> its statically compatible needs, built lazily (see quantities())."""
        self._version = 0
        """Changes to needs, or to where the needs are, so far."""
        self._changes: list[tuple[frozenset[str], tuple[Need, ...]]] = []
        """The latest such changes (at most _REPLAYED), oldest first: the needs touched (as
        they were) and the needs as they are now."""
        for site in sites:
            self.update_site(site)
        for need in needs:
            self.add_need(need)
        for exchange in exchanges:
            self.add_exchange(exchange)

    @classmethod
    def from_park(cls, park: Park, *, problems: list[str] | None = None) -> Matcher:
        """A matcher holding a park file's sites, needs and exchanges.

        Args:
            park: The park.
            problems: When given, a need or an exchange that cannot be added is left out and
                described here (one sentence each) instead of raising: an exchange whose
                quantity cannot be expressed in its need's unit is not counted, and its need
                is left out too when it has a ``max_quantity`` (its remaining capacity would
                be unknown).

        Raises:
            UnitError: a stream's or need's unit does not fit its kind.
            ClassificationError: a material stream's EWC code is unknown.
        """
        if problems is None:
            return cls(park.sites, park.needs, park.exchanges)
        matcher = cls(park.sites)
        for need in park.needs:
            try:
                matcher.add_need(need)
            except SymbiosisError as e:
                problems.append(f"need {need.id!r} left out: {e}")
        left_out: set[str] = set()
        for exchange in park.exchanges:
            if exchange.need in left_out:
                continue
            try:
                matcher.add_exchange(exchange)
            except SymbiosisError as e:
                taker = matcher._needs.get(exchange.need)
                if taker is not None and taker.max_quantity is not None:
                    matcher.remove_need(taker.id)
                    left_out.add(taker.id)
                    problems.append(
                        f"need {taker.id!r} left out: its remaining capacity is unknown, "
                        f"exchange {exchange.id!r} cannot be counted against it: {e}"
                    )
                else:
                    problems.append(f"exchange {exchange.id!r} not counted: {e}")
        return matcher

    def __len__(self) -> int:
        """Number of open needs."""
        return len(self._needs)

    def stream(self, stream_id: str) -> tuple[Site, Stream]:
        """The stream with this id and its site.

        Raises:
            KeyError: unknown stream.
        """
        return self._streams[stream_id]

    def update_site(self, site: Site) -> None:
        """Add or replace a site and its streams; re-index the needs it has.

        Raises:
            UnitError: a stream's unit cannot be expressed in its kind's canonical unit.
            ClassificationError: a material stream's EWC code is not on the list.
        """
        for stream in site.streams:
            _check_stream(stream)
        old = self._sites.get(site.id)
        if old is not None:
            for stream in old.streams:
                self._streams.pop(stream.id, None)
                self._pairs.pop(stream.id, None)
            self._forget_incomparable(streams={st.id for st in old.streams})
        self._sites[site.id] = site
        for stream in site.streams:
            self._streams[stream.id] = (site, stream)
            self._pairs.pop(stream.id, None)
        self._index.forget_streams()
        needs = sorted(self._needs_by_site.get(site.id, ()))
        for need_id in needs:
            need = self._needs[need_id]
            self._index.remove(need_id)
            self._index.add(need, site)
        moved = old is not None and (old.company, old.lat, old.lon) != (
            site.company,
            site.lat,
            site.lon,
        )
        if needs and moved:  # the static rules of its needs with every stream may change
            self._changed(needs, [self._needs[n] for n in needs])

    def add_need(self, need: Need) -> None:
        """Open a need, or replace the one with the same id (keeping its exchanges).

        All or nothing: a replacement refused (an exchange committed to the need does not
        convert to its new unit) leaves the need as it was.

        Raises:
            UnknownReferenceError: the need's site is unknown.
            UnitError: the need's unit cannot be expressed in its kind's canonical unit, or
                an exchange committed to it in its new unit.
        """
        site = self._sites.get(need.site)
        if site is None:
            raise UnknownReferenceError(f"need {need.id!r} names unknown site {need.site!r}")
        _check_need(need)
        old = self._needs.get(need.id)
        try:
            self._put_need(need, site, old)
        except BaseException:
            if old is not None and old is not need:  # a refused replacement: the old stays
                self._put_need(old, self._sites[old.site], need)
            elif old is None:  # a refused new need leaves nothing behind
                self._drop_new_need(need)
            raise

    def _drop_new_need(self, need: Need) -> None:
        self._needs.pop(need.id, None)
        self._needs_by_site.get(need.site, set()).discard(need.id)
        self._rules.pop(need.id, None)
        with contextlib.suppress(KeyError):
            self._index.remove(need.id)

    def _put_need(self, need: Need, site: Site, old: Need | None) -> None:
        """:meth:`add_need` once checked; raises if a committed exchange does not convert."""
        if old is not None:
            self._needs_by_site[old.site].discard(need.id)
            self._forget_incomparable(need=need.id)
        self._needs[need.id] = need
        self._needs_by_site.setdefault(need.site, set()).add(need.id)
        self._index.add(need, site)
        self._rules[need.id] = _rule(need)
        self._changed([need.id], [need])
        for exchange, _ in list(self._committed.get(need.id, {}).values()):
            self.add_exchange(exchange)  # re-expressed in the (possibly new) unit

    def remove_need(self, need_id: str) -> None:
        """Close a need and forget its exchanges. Unknown ids are ignored."""
        need = self._needs.pop(need_id, None)
        if need is None:
            return
        self._needs_by_site[need.site].discard(need_id)
        self._forget_incomparable(need=need_id)
        self._index.remove(need_id)
        del self._rules[need_id]
        self._changed([need_id], [])
        for exchange_id in list(self._committed.pop(need_id, {})):
            self._exchanges.pop(exchange_id, None)

    def add_exchange(self, exchange: Exchange) -> None:
        """Record a committed exchange; its quantity counts against its need's capacity.

        The quantity is converted to the need's unit (with the stream's kind, so an exchange
        in t/h of steam counts against a heat need in MW). It counts while ``now`` lies in
        ``[start, end)`` (open ends allowed). Replaces an exchange with the same id.

        Only an active exchange counts: a proposal (not yet accepted) is dropped, replacing an
        earlier version of the same id.

        Raises:
            UnknownReferenceError: the exchange names an unknown need.
            UnitError: its unit cannot be converted to the need's unit.
        """
        if not exchange.committed:
            self.remove_exchange(exchange.id)
            return
        need = self._needs.get(exchange.need)
        if need is None:
            raise UnknownReferenceError(
                f"exchange {exchange.id!r} names unknown need {exchange.need!r}"
            )
        known = self._streams.get(exchange.stream)
        stream = known[1] if known is not None else None
        kind = stream.kind if stream is not None else need.kind
        species = (stream.gas_species if stream is not None else None) or need.gas_species
        quantity = convert(
            exchange.quantity,
            exchange.unit,
            need.unit,
            field=f"exchange {exchange.id!r} quantity",
            kind=kind,
            gas_species=species,
            density_kg_per_m3=gas_density(stream, need),
        )
        self.remove_exchange(exchange.id)
        self._exchanges[exchange.id] = exchange
        self._committed.setdefault(exchange.need, {})[exchange.id] = (exchange, quantity)

    def remove_exchange(self, exchange_id: str) -> None:
        """Forget an exchange. Unknown ids are ignored."""
        exchange = self._exchanges.pop(exchange_id, None)
        if exchange is not None:
            self._committed[exchange.need].pop(exchange_id, None)

    def committed(self, need_id: str, now: datetime) -> float:
        """Quantity committed to a need by exchanges active at ``now``, in the need's unit."""
        total = 0.0
        for exchange, quantity in self._committed.get(need_id, {}).values():
            if exchange.start is not None and now < exchange.start:
                continue
            if exchange.end is not None and now >= exchange.end:
                continue
            total += quantity
        return total

    def match(
        self, stream_id: str, available: float, *, now: datetime, sustained_s: float
    ) -> list[Match]:
        """Every need the stream's available surplus can serve now, best first.

        Cost: the needs looked at are those of a compatible kind (for materials, accepting
        the stream's EWC code; for gases, its species) filed in the stream's grid cell, with a
        minimum (in its basis unit) at most the available amount; of those, only needs passing the
        company, duration, window and distance rules reach :func:`feasible`. It does not grow
        with the number of open needs, only with the needs within reach. A stream and a need
        that both leave the distance open fall back to all such needs of that kind.

        Args:
            stream_id: The stream.
            available: Its available surplus, in the stream's unit.
            now: The moment, timezone-aware.
            sustained_s: How long the surplus has stayed available.

        Returns:
            The matches, ranked by :func:`rank`; equal to :meth:`scan`. A candidate pair
            whose quantities cannot be compared is left out and recorded (see
            :meth:`incomparable`).

        Raises:
            KeyError: unknown stream.
        """
        site, stream = self._streams[stream_id]
        found: list[Match] = []
        for need_id in self._index.candidates(
            site, stream, available, now=now, sustained_s=sustained_s
        ):
            need = self._needs[need_id]
            m = self._feasible(site, stream, need, available, now, sustained_s)
            if m is not None:
                found.append(m)
        return rank(found)

    def scan(
        self, stream_id: str, available: float, *, now: datetime, sustained_s: float
    ) -> list[Match]:
        """Same answer as :meth:`match` by checking every open need: the reference, O(needs).

        Raises:
            KeyError: unknown stream.
        """
        site, stream = self._streams[stream_id]
        found = (
            self._feasible(site, stream, need, available, now, sustained_s)
            for need in self._needs.values()
        )
        return rank(m for m in found if m is not None)

    def incomparable(self) -> list[Incomparable]:
        """Pairs left out because their quantities cannot be compared, by stream then need.

        Holds the pairs met by :meth:`match`, :meth:`scan` or :meth:`check` so far, each with
        its latest reason; a pair is dropped when it compares again or its need or site is
        replaced or removed.
        """
        return [
            Incomparable(stream=s, need=n, reason=reason)
            for s, by_need in sorted(self._incomparable.items())
            for n, reason in sorted(by_need.items())
        ]

    def _forget_incomparable(
        self, *, streams: set[str] | None = None, need: str | None = None
    ) -> None:
        if not self._incomparable:
            return
        for stream_id in list(self._incomparable):
            by_need = self._incomparable[stream_id]
            if streams is not None and stream_id in streams:
                by_need.clear()
            elif need is not None:
                by_need.pop(need, None)
            if not by_need:
                del self._incomparable[stream_id]

    def _record_incomparable(self, stream_id: str, need_id: str, reason: str | None) -> None:
        """Record why a pair does not compare, or (``reason`` None) that it compares again."""
        if reason is not None:
            self._incomparable.setdefault(stream_id, {})[need_id] = reason
            return
        by_need = self._incomparable.get(stream_id)
        if by_need is not None and by_need.pop(need_id, None) is not None and not by_need:
            del self._incomparable[stream_id]

    def site(self, site_id: str) -> Site:
        """The site with this id.

        Raises:
            KeyError: unknown site.
        """
        return self._sites[site_id]

    def need(self, need_id: str) -> Need:
        """The open need with this id.

        Raises:
            KeyError: no such open need.
        """
        return self._needs[need_id]

    def min_duration_s(self, need_id: str) -> float:
        """The open need's ``min_duration_s`` (asked per pending pair and ledger entry).

        Raises:
            KeyError: no such open need.
        """
        return self._rules[need_id][3]

    def check(
        self, stream_id: str, need_id: str, available: float, *, now: datetime, sustained_s: float
    ) -> Match | None:
        """:func:`feasible` for one (stream, need) pair, with the need's committed capacity.

        Used to re-check an open alert with a relaxed threshold (hysteresis). A need that was
        removed meanwhile gives ``None``.

        Raises:
            KeyError: unknown stream.
        """
        site, stream = self._streams[stream_id]
        need = self._needs.get(need_id)
        if need is None:
            return None
        return self._feasible(site, stream, need, available, now, sustained_s)

    def quantities(
        self, stream_id: str, available: float, *, now: datetime, sustained_s: float
    ) -> dict[str, float]:
        """Each need the stream's surplus can serve now, with the quantity offered: no objects.

        The same pairs as :meth:`match` (and :meth:`scan`), each with the same number as its
        :attr:`Match.quantity` (in the need's unit, bit for bit), and the same bookkeeping of
        :meth:`incomparable`; without distances, benefits, :class:`Match` objects or ranking.

        Cost: the stream's cache of statically compatible needs (those passing the company,
        kind, distance and quality rules, whatever the quantity and the time: built on first
        use through the index, dropped when the stream, a need it may hold, or such a need's
        site changes) is bisected on the minimum in the stream's unit; each need left costs a
        few comparisons and one multiplication (``available x factor``, what :func:`convert`
        computes), plus :meth:`committed` for a need with ``max_quantity`` and exchanges.

        Args:
            stream_id: The stream.
            available: Its available surplus, in the stream's unit.
            now: The moment, timezone-aware.
            sustained_s: How long the surplus has stayed available.

        Returns:
            need id -> quantity, in no meaningful order.

        Raises:
            KeyError: unknown stream.
        """
        cache = self._stream_pairs(stream_id)
        recorded = self._incomparable.get(stream_id)
        if recorded and not self._accounted(cache, recorded):
            # a record the cache cannot account for (a stream id moved to another site): the
            # indexed path decides, with its own bookkeeping
            found = self.match(stream_id, available, now=now, sustained_s=sustained_s)
            return {m.need: m.quantity for m in found}
        if cache.incomparable:
            self._note_incomparable(stream_id, cache, now, sustained_s)
        end = bisect_right(cache.thresholds, available * (1.0 + _BISECT_SLACK))
        if end == 0:
            return {}
        # Pairs whose key is below available by more than the slack reach their minimum for
        # sure (the key is floor / factor, rounding is ~1e-16 relative): when no duration can
        # bind and no capped need has exchanges, such a run is taken at once
        lo = cache.always
        sure = bisect_left(cache.thresholds, available * (1.0 - _BISECT_SLACK), lo, end)
        committed = self._committed
        if (
            sure > lo
            and sustained_s >= cache.longest
            and (not committed or cache.capped.isdisjoint(committed))
        ):
            out = _run_at_once(cache, lo, sure, available, now)
            self._exact_pairs(out, cache, 0, lo, available, now, sustained_s)
            self._exact_pairs(out, cache, sure, end, available, now, sustained_s)
            return out
        out = {}
        self._exact_pairs(out, cache, 0, end, available, now, sustained_s)
        return out

    def quiet_span(self, stream_id: str, available: float, *, now: datetime) -> QuietSpan | None:
        """Where :meth:`quantities` (with ``sustained_s=inf``) keeps the same needs as now.

        For any amount strictly between the span's ``low`` and ``high`` (stream unit) and any
        moment from ``now`` to before ``until`` (POSIX s), the same needs are feasible, each
        offered ``min(amount x factor, max quantity)`` (:meth:`QuietSpan.terms`), as long as
        :meth:`unchanged` says yes for the span. ``None``
        when the stream has pairs decided one by one (no bisection key, incomparable units,
        a capped need with exchanges, a threshold within the bisection slack of ``available``).

        Raises:
            KeyError: unknown stream.
        """
        cache = self._stream_pairs(stream_id)
        if cache.always or cache.incomparable or self._incomparable.get(stream_id):
            return None
        if self._committed and not cache.capped.isdisjoint(self._committed):
            return None
        thresholds = cache.thresholds
        end = bisect_right(thresholds, available * (1.0 + _BISECT_SLACK))
        if bisect_left(thresholds, available * (1.0 - _BISECT_SLACK), 0, end) != end:
            return None
        low = thresholds[end - 1] / (1.0 - _BISECT_SLACK) if end else -math.inf
        high = thresholds[end] / (1.0 + _BISECT_SLACK) if end < len(thresholds) else math.inf
        now_us = _micros(now)
        edge = math.inf
        for i in cache.odd[: bisect_left(cache.odd, end)]:
            _, _, _, _, active_from, until, _, _ = cache.rules[i]
            for e in (active_from, until):
                if now_us < e < edge:
                    edge = e
        until_s = math.inf if edge == math.inf else (edge - 1) / 1e6
        return QuietSpan(low, high, until_s, cache, self._version)

    def unchanged(self, stream_id: str, span: QuietSpan) -> bool:
        """Whether a :meth:`quiet_span` still holds for ``stream_id``.

        It does while the registry did not change and no capped need of the stream has
        exchanges.
        """
        cache = span.cache
        if span.version != self._version or self._pairs.get(stream_id) is not cache:
            return False
        if self._streams.get(stream_id) is not cache.source:
            return False
        return not self._committed or cache.capped.isdisjoint(self._committed)

    def _exact_pairs(
        self,
        out: dict[str, float],
        cache: _StreamPairs,
        start: int,
        end: int,
        available: float,
        now: datetime,
        sustained_s: float,
    ) -> None:
        """Decide the pairs at positions ``start`` to ``end`` one by one into ``out``."""
        if start >= end:
            return
        now_us = _micros(now)
        committed = self._committed
        for rule, unit_factor in zip(cache.rules[start:end], cache.factors[start:end],
                                     strict=True):  # fmt: skip
            need_id, floor, max_quantity, duration, active_from, until, _, _ = rule
            if sustained_s < duration or now_us < active_from or now_us >= until:
                continue
            quantity = available * unit_factor
            if quantity < floor:
                continue
            if max_quantity is not None:
                exchanges = committed.get(need_id)
                remaining = max_quantity - (self.committed(need_id, now) if exchanges else 0.0)
                if remaining < floor:
                    continue
                quantity = min(quantity, remaining)
            if quantity > 0:
                out[need_id] = quantity

    def offer(
        self, stream_id: str, need_id: str, available: float, *, now: datetime, sustained_s: float
    ) -> float | None:
        """The quantity :meth:`check` would offer (its :attr:`Match.quantity`), or None.

        Bit for bit the same number and the same bookkeeping of :meth:`incomparable`; from the
        stream's cache when the pair is in it, else through :meth:`check`.

        Raises:
            KeyError: unknown stream.
        """
        cache = self._stream_pairs(stream_id)
        i = cache.at.get(need_id)
        recorded = self._incomparable.get(stream_id)
        if i is None or (recorded and need_id in recorded):
            m = self.check(stream_id, need_id, available, now=now, sustained_s=sustained_s)
            return m.quantity if m is not None else None
        _, floor, max_quantity, duration, start, until, _, _ = cache.rules[i]
        now_us = _micros(now)
        if sustained_s < duration or now_us < start or now_us >= until:
            return None
        quantity = available * cache.factors[i]
        if quantity < floor:
            return None
        if max_quantity is not None:
            remaining = max_quantity - self.committed(need_id, now)
            if remaining < floor:
                return None
            quantity = min(quantity, remaining)
        return quantity if quantity > 0 else None

    def distance_km(self, stream_id: str, need_id: str) -> float:
        """Great-circle distance between the stream's site and the need's: as :func:`feasible`.

        Raises:
            KeyError: unknown stream or need.
        """
        cache = self._pairs.get(stream_id)
        if (
            cache is not None
            and cache.version == self._version
            and cache.source is self._streams.get(stream_id)
        ):
            i = cache.at.get(need_id)
            if i is not None:
                return cache.distances[i]
        site, _ = self._streams[stream_id]
        need_site = self._sites[self._needs[need_id].site]
        return haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)

    def _accounted(self, cache: _StreamPairs, recorded: dict[str, str]) -> bool:
        """Whether :meth:`match` would treat every recorded pair of the stream as the cache does.

        It does for a pair the cache holds as incomparable, and for one :meth:`match` never
        reaches: its need's site belongs to the stream's company or is out of reach (the index
        drops those exactly; a site moved away after the record was made).
        """
        site, stream = cache.source
        for need_id in recorded.keys() - cache.incomparable_ids:
            need = self._needs.get(need_id)
            if need is None:
                return False
            need_site = self._sites[need.site]
            if need_site.company == site.company:
                continue
            distance = haversine_km(site.lat, site.lon, need_site.lat, need_site.lon)
            limits = (need.max_distance_km, stream.max_distance_km)
            if not any(limit is not None and distance > limit for limit in limits):
                return False
        return True

    def _note_incomparable(
        self, stream_id: str, cache: _StreamPairs, now: datetime, sustained_s: float
    ) -> None:
        """Record or clear the cache's incomparable pairs exactly as :meth:`match` would.

        :meth:`match` reaches such a pair when it passes the duration rule and ``now`` lies in
        its window widened by the index's millisecond (its quantity is never bounded: the
        stream alone cannot be put in the need's basis either); :func:`feasible` then raises
        inside the exact window and returns None (clearing the record) in the slack.
        """
        now_s = now.timestamp()
        now_us = _micros(now)
        for rule, reason in cache.incomparable:
            need_id, _, _, duration, start, until, start_s, until_s = rule
            if sustained_s < duration:
                continue
            if now_s < start_s - _TIME_SLACK_S or now_s >= until_s + _TIME_SLACK_S:
                continue
            inside = start <= now_us < until
            self._record_incomparable(stream_id, need_id, reason if inside else None)

    def _stream_pairs(self, stream_id: str) -> _StreamPairs:
        """The stream's cache of statically compatible needs, (re)built when missing or stale.

        Raises:
            KeyError: unknown stream.
        """
        source = self._streams[stream_id]
        cache = self._pairs.get(stream_id)
        if (
            cache is not None
            and cache.source is source
            and (cache.version == self._version or self._still_exact(cache))
        ):
            cache.version = self._version
            return cache
        site, stream = source
        keyed: list[tuple[float, str, float, float, _Rule]] = []
        incomparable: list[tuple[_Rule, str]] = []
        seen: set[str] = set()
        for need_id, distance in self._index.reachable(site, stream):
            if need_id in seen:
                continue
            seen.add(need_id)
            need = self._needs[need_id]
            if _static_ok(site, stream, need, self._sites[need.site], distance) is None:
                continue
            rule = self._rules[need_id]
            try:
                unit_factor = _pair_factor(stream, need)
            except UnitError as e:
                incomparable.append((rule, str(e)))
                continue
            keyed.append((_threshold(rule[1], unit_factor), need_id, unit_factor, distance, rule))
        keyed.sort(key=lambda k: (k[0], k[1]))
        cache = _StreamPairs(
            source=source,
            thresholds=array("d", [k[0] for k in keyed]),
            factors=array("d", [k[2] for k in keyed]),
            distances=array("d", [k[3] for k in keyed]),
            rules=[k[4] for k in keyed],
            at={k[1]: i for i, k in enumerate(keyed)},
            incomparable=incomparable,
            incomparable_ids=frozenset(r[0] for r, _ in incomparable),
            ids=[k[1] for k in keyed],
            always=sum(k[0] == -math.inf for k in keyed),
            caps=array("d", [math.inf if k[4][2] is None else k[4][2] for k in keyed]),
            capped=frozenset(k[1] for k in keyed if k[4][2] is not None),
            odd=_odd([k[4] for k in keyed]),
            longest=max((k[4][3] for k in keyed), default=0.0),
            version=self._version,
        )
        self._pairs[stream_id] = cache
        return cache

    def _changed(self, touched: Iterable[str], now: Iterable[Need]) -> None:
        """Log a change to needs (added, replaced, removed, or their site moved).

        ``touched``: the ids of the needs as they were (a cache holding one is stale);
        ``now``: the needs as they are after the change (a cache of a stream they now fit is
        stale). Costs O(1): each cache replays the log on its next use (``_still_exact``).
        """
        self._version += 1
        self._changes.append((frozenset(touched), tuple(now)))
        if len(self._changes) > _REPLAYED:
            del self._changes[0]

    def _still_exact(self, cache: _StreamPairs) -> bool:
        """Whether a cache of a stream that did not change is exact despite the logged changes.

        It is unless a change touched a need it holds, or a changed need now passes the static
        rules with its stream (checked against the current sites); more than ``_REPLAYED``
        changes behind, it is rebuilt.
        """
        behind = self._version - cache.version
        if behind > len(self._changes):
            return False
        site, stream = cache.source
        for touched, now in self._changes[len(self._changes) - behind :]:
            if not touched.isdisjoint(cache.at) or not touched.isdisjoint(cache.incomparable_ids):
                return False
            for need in now:
                if _static_ok(site, stream, need, self._sites[need.site]) is not None:
                    return False
        return True

    def _feasible(
        self,
        site: Site,
        stream: Stream,
        need: Need,
        available: float,
        now: datetime,
        sustained_s: float,
    ) -> Match | None:
        """:func:`feasible` with the need's site and its committed capacity looked up.

        A pair whose quantities cannot be compared gives None and is recorded.
        """
        try:
            m = feasible(
                site,
                stream,
                need,
                self._sites[need.site],
                available,
                now,
                sustained_s,
                self.committed(need.id, now),
            )
        except UnitError as e:
            self._record_incomparable(stream.id, need.id, str(e))
            return None
        if self._incomparable:
            self._record_incomparable(stream.id, need.id, None)
        return m

    def match_nominal(self, *, now: datetime) -> list[Match]:
        """Matches of every stream at its nominal surplus, taken as sustained indefinitely.

        Streams in site order; within a stream, best first. What ``symbiosis match`` prints.
        """
        out: list[Match] = []
        for site in self._sites.values():
            for stream in site.streams:
                out += self.match(stream.id, stream.nominal, now=now, sustained_s=math.inf)
        return out


def _check_stream(stream: Stream) -> None:
    if stream.kind is ResourceKind.MATERIAL and stream.ewc is not None:
        ewc_list.catalogue().get(stream.ewc)
    _check_rate(stream.unit, stream.kind, field=f"stream {stream.id!r} unit")


def _check_need(need: Need) -> None:
    _check_rate(need.unit, need.kind, field=f"need {need.id!r} unit")


def _check_rate(unit: str, kind: ResourceKind, *, field: str) -> None:
    """``unit`` is a rate of ``kind``: it converts to its basis unit (no gas bridge needed)."""
    factor(unit, basis_unit(unit, kind, field=field), field=field, kind=kind)
