"""A layer as a file: GeoPackage, GeoJSON, CSV and XLSX, read back; the role's columns only;
an export of personal fields audited. Patrol tracks as GPX: a track each, each point with its
time, of the days or the one track asked for; audited, and not for planners."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import geopandas as gpd
import gpxpy
import pandas as pd
import pytest
from sqlalchemy import text

from tests.metres import X0, Y0, area, metric, offset, point


@pytest.fixture
def premises(conn):
    conn.execute(text(f"""
        {area()}
        INSERT INTO premises (id, trade, name, licence_no, responsible_person, geom) VALUES
            (301, 'hotel', 'Inn', 'H-1', 'Hidden Keeper', {point(50, 50)}),
            (302, 'locksmith', 'Keys', 'L-1', 'Another Keeper', {point(900, 900)});
    """))


def exports(conn) -> list:
    return conn.execute(text("SELECT details FROM audit_log WHERE action = 'export' ORDER BY id")).scalars().all()


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "xlsx"])
def test_each_format_reads_back_with_the_features_and_the_roles_columns(client, auth, conn, premises, fmt,
                                                                       tmp_path):
    response = client.get("/api/layers/premises/export", params={"format": fmt}, headers=auth("planner"))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="premises.{fmt}"'
    if fmt in ("gpkg", "geojson"):
        saved = tmp_path / f"premises.{fmt}"  # as the browser saves it: GDAL goes by the suffix
        saved.write_bytes(response.content)
        frame = gpd.read_file(saved)
        assert sorted(frame["name"]) == ["Inn", "Keys"] and frame.crs.to_epsg() == 4326
    else:
        frame = (pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig") if fmt == "csv"
                 else pd.read_excel(io.BytesIO(response.content)))
        assert sorted(frame["name"]) == ["Inn", "Keys"]
        assert frame["geometry_wkt"].str.startswith("POINT").all()
    assert "responsible_person" not in frame.columns and b"Hidden" not in response.content
    assert exports(conn) == []  # nothing personal went out


def test_an_export_with_names_is_audited_and_a_bbox_keeps_to_it(client, auth, conn, premises):
    from tests.metres import lonlat

    (west, south), (east, north) = lonlat(0, 0).values(), lonlat(100, 100).values()
    response = client.get("/api/layers/premises/export", headers=auth("officer"),
                          params={"format": "geojson", "bbox": f"{west},{south},{east},{north}"})
    frame = gpd.read_file(io.BytesIO(response.content))
    assert list(frame["responsible_person"]) == ["Hidden Keeper"]
    assert exports(conn) == [{"layer": "premises", "format": "geojson", "rows": 1,
                              "bbox": [west, south, east, north], "start": None, "end": None, "id": None}]


def test_an_unknown_format_or_a_layer_the_role_may_not_read_is_refused(client, auth, premises):
    assert client.get("/api/layers/premises/export", params={"format": "shp"},
                      headers=auth("officer")).status_code == 422
    assert client.get("/api/layers/patrol_tracks/export", headers=auth("planner")).status_code == 403


# --- patrol tracks as GPX --------------------------------------------------------------------


def epoch(local: str) -> float:
    """A Helsinki wall-clock time of November 2026 (UTC+2) in epoch seconds."""
    return datetime.fromisoformat(local + "+02:00").timestamp()


# Track 401 on the evening of 2 November; track 402 from the night of 5 November into the 6th.
TRACKS = {401: [(0, 0, "2026-11-02T22:00:00"), (60, 0, "2026-11-02T22:01:00"), (60, 80, "2026-11-02T22:02:30")],
          402: [(100, 100, "2026-11-05T23:50:00"), (100, 200, "2026-11-06T00:10:00")]}


@pytest.fixture
def tracks(conn, users):
    conn.execute(text(area()))
    for track_id, fixes in TRACKS.items():
        coords = ", ".join(f"{X0 + x} {Y0 + y} {epoch(t)}" for x, y, t in fixes)
        conn.execute(text(f"""
            INSERT INTO patrol_track (id, officer_id, started_at, ended_at, n_fixes, geom)
            VALUES (:id, (SELECT id FROM officer WHERE badge = 'T-1'), :started, :ended, :n,
                    {metric(f'LINESTRING M ({coords})')})
        """), {"id": track_id, "started": datetime.fromtimestamp(epoch(fixes[0][2]), UTC),
               "ended": datetime.fromtimestamp(epoch(fixes[-1][2]), UTC), "n": len(fixes)})


GPX = "{http://www.topografix.com/GPX/1/1}"
# The GPX 1.1 schema's sequences (gpx.xsd), of the elements Beatbook writes and those around them.
SEQUENCES = {
    "gpx": ("metadata", "wpt", "rte", "trk", "extensions"),
    "trk": ("name", "cmt", "desc", "src", "link", "number", "type", "extensions", "trkseg"),
    "trkseg": ("trkpt", "extensions"),
    "trkpt": ("ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym", "type",
              "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "extensions"),
}
SEQUENCES["wpt"] = SEQUENCES["trkpt"]


def assert_gpx_1_1(document: bytes) -> None:
    """What the GPX 1.1 schema asks of the document, element by element: the namespace and
    version, each element's children in the schema's order, points within lat/lon bounds,
    track numbers non-negative integers, times xsd:dateTime."""
    root = ET.fromstring(document)
    assert root.tag == GPX + "gpx" and root.get("version") == "1.1" and root.get("creator")
    for element in root.iter():
        name = element.tag.removeprefix(GPX)
        if name in SEQUENCES:
            order = [SEQUENCES[name].index(child.tag.removeprefix(GPX)) for child in element]
            assert order == sorted(order), f"<{name}> children out of the schema's order"
        if name in ("trkpt", "wpt"):
            assert -90 <= float(element.get("lat")) <= 90 and -180 <= float(element.get("lon")) < 180
        if name == "number":
            assert int(element.text) >= 0
        if name == "time":
            assert datetime.fromisoformat(element.text).tzinfo is not None


def test_tracks_go_out_as_gpx_a_track_each_with_every_points_time_and_are_audited(client, auth, conn, tracks):
    response = client.get("/api/layers/patrol_tracks/export", params={"format": "gpx"}, headers=auth("officer"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/gpx+xml")
    assert response.headers["content-disposition"] == 'attachment; filename="patrol_tracks.gpx"'
    assert_gpx_1_1(response.content)
    gpx = gpxpy.parse(response.text)
    assert [track.number for track in gpx.tracks] == [401, 402]
    for track, fixes in zip(gpx.tracks, TRACKS.values(), strict=True):
        [segment] = track.segments
        assert [offset((p.longitude, p.latitude)) for p in segment.points] == [(x, y) for x, y, _ in fixes]
        assert [p.time.timestamp() for p in segment.points] == pytest.approx([epoch(t) for *_, t in fixes])
    assert "n_fixes: 3" in gpx.tracks[0].description
    assert exports(conn) == [{"layer": "patrol_tracks", "format": "gpx", "bbox": None, "start": None, "end": None,
                              "id": None, "rows": 2}]


@pytest.mark.parametrize(("params", "numbers"), [
    ({"start": "2026-11-02", "end": "2026-11-02"}, [401]),
    ({"start": "2026-11-06", "end": "2026-11-30"}, [402]),  # it runs into the 6th
    ({"start": "2026-11-03", "end": "2026-11-04"}, []),
    ({"id": 402}, [402]),
    ({"id": 401, "start": "2026-11-01", "end": "2026-11-02"}, [401]),
])
def test_the_days_or_the_one_track_asked_for_go_out(client, auth, tracks, params, numbers):
    response = client.get("/api/layers/patrol_tracks/export", params={"format": "gpx", **params},
                          headers=auth("supervisor"))
    assert response.status_code == 200, response.text
    assert_gpx_1_1(response.content)
    assert [track.number for track in gpxpy.parse(response.text).tracks] == numbers
    if "id" in params:
        assert f'filename="patrol_tracks_{params["id"]}.gpx"' in response.headers["content-disposition"]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "csv", "xlsx"])
def test_the_days_hold_for_the_other_formats_too(client, auth, conn, tracks, fmt, tmp_path):
    response = client.get("/api/layers/patrol_tracks/export", headers=auth("officer"),
                          params={"format": fmt, "start": "2026-11-05", "end": "2026-11-05"})
    assert response.status_code == 200, response.text
    if fmt in ("gpkg", "geojson"):  # flat lines: the points' times are GPX's
        saved = tmp_path / f"tracks.{fmt}"
        saved.write_bytes(response.content)
        frame = gpd.read_file(saved)
        assert list(frame.geom_type) == ["LineString"] and not frame.has_m.any()
    else:
        frame = (pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig") if fmt == "csv"
                 else pd.read_excel(io.BytesIO(response.content)))
        assert frame["geometry_wkt"].str.startswith("LINESTRING M").all()
    assert list(frame["n_fixes"]) == [2]
    assert exports(conn) == [{"layer": "patrol_tracks", "format": fmt, "bbox": None, "start": "2026-11-05",
                              "end": "2026-11-05", "id": None, "rows": 1}]


@pytest.mark.parametrize(("role", "path", "params", "status", "words"), [
    ("planner", "patrol_tracks", {"format": "gpx"}, 403, "planner"),
    ("planner", "gps_fixes", {"format": "csv"}, 403, "planner"),
    ("officer", "premises", {"format": "gpx"}, 422, "gpx is for patrol_tracks"),
    ("officer", "patrol_tracks", {"format": "kml"}, 422, "format"),
    ("officer", "patrol_tracks", {"format": "gpx", "start": "2026-11-02"}, 422, "both start and end"),
    ("officer", "buildings", {"start": "2026-11-02", "end": "2026-11-02"}, 422, "not bound to a time"),
    ("officer", "patrol_tracks", {"format": "gpx", "id": 999}, 404, "no feature 999"),
])
def test_a_wrong_track_export_says_what_to_fix_and_writes_nothing_to_the_audit_log(
        client, auth, conn, tracks, role, path, params, status, words):
    response = client.get(f"/api/layers/{path}/export", params=params, headers=auth(role))
    assert response.status_code == status and words in response.text
    assert exports(conn) == []
