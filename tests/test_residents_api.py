"""The population records on a small hand-checked world: households and residents registered and
corrected (versions, reasons, the change log), the movement log per building, the
temporary-resident ledger as CSV and XLSX, and the personal-data rules: identity numbers never
whole in a response or the change log, reads and exports audited, officers kept to their beats,
planners refused."""

import csv
import io
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import text

from beatbook.personal import hash_identity
from tests.metres import area, box, lonlat, metric, offset, point

HOUSEHOLDS = "/api/population/households"
RESIDENTS = "/api/population/residents"
MOVEMENTS = "/api/population/movements"
LEDGER = "/api/population/temporary-registrations/ledger"
AS_OF = "2026-06-15"

# Valid 18-character numbers (their check digits computed by hand from GB 11643).
WANG_WEI = "11010519491231002X"
CHEN_JIE = "440304199001011233"
LIU_YANG = "110101195003152342"
CORRECTED = "310115198506074568"
MISTYPED = "320502199211117898"  # the check digit of 32050219921111789 is 7
MASK = "*" * 14


@pytest.fixture
def world(conn, users, settings):
    """Two beats, 300 m x 200 m each: T-1 (x 0-300), the test officer's, and T-2 (x 300-600).

    building  beat  households                      residents
    1 West 1  T-1   1 (U1 101, at 50,120)           1 Wang Wei (temporary, 002X), 3 Li Na (no number)
    2 East 2  T-2   2 (U1 101, at 350,120)          2 Chen Jie (floating, 1233)
    3 West 3  T-1   -

    registration  resident  valid                  on 2026-06-15
    1             1         2026-01-01 .. 06-25    current
    2             2         2026-03-01 .. 09-30    current (T-2); employer looks like a formula
    3             3         2025-01-01 .. 12-31    lapsed
    4             3         2026-06-15 .. 12-31    current from that very day
    5             1         2025-01-01 .. 12-31    lapsed

    movements: 1, 2, 3 at building 1 (resident 1 in, nobody in, resident 3 out), 4 at building 2.
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
            (2, 'East 2', ST_Multi({metric(box(340, 110, 360, 130))})),
            (3, 'West 3', ST_Multi({metric(box(100, 20, 120, 40))}));
        INSERT INTO household (id, building_id, unit, room, geom) VALUES
            (1, 1, 'U1', '101', {point(50, 120)}), (2, 2, 'U1', '101', {point(350, 120)});
        INSERT INTO resident (id, household_id, name, id_hash, id_last4, category, birth_year) VALUES
            (1, 1, 'Wang Wei', NULL, '002X', 'temporary', 1990),
            (2, 2, 'Chen Jie', NULL, '1233', 'floating', 1995),
            (3, 1, 'Li Na', NULL, NULL, 'temporary', 1988);
        INSERT INTO temporary_registration (id, resident_id, valid_from, valid_to, employer) VALUES
            (1, 1, '2026-01-01', '2026-06-25', 'Corner Market'),
            (2, 2, '2026-03-01', '2026-09-30', '=HYPERLINK("http://example.invalid")'),
            (3, 3, '2025-01-01', '2025-12-31', NULL),
            (4, 3, '2026-06-15', '2026-12-31', NULL),
            (5, 1, '2025-01-01', '2025-12-31', NULL);
        INSERT INTO movement (id, building_id, resident_id, direction, moved_on, note) VALUES
            (1, 1, 1, 'in', '2026-01-01', NULL), (2, 1, NULL, 'in', '2026-02-01', 'a family of three'),
            (3, 1, 3, 'out', '2026-03-01', NULL), (4, 2, 2, 'in', '2026-03-01', NULL);
    """))
    for resident_id, number in ((1, WANG_WEI), (2, CHEN_JIE)):
        conn.execute(text("UPDATE resident SET id_hash = :hash WHERE id = :id"),
                     {"hash": hash_identity(number, settings.id_hash_key), "id": resident_id})
    for table in ("household", "resident", "temporary_registration", "movement"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 100)"))


