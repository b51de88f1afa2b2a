"""Service and coordination through the API, on a small world in metres: walking catchments of
service stations and schools over a line of 100 m streets, residents needing home service,
facility issues, school-age children."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.metres import area, box, line, lonlat, metric, offset, point

AS_OF = date(2026, 6, 15)
HIDDEN = "Secret Name"


@pytest.fixture
def app(app):
    """The app with the service router, if api.main does not include it yet."""
    from api.routers import service

    if not any(getattr(route, "path", "").startswith("/api/service") for route in app.routes):
        app.include_router(service.router)
    return app


@pytest.fixture
def world(conn):
    """Beats T-1 (x -100..350) and T-2 (x 350..700), y -100..100. Streets along y = 0 from
    x = 0 to 500 in 100 m blocks, vertices 1-6 at x = 0, 100, ..., 500. Service station 1 at
    (0, 0) on vertex 1; service station 2 at (580, 0) in T-2, 80 m past vertex 6.

    Households (building; residents by birth year, * needs home service):
      h1 (240, 30) B1: 1980* permanent, 2020 permanent        near the street, 240 m along
      h2 (-40, 0)  B4: 1935* temporary                         40 m behind station 1
      h3 (310, 10) B3: 1950* floating                          61 m past x = 250
      h4 (100, 60) B2: 1940* permanent, 2021 permanent         60 m off the street
      h5 (100, 45) B2: 2009 permanent                          45 m off the street
      h6 (600, 50) B5 (in T-2): 2008 permanent, 2013 temporary
    """
    streets = ", ".join(f"({k}, {k}, {k + 1}, 100, {line(((k - 1) * 100, 0), (k * 100, 0))})" for k in range(1, 6))
    buildings = {1: (220, 20, 260, 40), 2: (90, 40, 110, 70), 3: (300, 5, 320, 25), 4: (-60, -20, -30, 20),
                 5: (590, 40, 610, 60)}
    households = {1: (1, 240, 30), 2: (4, -40, 0), 3: (3, 310, 10), 4: (2, 100, 60), 5: (2, 100, 45),
                  6: (5, 600, 50)}
    residents = [(1, 1980, "permanent", True), (1, 2020, "permanent", False), (2, 1935, "temporary", True),
                 (3, 1950, "floating", True), (4, 1940, "permanent", True), (4, 2021, "permanent", False),
                 (5, 2009, "permanent", False), (6, 2008, "permanent", False), (6, 2013, "temporary", False)]
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES
            ('T-1', 'West', ST_Multi({metric(box(-100, -100, 350, 100))})),
            ('T-2', 'East', ST_Multi({metric(box(350, -100, 700, 100))}));
        INSERT INTO street_segment (id, source, target, length_m, geom) VALUES {streets};
        INSERT INTO service_station (id, name, opening_hours, geom) VALUES
            (1, 'West post', 'Mo-Fr 09:00-17:00', {point(0, 0)}), (2, 'East post', NULL, {point(580, 0)});
        INSERT INTO building (id, use, address, geom) VALUES
            {", ".join(f"({i}, 'residential', 'Street {i}', ST_Multi({metric(box(*b))}))" for i, b in buildings.items())};
        INSERT INTO household (id, building_id, geom) VALUES
            {", ".join(f"({i}, {b}, {point(x, y)})" for i, (b, x, y) in households.items())};
        INSERT INTO resident (household_id, name, category, birth_year, needs_home_service) VALUES
            {", ".join(f"({h}, '{HIDDEN}', '{c}', {y}, {n})" for h, y, c, n in residents)};
    """))
    return "T-1"


def get(client, auth, path, role="planner", **params):
    return client.get(f"/api/service{path}", params=params, headers=auth(role))


# --- catchments --------------------------------------------------------------------------------


