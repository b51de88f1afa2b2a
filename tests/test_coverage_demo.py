"""On the demo area: the exact coverage agrees with a second, independent method."""

from datetime import timedelta

import geopandas as gpd
import numpy as np
import pytest
import shapely

from beatbook.generate.load import load_dataset
from db import analysis as queries
from db.patrols import rebuild_tracks
from geo.coverage import street_coverage
from geo.patrol_gaps import Nights, night_pieces
from geo.windows import DailyWindow

RADIUS_M = 30.0


@pytest.fixture
def demo(conn, pg, demo_frames):
    load_dataset(pg, demo_frames, progress=False)
    rebuild_tracks(pg)
    return conn


@pytest.mark.parametrize("code", ["HKI-01", "HKI-02", "HKI-03"])
def test_exact_coverage_agrees_with_geopandas_within_half_a_percent(demo, code):
    place = queries.find_beat(demo, code)
    last = queries.last_patrol_night_end(demo, place)
    night = (last - timedelta(hours=12)).date()
    nights = Nights(DailyWindow.parse("22:00-06:00"), night - timedelta(days=6), night, place.tz)
    vertices = queries.track_vertices(demo, place, since=last - timedelta(days=9), until=last,
                                      radius_m=RADIUS_M)
    pieces = night_pieces(vertices, nights)
    streets = queries.streets(demo, place)["geometry"].to_numpy()
    exact = street_coverage(streets, pieces, RADIUS_M).covered_m.sum()

    # The other way: the same night's pieces as lines in geopandas, buffered, dissolved, intersected.
    p = pieces.pieces
    lines = gpd.GeoSeries(shapely.linestrings(np.stack([np.c_[p.x0, p.y0], np.c_[p.x1, p.y1]], axis=1)),
                          crs=place.srid)
    cover = lines.buffer(RADIUS_M, quad_segs=32).union_all()
    other = gpd.GeoSeries(streets, crs=place.srid).intersection(cover).length.sum()
    assert len(p) > 100 and exact > 1000
    assert abs(exact - other) / exact < 0.005


@pytest.mark.parametrize("code", ["HKI-01", "HKI-02", "HKI-03"])
def test_the_demo_beats_answer_through_the_api(client, auth, demo, code):
    headers = auth("officer")
    gaps = client.get("/api/analysis/patrol-gaps", params={"beat": code, "revisits": "true"}, headers=headers)
    assert gaps.status_code == 200, gaps.text
    summary = gaps.json()["summary"]
    assert 0 < summary["covered_share"] < 1 and summary["focus_areas_passed"] > 0
    audit = client.get("/api/analysis/unmanaged-entrances", params={"beat": code}, headers=headers)
    assert audit.status_code == 200, audit.text
    risks = [f["properties"]["risk"] for f in audit.json()["features"]]
    assert risks == sorted(risks, reverse=True) and risks[0] > 0
