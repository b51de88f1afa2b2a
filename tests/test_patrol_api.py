"""The patrol analyses through the API, on a small beat drawn by hand in metres."""

import pytest
from sqlalchemy import text

from tests.metres import TO_LONLAT, X0, Y0, area, box, metric

NIGHT = "2026-11-09"


def at(hhmm: str, day: str = NIGHT) -> float:
    """Epoch seconds of a Helsinki wall-clock time."""
    import pandas as pd

    return pd.Timestamp(f"{day} {hhmm}", tz="Europe/Helsinki").timestamp()


@pytest.fixture
def beat(conn):
    """A 300 m x 200 m beat; one street along y = 100 from x = 0 to 200; two buildings."""
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES ('T-1', 'Test', ST_Multi({metric(box(0, 0, 300, 200))}));
        INSERT INTO street_segment (id, length_m, geom)
        VALUES (1, 200, {metric(f'LINESTRING({X0} {Y0 + 100}, {X0 + 200} {Y0 + 100})')});
        INSERT INTO building (id, managed, geom) VALUES
            (1, false, ST_Multi({metric(box(50, 110, 70, 130))})),
            (2, true, ST_Multi({metric(box(250, 110, 270, 130))}));
        INSERT INTO entrance (id, building_id, access_control, geom) VALUES
            (1, 1, false, {metric(f'POINT({X0 + 60} {Y0 + 110})')}),
            (2, 2, true, {metric(f'POINT({X0 + 260} {Y0 + 110})')});
        INSERT INTO household (id, building_id, geom) VALUES
            (1, 1, {metric(f'POINT({X0 + 60} {Y0 + 120})')}), (2, 1, {metric(f'POINT({X0 + 61} {Y0 + 120})')});
        INSERT INTO resident (household_id, name, category, birth_year, lives_alone)
            VALUES (1, 'A', 'permanent', 1940, true);
        INSERT INTO officer (badge, name) VALUES ('P-1', 'Patrol');
        INSERT INTO focus_area (kind, name, priority, geom) VALUES
            ('footpath', 'Path', 2, {metric(f'LINESTRING({X0 + 10} {Y0 + 10}, {X0 + 10} {Y0 + 190})')}),
            ('car_park', 'Park', 1, {metric(box(150, 20, 250, 80))});
    """))
    return "T-1"


def walk(conn, points: list[tuple[float, float, float]]) -> None:
    """A patrol track through (x, y, epoch seconds) points, in metres from the corner."""
    coords = ", ".join(f"{X0 + x} {Y0 + y} {t}" for x, y, t in points)
    start, end = points[0][2], points[-1][2]
    conn.execute(text(f"""
        INSERT INTO patrol_track (officer_id, started_at, ended_at, n_fixes, geom)
        VALUES ((SELECT id FROM officer WHERE badge = 'P-1'), to_timestamp(:s), to_timestamp(:e), :n,
                {metric(f'LINESTRING M ({coords})')})
    """), {"s": start, "e": end, "n": len(points)})


def gaps(client, auth, **params) -> dict:
    query = {"beat": "T-1", "start": NIGHT, "end": NIGHT, **params}
    response = client.get("/api/analysis/patrol-gaps", params=query, headers=auth("officer"))
    assert response.status_code == 200, response.text
    return response.json()


def test_a_walk_along_half_the_street_leaves_the_rest_as_a_gap(client, auth, conn, beat):
    walk(conn, [(0, 100, at("23:00")), (70, 100, at("23:01"))])
    body = gaps(client, auth)
    summary = body["summary"]
    assert summary["street_length_m"] == pytest.approx(200, abs=0.1)
    assert summary["covered_length_m"] == pytest.approx(100, abs=0.1)  # 0..70 and 30 m more
    [gap] = [f for f in body["features"] if f["properties"]["feature"] == "street_gap"]
    assert gap["properties"]["from_m"] == pytest.approx(100, abs=0.1)
    assert gap["geometry"]["type"] == "LineString"
    lon, lat = TO_LONLAT.transform(X0 + 200, Y0 + 100)
    assert gap["geometry"]["coordinates"][-1] == pytest.approx([lon, lat], abs=1e-6)
    # Entrance 1 is 10 m off the walk; entrance 2 is 190 m from its end.
    unpassed = [f["properties"]["id"] for f in body["features"] if f["properties"]["feature"] == "entrance"]
    assert unpassed == [2]
    assert (summary["entrances_passed"], summary["entrances_unpassed"]) == (1, 1)


def test_a_daytime_walk_is_not_a_night_patrol(client, auth, conn, beat):
    walk(conn, [(0, 100, at("12:00")), (200, 100, at("12:03"))])
    assert gaps(client, auth)["summary"]["covered_length_m"] == 0


def test_after_midnight_counts_for_the_night_before(client, auth, conn, beat):
    walk(conn, [(0, 100, at("01:00", "2026-11-10")), (200, 100, at("01:03", "2026-11-10"))])
    assert gaps(client, auth)["summary"]["covered_share"] == 1.0
    assert gaps(client, auth, start="2026-11-10", end="2026-11-10")["summary"]["covered_share"] == 0.0


def test_focus_areas_are_covered_by_their_own_lines(client, auth, conn, beat):
    # Walk up the footpath (x = 10) and along the street; the car park south of the street
    # has no street inside, so its outline must be walked, and only its top edge is near.
    walk(conn, [(10, 10, at("23:00")), (10, 190, at("23:03")), (10, 100, at("23:05")),
                (200, 100, at("23:08"))])
    body = gaps(client, auth, revisits="true")
    areas = {f["properties"]["name"]: f["properties"] for f in body["features"]
             if f["properties"]["feature"] == "focus_area"}
    assert areas["Path"]["covered_m"] == pytest.approx(180, abs=0.1) and areas["Path"]["passes"] == 1
    assert areas["Park"]["length_m"] == pytest.approx(320, abs=0.1)
    # The walk along y = 100 ends at x = 200, 20 m above the top edge (y = 80): it covers the
    # top from x = 150 to 200 + sqrt(30^2 - 20^2), and the west side down to y = 70.
    park = (200 + (30**2 - 20**2) ** 0.5 - 150) + 10
    assert areas["Park"]["covered_m"] == pytest.approx(park, abs=0.1)
    # Priority-weighted: (2 x 180 + 1 x park) / (2 x 180 + 1 x 320)
    assert body["summary"]["priority_covered_share"] == pytest.approx((360 + park) / 680, abs=1e-3)


def test_revisits_are_listed_on_request(client, auth, conn, beat):
    walk(conn, [(0, 100, at("23:00")), (100, 100, at("23:02"))])
    walk(conn, [(0, 100, at("02:00", "2026-11-10")), (100, 100, at("02:02", "2026-11-10"))])
    body = gaps(client, auth, revisits="true")
    [door] = [f["properties"] for f in body["features"]
              if f["properties"]["feature"] == "entrance" and f["properties"]["id"] == 1]
    assert door["passes"] == 2
    assert door["max_gap_h"] == pytest.approx(3.0, abs=0.05)
    assert door["last_pass"].startswith("2026-11-10T00:0")  # 02:0x Helsinki is 00:0x UTC


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"window": "25:00-06:00"}, 422, "HH:MM-HH:MM"),
        ({"start": "2026-11-10", "end": "2026-11-01"}, 422, "before start"),
        ({"radius_m": 0}, 422, "greater than 0"),
        ({"radius_m": 10_000}, 422, "less than or equal to 500"),
        ({"beat": "NOPE"}, 404, "no beat with code 'NOPE'"),
        ({"start": "2020-01-01", "end": "2026-11-01"}, 422, "at most 366 nights"),
    ],
)
def test_bad_parameters_are_4xx_with_a_reason(client, auth, beat, params, status, words):
    query = {"beat": "T-1", "start": NIGHT, "end": NIGHT, **params}
    response = client.get("/api/analysis/patrol-gaps", params=query, headers=auth("officer"))
    assert response.status_code == status
    assert words in str(response.json()["detail"])


def test_the_audit_lists_the_unmanaged_entrance_with_its_risk(client, auth, conn, beat):
    conn.execute(text(f"""
        SELECT beatbook_ensure_months('incident', '2026-06-01 02:00+02', '2026-11-01 02:00+02');
        INSERT INTO incident (occurred_at, type, geom) VALUES
            ('2026-11-01 02:00+02', 'burglary', {metric(f'POINT({X0 + 80} {Y0 + 120})')}),
            ('2026-11-01 02:00+02', 'theft', {metric(f'POINT({X0 + 80} {Y0 + 120})')}),
            ('2026-06-01 02:00+02', 'burglary', {metric(f'POINT({X0 + 80} {Y0 + 120})')})
    """))
    response = client.get("/api/analysis/unmanaged-entrances",
                          params={"beat": "T-1", "start": NIGHT, "end": NIGHT}, headers=auth("planner"))
    assert response.status_code == 200, response.text
    body = response.json()
    first = body["features"][0]["properties"]
    # Unmanaged, no gate, no camera; 2 households, 1 living alone, 1 recent burglary nearby.
    assert first["id"] == 1 and first["rank"] == 1
    assert first["reasons"] == ["unmanaged", "no_access_control", "no_camera"]
    assert (first["households"], first["living_alone"], first["burglaries_near"]) == (2, 1, 1)
    assert first["risk"] == 2 * 1 + 1 * 2 + 1 * 3
    assert first["passed"] is False
    assert "households" in body["summary"]["risk"]
    # Entrance 2 is managed and gated but no camera sees it.
    [second] = [f["properties"] for f in body["features"] if f["properties"]["id"] == 2]
    assert second["reasons"] == ["no_camera"]


def test_a_camera_facing_the_door_takes_it_off_the_list(client, auth, conn, beat):
    conn.execute(text(f"""
        INSERT INTO camera (direction_deg, fov_deg, range_m, geom) VALUES
            (0, 90, 50, {metric(f'POINT({X0 + 260} {Y0 + 80})')}),
            (180, 90, 50, {metric(f'POINT({X0 + 60} {Y0 + 80})')})
    """))
    response = client.get("/api/analysis/unmanaged-entrances", headers=auth("officer"),
                          params={"beat": "T-1", "start": NIGHT, "end": NIGHT})
    ids = [f["properties"]["id"] for f in response.json()["features"]]
    # The camera south of entrance 2 looks north at it; the one south of entrance 1 looks away.
    assert ids == [1]


def test_the_audit_filters_by_reason(client, auth, beat):
    response = client.get("/api/analysis/unmanaged-entrances", headers=auth("officer"),
                          params={"beat": "T-1", "start": NIGHT, "end": NIGHT, "reason": "unmanaged"})
    assert [f["properties"]["id"] for f in response.json()["features"]] == [1]
    bad = client.get("/api/analysis/unmanaged-entrances", headers=auth("officer"),
                     params={"beat": "T-1", "reason": "haunted"})
    assert bad.status_code == 422


def test_the_audit_sends_the_riskiest_first_and_counts_them_all(client, auth, beat):
    params = {"beat": "T-1", "start": NIGHT, "end": NIGHT}
    every = client.get("/api/analysis/unmanaged-entrances", headers=auth("officer"), params=params).json()
    top = client.get("/api/analysis/unmanaged-entrances", headers=auth("officer"),
                     params={**params, "limit": 1}).json()
    assert len(every["features"]) == 2 and top["features"] == every["features"][:1]
    assert top["summary"]["listed"] == every["summary"]["listed"] == 2
    assert (top["summary"]["sent"], top["summary"]["unpassed"]) == (1, every["summary"]["unpassed"])


def test_the_default_nights_are_the_week_up_to_the_last_patrolled_night(client, auth, conn, beat):
    walk(conn, [(0, 100, at("01:00", "2026-11-10")), (200, 100, at("01:03", "2026-11-10"))])
    response = client.get("/api/analysis/nights", params={"beat": "T-1"}, headers=auth("officer"))
    assert response.status_code == 200, response.text
    # A walk after midnight belongs to the night that began the evening before.
    assert response.json()["nights"] == ["2026-11-03", NIGHT]
    by_default = client.get("/api/analysis/patrol-gaps", params={"beat": "T-1"}, headers=auth("officer"))
    assert by_default.json()["summary"]["nights"] == ["2026-11-03", NIGHT]


def test_no_patrols_at_all_is_an_answer_not_an_error(client, auth, beat):
    body = gaps(client, auth)
    assert body["summary"]["covered_length_m"] == 0 and body["summary"]["track_pieces"] == 0
    # The default nights need no patrol data either.
    assert client.get("/api/analysis/patrol-gaps", params={"beat": "T-1"},
                      headers=auth("officer")).status_code == 200


def polygon(x0, y0, x1, y1) -> str:
    import json

    corners = [TO_LONLAT.transform(X0 + x, Y0 + y) for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0))]
    return json.dumps({"type": "Polygon", "coordinates": [corners]})


def test_any_polygon_can_be_asked_about(client, auth, conn, beat):
    walk(conn, [(0, 100, at("23:00")), (200, 100, at("23:03"))])
    # The western half of the street only.
    response = client.get("/api/analysis/patrol-gaps", headers=auth("officer"),
                          params={"polygon": polygon(0, 0, 100, 200), "start": NIGHT, "end": NIGHT})
    assert response.status_code == 200, response.text
    summary = response.json()["summary"]
    assert summary["beat"] == "polygon" and summary["street_length_m"] == pytest.approx(100, abs=0.1)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({}, "either beat"),
        ({"beat": "T-1", "polygon": "{}"}, "either beat"),
        ({"polygon": "not json"}, "not GeoJSON"),
        ({"polygon": '{"type": "Point", "coordinates": [24.9, 60.1]}'}, "a Point"),
        ({"polygon": '{"type": "Polygon", "coordinates": [[[24.9, 60.1], [24.91, 60.11], [24.91, 60.1], '
                     '[24.9, 60.11], [24.9, 60.1]]]}'}, "Self-intersection"),
        ({"polygon": polygon(0, 0, 5000, 5000)}, "outside the area"),
    ],
)
def test_a_bad_polygon_is_refused_with_a_reason(client, auth, beat, params, words):
    response = client.get("/api/analysis/patrol-gaps", headers=auth("officer"), params=params)
    assert response.status_code == 422
    assert words in response.json()["detail"]


def test_a_polygon_of_a_whole_city_is_a_batch_job_not_a_request(client, auth, conn, beat):
    conn.execute(text("DELETE FROM area"))
    response = client.get("/api/analysis/patrol-gaps", headers=auth("officer"),
                          params={"polygon": polygon(0, 0, 10_000, 10_000)})
    assert response.status_code == 422 and "covers 100 km2" in response.json()["detail"]


def test_without_an_area_a_beat_is_measured_in_its_utm_zone(client, auth, conn, beat):
    conn.execute(text("DELETE FROM area"))
    walk(conn, [(0, 100, at("23:00", "2026-11-09")), (200, 100, at("23:03", "2026-11-09"))])
    # With no area the window is UTC: 23:00 in Helsinki is 21:00 UTC, outside 22:00-06:00.
    assert gaps(client, auth)["summary"]["covered_length_m"] == 0
    assert gaps(client, auth, window="20:00-06:00")["summary"]["covered_share"] == 1.0
