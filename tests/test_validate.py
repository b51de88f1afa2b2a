"""Geometry checks and repair, by hand and on random shapes."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.validate import geometry_problems, promote, repair

AREA = shapely.box(24.9, 60.1, 25.0, 60.2)
POLYGONAL = ("Polygon", "MultiPolygon")

coordinate = st.tuples(st.floats(24.9, 25.0), st.floats(60.1, 60.2))


def check(*geoms, allowed=POLYGONAL, area=AREA):
    return geometry_problems(np.array(geoms, dtype=object), allowed, area=area)


def test_each_fault_is_named():
    square = shapely.box(24.95, 60.15, 24.951, 60.151)
    bowtie = shapely.Polygon([(24.95, 60.15), (24.951, 60.151), (24.951, 60.15), (24.95, 60.151)])
    problems = check(square, None, shapely.Point(24.95, 60.15), bowtie, shapely.box(10, 50, 10.1, 50.1),
                     shapely.box(500, 60, 501, 61), shapely.box(24.95, 60.15, 24.951, float("inf")))
    assert problems[0] is None
    assert problems[1] == "has no geometry"
    assert problems[2].startswith("geometry is a Point")
    assert problems[3].startswith("invalid geometry: Self-intersection")
    assert problems[4].startswith("lies outside the area")
    assert "not longitude/latitude" in problems[5]
    assert problems[6] == "geometry has non-finite coordinates"


def test_without_an_area_anywhere_on_earth_goes():
    assert check(shapely.box(-10, -10, -9, -9), area=None) == [None]


@given(st.lists(coordinate, min_size=3, max_size=12))
@settings(max_examples=200, deadline=None)
def test_a_convex_hull_in_the_area_always_passes(points):
    hull = shapely.MultiPoint(points).convex_hull
    problem = check(hull)[0]
    if hull.geom_type == "Polygon":
        assert problem is None
    else:
        assert problem.startswith("geometry is a")


@given(st.lists(coordinate, min_size=4, max_size=10))
@settings(max_examples=200, deadline=None)
def test_repair_gives_valid_polygons_or_says_it_collapsed(points):
    ring = shapely.Polygon(points + [points[0]])
    geoms, mended, collapsed = repair(np.array([ring], dtype=object))
    if collapsed[0]:
        assert not ring.is_valid
    else:
        assert shapely.is_valid(geoms[0])
        assert geoms[0].geom_type in POLYGONAL
        assert mended[0] == (not ring.is_valid)
        # Repair only mends: it never moves the footprint beyond the points given.
        assert shapely.MultiPoint(points).convex_hull.buffer(1e-9).covers(geoms[0])


def test_repair_leaves_valid_geometry_alone():
    square = shapely.box(0, 0, 1, 1)
    geoms, mended, collapsed = repair(np.array([square], dtype=object))
    assert geoms[0] is square and not mended[0] and not collapsed[0]


def test_promote_makes_polygons_multi_and_leaves_the_rest():
    geoms = promote(np.array([shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(0, 0, 1, 1)])]),
                    "MultiPolygon")
    assert [g.geom_type for g in geoms] == ["MultiPolygon", "MultiPolygon"]
