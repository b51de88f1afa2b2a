"""Beat plans: k contiguous, compact beats of about equal load, and officers' new beats; by hand
and by property. No database."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.beat_plan import divide, joined_blocks, plan_beats, ratio_floor, reassign_officers


def squares(nx: int, ny: int) -> gpd.GeoSeries:
    """100 m squares in rows from the south-west, in a metric CRS."""
    return gpd.GeoSeries([shapely.box(100 * i, 100 * j, 100 * (i + 1), 100 * (j + 1))
                          for j in range(ny) for i in range(nx)], crs="EPSG:32635")


def grid(nx: int, ny: int) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Rook neighbours, centroids and areas of an nx x ny grid of 100 m squares, row by row."""
    cell = np.arange(nx * ny).reshape(ny, nx)
    pairs = np.concatenate([np.column_stack([cell[:, :-1].ravel(), cell[:, 1:].ravel()]),
                            np.column_stack([cell[:-1].ravel(), cell[1:].ravel()])])
    adjacency = sparse.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])),
                                  shape=(nx * ny, nx * ny))
    x, y = np.meshgrid(np.arange(nx) * 100.0, np.arange(ny) * 100.0)
    return adjacency + adjacency.T, np.column_stack([x.ravel(), y.ravel()]), np.full(nx * ny, 1e4)


def pieces(adjacency: sparse.csr_matrix, labels: np.ndarray) -> dict:
    """How many connected pieces each beat is in."""
    return {beat: connected_components(adjacency[labels == beat][:, labels == beat],
                                       directed=False)[0] for beat in np.unique(labels)}


def ratio(labels: np.ndarray, loads: np.ndarray) -> float:
    beat_loads = np.bincount(labels, weights=loads)
    return beat_loads.max() / beat_loads.min() if beat_loads.min() > 0 else np.inf


def test_a_two_by_two_grid_of_equal_loads_is_two_beats_of_two_adjacent_cells():
    plan = plan_beats(squares(2, 2), np.ones(4), 2)
    assert sorted(np.bincount(plan.labels)) == [2, 2]
    assert set(pieces(grid(2, 2)[0], plan.labels).values()) == {1}
    assert plan.balance.loc["max_min_ratio", "after"] == 1.0
    assert plan.target_reached
    # Each beat is a 200 m x 100 m rectangle: 4 pi 0.02 km2 / (0.6 km)^2.
    np.testing.assert_allclose(plan.beats["polsby_popper"], 4 * np.pi * 2 / 36)
    np.testing.assert_allclose(plan.beats["area_km2"], 0.02)


def test_a_strip_of_four_equal_units_is_cut_in_halves():
    labels = plan_beats(squares(4, 1), np.ones(4), 2).labels
    assert labels[0] == labels[1] != labels[2] == labels[3]


def test_a_unit_heavier_than_the_mean_beat_makes_the_target_unreachable():
    plan = plan_beats(squares(4, 1), [5.0, 1.0, 1.0, 1.0], 2)
    assert not plan.target_reached
    assert "unreachable" in plan.note and "unit 0" in plan.note
    assert plan.ratio_floor == pytest.approx(5 / 3)
    assert plan.labels[0] != plan.labels[1] == plan.labels[2] == plan.labels[3]
    assert plan.balance.loc["max_min_ratio", "after"] == pytest.approx(5 / 3, abs=1e-3)


def test_as_many_beats_as_units_is_a_beat_per_unit():
    labels = plan_beats(squares(3, 3), np.arange(1.0, 10.0), 9).labels
    assert sorted(labels) == list(range(9))


def test_one_beat_is_the_whole_area():
    adjacency, centroids, areas = grid(3, 2)
    assert set(divide(adjacency, np.ones(6), centroids, areas, 1)) == {0}


def test_the_plan_compares_with_the_current_beats_and_moves_their_officers():
    current = np.array(["west", "east", "east", "east"])
    plan = plan_beats(squares(4, 1), np.ones(4), 2, current=current,
                      officers={"Virtanen": "west", "Korhonen": "east"})
    assert plan.balance.loc["max_min_ratio", "before"] == pytest.approx(3.0)
    assert plan.balance.loc["max_min_ratio", "after"] == 1.0
    assert list(plan.beats_before.index) == ["east", "west"]
    officers = plan.officers
    assert officers.loc["Virtanen", "new_beat"] == plan.labels[0]
    assert officers.loc["Virtanen", "kept"] == 1.0
    assert officers.loc["Korhonen", "new_beat"] == plan.labels[3]
    assert officers.loc["Korhonen", "kept"] == pytest.approx(2 / 3)


