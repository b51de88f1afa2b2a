"""The disputes register on a small hand-drawn world: repeat locations, the status workflow,
versions, the change history, mediations, paging, beats, and who reads the free text."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.metres import area, box, lonlat, metric, offset


@pytest.fixture
def world(conn, users):
    """Two beats side by side, 300 m x 200 m each: T-1 (x 0-300) with buildings 1 (x 40-60) and
    2 (x 140-160), T-2 (x 300-600) with building 3 (x 440-460), both the officer's. No disputes yet."""
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES
            ('T-1', 'West', ST_Multi({metric(box(0, 0, 300, 200))})),
            ('T-2', 'East', ST_Multi({metric(box(300, 0, 600, 200))}));
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
            SELECT o.id, b.id, '2020-01-01' FROM officer o, beat b WHERE o.badge = 'T-1';
        INSERT INTO building (id, address, geom) VALUES
            (1, 'West 1', ST_Multi({metric(box(40, 110, 60, 130))})),
            (2, 'West 2', ST_Multi({metric(box(140, 110, 160, 130))})),
            (3, 'East 3', ST_Multi({metric(box(440, 110, 460, 130))}));
    """))


def add(conn, building: int, reported_on: str, *, status: str = "reported", category: str = "noise",
        description: str | None = None) -> int:
    """A dispute at a point of a building, straight into the table."""
    return conn.execute(text("""
        INSERT INTO dispute (building_id, category, parties_kind, reported_by, reported_on, status,
                             referred_to, description, geom)
        SELECT :b, :category, 'neighbours', 'block_captain', :d, CAST(:status AS text),
               CASE WHEN CAST(:status AS text) = 'referred' THEN 'judicial_office' END, :description,
               ST_PointOnSurface(geom)
        FROM building WHERE id = :b RETURNING id
    """), {"b": building, "d": reported_on, "status": status, "category": category,
           "description": description}).scalar_one()


def local_today(conn) -> date:
    """Today in the test area's time zone, as the database sees it in the test's transaction."""
    return conn.execute(text("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::date")).scalar_one()


NEW = {"building_id": 1, "category": "renovation", "parties_kind": "neighbours", "reported_by": "block_captain",
       "reported_on": "2026-03-02", "description": "drilling on Sundays, reported by the neighbour upstairs"}


def register(client, auth, role="officer", **changes) -> dict:
    response = client.post("/api/disputes", headers=auth(role), json={**NEW, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def disputes(client, auth, role="planner", **params) -> dict:
    response = client.get("/api/disputes", headers=auth(role), params=params)
    assert response.status_code == 200, response.text
    return response.json()


# --- repeat locations -------------------------------------------------------------------------


def test_two_disputes_30_days_apart_at_one_building_are_repeats_and_120_days_apart_are_not(
        client, auth, conn, world):
    a = add(conn, 1, "2025-01-01")
    b = add(conn, 1, "2025-01-31")  # 30 days after a
    c = add(conn, 2, "2025-01-01")
    d = add(conn, 2, "2025-05-01")  # 120 days after c
    flags = {f["id"]: f["properties"]["repeat"] for f in disputes(client, auth)["features"]}
    assert flags == {a: True, b: True, c: False, d: False}
    assert [f["id"] for f in disputes(client, auth, repeat_only="true")["features"]] == [a, b]


def test_the_repeat_window_counts_both_ends_and_follows_days(client, auth, conn, world):
    a = add(conn, 1, "2025-01-01")
    b = add(conn, 1, "2025-04-01")  # 90 days after a: a repeat
    c = add(conn, 2, "2025-01-01")
    d = add(conn, 2, "2025-04-02")  # 91 days after c: not
    e = add(conn, 3, "2025-01-01")  # alone at its building
    flags = {f["id"]: f["properties"]["repeat"] for f in disputes(client, auth)["features"]}
    assert flags == {a: True, b: True, c: False, d: False, e: False}
    narrower = {f["id"]: f["properties"]["repeat"] for f in disputes(client, auth, days=89)["features"]}
    assert not any(narrower.values())


def test_a_third_dispute_pairs_only_with_its_neighbour_in_time(client, auth, conn, world):
    a = add(conn, 1, "2025-01-01")
    b = add(conn, 1, "2025-06-01")  # 151 days after a
    c = add(conn, 1, "2025-07-01")  # 30 days after b
    flags = {f["id"]: f["properties"]["repeat"] for f in disputes(client, auth)["features"]}
    assert flags == {a: False, b: True, c: True}


def test_repeat_locations_list_the_buildings_with_their_counts_and_dates(client, auth, conn, world):
    add(conn, 1, "2025-01-01", status="resolved")
    add(conn, 1, "2025-01-31")
    add(conn, 1, "2025-09-01")  # far from both: counted, not a repeat
    add(conn, 2, "2025-01-01")
    add(conn, 2, "2025-05-01")  # 120 days: building 2 is no repeat location
    add(conn, 3, "2025-02-01")
    add(conn, 3, "2025-02-11", status="referred")
    response = client.get("/api/disputes/repeat-locations", headers=auth("planner"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [f["id"] for f in body["features"]] == [1, 3]
    west = body["features"][0]
    assert west["properties"] == {"building_id": 1, "address": "West 1", "disputes": 3, "repeat_disputes": 2,
                                  "open_disputes": 2, "dates": ["2025-01-01", "2025-01-31", "2025-09-01"]}
    x, y = offset(west["geometry"]["coordinates"])
    assert 40 <= x <= 60 and 110 <= y <= 130  # on the building
    east = client.get("/api/disputes/repeat-locations", headers=auth("planner"), params={"beat": "T-2"}).json()
    assert [(f["id"], f["properties"]["open_disputes"]) for f in east["features"]] == [(3, 1)]
    wider = client.get("/api/disputes/repeat-locations", headers=auth("planner"), params={"days": 120}).json()
    assert [f["id"] for f in wider["features"]] == [1, 2, 3]


# --- registering -----------------------------------------------------------------------------


def test_a_dispute_registered_at_a_building_sits_on_it_and_its_creation_is_in_the_history(
        client, auth, conn, users, world):
    response = client.post("/api/disputes", headers=auth("officer"), json=NEW)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"].endswith(f"/api/disputes/{body['id']}")
    props = body["properties"]
    assert props["status"] == "reported" and props["version"] == 1 and props["building_id"] == 1
    assert props["description"] == NEW["description"] and props["repeat"] is False
    x, y = offset(body["geometry"]["coordinates"])
    assert 40 <= x <= 60 and 110 <= y <= 130
    [created] = body["history"]
    assert created["by"] == "officer" and created["reason"] == "dispute registered"
    assert created["changes"]["status"] == [None, "reported"]
    assert created["changes"]["category"] == [None, "renovation"]
    assert created["changes"]["reported_on"] == [None, "2026-03-02"]
    assert created["changes"]["description"] == [None, "(text)"]  # the text itself is not copied
    logged = conn.execute(text("SELECT record_table, record_id, changed_by FROM change_log")).all()
    assert logged == [("dispute", body["id"], users["officer"])]


def test_a_dispute_may_be_placed_at_a_point_of_its_own(client, auth, world):
    body = register(client, auth, role="supervisor", building_id=None, description=None, **lonlat(100, 50))
    assert offset(body["geometry"]["coordinates"]) == (100.0, 50.0)
    assert body["properties"]["building_id"] is None
    assert "description" not in body["history"][0]["changes"]
    blank = register(client, auth, description="   ")
    assert blank["properties"]["description"] is None and "description" not in blank["history"][0]["changes"]


@pytest.mark.parametrize("changes, status, words", [
    ({"building_id": 999}, 404, "no building 999"),
    ({"reported_on": "2999-01-01"}, 422, "in the future"),
    ({"building_id": None}, 422, "say where"),
    ({"building_id": None, **lonlat(5000, 0)}, 422, "outside the area"),
    ({"lon": 24.9}, 422, "both lon and lat"),
    ({"category": "parking"}, 422, "renovation"),
    ({"reported_by": "neighbour"}, 422, "block_captain"),
    ({"status": "resolved"}, 422, "status"),  # a new dispute is reported; no other field is taken
])
def test_a_bad_registration_says_what_to_fix(client, auth, conn, world, changes, status, words):
    response = client.post("/api/disputes", headers=auth("officer"), json={**NEW, **changes})
    assert response.status_code == status, response.text
    assert words in response.text
    assert conn.execute(text("SELECT count(*) FROM dispute")).scalar_one() == 0
    assert conn.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 0


def test_tomorrow_is_in_the_future_and_today_is_not(client, auth, conn, world):
    today = local_today(conn)
    tomorrow = client.post("/api/disputes", headers=auth("officer"),
                           json={**NEW, "reported_on": str(today + timedelta(days=1))})
    assert tomorrow.status_code == 422 and "in the future" in tomorrow.json()["detail"]
    assert register(client, auth, reported_on=str(today))["properties"]["reported_on"] == str(today)


@pytest.mark.parametrize("role", ["planner", "admin"])
def test_only_officers_and_supervisors_register_disputes(client, auth, world, role):
    response = client.post("/api/disputes", headers=auth(role), json=NEW)
    assert response.status_code == 403 and "officers and supervisors" in response.json()["detail"]


# --- the workflow and versions ------------------------------------------------------------------


def patch(client, auth, dispute_id, role="officer", **body):
    return client.patch(f"/api/disputes/{dispute_id}", headers=auth(role), json=body)


def test_a_dispute_goes_from_reported_to_mediating_to_referred_and_each_step_is_in_the_history(
        client, auth, conn, world):
    dispute_id = register(client, auth)["id"]
    mediating = patch(client, auth, dispute_id, status="mediating", version=1, reason="both sides agreed to talk")
    assert mediating.status_code == 200, mediating.text
    assert mediating.json()["properties"]["version"] == 2
    assert mediating.json()["properties"]["closed_on"] is None
    referred = patch(client, auth, dispute_id, role="supervisor", status="referred",
                     referred_to="judicial_office", version=2, reason="a claim for damages")
    assert referred.status_code == 200, referred.text
    body = referred.json()
    assert (body["properties"]["status"], body["properties"]["referred_to"]) == ("referred", "judicial_office")
    assert body["properties"]["version"] == 3
    today = local_today(conn).isoformat()
    assert body["properties"]["closed_on"] == today  # referred: closed, today by default
    _, to_mediating, to_referred = body["history"]
    assert to_mediating == {**to_mediating, "by": "officer", "reason": "both sides agreed to talk",
                            "changes": {"status": ["reported", "mediating"], "version": [1, 2]}}
    assert to_referred["by"] == "supervisor" and to_referred["reason"] == "a claim for damages"
    assert to_referred["changes"] == {"status": ["mediating", "referred"], "version": [2, 3],
                                      "referred_to": [None, "judicial_office"], "closed_on": [None, today]}
    [listed] = disputes(client, auth)["features"]
    assert listed["properties"]["closed_on"] == today


def test_a_resolved_dispute_is_closed_on_the_day_given(client, auth, conn, world):
    dispute_id = add(conn, 1, "2025-01-01", status="mediating")
    response = patch(client, auth, dispute_id, status="resolved", closed_on="2025-02-10", version=1,
                     reason="agreement signed at the committee")
    assert response.status_code == 200, response.text
    assert response.json()["properties"]["closed_on"] == "2025-02-10"
    assert conn.execute(text("SELECT closed_on FROM dispute")).scalar_one() == date(2025, 2, 10)


@pytest.mark.parametrize("start, body, words", [
    ("reported", {"status": "mediating", "closed_on": "2025-02-10"}, "closed_on goes with status resolved or referred"),
    ("mediating", {"status": "resolved", "closed_on": "2024-12-31"}, "before the dispute was reported (2025-01-01)"),
    ("mediating", {"status": "resolved", "closed_on": "2099-01-01"}, "in the future"),
])
def test_a_wrong_closing_day_is_refused(client, auth, conn, world, start, body, words):
    dispute_id = add(conn, 1, "2025-01-01", status=start)
    response = patch(client, auth, dispute_id, version=1, reason="closing", **body)
    assert response.status_code == 422 and words in response.json()["detail"]
    assert conn.execute(text("SELECT status, closed_on FROM dispute")).one() == (start, None)


@pytest.mark.parametrize("start, body, words", [
    ("reported", {"status": "resolved"}, "dispute {id} is reported, which can only go to mediating; not to resolved"),
    ("reported", {"status": "referred", "referred_to": "judicial_office"}, "can only go to mediating"),
    ("reported", {"status": "reported"}, "can only go to mediating"),
    ("resolved", {"status": "mediating"}, "dispute {id} is resolved, which is final"),
    ("referred", {"status": "resolved"}, "is referred, which is final"),
    ("mediating", {"status": "referred"}, "referred_to"),
    ("mediating", {"status": "resolved", "referred_to": "mediation_committee"}, "only with it"),
])
def test_a_step_the_workflow_does_not_allow_is_refused_with_the_allowed_ones(
        client, auth, conn, world, start, body, words):
    dispute_id = add(conn, 1, "2025-01-01", status=start)
    response = patch(client, auth, dispute_id, version=1, reason="trying", **body)
    assert response.status_code == 422
    assert words.format(id=dispute_id) in response.json()["detail"]
    assert conn.execute(text("SELECT status, version FROM dispute")).one() == (start, 1)
    assert conn.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 0


@pytest.mark.parametrize("body, words", [
    ({"status": "closed", "version": 1, "reason": "x"}, "mediating"),
    ({"status": "referred", "referred_to": "court", "version": 1, "reason": "x"}, "judicial_office"),
    ({"status": "mediating", "version": 1}, "reason"),
    ({"status": "mediating", "version": 1, "reason": "   "}, "reason"),
    ({"status": "mediating", "reason": "x"}, "version"),
    ({"status": "mediating", "version": 1, "reason": "x", "category": "noise"}, "category"),
])
def test_a_change_without_a_known_status_a_reason_or_a_version_is_refused(client, auth, conn, world, body, words):
    dispute_id = add(conn, 1, "2025-01-01")
    response = client.patch(f"/api/disputes/{dispute_id}", headers=auth("officer"), json=body)
    assert response.status_code == 422 and words in response.text


def test_a_change_made_on_a_stale_version_is_a_conflict(client, auth, conn, world):
    dispute_id = register(client, auth)["id"]
    assert patch(client, auth, dispute_id, status="mediating", version=1, reason="first").status_code == 200
    stale = patch(client, auth, dispute_id, role="supervisor", status="mediating", version=1, reason="second")
    assert stale.status_code == 409
    assert stale.json()["detail"] == (f"dispute {dispute_id} has changed since version 1 (it is at version 2, "
                                      "mediating); reload it and decide again")
    assert conn.execute(text("SELECT version FROM dispute")).scalar_one() == 2
    assert len(client.get(f"/api/disputes/{dispute_id}", headers=auth("officer")).json()["history"]) == 2


def test_changing_an_unknown_dispute_is_not_found(client, auth, world):
    response = patch(client, auth, 999, status="mediating", version=1, reason="x")
    assert response.status_code == 404 and response.json()["detail"] == "no dispute 999"
    assert client.get("/api/disputes/999", headers=auth("planner")).status_code == 404


# --- mediations ---------------------------------------------------------------------------------


def mediate(client, auth, dispute_id, role="officer", **body):
    return client.post(f"/api/disputes/{dispute_id}/mediations", headers=auth(role),
                       json={"outcome": "agreed on quiet hours", **body})


def test_a_mediation_is_recorded_with_the_officer_who_held_it(client, auth, conn, world):
    dispute_id = register(client, auth)["id"]
    response = mediate(client, auth, dispute_id, held_on="2026-03-05")
    assert response.status_code == 201, response.text
    [mediation] = response.json()["mediations"]
    officer = conn.execute(text("SELECT id FROM officer WHERE badge = 'T-1'")).scalar_one()
    assert mediation == {**mediation, "held_on": "2026-03-05", "officer_id": officer, "officer_badge": "T-1",
                         "outcome": "agreed on quiet hours"}
    assert response.json()["history"][-1]["changes"] == {"mediation": [None, mediation["id"]]}
    logged = conn.execute(text("SELECT changes FROM change_log WHERE record_table = 'mediation'")).scalar_one()
    assert logged == {"dispute_id": [None, dispute_id], "officer_id": [None, officer],
                      "held_on": [None, "2026-03-05"], "outcome": [None, "(text)"]}
    by_supervisor = mediate(client, auth, dispute_id, role="supervisor", held_on="2026-03-02")
    assert by_supervisor.status_code == 201, by_supervisor.text
    first, second = by_supervisor.json()["mediations"]  # oldest first
    assert (first["held_on"], first["officer_id"]) == ("2026-03-02", None)
    assert second["id"] == mediation["id"]
    assert disputes(client, auth)["features"][0]["properties"]["mediations"] == 2


@pytest.mark.parametrize("held_on, words", [
    ("2026-03-01", "held_on (2026-03-01) is before the dispute was reported (2026-03-02)"),
    ("2999-01-01", "held_on (2999-01-01) is in the future"),
])
def test_a_mediation_before_the_report_or_in_the_future_is_refused(client, auth, conn, world, held_on, words):
    dispute_id = register(client, auth)["id"]
    response = mediate(client, auth, dispute_id, held_on=held_on)
    assert response.status_code == 422 and words in response.json()["detail"]
    assert conn.execute(text("SELECT count(*) FROM mediation")).scalar_one() == 0


def test_a_mediation_of_an_unknown_dispute_or_without_an_outcome_is_refused(client, auth, world):
    assert mediate(client, auth, 999, held_on="2026-03-05").status_code == 404
    dispute_id = register(client, auth)["id"]
    empty = mediate(client, auth, dispute_id, held_on="2026-03-05", outcome="")
    assert empty.status_code == 422 and "outcome" in empty.text


# --- lists: paging, filters ----------------------------------------------------------------------


def test_the_list_is_paged_by_id_with_next_links(client, auth, conn, world):
    ids = [add(conn, 1 + i % 3, f"2025-0{1 + i}-01") for i in range(5)]
    seen, pages, params = [], 0, {"limit": 2}
    while True:
        body = disputes(client, auth, **params)
        pages += 1
        assert body["numberReturned"] == len(body["features"]) <= 2
        seen += [f["id"] for f in body["features"]]
        if not body["links"]:
            break
        [link] = body["links"]
        assert link["rel"] == "next" and f"after={seen[-1]}" in link["href"] and "limit=2" in link["href"]
        params = {"limit": 2, "after": seen[-1]}
    assert (seen, pages) == (ids, 3)
    too_many = client.get("/api/disputes", headers=auth("planner"), params={"limit": 101})
    assert too_many.status_code == 422 and too_many.json()["detail"] == "limit may be at most 100"


def test_the_list_filters_by_beat_status_category_and_dates(client, auth, conn, world):
    west_old = add(conn, 1, "2025-01-01", category="renovation")
    west_new = add(conn, 2, "2025-06-01", status="mediating")
    east = add(conn, 3, "2025-03-01")

    def ids(**params):
        return [f["id"] for f in disputes(client, auth, **params)["features"]]

    assert ids(beat="T-1") == [west_old, west_new]
    assert ids(beat="T-2") == [east]
    assert ids(status="reported") == [west_old, east]
    assert ids(category="renovation") == [west_old]
    assert ids(since="2025-03-01") == [west_new, east]
    assert ids(until="2025-03-01") == [west_old, east]
    assert ids(beat="T-1", status="mediating") == [west_new]
    unknown = client.get("/api/disputes", headers=auth("planner"), params={"beat": "NOPE"})
    assert unknown.status_code == 404 and "no beat with code 'NOPE'" in unknown.json()["detail"]
    backwards = client.get("/api/disputes", headers=auth("planner"), params={"since": "2025-02-01",
                                                                            "until": "2025-01-01"})
    assert backwards.status_code == 422 and "before since" in backwards.json()["detail"]
    assert client.get("/api/disputes", headers=auth("planner"), params={"status": "open"}).status_code == 422


def test_the_list_features_are_points_with_the_registers_fields_and_no_free_text(client, auth, conn, world):
    add(conn, 3, "2025-01-01", description="Mr Wang's dog")
    [feature] = disputes(client, auth, role="officer")["features"]
    assert feature["geometry"]["type"] == "Point"
    assert feature["properties"] == {"building_id": 3, "category": "noise", "parties_kind": "neighbours",
                                     "status": "reported", "referred_to": None, "reported_by": "block_captain",
                                     "reported_on": "2025-01-01", "closed_on": None, "version": 1, "mediations": 0,
                                     "repeat": False}


# --- who reads the free text ---------------------------------------------------------------------


def test_a_planner_sees_where_and_what_but_no_description_outcome_or_reason(client, auth, conn, world):
    dispute_id = register(client, auth, reason="Mrs Li phoned the post")["id"]
    assert mediate(client, auth, dispute_id, held_on="2026-03-05").status_code == 201
    planner = client.get(f"/api/disputes/{dispute_id}", headers=auth("planner")).json()
    assert "description" not in planner["properties"] and planner["properties"]["category"] == "renovation"
    assert "Mrs Li" not in str(planner) and "drilling" not in str(planner) and "quiet hours" not in str(planner)
    [mediation] = planner["mediations"]
    assert mediation["held_on"] == "2026-03-05" and "outcome" not in mediation
    assert [sorted(change) for change in planner["history"]] == [["at", "by", "changes"]] * 2
    supervisor = client.get(f"/api/disputes/{dispute_id}", headers=auth("supervisor")).json()
    assert supervisor["properties"]["description"] == NEW["description"]
    assert supervisor["history"][0]["reason"] == "Mrs Li phoned the post"


def test_each_read_of_a_description_is_audited_and_a_planners_read_is_not(client, auth, conn, users, world):
    dispute_id = add(conn, 1, "2025-01-01", description="Mr Wang's dog")
    client.get(f"/api/disputes/{dispute_id}", headers=auth("planner"))
    client.get(f"/api/disputes/{dispute_id}", headers=auth("supervisor"))
    audited = conn.execute(text("SELECT user_id, action, record_table, record_id FROM audit_log")).all()
    assert audited == [(users["supervisor"], "read", "dispute", dispute_id)]


def test_the_register_needs_a_login(client, world):
    assert client.get("/api/disputes").status_code == 401
    assert client.post("/api/disputes", json=NEW).status_code == 401
