"""Beat workload: each measure against its mean, weighted; by hand, by property, and on the demo."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from beatbook.generate.load import load_dataset
from geo.workload import MEASURES, balance, workload

ONES = dict.fromkeys(MEASURES, 1.0)


def beats(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame({k: columns.get(k, np.zeros(n)) for k in MEASURES})


def test_by_hand():
    table = workload(beats(households=[100, 300], incidents=[2, 2]), {"households": 1, "incidents": 1})
    # households: 0.5 and 1.5 of the mean; incidents: 1 and 1; averaged over the two weights.
    np.testing.assert_allclose(table["workload"], [0.75, 1.25])
    assert balance(table["workload"])["max_min_ratio"] == pytest.approx(5 / 3, abs=1e-3)


def test_a_measure_zero_everywhere_and_a_zero_weight_are_left_out():
    table = workload(beats(households=[100, 300], open_disputes=[0, 0]), ONES)
    np.testing.assert_allclose(table["workload"], [0.5, 1.5])
    table = workload(beats(households=[100, 300], incidents=[5, 1]), {"households": 1, "incidents": 0})
    np.testing.assert_allclose(table["workload"], [0.5, 1.5])


def test_unknown_measures_and_negative_weights_are_refused():
    with pytest.raises(ValueError, match="unknown measures"):
        workload(beats(households=[1]), {"parking": 1})
    with pytest.raises(ValueError, match="negative"):
        workload(beats(households=[1]), {"households": -1})


counts = arrays(np.float64, st.integers(2, 12).map(lambda n: (n, len(MEASURES))),
                elements=st.integers(0, 1000).map(float))


@given(counts, st.lists(st.floats(0.1, 10), min_size=len(MEASURES), max_size=len(MEASURES)),
       st.floats(0.01, 100))
@settings(max_examples=100, deadline=None)
def test_the_average_beat_is_one_and_units_do_not_matter(values, weights, scale):
    table = pd.DataFrame(values, columns=list(MEASURES))
    chosen = dict(zip(MEASURES, weights))
    index = workload(table, chosen)["workload"].to_numpy()
    if (table.mean() > 0).any():
        assert index.mean() == pytest.approx(1.0)
    rescaled = table.assign(street_km=table["street_km"] * scale)
    np.testing.assert_allclose(workload(rescaled, chosen)["workload"], index, rtol=1e-9, atol=1e-12)


def test_the_demo_beats_workload_through_the_api(client, auth, pg, demo_frames):
    load_dataset(pg, demo_frames, progress=False)
    answer = client.get("/api/beats/workload", headers=auth("supervisor")).json()
    rows = {f["properties"]["code"]: f["properties"] for f in answer["features"]}
    assert set(rows) == {"HKI-01", "HKI-02", "HKI-03"}
    assert np.mean([r["workload"] for r in rows.values()]) == pytest.approx(1.0, abs=1e-3)
    assert all(r["households"] > 0 and r["street_km"] > 0 for r in rows.values())
    assert answer["summary"]["max_min_ratio"] >= 1
    only_streets = client.get("/api/beats/workload", headers=auth("planner"),
                              params={k: 0 for k in MEASURES if k != "street_km"}).json()
    km = {f["properties"]["code"]: f["properties"]["street_km"] for f in only_streets["features"]}
    mean_km = np.mean(list(km.values()))
    for f in only_streets["features"]:
        assert f["properties"]["workload"] == pytest.approx(km[f["properties"]["code"]] / mean_km, abs=2e-3)
    bad = client.get("/api/beats/workload", headers=auth("supervisor"), params={"incidents": -1})
    assert bad.status_code == 422
