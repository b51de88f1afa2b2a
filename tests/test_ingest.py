"""Importing real files, and refusing broken ones without loading a single row."""

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from beatbook.ingest import ImportOptions, ImportRejected, import_file, prepare
from beatbook.settings import PROJECT_ROOT
from db.layers import LAYERS

HELSINKI = PROJECT_ROOT / "data" / "helsinki" / "helsinki_layers.gpkg"
HELSINKI_BBOX = (24.92, 60.15, 24.97, 60.19)


def count(conn, table: str) -> int:
    return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def set_area(conn, bbox=HELSINKI_BBOX, metric_srid=32635) -> None:
    conn.execute(
        text("INSERT INTO area (name, metric_srid, geom) "
             "VALUES ('test area', :srid, ST_Multi(ST_MakeEnvelope(:a, :b, :c, :d, 4326)))"),
        {"srid": metric_srid, "a": bbox[0], "b": bbox[1], "c": bbox[2], "d": bbox[3]},
    )


@pytest.fixture
def officer(conn) -> str:
    conn.execute(text("INSERT INTO officer (badge, name) VALUES ('P-7', 'Patrol Officer')"))
    return "P-7"


# --- real files load ------------------------------------------------------------------------


def test_real_osm_footprints_are_refused_as_they_are_and_load_repaired(conn, pg):
    set_area(conn)
    error = refused(conn, pg, "building", "buildings", HELSINKI, ImportOptions(source_layer="buildings"))
    assert error.total == 12 and "Self-intersection" in error.problems[0][1]
    report = import_file(pg, "buildings", HELSINKI, ImportOptions(source_layer="buildings", repair=True))
    assert (report.rows, report.repaired, report.dropped) == (483, 9, 3)
    assert conn.execute(text("SELECT bool_and(ST_IsValid(geom)) FROM building")).scalar_one()


@pytest.mark.parametrize(
    ("layer", "source_layer", "table", "expected"),
    [
        ("cameras", "surveillance_cameras", "camera", 221),
    ],
)
def test_helsinki_osm_layers_load(conn, pg, layer, source_layer, table, expected):
    set_area(conn)
    report = import_file(pg, layer, HELSINKI, ImportOptions(source_layer=source_layer))
    assert report.rows == expected
    assert count(conn, table) == expected


def test_entrances_are_tied_to_the_building_they_stand_on(conn, pg):
    set_area(conn)
    import_file(pg, "buildings", HELSINKI, ImportOptions(source_layer="buildings", repair=True))
    import_file(pg, "entrances", HELSINKI, ImportOptions(source_layer="entrances"))
    tied, total = conn.execute(text("SELECT count(building_id), count(*) FROM entrance")).one()
    assert total == 325
    assert tied / total > 0.9


def test_imported_streets_form_a_routable_network(conn, pg):
    import_file(pg, "streets", HELSINKI, ImportOptions(source_layer="streets_walking"))
    untied = conn.execute(text("SELECT count(*) FROM street_segment WHERE source IS NULL OR target IS NULL"))
    assert untied.scalar_one() == 0
    # pgRouting finds a path between two vertices of the largest component.
    path = conn.execute(text("""
        SELECT count(*) FROM pgr_dijkstra(
            'SELECT id, source, target, length_m AS cost FROM street_segment',
            (SELECT source FROM street_segment ORDER BY id LIMIT 1),
            (SELECT target FROM street_segment ORDER BY id LIMIT 1 OFFSET 50), directed => false)
    """)).scalar_one()
    assert path > 0
    lengths = conn.execute(text(
        "SELECT max(abs(length_m - ST_Length(geom::geography))) FROM street_segment")).scalar_one()
    assert lengths < 0.5


def test_real_beats_load_with_a_beat_in_two_parts_merged(conn, pg, shared_data):
    report = import_file(pg, "beats", shared_data / "sacramento_beats" / "police_beats.geojson")
    assert (report.rows, report.merged) == (20, 1)
    parts = conn.execute(text("SELECT ST_NumGeometries(geom) FROM beat WHERE code = '3A'")).scalar_one()
    assert parts == 2


