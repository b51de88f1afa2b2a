"""The hexagon grid: each point in its own hexagon, and the same cells as PostGIS makes."""

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.hexgrid import hex_centres, hex_index, hex_neighbours, hex_polygons, hexagons_over

SIZE = 100.0


@given(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6), st.floats(1, 1000))
@settings(max_examples=300, deadline=None)
def test_every_point_lies_in_the_hexagon_it_is_given(x, y, size):
    i, j = hex_index(np.array([x]), np.array([y]), size)
    hexagon = hex_polygons(i, j, size)[0]
    assert hexagon.distance(shapely.Point(x, y)) <= 1e-6 * size


def test_the_centre_of_a_hexagon_is_in_it():
    i, j = np.arange(-3, 4).repeat(7), np.tile(np.arange(-3, 4), 7)
    np.testing.assert_array_equal(np.column_stack(hex_index(*hex_centres(i, j, SIZE), SIZE)),
                                  np.column_stack([i, j]))


def test_the_cells_are_those_of_postgis(pg):
    # An envelope in EPSG:3067 (Finland) around Helsinki, 1.2 km by 0.9 km.
    rows = pg.execute("""
        SELECT h.i, h.j, ST_AsBinary(h.geom)
        FROM ST_HexagonGrid(%s, ST_MakeEnvelope(385000, 6671000, 386200, 6671900, 3067)) h
        WHERE ST_Intersects(h.geom, ST_MakeEnvelope(385000, 6671000, 386200, 6671900, 3067))
    """, (SIZE,)).fetchall()
    theirs = {(i, j): shapely.from_wkb(bytes(wkb)) for i, j, wkb in rows}
    i, j = hexagons_over(shapely.box(385000, 6671000, 386200, 6671900), SIZE)
    assert set(zip(i.tolist(), j.tolist())) == set(theirs)
    for (a, b), mine in zip(zip(i.tolist(), j.tolist()), hex_polygons(i, j, SIZE)):
        assert mine.equals_exact(theirs[(a, b)], tolerance=1e-6)


def test_neighbours_share_an_edge():
    i, j = hexagons_over(shapely.box(0, 0, 1000, 1000), SIZE)
    polygons = hex_polygons(i, j, SIZE)
    neighbours = hex_neighbours(i, j)
    # Slightly grown, so that edges computed twice in floating point still overlap.
    grown = shapely.buffer(polygons, 1e-6)
    for k, around in neighbours.items():
        sharing = np.flatnonzero(shapely.length(shapely.intersection(shapely.boundary(polygons), grown[k])) > 1)
        assert sorted(around) == sorted(set(sharing.tolist()) - {k})
    inner = [k for k, p in enumerate(polygons) if shapely.box(100, 100, 900, 900).contains(p)]
    assert inner and all(len(neighbours[k]) == 6 for k in inner)
