"""Special trades and hazardous materials: the checklists, and the inspection routes on a small
world in metres."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from geo.inspections import CHECKLISTS, CYCLE_DAYS, FOLLOW_UP_DAYS, next_due, verdict
from tests.metres import area, box, metric, point

TODAY = date.today()


def test_an_inspection_passes_when_every_check_holds():
    assert verdict("hotel", {"guest_registration_checked": True, "registration_uploaded": True}) == (True, [])
    assert verdict("scrap_buyer", {"purchase_ledger_kept": False, "sellers_identified": True}) == \
        (False, ["purchase_ledger_kept"])
    with pytest.raises(ValueError, match="missing unlocking_procedure_followed"):
        verdict("locksmith", {"practitioners_filed": True})
    with pytest.raises(ValueError, match="does not check guest_registration_checked"):
        verdict("hazardous_site", {c: True for c in CHECKLISTS["hazardous_site"]} | {"guest_registration_checked": True})


@given(st.sampled_from(sorted(CHECKLISTS)), st.dates(), st.booleans())
def test_the_next_inspection_follows_a_failure_sooner_than_a_pass(kind, on, passed):
    due = next_due(kind, on, passed)
    assert due == on + timedelta(days=CYCLE_DAYS[kind] if passed else min(FOLLOW_UP_DAYS, CYCLE_DAYS[kind]))
    assert next_due(kind, on, False) <= next_due(kind, on, True)


@pytest.fixture
def world(conn, users):
    """Beat T-1 (300 m square), the officer's. A hotel inspected 100 days ago (due after 90: overdue by 10), a
    scrap buyer never inspected, a locksmith inspected last week (not due). A hazardous site with
    a 60 m risk radius: two households within it (one with a resident of 80), one beyond; a school
    29.2 m from it (in a public building) and a clinic 40 m from it, a kindergarten 70 m off."""
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES ('T-1', 'Test', ST_Multi({metric(box(0, 0, 300, 300))}));
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
            SELECT o.id, b.id, '2020-01-01' FROM officer o, beat b WHERE o.badge = 'T-1';
        INSERT INTO premises (id, trade, name, licence_no, responsible_person, geom) VALUES
            (1, 'hotel', 'Inn', 'H-1', 'A Person', {point(50, 50)}),
            (2, 'scrap_buyer', 'Scrap', 'S-1', 'B Person', {point(250, 250)}),
            (3, 'locksmith', 'Keys', 'L-1', 'C Person', {point(150, 50)});
        INSERT INTO inspection (premises_id, inspected_on, passed, next_due) VALUES
            (1, DATE '{TODAY - timedelta(days=100)}', true, DATE '{TODAY - timedelta(days=10)}'),
            (3, DATE '{TODAY - timedelta(days=7)}', true, DATE '{TODAY + timedelta(days=173)}');
        INSERT INTO hazardous_site (id, name, category, risk_radius_m, storage_ok, geom)
            VALUES (1, 'Gas store', 'toxic_chemicals', 60, false, {point(150, 150)});
        INSERT INTO building (id, use, name, geom) VALUES
            (1, 'residential', NULL, ST_Multi({metric(box(160, 160, 170, 170))})),
            (2, 'public', 'School', ST_Multi({metric(box(120, 130, 130, 140))})),
            (3, 'residential', NULL, ST_Multi({metric(box(280, 20, 290, 30))}));
        INSERT INTO household (id, building_id, geom) VALUES
            (1, 1, {point(165, 165)}), (2, 1, {point(166, 165)}), (3, 3, {point(285, 25)});
        INSERT INTO public_facility (kind, name, building_id, geom) VALUES
            ('clinic', 'Health post', NULL, {point(150, 190)}), ('school', 'School', 2, {point(125, 135)}),
            ('kindergarten', 'Little ones', NULL, {point(150, 220)});
        INSERT INTO resident (household_id, name, category, birth_year) VALUES
            (1, 'Old', 'permanent', extract(year FROM current_date)::int - 80),
            (2, 'Young', 'permanent', 2000), (3, 'Far', 'permanent', 1950);
    """))
    return "T-1"