def test_wards_load_as_beats(conn, pg, shared_data):
    assert import_file(pg, "beats", shared_data / "nottingham_crime" / "nottingham_wards.gpkg").rows == 20


def test_chinese_names_survive_the_trip(conn, pg, shared_data):
    options = ImportOptions(mapping={"code": "qh", "name": "qh"})
    assert import_file(pg, "beats", shared_data / "shenzhen_futian" / "sz.json", options).rows == 10
    assert conn.execute(text("SELECT count(*) FROM beat WHERE name = '福田'")).scalar_one() == 1


def test_a_chinese_street_network_loads(conn, pg, shared_data):
    path = shared_data / "shenzhen_futian" / "shenzhen_futian_osm_network.gpkg"
    assert import_file(pg, "streets", path, ImportOptions(source_layer="edges")).rows == 4009


@pytest.mark.parametrize(("kind", "expected"), [("burglary", 1795), ("robbery", 555)])
def test_police_uk_crimes_load_as_incidents(conn, pg, shared_data, kind, expected):
    path = shared_data / "nottingham_crime" / f"nottingham_{kind}.csv.gz"
    assert import_file(pg, "incidents", path, ImportOptions(constants={"type": kind})).rows == expected
    first, last = conn.execute(text("SELECT min(occurred_at), max(occurred_at) FROM incident")).one()
    assert (first.year, first.month, last.year) == (2022, 1, 2022)


def test_a_gpx_track_loads_as_gps_fixes(conn, pg, shared_data, officer):
    path = shared_data / "tracks" / "304_to_UL_2019-02-18_0745.gpx"
    assert import_file(pg, "gps_fixes", path, ImportOptions(constants={"officer": officer})).rows == 2144
    assert conn.execute(text("SELECT count(DISTINCT recorded_at) FROM gps_fix")).scalar_one() > 2000


@pytest.mark.parametrize("name", ["demodata_geolife.csv", "demodata_geolife.gpkg"])
def test_geolife_fixes_load_from_csv_and_geopackage(conn, pg, shared_data, officer, name):
    options = ImportOptions(constants={"officer": officer})
    assert import_file(pg, "gps_fixes", shared_data / "tracks" / name, options).rows == 5908


# --- broken files load nothing --------------------------------------------------------------


def refused(conn, pg, table, layer, path, options=None) -> ImportRejected:
    before = count(conn, table)
    with pytest.raises(ImportRejected) as caught:
        import_file(pg, layer, path, options)
    assert count(conn, table) == before
    return caught.value


def write_geojson(path: Path, geometries: list[dict], properties: dict | None = None) -> Path:
    features = [{"type": "Feature", "geometry": g, "properties": properties or {}} for g in geometries]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


SQUARE = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.941, 60.17], [24.941, 60.171],
                                              [24.94, 60.171], [24.94, 60.17]]]}
BOWTIE = {"type": "Polygon", "coordinates": [[[24.94, 60.17], [24.941, 60.171], [24.941, 60.17],
                                              [24.94, 60.171], [24.94, 60.17]]]}


def test_a_self_intersecting_polygon_loads_nothing(conn, pg, tmp_path):
    path = write_geojson(tmp_path / "b.geojson", [SQUARE, BOWTIE, SQUARE])
    error = refused(conn, pg, "building", "buildings", path)
    [(row, problem)] = error.problems
    assert row == 2 and problem.startswith("invalid geometry: Self-intersection")


def test_the_wrong_geometry_type_loads_nothing(conn, pg, tmp_path):
    path = write_geojson(tmp_path / "p.geojson", [{"type": "Point", "coordinates": [24.94, 60.17]}])
    error = refused(conn, pg, "building", "buildings", path)
    assert "Point" in error.problems[0][1] and "Polygon" in error.problems[0][1]


