"""Back-testing a hotspot map: hit rate, PAI and PEI by hand, their properties, Nottingham's burglaries."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geo.density import kernel_density
from geo.hotspot_accuracy import backtest, explain

CELL = np.full(10, 250.0 * 250.0)


# --- by hand ---------------------------------------------------------------------------------


def test_two_of_ten_cells_by_hand():
    predicted = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 0], dtype=float)
    observed = np.array([3, 0, 5, 1, 0, 0, 0, 1, 0, 0], dtype=float)
    row = backtest(predicted, observed, CELL, shares=(0.2,)).iloc[0]
    # Cells 0 and 1 flagged: 3 of 10 incidents; the best two cells (2 and 0) hold 8.
    assert (row["units_flagged"], row["caught"]) == (2, 3)
    assert row["share_used"] == pytest.approx(0.2)
    assert row["hit_rate"] == pytest.approx(0.3)
    assert row["pai"] == pytest.approx(1.5)
    assert row["pei"] == pytest.approx(3 / 8)


def test_the_unit_that_crosses_the_share_is_flagged_and_so_are_its_ties():
    predicted = np.array([5, 3, 3, 3, 1, 0, 0, 0, 0, 0], dtype=float)
    observed = np.ones(10)
    row = backtest(predicted, observed, CELL, shares=(0.15,)).iloc[0]
    # 1.5 cells asked: the second cell crosses the share, and it is tied with two more.
    assert row["units_flagged"] == 4 and row["share_used"] == pytest.approx(0.4)
    assert row["pai"] == pytest.approx(1.0)


def test_a_map_that_flags_everything_catches_everything_at_chance():
    rng = np.random.default_rng(1)
    row = backtest(rng.random(10), rng.poisson(2.0, 10), CELL, shares=(1.0,)).iloc[0]
    assert row["units_flagged"] == 10
    assert row["hit_rate"] == pytest.approx(1.0) and row["pai"] == pytest.approx(1.0)


def test_a_flat_map_cannot_rank_its_cells_so_it_flags_all_of_them():
    table = backtest(np.full(10, 2.0), np.arange(10.0), CELL)
    assert (table["share_used"] == 1.0).all() and np.allclose(table["pai"], 1.0)


def test_perfect_foresight_has_pei_one():
    observed = np.random.default_rng(2).poisson(1.5, 400).astype(float)
    table = backtest(observed, observed, np.full(400, 62_500.0))
    np.testing.assert_allclose(table["pei"], 1.0)


def test_perfect_foresight_of_density_has_pei_one_with_unequal_areas():
    rng = np.random.default_rng(3)
    area = rng.uniform(1e4, 9e4, 300)
    observed = rng.poisson(2.0, 300).astype(float)
    np.testing.assert_allclose(backtest(observed / area, observed, area)["pei"], 1.0)


def test_no_test_incidents_give_nan_rates_and_say_so():
    table = backtest(np.arange(10.0), np.zeros(10), CELL)
    assert table[["hit_rate", "pai", "pei"]].isna().all().all()
    assert all("nothing to catch" in sentence for sentence in explain(table, what="burglaries"))


def test_the_explanation_reads_like_a_sentence():
    table = pd.DataFrame([{"share": 0.05, "share_used": 0.05, "units_flagged": 20, "caught": 31,
                           "hit_rate": 0.31, "pai": 6.2, "pei": 0.64}])
    assert explain(table, what="burglaries") == [
        "Flagging the top 5 % of the area would have caught 31 % of the next period's burglaries: "
        "6.2 times better than chance (PAI), 64 % of the best possible (PEI)."]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="equally long"):
        backtest(np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ValueError, match="areas positive"):
        backtest(np.ones(2), np.ones(2), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="shares"):
        backtest(np.ones(2), np.ones(2), np.ones(2), shares=(0.0,))


# --- properties ------------------------------------------------------------------------------

units = st.integers(min_value=1, max_value=40)


@st.composite
def maps(draw):
    n = draw(units)
    predicted = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    observed = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    area = draw(st.lists(st.floats(1.0, 50.0), min_size=n, max_size=n))
    return np.array(predicted, float), np.array(observed, float), np.array(area)


@settings(max_examples=60, deadline=None)
@given(maps(), st.lists(st.floats(0.01, 1.0), min_size=1, max_size=6))
def test_hit_rate_grows_with_the_share_and_pai_and_pei_hold_their_definitions(data, shares):
    predicted, observed, area = data
    table = backtest(predicted, observed, area, shares=sorted(shares))
    if observed.sum() == 0:
        assert table["hit_rate"].isna().all()
        return
    assert (np.diff(table["hit_rate"]) >= -1e-12).all()
    np.testing.assert_allclose(table["pai"] * table["share_used"], table["hit_rate"])
    assert ((table["pei"] >= 0) & (table["pei"] <= 1 + 1e-12)).all()
    assert (table["share_used"] >= np.array(sorted(shares)) - 1e-9).all()


# --- real data -------------------------------------------------------------------------------


def test_nine_months_of_nottingham_burglaries_predict_the_last_three(shared_data):
    """Beatbook's own map: the quartic density of January-September, its bandwidth by the
    stated rule, scored on October-December in the 100 m cells inside the city's wards.
    ``pytest -s`` prints the table."""
    folder = shared_data / "nottingham_crime"
    crimes = pd.read_csv(folder / "nottingham_burglary.csv.gz", parse_dates=["month"])
    city = gpd.read_file(folder / "nottingham_wards.gpkg").to_crs(27700).union_all()
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
        crimes["longitude"].to_numpy(), crimes["latitude"].to_numpy())
    train = (crimes["month"].dt.month <= 9).to_numpy()
    density = kernel_density(x[train], y[train], cell_m=100.0, bounds=city.bounds)
    inside = density.inside(city)
    table = backtest(density.values[inside], density.counts(x[~train], y[~train])[inside],
                     np.full(inside.sum(), 100.0 ** 2))
    print(f"\nbandwidth: {density.bandwidth_rule}\n{table.to_string()}")

    assert (~train).sum() > 400 and train.sum() > 1_200
    assert (np.diff(table["hit_rate"]) > 0).all()
    assert table["pai"].iloc[1] > 3  # at 5 % of the area, well better than chance
    assert ((table["pei"] > 0.2) & (table["pei"] <= 1)).all()
