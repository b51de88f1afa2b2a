"""Beats divided anew through the API, on four blocks a street cross cuts two beats into."""

import pytest
import shapely
from sqlalchemy import text

from tests.metres import X0, Y0, area, box, metric

ONLY_HOUSEHOLDS = {"households": 1, "residents_to_visit": 0, "premises_due": 0, "sites_due": 0,
                   "incidents": 0, "open_disputes": 0, "street_km": 0}


@pytest.fixture
def beats(conn):
    """Beats T-A (west half) and T-B (east half) of a 200 m square; streets along x = 100 and
    y = 100 cut it into four blocks. Households: south-west 2, north-west 1, north-east 0,
    south-east 1: T-A carries 3, T-B 1. Officer P-A has T-A, P-B has T-B."""
    # building: (x, y) of its households, one metre apart
    households = {1: [(50, 50), (51, 50)], 2: [(50, 150)], 3: [(150, 50)]}
    rows = ", ".join(f"({n}, {b}, {metric(f'POINT({X0 + x} {Y0 + y})')})" for n, (b, (x, y)) in enumerate(
        ((b, p) for b, points in households.items() for p in points), start=1))
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES
            ('T-A', 'West', ST_Multi({metric(box(0, 0, 100, 200))})),
            ('T-B', 'East', ST_Multi({metric(box(100, 0, 200, 200))}));
        INSERT INTO street_segment (id, source, target, length_m, geom) VALUES
            (1, 1, 2, 200, {metric(f'LINESTRING({X0 + 100} {Y0}, {X0 + 100} {Y0 + 200})')}),
            (2, 3, 4, 200, {metric(f'LINESTRING({X0} {Y0 + 100}, {X0 + 200} {Y0 + 100})')});
        INSERT INTO building (id, geom) VALUES
            (1, ST_Multi({metric(box(40, 40, 60, 60))})), (2, ST_Multi({metric(box(40, 140, 60, 160))})),
            (3, ST_Multi({metric(box(140, 40, 160, 60))}));
        INSERT INTO officer (badge, name) VALUES ('P-A', 'West officer'), ('P-B', 'East officer');
        INSERT INTO officer_beat (officer_id, beat_id, valid_from)
            SELECT o.id, b.id, current_date - 30 FROM officer o JOIN beat b ON b.code = 'T-' || right(o.badge, 1)
            WHERE o.badge IN ('P-A', 'P-B');
    """))
    conn.execute(text(f"INSERT INTO household (id, building_id, geom) VALUES {rows}"))
    return ["T-A", "T-B"]


def plan(client, auth, **body):
    response = client.post("/api/plan/beats", headers=auth("supervisor"),
                           json={"beats": ["T-A", "T-B"], "weights": ONLY_HOUSEHOLDS, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_two_beats_of_four_blocks_come_out_even(client, auth, beats):
    body = plan(client, auth)
    summary = body["summary"]
    assert summary["blocks"] == 4
    assert summary["balance"]["max_min_ratio"] == {"before": 3.0, "after": 1.0}
    assert summary["target_reached"] is True
    assert [(b["beat"], b["share_of_mean"]) for b in summary["before"]] == [("T-A", 1.5), ("T-B", 0.5)]
    # Every new beat one piece, the two together the whole square.
    shapes = [shapely.geometry.shape(f["geometry"]) for f in body["features"]]
    assert len(shapes) == 2 and all(s.geom_type == "Polygon" for s in shapes)
    assert [f["properties"]["share_of_mean"] for f in body["features"]] == [1.0, 1.0]
    # Each officer takes the new beat holding the most of their old one.
    officers = {o["officer"]: o for o in summary["officers"]}
    assert set(officers) == {"P-A", "P-B"} and officers["P-A"]["new_beat"] != officers["P-B"]["new_beat"]


def test_one_beat_split_in_two_along_the_street(client, auth, beats):
    body = plan(client, auth, beats=["T-A"], k=2)
    assert body["summary"]["blocks"] == 2
    assert sorted(f["properties"]["share_of_mean"] for f in body["features"]) == [0.667, 1.333]
    assert body["summary"]["target_reached"] is False and "1.2" in body["summary"]["note"]


@pytest.mark.parametrize("body, status, words", [
    ({"beats": ["T-A", "NOPE"]}, 404, "NOPE"),
    ({"beats": ["T-A"], "k": 3}, 422, "3 beats from 2 units"),
    ({"k": 0}, 422, "k"),
    ({"weights": {"households": -1}}, 422, "households"),
])
def test_bad_beat_plans_say_what_to_fix(client, auth, beats, body, status, words):
    response = client.post("/api/plan/beats", headers=auth("supervisor"), json=body)
    assert response.status_code == status
    assert words in response.text
