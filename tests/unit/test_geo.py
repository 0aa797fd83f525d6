"""The grid cover the match index relies on, where lat/lon grids break: poles, antimeridian.

The one property that matters: every point within the radius (by ``haversine_km``) lies in a
cell of the cover, at every level and however the coordinates are written.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.geo import (
    EARTH_RADIUS_KM,
    LEVELS,
    MAX_COVER_CELLS,
    TOP_LEVEL,
    cell_of,
    cells_within,
    cover,
    haversine_km,
    level_for,
    normalize,
)


def columns(level):
    return 1 << (TOP_LEVEL - level)


def unit_vector(lat, lon):
    phi, lam = math.radians(lat), math.radians(lon)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def covered(center, radius, point, level=None):
    """The point's cell is in the cover (the one cover() picks, or cells_within at level)."""
    if level is None:
        level, cells = cover(*center, radius)
    else:
        cells = cells_within(*center, radius, level)
    return cell_of(*point, level) in cells


# --- normalize --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ((55.0, 11.0), (55.0, 11.0)),
        ((90.0, 33.0), (90.0, 33.0)),
        ((0.0, 180.0), (0.0, -180.0)),
        ((0.0, 540.5), (0.0, -179.5)),
        ((10.0, -190.0), (10.0, 170.0)),
        ((90.5, 10.0), (89.5, -170.0)),  # past the North Pole: the far meridian
        ((-90.5, 10.0), (-89.5, -170.0)),
        ((180.0, 0.0), (0.0, -180.0)),
        ((370.0, 5.0), (10.0, 5.0)),
    ],
)
def test_normalize(raw, canonical):
    assert normalize(*raw) == pytest.approx(canonical, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(-1000, 1000), lon=st.floats(-1000, 1000))
def test_normalize_names_the_same_point_in_range(lat, lon):
    n_lat, n_lon = normalize(lat, lon)
    assert -90.0 <= n_lat <= 90.0
    assert -180.0 <= n_lon <= 180.0
    assert unit_vector(lat, lon) == pytest.approx(unit_vector(n_lat, n_lon), abs=1e-12)
    assert all(cell_of(lat, lon, lvl) == cell_of(n_lat, n_lon, lvl) for lvl in range(LEVELS))


@settings(max_examples=200, deadline=None)
@given(lat=st.floats(89.0, 91.0) | st.floats(-91.0, -89.0), lon=st.floats(-360, 360))
def test_haversine_agrees_with_normalize_just_past_a_pole(lat, lon):
    # how a site moved past a pole shows up (model_copy skips validation); haversine's
    # rounding there stays well inside the cover's centimetre pad
    assert haversine_km(lat, lon, *normalize(lat, lon)) == pytest.approx(0.0, abs=1e-5)


# --- poles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pole_lat", [89.99, -89.99])
@pytest.mark.parametrize("radius", [0.1, 1.0, 2.0, 5.0, 50.0])
def test_near_a_pole_every_point_in_reach_is_covered(pole_lat, radius):
    # 89.99 is 1.11 km from the pole: a radius of 1.12 km or more holds it
    center = (pole_lat, 0.0)
    level, cells = cover(*center, radius)
    finer = {
        lvl: set(cells_within(*center, radius, lvl)) for lvl in range(max(0, level - 2), LEVELS)
    }
    for off in (-0.4, -0.05, -0.01, -0.005, 0.0, 0.005, 0.009, 0.0099, 0.01):
        lat = pole_lat + off * math.copysign(1.0, pole_lat)  # + is pole-ward
        for lon in range(-180, 180, 3):
            point = (lat, float(lon))
            if haversine_km(*center, *point) <= radius:
                assert cell_of(*point, level) in cells
                assert all(cell_of(*point, lvl) in finer[lvl] for lvl in finer)


@pytest.mark.parametrize("pole", [90.0, -90.0])
def test_a_cap_holding_a_pole_spans_every_longitude(pole):
    center = (math.copysign(89.95, pole), 30.0)  # 5.6 km from the pole
    radius = 10.0
    level, cells = cover(*center, radius)
    cols = columns(level)
    pole_row = cell_of(pole, 0.0, level) // cols
    assert set(range(pole_row * cols, (pole_row + 1) * cols)) <= set(cells)
    for lon in range(-180, 180):
        point = (math.copysign(89.97, pole), float(lon))  # at most 8.9 km away
        assert haversine_km(*center, *point) <= radius
        assert cell_of(*point, level) in cells
        assert covered(center, radius, (pole, float(lon)))  # the pole, by any meridian


def test_the_pole_itself_is_covered_at_every_level():
    for level in range(LEVELS):
        cells = cells_within(90.0, 0.0, 1.0, level)
        assert {cell_of(90.0, lon, level) for lon in (-180.0, -90.0, 0.0, 90.0, 179.9)} <= set(
            cells
        )
        assert cell_of(89.995, 123.0, level) in cells  # 0.56 km from the pole