def changes(conn, table, record_id):
    return [tuple(r) for r in conn.execute(text("""
        SELECT changed_by, reason, changes FROM change_log
        WHERE record_table = :t AND record_id = :id ORDER BY id
    """), {"t": table, "id": record_id})]


def change_count(conn):
    return conn.execute(text("SELECT count(*) FROM change_log")).scalar_one()


def audited(conn):
    return [tuple(r) for r in conn.execute(text(
        "SELECT user_id, action, record_table, record_id FROM audit_log ORDER BY id"))]


def no_identity_anywhere(conn, *texts):
    """No identity number whole (nor its first 14 characters) in the texts or the logs."""
    logged = conn.execute(text("""
        SELECT coalesce(string_agg(changes::text || reason, ' '), '') FROM change_log
    """)).scalar_one()
    for number in (WANG_WEI, CHEN_JIE, LIU_YANG, CORRECTED, MISTYPED):
        for where in (logged, *texts):
            assert number[:14] not in where


def send(client, auth, method, url, body, role="officer", status=200):
    response = client.request(method, url, json=body, headers=auth(role))
    assert response.status_code == status, response.text
    return response


# --- households -------------------------------------------------------------------------------


def test_register_a_household_on_its_building(client, auth, conn, users, world):
    response = send(client, auth, "POST", HOUSEHOLDS, {"building_id": 1, "unit": "U2", "room": "201"},
                    status=201)
    body = response.json()
    assert response.headers["location"].endswith(f"{HOUSEHOLDS}/{body['id']}")
    x, y = offset(body["geometry"]["coordinates"])  # a point on the 20 m square: its middle
    assert abs(x - 50) < 0.5 and abs(y - 120) < 0.5
    assert body["properties"] == {
        "household_id": body["id"], "building_id": 1, "address": "West 1", "unit": "U2", "room": "201",
        "tenure": "registered", "version": 1, "residents": 0,
        "categories": {"permanent": 0, "temporary": 0, "floating": 0}}
    [(by, reason, what)] = changes(conn, "household", body["id"])
    assert (by, reason) == (users["officer"], "household registered")
    position = what.pop("position")
    assert what == {"building_id": [None, 1], "unit": [None, "U2"], "room": [None, "201"],
                    "tenure": [None, "registered"]}
    assert position[0] is None and offset(position[1]) == offset(body["geometry"]["coordinates"])


def test_a_household_at_a_point_given_near_its_building(client, auth, world):
    body = send(client, auth, "POST", HOUSEHOLDS, {"building_id": 1, "tenure": "rented", **lonlat(45, 105)},
                role="supervisor", status=201).json()
    assert offset(body["geometry"]["coordinates"]) == (45.0, 105.0)  # 5 m off the building
    assert body["properties"]["tenure"] == "rented"


@pytest.mark.parametrize("body, status, words", [
    ({"building_id": 999}, 404, "no building with id 999"),
    ({"building_id": 2}, 403, "building 2 is not in your beats"),
    ({"building_id": 1, **lonlat(150, 120)}, 422, "90 m from building 1"),
    ({"building_id": 1, "lon": 24.9}, 422, "both lon and lat"),
    ({"building_id": 1, "tenure": "owned"}, 422, "tenure"),
    ({"building_id": 1, "unit": "U" * 17}, 422, "unit"),
    ({"building_id": 1, "floor": 3}, 422, "floor"),
    ({"unit": "U1"}, 422, "building_id"),
])
def test_bad_households_say_what_to_fix(client, auth, conn, world, body, status, words):
    response = send(client, auth, "POST", HOUSEHOLDS, body, status=status)
    assert words in response.json()["detail"]
    assert change_count(conn) == 0


