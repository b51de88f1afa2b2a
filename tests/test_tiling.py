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

# Centimetres, as GPS and maps give them.
coordinate = st.integers(0, 60_000).map(lambda cm: cm / 100)
point = st.tuples(coordinate, coordinate)


# --- the tiled run, in memory: what beatbook/city_coverage.py does with PostgreSQL --------------


def tiled(streets, entrances, vertices, nights, radius, *, tile_m, chunk_days) -> CityCoverage:
    """Plan tiles on the anchors, give each tile its targets and each chunk the tracks that
    start in it (all of them: a tile's halo picks its pieces), merge."""
    first = streets.groupby("id", sort=False)["geometry"].first()
    start_xy = shapely.get_coordinates(shapely.get_point(first.to_numpy(), 0))
    anchors = pd.DataFrame({"id": first.index.to_numpy(), "x": start_xy[:, 0], "y": start_xy[:, 1]})
    chunks = time_chunks(DAY0, DAY0 + timedelta(days=6), chunk_days)
    track_start = vertices.groupby("track")["t"].transform("min").to_numpy()
    tiles = []
    for plan in plan_tiles(anchors, entrances, tile_m):
        targets = targets_of(streets, entrances, plan)
        parts = [chunk_part(targets, vertices[in_chunk(track_start, chunk)], nights, radius) for chunk in chunks]
        tiles.append(merge_chunks(targets, parts, nights))
    return merge_tiles(tiles)


def targets_of(streets, entrances, plan) -> TileTargets:
    return TileTargets(streets[streets["id"].isin(plan.street_ids)].reset_index(drop=True),
                       entrances[entrances["id"].isin(plan.entrance_ids)].reset_index(drop=True))


def in_chunk(epoch_s: np.ndarray, chunk) -> np.ndarray:
    start = -np.inf if chunk.start is None else chunk.start.timestamp()
    end = np.inf if chunk.end is None else chunk.end.timestamp()
    return (epoch_s >= start) & (epoch_s < end)


def assert_same(tiled_answer: CityCoverage, whole: CityCoverage) -> None:
    """Identical tables: the same rows in the same order, every number equal (NaN to NaN),
    every geometry the same coordinates."""
    for name in ("streets", "gaps", "entrances"):
        a, b = getattr(tiled_answer, name), getattr(whole, name)
        assert list(a.columns) == list(b.columns)
        plain = [c for c in a.columns if c != "geometry"]
        pd.testing.assert_frame_equal(a[plain], b[plain], check_exact=True, check_dtype=True)
        if "geometry" in a:
            assert shapely.to_wkb(a["geometry"].to_numpy()).tolist() == shapely.to_wkb(b["geometry"].to_numpy()).tolist()


# --- random cities ------------------------------------------------------------------------------


@st.composite
def cities(draw):
    """Streets (some in several parts under one id, as clipping makes them), entrances, and
    tracks over six days with fixes 10 s to 3 h apart."""
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
    return streets, entrances, vertices


windows = st.sampled_from([ALL_DAY, DailyWindow.parse("22:00-06:00"), DailyWindow.parse("09:00-17:30")])


# Each example runs dozens of tile-chunk parts, each some milliseconds of pandas.
@given(cities(), windows, st.sampled_from(["UTC", "Asia/Shanghai"]), st.floats(1, 80), st.floats(60, 700),
       st.integers(1, 4))
@settings(max_examples=40, deadline=None)
def test_the_tiled_coverage_is_the_whole_coverage(city, window, tz, radius, tile_m, chunk_days):
    streets, entrances, vertices = city
    nights = Nights(window, date(2026, 9, 30), date(2026, 10, 5), tz)
    whole = whole_city(streets, entrances, vertices, nights, radius)
    assert_same(tiled(streets, entrances, vertices, nights, radius, tile_m=tile_m, chunk_days=chunk_days), whole)


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


@given(st.lists(point, min_size=0, max_size=30), st.lists(point, min_size=0, max_size=30), st.floats(20, 2000))
def test_the_plan_gives_every_target_to_exactly_one_tile(street_starts, doors, size):
    streets = pd.DataFrame({"id": np.arange(len(street_starts), dtype=np.int64),
                            "x": [p[0] for p in street_starts], "y": [p[1] for p in street_starts]})
    entrances = pd.DataFrame({"id": np.arange(len(doors), dtype=np.int64) + 1000,
                              "x": [p[0] for p in doors], "y": [p[1] for p in doors]})
    plans = plan_tiles(streets, entrances, size)
    for ids, frame in ((np.concatenate([p.street_ids for p in plans] or [[]]), streets),
                       (np.concatenate([p.entrance_ids for p in plans] or [[]]), entrances)):
        assert sorted(ids.tolist()) == frame["id"].tolist()
    assert len({p.tile for p in plans}) == len(plans)
    assert all(len(p.street_ids) + len(p.entrance_ids) for p in plans)


def test_an_empty_plan_has_no_tiles():
    empty = pd.DataFrame({"id": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0)})
    assert plan_tiles(empty, empty, 100.0) == []


@given(cities(), st.floats(1, 60))
@settings(max_examples=40, deadline=None)
def test_the_pieces_near_the_halo_find_what_all_the_pieces_find(city, radius):
    streets, entrances, vertices = city
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
    whole = whole_city(streets, entrances, vertices, nights, 30.0)
    assert whole.entrances.loc[0, "passes"] == 2
    assert_same(tiled(streets, entrances, vertices, nights, 30.0, tile_m=50.0, chunk_days=1), whole)


def test_a_street_running_out_of_its_tile_is_covered_where_it_runs():
    # The street starts in the western tile and runs 900 m east; the only track walks its far
    # end, in another tile: the halo grows from the street, not from the tile's square.
    streets = pd.DataFrame({"id": [1, 2], "geometry": [shapely.LineString([(0, 0), (900, 0)]),
                                                       shapely.LineString([(850, 50), (850, 400)])]})
    entrances = pd.DataFrame({"id": np.empty(0, np.int64), "x": np.empty(0), "y": np.empty(0)})
    vertices = pd.DataFrame({"track": 1, "x": [800.0, 900.0], "y": [0.0, 0.0],
                             "t": DAY0.timestamp() + np.array([0.0, 60.0])})
    nights = Nights(ALL_DAY, date(2026, 9, 30), date(2026, 10, 2), "UTC")
    whole = whole_city(streets, entrances, vertices, nights, 10.0)
    assert whole.streets.loc[0, "covered_m"] == pytest.approx(110.0)
    answer = tiled(streets, entrances, vertices, nights, 10.0, tile_m=500.0, chunk_days=1)
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