def test_the_due_list_puts_the_never_inspected_first_then_the_most_overdue(client, auth, world):
    response = client.get("/api/inspections/due", params={"beat": "T-1"}, headers=auth("planner"))
    assert response.status_code == 200, response.text
    due = [(f["properties"]["kind"], f["properties"]["id"], f["properties"]["days_overdue"])
           for f in response.json()["features"]]
    assert due == [("hazardous_site", 1, 0), ("premises", 2, 0), ("premises", 1, 10)]
    assert "responsible_person" not in response.text and "A Person" not in response.text


def test_an_inspection_is_recorded_with_its_verdict_due_date_and_history(client, auth, conn, world):
    body = {"kind": "premises", "id": 2, "inspected_on": TODAY.isoformat(),
            "checks": {"purchase_ledger_kept": False, "sellers_identified": True}}
    response = client.post("/api/inspections", json=body, headers=auth("officer"))
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["passed"] is False and made["failed_checks"] == ["purchase_ledger_kept"]
    assert made["next_due"] == (TODAY + timedelta(days=FOLLOW_UP_DAYS)).isoformat()
    [reason] = conn.execute(text("SELECT reason FROM change_log WHERE record_table = 'inspection' "
                                 "AND record_id = :id"), {"id": made["id"]}).scalars().all()
    assert reason == "inspection recorded"
    # No longer due today: the follow-up is in two weeks.
    due = client.get("/api/inspections/due", params={"beat": "T-1"}, headers=auth("officer")).json()
    assert ("premises", 2) not in [(f["properties"]["kind"], f["properties"]["id"]) for f in due["features"]]


@pytest.mark.parametrize(("body", "role", "status", "words"), [
    ({"kind": "premises", "id": 2, "inspected_on": (TODAY + timedelta(days=1)).isoformat(),
      "checks": {"purchase_ledger_kept": True, "sellers_identified": True}}, "officer", 422, "in the future"),
    ({"kind": "premises", "id": 99, "inspected_on": TODAY.isoformat(), "checks": {}}, "officer", 404, "no premises"),
    ({"kind": "premises", "id": 1, "inspected_on": TODAY.isoformat(),
      "checks": {"guest_registration_checked": True}}, "officer", 422, "missing registration_uploaded"),
    ({"kind": "premises", "id": 1, "inspected_on": (TODAY - timedelta(days=200)).isoformat(),
      "checks": {"guest_registration_checked": True, "registration_uploaded": True}}, "officer", 422, "in order"),
    ({"kind": "hazardous_site", "id": 1, "inspected_on": TODAY.isoformat(),
      "checks": {c: True for c in CHECKLISTS["hazardous_site"]}}, "planner", 403, "officers and supervisors"),
])
def test_a_wrong_inspection_says_what_to_fix(client, auth, world, body, role, status, words):
    response = client.post("/api/inspections", json=body, headers=auth(role))
    assert response.status_code == status and words in response.text


def test_the_risk_radius_counts_who_lives_within_it(client, auth, world):
    response = client.get("/api/inspections/hazardous-sites/1/exposure", headers=auth("planner"))
    assert response.status_code == 200, response.text
    exposure = response.json()
    assert (exposure["households"], exposure["residents"], exposure["residents_70_and_over"]) == (2, 2, 1)
    # Nearest first, the distance on the spheroid (UTM's scale near its zone's edge is within 0.1 %).
    assert [(f["kind"], f["name"], f["building_id"]) for f in exposure["public_facilities"]] == \
        [("school", "School", 2), ("clinic", "Health post", None)]
    assert [f["distance_m"] for f in exposure["public_facilities"]] == \
        [pytest.approx(29.2, abs=0.2), pytest.approx(40.0, abs=0.2)]
    assert "public_buildings" not in exposure
    assert client.get("/api/inspections/hazardous-sites/9/exposure", headers=auth("planner")).status_code == 404