def test_change_a_household_with_its_version_and_a_reason(client, auth, conn, users, world):
    url = f"{HOUSEHOLDS}/1"
    body = send(client, auth, "PATCH", url, {"version": 1, "reason": "room number corrected",
                                             "room": "102", "tenure": "rented"}).json()
    assert (body["properties"]["room"], body["properties"]["tenure"], body["properties"]["version"]) == \
        ("102", "rented", 2)
    # Someone who read version 1 is told; nothing changes.
    response = send(client, auth, "PATCH", url, {"version": 1, "reason": "unit", "unit": "U9"}, status=409)
    assert "version 2" in response.json()["detail"]
    # Nothing to change: no new version, no history.
    assert send(client, auth, "PATCH", url, {"version": 2, "reason": "same again",
                                             "room": "102"}).json()["properties"]["version"] == 2
    # Another building: the household moves onto it.
    body = send(client, auth, "PATCH", url, {"version": 2, "reason": "wrong building",
                                             "building_id": 3}, role="supervisor").json()
    x, y = offset(body["geometry"]["coordinates"])
    assert abs(x - 110) < 0.5 and abs(y - 30) < 0.5 and body["properties"]["address"] == "West 3"
    first, second = changes(conn, "household", 1)
    assert first == (users["officer"], "room number corrected",
                     {"room": ["101", "102"], "tenure": ["registered", "rented"], "version": [1, 2]})
    assert second[:2] == (users["supervisor"], "wrong building")
    assert second[2]["building_id"] == [1, 3] and second[2]["version"] == [2, 3]
    assert offset(second[2]["position"][0]) == (50.0, 120.0)
    # The household's history has both.
    history = client.get(f"{url}/history", headers=auth("supervisor")).json()["changes"]
    assert [(c["record"], c["reason"]) for c in history] == [("household", "room number corrected"),
                                                             ("household", "wrong building")]


@pytest.mark.parametrize("url, body, status, words", [
    (f"{HOUSEHOLDS}/1", {"version": 1, "room": "102"}, 422, "reason"),
    (f"{HOUSEHOLDS}/1", {"reason": "typo", "room": "102"}, 422, "version"),
    (f"{HOUSEHOLDS}/1", {"version": 1, "reason": "typo", "tenure": None}, 422, "tenure may be left out"),
    (f"{HOUSEHOLDS}/1", {"version": 1, "reason": "typo", "building_id": 999}, 404, "no building with id 999"),
    (f"{HOUSEHOLDS}/1", {"version": 1, "reason": "typo", "building_id": 2}, 403, "not in your beats"),
    (f"{HOUSEHOLDS}/2", {"version": 1, "reason": "typo", "room": "102"}, 403, "household 2"),
    (f"{HOUSEHOLDS}/999", {"version": 1, "reason": "typo", "room": "102"}, 404, "no household"),
])
def test_bad_household_changes_say_what_to_fix(client, auth, conn, world, url, body, status, words):
    response = send(client, auth, "PATCH", url, body, status=status)
    assert words in response.json()["detail"]
    assert change_count(conn) == 0
    assert conn.execute(text("SELECT version FROM household WHERE id = 1")).scalar_one() == 1


def test_households_are_listed_by_beat_and_paged_and_a_read_is_audited(client, auth, conn, users, world):
    send(client, auth, "POST", HOUSEHOLDS, {"building_id": 3}, status=201)  # household 101
    body = client.get(HOUSEHOLDS, params={"limit": 1}, headers=auth("supervisor")).json()
    assert [f["id"] for f in body["features"]] == [1]
    assert body["features"][0]["properties"]["categories"] == {"permanent": 0, "temporary": 2, "floating": 0}
    [link] = body["links"]
    assert [f["id"] for f in client.get(link["href"], headers=auth("supervisor")).json()["features"]] == [2]
    assert [f["id"] for f in client.get(HOUSEHOLDS, headers=auth("officer")).json()["features"]] == [1, 101]
    assert [f["id"] for f in client.get(HOUSEHOLDS, params={"beat": "T-2"},
                                        headers=auth("admin")).json()["features"]] == [2]
    assert [f["id"] for f in client.get(HOUSEHOLDS, params={"building_id": 3},
                                        headers=auth("admin")).json()["features"]] == [101]
    assert client.get(HOUSEHOLDS, params={"beat": "T-2"}, headers=auth("officer")).status_code == 403
    assert client.get(HOUSEHOLDS, params={"building_id": 9}, headers=auth("admin")).status_code == 404
    assert "Wang" not in str(body)
    assert [a[2:] for a in audited(conn)[:2]] == [("household", 1), ("household", 2)]


