"""The index behind :class:`domain.matching.Matcher`: candidate needs for one stream.

Needs are bucketed by

* **need kind**: a stream probes the kinds it can serve (steam probes steam and heat);
* **sub-key**: for materials the accepted EWC prefix (a need is filed under each accepted
  chapter, sub-chapter or code, minus those a shorter accepted prefix already covers; a stream
  probes its code's chapter, sub-chapter and code, so it meets exactly the needs accepting its
  code), for gases the species (``"*"`` for a need naming none; a stream probes its species
  and ``"*"``), empty otherwise;
* **basis**: the unit the need's minimum is filed in, :func:`domain.units.basis_unit` (the
  kind's canonical unit; for a gas, ``t/yr`` for a mass flow and normal ``m^3/h`` for a volume
  flow, so filing never needs a gas species). A gas stream probes both bases, its available
  amount converted with its own density or species; when it has neither, the basis of the
  other dimension is not bounded by quantity (:func:`domain.matching.feasible` decides);
* **place**, on the hierarchical grid of :mod:`domain.geo`:

  - a need with ``max_distance_km`` is filed in the cells its reach covers, at the level
    :func:`domain.geo.cover` picks; a stream looks up the one cell it sits in, at each level
    in use: O(levels) lookups;
  - a need with no distance limit is filed in its own cell at every level; a stream with
    ``max_distance_km`` looks up the cells its reach covers, and a stream with no limit either
    looks up the single top-level cell (every such need: unavoidable, any of them may match).

Within a bucket needs are sorted by their minimum quantity in the bucket's basis unit, so a
bisection skips every need whose minimum exceeds the available amount. Each filed entry also
carries a compact copy of the need's company, place, reach, minimum duration and window, so
the cheap rules reject a candidate without touching the ``Need`` and ``Site`` objects.

:meth:`NeedIndex.reachable` walks the same buckets with no quantity bound and no time: the
needs a stream could serve at some amount and moment (the matcher's per-stream cache is built
from it).

The index only prunes: it returns a superset of the needs :func:`domain.matching.feasible`
accepts (quantity bound padded by 1e-6 relative; cell covers padded by a centimetre). No need
is returned twice for one call. That holds anywhere on the globe, poles and antimeridian
included, and for any finite coordinates: :mod:`domain.geo` files a site by the point
:func:`domain.geo.haversine_km` measures from, so a latitude past a pole (``model_copy``
skips the schema's bounds) counts on the far meridian, as it does in ``feasible``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from domain.errors import UnitError
from domain.geo import LEVELS, TOP_LEVEL, Cell, cell_of, cover, haversine_km
from domain.units import CANONICAL_UNITS, GAS_VOLUME_UNIT, basis_unit, factor
from schemas.common import ResourceKind
from schemas.registry import Need, Site, Stream

_MAX_ID: Final = "\U0010ffff"  # sorts after every slug
_SLACK: Final = 1e-6
_TIME_SLACK_S: Final = 1e-3
_ANY_SPECIES: Final = "*"

Entry = tuple[float, str, str, float, float, float, float, float, float]
"""A filed need: (minimum quantity in the basis unit, need id, company, lat, lon, reach
km, minimum duration s, active from, active until as POSIX seconds). Buckets sort by the first
two (ids are unique, so the rest is never compared); the rest is a compact copy of what the
cheap rules read, so rejecting a candidate touches only this tuple."""
Bound = tuple[float, str]
Group = tuple[ResourceKind, str, str]
"""(need kind, sub-key, basis unit)."""
Grid = dict[int, dict[Cell, list[Entry]]]
"""level -> cell -> bucket, for one group."""


@dataclass(frozen=True, slots=True)
class _Filed:
    entry: Entry
    groups: tuple[Group, ...]
    lat: float
    lon: float
    reach_km: float | None


@dataclass(frozen=True, slots=True)
class _StreamPlace:
    cells: tuple[Cell, ...]
    reach: tuple[int, tuple[Cell, ...]] | None


_GAS_BASES: Final = (CANONICAL_UNITS[ResourceKind.GAS], GAS_VOLUME_UNIT)


def _bases(need_kind: ResourceKind) -> tuple[str, ...]:
    """The basis units needs of ``need_kind`` may be filed in."""
    return _GAS_BASES if need_kind is ResourceKind.GAS else (CANONICAL_UNITS[need_kind],)


def compatible_need_kinds(kind: ResourceKind) -> tuple[ResourceKind, ...]:
    """The need kinds a stream of ``kind`` can serve (steam also serves heat)."""
    if kind is ResourceKind.STEAM:
        return (ResourceKind.STEAM, ResourceKind.HEAT)
    return (kind,)


def need_subkeys(need: Need) -> tuple[str, ...]:
    """The sub-keys a need is filed under (sorted, distinct)."""
    if need.kind is ResourceKind.MATERIAL:
        prefixes = set(need.accepts_ewc)
        # drop a prefix a shorter accepted one already covers, so no code matches two
        return tuple(
            sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))
        )
    if need.kind is ResourceKind.GAS:
        return (need.gas_species.lower(),) if need.gas_species else (_ANY_SPECIES,)
    return ("",)


def stream_subkeys(stream: Stream, need_kind: ResourceKind) -> tuple[str, ...]:
    """The sub-keys a stream probes among needs of ``need_kind``."""
    if need_kind is ResourceKind.MATERIAL:
        return (stream.ewc[:2], stream.ewc[:4], stream.ewc) if stream.ewc else ()
    if need_kind is ResourceKind.GAS:
        if stream.gas_species:
            return (stream.gas_species.lower(), _ANY_SPECIES)
        return (_ANY_SPECIES,)
    return ("",)


class NeedIndex:
    """Open needs filed by kind, sub-key, grid cell and minimum quantity."""

    def __init__(self) -> None:
        self._reach: dict[Group, Grid] = {}
        self._point: dict[Group, Grid] = {}
        self._filed: dict[str, _Filed] = {}
        self._places: dict[str, _StreamPlace] = {}

    def __len__(self) -> int:
        return len(self._filed)

    def add(self, need: Need, site: Site) -> None:
        """File a need located at ``site`` (replacing one with the same id).

        Raises:
            UnitError: its unit is not a rate of its kind (cannot be put in its basis unit).
        """
        self.remove(need.id)
        field = f"need {need.id!r} min_quantity"
        basis = basis_unit(need.unit, need.kind, field=field)
        minimum = need.min_quantity * factor(need.unit, basis, field=field, kind=need.kind)
        filed = _Filed(
            entry=(
                minimum,
                need.id,
                site.company,
                site.lat,
                site.lon,
                need.max_distance_km if need.max_distance_km is not None else math.inf,
                need.min_duration_s,
                need.active_from.timestamp() if need.active_from is not None else -math.inf,
                need.active_until.timestamp() if need.active_until is not None else math.inf,
            ),
            groups=tuple((need.kind, sub, basis) for sub in need_subkeys(need)),
            lat=site.lat,
            lon=site.lon,
            reach_km=need.max_distance_km,
        )
        entry = filed.entry
        for grid, level, cells in self._places_of(filed):
            cell_map = grid.setdefault(level, {})
            for cell in cells:
                bucket = cell_map.get(cell)
                if bucket is None:
                    cell_map[cell] = [entry]
                else:
                    insort(bucket, entry)
        self._filed[need.id] = filed

    def remove(self, need_id: str) -> None:
        """Unfile a need; unknown ids are ignored."""
        filed = self._filed.pop(need_id, None)
        if filed is None:
            return
        for grid, level, cells in self._places_of(filed):
            cell_map = grid[level]
            for cell in cells:
                bucket = cell_map[cell]
                del bucket[bisect_left(bucket, filed.entry)]
                if not bucket:
                    del cell_map[cell]
            if not cell_map:
                del grid[level]
        for group in filed.groups:
            for top in (self._reach, self._point):
                if group in top and not top[group]:
                    del top[group]

    def _places_of(self, filed: _Filed) -> Iterator[tuple[Grid, int, Iterable[Cell]]]:
        if filed.reach_km is not None:
            level, cells = cover(filed.lat, filed.lon, filed.reach_km)
            for group in filed.groups:
                yield self._reach.setdefault(group, {}), level, cells
        else:
            own = [cell_of(filed.lat, filed.lon, lvl) for lvl in range(LEVELS)]
            for group in filed.groups:
                grid = self._point.setdefault(group, {})
                for lvl in range(LEVELS):
                    yield grid, lvl, (own[lvl],)

    def forget_streams(self) -> None:
        """Drop cached stream locations (call when a site moves or its streams change)."""
        self._places.clear()

    def candidates(
        self,
        site: Site,
        stream: Stream,
        available: float,
        *,
        now: datetime,
        sustained_s: float,
    ) -> Iterator[str]:
        """Ids of needs that may accept ``available`` (stream unit) of ``stream`` now.

        A superset of the needs :func:`domain.matching.feasible` accepts; each id once. Besides
        the buckets, drops needs failing the company, duration, window or distance rule,
        checked on the compact filed copy (time with a millisecond of slack).
        """
        check = _Check(
            company=site.company,
            lat=site.lat,
            lon=site.lon,
            reach_km=stream.max_distance_km if stream.max_distance_km is not None else math.inf,
            now=now.timestamp(),
            sustained_s=sustained_s,
        )
        for bucket, bound in self._probe(site, stream, available):
            yield from check.filter(bucket, bound)

    def reachable(self, site: Site, stream: Stream) -> Iterator[tuple[str, float]]:
        """Needs ``stream`` could serve at some quantity and time, each once, with the distance.

        The needs in the buckets the stream probes (kind, sub-key, both gas bases, place) that
        pass the company and distance rules, whatever their minimum, duration or window: a
        superset of the needs passing the rules of :func:`domain.matching.feasible` that do not
        depend on the available amount, the moment or the steadiness. The distance is
        ``haversine_km(site, need's site)``, bit for bit the number ``feasible`` computes (a
        need is re-filed whenever its site is).
        """
        check = _Check(
            company=site.company,
            lat=site.lat,
            lon=site.lon,
            reach_km=stream.max_distance_km if stream.max_distance_km is not None else math.inf,
            now=math.nan,
            sustained_s=math.inf,
        )
        for bucket, _ in self._probe(site, stream, math.inf):
            yield from check.reach(bucket)

    def _probe(
        self, site: Site, stream: Stream, available: float
    ) -> Iterator[tuple[list[Entry] | None, Bound]]:
        """The buckets ``stream`` looks in, each with its quantity bound for ``available``."""
        place = self._place(site, stream)
        bounds: dict[str, Bound] = {}
        for need_kind in compatible_need_kinds(stream.kind):
            for basis in _bases(need_kind):
                bound = bounds.get(basis)
                for sub in stream_subkeys(stream, need_kind):
                    group = (need_kind, sub, basis)
                    reach = self._reach.get(group)
                    point = self._point.get(group)
                    if not reach and not point:
                        continue
                    if bound is None:
                        bound = bounds[basis] = (self._limit(stream, available, basis), _MAX_ID)
                    if reach:
                        for level, cell_map in reach.items():
                            yield cell_map.get(place.cells[level]), bound
                    if point:
                        level, cells = _point_cells(place)
                        cell_map = point.get(level, {})
                        for cell in cells:
                            yield cell_map.get(cell), bound

    def _limit(self, stream: Stream, available: float, basis: str) -> float:
        """``available`` in ``basis``, padded; unbounded when the stream alone cannot say."""
        try:
            in_basis = available * factor(
                stream.unit,
                basis,
                field=f"stream {stream.id!r} available",
                kind=stream.kind,
                gas_species=stream.gas_species,
                density_kg_per_m3=stream.density_kg_per_m3,
            )
        except UnitError:
            return math.inf
        return in_basis * (1.0 + _SLACK) + _SLACK

    def _place(self, site: Site, stream: Stream) -> _StreamPlace:
        place = self._places.get(stream.id)
        if place is None:
            cells = tuple(cell_of(site.lat, site.lon, lvl) for lvl in range(LEVELS))
            reach = None
            if stream.max_distance_km is not None:
                level, covered = cover(site.lat, site.lon, stream.max_distance_km)
                reach = (level, tuple(covered))
            place = _StreamPlace(cells=cells, reach=reach)
            self._places[stream.id] = place
        return place


def _point_cells(place: _StreamPlace) -> tuple[int, tuple[Cell, ...]]:
    if place.reach is None:
        return TOP_LEVEL, (place.cells[TOP_LEVEL],)
    return place.reach


@dataclass(frozen=True, slots=True)
class _Check:
    company: str
    lat: float
    lon: float
    reach_km: float
    now: float
    sustained_s: float

    def filter(self, bucket: list[Entry] | None, bound: Bound) -> Iterator[str]:
        if not bucket:
            return
        now, sustained, company = self.now, self.sustained_s, self.company
        lat, lon, reach = self.lat, self.lon, self.reach_km
        for i in range(bisect_right(bucket, bound)):
            _, need_id, need_company, n_lat, n_lon, n_reach, duration, t_from, t_until = bucket[i]
            if (
                need_company == company
                or sustained < duration
                or now < t_from - _TIME_SLACK_S
                or now >= t_until + _TIME_SLACK_S
            ):
                continue
            distance = haversine_km(lat, lon, n_lat, n_lon)
            if distance > n_reach or distance > reach:
                continue
            yield need_id

    def reach(self, bucket: list[Entry] | None) -> Iterator[tuple[str, float]]:
        """Ids in ``bucket`` passing the company and distance rules, with the distance."""
        if not bucket:
            return
        company, lat, lon, reach = self.company, self.lat, self.lon, self.reach_km
        for _, need_id, need_company, n_lat, n_lon, n_reach, _, _, _ in bucket:
            if need_company == company:
                continue
            distance = haversine_km(lat, lon, n_lat, n_lon)
            if distance > n_reach or distance > reach:
                continue
            yield need_id, distance