def test_a_current_beat_in_pieces_and_a_unit_in_no_beat_still_make_whole_beats():
    adjacency, centroids, areas = grid(4, 1)
    labels = divide(adjacency, np.ones(4), centroids, areas, 2, start=["a", "b", "a", None])
    assert set(pieces(adjacency, labels).values()) == {1}
    assert sorted(np.bincount(labels)) == [2, 2]


def test_current_beats_are_cut_or_joined_to_make_k():
    adjacency, centroids, areas = grid(6, 1)
    halves = divide(adjacency, np.ones(6), centroids, areas, 2, start=list("abcdef"))
    assert halves[0] == halves[1] == halves[2] != halves[3] == halves[4] == halves[5]
    thirds = divide(adjacency, np.ones(6), centroids, areas, 3, start=list("aaaaaa"))
    assert thirds[0] == thirds[1] != thirds[2] == thirds[3] != thirds[4] == thirds[5]


def test_a_plan_afresh_still_compares_with_the_current_beats():
    current = np.array(["west", "east", "east", "east"])
    plan = plan_beats(squares(4, 1), np.ones(4), 2, current=current, afresh=True,
                      officers={"Virtanen": "west"})
    assert plan.balance.loc["max_min_ratio", "before"] == pytest.approx(3.0)
    assert plan.balance.loc["max_min_ratio", "after"] == 1.0
    assert plan.officers.loc["Virtanen", "new_beat"] == plan.labels[0]


def test_the_same_seed_gives_the_same_plan():
    adjacency, centroids, areas = grid(9, 7)
    loads = np.random.default_rng(3).gamma(2.0, 1.0, 63)
    np.testing.assert_array_equal(divide(adjacency, loads, centroids, areas, 5, seed=4),
                                  divide(adjacency, loads, centroids, areas, 5, seed=4))


def test_bad_input_is_refused_with_the_reason():
    adjacency, centroids, areas = grid(2, 2)
    with pytest.raises(ValueError, match="at least 1"):
        divide(adjacency, np.ones(4), centroids, areas, 0)
    with pytest.raises(ValueError, match="5 beats from 4 units"):
        divide(adjacency, np.ones(4), centroids, areas, 5)
    with pytest.raises(ValueError, match=r"negative: units \[2\]"):
        divide(adjacency, np.array([1.0, 1.0, -1.0, 1.0]), centroids, areas, 2)
    with pytest.raises(ValueError, match="every load is zero"):
        divide(adjacency, np.zeros(4), centroids, areas, 2)
    with pytest.raises(ValueError, match=r"areas must be positive: units \[0\]"):
        divide(adjacency, np.ones(4), centroids, np.array([0.0, 1.0, 1.0, 1.0]), 2)
    with pytest.raises(ValueError, match="metric CRS"):
        plan_beats(squares(2, 1).set_crs("EPSG:4326", allow_override=True), np.ones(2), 1)
    apart = gpd.GeoSeries([shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(9, 9, 10, 10)],
                          crs="EPSG:32635")
    with pytest.raises(ValueError, match=r"units \[2\] \(1\) are not joined"):
        plan_beats(apart, np.ones(3), 2)
    with pytest.raises(ValueError, match="give current"):
        plan_beats(squares(2, 1), np.ones(2), 1, officers={"Virtanen": 0})
    with pytest.raises(ValueError, match="no unit's current beat"):
        reassign_officers({"Virtanen": "north"}, ["south", "south"], np.array([0, 0]))


def test_the_ratio_floor_is_the_heaviest_unit_against_the_rest():
    assert ratio_floor(np.array([6.0, 1.0, 1.0, 1.0]), 2) == pytest.approx(2.0)
    assert ratio_floor(np.ones(8), 4) == 1.0
    assert ratio_floor(np.array([1.0, 0.0]), 2) == np.inf
    assert ratio_floor(np.array([3.0, 1.0]), 1) == 1.0


def test_more_officers_than_beats_are_shared_out_evenly():
    current = np.array(["a", "a", "b", "b", "c", "c"])
    labels = np.array([0, 0, 0, 1, 1, 1])
    officers = {"one": "a", "two": "a", "three": "b", "four": "c", "five": "c"}
    table = reassign_officers(officers, current, labels)
    assert sorted(np.bincount(table["new_beat"])) == [2, 3]
    assert set(table.loc[["four", "five"], "new_beat"]) == {1}


