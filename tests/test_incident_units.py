"""Counting incidents in hexagons and on street segments."""

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.incident_units import MAX_HEXAGONS, hexagon_units, segment_units

SQUARE = shapely.box(0, 0, 1000, 1000)


# Inside the square: a point exactly on its edge may fall in a hexagon that only touches it.
inside = st.floats(0.001, 999.999)


@given(st.lists(st.tuples(inside, inside), max_size=60), st.floats(20, 300))
@settings(max_examples=60, deadline=None)
def test_every_point_in_the_place_is_counted_once_in_the_hexagon_holding_it(points, size):
    units = hexagon_units(SQUARE, size)
    x, y = (np.array([p[k] for p in points], dtype=float) for k in (0, 1))
    counts = units.counts(x, y)
    assert counts.sum() == len(points)
    for k in np.flatnonzero(counts):
        inside = shapely.intersects_xy(units.geometry[k].buffer(1e-6), x, y)
        assert inside.sum() >= counts[k]


def test_hexagons_are_clipped_to_the_place_and_tile_it():
    units = hexagon_units(SQUARE, 100)
    assert shapely.area(units.geometry).sum() == pytest.approx(SQUARE.area)
    assert units.weights.n == len(units)


def test_slivers_at_the_edge_can_be_left_out():
    whole, kept = hexagon_units(SQUARE, 100), hexagon_units(SQUARE, 100, min_inside=0.25)
    assert len(kept) < len(whole)
    assert (kept.size >= 0.25 * 1.5 * np.sqrt(3) * 100 ** 2 - 1e-6).all()
    # A point in a left-out sliver counts nowhere.
    corner = np.array([0.5]), np.array([0.5])
    assert whole.counts(*corner).sum() == 1 and kept.counts(*corner).sum() == 0


def test_a_grid_too_fine_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="larger cell_m"):
        hexagon_units(shapely.box(0, 0, 100_000, 100_000), 10)
    assert MAX_HEXAGONS >= 100_000


def test_rates_are_per_square_kilometre_of_hexagon_and_per_kilometre_of_street():
    hexes = hexagon_units(SQUARE, 100)
    np.testing.assert_allclose(hexes.rates(np.ones(len(hexes))) * hexes.size / 1e6, 1.0)
    streets = segment_units(np.array([1]), np.array([shapely.LineString([(0, 0), (500, 0)])]), snap_m=10)
    assert streets.rates(np.array([3]))[0] == pytest.approx(6.0)


def test_incidents_snap_to_the_nearest_street_within_reach():
    lines = np.array([shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (100, 100)]),
                      shapely.LineString([(0, 50), (5, 50)])])
    units = segment_units(np.array([10, 11, 12]), lines, snap_m=20, min_length_m=10)
    assert list(units.key) == [10, 11]  # the 5 m stub is left out
    counts = units.counts(np.array([50.0, 90.0, 50.0, 500.0]), np.array([5.0, 30.0, 30.0, 500.0]))
    assert counts.tolist() == [1, 1]  # (50, 30) is 30 m from both; (500, 500) is far from all
    assert units.weights.cardinalities.tolist() == [1, 1]  # they touch at (100, 0)


# Whole and half metres: subnormal coordinates make shapely's own distance warn.
coordinate = st.integers(0, 600).map(lambda v: v / 2)


@given(st.lists(st.lists(st.tuples(coordinate, coordinate), min_size=2, max_size=4), min_size=1, max_size=6),
       st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=30), st.floats(1, 80))
@settings(max_examples=50, deadline=None)
def test_each_point_goes_to_a_nearest_street_as_shapely_finds_it(lines, points, snap):
    lines = np.array([shapely.LineString(line) for line in lines], dtype=object)
    units = segment_units(np.arange(len(lines)), lines, snap_m=snap)
    x, y = (np.array([p[k] for p in points]) for k in (0, 1))
    chosen = units.assign(x, y)
    distances = shapely.distance(shapely.points(x, y)[:, None], lines[None, :])
    nearest = distances.min(axis=1)
    np.testing.assert_array_equal(chosen >= 0, nearest <= snap)
    reached = chosen >= 0
    np.testing.assert_allclose(distances[reached, chosen[reached]], nearest[reached], atol=1e-7)
