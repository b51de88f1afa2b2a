"""Tiles, halos and time chunks: every target in one tile, every track in one chunk, and the
coverage cut into tiles and chunks equal to the coverage in one run, number for number."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.coverage import covered_stretches, point_passes, track_pieces
from geo.patrol_gaps import Nights
from geo.tiled_coverage import (
    CityCoverage,
    TileTargets,
    chunk_part,
    merge_chunks,
    merge_tiles,
    plan_tiles,
    whole_city,
)
from geo.tiling import HALO_SLACK_M, Box, TileGrid, halo, pieces_near, time_chunks
from geo.windows import DailyWindow

DAY0 = datetime(2026, 10, 1, tzinfo=UTC)
ALL_DAY = DailyWindow.parse("00:00-00:00")

NO_FOCUS = pd.DataFrame({"id": np.empty(0, np.int64), "kind": [], "name": [], "priority": [],
                         "geometry": np.empty(0, dtype=object)})

# Centimetres, as GPS and maps give them.
coordinate = st.integers(0, 60_000).map(lambda cm: cm / 100)
point = st.tuples(coordinate, coordinate)


# --- the tiled run, in memory: what beatbook/city_coverage.py does with PostgreSQL --------------


def tiled(streets, entrances, focus, vertices, nights, radius, *, tile_m, chunk_days) -> CityCoverage:
    """Plan tiles on the anchors, give each tile its targets and each chunk the tracks that
    start in it (all of them: a tile's halo picks its pieces), merge."""
    first = streets.groupby("id", sort=False)["geometry"].first()
    start_xy = shapely.get_coordinates(shapely.get_point(first.to_numpy(), 0))
    anchors = pd.DataFrame({"id": first.index.to_numpy(), "x": start_xy[:, 0], "y": start_xy[:, 1]})
    focus_xy = shapely.get_coordinates(shapely.point_on_surface(focus["geometry"].to_numpy()))
    focus_anchors = pd.DataFrame({"id": focus["id"].to_numpy(), "x": focus_xy[:, 0], "y": focus_xy[:, 1]})
    chunks = time_chunks(DAY0, DAY0 + timedelta(days=6), chunk_days)
    track_start = vertices.groupby("track")["t"].transform("min").to_numpy()
    tiles = []
    for plan in plan_tiles(anchors, entrances, focus_anchors, tile_m):
        targets = targets_of(streets, entrances, focus, plan)
        parts = [chunk_part(targets, vertices[in_chunk(track_start, chunk)], nights, radius) for chunk in chunks]
        tiles.append(merge_chunks(targets, parts, nights))
    return merge_tiles(tiles)


def targets_of(streets, entrances, focus, plan) -> TileTargets:
    """As ``db/city_tiles.py`` reads them: a focus area's streets are those whose box meets its box."""
    own_focus = focus[focus["id"].isin(plan.focus_ids)].reset_index(drop=True)
    geoms = streets["geometry"].to_numpy()
    near = np.zeros(len(streets), dtype=bool)
    for area in own_focus["geometry"]:
        near |= shapely.intersects(shapely.envelope(geoms), shapely.envelope(area))
    return TileTargets.of(streets[streets["id"].isin(plan.street_ids)].reset_index(drop=True),
                          entrances[entrances["id"].isin(plan.entrance_ids)].reset_index(drop=True),
                          own_focus, streets[near].reset_index(drop=True))


def in_chunk(epoch_s: np.ndarray, chunk) -> np.ndarray:
    start = -np.inf if chunk.start is None else chunk.start.timestamp()
    end = np.inf if chunk.end is None else chunk.end.timestamp()
    return (epoch_s >= start) & (epoch_s < end)


def assert_same(tiled_answer: CityCoverage, whole: CityCoverage) -> None:
    """Identical tables: the same rows in the same order, every number equal (NaN to NaN),
    every geometry the same coordinates."""
    for name in ("streets", "gaps", "entrances", "focus_areas"):
        a, b = getattr(tiled_answer, name), getattr(whole, name)
        assert list(a.columns) == list(b.columns)
        plain = [c for c in a.columns if c != "geometry"]
        pd.testing.assert_frame_equal(a[plain], b[plain], check_exact=True, check_dtype=True)
        if "geometry" in a:
            assert shapely.to_wkb(a["geometry"].to_numpy()).tolist() == shapely.to_wkb(b["geometry"].to_numpy()).tolist()


# --- random cities ------------------------------------------------------------------------------


@st.composite
def cities(draw):
    """Streets (some in several parts under one id, as clipping makes them), entrances, focus
    areas (rectangles and lines), and tracks over six days with fixes 10 s to 3 h apart."""
    lines = draw(st.lists(st.lists(point, min_size=2, max_size=6), min_size=1, max_size=8))
    geoms = [g for g in (shapely.LineString(p) for p in lines) if g.length > 0.01] \
        or [shapely.LineString([(0, 0), (100, 0)])]
    # Whether each line is another part of the street before it.
    same = draw(st.lists(st.booleans(), min_size=len(geoms) - 1, max_size=len(geoms) - 1))
    ids = np.cumsum(np.r_[1, ~np.array(same, dtype=bool)]).astype(np.int64) * 10
    streets = pd.DataFrame({"id": ids, "geometry": np.array(geoms, dtype=object)})
    doors = draw(st.lists(point, min_size=0, max_size=12))
    entrances = pd.DataFrame({"id": np.arange(len(doors), dtype=np.int64) * 7 + 3,
                              "x": [float(x) for x, _ in doors], "y": [float(y) for _, y in doors]})
    rows = []
    for track in range(draw(st.integers(1, 5))):
        walk = draw(st.lists(point, min_size=2, max_size=12))
        start = draw(st.integers(0, 5 * 86_400))
        steps = draw(st.lists(st.integers(10, 10_800), min_size=len(walk), max_size=len(walk)))
        times = start + np.cumsum(steps) - steps[0]
        rows += [(track + 100, float(x), float(y), float(t) + DAY0.timestamp()) for (x, y), t in zip(walk, times)]
    vertices = pd.DataFrame(rows, columns=["track", "x", "y", "t"]).astype({"track": np.int64})
    areas = []
    for corners, path, polygonal in draw(st.lists(st.tuples(st.tuples(point, point), st.lists(point, min_size=2, max_size=4),
                                                            st.booleans()), max_size=3)):
        area = shapely.box(*np.min(corners, axis=0), *np.max(corners, axis=0)) if polygonal else shapely.LineString(path)
        if area.area > 1 or area.length > 0.01:
            areas.append(area)
    focus = pd.DataFrame({"id": np.arange(len(areas), dtype=np.int64) * 11 + 5, "kind": "other", "name": None,
                          "priority": 1.0, "geometry": np.array(areas, dtype=object)})
    return streets, entrances, focus, vertices


windows = st.sampled_from([ALL_DAY, DailyWindow.parse("22:00-06:00"), DailyWindow.parse("09:00-17:30")])


# Each example runs dozens of tile-chunk parts, each some milliseconds of pandas.
@given(cities(), windows, st.sampled_from(["UTC", "Asia/Shanghai"]), st.floats(1, 80), st.floats(60, 700),
       st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_the_tiled_coverage_is_the_whole_coverage(city, window, tz, radius, tile_m, chunk_days):
    streets, entrances, focus, vertices = city
    nights = Nights(window, date(2026, 9, 30), date(2026, 10, 5), tz)
    whole = whole_city(streets, entrances, focus, vertices, nights, radius)
    assert_same(tiled(streets, entrances, focus, vertices, nights, radius, tile_m=tile_m, chunk_days=chunk_days),
                whole)


# --- the rules, one by one ----------------------------------------------------------------------


@given(st.lists(point, min_size=1, max_size=50), st.floats(0.5, 5000))
def test_every_point_is_in_exactly_one_tile_and_that_tile_holds_it(points, size):
    x, y = (np.array(v, dtype=float) for v in zip(*points))
    grid = TileGrid.covering(x, y, size)
    tile = grid.tile_of(x, y)
    assert ((tile >= 0) & (tile < len(grid))).all()
    i, j = tile % grid.nx, tile // grid.nx
    # The grid reaches every point without clamping, so each lies in its tile's square.
    assert ((x - grid.x0) / size < grid.nx).all() and ((y - grid.y0) / size < grid.ny).all()
    assert (grid.x0 + i * size <= x + 1e-9).all() and (x < grid.x0 + (i + 1) * size + 1e-9).all()
    assert (grid.y0 + j * size <= y + 1e-9).all() and (y < grid.y0 + (j + 1) * size + 1e-9).all()


@given(st.lists(st.lists(point, max_size=30), min_size=3, max_size=3), st.floats(20, 2000))
def test_the_plan_gives_every_target_to_exactly_one_tile(anchors, size):
    frames = [pd.DataFrame({"id": np.arange(len(points), dtype=np.int64) + 1000 * kind,
                            "x": [p[0] for p in points], "y": [p[1] for p in points]})
              for kind, points in enumerate(anchors)]
    plans = plan_tiles(*frames, size)
    for name, frame in zip(("street_ids", "entrance_ids", "focus_ids"), frames):
        assert sorted(np.concatenate([getattr(p, name) for p in plans] or [[]]).tolist()) == frame["id"].tolist()
    assert len({p.tile for p in plans}) == len(plans)
    assert all(len(p.street_ids) + len(p.entrance_ids) + len(p.focus_ids) for p in plans)


def test_an_empty_plan_has_no_tiles():
    empty = pd.DataFrame({"id": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0)})
    assert plan_tiles(empty, empty, empty, 100.0) == []


@given(cities(), st.floats(1, 60))
@settings(max_examples=40, deadline=None)
def test_the_pieces_near_the_halo_find_what_all_the_pieces_find(city, radius):
    streets, entrances, _, vertices = city
    geoms = streets["geometry"].to_numpy()
    x, y = entrances["x"].to_numpy(), entrances["y"].to_numpy()
    xmin, ymin, xmax, ymax = shapely.bounds(geoms).T
    box = halo(np.r_[xmin, x], np.r_[ymin, y], np.r_[xmax, x], np.r_[ymax, y], radius)
    pieces = track_pieces(*(vertices[c].to_numpy() for c in ("track", "x", "y", "t")))
    near = pieces.take(pieces_near(pieces.pieces, box))
    for a, b in zip(covered_stretches(geoms, pieces, radius), covered_stretches(geoms, near, radius)):
        np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(point_passes(x, y, pieces, radius), point_passes(x, y, near, radius),
                                  check_exact=True)


def test_a_separator_keeps_apart_two_passes_that_leaving_out_pieces_would_join():
    # An entrance at the origin. The track passes it, leaves the halo for three pieces and
    # passes it again: two passes. Of the three pieces out of the halo the first is kept, so
    # the two runs near the entrance do not come out consecutive.
    entrances = pd.DataFrame({"id": [1], "x": [0.0], "y": [0.0]})
    streets = pd.DataFrame({"id": [5], "geometry": [shapely.LineString([(-10, -10), (-10, 10)])]})
    walk = [(-20, 0), (20, 0), (35, 0), (500, 0), (500, 300), (35, 5), (20, 5), (-20, 5)]
    vertices = pd.DataFrame({"track": 1, "x": [float(x) for x, _ in walk], "y": [float(y) for _, y in walk],
                             "t": DAY0.timestamp() + 60.0 * np.arange(len(walk))})
    pieces = track_pieces(*(vertices[c].to_numpy() for c in ("track", "x", "y", "t")))
    box = halo(np.array([-10.0, 0.0]), np.array([-10.0, 0.0]), np.array([-10.0, 0.0]), np.array([10.0, 0.0]), 30.0)
    assert pieces_near(pieces.pieces, box).tolist() == [True, True, True, False, False, True, True]
    nights = Nights(ALL_DAY, date(2026, 9, 30), date(2026, 10, 2), "UTC")
    whole = whole_city(streets, entrances, NO_FOCUS, vertices, nights, 30.0)
    assert whole.entrances.loc[0, "passes"] == 2
    assert_same(tiled(streets, entrances, NO_FOCUS, vertices, nights, 30.0, tile_m=50.0, chunk_days=1), whole)


def test_a_street_running_out_of_its_tile_is_covered_where_it_runs():
    # The street starts in the western tile and runs 900 m east; the only track walks its far
    # end, in another tile: the halo grows from the street, not from the tile's square.
    streets = pd.DataFrame({"id": [1, 2], "geometry": [shapely.LineString([(0, 0), (900, 0)]),
                                                       shapely.LineString([(850, 50), (850, 400)])]})
    entrances = pd.DataFrame({"id": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0)})
    vertices = pd.DataFrame({"track": 1, "x": [800.0, 900.0], "y": [0.0, 0.0],
                             "t": DAY0.timestamp() + np.array([0.0, 60.0])})
    nights = Nights(ALL_DAY, date(2026, 9, 30), date(2026, 10, 2), "UTC")
    whole = whole_city(streets, entrances, NO_FOCUS, vertices, nights, 10.0)
    assert whole.streets.loc[0, "covered_m"] == pytest.approx(110.0)
    answer = tiled(streets, entrances, NO_FOCUS, vertices, nights, 10.0, tile_m=500.0, chunk_days=1)
    assert_same(answer, whole)


