"""Map layers as vector tiles: what a tile holds, where it lands, and who may have it."""

import math
from datetime import date, datetime

import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from pyproj import Geod, Transformer
from sqlalchemy import text

from beatbook.generate.load import load_dataset
from db.layers import LAYERS
from db.tiles import _SHIFT_LAT, _SHIFT_LON, _SLOPE_LAT, _SLOPE_LON, EXTENT, MARGIN, MIN_ZOOM
from geo.chinese_datums import gcj02_to_wgs84, wgs84_to_gcj02

MVT = "application/vnd.mapbox-vector-tile"
HALF_WORLD = 20_037_508.342789244  # half the side of the Web Mercator square, in metres
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
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


def test_a_tile_of_the_last_column_holds_its_features(client, officer, conn):
    # Its buffer crosses 180 E, and the box of rows must not wrap round to the Americas.
    conn.execute(text("INSERT INTO station (code, name, geom) "
                      "VALUES ('SZ', 'Futian', ST_Point(114.0579, 22.5431, 4326))"))
    for z in (1, 2):
        x, y = tile_at(114.0579, 22.5431, z)
        assert x == 2**z - 1
        for datum in ("wgs84", "gcj02"):
            response = client.get(f"/api/tiles/stations/{z}/{x}/{y}.mvt?datum={datum}", headers=officer)
            assert [f["properties"]["code"] for f in features(response.content, "stations")] == ["SZ"]


# --- Over a Chinese web map: datum=gcj02 -----------------------------------------------

FUTIAN = (114.0579, 22.5431)  # the middle of Futian, Shenzhen (WGS-84 lon, lat)
# Where points are put, in tile units of the GCJ-02 tile (x east, y south): the corners and
# the middle, and 40 units into the buffer past each edge; the last lies beyond the buffer.
TARGETS = ((2048, 2048), (3, 4), (4093, 4092), (-40, 1500), (4136, 2600), (700, -40), (3300, 4136))
BEYOND_THE_BUFFER = (4096 + 100, 1000)


