"""Every route against every role, and against a beat that is not the user's; and the same rules
held by the database itself, beneath the routes.

The world: station HKI (the test users') with beats OWN (the officer's) and NEXT, and station
FAR with beat FAR. Each beat has a building with a household, a resident, a temporary
registration, a home visit, a movement, a storage finding and a dispute with a mediation,
each carrying a marker in its free text that must never reach a user who may not see it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db import access
from tests.metres import area, box, metric, point
from tests.tokens import bearer

ROLES = ("officer", "supervisor", "planner", "admin")
KEEPERS = frozenset({"officer", "supervisor", "admin"})
EVERYONE = frozenset(ROLES)
BEATS = {"OWN": (0, "HKI"), "NEXT": (300, "HKI"), "FAR": (600, "FAR")}
# Which beats each role keeps the records of.
SEES = {"officer": {"OWN"}, "supervisor": {"OWN", "NEXT"}, "admin": {"OWN", "NEXT", "FAR"}, "planner": set()}
# Above what the routes' own inserts take from the sequences.
ID = {"OWN": 101, "NEXT": 102, "FAR": 103}


@pytest.fixture
def world(conn, users):
    conn.execute(text(f"""
        {area()}
        INSERT INTO station (code, name) VALUES ('FAR', 'Another station');
        INSERT INTO premises (id, trade, name, responsible_person, geom) VALUES
            (101, 'hotel', 'Inn', 'Marker Keeper', {point(50, 50)});
        INSERT INTO hazardous_site (id, name, category, keeper, risk_radius_m, geom) VALUES
            (101, 'Store', 'toxic_chemicals', 'Marker Keeper', 100, {point(60, 60)});
        INSERT INTO facility_issue (id, kind, description, status, reported_on, geom) VALUES
            (101, 'light', 'a broken lamp', 'open', current_date - 3, {point(70, 70)});
    """))
    for code, (x, station) in BEATS.items():
        n = ID[code]
        conn.execute(text(f"""
            INSERT INTO beat (id, code, name, station_id, geom) VALUES
                ({n}, '{code}', '{code}', (SELECT id FROM station WHERE code = '{station}'),
                 ST_Multi({metric(box(x, 0, x + 300, 300))}));
            INSERT INTO building (id, address, geom) VALUES
                ({n}, 'Street {n}', ST_Multi({metric(box(x + 100, 100, x + 140, 140))}));
            INSERT INTO household (id, building_id, unit, geom) VALUES ({n}, {n}, 'A', {point(x + 120, 120)});
            INSERT INTO resident (id, household_id, name, category, birth_year, phone) VALUES
                ({n}, {n}, 'Marker Person{n}', 'temporary', 1950, '0401234567');
            INSERT INTO temporary_registration (id, resident_id, valid_from, valid_to, employer) VALUES
                ({n}, {n}, current_date - 10, current_date + 5, 'Marker Employer');
            INSERT INTO home_visit (household_id, visited_at, findings) VALUES
                ({n}, now() - interval '40 days', 'Marker finding');
            INSERT INTO movement (id, resident_id, building_id, direction, moved_on, note) VALUES
                ({n}, {n}, {n}, 'in', current_date - 20, 'Marker note');
            INSERT INTO storage_finding (id, household_id, found_on, substance, finding) VALUES
                ({n}, {n}, current_date - 5, 'pesticide', 'Marker under the sink');
            INSERT INTO dispute (id, building_id, category, parties_kind, reported_by, reported_on,
                                 description, geom) VALUES
                ({n}, {n}, 'noise', 'neighbours', 'patrol', current_date - 7, 'Marker quarrel',
                 {point(x + 120, 130)});
            INSERT INTO mediation (dispute_id, held_on, outcome) VALUES ({n}, current_date - 2, 'Marker outcome');
        """))
    conn.execute(text("""
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
        SELECT id, 101, current_date - 30 FROM officer WHERE badge = 'T-1'
    """))


@pytest.fixture
def as_role(users, settings):
    return lambda role: bearer(users[role], role, settings.secret_key)


# --- the database's own rules ----------------------------------------------------------------

PERSONAL = ("household", "resident", "temporary_registration", "movement", "home_visit",
            "storage_finding")


@pytest.mark.parametrize("role", ROLES)
def test_the_database_shows_each_role_the_records_of_its_beats_only(conn, world, users, role):
    """A query with no beat filter at all, as a route with a bug would send it."""
    access.act_as(conn, users[role], role)
    try:
        if role == "planner":
            for table in PERSONAL:
                with conn.begin_nested() as attempt:
                    with pytest.raises(Exception, match="permission denied"):
                        conn.execute(text(f"SELECT * FROM {table}"))
                    attempt.rollback()
            # Disputes: where and what, every one, but not the free text.
            assert conn.execute(text("SELECT count(id) FROM dispute")).scalar_one() == 3
            with conn.begin_nested() as attempt:
                with pytest.raises(Exception, match="permission denied"):
                    conn.execute(text("SELECT description FROM dispute"))
                attempt.rollback()
        else:
            expected = sorted(ID[code] for code in SEES[role])
            for table in PERSONAL + ("dispute", "mediation"):
                key = {"mediation": "dispute_id", "home_visit": "household_id"}.get(table, "id")
                seen = conn.execute(text(f"SELECT {key} FROM {table} ORDER BY 1")).scalars().all()
                assert seen == expected, table
        # Counts over people come from views without names: every beat, every role.
        assert conn.execute(text("SELECT count(*) FROM resident_fact")).scalar_one() == 3
        assert "name" not in list(conn.execute(text("SELECT * FROM resident_fact LIMIT 1")).keys())
    finally:
        access.act_as_owner(conn)


@pytest.mark.parametrize("role", ROLES)
def test_nobody_changes_the_audit_log_and_only_keepers_write_records(conn, world, users, role):
    access.act_as(conn, users[role], role)
    try:
        conn.execute(text("INSERT INTO audit_log (user_id, action, record_table) VALUES (:u, 'read', 'x')"),
                     {"u": users[role]})
        for statement in ("UPDATE audit_log SET client = 'x'", "DELETE FROM audit_log",
                          "UPDATE app_user SET role = 'admin'"):
            if statement.startswith("UPDATE app_user") and role == "admin":
                continue
            with conn.begin_nested() as attempt:
                with pytest.raises(Exception, match="permission denied|append-only"):
                    conn.execute(text(statement))
                attempt.rollback()
        # A household moved into a beat the user may not see is refused by the row policy.
        if role in ("officer", "supervisor"):
            with conn.begin_nested() as attempt:
                with pytest.raises(Exception, match="row-level security"):
                    conn.execute(text(f"UPDATE household SET geom = {point(720, 120)} WHERE id = 101"))
                attempt.rollback()
    finally:
        access.act_as_owner(conn)


# --- every route, every role ----------------------------------------------------------------

TODAY = "2026-11-01"


def _body(kind: str) -> dict:
    from tests.metres import lonlat

    at = lonlat(120, 120)
    return {
        "registration": {"resident_id": 101, "valid_from": TODAY, "valid_to": "2026-12-01"},
        "registration_change": {"valid_to": "2026-12-31", "version": 1, "reason": "extended"},
        "visit": {"household_id": 101, "visited_on": TODAY},
        "household": {"building_id": 101, "unit": "B", "reason": "new"},
        "household_change": {"unit": "C", "version": 1, "reason": "typo"},
        "resident": {"household_id": 101, "name": "New Person", "category": "permanent",
                     "birth_year": 1980, "reason": "moved in"},
        "resident_change": {"category": "permanent", "version": 1, "reason": "settled"},
        "movement": {"building_id": 101, "direction": "in", "moved_on": TODAY},
        "dispute": {"building_id": 101, "category": "noise", "parties_kind": "neighbours",
                    "reported_by": "patrol", "reported_on": TODAY, "reason": "seen on patrol"},
        "dispute_step": {"status": "mediating", "version": 1, "reason": "talks begin"},
        "mediation": {"held_on": TODAY, "outcome": "agreed", "reason": "mediated"},
        "inspection": {"kind": "premises", "id": 101, "inspected_on": TODAY, "checks": {}},
        "finding": {"household_id": 101, "found_on": TODAY, "substance": "paint", "finding": "open tin"},
        "finding_change": {"resolved": True, "version": 1, "reason": "put away"},
        "campaign": {"kind": "lecture", "topic": "fraud", "held_on": TODAY, **at},
        "issue": {"kind": "light", "reported_on": TODAY, "owner": "committee", **at},
        "issue_change": {"status": "assigned", "version": 1, "reason": "to the committee"},
        "route": {"beat": "OWN", "minutes": 30},
        "beats": {"k": 2},
        "sites": {"beat": "OWN", "k": 1},
        "user": {"username": "someone", "password": "long enough password", "role": "planner",
                 "reason": "joined"},
    }[kind]


# (method, path) -> (the roles that may use it, a request: path and query, body kind or None).
# The paths name the records of beat OWN; `foreign` routes are asked again for beat FAR's.
ROUTES = {
    ("GET", "/api/auth/me"): (EVERYONE, "/api/auth/me", None),
    ("GET", "/api/beats"): (EVERYONE, "/api/beats", None),
    ("GET", "/api/beats/workload"): (EVERYONE, "/api/beats/workload", None),
    ("GET", "/api/layers"): (EVERYONE, "/api/layers", None),
    ("GET", "/api/layers/{layer}"): (EVERYONE, "/api/layers/buildings", None),
    ("GET", "/api/layers/{layer}/export"): (EVERYONE, "/api/layers/premises/export?format=csv", None),
    ("POST", "/api/layers/{layer}/import"): (frozenset({"supervisor", "admin"}), "/api/layers/cameras/import", "file"),
    ("GET", "/api/analysis/nights"): (EVERYONE, "/api/analysis/nights?beat=OWN", None),
    ("GET", "/api/analysis/patrol-gaps"): (EVERYONE, "/api/analysis/patrol-gaps?beat=OWN", None),
    ("GET", "/api/analysis/unmanaged-entrances"): (EVERYONE, "/api/analysis/unmanaged-entrances?beat=OWN", None),
    ("GET", "/api/analysis/incident-density"): (EVERYONE, "/api/analysis/incident-density?beat=OWN", None),
    ("GET", "/api/analysis/hotspots"): (EVERYONE, "/api/analysis/hotspots?beat=OWN", None),
    ("GET", "/api/analysis/near-repeat"): (EVERYONE, "/api/analysis/near-repeat?beat=OWN", None),
    ("GET", "/api/analysis/hotspot-accuracy"): (EVERYONE, "/api/analysis/hotspot-accuracy?beat=OWN", None),
    ("GET", "/api/analysis/spikes"): (EVERYONE, "/api/analysis/spikes?beat=OWN", None),
    ("POST", "/api/plan/patrol-route"): (EVERYONE, "/api/plan/patrol-route", "route"),
    ("POST", "/api/plan/beats"): (EVERYONE, "/api/plan/beats", "beats"),
    ("POST", "/api/plan/cameras"): (EVERYONE, "/api/plan/cameras", "sites"),
    ("POST", "/api/plan/access-control"): (EVERYONE, "/api/plan/access-control", "sites"),
    ("GET", "/api/population/temporary-registrations"): (KEEPERS, "/api/population/temporary-registrations", None),
    ("POST", "/api/population/temporary-registrations"): (KEEPERS, "/api/population/temporary-registrations", "registration"),
    ("PATCH", "/api/population/temporary-registrations/{registration_id}"):
        (KEEPERS, "/api/population/temporary-registrations/{id}", "registration_change"),
    ("GET", "/api/population/visits/due"): (KEEPERS, "/api/population/visits/due", None),
    ("POST", "/api/population/visits"): (KEEPERS, "/api/population/visits", "visit"),
    ("GET", "/api/population/households/{household_id}/history"):
        (KEEPERS, "/api/population/households/{id}/history", None),
    ("GET", "/api/population/households"): (KEEPERS, "/api/population/households", None),
    ("POST", "/api/population/households"): (KEEPERS, "/api/population/households", "household"),
    ("GET", "/api/population/households/{household_id}"): (KEEPERS, "/api/population/households/{id}", None),
    ("PATCH", "/api/population/households/{household_id}"):
        (KEEPERS, "/api/population/households/{id}", "household_change"),
    ("GET", "/api/population/residents/{resident_id}"): (KEEPERS, "/api/population/residents/{id}", None),
    ("PATCH", "/api/population/residents/{resident_id}"): (KEEPERS, "/api/population/residents/{id}", "resident_change"),
    ("POST", "/api/population/residents"): (KEEPERS, "/api/population/residents", "resident"),
    ("GET", "/api/population/movements"): (KEEPERS, "/api/population/movements", None),
    ("POST", "/api/population/movements"): (KEEPERS, "/api/population/movements", "movement"),
    ("GET", "/api/population/buildings/{building_id}/movements"):
        (KEEPERS, "/api/population/buildings/{id}/movements", None),
    ("GET", "/api/population/temporary-registrations/ledger"):
        (KEEPERS, "/api/population/temporary-registrations/ledger", None),
    ("GET", "/api/disputes"): (EVERYONE, "/api/disputes", None),
    ("POST", "/api/disputes"): (frozenset({"officer", "supervisor"}), "/api/disputes", "dispute"),
    ("GET", "/api/disputes/repeat-locations"): (EVERYONE, "/api/disputes/repeat-locations", None),
    ("GET", "/api/disputes/{dispute_id}"): (EVERYONE, "/api/disputes/{id}", None),
    ("PATCH", "/api/disputes/{dispute_id}"): (frozenset({"officer", "supervisor"}), "/api/disputes/{id}", "dispute_step"),
    ("POST", "/api/disputes/{dispute_id}/mediations"):
        (frozenset({"officer", "supervisor"}), "/api/disputes/{id}/mediations", "mediation"),
    ("GET", "/api/inspections/due"): (EVERYONE, "/api/inspections/due?beat=OWN", None),
    ("POST", "/api/inspections"): (KEEPERS, "/api/inspections", "inspection"),
    ("GET", "/api/inspections/hazardous-sites/{site_id}/exposure"):
        (EVERYONE, "/api/inspections/hazardous-sites/101/exposure", None),
    ("GET", "/api/inspections/scrap-buyers"): (EVERYONE, "/api/inspections/scrap-buyers?beat=OWN", None),
    ("GET", "/api/inspections/storage-findings"): (KEEPERS, "/api/inspections/storage-findings?beat=OWN", None),
    ("POST", "/api/inspections/storage-findings"): (KEEPERS, "/api/inspections/storage-findings", "finding"),
    ("PATCH", "/api/inspections/storage-findings/{finding_id}"):
        (KEEPERS, "/api/inspections/storage-findings/{id}", "finding_change"),
    ("GET", "/api/education/targets"): (EVERYONE, "/api/education/targets?beat=OWN", None),
    ("GET", "/api/education/campaigns"): (EVERYONE, "/api/education/campaigns?beat=OWN", None),
    ("POST", "/api/education/campaigns"): (KEEPERS, "/api/education/campaigns", "campaign"),
    ("GET", "/api/service/stations/catchments"): (EVERYONE, "/api/service/stations/catchments", None),
    ("GET", "/api/service/schools/catchments"): (EVERYONE, "/api/service/schools/catchments", None),
    ("GET", "/api/service/home-service"): (KEEPERS, "/api/service/home-service", None),
    ("GET", "/api/service/children"): (EVERYONE, "/api/service/children", None),
    ("GET", "/api/service/facility-issues"): (EVERYONE, "/api/service/facility-issues", None),
    ("POST", "/api/service/facility-issues"): (KEEPERS, "/api/service/facility-issues", "issue"),
    ("GET", "/api/service/facility-issues/{issue_id}"): (EVERYONE, "/api/service/facility-issues/101", None),
    ("PATCH", "/api/service/facility-issues/{issue_id}"): (KEEPERS, "/api/service/facility-issues/101", "issue_change"),
    ("GET", "/api/audit"): (frozenset({"supervisor", "admin"}), "/api/audit", None),
    ("GET", "/api/users"): (frozenset({"admin"}), "/api/users", None),
    ("POST", "/api/users"): (frozenset({"admin"}), "/api/users", "user"),
    ("PATCH", "/api/users/{user_id}"): (frozenset({"admin"}), "/api/users/{officer}", "user"),
    ("GET", "/ogc"): (EVERYONE, "/ogc", None),
    ("GET", "/ogc/conformance"): (EVERYONE, "/ogc/conformance", None),
    ("GET", "/ogc/collections"): (EVERYONE, "/ogc/collections", None),
    ("GET", "/ogc/collections/{layer}"): (EVERYONE, "/ogc/collections/premises", None),
    ("GET", "/ogc/collections/{layer}/items"): (EVERYONE, "/ogc/collections/premises/items", None),
    ("GET", "/ogc/collections/{layer}/items/{feature_id}"):
        (EVERYONE, "/ogc/collections/premises/items/101", None),
    ("GET", "/api/tiles/{layer}/{z}/{x}/{y}.mvt"): (EVERYONE, "/api/tiles/buildings/16/37283/18944.mvt", None),
}
# Routes about one record of a beat: asked for beat FAR's record, who may not see it is refused.
FOREIGN = {route for route, (_, path, _) in ROUTES.items() if "{id}" in path}
# Answered before any token is needed.
PUBLIC = {("POST", "/api/auth/token")}


def test_the_matrix_names_every_route(app):
    served = {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
              for method in operations}
    assert served - PUBLIC == set(ROUTES), "a route was added or removed: add it to ROUTES"


EMPTY_LAYER = b'{"type": "FeatureCollection", "features": []}'


def _send(client, method, path, kind, headers):
    if kind == "file":
        return client.request(method, path, headers=headers,
                              files={"file": ("cameras.geojson", EMPTY_LAYER, "application/geo+json")})
    return client.request(method, path, headers=headers, json=_body(kind) if kind else None)


@pytest.mark.parametrize("route", sorted(ROUTES), ids=lambda route: f"{route[0]} {route[1]}")
def test_every_route_answers_each_role_as_its_rules_say(client, world, users, as_role, route):
    allowed, path, kind = ROUTES[route]
    method = route[0]
    for role in ROLES:
        url = path.replace("{id}", str(ID["OWN"])).replace("{officer}", str(users["officer"]))
        response = _send(client, method, url, kind, as_role(role))
        assert response.status_code < 500, (role, response.text)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.status_code, response.text)
        if role == "planner":
            assert "Marker" not in response.text, response.text
        if route in FOREIGN and role in ("officer", "supervisor") and role in allowed:
            foreign = _send(client, method, path.replace("{id}", str(ID["FAR"])), kind, as_role(role))
            assert foreign.status_code in (403, 404), (role, foreign.status_code, foreign.text)
            assert "Marker" not in foreign.text
