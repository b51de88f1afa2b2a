"""Analysis answers as files (the ``format`` query parameter): GeoPackage, CSV and XLSX read
back with the answer's features and summary, GeoJSON the answer as always; lists and objects
as JSON text; a page of a paged answer with its next page in the Link header. Nothing in these
answers names anyone, so nothing is audited."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from sqlalchemy import text

from api.exports import FORMATS, collection_frame, export_bytes
from tests.metres import point
from tests.test_plan_api import PERIOD
from tests.test_plan_api import beat as plan_beat  # noqa: F401 (a fixture)


@pytest.fixture
def beat(plan_beat, conn):  # noqa: F811 (the fixture imported above)
    """The planning tests' beat (three burglaries at (250, 90); two unmanaged, ungated buildings,
    the west one with two households, the east one by the burglaries; a managed, gated one),
    with two disputes at each unmanaged building, two weeks apart."""
    conn.execute(text(f"""
        INSERT INTO dispute (building_id, category, parties_kind, reported_by, reported_on, geom) VALUES
            (1, 'noise', 'neighbours', 'patrol', '2026-10-01', {point(50, 120)}),
            (1, 'noise', 'neighbours', 'patrol', '2026-10-15', {point(50, 120)}),
            (2, 'noise', 'neighbours', 'patrol', '2026-10-02', {point(250, 120)}),
            (2, 'noise', 'neighbours', 'patrol', '2026-10-16', {point(250, 120)});
    """))
    return plan_beat


def exports(conn) -> list:
    return conn.execute(text("SELECT details FROM audit_log WHERE action = 'export'")).scalars().all()


def read_back(response, fmt: str, tmp_path) -> tuple[pd.DataFrame, dict | None]:
    """A file's features, and its summary (None from a CSV), as a GIS tool or a spreadsheet reads them."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(FORMATS[fmt][0].split(";")[0])
    if fmt == "gpkg":
        saved = tmp_path / "answer.gpkg"  # GDAL goes by the suffix
        saved.write_bytes(response.content)
        [[layer, _]] = pyogrio.list_layers(saved)
        return gpd.read_file(saved), pyogrio.read_info(saved, layer=layer)["layer_metadata"]
    if fmt == "csv":
        return pd.read_csv(io.BytesIO(response.content), encoding="utf-8-sig"), None
    sheets = pd.read_excel(io.BytesIO(response.content), sheet_name=None)
    summary = sheets.pop("summary")
    [features] = sheets.values()
    return features, dict(zip(summary["name"], summary["value"], strict=True))


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "xlsx"])
def test_a_density_goes_out_as_a_file_with_its_features_and_its_summary(client, auth, conn, beat, fmt,
                                                                         tmp_path):
    params = {"beat": "T-1", "method": "hex", "cell_m": 50, **PERIOD}
    answer = client.get("/api/analysis/incident-density", params=params, headers=auth("planner")).json()
    response = client.get("/api/analysis/incident-density", params={**params, "format": fmt},
                          headers=auth("planner"))
    frame, summary = read_back(response, fmt, tmp_path)
    assert response.headers["content-disposition"] == f'attachment; filename="incident-density_T-1.{fmt}"'
    assert list(frame["count"]) == [f["properties"]["count"] for f in answer["features"]] == [3]
    assert list(frame["feature"]) == ["hexagon"]
    if fmt == "gpkg":  # metadata is text: numbers as JSON
        assert list(frame.geom_type) == ["Polygon"] and frame.crs.to_epsg() == 4326
        assert set(summary) == set(answer["summary"])
        assert summary["place"] == "T-1" and json.loads(summary["incidents"]) == 3
    elif fmt == "xlsx":
        assert frame["geometry_wkt"].str.startswith("POLYGON").all()
        assert summary["place"] == "T-1" and summary["incidents"] == 3 and summary["cell_m"] == 50
    else:
        assert summary is None and frame["geometry_wkt"].str.startswith("POLYGON").all()
    assert exports(conn) == []  # counts only: nothing personal went out


def test_geojson_is_the_answer_as_always(client, auth, beat):
    params = {"beat": "T-1", "method": "hex", "cell_m": 50, **PERIOD}
    plain = client.get("/api/analysis/incident-density", params=params, headers=auth("officer"))
    asked = client.get("/api/analysis/incident-density", params={**params, "format": "geojson"},
                       headers=auth("officer"))
    assert asked.headers["content-type"] == plain.headers["content-type"] == "application/json"
    assert asked.json() == plain.json() and "content-disposition" not in asked.headers
    assert gpd.read_file(io.BytesIO(asked.content))["count"].tolist() == [3]