def test_a_scrap_buyer_by_a_burglary_hot_spot_is_flagged(client, auth, conn, world):
    # Over a larger beat round the first: a tight cluster of burglaries by the scrap buyer at
    # (250, 250), and one every 300 m elsewhere.
    conn.execute(text(f"INSERT INTO beat (code, name, geom) VALUES ('T-2', 'Wide', ST_Multi({metric(box(-900, -900, 900, 900))}))"))
    cluster = [(250 + dx, 240 + dy) for dx in (-20, 0, 20) for dy in (-20, 0, 20) for _ in range(3)]
    scattered = [(x, y) for x in range(-750, 751, 300) for y in range(-750, 751, 300)]
    rows = ", ".join(f"(DATE '{TODAY - timedelta(days=10)}', 'burglary', {point(x, y)})" for x, y in cluster + scattered)
    month = {"t": TODAY - timedelta(days=10)}
    conn.execute(text("SELECT beatbook_ensure_months('incident', :t, :t)"), month)
    conn.execute(text(f"INSERT INTO incident (occurred_at, type, geom) VALUES {rows}"))
    response = client.get("/api/inspections/scrap-buyers", params={"beat": "T-2", "radius_m": 100},
                          headers=auth("officer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"]["hot_spots"] >= 1
    assert [(f["properties"]["id"], f["properties"]["near_hot_spot"]) for f in body["features"]] == [(2, True)]


# --- chemicals stored improperly in homes --------------------------------------------------

def test_chemicals_found_in_a_home_are_followed_up_and_put_right(client, auth, conn, world):
    found = {"household_id": 1, "found_on": (TODAY - timedelta(days=20)).isoformat(), "substance": "paint thinner",
             "finding": "kept beside the stove", "education": "explained safe storage; leaflet left"}
    response = client.post("/api/inspections/storage-findings", json=found, headers=auth("officer"))
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["follow_up_on"] == (TODAY - timedelta(days=6)).isoformat()  # two weeks on
    listed = client.get("/api/inspections/storage-findings", params={"beat": "T-1"}, headers=auth("officer")).json()
    [open_one] = [f["properties"] for f in listed["features"]]
    assert (open_one["id"], open_one["days_overdue"]) == (made["id"], 6)
    audited = conn.execute(text("SELECT count(*) FROM audit_log WHERE record_table = 'storage_finding'")).scalar_one()
    assert audited == 1
    # The follow-up: put right. A second writer holding the old version is refused.
    done = {"version": 1, "reason": "follow-up visit", "followed_up_on": TODAY.isoformat(), "resolved": True}
    response = client.patch(f"/api/inspections/storage-findings/{made['id']}", json=done, headers=auth("officer"))
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    stale = client.patch(f"/api/inspections/storage-findings/{made['id']}", json=done, headers=auth("supervisor"))
    assert stale.status_code == 409 and "read it again" in stale.text
    assert client.get("/api/inspections/storage-findings", params={"beat": "T-1"},
                      headers=auth("officer")).json()["features"] == []
    reasons = conn.execute(text("SELECT reason FROM change_log WHERE record_table = 'storage_finding' ORDER BY id")
                           ).scalars().all()
    assert reasons == ["chemicals found stored improperly", "follow-up visit"]


@pytest.mark.parametrize(("body", "role", "status", "words"), [
    ({"found_on": (TODAY + timedelta(days=1)).isoformat()}, "officer", 422, "in the future"),
    ({"follow_up_on": (TODAY - timedelta(days=9)).isoformat()}, "officer", 422, "before found_on"),
    ({"household_id": 999}, "officer", 404, "no household"),
    ({}, "planner", 403, "officers and supervisors"),
])
def test_a_wrong_storage_finding_says_what_to_fix(client, auth, world, body, role, status, words):
    good = {"household_id": 1, "found_on": (TODAY - timedelta(days=2)).isoformat(), "substance": "pesticide",
            "finding": "in a child's reach"}
    response = client.post("/api/inspections/storage-findings", json={**good, **body}, headers=auth(role))
    assert response.status_code == status and words in response.text
