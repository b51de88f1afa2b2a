"""Siting cameras and gates: by hand, against brute force over every k-subset, and by property."""

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.cameras import in_view, seen_by_any
from geo.siting import (
    camera_coverage,
    choose_sites,
    coverage_from_pairs,
    gate_coverage,
    greedy_sites,
    points_along,
)

ALL_ROUND = {"direction_deg": np.nan, "fov_deg": 360.0}


def entrances(*rows, already_covered=None):
    """Demand from (x, y, weight) rows."""
    frame = pd.DataFrame(rows, columns=["x", "y", "weight"])
    return frame.assign(already_covered=False if already_covered is None else already_covered)


def sites(*rows, **facing):
    """Candidate sites from (x, y) rows, or (x, y, direction_deg, fov_deg) rows."""
    if len(rows[0]) == 4:
        return pd.DataFrame(rows, columns=["x", "y", "direction_deg", "fov_deg"])
    return pd.DataFrame(rows, columns=["x", "y"]).assign(**facing)


def both(coverage, k):
    return choose_sites(coverage, k), greedy_sites(coverage, k)


def test_two_cameras_that_see_the_same_entrances_are_not_both_chosen():
    demand = entrances((0, 0, 5), (10, 0, 5), (200, 0, 1))
    coverage = camera_coverage(demand, sites((5, 0), (5, 2), (200, 5), **ALL_ROUND), range_m=20)
    for siting in both(coverage, 2):
        assert siting.sites.tolist() == [0, 2]
        assert siting.gains.tolist() == [10, 1]
    # A third site would add nothing, so it is not listed.
    assert choose_sites(coverage, 3).sites.tolist() == [0, 2]


def test_an_existing_camera_makes_a_candidate_worthless():
    demand = entrances((0, 0, 10), (300, 0, 1))
    # A camera south of the first entrance, looking north at it.
    seen = seen_by_any(demand["x"], demand["y"], np.array([0.0]), np.array([-5.0]), np.array([0.0]),
                       np.array([90.0]), np.array([30.0]))
    assert seen.tolist() == [True, False]
    coverage = camera_coverage(demand.assign(already_covered=seen), sites((0, 5), (300, 5)),
                               range_m=20)
    siting = choose_sites(coverage, 1)
    assert siting.sites.tolist() == [1]
    assert siting.gains.tolist() == [1]
    assert siting.already_share == pytest.approx(10 / 11)
    assert siting.covered_share == pytest.approx(1.0)


def test_a_camera_sees_only_its_sector():
    demand = entrances((-20, 0, 5), (20, 0, 1))
    east, west = (0, 0, 90.0, 90.0), (0, 0, 270.0, 60.0)
    coverage = camera_coverage(demand, sites(east, west), range_m=50)
    assert choose_sites(coverage, 1).sites.tolist() == [1]
    assert coverage.newly_covered([0]).tolist() == [False, True]
    facing_away = camera_coverage(demand.iloc[:1], sites(east), range_m=50)
    siting = choose_sites(facing_away, 1)
    assert siting.sites.tolist() == [] and siting.newly_covered == 0 and siting.status == "optimal"


def test_gates_go_to_the_heaviest_buildings_not_yet_gated():
    buildings = pd.DataFrame({"weight": [3.0, 9.0, 1.0, 7.0],
                              "access_control": [False, False, False, True]})
    for siting in both(gate_coverage(buildings), 2):
        assert siting.sites.tolist() == [1, 0]
        assert siting.gains.tolist() == [9, 3]
        assert siting.already_covered == 7 and siting.total_weight == 20
        assert siting.covered_share == pytest.approx(19 / 20)


def test_k_beyond_the_candidates_takes_every_site_that_adds_something():
    demand = entrances((0, 0, 1), (100, 0, 4), (200, 0, 2), (900, 0, 8))
    coverage = camera_coverage(demand, sites((0, 0), (100, 0), (200, 0)), range_m=10)
    for siting in both(coverage, 10):
        assert siting.sites.tolist() == [1, 2, 0]
        assert siting.gains.tolist() == [4, 2, 1]
        assert siting.newly_share == pytest.approx(7 / 15)
        assert siting.gap == 0