def test_a_250_m_walk_reaches_three_vertices_and_halfway_down_the_third_block(client, auth, world):
    response = get(client, auth, "/stations/catchments", beat="T-1", walk_m=250)
    assert response.status_code == 200, response.text
    body = response.json()
    west, east = body["features"]
    p = west["properties"]
    # pgr_drivingDistance gives whole vertices: 1, 2, 3 at 0, 100, 200 m (vertex 4 at 300 m is out);
    # the walk goes on 50 m into the third block.
    assert (p["station_id"], p["in_place"], p["snap_m"], p["vertices_reached"]) == (1, True, 0.0, 3)
    assert p["street_m"] == pytest.approx(250, abs=0.01)
    [streets] = p["streets"]["coordinates"]
    assert [offset(streets[0]), offset(streets[-1])] == [(0.0, 0.0), (250.0, 0.0)]
    assert west["geometry"]["type"] == "MultiPolygon"
    # Within 50 m of the street walked: h1 (30 m off), h2 (40 m behind the start), h5 (45 m off).
    assert (p["households"], p["residents"], p["residents_needing_home_service"]) == (3, 4, 2)
    # Station 2 stands in T-2, 230 m from T-1: its walk, less the 80 m to vertex 6, reaches
    # vertices 6 and 5 and 70 m into block 4 (x = 330..500), which takes in h3 of T-1.
    q = east["properties"]
    assert (q["station_id"], q["in_place"], q["vertices_reached"]) == (2, False, 2)
    assert q["snap_m"] == pytest.approx(80, abs=0.1) and q["street_m"] == pytest.approx(170, abs=0.1)
    [streets] = q["streets"]["coordinates"]
    assert sorted(offset(c)[0] for c in (streets[0], streets[-1])) == [pytest.approx(330, abs=0.1), 500.0]
    assert (q["households"], q["residents"], q["residents_needing_home_service"]) == (1, 1, 1)
    # The gap: h4, 60 m off the street, within no walk.
    assert body["summary"]["gap"] == {"households": 1, "residents": 2, "residents_needing_home_service": 1,
                                      "households_in_place": 5}
    assert HIDDEN not in response.text


def test_a_walk_ending_on_a_vertex_reaches_it_and_no_further(client, auth, world):
    p = get(client, auth, "/stations/catchments", beat="T-1", walk_m=100).json()["features"][0]["properties"]
    assert (p["vertices_reached"], p["street_m"]) == (2, pytest.approx(100, abs=0.01))
    assert (p["households"], p["residents_needing_home_service"]) == (2, 1)  # h2 and h5, not h1


def test_a_station_farther_from_the_streets_than_the_walk_serves_nobody(client, auth, world):
    body = get(client, auth, "/stations/catchments", beat="T-2", walk_m=60).json()
    [east] = body["features"]  # station 1 is 350 m from T-2: not asked about
    assert east["geometry"] is None and east["properties"]["vertices_reached"] == 0
    assert east["properties"]["households"] == 0
    assert body["summary"]["gap"]["households"] == body["summary"]["gap"]["households_in_place"] == 1


@pytest.mark.parametrize("removed", ["service_station", "street_segment"])
def test_without_stations_or_streets_every_household_is_in_the_gap(client, auth, conn, world, removed):
    conn.execute(text(f"DELETE FROM {removed}"))
    body = get(client, auth, "/stations/catchments", beat="T-1", walk_m=250).json()
    assert [f["properties"]["vertices_reached"] for f in body["features"]] == \
        ([] if removed == "service_station" else [0, 0])
    assert all(f["geometry"] is None and f["properties"]["snap_m"] is None for f in body["features"])
    assert body["summary"]["gap"]["households"] == body["summary"]["gap"]["households_in_place"] == 5


def test_catchments_are_paged_and_the_gap_counts_every_station(client, auth, world):
    first = get(client, auth, "/stations/catchments", beat="T-1", walk_m=250, limit=1)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [f["id"] for f in body["features"]] == [1] and body["summary"]["stations"] == 2
    assert body["summary"]["gap"]["households"] == 1
    [link] = body["links"]
    rest = client.get(link["href"], headers=auth("planner")).json()
    assert [f["id"] for f in rest["features"]] == [2] and rest["links"] == []


def test_without_a_beat_the_catchments_cover_the_whole_area(client, auth, world):
    body = get(client, auth, "/stations/catchments", walk_m=250).json()
    assert body["summary"]["place"] == "test"
    assert body["summary"]["gap"] == {"households": 2, "residents": 4, "residents_needing_home_service": 1,
                                      "households_in_place": 6}


