"""The HTTP contract: login, beats, layers (bounded, paged), the import upload, errors."""

import json

import pytest
from sqlalchemy import text

from tests.conftest import PASSWORD

SQUARE = [[24.94, 60.17], [24.941, 60.17], [24.941, 60.171], [24.94, 60.171], [24.94, 60.17]]


def square_at(dx: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x + dx, y] for x, y in SQUARE]]}


@pytest.fixture
def buildings(conn):
    """Five buildings in a row from west to east, 0.01 degrees apart."""
    for i in range(5):
        conn.execute(
            text("INSERT INTO building (address, managed, geom) "
                 "VALUES (:a, :m, ST_Multi(ST_GeomFromGeoJSON(:g)))"),
            {"a": f"Street {i}", "m": i % 2 == 0, "g": json.dumps(square_at(i * 0.01))},
        )


def test_a_requests_transaction_ends_before_its_response_is_sent(engine, settings):
    """Else a client could be told of a write whose commit then fails, or ask again (as an OGC
    client paging does) while the last request still holds the transaction."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from api.deps import DbDep
    from api.main import create_app

    app = create_app(settings, engine)
    order = []

    @app.get("/probe")
    def probe(db: DbDep) -> dict:
        db.execute(text("SELECT 1"))
        return {}

    async def recording(scope, receive, send):
        async def sending(message):
            if message["type"] == "http.response.start":
                order.append("response")
            await send(message)
        await app(scope, receive, sending)

    event.listen(engine, "commit", lambda _conn: order.append("commit"))
    with TestClient(recording) as client:
        assert client.get("/probe").status_code == 200
    assert order == ["commit", "response"]


# --- authentication -----------------------------------------------------------------------


def test_login_gives_a_token_that_opens_the_api(client, users):
    response = client.post("/api/auth/token", data={"username": "planner", "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "planner"


def test_me_names_the_beats_an_officer_has_today(client, auth, pg):
    pg.execute("INSERT INTO beat (code, geom) VALUES ('B-1', ST_Multi(ST_MakeEnvelope(24.9, 60.1, 25, 60.2, 4326))),"
               " ('B-2', ST_Multi(ST_MakeEnvelope(25, 60.1, 25.1, 60.2, 4326)))")
    headers = auth("officer")
    pg.execute("""
        INSERT INTO officer_beat (officer_id, beat_id, valid_from, valid_to)
        SELECT o.id, b.id, current_date - 10, CASE b.code WHEN 'B-1' THEN NULL ELSE current_date - 1 END
        FROM officer o, beat b WHERE o.badge = 'T-1'
    """)
    me = client.get("/api/auth/me", headers=headers).json()
    assert me["beats"] == ["B-1"]
    assert client.get("/api/auth/me", headers=auth("planner")).json()["beats"] == []


def test_only_the_police_see_who_is_responsible_for_premises(client, auth, pg):
    pg.execute("INSERT INTO premises (trade, name, responsible_person, geom) "
               "VALUES ('hotel', 'Hotel Test', 'Matti Meikäläinen', ST_Point(24.94, 60.17, 4326))")
    for role, sees in (("officer", True), ("supervisor", True), ("planner", False)):
        [feature] = client.get("/api/layers/premises", headers=auth(role)).json()["features"]
        assert ("responsible_person" in feature["properties"]) == sees, role
        assert feature["properties"]["name"] == "Hotel Test"


def test_a_wrong_password_is_refused(client, users):
    response = client.post("/api/auth/token", data={"username": "planner", "password": "guess"})
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong username or password"}


@pytest.mark.parametrize("path", ["/api/beats", "/api/layers", "/api/layers/buildings", "/api/auth/me"])
def test_every_route_but_login_needs_a_token(client, path):
    assert client.get(path).status_code == 401
    forged = client.get(path, headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401 and "log in again" in forged.json()["detail"]


def test_an_expired_token_is_refused(client, users, settings):
    from api.security import create_token

    token = create_token(users["admin"], "admin", secret=settings.secret_key, minutes=-1)
    assert client.get("/api/beats", headers={"Authorization": f"Bearer {token}"}).status_code == 401


# --- beats and layers ------------------------------------------------------------------------


def test_beats_come_as_geojson(client, auth, conn):
    conn.execute(text("INSERT INTO beat (code, name, geom) VALUES "
                      "('B1', 'North', ST_Multi(ST_MakeEnvelope(24.9, 60.1, 25.0, 60.2, 4326)))"))
    body = client.get("/api/beats", headers=auth("officer")).json()
    [feature] = body["features"]
    assert feature["properties"]["code"] == "B1"
    # GeoJSON order is (lon, lat).
    assert feature["geometry"]["coordinates"][0][0][0] == [24.9, 60.1]


def test_layers_listed_by_role(client, auth):
    officer = {layer["name"] for layer in client.get("/api/layers", headers=auth("officer")).json()}
    planner = {layer["name"] for layer in client.get("/api/layers", headers=auth("planner")).json()}
    assert "gps_fixes" in officer and "gps_fixes" not in planner
    assert "buildings" in planner


def test_a_planner_may_not_read_patrol_positions(client, auth):
    response = client.get("/api/layers/gps_fixes", headers=auth("planner"))
    assert response.status_code == 403


def test_a_layer_is_paged_with_next_links(client, auth, buildings):
    headers = auth("officer")
    page = client.get("/api/layers/buildings?limit=2", headers=headers).json()
    ids = [f["id"] for f in page["features"]]
    while page["links"]:
        page = client.get(page["links"][0]["href"], headers=headers).json()
        ids += [f["id"] for f in page["features"]]
    assert len(ids) == 5 and ids == sorted(ids)


def test_bbox_keeps_what_it_touches(client, auth, buildings):
    # A box around the second and third squares only.
    body = client.get("/api/layers/buildings?bbox=24.9495,60.1695,24.9605,60.1715",
                      headers=auth("planner")).json()
    assert [f["properties"]["address"] for f in body["features"]] == ["Street 1", "Street 2"]


@pytest.mark.parametrize(
    "query",
    ["bbox=1,2,3", "bbox=a,b,c,d", "bbox=10,60,9,61", "bbox=0,-95,1,1", "bbox=nan,1,2,3",
     "limit=0", "limit=101", "after=-1"],
)
def test_bad_layer_queries_are_4xx_with_a_reason(client, auth, query):
    response = client.get(f"/api/layers/buildings?{query}", headers=auth("officer"))
    assert response.status_code == 422
    assert response.json()["detail"]


def test_an_unknown_layer_is_404(client, auth):
    response = client.get("/api/layers/spaceships", headers=auth("officer"))
    assert response.status_code == 404
    assert "layers are:" in response.json()["detail"]


# --- import upload -------------------------------------------------------------------------


def upload(client, headers, name: str, content: bytes, **form):
    return client.post("/api/layers/buildings/import", headers=headers,
                       files={"file": (name, content)}, data=form)


def feature_collection(*geometries) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": g, "properties": {"address": "Upload 1"}} for g in geometries
    ]}).encode()


def test_an_upload_loads_a_layer(client, auth, conn):
    response = upload(client, auth("supervisor"), "b.geojson", feature_collection(square_at(0)))
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == 1
    assert conn.execute(text("SELECT address FROM building")).scalar_one() == "Upload 1"


def test_a_broken_upload_says_which_row_and_loads_nothing(client, auth, conn):
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    response = upload(client, auth("supervisor"), "b.geojson", feature_collection(square_at(0), bowtie))
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["problems"][0]["row"] == 2 and "Self-intersection" in detail["problems"][0]["problem"]
    assert conn.execute(text("SELECT count(*) FROM building")).scalar_one() == 0


def test_a_zipped_shapefile_uploads(client, auth, conn, tmp_path):
    import zipfile

    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"address": ["Zip 1"]}, geometry=[shapely.geometry.shape(square_at(0))], crs=4326)
    frame.to_crs(3067).to_file(tmp_path / "b.shp")  # ETRS-TM35FIN: reprojected on the way in
    archive = tmp_path / "b.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("b.*"):
            if part != archive:
                zf.write(part, part.name)
    response = upload(client, auth("admin"), "b.zip", archive.read_bytes())
    assert response.status_code == 200, response.text
    lon = conn.execute(text("SELECT ST_XMin(geom) FROM building WHERE address = 'Zip 1'")).scalar_one()
    assert lon == pytest.approx(24.94, abs=1e-6)


def test_an_oversized_upload_is_413(client, auth):
    response = upload(client, auth("supervisor"), "big.geojson", b" " * (1024 * 1024 + 1))
    assert response.status_code == 413


def test_an_unsupported_file_type_is_refused(client, auth):
    response = upload(client, auth("supervisor"), "notes.docx", b"hello")
    assert response.status_code == 422 and "unsupported file type" in response.json()["detail"]


def test_a_truncated_upload_is_refused(client, auth):
    response = upload(client, auth("supervisor"), "b.geojson", feature_collection(square_at(0))[:40])
    assert response.status_code == 422 and "cannot read" in response.json()["detail"]["message"]


@pytest.mark.parametrize("role", ["officer", "planner"])
def test_only_supervisors_and_admins_import(client, auth, role):
    response = upload(client, auth(role), "b.geojson", feature_collection(square_at(0)))
    assert response.status_code == 403


def test_derived_layers_cannot_be_imported(client, auth):
    response = client.post("/api/layers/patrol_tracks/import", headers=auth("admin"),
                           files={"file": ("t.geojson", b"{}")})
    assert response.status_code == 422 and "derived" in response.json()["detail"]


# --- the map page ----------------------------------------------------------------------------


def test_the_map_page_carries_no_data_and_loads_leaflet_locally(client, buildings):
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    assert "Street 1" not in page.text and "cdn" not in page.text.lower()
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
