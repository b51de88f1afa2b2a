"""Walking catchments: the parts of streets within a walk, by hand and by property."""

import math

import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from geo.catchments import catchment_area, merged_lines, reached_parts

INF = math.inf


def block_line(n: int, length: float = 100.0) -> list[shapely.LineString]:
    """``n`` streets end to end along the x axis, each drawn from its west (source) end."""
    return [shapely.LineString([(i * length, 0), ((i + 1) * length, 0)]) for i in range(n)]


def test_a_walk_of_250_m_along_100_m_blocks_ends_halfway_down_the_third():
    lines = block_line(4)
    # The router reached the vertices at 0, 100 and 200 m; the fourth (300 m) is beyond the walk.
    parts = reached_parts(lines, [100] * 4, [0, 100, 200, INF], [100, 200, INF, INF], 250)
    assert [p.bounds for p in parts] == [(0, 0, 100, 0), (100, 0, 200, 0), (200, 0, 250, 0)]
    assert merged_lines(parts).equals(shapely.LineString([(0, 0), (250, 0)]))


def test_walks_in_from_both_ends_meet_or_leave_a_stretch_between():
    line = [shapely.LineString([(0, 0), (100, 0)])]
    assert reached_parts(line, [100], [0], [0], 60)[0].equals(line[0])
    head, tail = reached_parts(line, [100], [0], [0], 40)
    assert (head.bounds, tail.bounds) == ((0, 0, 40, 0), (60, 0, 100, 0))
    # A vertex reached with no metres to spare adds nothing; an unreached one (NaN) neither.
    assert reached_parts(line, [100], [40], [math.nan], 40) == []


def test_the_catchment_is_the_reached_streets_widened():
    area = catchment_area([shapely.LineString([(0, 0), (250, 0)])], 50)
    assert area.contains(shapely.Point(-40, 0)) and area.contains(shapely.Point(240, 30))
    assert not area.contains(shapely.Point(310, 0)) and not area.contains(shapely.Point(100, 60))
    assert catchment_area([]).is_empty and merged_lines([]).is_empty


def test_nonsense_is_refused():
    with pytest.raises(ValueError, match="negative"):
        reached_parts([], [], [], [], -1)
    with pytest.raises(ValueError, match="positive length"):
        reached_parts(block_line(1), [0], [0], [INF], 10)
    with pytest.raises(ValueError, match="reach_m"):
        catchment_area([], 0)


@given(st.integers(1, 8), st.floats(10, 500), st.floats(0, 5000))
def test_from_the_end_of_a_line_of_blocks_the_walk_covers_its_budget_or_the_whole_line(n, length, budget):
    to_vertex = [i * length for i in range(n + 1)]
    reached = [c if c <= budget else INF for c in to_vertex]
    parts = reached_parts(block_line(n, length), [length] * n, reached[:-1], reached[1:], budget)
    assert sum(p.length for p in parts) == pytest.approx(min(budget, n * length), abs=1e-6)