def test_a_file_without_a_crs_loads_nothing(conn, pg, tmp_path):
    frame = gpd.GeoDataFrame({"name": ["x"]}, geometry=[shapely.from_geojson(json.dumps(SQUARE))], crs=None)
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        frame.to_file(tmp_path / "nocrs.shp")
    error = refused(conn, pg, "building", "buildings", tmp_path / "nocrs.shp")
    assert "no coordinate reference system" in str(error)
    # Told the CRS, the same file loads.
    assert import_file(pg, "buildings", tmp_path / "nocrs.shp", ImportOptions(crs="EPSG:4326")).rows == 1


def test_points_outside_the_area_load_nothing(conn, pg, shared_data):
    set_area(conn)
    path = shared_data / "nottingham_crime" / "nottingham_robbery.csv.gz"
    error = refused(conn, pg, "incident", "incidents", path, ImportOptions(constants={"type": "robbery"}))
    assert "outside the area" in error.problems[0][1]
    assert error.total == 555
    assert len(error.problems) == 20  # the report lists the first rows, and says how many more


@pytest.mark.parametrize("suffix", [".geojson", ".gpkg", ".csv.gz"])
def test_a_truncated_file_loads_nothing(conn, pg, tmp_path, shared_data, suffix):
    sources = {".geojson": shared_data / "sacramento_beats" / "police_beats.geojson",
               ".gpkg": shared_data / "nottingham_crime" / "nottingham_wards.gpkg",
               ".csv.gz": shared_data / "nottingham_crime" / "nottingham_burglary.csv.gz"}
    data = sources[suffix].read_bytes()
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(data[: len(data) // 2])
    layer, table = ("incidents", "incident") if suffix == ".csv.gz" else ("beats", "beat")
    error = refused(conn, pg, table, layer, cut, ImportOptions(constants={"type": "burglary"}))
    assert "cannot read" in str(error)


def test_an_unknown_crs_is_refused(conn, pg, shared_data):
    path = shared_data / "nottingham_crime" / "nottingham_burglary.csv.gz"
    error = refused(conn, pg, "incident", "incidents", path, ImportOptions(crs="EPSG:999999"))
    assert "unknown CRS" in str(error)


def test_a_csv_without_coordinates_says_which_option_to_give(conn, pg, shared_data):
    error = refused(conn, pg, "incident", "incidents", shared_data / "sacramento_beats" / "sacramento_crime.csv")
    assert "--lon" in str(error)


def test_a_missing_required_field_names_the_option(conn, pg, shared_data):
    error = refused(conn, pg, "incident", "incidents", shared_data / "nottingham_crime" / "nottingham_burglary.csv.gz")
    assert "--set type=VALUE" in str(error)


def test_an_unknown_officer_is_reported_per_row(conn, pg, shared_data):
    path = shared_data / "tracks" / "demodata_geolife.gpkg"
    error = refused(conn, pg, "gps_fix", "gps_fixes", path, ImportOptions(constants={"officer": "NOBODY"}))
    assert "unknown officer 'NOBODY'" in error.problems[0][1]


def test_a_bad_value_is_reported_with_its_row(conn, pg, tmp_path):
    point = {"type": "Point", "coordinates": [24.94, 60.17]}
    path = write_geojson(tmp_path / "h.geojson", [point], {"name": "x", "category": "glitter", "risk_radius_m": 50})
    error = refused(conn, pg, "hazardous_site", "hazardous_sites", path)
    assert error.problems[0][0] == 1 and "one of firearms" in error.problems[0][1]


def test_numbers_outside_what_the_schema_allows_are_named_by_row(conn, pg, tmp_path):
    path = tmp_path / "c.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [24.94, 60.17]}, "properties": p}
        for p in ({"range": 40, "direction": 0}, {"range": 800, "direction": 360}, {"fov": 0, "range": 500})]}))
    error = refused(conn, pg, "camera", "cameras", path)
    assert error.problems == [
        (2, ("'direction_deg' is 360; it must be at least 0 and less than 360; "
             "'range_m' is 800; it must be more than 0 and at most 500")),
        (3, "'fov_deg' is 0; it must be more than 0 and at most 360")]