def test_one_household_with_its_residents_masked(client, auth, conn, users, world):
    response = client.get(f"{HOUSEHOLDS}/1", headers=auth("officer"))
    assert response.status_code == 200
    members = response.json()["properties"]["members"]
    assert [(m["id"], m["name"], m["id_number"]) for m in members] == [(1, "W*", MASK + "002X"),
                                                                       (3, "L*", None)]
    assert "Wang Wei" not in response.text and "Li Na" not in response.text
    no_identity_anywhere(conn, response.text)
    assert audited(conn) == [(users["officer"], "read", "household", 1),
                             (users["officer"], "read", "resident", 1),
                             (users["officer"], "read", "resident", 3)]
    assert client.get(f"{HOUSEHOLDS}/2", headers=auth("officer")).status_code == 403


# --- residents --------------------------------------------------------------------------------


def test_register_a_resident_kept_as_a_hash_and_shown_masked(client, auth, conn, users, world, settings):
    response = send(client, auth, "POST", RESIDENTS, {
        "household_id": 1, "name": "Liu Yang", "category": "permanent", "birth_year": 1950,
        "id_number": "110101 19500315 2342", "lives_alone": True, "phone": "13800138000"}, status=201)
    body = response.json()
    assert body == {"id": 101, "household_id": 1, "name": "L*", "id_number": MASK + "2342",
                    "phone": "*******8000", "category": "permanent", "birth_year": 1950, "lives_alone": True,
                    "needs_home_service": False, "version": 1}
    assert response.headers["location"].endswith(f"{RESIDENTS}/101")
    for whole in ("Liu Yang", "Yang", "13800138000"):
        assert whole not in response.text
    stored = conn.execute(text("SELECT name, id_hash, id_last4, phone FROM resident WHERE id = 101")).one()
    assert tuple(stored) == ("Liu Yang", hash_identity(LIU_YANG, settings.id_hash_key), "2342", "13800138000")
    assert changes(conn, "resident", 101) == [(users["officer"], "resident registered", {
        "household_id": [None, 1], "name": [None, "L*"], "category": [None, "permanent"],
        "birth_year": [None, 1950], "lives_alone": [None, True], "needs_home_service": [None, False],
        "phone": [None, "*******8000"], "id_number": [None, MASK + "2342"]})]
    no_identity_anywhere(conn, response.text)


def test_an_identity_number_already_registered_is_refused(client, auth, conn, world):
    response = send(client, auth, "POST", RESIDENTS, {
        "household_id": 1, "name": "Wang Wei", "category": "temporary", "birth_year": 1990,
        "id_number": WANG_WEI.lower()}, status=409)
    assert "resident 1" in response.json()["detail"]
    no_identity_anywhere(conn, response.text)
    assert change_count(conn) == 0


@pytest.mark.parametrize("method, url, body", [
    ("POST", RESIDENTS, {"household_id": 1, "name": "Wang Wei", "category": "temporary", "birth_year": 1990,
                         "id_number": WANG_WEI}),
    ("PATCH", f"{RESIDENTS}/3", {"version": 1, "reason": "number added", "id_number": CHEN_JIE}),
])
def test_a_number_registered_alongside_is_refused_by_the_database(client, auth, conn, world, settings,
                                                                  monkeypatch, method, url, body):
    # Another request registered the number after this one asked: the unique index refuses it.
    monkeypatch.setattr("db.residents.identity_holder", lambda *args, **kwargs: None)
    response = send(client, auth, method, url, body, status=409)
    assert "already registered to another resident" in response.json()["detail"]
    no_identity_anywhere(conn, response.text)
    assert change_count(conn) == 0
    holders = conn.execute(text("SELECT id_hash, count(*) FROM resident WHERE id_hash IS NOT NULL GROUP BY 1"))
    assert sorted(n for _, n in holders) == [1, 1]
    assert conn.execute(text("SELECT version FROM resident WHERE id = 3")).scalar_one() == 1