@given(st.integers(1, 40), st.integers(1, 10), st.lists(st.integers(-20 * 86_400, 60 * 86_400), max_size=30))
def test_every_moment_is_in_exactly_one_time_chunk(span_days, days, offsets):
    chunks = time_chunks(DAY0, DAY0 + timedelta(days=span_days), days)
    assert chunks[0].start is None and chunks[-1].end is None
    assert all(a.end == b.start for a, b in pairwise(chunks))
    assert len(chunks) == max(1, -(-span_days // days))
    moments = np.array([DAY0.timestamp() + o for o in offsets] + [c.start.timestamp() for c in chunks[1:]])
    counts = sum(in_chunk(moments, c).astype(int) for c in chunks)
    assert (counts == 1).all()


def test_boxes_meet_when_they_touch():
    box = Box(0.0, 0.0, 10.0, 10.0)
    assert box.meets(np.array([10.0, 10.1]), np.array([0.0, 0.0]), np.array([20.0, 20.0]),
                     np.array([5.0, 5.0])).tolist() == [True, False]
    assert halo(np.array([0.0]), np.array([0.0]), np.array([5.0]), np.array([5.0]), 30.0) == \
        Box(-30 - HALO_SLACK_M, -30 - HALO_SLACK_M, 35 + HALO_SLACK_M, 35 + HALO_SLACK_M)
    assert halo(np.empty(0), np.empty(0), np.empty(0), np.empty(0), 30.0) is None


def test_a_focus_area_is_walked_along_streets_that_other_tiles_own():
    # A car park 200 m by 100 m, crossed by a street running east (anchored 400 m west, in
    # another tile) and one running north (anchored 400 m south): its lines are 200 + 100 m.
    # The track walks the east-running street across it; with a radius of 10 m it covers that
    # street's 200 m and 20 m of the other.
    streets = pd.DataFrame({"id": [1, 2], "geometry": [shapely.LineString([(0, 50), (1000, 50)]),
                                                       shapely.LineString([(500, -400), (500, 400)])]})
    focus = pd.DataFrame({"id": [7], "kind": ["car_park"], "name": ["P"], "priority": [2.0],
                          "geometry": [shapely.box(400, 0, 600, 100)]})
    entrances = pd.DataFrame({"id": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0)})
    vertices = pd.DataFrame({"track": 1, "x": [300.0, 700.0], "y": [50.0, 50.0],
                             "t": DAY0.timestamp() + np.array([0.0, 600.0])})
    nights = Nights(ALL_DAY, date(2026, 9, 30), date(2026, 10, 2), "UTC")
    whole = whole_city(streets, entrances, focus, vertices, nights, 10.0)
    car_park = whole.focus_areas.iloc[0]
    assert (car_park["length_m"], car_park["covered_m"], car_park["passes"]) == \
        (pytest.approx(300.0), pytest.approx(220.0), 1)
    assert_same(tiled(streets, entrances, focus, vertices, nights, 10.0, tile_m=300.0, chunk_days=1), whole)
