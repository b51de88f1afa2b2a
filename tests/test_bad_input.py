"""Bad input: every hostile or careless request gets a 4xx that says what to fix, in bounded
time and memory, and leaves the database as it was.

tests/test_api.py has the first cases (a bad bbox, a self-intersecting or truncated upload, one
just over the size limit); tests/test_patrol_api.py has bad polygons for the patrol gaps. Here
each kind is sent to every route that takes it, as the OpenAPI description lists them.
"""

import json
from urllib.parse import quote

import pytest
from sqlalchemy import text

from db.tiles import MIN_ZOOM
from tests.metres import UTM, X0, Y0, area, box, lonlat, metric, point
from tests.tokens import bearer_headers

BUILDINGS = 150  # more than a page (the tests' BEATBOOK_MAX_PAGE_SIZE is 100)
MB = 1024 * 1024
# Values that let a request past its required parameters, so the one under test is reached.
QUERY = {"beat": "T-1", "train_start": "2026-10-01", "train_end": "2026-10-20",
         "test_start": "2026-10-21", "test_end": "2026-10-31"}
PATH = {"layer": "buildings", "z": 0, "x": 0, "y": 0}  # any other path parameter is an id: 1


@pytest.fixture
def world(conn):
    """The test area (a 2 km square in Helsinki) and beat T-1 in it: a street, 150 small
    buildings in rows of 15 (ids 1-150) with an entrance each, a burglary, station HKI with
    officer T-1."""
    conn.execute(text(f"""
        {area()}
        INSERT INTO beat (code, name, geom) VALUES ('T-1', 'Test', ST_Multi({metric(box(0, 0, 800, 600))}));
        INSERT INTO street_segment (id, length_m, geom) VALUES
            (1, 750, {metric(f'LINESTRING({X0} {Y0 + 5}, {X0 + 750} {Y0 + 5})')});
        INSERT INTO building (id, address, managed, geom)
            SELECT i + 1, 'Row ' || i, i % 2 = 0, ST_Multi(ST_Transform(ST_MakeEnvelope(
                {X0} + (i % 15) * 50 + 10, {Y0} + (i / 15) * 50 + 10,
                {X0} + (i % 15) * 50 + 30, {Y0} + (i / 15) * 50 + 30, {UTM}), 4326))
            FROM generate_series(0, {BUILDINGS - 1}) AS i;
        INSERT INTO entrance (building_id, access_control, geom)
            SELECT id, false, ST_PointN(ST_ExteriorRing(ST_GeometryN(geom, 1)), 1) FROM building;
        SELECT beatbook_ensure_months('incident', '2026-10-20 02:00+03', '2026-10-20 02:00+03');
        INSERT INTO incident (occurred_at, type, geom) VALUES ('2026-10-20 02:00+03', 'burglary', {point(40, 5)});
        INSERT INTO station (code, name) VALUES ('HKI', 'Helsinki test station');
        INSERT INTO officer (badge, name) VALUES ('T-1', 'Test Officer');
    """))


@pytest.fixture
def headers(conn, settings, world) -> dict[str, dict[str, str]]:
    return bearer_headers(conn, settings.secret_key, officer_badge="T-1", station_code="HKI")


def operations(app, having: str | None = None, method: str = "get"):
    """(path, parameters) of the app's operations of a method, those with a query parameter
    ``having`` only if given."""
    for path, methods in app.openapi()["paths"].items():
        parameters = methods.get(method, {}).get("parameters")
        if parameters is not None and (having is None or any(
                p["name"] == having and p["in"] == "query" for p in parameters)):
            yield path, parameters


def request_for(path: str, parameters: list[dict], **query) -> tuple[str, dict]:
    """The URL and query of a request that passes the required parameters; ``query`` on top
    (a polygon replaces the beat)."""
    url = path.format(**{p["name"]: PATH.get(p["name"], 1) for p in parameters if p["in"] == "path"})
    names = {p["name"] for p in parameters if p["in"] == "query"}
    base = {k: v for k, v in QUERY.items() if k in names and not ("polygon" in query and k == "beat")}
    return url, {**base, **query}