NEW = {"household_id": 1, "name": "Liu Yang", "category": "permanent", "birth_year": 1950}


@pytest.mark.parametrize("body, status, words", [
    ({**NEW, "id_number": MISTYPED}, 422, "does not check out"),
    ({**NEW, "id_number": "1101011950"}, 422, "18 characters"),
    # FastAPI's own 422 would echo the whole body, the number with it.
    ({**{k: v for k, v in NEW.items() if k != "name"}, "id_number": LIU_YANG}, 422, "name: Field required"),
    ({**NEW, "id_number": LIU_YANG, "category": "visitor"}, 422, "category"),
    ({**NEW, "id_number": LIU_YANG, "birth_year": date.today().year + 1}, 422, "in the future"),
    ({**NEW, "id_number": LIU_YANG, "phone": "call me"}, 422, "phone"),
    ({**NEW, "id_number": LIU_YANG, "household_id": 999}, 404, "no household with id 999"),
    ({**NEW, "id_number": LIU_YANG, "household_id": 2}, 403, "household 2 is not in your beats"),
    ([LIU_YANG], 422, "valid dictionary"),
])
def test_bad_residents_say_what_to_fix_and_never_echo_the_number(client, auth, conn, world, body,
                                                                  status, words):
    response = send(client, auth, "POST", RESIDENTS, body, status=status)
    assert words in response.json()["detail"]
    assert "Liu Yang" not in response.text
    no_identity_anywhere(conn, response.text)
    assert change_count(conn) == 0


def test_correct_a_resident_with_the_identity_number_logged_masked(client, auth, conn, users, world,
                                                                  settings):
    url = f"{RESIDENTS}/1"
    response = send(client, auth, "PATCH", url, {
        "version": 1, "reason": "number and category corrected from the ID card",
        "id_number": CORRECTED, "category": "permanent", "name": "Wang Wu", "birth_year": 1990})
    body = response.json()
    assert (body["id_number"], body["name"], body["category"], body["version"]) == \
        (MASK + "4568", "W*", "permanent", 2)
    reason = "number and category corrected from the ID card"
    assert changes(conn, "resident", 1) == [(users["officer"], reason, {
        "category": ["temporary", "permanent"], "id_number": [MASK + "002X", MASK + "4568"],
        "name": ["W*", "W*"], "version": [1, 2]})]  # birth_year was not changed
    stored = conn.execute(text("SELECT name, id_hash, id_last4 FROM resident WHERE id = 1")).one()
    assert tuple(stored) == ("Wang Wu", hash_identity(CORRECTED, settings.id_hash_key), "4568")
    # A stale version is refused; the same values again change nothing.
    response = send(client, auth, "PATCH", url, {"version": 1, "reason": "again", "name": "Wang Wei"},
                    status=409)
    assert "version 2" in response.json()["detail"] and "Wang" not in response.text
    assert send(client, auth, "PATCH", url, {"version": 2, "reason": "no-op", "id_number": CORRECTED,
                                             "name": "Wang Wu"}).json()["version"] == 2
    # The number removed; the resident moved to another household (both in the officer's beats).
    send(client, auth, "POST", HOUSEHOLDS, {"building_id": 3}, status=201)
    body = send(client, auth, "PATCH", url, {"version": 2, "reason": "moved within the beat",
                                             "id_number": None, "household_id": 101}).json()
    assert (body["id_number"], body["household_id"], body["version"]) == (None, 101, 3)
    assert changes(conn, "resident", 1)[-1][2] == {"id_number": [MASK + "4568", None],
                                                   "household_id": [1, 101], "version": [2, 3]}
    no_identity_anywhere(conn, response.text)


