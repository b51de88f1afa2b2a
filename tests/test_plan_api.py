"""Planning routes on a small hand-checked beat: where new cameras and gates guard the most."""

import pytest
from pyproj import Transformer
from sqlalchemy import text

from tests.metres import UTM, X0, Y0, area, box, lonlat, metric, point

PERIOD = {"start": "2026-10-01", "end": "2026-11-01"}


@pytest.fixture
def beat(conn):
    """A 300 m x 200 m beat with a street along y = 100.

    Building 1 (x 40-60): unmanaged, ungated, two households behind its entrance at (50, 110):
    audit risk 2, weight 3. Building 2 (x 240-260): unmanaged, ungated, nobody registered, but
    three burglaries at (250, 90), 20 m from its entrance at (250, 110): risk 3 x 3 = 9,
    weight 10; each burglary weighs 1 + 2 more. Building 3 is managed and gated: no demand.
    All demand: 3 + 10 + 9 = 22.
    """
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES ('T-1', 'Test', ST_Multi({metric(box(0, 0, 300, 200))}));
        INSERT INTO street_segment (id, length_m, geom)
        VALUES (1, 300, {metric(f'LINESTRING({X0} {Y0 + 100}, {X0 + 300} {Y0 + 100})')});
        INSERT INTO building (id, managed, address, geom) VALUES
            (1, false, 'West 1', ST_Multi({metric(box(40, 110, 60, 130))})),
            (2, false, 'East 2', ST_Multi({metric(box(240, 110, 260, 130))})),
            (3, true, 'Middle 3', ST_Multi({metric(box(140, 110, 160, 130))}));
        INSERT INTO entrance (id, building_id, access_control, geom) VALUES
            (1, 1, false, {point(50, 110)}), (2, 2, false, {point(250, 110)}), (3, 3, true, {point(150, 110)});
        INSERT INTO household (id, building_id, geom) VALUES (1, 1, {point(50, 120)}), (2, 1, {point(51, 120)});
        SELECT beatbook_ensure_months('incident', '2026-10-20 02:00+03', '2026-10-22 02:00+03');
        INSERT INTO incident (occurred_at, type, geom) VALUES
            ('2026-10-20 02:00+03', 'burglary', {point(250, 90)}),
            ('2026-10-21 02:00+03', 'burglary', {point(250, 90)}),
            ('2026-10-22 02:00+03', 'burglary', {point(250, 90)});
    """))
    return "T-1"


# Three candidate sites on the street: one before each unmanaged building, and a second one
# beside the first that sees exactly what the first sees.
SITES = [lonlat(50, 100), lonlat(250, 100), lonlat(53, 100)]


def cameras(client, auth, k, **body):
    response = client.post("/api/plan/cameras", params={"beat": "T-1", **PERIOD}, headers=auth("planner"),
                           json={"k": k, "candidates": "points", "points": SITES, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_one_camera_goes_where_it_guards_most(client, auth, beat):
    body = cameras(client, auth, 1)
    [site] = body["features"]
    assert site["properties"]["rank"] == 1 and site["properties"]["gain"] == 19.0
    assert (site["properties"]["entrances"], site["properties"]["incidents"]) == (1, 3)
    assert site["geometry"]["coordinates"] == pytest.approx([SITES[1]["lon"], SITES[1]["lat"]])
    summary = body["summary"]
    assert summary["total_weight"] == 22.0 and summary["status"] == "optimal" and summary["gap"] == 0
    assert summary["covered_share"] == pytest.approx(19 / 22, abs=1e-4)
    assert summary["demand"] == {"entrances": 2, "incidents": 3, "burglaries": 3}


def test_two_cameras_that_see_the_same_are_not_both_chosen(client, auth, beat):
    body = cameras(client, auth, 3)
    assert [f["properties"]["gain"] for f in body["features"]] == [19.0, 3.0]
    assert body["summary"]["covered_share"] == 1.0
    assert body["summary"]["greedy"]["covered_share"] == 1.0


def test_what_a_camera_already_sees_is_not_planned_for(client, auth, conn, beat):
    conn.execute(text(f"INSERT INTO camera (fov_deg, range_m, geom) VALUES (360, 30, {point(250, 95)})"))
    body = cameras(client, auth, 1)
    [site] = body["features"]
    assert site["properties"]["gain"] == 3.0
    assert body["summary"]["already_share"] == pytest.approx(19 / 22, abs=1e-4)
    assert body["summary"]["covered_share"] == 1.0


def test_street_candidates_put_the_camera_on_the_street_before_the_burgled_house(client, auth, beat):
    response = client.post("/api/plan/cameras", params={"beat": "T-1", **PERIOD}, headers=auth("planner"),
                           json={"k": 1, "candidates": "streets", "spacing_m": 20})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["candidate_sites"] == 16  # 0, 20, ..., 300 m
    [site] = body["features"]
    assert site["properties"]["gain"] == 19.0
    lon, lat = site["geometry"]["coordinates"]
    x, _ = Transformer.from_crs(4326, UTM, always_xy=True).transform(lon, lat)
    assert abs(x - X0 - 250) <= 20


def test_gates_go_to_the_buildings_that_gain_most(client, auth, beat):
    response = client.post("/api/plan/access-control", params={"beat": "T-1", **PERIOD},
                           headers=auth("planner"), json={"k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    ranked = [(f["properties"]["building_id"], f["properties"]["gain"]) for f in body["features"]]
    assert ranked == [(2, 10.0), (1, 3.0)]  # the gated building 3 needs none
    assert body["features"][0]["properties"]["address"] == "East 2"
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    assert body["summary"]["buildings_without_gates"] == 2 and body["summary"]["covered_share"] == 1.0


@pytest.mark.parametrize("params, body, status, words", [
    ({"beat": "T-1"}, {"candidates": "points"}, 422, "points"),
    ({"beat": "T-1"}, {"k": 0}, 422, "k"),
    ({"beat": "T-1"}, {"range_m": 5000}, 422, "range_m"),
    ({"beat": "T-1"}, {"candidates": "points", "points": [{"lon": 500, "lat": 0}]}, 422, "lon"),
    ({"beat": "NOPE"}, {}, 404, "no beat"),
])
def test_bad_plans_say_what_to_fix(client, auth, beat, params, body, status, words):
    response = client.post("/api/plan/cameras", params=params, headers=auth("planner"), json=body)
    assert response.status_code == status
    assert words in response.text


def test_planning_needs_a_login(client, beat):
    assert client.post("/api/plan/cameras", params={"beat": "T-1"}, json={}).status_code == 401