@pytest.mark.parametrize(("params", "status"), [({"beat": "NOPE"}, 404), ({"beat": "T-1", "walk_m": 0}, 422),
                                                ({"beat": "T-1", "walk_m": 5000}, 422),
                                                ({"beat": "T-1", "limit": 101}, 422)])
def test_a_wrong_catchment_question_says_so(client, auth, world, params, status):
    assert get(client, auth, "/stations/catchments", **params).status_code == status


# --- home service ----------------------------------------------------------------------------


def audited(conn) -> list[int]:
    return conn.execute(text("SELECT record_id FROM audit_log WHERE record_table = 'household' AND action = 'read' "
                             "ORDER BY record_id")).scalars().all()


def test_households_needing_home_service_are_paged_counted_and_audited(client, auth, conn, world):
    first = get(client, auth, "/home-service", role="supervisor", beat="T-1", limit=3)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [f["id"] for f in body["features"]] == [1, 2, 3]
    assert body["features"][0]["properties"] == {
        "household_id": 1, "building_id": 1, "residents_needing_home_service": 1,
        "categories": {"permanent": 1, "temporary": 0, "floating": 0}}
    assert offset(body["features"][1]["geometry"]["coordinates"]) == (-40.0, 0.0)
    rest = client.get(body["links"][0]["href"], headers=auth("supervisor")).json()
    assert [f["id"] for f in rest["features"]] == [4] and rest["links"] == []
    assert audited(conn) == [1, 2, 3, 4]
    assert HIDDEN not in first.text


def test_an_officer_sees_the_households_of_their_own_beats_only(client, auth, conn, world):
    assert get(client, auth, "/home-service", role="officer", beat="T-1").status_code == 403
    conn.execute(text("""
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
        SELECT o.id, b.id, current_date - 1 FROM officer o, beat b WHERE o.badge = 'T-1' AND b.code = 'T-1'
    """))
    response = get(client, auth, "/home-service", role="officer")
    assert response.status_code == 200, response.text
    assert [f["id"] for f in response.json()["features"]] == [1, 2, 3, 4]
    assert get(client, auth, "/home-service", role="officer", beat="T-2").status_code == 403


def test_a_planner_sees_home_service_per_building_not_per_household(client, auth, conn, world):
    refused = get(client, auth, "/home-service", beat="T-1")
    assert refused.status_code == 403 and "per=building" in refused.text
    response = get(client, auth, "/home-service", beat="T-1", per="building")
    assert response.status_code == 200, response.text
    counts = {f["id"]: (f["properties"]["households"], f["properties"]["residents_needing_home_service"])
              for f in response.json()["features"]}
    assert counts == {1: (1, 1), 2: (1, 1), 3: (1, 1), 4: (1, 1)}
    assert audited(conn) == []


# --- school-age children ---------------------------------------------------------------------


def test_school_age_children_are_counted_by_birth_year(client, auth, world):
    response = get(client, auth, "/children", as_of=AS_OF.isoformat())
    assert response.status_code == 200, response.text
    body = response.json()
    # 2026 - birth year from 6 to 17 counts: 2020 (6) and 2009 (17) yes, 2021 (5) and 2008 (18) no.
    per_building = {f["id"]: (f["properties"]["children"], f["properties"]["by_stage"]) for f in body["features"]}
    assert per_building == {
        1: (1, {"primary": 1, "junior_secondary": 0, "senior_secondary": 0}),
        2: (1, {"primary": 0, "junior_secondary": 0, "senior_secondary": 1}),
        5: (1, {"primary": 0, "junior_secondary": 1, "senior_secondary": 0})}
    assert [(b["beat"], b["children"]) for b in body["summary"]["per_beat"]] == [("T-1", 2), ("T-2", 1)]
    assert body["summary"]["rule"].startswith("2026 minus the birth year is 6 to 17 (born 2009 to 2020)")