def get_as_anyone(client, headers, url: str, query: dict):
    """The answer to the first role the route lets in (users are for admins only, say)."""
    for role in ("supervisor", "admin", "officer"):
        response = client.get(url, params=query, headers=headers[role])
        if response.status_code != 403:
            break
    return response


def listed(body: dict) -> list:
    """The items of a list answer, whatever it calls them (features, users, entries)."""
    return [item for key, value in body.items() if key != "links" and isinstance(value, list) for item in value]


def of_type(parameters: list[dict], kind: str, places=("query",)) -> list[dict]:
    """The parameters in those places whose schema takes ``kind`` (string, number), optional or not."""
    def kinds(schema: dict) -> set:
        return {schema.get("type"), *(s.get("type") for s in schema.get("anyOf", []))}

    return [p for p in parameters if p["in"] in places and kind in kinds(p.get("schema", {}))]


def counts(conn) -> tuple:
    return conn.execute(text("""
        SELECT (SELECT count(*) FROM building), (SELECT count(*) FROM beat), (SELECT count(*) FROM app_user),
               (SELECT count(*) FROM incident),
               (SELECT array_agg(tablename ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public')
    """)).one()


# --- uploads ------------------------------------------------------------------------------


def test_an_upload_declared_too_large_is_refused_before_a_byte_is_read(client, headers):
    sent = []

    def body():
        # A gigabyte, made only as it is read: the app must not ask for it.
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n\r\n'
        for _ in range(1024):
            sent.append(MB)
            yield b" " * MB

    response = client.post("/api/layers/buildings/import", content=body(), headers={
        **headers["supervisor"], "Content-Type": "multipart/form-data; boundary=b",
        "Content-Length": str(1024 * MB + 200)})
    assert response.status_code == 413
    assert response.json()["detail"] == "the upload is larger than 1 MB; split the file"
    assert sent == []