def gcj02_tile_at(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The tile at zoom z that a GCJ-02 basemap draws WGS-84 point (lon, lat) in."""
    [(gcj_lon, gcj_lat)] = wgs84_to_gcj02(np.array([[lon, lat]]))
    return tile_at(gcj_lon, gcj_lat, z)


def units(z: int, x: int, y: int, lonlat: np.ndarray) -> np.ndarray:
    """(lon, lat) points in tile units of tile z/x/y (x east, y south from its north-west corner)."""
    east, north = TO_MERCATOR.transform(lonlat[:, 0], lonlat[:, 1])
    side = 2 * HALF_WORLD / 2**z
    return np.column_stack([(east + HALF_WORLD) / side - x, (HALF_WORLD - north) / side - y]) * EXTENT


def exact_units(z: int, x: int, y: int, wgs: np.ndarray) -> np.ndarray:
    """Where WGS-84 (lon, lat) points lie in tile z/x/y of a GCJ-02 map, in tile units, exactly."""
    return units(z, x, y, wgs84_to_gcj02(wgs))


# What a row needs besides its point.
REQUIRED = {"incident": {"occurred_at": "2026-03-01T22:00:00+08:00", "type": "burglary"}, "entrance": {}}


def insert_points(conn, table: str, wgs: np.ndarray) -> list[int]:
    if table == "incident":
        at = {"t": REQUIRED[table]["occurred_at"]}
        conn.execute(text("SELECT beatbook_ensure_months('incident', :t, :t)"), at)
    columns = "".join(f", {name}" for name in REQUIRED[table])
    values = "".join(f", :{name}" for name in REQUIRED[table])
    insert = text(f"INSERT INTO {table} (geom{columns}) "
                  f"VALUES (ST_Point(:lon, :lat, 4326){values}) RETURNING id")
    return [conn.execute(insert, {"lon": lon, "lat": lat, **REQUIRED[table]}).scalar_one()
            for lon, lat in wgs.tolist()]


def gcj02_tile_of(client, headers, layer: str, z: int, x: int, y: int) -> list[dict]:
    response = client.get(f"/api/tiles/{layer}/{z}/{x}/{y}.mvt?datum=gcj02", headers=headers)
    assert response.status_code == 200, response.text
    return features(response.content, layer)


@pytest.mark.parametrize(("layer", "z"), [("incidents", 12), ("entrances", 16), ("entrances", 18)])
def test_a_gcj02_tile_puts_points_where_gcj02_has_them(client, officer, conn, layer, z):
    x, y = gcj02_tile_at(*FUTIAN, z)
    # The WGS-84 points that GCJ-02 puts at the targets.
    gcj = np.array([to_lonlat(z, x, y, px, py) for px, py in (*TARGETS, BEYOND_THE_BUFFER)])
    wgs = gcj02_to_wgs84(gcj)
    ids = insert_points(conn, LAYERS[layer].table, wgs)
    # The one near the north-west corner is, in WGS-84, some 500 m further west, beyond the
    # tile's buffer: rows must be picked by where they land, not where they are.
    assert units(z, x, y, wgs[1:2])[0, 0] < -64
    drawn = {f["id"]: f["geometry"]["coordinates"] for f in gcj02_tile_of(client, officer, layer, z, x, y)}
    assert set(drawn) == set(ids[:-1])  # all but the point beyond the buffer
    got = np.array([drawn[i] for i in ids[:-1]], dtype=float)
    np.testing.assert_allclose(got, TARGETS, atol=1)  # what the points were placed for
    # ...and, the same within float noise, where the exact conversion of what is stored says.
    assert np.abs(got - exact_units(z, x, y, wgs[:-1])).max() <= 1


@pytest.mark.parametrize("z", [15, 18])
def test_a_gcj02_tile_moves_every_vertex_of_a_building(client, officer, conn, z):
    # A 60 x 40 m building with a notch, in the middle of the GCJ-02 tile: each vertex is
    # moved by its own shift, so the shape is exact at any zoom.
    x, y = gcj02_tile_at(*FUTIAN, z)
    [middle] = gcj02_to_wgs84(np.array([to_lonlat(z, x, y, EXTENT / 2, EXTENT / 2)]))
    # degrees of 30 m east and 20 m north here, around the middle, counter-clockwise
    ring = middle + np.array([(-1, -1), (1, -1), (1, 1), (0, 0), (-1, 1)]) * (30 / 102_800, 20 / 110_760)
    footprint = shapely.MultiPolygon([shapely.Polygon(ring)])
    insert = text("INSERT INTO building (geom) VALUES (ST_GeomFromWKB(:wkb, 4326)) RETURNING id")
    building = conn.execute(insert, {"wkb": footprint.wkb}).scalar_one()
    [drawn] = [f for f in gcj02_tile_of(client, officer, "buildings", z, x, y) if f["id"] == building]
    [outer] = drawn["geometry"]["coordinates"]
    got = np.array(outer[:-1], dtype=float)
    want = exact_units(z, x, y, ring)
    # The same five corners, each within a tile unit (the ring may start elsewhere, and turn
    # the other way: MVT's outer rings run clockwise on screen).
    assert len(got) == len(want)
    assert max(np.abs(got - corner).max(axis=1).min() for corner in want) <= 1


def test_a_translation_per_tile_would_be_off_by_several_units_at_every_zoom():
    # Why db/tiles.py moves each vertex: the shift at a tile's corner is not the shift at its
    # centre, by the same number of tile units at every zoom (both grow with the tile).
    for z in (12, 15, 18, 21):
        x, y = gcj02_tile_at(*FUTIAN, z)
        corners = np.array([to_lonlat(z, x, y, px, py) for px in (0, EXTENT) for py in (0, EXTENT)])
        centre = np.array([to_lonlat(z, x, y, EXTENT / 2, EXTENT / 2)])
        translated = corners + (wgs84_to_gcj02(centre) - centre)
        error = np.abs(units(z, x, y, translated) - exact_units(z, x, y, corners)).max()
        assert error > 2, z  # 3.3 to 6.5 units here, 16 at worst in China


def test_the_bounds_of_the_shift_hold():
    # db/tiles.py picks rows by bounds of the shift and of its slope: sample the formulas.
    rng = np.random.default_rng(7)
    west, south, east, north = 72.004, 0.8293, 137.8347, 55.8271  # the box where GCJ-02 shifts
    points = np.column_stack([rng.uniform(west, east, 200_000), rng.uniform(south, north, 200_000)])
    shift = wgs84_to_gcj02(points) - points
    assert _SHIFT_LON[0] < shift[:, 0].min() and shift[:, 0].max() < _SHIFT_LON[1]
    assert _SHIFT_LAT[0] < shift[:, 1].min() and shift[:, 1].max() < _SHIFT_LAT[1]
    step = 1e-6
    points = points[np.abs(points[:, 0] - 105) > 0.01]  # the sqrt|lon - 105| terms: see _SLACK

    def shift_at(p):
        return wgs84_to_gcj02(p) - p

    slopes = [(shift_at(points + [step, 0]) - shift_at(points - [step, 0])) / (2 * step),
              (shift_at(points + [0, step]) - shift_at(points - [0, step])) / (2 * step)]
    by_lon, by_lat = np.abs(slopes[0]), np.abs(slopes[1])
    assert (by_lon[:, 0] + by_lat[:, 0]).max() < _SLOPE_LON
    assert (by_lon[:, 1] + by_lat[:, 1]).max() < _SLOPE_LAT


def test_outside_china_a_gcj02_tile_is_the_wgs84_tile(client, officer, demo, centre):
    for layer, z in (("buildings", 14), ("buildings", 16), ("entrances", 17), ("incidents", 12)):
        x, y = tile_at(*centre, z)
        path = f"/api/tiles/{layer}/{z}/{x}/{y}.mvt"
        wgs84 = client.get(path, headers=officer)
        gcj02 = client.get(path + "?datum=gcj02", headers=officer)
        assert wgs84.status_code == gcj02.status_code == 200
        assert wgs84.content and gcj02.content == wgs84.content, (layer, z)
        assert client.get(path + "?datum=wgs84", headers=officer).content == wgs84.content


def test_an_unknown_datum_is_422(client, officer):
    for datum in ("bd09", "GCJ02", ""):
        response = client.get(f"/api/tiles/buildings/14/0/0.mvt?datum={datum}", headers=officer)
        assert response.status_code == 422, datum
        assert "'wgs84' or 'gcj02'" in str(response.json()["detail"]), datum


# --- Time-bound layers: the map's time control ----------------------------------------

def test_incident_and_track_tiles_hold_the_period_and_hours_asked_for(client, officer, conn):
    """Incidents in Futian at local (UTC+8) times; a patrol track from 23:30 to 00:30."""
    conn.execute(text("""
        INSERT INTO area (name, metric_srid, timezone, geom)
        VALUES ('sz', 32650, 'Asia/Shanghai', ST_Multi(ST_Buffer(ST_Point(114.0579, 22.5431, 4326), 0.1)));
        SELECT beatbook_ensure_months('incident', '2026-09-01 02:00+08', '2026-10-21 00:00+08');
        INSERT INTO incident (id, occurred_at, type, geom) VALUES
            (1, '2026-10-20 02:00+08', 'burglary', ST_Point(114.0579, 22.5431, 4326)),
            (2, '2026-10-20 14:00+08', 'theft', ST_Point(114.0580, 22.5431, 4326)),
            (3, '2026-09-01 02:00+08', 'burglary', ST_Point(114.0581, 22.5431, 4326)),
            (4, '2026-10-21 00:00+08', 'theft', ST_Point(114.0582, 22.5431, 4326));
        INSERT INTO officer (badge, name) VALUES ('T-9', 'Night');
        INSERT INTO patrol_track (id, officer_id, started_at, ended_at, n_fixes, geom) VALUES
            (1, (SELECT id FROM officer WHERE badge = 'T-9'), '2026-10-20 23:30+08', '2026-10-21 00:30+08', 2,
             ST_GeomFromText('LINESTRING M (114.0579 22.5431 0, 114.0590 22.5431 3600)', 4326));
    """))
    x, y = tile_at(114.0579, 22.5431, 15)

    def ids(layer, **period):
        query = "&".join(f"{k}={v}" for k, v in period.items())
        response = client.get(f"/api/tiles/{layer}/15/{x}/{y}.mvt?{query}", headers=officer)
        assert response.status_code == 200, response.text
        return sorted(f["id"] for f in features(response.content, layer))

    assert ids("incidents") == [1, 2, 3, 4]
    # The local days 20 and 21 October: midnight of the 21st is the last day's start.
    assert ids("incidents", start="2026-10-20", end="2026-10-21") == [1, 2, 4]
    assert ids("incidents", start="2026-10-20", end="2026-10-20") == [1, 2]
    # Hours across midnight, local: 02:00 and 00:00 are in, 14:00 is not.
    assert ids("incidents", start="2026-10-01", end="2026-10-31", hours="22:00-06:00") == [1, 4]
    assert ids("patrol_tracks", start="2026-10-21", end="2026-10-21") == [1]  # it runs into the 21st
    assert ids("patrol_tracks", start="2026-10-19", end="2026-10-19") == []
    assert ids("patrol_tracks", start="2026-10-20", end="2026-10-20", hours="08:00-18:00") == []


@pytest.mark.parametrize(("layer", "query", "words"), [
    ("incidents", "start=2026-10-20", "both start and end"),
    ("incidents", "start=2026-10-20&end=2026-10-21&hours=25:00-06:00", "hours"),
    ("buildings", "start=2026-10-20&end=2026-10-21", "not bound to a time"),
])
def test_a_period_asked_wrongly_says_what_to_fix(client, officer, layer, query, words):
    response = client.get(f"/api/tiles/{layer}/15/26800/14250.mvt?{query}", headers=officer)
    assert response.status_code == 422 and words in response.text
