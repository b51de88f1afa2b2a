"""Spike alerts: a jump is flagged, steady units are not, an empty history is handled."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from geo.spikes import spikes


def steady_history(units=40, periods=8, rate=2.0, seed=0):
    return np.random.default_rng(seed).poisson(rate, (units, periods))


def test_a_unit_jumping_from_two_a_period_to_fifteen_is_flagged_and_steady_units_are_not():
    history = steady_history()
    current = np.random.default_rng(1).poisson(2.0, 40)
    current[7] = 15
    result = spikes(current, history)
    assert result["flagged"].tolist() == [k == 7 for k in range(40)]
    assert result.loc[7, "expected"] == pytest.approx(history[7].mean())
    assert result.loc[7, "p"] == pytest.approx(poisson.sf(14, history[7].mean()))
    assert result.loc[7, "ratio"] == pytest.approx(15 / history[7].mean())


def test_a_unit_with_no_history_is_compared_with_half_an_incident_over_the_history():
    history = np.zeros((3, 8))
    result = spikes(np.array([5, 0, 2]), history)
    np.testing.assert_allclose(result["expected"], 0.5 / 8)
    assert result["flagged"].tolist() == [True, False, False]  # 2 is below the minimum count
    assert result.loc[1, "p"] == 1.0
    assert result.loc[2, "p"] < 0.01


def test_the_fdr_adjustment_can_be_turned_off():
    history = steady_history(units=30)
    current = np.random.default_rng(2).poisson(3.0, 30)
    adjusted, raw = spikes(current, history), spikes(current, history, fdr=False)
    np.testing.assert_array_equal(raw["p_adjusted"], raw["p"])
    assert (adjusted["p_adjusted"] >= adjusted["p"]).all()


def test_the_result_is_indexed_like_the_current_counts():
    current = pd.Series([1, 9], index=["beat-a", "beat-b"])
    result = spikes(current, np.array([[1, 1, 0], [0, 1, 1]]))
    assert list(result.index) == ["beat-a", "beat-b"]
    assert list(result.columns) == ["current", "expected", "ratio", "p", "p_adjusted", "flagged"]


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="units x periods"):
        spikes(np.array([1, 2]), np.array([1, 2]))
    with pytest.raises(ValueError, match="non-negative"):
        spikes(np.array([1.5]), np.array([[1.0]]))


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 20.0), st.integers(0, 30))
def test_p_does_not_grow_with_the_current_count(mean, count):
    history = np.full((1, 4), mean)
    lower, higher = (spikes(np.array([c]), history, fdr=False)["p"].iloc[0] for c in (count, count + 1))
    assert higher <= lower


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 12), min_size=6, max_size=6), min_size=1, max_size=30))
def test_a_period_like_the_average_raises_no_alert(rows):
    history = np.array(rows)
    current = np.round(history.mean(axis=1)).astype(int)
    assert not spikes(current, history)["flagged"].any()