def test_a_page_goes_out_with_its_lists_as_json_and_the_next_page_in_the_link_header(client, auth, beat):
    response = client.get("/api/disputes/repeat-locations", params={"limit": 1, "format": "csv"},
                          headers=auth("planner"))
    frame, _ = read_back(response, "csv", None)
    assert response.headers["content-disposition"] == 'attachment; filename="repeat-locations_all.csv"'
    assert list(frame["building_id"]) == [1] and list(frame["address"]) == ["West 1"]
    assert json.loads(frame["dates"][0]) == ["2026-10-01", "2026-10-15"]
    following, rel = response.headers["link"].split("; ")
    assert rel == 'rel="next"' and "format=csv" in following and "after=1" in following
    last = client.get(following.strip("<>"), headers=auth("planner"))
    assert list(read_back(last, "csv", None)[0]["building_id"]) == [2] and "link" not in last.headers


def test_a_plan_goes_out_as_a_geopackage(client, auth, conn, beat, tmp_path):
    response = client.post("/api/plan/access-control", params={"beat": "T-1", **PERIOD, "format": "gpkg"},
                           json={"k": 1}, headers=auth("planner"))
    frame, summary = read_back(response, "gpkg", tmp_path)
    assert response.headers["content-disposition"] == 'attachment; filename="gate-sites_T-1.gpkg"'
    assert list(frame["address"]) == ["East 2"] and list(frame["rank"]) == [1]
    assert json.loads(summary["k"]) == 1 and json.loads(summary["ungated_entrances"]) == 2
    assert exports(conn) == []


@pytest.mark.parametrize(("method", "path", "fmt"), [
    ("GET", "/api/analysis/hotspots", "gpx"),  # GPX is for routes
    ("GET", "/api/beats/workload", "shp"),
    ("POST", "/api/plan/access-control", "kml"),
    ("POST", "/api/plan/patrol-route", "kml"),
])
def test_a_format_the_route_does_not_write_is_refused(client, auth, beat, method, path, fmt):
    response = client.request(method, path, params={"beat": "T-1", "format": fmt}, headers=auth("officer"))
    assert response.status_code == 422 and "format" in response.text


def test_lists_objects_and_geometries_among_the_properties_go_as_json_text_and_formulas_as_text(tmp_path):
    answer = {"type": "FeatureCollection", "summary": {"place": "T-1", "gap": {"households": 2}}, "features": [
        {"type": "Feature", "id": 7, "geometry": {"type": "Point", "coordinates": [24.94, 60.17]},
         "properties": {"name": "=HYPERLINK(1)", "by_stage": {"primary": 2}, "dates": ["2026-10-01"],
                        "station": {"type": "Point", "coordinates": [24.9, 60.1]}}},
        {"type": "Feature", "id": 8, "geometry": None, "properties": {"name": "North", "extra": 1.5}},
        {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": [[[24.9, 60.1], [24.95, 60.1]]]},
         "properties": {"name": "Route", "dates": []}},
    ]}
    frame = collection_frame(answer)
    assert list(frame.columns) == ["id", "name", "by_stage", "dates", "station", "extra", "geometry"]
    assert json.loads(frame["by_stage"][0]) == {"primary": 2} and frame["dates"][2] == "[]"
    assert pd.isna(frame["dates"][1])  # a property a feature lacks is an empty cell
    assert json.loads(frame["station"][0])["type"] == "Point" and frame.geometry[1] is None
    saved = tmp_path / "mixed.gpkg"
    saved.write_bytes(export_bytes(frame, "gpkg", "mixed", summary=answer["summary"]))
    back = gpd.read_file(saved)
    assert back.geom_type[0] == "Point" and back.geometry[1] is None and back.geom_type[2] == "MultiLineString"
    assert json.loads(pyogrio.read_info(saved)["layer_metadata"]["gap"]) == {"households": 2}
    for sheet in (pd.read_csv(io.BytesIO(export_bytes(frame, "csv", "mixed")), encoding="utf-8-sig"),
                  pd.read_excel(io.BytesIO(export_bytes(frame, "xlsx", "mixed")))):
        assert sheet["name"].tolist() == ["'=HYPERLINK(1)", "North", "Route"]
