"""The actual-population routes on a small hand-checked world: registrations that expire or have
lapsed, home visits due, the change history, and the personal-data rules (masked, audited,
scoped by role and beat)."""

from datetime import date, timedelta

import pytest
from sqlalchemy import text

from tests.metres import area, box, metric, offset, point

AS_OF = "2026-06-15"
REGS = "/api/population/temporary-registrations"
DUE = "/api/population/visits/due"
VISITS = "/api/population/visits"


@pytest.fixture
def world(conn, users):
    """Two beats side by side, 300 m x 200 m each: T-1 (x 0-300), the test officer's, and T-2
    (x 300-600). Building 1 in T-1, building 2 in T-2. On 2026-06-15 (Helsinki time):

    household  beat  residents                              cycle  last visit   next due
    1          T-1   1 temporary, 2 permanent               30     2026-05-01   05-31 (15 over)
    2          T-1   3 permanent, born 1950, lives alone    14     2026-06-01*  06-15 (due today)
    3          T-2   4 floating                             30     2026-06-10   07-10
    4          T-1   nobody                                 90     never        at once
    5          T-1   6 and 7 floating, 5 temporary          30     2026-06-14   07-14

    * 2026-05-31 22:30 UTC is 01:30 on 06-01 in Helsinki. Household 1 also has a visit on
    06-20, after the day asked about.

    registration  resident  valid             days_left on 06-15
    1             1         01-01 .. 06-25    10
    2             4         2025-06-01 .. 06-10  -5 (lapsed, T-2)
    3             5         2025 .. 2026-01-01   renewed by 4: not listed
    4             5         01-02 .. 12-31    199
    5             6         01-01 .. 07-15    30 (the last day of the window)
    6             7         01-01 .. 07-16    31 (outside it)
    """
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES
            ('T-1', 'West', ST_Multi({metric(box(0, 0, 300, 200))})),
            ('T-2', 'East', ST_Multi({metric(box(300, 0, 600, 200))}));
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
            SELECT o.id, b.id, '2020-01-01' FROM officer o, beat b WHERE o.badge = 'T-1' AND b.code = 'T-1';
        INSERT INTO building (id, address, geom) VALUES
            (1, 'West 1', ST_Multi({metric(box(40, 110, 60, 130))})),
            (2, 'East 2', ST_Multi({metric(box(340, 110, 360, 130))}));
        INSERT INTO household (id, building_id, unit, room, geom) VALUES
            (1, 1, 'U1', '101', {point(50, 120)}), (2, 1, 'U1', '102', {point(51, 120)}),
            (3, 2, 'U1', '101', {point(350, 120)}), (4, 1, 'U2', '201', {point(52, 120)}),
            (5, 1, 'U2', '202', {point(53, 120)});
        INSERT INTO resident (id, household_id, name, id_last4, category, birth_year, lives_alone) VALUES
            (1, 1, 'Wang Wei', '1234', 'temporary', 1990, false),
            (2, 1, 'Wang Fang', '2345', 'permanent', 1988, false),
            (3, 2, 'Li Na', '567X', 'permanent', 1950, true),
            (4, 3, 'Chen Jie', '9999', 'floating', 1995, false),
            (5, 5, 'Zhao Lei', NULL, 'temporary', 1992, false),
            (6, 5, 'Zhou Min', '4321', 'floating', 1993, false),
            (7, 5, 'Xu Tao', '8765', 'floating', 1994, false);
        INSERT INTO temporary_registration (id, resident_id, valid_from, valid_to, employer) VALUES
            (1, 1, '2026-01-01', '2026-06-25', 'Corner Market'),
            (2, 4, '2025-06-01', '2026-06-10', NULL),
            (3, 5, '2025-01-01', '2026-01-01', NULL),
            (4, 5, '2026-01-02', '2026-12-31', NULL),
            (5, 6, '2026-01-01', '2026-07-15', NULL),
            (6, 7, '2026-01-01', '2026-07-16', NULL);
        INSERT INTO home_visit (household_id, visited_at) VALUES
            (1, '2026-05-01 10:00+03'), (1, '2026-04-01 10:00+03'), (1, '2026-06-20 10:00+03'),
            (2, '2026-05-31 22:30+00'), (3, '2026-06-10 10:00+03'), (5, '2026-06-14 10:00+03');
    """))
    # The rows above were given their ids; later inserts must not collide with them.
    conn.execute(text("""
        SELECT setval(pg_get_serial_sequence('temporary_registration', 'id'), 100);
    """))


def get(client, auth, url, role="supervisor", **params):
    response = client.get(url, params=params or None, headers=auth(role))  # None keeps a link's query
    assert response.status_code == 200, response.text
    return response.json()


def props(body, key):
    return [f["properties"][key] for f in body["features"]]


# --- the expiry list -------------------------------------------------------------------------


def test_expiring_and_lapsed_registrations_with_days_left(client, auth, world):
    body = get(client, auth, REGS, as_of=AS_OF)
    assert props(body, "registration_id") == [1, 2, 5]
    assert props(body, "days_left") == [10, -5, 30]
    assert props(body, "lapsed") == [False, True, False]
    assert props(body, "address") == ["West 1", "East 2", "West 1"]
    assert body["links"] == [] and body["numberReturned"] == 3
    first = body["features"][0]
    assert first["geometry"]["type"] == "Point" and offset(first["geometry"]["coordinates"]) == (50.0, 120.0)
    assert first["properties"]["household_id"] == 1 and first["properties"]["valid_to"] == "2026-06-25"


@pytest.mark.parametrize("params, expected", [
    ({"lapsed": "true"}, [2]),
    ({"lapsed": "false"}, [1, 5]),
    ({"beat": "T-1"}, [1, 5]),
    ({"beat": "T-2"}, [2]),
    ({"expiring_within_days": 31}, [1, 2, 5, 6]),
    ({"expiring_within_days": 0, "lapsed": "false"}, []),
    ({"as_of": "2026-06-26", "expiring_within_days": 0}, [1, 2]),  # the day after reg 1's last
])
def test_the_expiry_list_filters(client, auth, world, params, expected):
    assert props(get(client, auth, REGS, **{"as_of": AS_OF, **params}), "registration_id") == expected


def test_residents_are_shown_masked(client, auth, world):
    response = client.get(REGS, params={"as_of": AS_OF}, headers=auth("supervisor"))
    residents = props(response.json(), "resident")
    assert residents[0] == {"id": 1, "name": "W*", "id_number": "*" * 14 + "1234", "category": "temporary"}
    assert [r["name"] for r in residents] == ["W*", "C*", "Z*"]
    for whole in ("Wang Wei", "Chen Jie", "Zhou Min", "Wei", "Jie"):
        assert whole not in response.text


def test_the_expiry_list_pages_with_next_links(client, auth, world):
    seen, url, params = [], REGS, {"as_of": AS_OF, "limit": 2}
    while True:
        body = get(client, auth, url, **params)
        seen.append(props(body, "registration_id"))
        if not body["links"]:
            break
        [link] = body["links"]
        assert link["rel"] == "next"
        url, params = link["href"], {}
    assert seen == [[1, 2], [5]]


def test_a_list_read_is_audited_per_resident_shown(client, auth, conn, users, world):
    get(client, auth, REGS, as_of=AS_OF, beat="T-1")
    rows = conn.execute(text("""
        SELECT user_id, action, record_table, record_id, client FROM audit_log ORDER BY record_id
    """)).all()
    assert [tuple(r) for r in rows] == [(users["supervisor"], "read", "resident", 1, "testclient"),
                                        (users["supervisor"], "read", "resident", 6, "testclient")]


def test_an_officer_sees_only_the_beats_assigned_to_them(client, auth, world):
    assert props(get(client, auth, REGS, role="officer", as_of=AS_OF), "registration_id") == [1, 5]
    response = client.get(REGS, params={"beat": "T-2"}, headers=auth("officer"))
    assert response.status_code == 403 and "T-2" in response.json()["detail"]


@pytest.mark.parametrize("method, url, body", [
    ("GET", REGS, None), ("GET", DUE, None), ("GET", "/api/population/households/1/history", None),
    ("POST", REGS, {"resident_id": 1, "valid_from": "2026-07-01", "valid_to": "2026-08-01"}),
    ("PATCH", f"{REGS}/1", {"valid_to": "2026-12-31", "reason": "extended", "version": 1}),
    ("POST", VISITS, {"household_id": 1, "visited_on": "2026-06-01"}),
])
def test_planners_see_no_people(client, auth, world, method, url, body):
    response = client.request(method, url, headers=auth("planner"), json=body)
    assert response.status_code == 403
    assert "planners" in response.json()["detail"]


def test_bad_list_requests(client, auth, world, settings):
    assert client.get(REGS, params={"beat": "NOPE"}, headers=auth("supervisor")).status_code == 404
    response = client.get(REGS, params={"limit": settings.max_page_size + 1}, headers=auth("supervisor"))
    assert response.status_code == 422 and "limit" in response.text
    response = client.get(REGS, params={"expiring_within_days": -1}, headers=auth("supervisor"))
    assert response.status_code == 422
    assert client.get(REGS).status_code == 401


# --- registering, extending, ending ---------------------------------------------------------


def changes(conn, table, record_id):
    return [tuple(r) for r in conn.execute(text("""
        SELECT changed_by, reason, changes FROM change_log
        WHERE record_table = :t AND record_id = :id ORDER BY id
    """), {"t": table, "id": record_id})]


def test_register_a_temporary_residence(client, auth, conn, users, world):
    response = client.post(REGS, headers=auth("officer"), json={
        "resident_id": 1, "valid_from": "2026-06-26", "valid_to": "2026-12-31", "employer": "Metro Catering"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert {k: body[k] for k in ("resident_id", "household_id", "valid_from", "valid_to")} == \
        {"resident_id": 1, "household_id": 1, "valid_from": "2026-06-26", "valid_to": "2026-12-31"}
    assert changes(conn, "temporary_registration", body["id"]) == [
        (users["officer"], "temporary residence registered", {
            "resident_id": [None, 1], "valid_from": [None, "2026-06-26"], "valid_to": [None, "2026-12-31"],
            "employer": [None, "Metro Catering"]})]
    # Renewed: the old registration no longer shows as expiring.
    assert props(get(client, auth, REGS, as_of=AS_OF), "registration_id") == [2, 5]


@pytest.mark.parametrize("body, status, words", [
    ({"resident_id": 1, "valid_from": "2026-08-01", "valid_to": "2026-07-01"}, 422, "before valid_from"),
    ({"resident_id": 999, "valid_from": "2026-07-01", "valid_to": "2026-08-01"}, 404, "no resident"),
    ({"resident_id": 1, "valid_from": "2026-06-01", "valid_to": "2026-08-01"}, 409, "registration 1"),
    # The database shows an officer no resident of another beat.
    ({"resident_id": 4, "valid_from": "2026-07-01", "valid_to": "2026-08-01"}, 404, "in the beats you may see"),
    ({"resident_id": 1, "valid_from": "2026-07-01"}, 422, "valid_to"),
])
def test_bad_registrations_say_what_to_fix(client, auth, conn, world, body, status, words):
    response = client.post(REGS, headers=auth("officer"), json=body)
    assert response.status_code == status, response.text
    assert words in response.text
    assert conn.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 0


def test_extend_and_end_a_registration(client, auth, conn, users, world):
    assert props(get(client, auth, REGS, as_of=AS_OF), "version") == [1, 1, 1]
    response = client.patch(f"{REGS}/1", headers=auth("officer"), json={
        "valid_to": "2026-12-31", "reason": "employer confirmed another six months", "version": 1})
    assert response.status_code == 200, response.text
    assert (response.json()["valid_to"], response.json()["version"]) == ("2026-12-31", 2)
    assert props(get(client, auth, REGS, as_of=AS_OF), "registration_id") == [2, 5]
    # The same change again changes nothing and leaves the version as it is.
    again = client.patch(f"{REGS}/1", headers=auth("officer"), json={
        "valid_to": "2026-12-31", "reason": "employer confirmed another six months", "version": 2})
    assert again.status_code == 200 and again.json()["version"] == 2
    response = client.patch(f"{REGS}/1", headers=auth("supervisor"), json={
        "valid_to": "2026-06-15", "reason": "moved out", "version": 2})
    assert response.status_code == 200 and response.json()["version"] == 3
    assert changes(conn, "temporary_registration", 1) == [
        (users["officer"], "employer confirmed another six months",
         {"valid_to": ["2026-06-25", "2026-12-31"], "version": [1, 2]}),
        (users["supervisor"], "moved out", {"valid_to": ["2026-12-31", "2026-06-15"], "version": [2, 3]})]


def test_a_registration_changed_on_a_stale_version_is_a_conflict(client, auth, conn, world):
    first = client.patch(f"{REGS}/1", headers=auth("officer"), json={
        "valid_to": "2026-12-31", "reason": "renewed for six months", "version": 1})
    assert first.status_code == 200, first.text
    stale = client.patch(f"{REGS}/1", headers=auth("supervisor"), json={
        "valid_to": "2026-06-15", "reason": "moved out", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["detail"] == ("registration 1 has changed since version 1 (it is at version 2, ending on "
                                      "2026-12-31); read it again and make the change on the current version")
    assert conn.execute(text("SELECT valid_to, version FROM temporary_registration WHERE id = 1")).one() == \
        (date(2026, 12, 31), 2)


@pytest.mark.parametrize("url, body, status, words", [
    (f"{REGS}/1", {"valid_to": "2026-12-31", "version": 1}, 422, "reason"),
    (f"{REGS}/1", {"valid_to": "2026-12-31", "reason": "renewed"}, 422, "version"),
    (f"{REGS}/1", {"valid_to": "2025-12-31", "reason": "typo", "version": 1}, 422,
     "before the registration's valid_from"),
    (f"{REGS}/1", {"valid_to": "2026-12-31", "reason": "renewed", "version": 2}, 409,
     "has changed since version 2 (it is at version 1"),
    (f"{REGS}/3", {"valid_to": "2026-03-01", "reason": "late renewal", "version": 1}, 409, "overlap registration 4"),
    (f"{REGS}/404", {"valid_to": "2026-12-31", "reason": "renewed", "version": 1}, 404, "no temporary registration"),
])
def test_bad_changes_say_what_to_fix(client, auth, conn, world, url, body, status, words):
    response = client.patch(url, headers=auth("supervisor"), json=body)
    assert response.status_code == status, response.text
    assert words in response.text
    assert conn.execute(text("SELECT valid_to FROM temporary_registration WHERE id = 1")).scalar_one() \
        == date(2026, 6, 25)


# --- home visits -----------------------------------------------------------------------------


def test_visits_due_and_overdue_on_the_map(client, auth, world):
    body = get(client, auth, DUE, as_of=AS_OF)
    assert [f["id"] for f in body["features"]] == [1, 2, 4]
    assert props(body, "days_overdue") == [15, 0, None]
    assert props(body, "next_due") == ["2026-05-31", "2026-06-15", None]
    assert props(body, "last_visited") == ["2026-05-01", "2026-06-01", None]
    assert props(body, "cycle_days") == [30, 14, 90]
    assert props(body, "cycle_rule") == ["temporary", "elder_alone", "regular"]
    assert props(body, "never_visited") == [False, False, True]
    first = body["features"][0]
    assert offset(first["geometry"]["coordinates"]) == (50.0, 120.0)
    assert first["properties"]["residents"] == 2
    assert first["properties"]["categories"] == {"permanent": 1, "temporary": 1, "floating": 0}
    assert body["summary"]["households"] == 5
    assert (body["summary"]["due"], body["summary"]["never_visited"]) == (3, 1)
    for name in ("Wang", "Li Na", "1234"):  # counts only, no people
        assert name not in str(body)


def test_the_due_list_pages_filters_by_beat_and_is_audited(client, auth, conn, users, world):
    body = get(client, auth, DUE, as_of=AS_OF, limit=2)
    assert [f["id"] for f in body["features"]] == [1, 2]
    [link] = body["links"]
    assert [f["id"] for f in get(client, auth, link["href"])["features"]] == [4]
    assert get(client, auth, DUE, as_of="2026-07-10", beat="T-2")["features"][0]["id"] == 3
    assert get(client, auth, DUE, as_of=AS_OF, beat="T-2")["features"] == []
    audited = conn.execute(text("SELECT record_table, record_id FROM audit_log ORDER BY id")).all()
    assert [tuple(r) for r in audited] == [("household", 1), ("household", 2), ("household", 4),
                                           ("household", 3)]


def test_record_a_visit(client, auth, conn, users, world):
    visited_on = date.today() - timedelta(days=3)
    response = client.post(VISITS, headers=auth("officer"), json={
        "household_id": 4, "visited_on": visited_on.isoformat(), "time_of_day": "10:30",
        "findings": "nobody home; left a card"})
    assert response.status_code == 201, response.text
    body = response.json()
    officer_id = conn.execute(text("SELECT id FROM officer WHERE badge = 'T-1'")).scalar_one()
    assert body["officer_id"] == officer_id and body["cycle_days"] == 90
    assert body["next_due"] == (visited_on + timedelta(days=90)).isoformat()
    assert body["visited_at"].startswith(f"{visited_on.isoformat()}T10:30:00+0")  # Helsinki: +02 or +03
    [(by, reason, what)] = changes(conn, "home_visit", body["id"])
    assert (by, reason) == (users["officer"], "home visit recorded")
    assert what["household_id"] == [None, 4] and what["findings"] == [None, "nobody home; left a card"]
    due = get(client, auth, DUE, as_of=visited_on.isoformat())
    assert 4 not in [f["id"] for f in due["features"]]


@pytest.mark.parametrize("body, status, words", [
    ({"household_id": 1, "visited_on": (date.today() + timedelta(days=2)).isoformat()}, 422, "in the future"),
    ({"household_id": 1, "visited_on": date.today().isoformat(), "time_of_day": "23:59:59"}, 422, "future"),
    ({"household_id": 999, "visited_on": "2026-06-01"}, 404, "no household"),
    ({"household_id": 3, "visited_on": "2026-06-01"}, 403, "not in your beats"),
    ({"visited_on": "2026-06-01"}, 422, "household_id"),
])
def test_bad_visits_say_what_to_fix(client, auth, conn, world, body, status, words):
    if body.get("time_of_day") == "23:59:59":
        now = conn.execute(text("SELECT (now() AT TIME ZONE 'Europe/Helsinki')::time")).scalar_one()
        if now.hour == 23 and now.minute == 59:
            pytest.skip("it is a minute to midnight in Helsinki")
    response = client.post(VISITS, headers=auth("officer"), json=body)
    assert response.status_code == status, response.text
    assert words in response.text
    assert conn.execute(text("SELECT count(*) FROM change_log")).scalar_one() == 0


# --- change history --------------------------------------------------------------------------


def test_a_household_history_lists_its_changes_oldest_first(client, auth, conn, users, world):
    client.patch(f"{REGS}/1", headers=auth("officer"), json={"valid_to": "2026-12-31", "reason": "extended",
                                                                   "version": 1})
    visit = client.post(VISITS, headers=auth("officer"), json={"household_id": 1, "visited_on": "2026-06-01"})
    client.patch(f"{REGS}/5", headers=auth("officer"),  # household 5's: not in household 1's history
                 json={"valid_to": "2026-12-31", "reason": "other household", "version": 1})
    body = get(client, auth, "/api/population/households/1/history", role="officer")
    assert [(c["record"], c["record_id"], c["by"], c["reason"]) for c in body["changes"]] == [
        ("temporary_registration", 1, "officer", "extended"),
        ("home_visit", visit.json()["id"], "officer", "home visit recorded")]
    assert body["changes"][0]["changes"] == {"valid_to": ["2026-06-25", "2026-12-31"], "version": [1, 2]}
    audited = conn.execute(text("SELECT record_table, record_id FROM audit_log")).all()
    assert [tuple(r) for r in audited] == [("household", 1)]


def test_history_of_an_unknown_or_foreign_household(client, auth, world):
    assert client.get("/api/population/households/999/history", headers=auth("admin")).status_code == 404
    assert client.get("/api/population/households/3/history", headers=auth("officer")).status_code == 403
