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


def cell_deg(level: int) -> float:
    """Side of a cell at ``level``, in degrees."""
    return 360.0 / (1 << (TOP_LEVEL - level))


def _rows(level: int) -> int:
    return max(1, math.ceil(180.0 / cell_deg(level)))


def _cols(level: int) -> int:
    return 1 << (TOP_LEVEL - level)


def cell_of(lat: float, lon: float, level: int) -> Cell:
    """The cell containing the point at ``level``."""
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

    Uses the exact bounding box of a spherical cap (latitude +- r/R; longitude
    +- asin(sin(r/R) / cos(lat)), or all longitudes when the cap reaches a pole), padded by
    about a centimetre. Sorted, without duplicates.
    """
    delta = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(delta) + _PAD_DEG
    lat_lo, lat_hi = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    size = cell_deg(level)
    rows, cols = _rows(level), _cols(level)
    row_lo = int((lat_lo + 90.0) // size)
    row_hi = min(int((lat_hi + 90.0) // size), rows - 1)
    full = lat + dlat >= 90.0 or lat - dlat <= -90.0 or delta >= math.pi / 2
    if not full:
        ratio = math.sin(delta) / math.cos(math.radians(lat))
        full = ratio >= 1.0
    if full:
        col_set = set(range(cols))
    else:
        dlon = math.degrees(math.asin(ratio)) + _PAD_DEG
        col_lo = math.floor((lon - dlon + 180.0) / size)
        col_hi = math.floor((lon + dlon + 180.0) / size)
        col_set = (
            set(range(cols))
            if col_hi - col_lo + 1 >= cols
            else {c % cols for c in range(col_lo, col_hi + 1)}
        )
    col_list = sorted(col_set)
    return [r * cols + c for r in range(row_lo, row_hi + 1) for c in col_list]


def cover(lat: float, lon: float, radius_km: float) -> tuple[int, list[Cell]]:
    """A level and the cells at it that contain every point within ``radius_km``.

    Starts at ``level_for(radius_km / COVER_SPLIT)`` (cells about half the radius tall) and
    moves up until the cover has at most :data:`MAX_COVER_CELLS` cells (far north or south a
    small reach spans many columns).
    """
    level = level_for(radius_km / COVER_SPLIT)
    while True:
        cells = cells_within(lat, lon, radius_km, level)
        if len(cells) <= MAX_COVER_CELLS or level == TOP_LEVEL:
            return level, cells
        level += 1