@pytest.mark.parametrize("url, body, status, words", [
    (f"{RESIDENTS}/1", {"version": 1, "name": "Wang Wu"}, 422, "reason"),
    (f"{RESIDENTS}/1", {"version": 1, "reason": "typo", "name": None}, 422, "name may be left out"),
    (f"{RESIDENTS}/1", {"version": 1, "reason": "typo", "id_number": CHEN_JIE}, 409, "resident 2"),
    (f"{RESIDENTS}/1", {"version": 1, "reason": "typo", "id_number": MISTYPED}, 422, "does not check out"),
    (f"{RESIDENTS}/1", {"version": 1, "reason": "moved", "household_id": 2}, 403, "household 2"),
    (f"{RESIDENTS}/2", {"version": 1, "reason": "typo", "name": "Chen Jun"}, 404, "in the beats you may see"),
    (f"{RESIDENTS}/999", {"version": 1, "reason": "typo", "name": "Chen Jun"}, 404, "no resident"),
])
def test_bad_resident_changes_say_what_to_fix(client, auth, conn, world, url, body, status, words):
    response = send(client, auth, "PATCH", url, body, status=status)
    assert words in response.json()["detail"]
    no_identity_anywhere(conn, response.text)
    assert change_count(conn) == 0
    assert conn.execute(text("SELECT version FROM resident WHERE id = 1")).scalar_one() == 1


def test_read_one_resident_masked_and_audited(client, auth, conn, users, world):
    response = client.get(f"{RESIDENTS}/1", headers=auth("admin"))
    assert response.status_code == 200
    assert response.json() == {
        "id": 1, "household_id": 1, "building_id": 1, "address": "West 1", "unit": "U1", "room": "101",
        "name": "W*", "id_number": MASK + "002X", "phone": None, "category": "temporary",
        "birth_year": 1990, "lives_alone": False, "needs_home_service": False, "version": 1,
        "registrations": [
            {"id": 5, "valid_from": "2025-01-01", "valid_to": "2025-12-31", "employer": None, "version": 1},
            {"id": 1, "valid_from": "2026-01-01", "valid_to": "2026-06-25", "employer": "Corner Market",
             "version": 1}]}
    no_identity_anywhere(conn, response.text)
    assert audited(conn) == [(users["admin"], "read", "resident", 1)]
    assert client.get(f"{RESIDENTS}/2", headers=auth("officer")).status_code == 404
    assert client.get(f"{RESIDENTS}/999", headers=auth("officer")).status_code == 404


# --- the movement log -------------------------------------------------------------------------


def test_log_a_move_into_a_building(client, auth, conn, users, world):
    body = send(client, auth, "POST", MOVEMENTS, {"building_id": 1, "resident_id": 3, "direction": "in",
                                                  "moved_on": "2026-06-01", "note": "back from abroad"},
                status=201).json()
    assert body["id"] == 101
    assert body["properties"] == {
        "movement_id": 101, "building_id": 1, "address": "West 1", "direction": "in",
        "moved_on": "2026-06-01", "note": "back from abroad",
        "resident": {"id": 3, "name": "L*", "id_number": None, "category": "temporary"}}
    assert changes(conn, "movement", 101) == [(users["officer"], "movement recorded", {
        "building_id": [None, 1], "resident_id": [None, 3], "direction": [None, "in"],
        "moved_on": [None, "2026-06-01"], "note": [None, "back from abroad"]})]


@pytest.mark.parametrize("body, status, words", [
    ({"building_id": 1, "direction": "in", "moved_on": (date.today() + timedelta(days=2)).isoformat()},
     422, "in the future"),
    ({"building_id": 999, "direction": "in", "moved_on": "2026-06-01"}, 404, "no building with id 999"),
    ({"building_id": 2, "direction": "in", "moved_on": "2026-06-01"}, 403, "building 2 is not in your beats"),
    ({"building_id": 1, "resident_id": 999, "direction": "in", "moved_on": "2026-06-01"}, 404, "no resident"),
    ({"building_id": 1, "resident_id": 2, "direction": "in", "moved_on": "2026-06-01"}, 404, "in the beats you may see"),
    ({"building_id": 1, "direction": "sideways", "moved_on": "2026-06-01"}, 422, "direction"),
    ({"building_id": 1, "direction": "out"}, 422, "moved_on"),
])
def test_bad_movements_say_what_to_fix(client, auth, conn, world, body, status, words):
    response = send(client, auth, "POST", MOVEMENTS, body, status=status)
    assert words in response.json()["detail"]
    assert change_count(conn) == 0