def test_an_upload_of_unknown_length_is_stopped_at_the_limit(client, headers):
    def body():
        # Chunked, with no length: the file is spooled to disk as it comes, and the route
        # stops copying it at the limit.
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.geojson"\r\n\r\n'
        for _ in range(3):
            yield b" " * MB
        yield b"\r\n--b--\r\n"

    response = client.post("/api/layers/buildings/import", content=body(), headers={
        **headers["supervisor"], "Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    assert response.json()["detail"] == "the file is larger than 1 MB; split it"


def square(lon: float, lat: float, size: float = 0.0005) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def collection(*geometries, **extra) -> bytes:
    return json.dumps({"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "geometry": g, "properties": {"address": "Bad"}} for g in geometries]}).encode()


INSIDE = lonlat(100, 100)
METRES = {"lon": X0 + 100, "lat": Y0 + 100}  # the same place in UTM, as a careless export writes it


@pytest.mark.parametrize(
    ("layer", "name", "content", "words"),
    [
        ("buildings", "b.geojson", b"this is not JSON at all", "cannot read"),
        ("buildings", "b.geojson", b"[1, 2, 3]", "cannot read"),
        ("buildings", "b.geojson", b'{"type": "Banana", "features": []}', "cannot read"),
        ("buildings", "b.geojson", collection({"type": "Point", "coordinates": [INSIDE["lon"], INSIDE["lat"]]}),
         "Polygon"),
        # Lon/lat declared as ETRS-TM35FIN metres: reprojected, it lands on the equator.
        ("buildings", "b.geojson", collection(square(INSIDE["lon"], INSIDE["lat"]),
                                              crs={"type": "name", "properties": {"name": "EPSG:3067"}}),
         "outside the area"),
        # Metres given as lon/lat.
        ("buildings", "b.geojson", collection(square(METRES["lon"], METRES["lat"], 20)),
         "not longitude/latitude"),
        ("buildings", "b.geojson", collection(square(10.0, 10.0)), "outside the area"),
        ("incidents", "i.csv", f"lon,lat,type,occurred_at\n{INSIDE['lon']},{INSIDE['lat']},burg\0lary,"
                               "2026-10-01T02:00+03:00\n".encode(), "NUL"),
    ],
    ids=["not-json", "json-array", "wrong-type", "points-for-polygons", "wrong-crs", "metres-as-degrees",
         "outside-area", "nul-in-text"],
)
def test_a_malformed_upload_is_refused_and_loads_nothing(client, headers, conn, layer, name, content, words):
    before = counts(conn)
    response = client.post(f"/api/layers/{layer}/import", headers=headers["supervisor"],
                           files={"file": (name, content)})
    assert response.status_code == 422, response.text
    assert words in json.dumps(response.json()["detail"])
    assert counts(conn) == before


# --- the whole world at once ------------------------------------------------------------------


WORLD = "-180,-90,180,90"


def test_a_whole_world_bbox_gives_one_bounded_page_of_each_layer(client, headers, settings):
    for layer in (entry["name"] for entry in client.get("/api/layers", headers=headers["admin"]).json()):
        response = client.get(f"/api/layers/{layer}", params={"bbox": WORLD}, headers=headers["admin"])
        assert response.status_code == 200, (layer, response.text)
        assert response.json()["numberReturned"] <= settings.max_page_size, layer
    page = client.get("/api/layers/buildings", params={"bbox": WORLD}, headers=headers["admin"]).json()
    assert page["numberReturned"] == settings.max_page_size and page["links"][0]["rel"] == "next"


def test_the_whole_world_tile_of_a_layer_drawn_closer_in_is_empty(client, headers):
    for layer in (entry["name"] for entry in client.get("/api/layers", headers=headers["admin"]).json()):
        response = client.get(f"/api/tiles/{layer}/0/0/0.mvt", headers=headers["admin"])
        assert response.status_code == 200, (layer, response.text)
        if MIN_ZOOM[layer] > 0:
            assert response.content == b"", layer


def polygon_of(corners) -> str:
    return json.dumps({"type": "Polygon", "coordinates": [[*corners, corners[0]]]})


def whole_world() -> str:
    return polygon_of([[-180, -90], [180, -90], [180, 90], [-180, 90]])


BAD_POLYGONS = {
    "not-json": ("{'type': 'Polygon'", "not GeoJSON"),
    "not-ascii": ("\u0080", "not GeoJSON"),
    "wrong-type": ('{"type": "LineString", "coordinates": [[24.9, 60.1], [24.91, 60.11]]}', "LineString"),
    "self-intersecting": (polygon_of([[24.94, 60.17], [24.941, 60.171], [24.941, 60.17], [24.94, 60.171]]),
                          "Self-intersection"),
    "metres": (polygon_of([[X0, Y0], [X0 + 100, Y0], [X0 + 100, Y0 + 100], [X0, Y0 + 100]]),
               "not longitude/latitude"),
    "outside-area": (polygon_of([[10, 10], [10.01, 10], [10.01, 10.01], [10, 10.01]]), "outside the area"),
    "whole-world": (whole_world(), "outside the area"),
}


@pytest.mark.parametrize("case", list(BAD_POLYGONS))
def test_a_bad_polygon_is_refused_by_every_route_that_takes_one(app, client, headers, case):
    polygon, words = BAD_POLYGONS[case]
    for method in ("get", "post"):
        for path, parameters in operations(app, having="polygon", method=method):
            url, query = request_for(path, parameters, polygon=polygon)
            response = client.request(method, url, params=query, headers=headers["supervisor"])
            assert response.status_code == 422, (path, response.text)
            assert words in response.json()["detail"], (path, response.text)


def test_without_an_area_the_whole_world_is_too_big_to_ask_about(app, client, headers, conn):
    conn.execute(text("DELETE FROM area"))
    for method in ("get", "post"):
        for path, parameters in operations(app, having="polygon", method=method):
            url, query = request_for(path, parameters, polygon=whole_world())
            response = client.request(method, url, params=query, headers=headers["supervisor"])
            assert response.status_code == 422, (path, response.text)
            assert "km2" in response.json()["detail"], (path, response.text)


# --- deep pages ---------------------------------------------------------------------------------


BIGINT = 2**63 - 1


def test_paging_past_any_id_gives_an_empty_page_or_a_reason(app, client, headers):
    paths = list(operations(app, having="after"))
    assert len(paths) >= 5  # layers, disputes, population and service lists
    for path, parameters in paths:
        for after in (BIGINT, BIGINT + 1, 10**40):
            response = get_as_anyone(client, headers, *request_for(path, parameters, after=after))
            if response.status_code == 200:
                links = response.json()["links"]
                assert listed(response.json()) == [], path
                assert "next" not in (links if isinstance(links, dict) else [link["rel"] for link in links]), path
            else:  # past the range of the id column (integer or bigint)
                assert response.status_code == 422, (path, after, response.text)
                assert "out of range" in response.json()["detail"], (path, response.text)


def test_a_huge_offset_is_refused_with_its_bound(app, client, headers):
    paths = list(operations(app, having="offset"))
    assert paths
    for path, parameters in paths:
        response = get_as_anyone(client, headers, *request_for(path, parameters, offset=10**30))
        assert response.status_code == 422, (path, response.text)
        detail = json.dumps(response.json()["detail"])
        assert "offset" in detail and "less than or equal to" in detail, (path, response.text)


def test_a_huge_limit_gets_a_page_at_most(app, client, headers, settings):
    paths = list(operations(app, having="limit"))
    assert paths
    for path, parameters in paths:
        response = get_as_anyone(client, headers, *request_for(path, parameters, limit=10**30))
        if response.status_code == 422:  # most pages refuse it, with their bound
            assert "limit" in json.dumps(response.json()["detail"]), (path, response.text)
            continue
        # Some pages take it as their largest page; a ranking (the riskiest N) sends all it has.
        assert response.status_code == 200, (path, response.text)
        if {"after", "offset"} & {p["name"] for p in parameters}:
            assert len(listed(response.json())) <= settings.max_page_size, path


# --- numbers at the ends of floating point ------------------------------------------------------


def test_the_smallest_and_largest_floats_are_refused_or_answered(app, client, headers):
    # The smallest positive float passes every "greater than 0"; a length divided by it is infinite.
    tried = 0
    for path, parameters in operations(app):
        for parameter in of_type(parameters, "number"):
            name = parameter["name"]
            for value in (5e-324, 1e308):
                response = get_as_anyone(client, headers, *request_for(path, parameters, **{name: value}))
                assert response.status_code < 500, (path, name, value, response.text)
                if response.status_code != 200:
                    assert response.json()["detail"], (path, name, value)
                tried += 1
    assert tried > 20


def test_a_nul_in_text_is_refused_with_a_reason(client, headers):
    response = client.get("/api/analysis/nights", params={"beat": "T-1\0"}, headers=headers["officer"])
    assert response.status_code == 422
    assert response.json()["detail"] == ("a value in the request is out of range or malformed: "
                                         "PostgreSQL text fields cannot contain NUL (0x00) bytes")


# --- SQL injection ------------------------------------------------------------------------------


# And a NUL, which no text column takes.
INJECTIONS = ("'; DROP TABLE building; --", "1 OR 1=1", "T-1' OR '1'='1", "T-1\0")


def test_sql_in_any_string_parameter_is_only_a_value(app, client, headers, conn):
    before = counts(conn)
    tried = 0
    for path, parameters in operations(app):
        for parameter in of_type(parameters, "string", places=("query", "path")):
            for injection in INJECTIONS:
                if parameter["in"] == "path":
                    url, query = request_for(path.replace("{" + parameter["name"] + "}", quote(injection, safe="")),
                                             parameters)
                else:
                    url, query = request_for(path, parameters, **{parameter["name"]: injection})
                response = get_as_anyone(client, headers, url, query)
                assert response.status_code < 500, (path, parameter["name"], injection, response.text)
                tried += 1
    assert tried > 100
    assert counts(conn) == before