def test_a_cap_clear_of_the_pole_does_not_span_every_longitude():
    level, cells = cover(89.0, 0.0, 20.0)  # 111 km from the pole, radius 20 km
    assert cell_of(89.0, 180.0, level) not in cells
    assert len(cells) <= MAX_COVER_CELLS


def test_a_site_moved_past_the_pole_is_found_on_the_far_meridian():
    # the falsifying example of test_index_stays_exact_under_updates: a site at lat 90.037
    # (model_copy skips validation), which haversine reads as (89.963, lon + 180)
    need_site, reach = (89.95236199142647, 122.44604938018858), 3.1
    stream_site = (90.03731725651386, -34.64948412570425)
    assert haversine_km(*need_site, *stream_site) == pytest.approx(2.187, abs=1e-3)
    assert covered(need_site, reach, stream_site)
    for level in range(LEVELS):
        assert cell_of(*stream_site, level) == cell_of(89.96268274348614, 145.35051587429575, level)
        assert covered(need_site, reach, stream_site, level)
    assert covered(stream_site, reach, need_site)  # a centre past the pole too


# --- antimeridian -----------------------------------------------------------------------------


@pytest.mark.parametrize("lat", [0.0, 45.0, -60.0, 85.0])
@pytest.mark.parametrize("lon", [179.9, -179.9])
def test_a_cap_across_the_antimeridian_wraps(lat, lon):
    radius = 50.0
    other = (lat, -lon)  # across the antimeridian, at most 22.3 km away
    assert haversine_km(lat, lon, *other) <= radius
    assert covered((lat, lon), radius, other)
    for level in range(LEVELS):
        assert covered((lat, lon), radius, other, level)
        assert covered((lat, lon), radius, (lat, -lon + math.copysign(360.0, lon)), level)


def test_cells_within_wraps_columns_at_the_antimeridian():
    level = level_for(50.0)
    cells = cells_within(0.0, 179.9, 50.0, level)
    cols = columns(level)
    assert {c % cols for c in cells} >= {0, cols - 1}
    assert cells == sorted(set(cells))


# --- large radii ------------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [500.0, 5000.0, 12000.0, 20015.0, 30000.0])
def test_a_large_radius_covers_every_point_in_reach(radius):
    center = (10.0, 20.0)
    for lat in range(-90, 91, 5):
        for lon in range(-180, 180, 5):
            if haversine_km(*center, lat, lon) <= radius:
                assert covered(center, radius, (float(lat), float(lon)))


# --- property ---------------------------------------------------------------------------------

near_pole = st.floats(89.0, 90.0) | st.floats(-90.0, -89.0)
near_antimeridian = st.floats(170.0, 180.0) | st.floats(-180.0, -170.0)
centers = st.tuples(st.floats(-90, 90) | near_pole, st.floats(-180, 180) | near_antimeridian)


@settings(max_examples=400, deadline=None)
@given(
    center=centers,
    radius=st.floats(0.01, 200) | st.floats(200, 25000),
    u=st.floats(-1, 1),
    v=st.floats(-1, 1),
    level_shift=st.integers(-3, 3),
    written=st.sampled_from(["plain", "lon+360", "lon-360", "over the pole"]),
)
@example(
    center=(89.95236199142647, 122.44604938018858),
    radius=3.1,
    u=0.5,
    v=0.2,
    level_shift=0,
    written="over the pole",
)
@example(center=(0.0, 179.9), radius=50.0, u=0.0, v=1.0, level_shift=0, written="plain")
@example(center=(89.99, 0.0), radius=2.0, u=1.0, v=1.0, level_shift=0, written="plain")
def test_every_point_within_the_radius_is_in_the_cover(center, radius, u, v, level_shift, written):
    # a point in the cap's lat/lon box, kept when haversine puts it within the radius
    dlat = math.degrees(radius / EARTH_RADIUS_KM)
    p_lat = max(-90.0, min(90.0, center[0] + u * dlat))
    span = min(180.0, dlat / max(math.cos(math.radians(p_lat)), 1e-12))
    p_lon = (center[1] + v * span + 180.0) % 360.0 - 180.0
    if haversine_km(*center, p_lat, p_lon) > radius:
        return  # outside the cap: nothing to check
    point = {
        "plain": (p_lat, p_lon),
        "lon+360": (p_lat, p_lon + 360.0),
        "lon-360": (p_lat, p_lon - 360.0),
        "over the pole": (math.copysign(180.0, p_lat) - p_lat, p_lon + 180.0),
    }[written]
    level, cells = cover(*center, radius)
    assert cell_of(*point, level) in cells
    assert len(cells) <= MAX_COVER_CELLS
    other = min(TOP_LEVEL, max(0, level + level_shift))
    assert cell_of(*point, other) in cells_within(*center, radius, other)