def test_a_buildings_movements_are_paged_and_audited(client, auth, conn, users, world):
    url = "/api/population/buildings/1/movements"
    body = client.get(url, params={"limit": 2}, headers=auth("officer")).json()
    assert [f["id"] for f in body["features"]] == [1, 2]
    assert [f["properties"]["resident"] for f in body["features"]] == [
        {"id": 1, "name": "W*", "id_number": MASK + "002X", "category": "temporary"}, None]
    x, y = offset(body["features"][0]["geometry"]["coordinates"])
    assert abs(x - 50) < 0.5 and abs(y - 120) < 0.5
    [link] = body["links"]
    rest = client.get(link["href"], headers=auth("officer")).json()
    assert [f["id"] for f in rest["features"]] == [3] and rest["links"] == []
    assert audited(conn) == [(users["officer"], "read", "resident", 1),
                             (users["officer"], "read", "resident", 3)]
    assert "Wang Wei" not in str(body)
    out = client.get(url, params={"direction": "out"}, headers=auth("officer")).json()
    assert [f["id"] for f in out["features"]] == [3]
    assert client.get("/api/population/buildings/2/movements", headers=auth("officer")).status_code == 403
    assert client.get("/api/population/buildings/9/movements", headers=auth("admin")).status_code == 404


@pytest.mark.parametrize("role, params, expected", [
    ("supervisor", {}, [1, 2, 3, 4]),
    ("supervisor", {"beat": "T-2"}, [4]),
    ("officer", {}, [1, 2, 3]),
    ("supervisor", {"since": "2026-02-01", "until": "2026-03-01", "direction": "in"}, [2, 4]),
])
def test_movements_are_filtered_by_beat_and_day(client, auth, world, role, params, expected):
    response = client.get(MOVEMENTS, params=params, headers=auth(role))
    assert response.status_code == 200, response.text
    assert [f["id"] for f in response.json()["features"]] == expected


def test_bad_movement_lists(client, auth, world, settings):
    for params in ({"since": "2026-03-02", "until": "2026-03-01"}, {"limit": settings.max_page_size + 1},
                   {"direction": "up"}):
        assert client.get(MOVEMENTS, params=params, headers=auth("admin")).status_code == 422
    assert client.get(MOVEMENTS, params={"beat": "NOPE"}, headers=auth("admin")).status_code == 404


# --- the temporary-resident ledger ------------------------------------------------------------


def test_the_ledger_as_csv_with_the_export_audited(client, auth, conn, users, world):
    response = client.get(LEDGER, params={"as_of": AS_OF}, headers=auth("supervisor"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    # A supervisor's ledger holds the beats of their station (and, as here, those of none).
    assert response.headers["content-disposition"] == \
        'attachment; filename="temporary-residents_T-1_T-2_2026-06-15.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads the UTF-8 as such
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["registration_id"], r["address"], r["resident"], r["id_number"], r["valid_from"],
             r["valid_to"], r["employer"]) for r in rows] == [
        ("2", "East 2", "C*", MASK + "1233", "2026-03-01", "2026-09-30",
         "'=HYPERLINK(\"http://example.invalid\")"),  # text, not a formula
        ("1", "West 1", "W*", MASK + "002X", "2026-01-01", "2026-06-25", "Corner Market"),
        ("4", "West 1", "L*", "", "2026-06-15", "2026-12-31", ""),
    ]
    assert list(rows[0]) == ["registration_id", "address", "unit", "room", "resident", "id_number",
                             "category", "valid_from", "valid_to", "employer"]
    raw = response.content.decode("utf-8-sig")
    for whole in ("Wang Wei", "Chen Jie", "Li Na"):
        assert whole not in raw
    no_identity_anywhere(conn, raw)
    assert audited(conn) == [(users["supervisor"], "export", "temporary_registration", None),
                             (users["supervisor"], "export", "resident", 2),
                             (users["supervisor"], "export", "resident", 1),
                             (users["supervisor"], "export", "resident", 3)]
    # What was exported is on the ledger's row, and nothing personal is.
    assert conn.execute(text("SELECT details FROM audit_log ORDER BY id")).scalars().all() == [
        {"export": "temporary_resident_ledger", "format": "csv", "as_of": "2026-06-15", "beats": ["T-1", "T-2"], "rows": 3},
        None, None, None]


