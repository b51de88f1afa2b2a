"""The incident analyses through the API, on the demo area and on incidents planted by hand."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import shapely

from beatbook.generate.load import load_dataset
from db.partitions import ensure_range

BEAT = "HKI-02"
# A Sunday evening of the demo's last month, and where it is planted: a point inside the beat.
SUNDAY = datetime(2026, 10, 25, 20, 30, tzinfo=timezone.utc)


@pytest.fixture
def demo(conn, pg, demo_frames):
    load_dataset(pg, demo_frames, progress=False)
    return conn


@pytest.fixture
def spot(pg, demo) -> tuple[float, float]:
    """A point well inside the beat, in lon/lat."""
    return pg.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM beat "
                      "WHERE code = %s) s", (BEAT,)).fetchone()


def plant(pg, lon: float, lat: float, times, kind: str = "burglary", spread_m: float = 0.0, seed: int = 0):
    """Incidents of ``kind`` at the given times, at (lon, lat) or scattered ``spread_m`` round it."""
    rng = np.random.default_rng(seed)
    for moment in times:
        ensure_range(pg, "incident", moment)
        dx, dy = rng.normal(0, spread_m, 2) if spread_m else (0.0, 0.0)
        pg.execute("INSERT INTO incident (occurred_at, type, geom) VALUES (%s, %s, ST_Point(%s, %s, 4326))",
                   (moment, kind, lon + dx / (111_320 * np.cos(np.radians(lat))), lat + dy / 110_574))


def get(client, auth, route: str, **params):
    response = client.get(f"/api/analysis/{route}", params={"beat": BEAT, **params}, headers=auth("officer"))
    assert response.status_code == 200, response.text
    return response.json()



# --- density -------------------------------------------------------------------------------


def test_kde_of_the_demo_beat_draws_an_overlay_and_contours(client, auth, demo):
    answer = get(client, auth, "incident-density", method="kde", cell_m=20)
    summary = answer["summary"]
    assert summary["incidents"] > 10 and summary["bandwidth_m"] > 0 and "ArcGIS" in summary["bandwidth_rule"]
    assert answer["image"]["href"].startswith("data:image/png;base64,")
    (south, west), (north, east) = answer["image"]["bounds"]
    assert 60 < south < north < 60.3 and 24.8 < west < east < 25.1
    assert [f["properties"]["share"] for f in answer["features"]] == [0.5, 0.75, 0.9]


def test_the_kde_peaks_where_incidents_were_planted(client, auth, demo, pg, spot):
    plant(pg, *spot, [SUNDAY - timedelta(hours=k) for k in range(40)], kind="arson")
    answer = get(client, auth, "incident-density", method="kde", cell_m=10, bandwidth_m=100, types="arson",
                 shares="0.5")
    assert answer["summary"]["incidents"] == 40
    [core] = answer["features"]
    assert shapely.geometry.shape(core["geometry"]).contains(shapely.Point(*spot))


def test_hexagon_and_segment_counts_add_up(client, auth, demo):
    hexes = get(client, auth, "incident-density", method="hex", cell_m=150)
    counts = [f["properties"]["count"] for f in hexes["features"]]
    assert sum(counts) == hexes["summary"]["counted"] == hexes["summary"]["incidents"] > 0
    segments = get(client, auth, "incident-density", method="segment", snap_m=50)
    assert 0 < segments["summary"]["counted"] <= segments["summary"]["incidents"]
    assert all(f["geometry"]["type"] == "LineString" for f in segments["features"])


def test_filters_by_type_hours_and_weekday(client, auth, demo, pg, spot):
    # 3 on Sunday night, 2 on Sunday afternoon, 4 on Monday night: only the first 3 pass.
    sunday_night = [SUNDAY + timedelta(minutes=m) for m in (0, 60, 120)]  # 22:30-00:30 local
    plant(pg, *spot, sunday_night, kind="arson")
    plant(pg, *spot, [SUNDAY - timedelta(hours=6), SUNDAY - timedelta(hours=7)], kind="arson")
    plant(pg, *spot, [SUNDAY + timedelta(days=1, minutes=m) for m in range(4)], kind="arson")
    plant(pg, *spot, sunday_night, kind="vandalism")
    answer = get(client, auth, "incident-density", method="hex", types="arson", hours="22:00-06:00",
                 days="sun", start="2026-10-01", end="2026-10-31")
    # 22:30, 23:30 and 00:30 local (summer time has just ended): the last falls on a Monday.
    assert answer["summary"]["incidents"] == 2
    answer = get(client, auth, "incident-density", method="hex", types="arson", hours="22:00-06:00",
                 start="2026-10-01", end="2026-10-31")
    assert answer["summary"]["incidents"] == 7


def test_nothing_found_is_an_empty_answer_not_an_error(client, auth, demo):
    for method in ("kde", "hex", "segment"):
        answer = get(client, auth, "incident-density", method=method, types="nothing_like_this")
        assert answer["summary"]["incidents"] == 0 and answer["features"] == []
    assert get(client, auth, "hotspots", types="nothing_like_this")["summary"]["hot"] == 0
    assert get(client, auth, "near-repeat", types="nothing_like_this")["summary"]["incidents"] == 0
    assert get(client, auth, "spikes", types="nothing_like_this")["summary"]["flagged"] == 0


# --- hot spots, near repeats, accuracy, spikes --------------------------------------------


def test_a_planted_cluster_is_a_hot_spot(client, auth, demo, pg, spot):
    plant(pg, *spot, [SUNDAY - timedelta(hours=k) for k in range(30)], kind="arson", spread_m=25)
    answer = get(client, auth, "hotspots", types="arson", cell_m=50)
    hot = [f for f in answer["features"] if f["properties"]["label"] == "hot"]
    assert hot and answer["summary"]["hot"] == len(hot)
    assert any(shapely.geometry.shape(f["geometry"]).buffer(1e-4).contains(shapely.Point(*spot)) for f in hot)
    assert all(f["properties"]["p_adjusted"] < 0.05 for f in hot)


def test_planted_near_repeats_are_found(client, auth, demo, pg, spot):
    rng = np.random.default_rng(1)
    lon, lat = spot
    for k in range(40):
        # A burglary somewhere in the beat, and another 40 m away two days later.
        at = (lon + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.004, 0.004))
        first = SUNDAY - timedelta(days=float(rng.uniform(0, 300)))
        plant(pg, *at, [first], kind="break_in")
        plant(pg, at[0] + 0.0005, at[1], [first + timedelta(days=2)], kind="break_in")
    answer = get(client, auth, "near-repeat", types="break_in", start="2025-12-01", end="2026-10-31")
    first_cell = answer["table"][0]
    assert first_cell["space_from_m"] == 0 and first_cell["time_from_days"] == 0
    assert first_cell["significant"] and first_cell["ratio"] > 2
    assert "chance" in answer["reading"]


def test_the_back_test_reports_pai_and_pei(client, auth, demo, pg, spot):
    times = [SUNDAY - timedelta(days=d) for d in range(1, 50)]
    plant(pg, *spot, times, kind="arson", spread_m=30)
    answer = get(client, auth, "hotspot-accuracy", types="arson", train_start="2026-09-01",
                 train_end="2026-10-15", test_start="2026-10-16", test_end="2026-10-31", area_share="0.05,1")
    five, everything = answer["table"]
    assert five["pai"] > 5 and 0 < five["pei"] <= 1
    assert everything["hit_rate"] == 1 and everything["pai"] == pytest.approx(1)
    assert len(answer["explanation"]) == 2


def test_a_jump_in_one_beat_is_a_spike(client, auth, demo, pg, spot):
    plant(pg, *spot, [SUNDAY - timedelta(hours=k) for k in range(12)], kind="arson")
    answer = get(client, auth, "spikes", types="arson", end="2026-10-25", unit="beat", period_days=7)
    assert [f["properties"]["key"] for f in answer["features"]] == [BEAT]
    assert answer["features"][0]["properties"]["current"] == 12
    hexes = get(client, auth, "spikes", types="arson", end="2026-10-25", unit="hex", cell_m=200)
    assert hexes["summary"]["flagged"] == 1


# --- bad requests --------------------------------------------------------------------------


@pytest.mark.parametrize("route, params, says", [
    ("incident-density", {"cell_m": 0}, "greater than 0"),
    ("incident-density", {"cell_m": 0.01}, "cells"),
    ("incident-density", {"method": "hex", "cell_m": 0.5}, "hexagons"),
    ("incident-density", {"start": "2026-10-10", "end": "2026-10-01"}, "before"),
    ("incident-density", {"hours": "25:00-06:00"}, "HH:MM"),
    ("incident-density", {"days": "funday"}, "weekday"),
    ("incident-density", {"types": "Robbery; DROP TABLE incident"}, "pattern"),
    ("near-repeat", {"space_bands": "100-0"}, "ranges"),
    ("hotspot-accuracy", {"train_start": "2026-10-01", "train_end": "2026-10-20", "test_start": "2026-10-10",
                          "test_end": "2026-10-31"}, "after"),
    ("hotspot-accuracy", {"train_start": "2026-09-01", "train_end": "2026-09-30", "test_start": "2026-10-01",
                          "test_end": "2026-10-31", "area_share": "0"}, "share"),
])
def test_bad_parameters_are_refused_with_a_reason(client, auth, demo, route, params, says):
    response = client.get(f"/api/analysis/{route}", params={"beat": BEAT, **params}, headers=auth("officer"))
    assert response.status_code == 422, response.text
    assert says in response.text


def test_an_unknown_beat_is_not_found_and_no_token_is_unauthorized(client, auth, demo):
    assert client.get("/api/analysis/hotspots", params={"beat": "NOPE"}, headers=auth("planner")).status_code == 404
    assert client.get("/api/analysis/hotspots", params={"beat": BEAT}).status_code == 401
