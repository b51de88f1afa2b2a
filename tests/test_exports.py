"""A layer as a file: GeoPackage, GeoJSON, CSV and XLSX, read back; the role's columns only;
an export of personal fields audited."""

from __future__ import annotations

import io

import geopandas as gpd
import pandas as pd
import pytest
from sqlalchemy import text

from tests.metres import area, point


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
                              "bbox": [west, south, east, north]}]


def test_an_unknown_format_or_a_layer_the_role_may_not_read_is_refused(client, auth, premises):
    assert client.get("/api/layers/premises/export", params={"format": "shp"},
                      headers=auth("officer")).status_code == 422
    assert client.get("/api/layers/patrol_tracks/export", headers=auth("planner")).status_code == 403