def test_the_ledger_as_xlsx_for_the_officers_beat(client, auth, conn, users, world):
    response = client.get(LEDGER, params={"as_of": AS_OF, "format": "xlsx"}, headers=auth("officer"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response.headers["content-disposition"] == \
        'attachment; filename="temporary-residents_T-1_2026-06-15.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = sheet.iter_rows(values_only=True)
    assert header[:6] == ("registration_id", "address", "unit", "room", "resident", "id_number")
    assert [row[:2] + row[4:] for row in rows] == [
        (1, "West 1", "W*", MASK + "002X", "temporary", datetime(2026, 1, 1), datetime(2026, 6, 25),
         "Corner Market"),
        (4, "West 1", "L*", None, "temporary", datetime(2026, 6, 15), datetime(2026, 12, 31), None)]
    cells = " ".join(str(value) for row in rows for value in row)
    no_identity_anywhere(conn, cells)
    assert audited(conn) == [(users["officer"], "export", "temporary_registration", None),
                             (users["officer"], "export", "resident", 1),
                             (users["officer"], "export", "resident", 3)]
    details = conn.execute(text("SELECT details FROM audit_log ORDER BY id LIMIT 1")).scalar_one()
    assert details == {"export": "temporary_resident_ledger", "format": "xlsx", "as_of": "2026-06-15",
                       "beats": ["T-1"], "rows": 2}


def test_an_empty_ledger_is_still_a_spreadsheet_and_an_export(client, auth, conn, users, world):
    response = client.get(LEDGER, params={"as_of": "2020-01-01", "beat": "T-2"}, headers=auth("admin"))
    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines() == [
        "registration_id,address,unit,room,resident,id_number,category,valid_from,valid_to,employer"]
    assert audited(conn) == [(users["admin"], "export", "temporary_registration", None)]


def test_bad_ledger_requests(client, auth, world):
    assert client.get(LEDGER, params={"format": "pdf"}, headers=auth("admin")).status_code == 422
    assert client.get(LEDGER, params={"beat": "T-2"}, headers=auth("officer")).status_code == 403
    assert client.get(LEDGER, params={"beat": "NOPE"}, headers=auth("admin")).status_code == 404


# --- planners ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method, url, body", [
    ("GET", HOUSEHOLDS, None), ("GET", f"{HOUSEHOLDS}/1", None),
    ("POST", HOUSEHOLDS, {"building_id": 1}),
    ("PATCH", f"{HOUSEHOLDS}/1", {"version": 1, "reason": "typo", "room": "102"}),
    ("GET", f"{RESIDENTS}/1", None),
    ("POST", RESIDENTS, NEW),
    ("PATCH", f"{RESIDENTS}/1", {"version": 1, "reason": "typo", "name": "Wang Wu"}),
    ("GET", MOVEMENTS, None), ("GET", "/api/population/buildings/1/movements", None),
    ("POST", MOVEMENTS, {"building_id": 1, "direction": "in", "moved_on": "2026-06-01"}),
    ("GET", LEDGER, None), ("GET", f"{LEDGER}?format=xlsx", None),
])
def test_planners_see_no_people(client, auth, conn, world, method, url, body):
    response = client.request(method, url, headers=auth("planner"), json=body)
    assert response.status_code == 403
    assert "planners" in response.json()["detail"]
    assert change_count(conn) == 0 and audited(conn) == []
