"""Gi* hot and cold spots: the textbook formula by hand, islands, empty input, and the weights builders."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.stats import false_discovery_control, norm

from geo.hotspots import adjust_fdr, contiguity_weights, distance_weights, gi_star


def squares(n: int, size: float = 100.0) -> list[shapely.Polygon]:
    """An n x n grid of squares, unit k = row * n + column."""
    return [shapely.box(c * size, r * size, (c + 1) * size, (r + 1) * size)
            for r in range(n) for c in range(n)]


def hexagons(cols: int, rows: int, r: float = 100.0) -> list[shapely.Polygon]:
    """Flat-topped hexagons, each computed on its own with cos and sin, far from the origin."""
    corners = np.arange(6) * np.pi / 3
    cells = []
    for c in range(cols):
        for k in range(rows):
            cx = 385_000.3 + 1.5 * r * c
            cy = 6_672_000.7 + np.sqrt(3) * r * (k + 0.5 * (c % 2))
            ring = np.column_stack([cx + r * np.cos(corners), cy + r * np.sin(corners)])
            cells.append(shapely.Polygon(ring))
    return cells


def textbook_gi_star(values: np.ndarray, neighbours: np.ndarray) -> np.ndarray:
    """Ord and Getis (1995), binary weights including the unit itself:
    (sum_j w_ij x_j - mean W_i) / (S sqrt((n W_i - W_i^2) / (n - 1)))."""
    n = len(values)
    w = neighbours + np.eye(n)
    wi = w.sum(axis=1)
    mean, s = values.mean(), np.sqrt((values ** 2).mean() - values.mean() ** 2)
    return (w @ values - mean * wi) / (s * np.sqrt((n * wi - wi ** 2) / (n - 1)))


# --- by hand ---------------------------------------------------------------------------------


def test_z_is_ord_and_getis_gi_star_with_binary_weights_and_p_is_two_sided():
    rng = np.random.default_rng(3)
    values = rng.poisson(2.0, 36).astype(float)
    weights = contiguity_weights(squares(6), rook=True)
    result = gi_star(values, weights, fdr=False)
    expected_z = textbook_gi_star(values, weights.sparse.toarray())
    np.testing.assert_allclose(result["z"], expected_z)
    np.testing.assert_allclose(result["p"], 2 * norm.sf(np.abs(expected_z)))
    np.testing.assert_array_equal(result["p_adjusted"], result["p"])


def test_a_planted_cluster_is_hot_and_a_hole_in_a_busy_area_is_cold():
    hot = np.zeros(49)
    hot[[0, 1, 7, 8]] = 9.0  # a corner of the 7 x 7 grid
    labels = gi_star(hot, contiguity_weights(squares(7)))["label"]
    assert labels[0] == "hot" and labels[8] == "hot"
    assert set(labels[[24, 48]]) == {"not significant"}

    busy = np.full(49, 10.0)
    busy[[16, 17, 18, 23, 24, 25, 30, 31, 32]] = 0.0  # the middle 3 x 3
    assert gi_star(busy, contiguity_weights(squares(7)))["label"][24] == "cold"


def test_the_fdr_correction_is_benjamini_hochberg_over_the_tested_units():
    values = np.random.default_rng(5).poisson(3.0, 25).astype(float)
    result = gi_star(values, contiguity_weights(squares(5)))
    np.testing.assert_allclose(result["p_adjusted"], false_discovery_control(result["p"], method="bh"))
    assert (result["p_adjusted"] >= result["p"]).all()


def test_adjust_fdr_leaves_untested_units_out_of_the_count():
    p = np.array([0.01, np.nan, 0.04, np.nan])
    # Two tests, not four: 0.01 x 2 / 1 and 0.04 x 2 / 2.
    np.testing.assert_allclose(adjust_fdr(p), [0.02, np.nan, 0.04, np.nan])
    assert adjust_fdr(np.array([])).shape == (0,)


# --- islands and degenerate input ------------------------------------------------------------


def test_an_island_is_not_tested_and_does_not_count_among_the_tests():
    units = gpd.GeoSeries(squares(4) + [shapely.box(5_000, 5_000, 5_100, 5_100)])
    values = np.r_[np.arange(16.0), 50.0]
    result = gi_star(values, contiguity_weights(units))
    island = result.iloc[16]
    assert np.isnan(island["z"]) and np.isnan(island["p"]) and island["label"] == "not significant"
    mainland = result.iloc[:16]
    np.testing.assert_allclose(mainland["p_adjusted"], false_discovery_control(mainland["p"], method="bh"))


def test_a_unit_whose_neighbourhood_is_everything_is_not_tested():
    # The middle of a 3 x 3 grid touches all eight others: its Gi* has no variance.
    result = gi_star(np.arange(9.0), contiguity_weights(squares(3)))
    assert np.isnan(result["z"][4]) and result["label"][4] == "not significant"
    assert np.isfinite(result["z"].drop(4)).all()


@pytest.mark.parametrize("values", [np.zeros(16), np.full(16, 3.0)])
def test_values_that_do_not_vary_give_a_frame_of_not_significant(values):
    result = gi_star(values, contiguity_weights(squares(4)))
    assert list(result.columns) == ["z", "p", "p_adjusted", "label"]
    assert (result["label"] == "not significant").all() and result["z"].isna().all()


def test_no_units_give_an_empty_frame():
    result = gi_star(np.array([]), contiguity_weights([]))
    assert result.empty and list(result.columns) == ["z", "p", "p_adjusted", "label"]


def test_negative_values_and_misaligned_values_are_refused():
    weights = contiguity_weights(squares(2))
    with pytest.raises(ValueError, match="non-negative"):
        gi_star(np.array([1.0, -1.0, 0.0, 2.0]), weights)
    with pytest.raises(ValueError, match="3 values for 4 units"):
        gi_star(np.ones(3), weights)


def test_a_series_is_aligned_by_the_ids_of_the_weights():
    units = gpd.GeoSeries(squares(4), index=[f"hex-{k}" for k in range(16)])
    values = pd.Series(np.random.default_rng(8).poisson(4.0, 16).astype(float), index=units.index)
    weights = contiguity_weights(units)
    in_order = gi_star(values.to_numpy(), weights)
    shuffled = gi_star(values.sample(frac=1.0, random_state=1), weights)
    pd.testing.assert_frame_equal(in_order, shuffled)
    assert list(in_order.index) == list(units.index)


def test_permutation_p_values_are_two_sided_and_still_find_the_cluster():
    hot = np.zeros(49)
    hot[[0, 1, 7, 8]] = 9.0
    result = gi_star(hot, contiguity_weights(squares(7)), permutations=999, seed=1)
    assert result["label"][0] == "hot"
    assert ((result["p"] >= 2 / 1000) & (result["p"] <= 1)).all()
    # A unit far from the cluster has only zeros around it; shuffles give zeros again and again,
    # a tie that must not read as extreme.
    assert result["p"][48] > 0.5
    again = gi_star(hot, contiguity_weights(squares(7)), permutations=999, seed=1)
    pd.testing.assert_frame_equal(result, again)


def test_with_permutations_hot_and_cold_follow_the_neighbours_not_the_unit_itself():
    # A high unit ringed by empty ones: its own value lifts z above 0, but the neighbours are low.
    values = np.full(49, 5.0)
    values[24] = 50.0
    values[[16, 17, 18, 23, 25, 30, 31, 32]] = 0.0
    weights = contiguity_weights(squares(7))
    assert gi_star(values, weights, fdr=False)["z"][24] > 0
    assert gi_star(values, weights, fdr=False, permutations=999, seed=0)["label"][24] == "cold"


def test_permutation_p_values_of_a_field_without_pattern_are_about_uniform():
    values = np.random.default_rng(11).poisson(5.0, 400).astype(float)
    p = gi_star(values, contiguity_weights(squares(20)), permutations=199, seed=2)["p"]
    assert 0.01 <= (p < 0.05).mean() <= 0.10
    assert 0.4 <= p.mean() <= 0.6


# --- weights ---------------------------------------------------------------------------------


def test_hexagons_computed_one_by_one_still_find_their_six_neighbours():
    weights = contiguity_weights(hexagons(6, 6))
    counts = np.bincount(weights.cardinalities.to_numpy(), minlength=7)
    assert counts[6] == 16  # the 4 x 4 interior


def test_queen_squares_touch_at_corners_and_rook_squares_do_not():
    assert contiguity_weights(squares(3)).cardinalities[4] == 8
    assert contiguity_weights(squares(3), rook=True).cardinalities[4] == 4


def test_street_segments_are_neighbours_where_they_meet_not_where_they_cross():
    streets = gpd.GeoSeries({
        "main-west": shapely.LineString([(0, 0), (100, 0)]),
        "main-east": shapely.LineString([(100, 0), (200, 0)]),  # shares an end with main-west
        "side": shapely.LineString([(50, -80), (50, 0)]),  # a T-junction into main-west's middle
        "bridge": shapely.LineString([(150, -80), (150, 80)]),  # crosses main-east, no junction
        "lane": shapely.LineString([(900, 900), (950, 950)]),
    })
    neighbours = contiguity_weights(streets).neighbors
    assert set(neighbours["main-west"]) == {"main-east", "side"}
    assert set(neighbours["main-east"]) == {"main-west"}
    assert len(neighbours["bridge"]) == 0 and len(neighbours["lane"]) == 0


def test_distance_band_includes_the_threshold_and_leaves_far_units_alone():
    units = [shapely.Point(0, 0).buffer(5), shapely.Point(100, 0).buffer(5), shapely.Point(250, 0).buffer(5)]
    weights = distance_weights(units, threshold_m=100.0)
    assert list(weights.cardinalities) == [1, 1, 0]


def test_units_in_degrees_are_refused():
    with pytest.raises(ValueError, match="metric CRS"):
        contiguity_weights(gpd.GeoSeries(squares(2, size=0.001), crs="EPSG:4326"))


def test_mixed_geometry_cannot_be_contiguous():
    with pytest.raises(ValueError, match="all polygons or all lines"):
        contiguity_weights([shapely.box(0, 0, 1, 1), shapely.LineString([(1, 1), (2, 2)])])
