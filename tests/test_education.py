"""Safety education: where the next anti-fraud talk should be, and the campaigns held."""

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from geo.education import TargetWeights, rank_targets
from tests.metres import area, box, lonlat, metric, point

TODAY = date.today()


def test_the_elderly_and_recent_cases_rank_a_building_and_a_reached_one_goes_last():
    buildings = pd.DataFrame({"id": [1, 2, 3, 4], "elderly": [3, 0, 5, 0], "cases": [1, 2, 0, 0],
                              "reached": [False, False, True, False]})
    ranked = rank_targets(buildings)
    # 1: 3 + 2 x 1 = 5; 2: 2 x 2 = 4; 3 scores 5 but was reached; 4 scores nothing.
    assert ranked[["id", "score", "rank"]].values.tolist() == [[1, 5, 1], [2, 4, 2], [3, 5, 3]]
    with pytest.raises(ValueError, match="negative"):
        rank_targets(buildings, TargetWeights(elderly=-1))


@given(st.lists(st.tuples(st.integers(0, 9), st.integers(0, 9), st.booleans()), min_size=1, max_size=30))
def test_no_reached_building_ranks_before_one_not_reached(rows):
    buildings = pd.DataFrame(rows, columns=["elderly", "cases", "reached"]).assign(id=range(len(rows)))
    ranked = rank_targets(buildings)
    assert (ranked["score"] > 0).all() and list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["reached"].is_monotonic_increasing
    for reached, part in ranked.groupby("reached"):
        assert part["score"].is_monotonic_decreasing


@pytest.fixture
def world(conn):
    """Beat T-1: building 1 with two residents over 70, building 2 with none but a fraud case next
    door 20 days ago, building 3 with one over 70 and an anti-fraud talk at its door last month."""
    old = TODAY.year - 80
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES ('T-1', 'Test', ST_Multi({metric(box(0, 0, 900, 300))}));
        INSERT INTO building (id, address, geom) VALUES
            (1, 'One', ST_Multi({metric(box(40, 40, 60, 60))})),
            (2, 'Two', ST_Multi({metric(box(440, 40, 460, 60))})),
            (3, 'Three', ST_Multi({metric(box(840, 40, 860, 60))}));
        INSERT INTO household (id, building_id, geom) VALUES
            (1, 1, {point(50, 50)}), (2, 1, {point(51, 50)}), (3, 3, {point(850, 50)});
        INSERT INTO resident (household_id, name, category, birth_year) VALUES
            (1, 'A', 'permanent', {old}), (2, 'B', 'permanent', {old}), (3, 'C', 'permanent', {old});
        SELECT beatbook_ensure_months('incident', DATE '{TODAY - timedelta(days=20)}',
                                      DATE '{TODAY - timedelta(days=20)}');
        INSERT INTO incident (occurred_at, type, geom) VALUES
            (DATE '{TODAY - timedelta(days=20)}', 'fraud', {point(450, 70)});
        INSERT INTO campaign (kind, topic, held_on, geom) VALUES
            ('lecture', 'fraud', DATE '{TODAY - timedelta(days=30)}', {point(850, 70)});
    """))
    return "T-1"


def test_the_next_anti_fraud_talk_goes_where_it_reaches_most(client, auth, world):
    response = client.get("/api/education/targets", params={"beat": "T-1", "topic": "fraud"},
                          headers=auth("planner"))
    assert response.status_code == 200, response.text
    ranked = [(f["properties"]["building_id"], f["properties"]["score"], f["properties"]["reached"])
              for f in response.json()["features"]]
    assert ranked == [(1, 2.0, False), (2, 2.0, False), (3, 1.0, True)]
    assert "70 and over" in response.json()["summary"]["score"]
    assert "'A'" not in response.text  # counts, never names


def test_a_campaign_is_recorded_and_listed(client, auth, conn, world):
    body = {"kind": "leaflet", "topic": "burglary", "held_on": TODAY.isoformat(), **lonlat(450, 100),
            "audience": "residents of Two", "audience_size": 40}
    response = client.post("/api/education/campaigns", json=body, headers=auth("officer"))
    assert response.status_code == 201, response.text
    listed = client.get("/api/education/campaigns", params={"beat": "T-1"}, headers=auth("planner")).json()
    assert [f["properties"]["topic"] for f in listed["features"]] == ["burglary", "fraud"]
    assert conn.execute(text("SELECT count(*) FROM change_log WHERE record_table = 'campaign'")).scalar_one() == 1


@pytest.mark.parametrize(("body", "role", "status", "words"), [
    ({"held_on": (TODAY + timedelta(days=3)).isoformat()}, "officer", 422, "in the future"),
    ({"lon": 100.0, "lat": 10.0}, "officer", 422, "outside the area"),
    ({"topic": "gossip"}, "officer", 422, "topic"),
    ({}, "planner", 403, "officers and supervisors"),
])
def test_a_wrong_campaign_says_what_to_fix(client, auth, world, body, role, status, words):
    good = {"kind": "lecture", "topic": "fraud", "held_on": TODAY.isoformat(), **lonlat(100, 100)}
    response = client.post("/api/education/campaigns", json={**good, **body}, headers=auth(role))
    assert response.status_code == status and words in response.text
