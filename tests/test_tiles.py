"""Map layers as vector tiles: what a tile holds, where it lands, and who may have it."""

import math
from datetime import date, datetime

import mapbox_vector_tile
import pytest
from pyproj import Geod, Transformer
from sqlalchemy import text

from beatbook.generate.load import load_dataset
from db.layers import LAYERS
from db.tiles import EXTENT, MARGIN, MIN_ZOOM

MVT = "application/vnd.mapbox-vector-tile"
HALF_WORLD = 20_037_508.342789244  # half the side of the Web Mercator square, in metres
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
GEOD = Geod(ellps="WGS84")
# Fields that hold people's names, identity numbers (even hashed or cut) or phone numbers.
PERSONAL = {"responsible_person", "keeper", "name_of_person", "id_hash", "id_last4", "id_number",
            "phone", "reported_by", "parties"}


def tile_at(lon: float, lat: float, z: int) -> tuple[int, int]:
    """x, y of the XYZ tile at zoom z that holds (lon, lat)."""
    n = 2**z
    x = math.floor((lon + 180) / 360 * n)
    y = math.floor((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def to_lonlat(z: int, x: int, y: int, px: float, py: float) -> tuple[float, float]:
    """Tile units (px east, py south from the tile's north-west corner) as (lon, lat)."""
    side = 2 * HALF_WORLD / 2**z
    return TO_LONLAT.transform(-HALF_WORLD + (x + px / EXTENT) * side,
                               HALF_WORLD - (y + py / EXTENT) * side)


def fetch(client, headers, layer: str, z: int, x: int, y: int):
    return client.get(f"/api/tiles/{layer}/{z}/{x}/{y}.mvt", headers=headers)


def features(body: bytes, layer: str) -> list[dict]:
    """The features of the tile's one layer, in tile units with y down as stored."""
    if not body:
        return []
    decoded = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})
    assert list(decoded) == [layer]
    assert decoded[layer]["extent"] == EXTENT
    return decoded[layer]["features"]


def tile_of(client, headers, layer: str, z: int, x: int, y: int) -> list[dict]:
    response = fetch(client, headers, layer, z, x, y)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    return features(response.content, layer)


# The tables these tests tile, and those they refer to: the rest of the demo (people,
# patrols) is not needed here and would take most of the loading time.
TILED = ("building", "entrance", "access_control_device", "incident", "premises", "hazardous_site")


@pytest.fixture
def demo(conn, pg, demo_frames):
    load_dataset(pg, {table: demo_frames[table] for table in TILED}, progress=False)
    return conn


@pytest.fixture
def officer(auth) -> dict[str, str]:
    return auth("officer")


@pytest.fixture
def centre(demo) -> tuple[float, float]:
    """The middle of the demo's buildings, (lon, lat)."""
    return tuple(demo.execute(text(
        "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) AS c FROM building) s"
    )).one())


def test_every_layer_has_a_first_zoom():
    assert set(MIN_ZOOM) == set(LAYERS)


def test_a_tile_holds_the_buildings_it_touches(client, auth, demo, centre):
    z = 16
    x, y = tile_at(*centre, z)
    response = fetch(client, auth("planner"), "buildings", z, x, y)
    assert response.status_code == 200
    assert response.headers["content-type"] == MVT
    assert response.headers["cache-control"] == "private, max-age=60"
    ids = {f["id"] for f in features(response.content, "buildings")}
    # The tile carries a buffer of 64 units beyond its edges: a building in the buffer only
    # is in it too (cut to the buffer), as ST_TileEnvelope's margin says.
    touching = demo.execute(text("""
        SELECT id, ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y)) AS inside
        FROM building
        WHERE ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y, margin => :margin))
    """), {"z": z, "x": x, "y": y, "margin": MARGIN}).all()
    assert ids == {row.id for row in touching}
    assert sum(row.inside for row in touching) > 10
    assert len(ids) < demo.execute(text("SELECT count(*) FROM building")).scalar_one()


def test_properties_are_the_layers_columns_with_iso_times(client, officer, demo, centre):
    buildings = tile_of(client, officer, "buildings", 15, *tile_at(*centre, 15))
    # A property with no value is left out of its feature, so look at them all.
    assert set().union(*(f["properties"] for f in buildings)) == set(LAYERS["buildings"].columns)
    assert all(isinstance(f["properties"]["managed"], bool) for f in buildings)

    z = MIN_ZOOM["incidents"]
    incidents = tile_of(client, officer, "incidents", z, *tile_at(*centre, z))
    stored = dict(demo.execute(text("SELECT id, occurred_at FROM incident")).all())
    assert incidents and all(datetime.fromisoformat(f["properties"]["occurred_at"]) == stored[f["id"]]
                             for f in incidents)

    z = MIN_ZOOM["access_control"]
    devices = tile_of(client, officer, "access_control", z, *tile_at(*centre, z))
    assert devices and all(date.fromisoformat(f["properties"]["installed_on"]) for f in devices)


