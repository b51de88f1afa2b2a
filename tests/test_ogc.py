"""OGC API - Features, read by a real OGC client (OWSLib) over HTTP: the landing page,
conformance, collections, a page of items with its next link, a bbox and a datetime query,
one item; and the same role rules as the rest of the API."""

from __future__ import annotations

import pytest
import requests
from owslib.ogcapi.features import Features
from sqlalchemy import text

from tests.metres import area, box, lonlat, metric, point
from tests.serving import served
from tests.tokens import bearer


@pytest.fixture
def world(conn):
    """Five buildings in a row 100 m apart (x 0..400), a hotel with its responsible person, and
    three incidents on 1, 2 and 3 November 2026 at 12:00 UTC."""
    conn.execute(text(f"""
        {area()}
        INSERT INTO building (id, address, geom)
        SELECT 200 + n, 'Street ' || n, ST_Multi({metric(box(0, 0, 20, 20))}) FROM generate_series(0, 4) n;
        UPDATE building SET geom = ST_Translate(geom, (id - 200) * 0.0017, 0);
        INSERT INTO premises (id, trade, name, responsible_person, geom) VALUES
            (200, 'hotel', 'Inn', 'Hidden Keeper', {point(50, 50)});
        SELECT beatbook_ensure_months('incident', '2026-11-01 12:00Z', '2026-11-03 12:00Z');
        INSERT INTO incident (id, occurred_at, type, geom) VALUES
            (201, '2026-11-01 12:00Z', 'burglary', {point(10, 10)}),
            (202, '2026-11-02 12:00Z', 'burglary', {point(20, 10)}),
            (203, '2026-11-03 12:00Z', 'theft', {point(30, 10)});
    """))


@pytest.fixture
def ogc(app, users, settings, world):
    """An OWSLib client for a role, on the app served over loopback."""
    with served(app) as base:
        def client(role: str) -> Features:
            api = Features(f"{base}/ogc", headers=bearer(users[role], role, settings.secret_key))
            # OWSLib merges the headers into its module-wide defaults: the next client would
            # send this one's token. Each keeps a copy of its own.
            api.headers = dict(api.headers)
            return api
        client.base = base
        yield client


def test_an_ogc_client_reads_conformance_collections_and_items(ogc):
    api = ogc("officer")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in api.conformance()["conformsTo"]
    ids = {c["id"] for c in api.collections()["collections"]}
    assert {"beats", "buildings", "entrances", "cameras", "incidents", "patrol_tracks"} <= ids
    buildings = api.collection("buildings")
    assert buildings["extent"]["spatial"]["bbox"][0][0] == pytest.approx(lonlat(0, 0)["lon"], abs=1e-4)

    page = api.collection_items("buildings", limit=2)
    assert [f["id"] for f in page["features"]] == [200, 201] and page["numberReturned"] == 2
    seen = [f["id"] for f in page["features"]]
    while (after := next((link for link in page["links"] if link["rel"] == "next"), None)) is not None:
        page = requests.get(after["href"], headers=api.headers, timeout=10).json()
        seen += [f["id"] for f in page["features"]]
    assert seen == [200, 201, 202, 203, 204]

    one = api.collection_item("buildings", "202")
    assert one["id"] == 202 and one["properties"]["address"] == "Street 2"


def test_bbox_and_datetime_select_the_features_within_them(ogc):
    api = ogc("planner")
    west, south = lonlat(-5, -5).values()
    east, north = lonlat(115, 25).values()
    inside = api.collection_items("buildings", bbox=[west, south, east, north], limit=100)
    assert [f["id"] for f in inside["features"]] == [200, 201]
    for interval, expected in (("2026-11-02T00:00:00Z/2026-11-03T00:00:00Z", [202]),
                               ("../2026-11-02T12:00:00Z", [201, 202]),
                               ("2026-11-02T12:00:00Z/..", [202, 203]),
                               ("2026-11-03T12:00:00Z", [203])):
        found = api.collection_items("incidents", datetime_=interval, limit=100)
        assert [f["id"] for f in found["features"]] == expected, interval


def test_the_roles_rules_hold_for_ogc_clients_too(ogc):
    planner = ogc("planner")
    assert not {"patrol_tracks", "gps_fixes"} & {c["id"] for c in planner.collections()["collections"]}
    hotel = planner.collection_items("premises")["features"][0]
    assert "responsible_person" not in hotel["properties"] and "Hidden" not in str(hotel)
    assert ogc("officer").collection_items("premises")["features"][0]["properties"]["responsible_person"] \
        == "Hidden Keeper"
    with pytest.raises(RuntimeError, match="may not read"):
        planner.collection_items("patrol_tracks")
    assert requests.get(f"{ogc.base}/ogc/collections", timeout=10).status_code == 401


@pytest.mark.parametrize("query, words", [
    ({"datetime": "yesterday"}, "RFC 3339"),
    ({"datetime": "2026-11-03T00:00:00Z/2026-11-01T00:00:00Z"}, "ends before it starts"),
    ({"bbox": "1,2,3"}, "four numbers"),
    ({"limit": "100000"}, "at most"),
])
def test_a_bad_query_says_what_to_fix(client, auth, world, query, words):
    response = client.get("/ogc/collections/incidents/items", params=query, headers=auth("officer"))
    assert response.status_code == 422 and words in response.text