def test_children_keep_to_the_beat_and_are_paged(client, auth, world):
    body = get(client, auth, "/children", beat="T-1", as_of=AS_OF.isoformat(), limit=1).json()
    assert [f["id"] for f in body["features"]] == [1]
    assert [(b["beat"], b["children"]) for b in body["summary"]["per_beat"]] == [("T-1", 2)]
    rest = client.get(body["links"][0]["href"], headers=auth("planner")).json()
    assert [f["id"] for f in rest["features"]] == [2] and rest["links"] == []
    # A year on, the 2009 child is 18 and the 2021 one 6.
    later = get(client, auth, "/children", beat="T-1", as_of="2027-01-01").json()
    assert {f["id"]: f["properties"]["children"] for f in later["features"]} == {1: 1, 2: 1}


# --- school catchments -----------------------------------------------------------------------


@pytest.fixture
def schools(conn, world):
    """Two schools, a kindergarten and a clinic in the world. School 1 at (200, 0) on vertex 3,
    in building 6; school 2 at (580, 0) in T-2, 80 m past vertex 6, like service station 2.
    The kindergarten at (0, 0) and the clinic at (100, 0) draw no catchment."""
    conn.execute(text(f"""INSERT INTO building (id, use, address, geom) VALUES
                          (6, 'public', 'School Street 1', ST_Multi({metric(box(190, -30, 210, -10))}))"""))
    return dict(zip(("primary", "east", "kindergarten", "clinic"), conn.execute(text(f"""
        INSERT INTO public_facility (kind, name, building_id, geom) VALUES
            ('school', 'West primary', 6, {point(200, 0)}), ('school', 'East school', NULL, {point(580, 0)}),
            ('kindergarten', 'Little ones', NULL, {point(0, 0)}), ('clinic', 'Health post', NULL, {point(100, 0)})
        RETURNING id
    """)).scalars().all()))


def test_a_school_catchment_counts_the_children_walking_distance_away_by_stage(client, auth, world, schools):
    response = get(client, auth, "/schools/catchments", walk_m=150, as_of=AS_OF.isoformat())
    assert response.status_code == 200, response.text
    body = response.json()
    west, east = body["features"]
    p = west["properties"]
    # From vertex 3 (x = 200) 150 m both ways: vertices 2 and 4 at 100 m, then 50 m on, so the
    # streets from x = 50 to 350, widened by 50 m: h1 (30 m off), h3 (10 m) and h5 (45 m).
    assert (west["id"], p["school_id"], p["name"], p["building_id"], p["address"], p["in_place"]) == \
        (schools["primary"], schools["primary"], "West primary", 6, "School Street 1", True)
    assert (p["snap_m"], p["vertices_reached"], p["street_m"]) == (0.0, 3, pytest.approx(300, abs=0.01))
    [streets] = p["streets"]["coordinates"]
    assert sorted(offset(c)[0] for c in (streets[0], streets[-1])) == [50.0, 350.0]
    # h1's child born 2020 (6: primary), h5's born 2009 (17: senior secondary); h3 has none.
    assert (p["households"], p["children"], p["by_stage"]) == \
        (3, 2, {"primary": 1, "junior_secondary": 0, "senior_secondary": 1})
    # School 2: 80 m to vertex 6, then 70 m back along the street to x = 430; nobody lives there.
    q = east["properties"]
    assert (q["school_id"], q["building_id"], q["in_place"], q["snap_m"]) == \
        (schools["east"], None, True, pytest.approx(80, abs=0.1))
    assert (q["households"], q["children"]) == (0, 0)
    # Inside no catchment: h2, h4 (its child born 2021 is 5) and h6 (born 2013: 13, junior
    # secondary; born 2008: 18, no longer of school age).
    assert body["summary"]["gap"] == {"households": 3, "children": 1, "households_in_place": 6,
                                      "by_stage": {"primary": 0, "junior_secondary": 1, "senior_secondary": 0}}
    assert (body["summary"]["schools"], body["summary"]["place"]) == (2, "test")
    assert body["summary"]["rule"].startswith("2026 minus the birth year is 6 to 17")
    assert HIDDEN not in response.text


