"""Great-circle distance and a hierarchical latitude/longitude grid for the spatial index.

The grid has :data:`LEVELS` levels. At level ``k`` a cell spans ``360 / 2**(TOP_LEVEL - k)``
degrees of latitude and of longitude: about 2.4 km (north-south) at level 0, doubling per
level, up to one cell covering the whole Earth at :data:`TOP_LEVEL`. Longitude wraps around
the antimeridian; a cover reaching a pole spans all longitudes.

:func:`cover` returns, for a point and a radius, a level and the cells at that level that
contain every point within the radius (a superset: some cells may hold only farther points).
The matcher registers a need in the cells its reach covers, so a stream finds it by looking
up the single cell it sits in at each level.
"""

from __future__ import annotations

import math
from typing import Final

EARTH_RADIUS_KM: Final = 6371.0088
"""Mean Earth radius (IUGG), the sphere the distances are measured on."""

TOP_LEVEL: Final = 14
LEVELS: Final = TOP_LEVEL + 1
COVER_SPLIT: Final = 2.0
"""Covers use cells about 1/COVER_SPLIT of the radius tall: fewer far-off needs per cell."""
MAX_COVER_CELLS: Final = 64
"""A cover never lists more cells than this; a larger reach moves up a level."""

_KM_PER_DEG: Final = EARTH_RADIUS_KM * math.pi / 180.0
_PAD_DEG: Final = 1e-7  # absorbs float rounding at the edge of a reach (~1 cm)
_PAD_RAD: Final = math.radians(_PAD_DEG)

Cell = int
"""A grid cell at some level, as ``row * columns(level) + column``: one small int, cheap to
hash and store (the index holds millions)."""


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees, in km.

    Guarantees: symmetric, zero for equal points, never negative, at most half the
    circumference, and obeys the triangle inequality up to float rounding.
    """
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def normalize(lat: float, lon: float) -> tuple[float, float]:
    """Canonical coordinates of the point ``haversine_km`` reads from (lat, lon), in degrees.

    Guarantees: the result has ``-90 <= lat <= 90`` and ``-180 <= lon <= 180`` (180 only
    through float rounding of a longitude just below -180), names the same point on the
    sphere (the same unit vector up to float rounding), and is returned unchanged when
    ``lat`` is in [-90, 90] and ``lon`` in [-180, 180). A latitude past a pole is reflected
    over it onto the far meridian, as the sphere's geometry (and :func:`haversine_km`) has
    it.
    """
    if -90.0 <= lat <= 90.0 and -180.0 <= lon < 180.0:
        return lat, lon
    lat = math.remainder(lat, 360.0)  # exact, in [-180, 180]
    if lat > 90.0:
        lat, lon = 180.0 - lat, lon + 180.0
    elif lat < -90.0:
        lat, lon = -180.0 - lat, lon + 180.0
    return lat, (lon + 180.0) % 360.0 - 180.0


def cell_deg(level: int) -> float:
    """Side of a cell at ``level``, in degrees."""
    return 360.0 / (1 << (TOP_LEVEL - level))


def _rows(level: int) -> int:
    return max(1, math.ceil(180.0 / cell_deg(level)))


def _cols(level: int) -> int:
    return 1 << (TOP_LEVEL - level)


def cell_of(lat: float, lon: float, level: int) -> Cell:
    """The cell containing the point at ``level``.

    Any finite coordinates are accepted and read as :func:`normalize` does (a latitude past
    a pole counts on the far meridian, as :func:`haversine_km` has it), so the cell is
    always that of the point the distances are measured from.
    """
    lat, lon = normalize(lat, lon)
    size = cell_deg(level)
    cols = _cols(level)
    row = min(int((lat + 90.0) // size), _rows(level) - 1)
    col = int((lon + 180.0) // size) % cols
    return row * cols + col


def level_for(radius_km: float) -> int:
    """The smallest level whose cells are at least ``radius_km`` tall."""
    for level in range(LEVELS):
        if cell_deg(level) * _KM_PER_DEG >= radius_km:
            return level
    return TOP_LEVEL


def cells_within(lat: float, lon: float, radius_km: float, level: int) -> list[Cell]:
    """Cells at ``level`` containing every point within ``radius_km`` of (lat, lon).

    Takes the exact bounding box of the spherical cap of radius ``radius_km`` plus about a
    centimetre: latitudes ``lat +- d`` with ``d = (radius_km + 1 cm) / R``, and longitudes
    ``lon +- asin(sin(d) / cos(lat))`` (plus 1e-7 degree), or every longitude when that
    latitude band reaches a pole (the cap then holds the pole, or comes within a centimetre
    of it) or ``d`` is a quarter circle or more. Longitudes wrap at the antimeridian.

    Guarantees: for any finite (lat, lon) (read as :func:`normalize` does), every point
    ``p`` with ``haversine_km(lat, lon, *p) <= radius_km`` has ``cell_of(*p, level)`` in the
    result, at every latitude (poles included) and for any radius, however many cells it
    spans; the pad absorbs float rounding in the distance. The result is sorted, without
    duplicates, and for a cap clear of the poles holds only the cells its box overlaps.
    """
    lat, lon = normalize(lat, lon)
    delta = radius_km / EARTH_RADIUS_KM + _PAD_RAD
    dlat = math.degrees(delta)
    size = cell_deg(level)
    rows, cols = _rows(level), _cols(level)
    lat_lo, lat_hi = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    row_lo = min(int((lat_lo + 90.0) // size), rows - 1)
    row_hi = min(int((lat_hi + 90.0) // size), rows - 1)
    if lat + dlat >= 90.0 or lat - dlat <= -90.0 or delta >= math.pi / 2:
        col_list = list(range(cols))  # the band reaches a pole: all longitudes
    else:
        # the band lies strictly between the poles, so cos(lat) > sin(delta) > 0
        ratio = min(1.0, math.sin(delta) / math.cos(math.radians(lat)))
        dlon = math.degrees(math.asin(ratio)) + _PAD_DEG
        col_lo = math.floor((lon - dlon + 180.0) / size)
        col_hi = math.floor((lon + dlon + 180.0) / size)
        if col_hi - col_lo + 1 >= cols:
            col_list = list(range(cols))
        else:
            col_list = sorted({c % cols for c in range(col_lo, col_hi + 1)})  # wraps at 180
    return [r * cols + c for r in range(row_lo, row_hi + 1) for c in col_list]


def cover(lat: float, lon: float, radius_km: float) -> tuple[int, list[Cell]]:
    """A level and the cells at it that contain every point within ``radius_km``.

    Starts at ``level_for(radius_km / COVER_SPLIT)`` (cells about half the radius tall) and
    moves up until the cover has at most :data:`MAX_COVER_CELLS` cells (far north or south a
    small reach spans many columns).

    Guarantees: the cells are :func:`cells_within` at the returned level, so they hold every
    point within ``radius_km`` of any finite (lat, lon), poles and antimeridian included;
    there are at most :data:`MAX_COVER_CELLS` of them (the top level is one cell).
    """
    level = level_for(radius_km / COVER_SPLIT)
    while True:
        cells = cells_within(lat, lon, radius_km, level)
        if len(cells) <= MAX_COVER_CELLS or level == TOP_LEVEL:
            return level, cells
        level += 1