def test_schools_and_clinics_load_from_osm_amenities_and_find_their_building(conn, pg, tmp_path):
    set_area(conn)
    write_geojson(tmp_path / "b.geojson", [SQUARE])
    import_file(pg, "buildings", tmp_path / "b.geojson")
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": coordinates},
                 "properties": {"amenity": amenity, "name": name}}
                for coordinates, amenity, name in (([24.9405, 60.1705], "doctors", "Health post"),
                                                   ([24.95, 60.18], "school", "North school"),
                                                   ([24.951, 60.18], "college", None))]
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    assert import_file(pg, "public_facilities", path).rows == 3
    rows = conn.execute(text("""
        SELECT f.kind, f.name, f.building_id = b.id FROM public_facility f LEFT JOIN building b ON true ORDER BY f.id
    """)).all()
    # amenity=doctors is a clinic, a college a university; only the clinic stands in the building.
    assert [tuple(r) for r in rows] == [("clinic", "Health post", True), ("school", "North school", None),
                                        ("university", None, None)]
    write_geojson(tmp_path / "x.geojson", [{"type": "Point", "coordinates": [24.95, 60.18]}], {"amenity": "pub"})
    error = refused(conn, pg, "public_facility", "public_facilities", tmp_path / "x.geojson")
    assert "one of school, kindergarten, university, clinic, hospital" in error.problems[0][1]


def test_a_failure_half_way_through_copy_leaves_nothing(conn, pg, tmp_path):
    # The second row breaks a rule only the database can check: code A is taken.
    rows = [{"code": "B"}, {"code": "A"}]
    features = [{"type": "Feature", "geometry": SQUARE, "properties": r} for r in rows]
    path = tmp_path / "dup.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    conn.execute(text("INSERT INTO beat (code, geom) VALUES "
                      "('A', ST_Multi(ST_MakeEnvelope(24.9, 60.1, 25.0, 60.2, 4326)))"))
    savepoint = conn.begin_nested()
    with pytest.raises(ImportRejected, match="uq_beat_code") as caught:
        import_file(pg, "beats", path)
    savepoint.rollback()
    assert "already exists" in caught.value.problems[0][1]
    assert count(conn, "beat") == 1



@given(st.lists(st.booleans(), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_any_bad_row_stops_the_whole_file_and_is_named(good_rows):
    squares = [shapely.from_geojson(json.dumps(SQUARE)) if good else shapely.from_geojson(json.dumps(BOWTIE))
               for good in good_rows]
    frame = gpd.GeoDataFrame({"name": [f"b{i}" for i in range(len(squares))]}, geometry=squares, crs=4326)
    layer = LAYERS["buildings"]
    if all(good_rows):
        rows, report = prepare(frame, layer, ImportOptions())
        assert len(rows) == report.rows == len(good_rows)
    else:
        with pytest.raises(ImportRejected) as caught:
            prepare(frame, layer, ImportOptions(max_problems=100))
        assert [row for row, _ in caught.value.problems] == [i + 1 for i, g in enumerate(good_rows) if not g]


def test_times_with_different_offsets_load_as_their_utc_instants(conn, pg, tmp_path):
    """A file across a summer-time change carries two offsets; a time without one is UTC."""
    set_area(conn)
    path = tmp_path / "incidents.csv"
    path.write_text("occurred_at,type,lon,lat\n"
                    "2026-10-24T23:30:00+03:00,burglary,24.94,60.17\n"
                    "2026-10-25T23:30:00+02:00,burglary,24.94,60.17\n"
                    "2026-10-26T21:30:00,theft,24.94,60.17\n")
    assert import_file(pg, "incidents", path).rows == 3
    times = conn.execute(text("SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'MM-DD HH24:MI') "
                              "FROM incident ORDER BY occurred_at")).scalars().all()
    assert times == ["10-24 20:30", "10-25 21:30", "10-26 21:30"]