def test_school_catchments_keep_to_the_beat_and_the_day(client, auth, world, schools):
    body = get(client, auth, "/schools/catchments", beat="T-1", walk_m=150, as_of=AS_OF.isoformat()).json()
    # School 2 stands 230 m from T-1: beyond the walk, not asked about.
    assert [f["id"] for f in body["features"]] == [schools["primary"]]
    assert body["summary"]["gap"]["children"] == 0 and body["summary"]["gap"]["households_in_place"] == 5
    # A year on, the child born 2009 is 18, and the one born 2021 (h4, outside) is 6.
    later = get(client, auth, "/schools/catchments", beat="T-1", walk_m=150, as_of="2027-01-01").json()
    assert later["features"][0]["properties"]["by_stage"] == \
        {"primary": 1, "junior_secondary": 0, "senior_secondary": 0}
    assert later["summary"]["gap"]["by_stage"]["primary"] == 1


def test_without_schools_every_child_is_in_the_gap(client, auth, world):
    body = get(client, auth, "/schools/catchments", as_of=AS_OF.isoformat()).json()
    assert body["features"] == [] and body["summary"]["schools"] == 0
    assert body["summary"]["gap"]["children"] == 3  # born 2020, 2009 and 2013


@pytest.mark.parametrize("role", ["officer", "supervisor", "planner", "admin"])
def test_school_catchments_are_counts_for_every_role(client, auth, world, schools, role):
    response = get(client, auth, "/schools/catchments", role=role, beat="T-1", walk_m=150)
    assert response.status_code == 200, response.text
    assert HIDDEN not in response.text


@pytest.mark.parametrize(("params", "status"), [({"beat": "NOPE"}, 404), ({"walk_m": 0}, 422),
                                                ({"walk_m": 5000}, 422), ({"as_of": "June"}, 422)])
def test_a_wrong_school_catchment_question_says_so(client, auth, world, params, status):
    assert get(client, auth, "/schools/catchments", **params).status_code == status


# --- facility issues ---------------------------------------------------------------------------


def report(client, auth, role="officer", **changes):
    body = {"kind": "light", "description": "street light out", "reported_on": (date.today() - timedelta(days=1)).isoformat(),
            **lonlat(100, 10), **changes}
    return client.post("/api/service/facility-issues", json=body, headers=auth(role))


def patch(client, auth, issue_id, role="officer", **body):
    """A change of the issue, on its current version unless the body names one."""
    if "version" not in body:
        read = client.get(f"/api/service/facility-issues/{issue_id}", headers=auth(role))
        body["version"] = read.json()["properties"]["version"] if read.status_code == 200 else 1
    return client.patch(f"/api/service/facility-issues/{issue_id}", json=body, headers=auth(role))


def changes_of(conn, issue_id):
    return conn.execute(text("SELECT reason, changes FROM change_log WHERE record_table = 'facility_issue' "
                             "AND record_id = :id ORDER BY id"), {"id": issue_id}).all()


def test_a_facility_issue_moves_forward_to_fixed_with_its_history(client, auth, conn, world):
    made = report(client, auth)
    assert made.status_code == 201, made.text
    issue = made.json()
    issue_id = issue["id"]
    assert issue["properties"]["status"] == "open" and made.headers["location"].endswith(f"/{issue_id}")
    assert offset(issue["geometry"]["coordinates"]) == (100.0, 10.0)
    no_owner = patch(client, auth, issue_id, status="assigned", reason="sent on")
    assert no_owner.status_code == 422 and "needs an owner" in no_owner.text
    assigned = patch(client, auth, issue_id, status="assigned", owner="Estate Co", reason="property company called")
    assert assigned.status_code == 200, assigned.text
    assert (assigned.json()["properties"]["status"], assigned.json()["properties"]["owner"]) == ("assigned", "Estate Co")
    back = patch(client, auth, issue_id, status="open", reason="undo")
    assert back.status_code == 422 and "forward only" in back.text
    same = patch(client, auth, issue_id, status="assigned", reason="again")
    assert same.status_code == 422 and "nothing changes" in same.text
    fixed = patch(client, auth, issue_id, role="supervisor", status="fixed", reason="lamp replaced")
    assert fixed.status_code == 200, fixed.text
    assert patch(client, auth, issue_id, owner="Committee", reason="late").status_code == 422  # fixed is final
    logged = changes_of(conn, issue_id)
    assert [reason for reason, _ in logged] == ["facility issue reported", "property company called", "lamp replaced"]
    assert logged[0][1]["status"] == [None, "open"] and logged[0][1]["kind"] == [None, "light"]
    assert logged[1][1] == {"status": ["open", "assigned"], "owner": [None, "Estate Co"], "version": [1, 2]}
    assert logged[2][1] == {"status": ["assigned", "fixed"], "version": [2, 3]}
    assert fixed.json()["properties"]["version"] == 3
    history = client.get(f"/api/service/facility-issues/{issue_id}", headers=auth("planner")).json()["history"]
    assert [h["reason"] for h in history] == [reason for reason, _ in logged]


