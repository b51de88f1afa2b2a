"""Tonight's patrol route through the API, on a small street cross routed by pgRouting."""

import gpxpy
import pytest
from sqlalchemy import text

from tests.metres import X0, Y0, area, box, line, metric, offset

NIGHT = "2026-11-09"


@pytest.fixture
def beat(conn):
    """A cross of streets: y = 100 from x = 0 to 300 (vertices 1-2-3-4 every 100 m) and x = 100
    from y = 0 to 200 (vertices 5-2-6); 500 m in all, none patrolled. The station stands at the
    west end; an unmanaged entrance with two households behind it at (250, 110)."""
    streets = [(1, 1, 2, (0, 100), (100, 100)), (2, 2, 3, (100, 100), (200, 100)),
               (3, 3, 4, (200, 100), (300, 100)), (4, 5, 2, (100, 0), (100, 100)),
               (5, 2, 6, (100, 100), (100, 200))]
    values = ", ".join(f"({i}, {s}, {t}, 100, {line(a, b)})" for i, s, t, a, b in streets)
    conn.execute(text(f"""
        {area()}
        INSERT INTO station (code, name, geom) VALUES ('S-T', 'Station', {metric(f'POINT({X0} {Y0 + 100})')});
        INSERT INTO beat (code, name, station_id, geom) VALUES ('T-1', 'Test', (SELECT id FROM station WHERE code = 'S-T'), ST_Multi({metric(box(0, 0, 300, 200))}));
        INSERT INTO beat (code, name, geom) VALUES ('T-2', 'No station', ST_Multi({metric(box(0, 0, 300, 200))}));
        INSERT INTO street_segment (id, source, target, length_m, geom) VALUES {values};
        INSERT INTO building (id, managed, geom) VALUES (1, false, ST_Multi({metric(box(240, 110, 260, 130))}));
        INSERT INTO entrance (id, building_id, access_control, geom)
            VALUES (1, 1, false, {metric(f'POINT({X0 + 250} {Y0 + 110})')});
        INSERT INTO household (id, building_id, geom) VALUES
            (1, 1, {metric(f'POINT({X0 + 250} {Y0 + 120})')}), (2, 1, {metric(f'POINT({X0 + 251} {Y0 + 120})')});
    """))
    return "T-1"


def route(client, auth, beat="T-1", fmt=None, **body):
    params = {"beat": beat, "start": NIGHT, "end": NIGHT, **({"format": fmt} if fmt else {})}
    return client.post("/api/plan/patrol-route", params=params, headers=auth("officer"), json=body)


def test_with_time_enough_the_route_walks_every_gap_and_tries_the_door(client, auth, beat):
    response = route(client, auth, budget_min=90)
    assert response.status_code == 200, response.text
    body = response.json()
    summary = body["summary"]
    assert summary["targets"] == {"street": 5, "entrance": 1, "hotspot": 0}
    assert summary["visited"] == summary["targets"]
    assert summary["value_share"] == 1.0 and summary["optimality_gap"] == 0
    assert summary["street_gap_km"] == summary["street_gap_km_walked"] == 0.5
    # Each street walked once from its source end (500 m), to the far end of one spur and
    # back from the other (200 m), home from the east end (300 m): at least 1.1 km at 1.4 m/s.
    assert 1100 / 1.4 / 60 < summary["total_min"] <= 90
    [line] = [f for f in body["features"] if f["properties"]["feature"] == "route"]
    walked = line["geometry"]["coordinates"]
    assert offset(walked[0][0]) == (0.0, 100.0) and offset(walked[-1][-1]) == (0.0, 100.0)
    stops = [f["properties"] for f in body["features"] if f["properties"]["feature"] == "stop"]
    assert [s["order"] for s in stops] == list(range(1, 7))
    assert [s["arrival_min"] for s in stops] == sorted(s["arrival_min"] for s in stops)
    assert stops[0]["arrival"] >= "22:00"


@pytest.mark.parametrize("budget_min", [2, 4, 7, 10])
def test_the_route_never_runs_over_its_budget(client, auth, beat, budget_min):
    summary = route(client, auth, budget_min=budget_min).json()["summary"]
    assert summary["total_min"] <= budget_min
    assert summary["value"] <= summary["bound"] + 1e-9


def test_four_minutes_walk_the_first_street_and_back(client, auth, beat):
    # 336 m at 1.4 m/s: street 1 and back is 200 m; any second street, or the door 250 m out,
    # makes it 400 m or more.
    summary = route(client, auth, budget_min=4).json()["summary"]
    assert summary["visited"] == {"street": 1, "entrance": 0, "hotspot": 0}
    assert summary["value"] == 1.0 and summary["total_min"] == pytest.approx(200 / 1.4 / 60, abs=0.1)


def test_the_route_goes_to_the_phone_as_gpx(client, auth, beat):
    response = route(client, auth, fmt="gpx", budget_min=90)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/gpx+xml")
    gpx = gpxpy.parse(response.text)
    assert len(gpx.waypoints) == 6 and gpx.waypoints[0].name.startswith("1. ")
    points = gpx.tracks[0].segments[0].points
    assert len(points) >= 8 and offset((points[0].longitude, points[0].latitude)) == (0.0, 100.0)


@pytest.mark.parametrize("beat_code, body, status, words", [
    ("T-2", {}, 422, "start"),
    ("T-1", {"mode": "bike"}, 422, "mode"),
    ("T-1", {"budget_min": 0}, 422, "budget_min"),
    ("T-1", {"start": {"lon": 400, "lat": 0}}, 422, "lon"),
    ("T-9", {}, 404, "no beat"),
])
def test_bad_route_requests_say_what_to_fix(client, auth, beat, beat_code, body, status, words):
    response = route(client, auth, beat=beat_code, **body)
    assert response.status_code == status
    assert words in response.text