def test_no_tile_names_people(client, officer, demo, centre):
    for layer in LAYERS.values():
        assert not PERSONAL & set(layer.public_columns), layer.name
    for layer, names_query in (("premises", "SELECT responsible_person FROM premises"),
                               ("hazardous_sites", "SELECT keeper FROM hazardous_site")):
        z = MIN_ZOOM[layer]
        response = fetch(client, officer, layer, z, *tile_at(*centre, z))
        found = features(response.content, layer)
        assert found and not PERSONAL & set().union(*(f["properties"] for f in found))
        # Nor under another name: no stored name is anywhere in the tile's bytes.
        names = [name for name in demo.execute(text(names_query)).scalars() if name]
        assert names and not [name for name in names if name.encode() in response.content]


def test_a_point_lands_where_it_is(client, officer, demo, centre):
    entrance_id, lon, lat = demo.execute(text(
        "SELECT id, ST_X(geom), ST_Y(geom) FROM entrance "
        "ORDER BY geom <-> ST_Point(:lon, :lat, 4326) LIMIT 1"
    ), {"lon": centre[0], "lat": centre[1]}).one()
    z = 17
    x, y = tile_at(lon, lat, z)
    [entrance] = [f for f in tile_of(client, officer, "entrances", z, x, y) if f["id"] == entrance_id]
    assert entrance["geometry"]["type"] == "Point"
    got_lon, got_lat = to_lonlat(z, x, y, *entrance["geometry"]["coordinates"])
    # A tile unit at z17 is 4 cm here: the point comes back within that.
    _, _, metres = GEOD.inv(lon, lat, got_lon, got_lat)
    assert metres < 0.1


def test_an_empty_tile_is_200_with_an_empty_body(client, officer, demo, centre):
    below = MIN_ZOOM["buildings"] - 1
    for z, (x, y) in ((14, tile_at(0.0, 0.0, 14)),  # the Gulf of Guinea: no beat there
                      (below, tile_at(*centre, below))):  # below the first zoom of buildings
        response = fetch(client, officer, "buildings", z, x, y)
        assert response.status_code == 200
        assert response.content == b""
        assert response.headers["content-type"] == MVT
        assert response.headers["cache-control"] == "private, max-age=60"
    z = MIN_ZOOM["buildings"]
    assert tile_of(client, officer, "buildings", z, *tile_at(*centre, z))


def test_a_tile_is_gzipped_for_a_client_that_takes_it(client, officer, demo, centre):
    path = "/api/tiles/buildings/15/{}/{}.mvt".format(*tile_at(*centre, 15))
    plain = client.get(path, headers={**officer, "Accept-Encoding": "identity"})
    zipped = client.get(path, headers={**officer, "Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.content == plain.content  # the client unzips it


# Each case logs in once: a test of its own would add half a second of password hashing.
OFF_THE_GRID = (
    ("buildings/23/0/0.mvt", "less than or equal to 22"),
    ("buildings/-1/0/0.mvt", "greater than or equal to 0"),
    ("buildings/2/4/0.mvt", "0..3"),
    ("buildings/2/0/4.mvt", "0..3"),
    ("buildings/0/1/0.mvt", "0..0"),
    ("buildings/3/-1/0.mvt", "greater than or equal to 0"),
    ("buildings/3/0/x.mvt", "integer"),
)


def test_a_tile_outside_the_grid_is_422_with_the_range(client, officer):
    for path, says in OFF_THE_GRID:
        response = client.get(f"/api/tiles/{path}", headers=officer)
        assert response.status_code == 422, path
        assert says in str(response.json()["detail"]), path


def test_an_unknown_layer_is_404(client, officer):
    # People are not layers at all, whoever asks.
    for layer in ("spaceships", "households", "residents"):
        response = fetch(client, officer, layer, 14, 0, 0)
        assert response.status_code == 404, layer
        assert "layers are:" in response.json()["detail"]


def test_patrol_positions_are_not_for_planners(client, auth):
    planner, officer = auth("planner"), auth("officer")
    for layer in ("patrol_tracks", "gps_fixes"):
        assert fetch(client, planner, layer, 16, 0, 0).status_code == 403
        assert fetch(client, officer, layer, 16, 0, 0).status_code == 200
    assert fetch(client, planner, "buildings", 16, 0, 0).status_code == 200


def test_a_tile_needs_a_valid_token(client, users):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = fetch(client, headers, "buildings", 14, 0, 0)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