def test_a_change_on_a_stale_version_is_refused(client, auth, conn, world):
    issue_id = report(client, auth).json()["id"]
    assert patch(client, auth, issue_id, status="assigned", owner="Estate Co", reason="called").status_code == 200
    stale = patch(client, auth, issue_id, role="supervisor", version=1, status="fixed", reason="lamp replaced")
    assert stale.status_code == 409
    assert "changed since version 1 (it is at version 2, assigned)" in stale.json()["detail"]
    assert [r for r, _ in changes_of(conn, issue_id)] == ["facility issue reported", "called"]
    assert patch(client, auth, issue_id, version=2, status="fixed", reason="lamp replaced").status_code == 200


def test_an_issue_may_be_fixed_without_being_assigned_by_naming_who_fixed_it(client, auth, world):
    issue_id = report(client, auth, owner="Committee").json()["id"]
    fixed = patch(client, auth, issue_id, status="fixed", reason="the committee fixed it the same day")
    assert fixed.status_code == 200 and fixed.json()["properties"]["status"] == "fixed"


@pytest.mark.parametrize(("changes", "role", "status", "words"), [
    ({"reported_on": (date.today() + timedelta(days=2)).isoformat()}, "officer", 422, "in the future"),
    (lonlat(5000, 0), "officer", 422, "outside the area"),
    ({"kind": ""}, "officer", 422, "kind"),
    ({"status": "fixed"}, "officer", 422, "status"),
    ({}, "planner", 403, "not by the planner role"),
])
def test_a_wrong_report_says_what_to_fix(client, auth, conn, world, changes, role, status, words):
    response = report(client, auth, role=role, **changes)
    assert response.status_code == status and words in response.text
    assert conn.execute(text("SELECT count(*) FROM change_log WHERE record_table = 'facility_issue'")).scalar_one() == 0


def test_a_wrong_change_says_what_to_fix(client, auth, world):
    issue_id = report(client, auth).json()["id"]
    assert patch(client, auth, 999, status="assigned", owner="X", reason="r").status_code == 404
    assert patch(client, auth, issue_id, status="assigned", owner="X").status_code == 422  # no reason
    assert patch(client, auth, issue_id, reason="r").status_code == 422  # nothing to change
    assert patch(client, auth, issue_id, status="broken", reason="r").status_code == 422
    refused = patch(client, auth, issue_id, role="planner", status="assigned", owner="X", reason="r")
    assert refused.status_code == 403
    assert client.get("/api/service/facility-issues/999", headers=auth("planner")).status_code == 404


def test_facility_issues_are_listed_by_beat_and_status_and_paged(client, auth, world):
    ids = [report(client, auth, **lonlat(x, 10)).json()["id"] for x in (100, 200, 500)]  # T-1, T-1, T-2
    patch(client, auth, ids[1], status="assigned", owner="Estate Co", reason="called")
    listed = get(client, auth, "/facility-issues", beat="T-1")
    assert listed.status_code == 200, listed.text
    assert [f["id"] for f in listed.json()["features"]] == ids[:2]
    assert [f["id"] for f in get(client, auth, "/facility-issues", status="open").json()["features"]] == [ids[0], ids[2]]
    first = get(client, auth, "/facility-issues", limit=2).json()
    assert [f["id"] for f in first["features"]] == ids[:2]
    rest = client.get(first["links"][0]["href"], headers=auth("planner")).json()
    assert [f["id"] for f in rest["features"]] == [ids[2]] and rest["links"] == []
    assert get(client, auth, "/facility-issues", beat="NOPE").status_code == 404
    assert get(client, auth, "/facility-issues", status="broken").status_code == 422