sizes = st.tuples(st.integers(2, 8), st.integers(1, 8)).filter(lambda s: s[0] * s[1] >= 2)


@st.composite
def grids(draw, sizes=sizes, low=0.0, high=10.0):
    nx, ny = draw(sizes)
    loads = np.array(draw(st.lists(st.floats(low, high, allow_subnormal=False), min_size=nx * ny, max_size=nx * ny)))
    if loads.sum() == 0:
        loads[0] = 1.0
    k = draw(st.integers(1, nx * ny))
    return nx, ny, loads, k


@given(grids(), st.booleans(), st.integers(0, 2**16))
@settings(max_examples=150, deadline=None)
def test_every_unit_is_in_one_of_exactly_k_beats_each_of_one_piece(case, from_scattered, seed):
    nx, ny, loads, k = case
    adjacency, centroids, areas = grid(nx, ny)
    # A start of scattered labels is in pieces: the plan must make its beats whole.
    start = np.random.default_rng(seed).integers(0, k, nx * ny) if from_scattered else None
    labels = divide(adjacency, loads, centroids, areas, k, start=start, seed=seed)
    assert labels.shape == (nx * ny,)
    assert set(labels) == set(range(k))
    assert set(pieces(adjacency, labels).values()) == {1}


@given(grids(low=0.1), st.integers(0, 2**16))
@settings(max_examples=150, deadline=None)
def test_the_plan_is_no_worse_balanced_than_the_current_beats(case, seed):
    nx, ny, loads, k = case
    adjacency, centroids, areas = grid(nx, ny)
    # Current beats in one piece each: the units nearest (in steps) to each of k seed units.
    seeds = np.random.default_rng(seed).choice(nx * ny, k, replace=False)
    _, _, nearest = dijkstra(adjacency, indices=seeds, min_only=True, return_predecessors=True)
    current = np.searchsorted(np.sort(seeds), nearest)
    labels = divide(adjacency, loads, centroids, areas, k, start=current, seed=seed)
    assert ratio(labels, loads) <= ratio(current, loads) * (1 + 1e-9)
    assert set(pieces(adjacency, labels).values()) == {1}


@given(st.integers(10, 20), st.integers(10, 20), st.integers(2, 8), st.integers(0, 2**16))
@settings(max_examples=40, deadline=None)
def test_many_small_equal_ish_units_reach_the_target(nx, ny, k, seed):
    adjacency, centroids, areas = grid(nx, ny)
    loads = np.random.default_rng(seed).uniform(1.0, 1.5, nx * ny)
    labels = divide(adjacency, loads, centroids, areas, k, seed=seed)
    assert ratio(labels, loads) < 1.2


@given(st.lists(st.integers(0, 4), min_size=2, max_size=30), st.integers(0, 2**16))
@settings(max_examples=150, deadline=None)
def test_an_officer_whose_old_beat_is_a_new_beat_gets_it(current, seed):
    # New beats: each old beat either stays as it was or is dealt out at random.
    current = np.array(current)
    rng = np.random.default_rng(seed)
    kept = {beat for beat in np.unique(current) if rng.random() < 0.5}
    labels = np.where(np.isin(current, list(kept)), current, 5 + rng.integers(0, 3, len(current)))
    labels = np.unique(labels, return_inverse=True)[1]
    officers = {f"officer {beat}": beat for beat in np.unique(current)}
    table = reassign_officers(officers, current, labels, weights=rng.uniform(0.1, 1, len(current)))
    for beat in kept:
        row = table.loc[f"officer {beat}"]
        assert row["new_beat"] == labels[current == beat][0]
        assert row["kept"] == pytest.approx(1.0)


def test_a_block_meeting_the_rest_only_at_a_corner_is_joined_to_its_nearest():
    blocks = gpd.GeoSeries([shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100),
                            shapely.box(200, 100, 300, 200), shapely.box(500, 500, 600, 600)], crs="EPSG:32635")
    adjacency = joined_blocks(blocks).toarray()
    assert adjacency[0, 1] and adjacency[1, 0]  # an edge shared
    assert adjacency[2, 1] and adjacency[1, 2]  # a corner only: joined to the block it touches
    assert adjacency[3].sum() == 1 and adjacency[3, 1]  # apart: joined to the nearest of the main piece
    assert (adjacency == adjacency.T).all()
