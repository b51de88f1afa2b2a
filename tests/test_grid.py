"""The grid that finds candidate pairs: the same pairs as looking at every pair."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geo.grid import MAX_CELLS, BoxGrid, nearest_segments, points_near_segments

coordinate = st.floats(-500, 500, allow_nan=False)


def boxes(n):
    corners = arrays(np.float64, (n, 4), elements=coordinate)
    return corners.map(lambda c: (np.minimum(c[:, 0], c[:, 2]), np.minimum(c[:, 1], c[:, 3]),
                                  np.maximum(c[:, 0], c[:, 2]), np.maximum(c[:, 1], c[:, 3])))


def overlapping(a, b):
    """Every pair (i in a, j in b) whose boxes overlap, by looking at each."""
    ax0, ay0, ax1, ay1 = (v[:, None] for v in a)
    bx0, by0, bx1, by1 = (v[None, :] for v in b)
    i, j = np.nonzero((ax0 <= bx1) & (bx0 <= ax1) & (ay0 <= by1) & (by0 <= ay1))
    return set(zip(i.tolist(), j.tolist()))


@given(st.integers(0, 30).flatmap(boxes), st.integers(0, 30).flatmap(boxes), st.floats(1, 300))
@settings(max_examples=150, deadline=None)
def test_pairs_are_the_overlapping_boxes_each_once(grid_boxes, query_boxes, cell):
    i, j = BoxGrid.of(*grid_boxes, cell=cell).pairs(*query_boxes)
    assert len(i) == len(set(zip(i.tolist(), j.tolist())))
    assert set(zip(i.tolist(), j.tolist())) == overlapping(grid_boxes, query_boxes)


@given(st.integers(1, 30).flatmap(boxes), st.integers(1, 30).flatmap(boxes), st.data())
@settings(max_examples=50, deadline=None)
def test_live_leaves_out_the_settled_boxes(grid_boxes, query_boxes, data):
    live = data.draw(arrays(np.bool_, len(grid_boxes[0])))
    i, j = BoxGrid.of(*grid_boxes, cell=50.0).pairs(*query_boxes, live=live)
    assert set(zip(i.tolist(), j.tolist())) == {(a, b) for a, b in overlapping(grid_boxes, query_boxes)
                                                 if live[a]}


def test_a_grid_spread_far_gets_coarser_cells_not_more_memory():
    x = np.array([0.0, 1e7])
    grid = BoxGrid.of(x, x, x, x, cell=0.01)
    assert grid.nx * grid.ny <= MAX_CELLS + 2 * int(np.sqrt(MAX_CELLS)) + 1
    assert {tuple(p) for p in np.column_stack(grid.pairs(x - 1, x - 1, x + 1, x + 1))} == {(0, 0), (1, 1)}


def test_an_empty_grid_has_no_pairs():
    empty = np.empty(0)
    i, j = BoxGrid.of(empty, empty, empty, empty, cell=10.0).pairs(np.zeros(3), np.zeros(3), np.ones(3),
                                                                   np.ones(3))
    assert len(i) == len(j) == 0


def distances(px, py, ax, ay, bx, by):
    """Point-to-segment distances of every (point, segment), the textbook way."""
    vx, vy = (bx - ax)[None, :], (by - ay)[None, :]
    rx, ry = px[:, None] - ax[None, :], py[:, None] - ay[None, :]
    span2 = vx * vx + vy * vy
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(span2 > 0, np.clip((rx * vx + ry * vy) / span2, 0, 1), 0.0)
    return np.hypot(rx - u * vx, ry - u * vy)


@given(st.integers(0, 40).flatmap(lambda n: arrays(np.float64, (n, 2), elements=coordinate)),
       st.integers(0, 15).flatmap(lambda n: arrays(np.float64, (n, 4), elements=coordinate)),
       st.floats(0.5, 200))
@settings(max_examples=150, deadline=None)
def test_points_near_segments_are_those_within_the_radius(points, segments, radius):
    px, py = points[:, 0], points[:, 1]
    ax, ay, bx, by = segments.T
    grid = BoxGrid.of(px, py, px, py, cell=2 * radius + 50)
    near = distances(px, py, ax, ay, bx, by) <= radius
    i, j, u = points_near_segments(grid, ax, ay, bx, by, radius)
    assert set(zip(i.tolist(), j.tolist())) == set(zip(*(a.tolist() for a in np.nonzero(near))))
    # u is where along the segment the point comes closest.
    closest = np.hypot(ax[j] + u * (bx[j] - ax[j]) - px[i], ay[j] + u * (by[j] - ay[j]) - py[i])
    np.testing.assert_allclose(closest, distances(px, py, ax, ay, bx, by)[i, j], atol=1e-6)
    first, _, _ = points_near_segments(grid, ax, ay, bx, by, radius, first_only=True)
    assert sorted(first.tolist()) == np.flatnonzero(near.any(axis=1)).tolist()
    nearest = nearest_segments(grid, ax, ay, bx, by, radius)
    np.testing.assert_array_equal(nearest >= 0, near.any(axis=1))
    reached = np.flatnonzero(nearest >= 0)
    if len(reached):
        all_d = distances(px, py, ax, ay, bx, by)[reached]
        np.testing.assert_allclose(all_d[np.arange(len(reached)), nearest[reached]], all_d.min(axis=1), atol=1e-6)


def test_many_pairs_per_segment_all_come_back():
    # A hundred points along one segment: more pairs than the first guess has room for.
    px, py = np.linspace(0, 100, 100), np.zeros(100)
    grid = BoxGrid.of(px, py, px, py, cell=60.0)
    i, j, _ = points_near_segments(grid, np.array([0.0]), np.array([1.0]), np.array([100.0]),
                                   np.array([1.0]), 5.0)
    assert sorted(i.tolist()) == list(range(100)) and set(j.tolist()) == {0}