def test_bad_input_is_refused():
    demand = entrances((0, 0, 1))
    candidates = sites((0, 0))
    with pytest.raises(ValueError, match="k must be at least 1"):
        choose_sites(camera_coverage(demand, candidates, range_m=10), 0)
    with pytest.raises(ValueError, match="not negative"):
        camera_coverage(entrances((0, 0, -1)), candidates, range_m=10)
    with pytest.raises(ValueError, match="range_m must be positive"):
        camera_coverage(demand, candidates, range_m=0)
    with pytest.raises(ValueError, match="range_m must be positive"):
        camera_coverage(demand, sites((0, 0), (1, 1)), range_m=[10, -1])
    with pytest.raises(ValueError, match="does not exist"):
        coverage_from_pairs([1], [0], [1.0], [False], n_candidates=1)


@st.composite
def instances(draw):
    """A random who-covers-whom matrix (sites x points), weights, existing cover and k."""
    n_sites, n_points = draw(st.integers(1, 6)), draw(st.integers(1, 10))
    reach = np.array(draw(st.lists(st.booleans(), min_size=n_sites * n_points,
                                   max_size=n_sites * n_points))).reshape(n_sites, n_points)
    weight = np.array(draw(st.lists(st.integers(0, 20), min_size=n_points, max_size=n_points)),
                      dtype=float)
    already = np.array(draw(st.lists(st.booleans(), min_size=n_points, max_size=n_points)))
    return reach, weight, already


def from_matrix(reach, weight, already):
    site, point = np.nonzero(reach)
    return coverage_from_pairs(site, point, weight, already, n_candidates=reach.shape[0])


def best_by_brute_force(reach, weight, already, k):
    open_weight = np.where(already, 0.0, weight)
    return max(open_weight[reach[list(chosen)].any(axis=0)].sum()
               for chosen in combinations(range(reach.shape[0]), min(k, reach.shape[0])))


@given(instances(), st.integers(1, 7))
@settings(max_examples=200, deadline=None)
def test_exact_is_the_best_of_every_k_subset_and_greedy_no_better(instance, k):
    reach, weight, already = instance
    coverage = from_matrix(reach, weight, already)
    best = best_by_brute_force(reach, weight, already, k)
    exact, greedy = choose_sites(coverage, k, mip_rel_gap=0), greedy_sites(coverage, k)
    assert exact.newly_covered == pytest.approx(best)
    assert greedy.newly_covered <= exact.newly_covered + 1e-9
    for siting in (exact, greedy):
        assert len(siting.sites) <= k and len(set(siting.sites.tolist())) == len(siting.sites)
        assert siting.bound >= best - 1e-9
        assert (siting.gains > 0).all() and (np.diff(siting.gains) <= 1e-9).all()
        newly = coverage.newly_covered(siting.sites)
        assert siting.newly_covered == pytest.approx(weight[newly].sum())
        assert siting.already_covered == weight[already].sum()
        assert siting.total_weight == weight.sum()


@given(instances())
@settings(max_examples=100, deadline=None)
def test_coverage_never_falls_as_k_grows(instance):
    coverage = from_matrix(*instance)
    ks = range(1, coverage.n_candidates + 2)
    for pick in (choose_sites, greedy_sites):
        covered = [pick(coverage, k).newly_covered for k in ks]
        assert (np.diff(covered) >= -1e-9).all()


coordinates = st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=1, max_size=12)


@given(coordinates, st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50),
                                       st.one_of(st.just(np.nan), st.floats(0, 360)),
                                       st.floats(10, 360), st.floats(1, 40)),
                             min_size=1, max_size=6))
@settings(max_examples=100, deadline=None)
def test_the_spatial_index_finds_every_pair_in_view(points, cameras):
    px, py = np.array(points).T
    cx, cy, direction, fov, range_m = np.array(cameras, dtype=float).T
    demand = pd.DataFrame({"x": px, "y": py, "weight": 1.0, "already_covered": False})
    candidates = pd.DataFrame({"x": cx, "y": cy, "direction_deg": direction, "fov_deg": fov})
    coverage = camera_coverage(demand, candidates, range_m=range_m)
    for i in range(len(px)):
        expected = np.flatnonzero(in_view(px[i], py[i], cx, cy, direction, fov, range_m))
        group = coverage.group[i]
        found = coverage.sites[[group]].indices if group >= 0 else []
        assert sorted(found) == expected.tolist()


def test_street_candidates_are_spaced_along_each_street_and_shared_where_streets_meet():
    x, y = points_along([shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (100, 30)])], 25)
    assert sorted(zip(x.tolist(), y.tolist())) == [(0, 0), (25, 0), (50, 0), (75, 0), (100, 0), (100, 15), (100, 30)]
    with pytest.raises(ValueError, match="spacing_m"):
        points_along([shapely.LineString([(0, 0), (1, 0)])], 0)
