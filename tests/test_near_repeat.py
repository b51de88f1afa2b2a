"""The Knox test over space-time bands: a brute-force count, pointpats' Knox, planted and random patterns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pointpats.spacetime import Knox

from geo.near_repeat import SPACE_BANDS_M, TIME_BANDS_DAYS, knox, reading


def brute_force(x, y, t, space_bands, time_bands):
    """Every pair, twice over i and j, into the half-open bands [from, to)."""
    counts = np.zeros((len(space_bands), len(time_bands)), dtype=int)
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            d, dt = np.hypot(x[i] - x[j], y[i] - y[j]), abs(t[i] - t[j])
            for s, (s0, s1) in enumerate(space_bands):
                for k, (t0, t1) in enumerate(time_bands):
                    counts[s, k] += (s0 <= d < s1) and (t0 <= dt < t1)
    return counts.ravel()


def random_events(seed, n=300, side_m=5_000.0, days=365.0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, side_m, n), rng.uniform(0, side_m, n), rng.uniform(0, days, n)


def planted_near_repeats(seed=4, n=150):
    """Random burglaries, each followed by a copy 50 m away two days later."""
    x, y, t = random_events(seed, n=n)
    angle = np.random.default_rng(seed + 1).uniform(0, 2 * np.pi, n)
    return np.r_[x, x + 50 * np.cos(angle)], np.r_[y, y + 50 * np.sin(angle)], np.r_[t, t + 2.0]


def first_cell(table):
    return table[(table["space_from_m"] == 0) & (table["time_from_days"] == 0)].iloc[0]


# --- counts ----------------------------------------------------------------------------------


def test_observed_counts_match_a_double_loop_with_events_on_the_band_edges():
    # On a 10 m grid and whole days many pairs sit exactly on 100 m or 7 days: the edges are tested.
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 60, 200) * 10.0, rng.integers(0, 60, 200) * 10.0
    t = rng.integers(0, 60, 200).astype(float)
    table = knox(x, y, t, permutations=1)
    np.testing.assert_array_equal(table["observed"], brute_force(x, y, t, SPACE_BANDS_M, TIME_BANDS_DAYS))


def test_a_pair_exactly_on_the_edges_falls_in_the_upper_bands():
    table = knox([0.0, 100.0], [0.0, 0.0], [0.0, 7.0], permutations=1)
    hit = table[table["observed"] == 1]
    assert list(hit[["space_band", "time_band"]].iloc[0]) == ["100-200 m", "7-14 days"]
    assert table["observed"].sum() == 1


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 40)), max_size=25))
def test_observed_counts_match_the_double_loop_for_any_small_set(events):
    x, y, t = (np.array([e[k] * (20.0 if k < 2 else 1.0) for e in events]) for k in range(3))
    table = knox(x, y, t, permutations=3)
    np.testing.assert_array_equal(table["observed"], brute_force(x, y, t, SPACE_BANDS_M, TIME_BANDS_DAYS))
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()


def test_one_band_agrees_with_pointpats_knox():
    # pointpats counts pairs with d <= delta and dt <= tau; with continuous coordinates and times
    # no pair sits on an edge, so its count is our [0, delta) x [0, tau) cell.
    x, y, t = random_events(7, n=400, side_m=2_000.0, days=120.0)
    table = knox(x, y, t, space_bands_m=((0, 150),), time_bands_days=((0, 10),), permutations=999, seed=3)
    theirs = Knox(np.column_stack([x, y]), t.reshape(-1, 1), delta=150, tau=10, permutations=0)
    assert table["observed"].iloc[0] == theirs.nst
    # Shuffling the times, the expected count is exactly NS x NT / pairs, pointpats' expected.
    assert table["expected"].iloc[0] == pytest.approx(theirs.expected[0, 0], rel=0.03)


# --- inference -------------------------------------------------------------------------------


def test_planted_near_repeats_are_found_in_the_first_cell():
    table = knox(*planted_near_repeats())
    cell = first_cell(table)
    assert cell["significant"] and cell["p_value"] == pytest.approx(0.01) and cell["ratio"] > 5


def test_random_events_are_rarely_significant_in_the_first_cell():
    hits = [first_cell(knox(*random_events(100 + seed), seed=seed))["significant"] for seed in range(12)]
    assert sum(hits) <= 2


def test_p_values_are_in_the_unit_interval_and_the_table_is_tidy():
    table = knox(*random_events(1), permutations=19)
    assert len(table) == 9
    assert (table["space_band"].iloc[0], table["time_band"].iloc[0]) == ("0-100 m", "0-7 days")
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()
    np.testing.assert_allclose(table["p_value"] * 20, np.round(table["p_value"] * 20))


def test_the_same_seed_gives_the_same_table():
    events = random_events(2)
    assert knox(*events, seed=5).equals(knox(*events, seed=5))


def test_fewer_than_two_events_give_an_empty_but_valid_table():
    table = knox([1.0], [2.0], [3.0])
    assert (table["observed"] == 0).all() and table["ratio"].isna().all() and (table["p_value"] == 1).all()
    assert "no near-repeat pattern" in reading(table)


def test_bands_must_be_sorted_and_apart():
    with pytest.raises(ValueError, match="bands"):
        knox([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], space_bands_m=((0, 200), (100, 300)))
    with pytest.raises(ValueError, match="permutation"):
        knox([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], permutations=0)


# --- reading ---------------------------------------------------------------------------------


def test_the_reading_of_a_near_repeat_pattern_says_where_and_how_long():
    text = reading(knox(*planted_near_repeats()), what="burglaries")
    assert text.startswith("Burglaries within 100 m of an earlier one in the following 7 days happened ")
    assert "times as often as chance would give (p = 0.01): a near-repeat pattern." in text
    assert "Warn neighbours within" in text


def test_the_reading_is_honest_when_nothing_is_significant():
    table = knox(*random_events(3))
    table["p_value"] = 0.5
    text = reading(table, what="burglaries")
    assert "no near-repeat pattern" in text and "smallest p = 0.50" in text
