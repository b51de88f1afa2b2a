"""The SQL of map layers as Mapbox vector tiles (MVT), cut by PostGIS.

A tile is z/x/y of the Web Mercator grid (EPSG:3857) that Leaflet and every web
map use; the data are in EPSG:4326 with GiST indexes on ``geom``. So the tile's
envelope is turned into lon/lat once and the rows are picked with ``&&`` on it,
which the index answers; only the rows picked are projected and cut to the tile.

A tile for a Chinese web map (``datum="gcj02"``) holds the features where they lie
in GCJ-02, the shifted coordinates its basemap is drawn in: every vertex is moved
by ``geo/chinese_datums.py`` in Python, then projected, cut and encoded by PostGIS
like any other tile (see ``_gcj02_tile`` for why not a translation in SQL).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import shapely
from sqlalchemy import Connection, Date, DateTime, Time, text
from sqlalchemy.sql.elements import TextClause

from db.layers import LAYERS, Layer
from db.models import Base
from geo.chinese_datums import CHINA_BOX, wgs84_to_gcj02
from geo.windows import DailyWindow

# Tile units per side: the MVT default, what Leaflet.VectorGrid and MapLibre expect.
EXTENT = 4096
# Units kept beyond each edge, so outlines and lines do not stop short at tile seams.
BUFFER = 64
# The same buffer as a fraction of the tile, for ST_TileEnvelope(margin => ...): rows are
# picked from exactly the area ST_AsMVTGeom keeps.
MARGIN = BUFFER / EXTENT
MAX_ZOOM = 22

# The first zoom at which a layer's tiles hold features; below it a tile is empty and the
# database is not asked. Chosen so that a feature is bigger than a pixel or two when it
# first shows, and so that the densest tile at that zoom stays under about 500 kB before
# gzip. Measured in the middle of the synthetic district of 100,000 buildings (about
# 1,000 a km²; a tile is some 2.3 km wide at z14 in Shenzhen, 1.2 km in Helsinki):
MIN_ZOOM: dict[str, int] = {
    # tens of stations and a few hundred beats in a city: the overview at any zoom
    "stations": 0,
    "beats": 0,
    # a handful per district; risk radii of hundreds of metres matter at city scale
    "hazardous_sites": 10,
    "service_stations": 10,
    # hundreds to a few thousand points in a district: z12 holds 2,795 cameras in 78 kB,
    # 692 incidents in 36 kB
    "incidents": 12,
    "cameras": 12,
    "premises": 12,
    "public_facilities": 12,
    "facility_issues": 12,
    "focus_areas": 12,
    # 4,470 segments in 127 kB at z13; z12 holds three times as many
    "streets": 13,
    # 5,504 footprints in 456 kB at z14 (139 kB gzipped); z13 would be 1.9 MB
    "buildings": 14,
    # two a building, on its outline: 2,753 in 80 kB at z15, but a z15 view of a dense district
    # holds some 60,000, dots too close to tell apart that take the browser over a second to
    # lay out. The analyses draw the entrances that matter (not passed, at risk) at any zoom.
    "entrances": 16,
    "access_control": 15,
    # tracks run for kilometres with a vertex every 30-60 s: seven months of them are 404 kB
    # at z14 and 1.2 MB at z13 (a tile holds every track ever walked there)
    "patrol_tracks": 14,
    # raw fixes, about 20,000 a km² after seven months: 5,270 in 271 kB at z16
    "gps_fixes": 16,
}

# Layers whose features happen at a time (`Layer.time_span`). Their
# tiles can be asked for a period (and hours of day), so the map's time control draws the
# same incidents and patrols as its analyses count.
TIME_BOUND: dict[str, tuple[str, str]] = {
    layer.name: layer.time_span for layer in LAYERS.values() if layer.time_span is not None}


@dataclass(frozen=True)
class Period:
    """The time a tile's features must fall in: [since, until), and optionally hours of day in
    the area's time zone. A row running over time (a patrol track) counts when it overlaps the
    period, and for hours when it starts or ends within them."""

    since: datetime
    until: datetime
    tz: str = "UTC"
    hours: DailyWindow | None = None

    def params(self) -> dict:
        return {"since": self.since, "until": self.until, "tz": self.tz,
                "hours_start": self.hours.start_s if self.hours else None,
                "hours_length": self.hours.length_s if self.hours else None}


def _when(layer: Layer, quote) -> str:
    """The WHERE condition of a Period on the layer's rows (t)."""
    start, end = (f"t.{quote(c)}" for c in TIME_BOUND[layer.name])
    in_hours = ("mod(extract(epoch FROM ({c} AT TIME ZONE :tz)::time)::int - CAST(:hours_start AS int) + 86400, "
                "86400) < CAST(:hours_length AS int)")
    return (f" AND {start} < :until AND {end} >= :since AND (CAST(:hours_start AS int) IS NULL OR "
            f"{in_hours.format(c=start)} OR {in_hours.format(c=end)})")


# The coordinates a tile's features may be drawn in: WGS-84 (OpenStreetMap, and Tianditu,
# whose CGCS2000 is WGS-84 to well under a metre) or GCJ-02 (AMap/Gaode, Tencent).
DATUMS = ("wgs84", "gcj02")

# Bounds of the GCJ-02 shift (lon, lat degrees) that geo/chinese_datums.py adds, over its
# whole box (outside it the shift is 0), from the formulas sampled every 0.004 degrees and
# rounded outwards (tests/test_tiles.py checks them). Measured: lon -0.00022..0.01076, lat
# -0.00404..0.00299; the slopes, as the sum of the absolute partial derivatives (degrees
# of shift per degree moved), at most 0.0074 for the lon shift and 0.0042 for the lat
# shift; as metres per metre, 0.0089 at worst and 0.0048 in Shenzhen (that is the
# gradient that rules out a translation per tile: see _gcj02_tile).
_SHIFT_LON = (-0.0003, 0.0109)
_SHIFT_LAT = (-0.0041, 0.0031)
_SLOPE_LON = 0.0082
_SLOPE_LAT = 0.0046
# Degrees added around the rows' box for what the slopes do not bound: a straight edge is
# drawn between its shifted ends, so midway it strays from the shift there by up to
# curvature x length^2 / 8 (curvature <= 1.4e-6 per metre at 56 N, 5.1e-7 in Shenzhen),
# which this covers for edges up to 6 km anywhere (0.0001 degrees of longitude are 6.3 m
# at 56 N), 12 km in Shenzhen; and the shift's terms in sqrt|lon - 105| have no bounded
# slope at 105 E, but move it by at most 0.2 m x sqrt(degrees moved).
_SLACK = 0.0001


def tile_bytes(conn: Connection, layer: Layer, z: int, x: int, y: int, *, datum: str = "wgs84",
               period: Period | None = None) -> bytes:
    """Tile z/x/y of ``layer`` as MVT: one MVT layer named like ``layer``, or b"" when empty.

    The caller checks that 0 <= x, y < 2**z. Features are cut at a buffer of BUFFER
    units around the tile; polygons and lines that collapse below a tile unit at
    this zoom are left out. With ``datum="gcj02"`` they are drawn where they lie in
    GCJ-02 (only inside the box where GCJ-02 differs from WGS-84; elsewhere the tile
    is the WGS-84 one, byte for byte). With a ``period`` (time-bound layers only), only the
    features of that time.
    """
    if period is not None and layer.name not in TIME_BOUND:
        raise ValueError(f"{layer.name} are not bound to a time; ask for them without a period")
    if datum not in DATUMS:
        raise ValueError(f"unknown datum '{datum}'; use one of {', '.join(DATUMS)}")
    if z < MIN_ZOOM[layer.name]:
        return b""
    params = {"z": z, "x": x, "y": y, "margin": MARGIN, "extent": EXTENT, "buffer": BUFFER,
              "name": layer.name, **(period.params() if period else {})}
    # A parallel worker starts without PostGIS's cache of PROJ transformations, and the
    # partial MVT layers the workers hand back are merged with their key tables repeated:
    # serial, a z15 tile of 2,753 entrances takes 6 ms instead of 31 (z14 buildings 49
    # instead of 68), and a tile is the same bytes every time.
    previous = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
    conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    picked = _gcj02_rows_box(z, x, y) if datum == "gcj02" else None
    if picked is None:
        tile = conn.execute(_tile_query(conn, layer, timed=period is not None), params).scalar_one()
    else:
        tile = _gcj02_tile(conn, layer, params, tile_box=_tile_lonlat(z, x, y), rows_box=picked,
                           timed=period is not None)
    # Back as it was for the rest of the transaction (if the query fails, the rollback does it).
    conn.execute(text("SELECT set_config('max_parallel_workers_per_gather', :previous, true)"),
                 {"previous": previous})
    return bytes(tile) if tile else b""


def _tile_query(conn: Connection, layer: Layer, *, timed: bool) -> TextClause:
    """The statement of one tile: pick by bounding box, project, cut, encode.

    ST_AsMVTGeom gives NULL for a feature whose box meets the tile but whose shape
    misses it (and its buffer), or that collapses at this zoom; ST_AsMVT skips rows
    without a geometry, whereas filtering them with WHERE would cut every row twice.
    The box is first clipped to the world: the margin of a tile of the first or last
    column crosses the antimeridian, and in lon/lat such a box wraps round to the
    other side (at z1 and z2 the tile of China picked rows from the Americas).
    """
    quote = conn.dialect.identifier_preparer.quote_identifier
    properties = "".join(f", {_property(layer, name, quote)}" for name in layer.public_columns)
    return text(f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
                   ST_Transform(ST_ClipByBox2D(ST_TileEnvelope(:z, :x, :y, margin => :margin),
                                               ST_TileEnvelope(0, 0, 0)::box2d), 4326) AS box
        ), features AS (
            SELECT t.id{properties},
                   ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.tile, :extent, :buffer, true) AS geom
            FROM {quote(layer.table)} AS t, bounds AS b
            WHERE t.geom && b.box{_when(layer, quote) if timed else ""}
        )
        SELECT ST_AsMVT(features, :name, :extent, 'geom', 'id') FROM features
    """)


def _gcj02_tile(conn: Connection, layer: Layer, params: dict, *,
                tile_box: tuple[float, float, float, float],
                rows_box: tuple[float, float, float, float], timed: bool) -> bytes | None:
    """The tile with every vertex moved to GCJ-02 exactly, then cut and encoded by PostGIS.

    Why not ST_Translate by the shift at the tile's centre: across a tile the shift
    changes by its gradient (up to 0.0089 m per metre in China, 0.0048 in Shenzhen)
    times the distance from the centre, and both scale with the tile, so the error
    is the same number of tile units at every zoom: 0.0048 x 2112 (half a tile and
    its buffer) x sqrt 2, some 14 units in Shenzhen, and 16 at worst (measured over
    random tiles), at z10 as at z22. Adding the gradient (ST_Affine with the
    Jacobian at the centre) leaves the curvature: 4.8 units at z12, 1.2 at z14, 0.6
    at z15, under half a unit only from z16. So no translation is exact enough at
    z12-z15, where buildings, streets and tracks are first drawn.

    Here each vertex is moved by geo/chinese_datums.py in float64 (the same
    formulas as the importer and the map's datums.js) and only then projected and
    rounded to the tile grid by ST_AsMVTGeom: at every zoom a vertex lands within
    half a tile unit (the rounding) of its exact GCJ-02 place, as in a WGS-84 tile.
    The cost is the geometries' round trip through Python. In the middle of the
    synthetic district of 100,000 buildings (in Shenzhen): z14 buildings (5,450)
    103 ms instead of 46, z14 patrol tracks (5.4 MB of WKB) 253 instead of 63, z15
    entrances 24 instead of 7, z18 buildings 4 instead of 2.
    """
    quote = conn.dialect.identifier_preparer.quote_identifier
    picked = dict(zip(("west", "south", "east", "north"), rows_box))
    rows = conn.execute(text(f"""
        SELECT t.id, ST_AsBinary(ST_Force2D(t.geom)) FROM {quote(layer.table)} AS t
        WHERE t.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326){_when(layer, quote) if timed else ""}
    """), {**params, **picked}).all()
    if not rows:
        return None
    ids = np.array([row[0] for row in rows], dtype=np.int64)
    shifted = shapely.transform(shapely.from_wkb([row[1] for row in rows]), wgs84_to_gcj02)
    # Only those whose box, moved, meets the tile and its buffer: the rest would be cut away.
    west, south, east, north = tile_box
    box = shapely.bounds(shifted)
    meets = (box[:, 0] <= east) & (box[:, 2] >= west) & (box[:, 1] <= north) & (box[:, 3] >= south)
    if not meets.any():
        return None
    # The WKBs go back as one bytea and where each starts: an array of thousands of bytea
    # values takes PostgreSQL 6 to 12 times longer to read (35 ms for 5,700 buildings), and
    # integer arrays as their text form cost psycopg a tenth of dumping Python lists.
    wkbs = shapely.to_wkb(shifted[meets])
    lengths = np.fromiter(map(len, wkbs), dtype=np.int64, count=len(wkbs))
    moved = {"ids": _array_text(ids[meets]), "wkb": b"".join(wkbs), "lengths": _array_text(lengths),
             "starts": _array_text(np.cumsum(lengths) - lengths + 1)}
    return conn.execute(_moved_tile_query(conn, layer), {**params, **picked, **moved}).scalar_one()


def _array_text(values: np.ndarray) -> str:
    """Integers as the text of a PostgreSQL array: '{1,2,3}'."""
    return "{" + ",".join(map(str, values.tolist())) + "}"


def _moved_tile_query(conn: Connection, layer: Layer) -> TextClause:
    """The statement of a tile of geometries sent as WKB: project, cut, encode.

    ``:wkb`` holds them end to end, at ``:starts`` (from 1) for ``:lengths`` bytes,
    one for each row ``:ids`` names, in that order. The rest of each row (its
    properties) is read from the table; the rows are among those the box picked,
    which the index finds again (joined on id alone, the planner hashes the whole
    table: 80 ms for 200,000 entrances).
    """
    quote = conn.dialect.identifier_preparer.quote_identifier
    properties = "".join(f", {_property(layer, name, quote)}" for name in layer.public_columns)
    return text(f"""
        WITH moved AS (
            SELECT s.id, s.n,
                   ST_GeomFromWKB(substring(CAST(:wkb AS bytea) FROM s.start FOR s.length), 4326) AS geom
            FROM unnest(CAST(:ids AS bigint[]), CAST(:starts AS int[]), CAST(:lengths AS int[]))
                 WITH ORDINALITY AS s(id, start, length, n)
        ), features AS (
            SELECT t.id{properties},
                   ST_AsMVTGeom(ST_Transform(m.geom, 3857), ST_TileEnvelope(:z, :x, :y), :extent, :buffer,
                                true) AS geom
            FROM moved AS m
            JOIN {quote(layer.table)} AS t ON t.id = m.id
            WHERE t.geom && ST_MakeEnvelope(:west, :south, :east, :north, 4326)
            ORDER BY m.n
        )
        SELECT ST_AsMVT(features, :name, :extent, 'geom', 'id') FROM features
    """)


def _tile_lonlat(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north (degrees) of tile z/x/y and its buffer (MARGIN a side).

    Web Mercator keeps meridians and parallels straight, so this box is exactly the
    tile's: the lon/lat of ST_TileEnvelope(z, x, y, margin => MARGIN).
    """
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return ((x - MARGIN) / n * 360 - 180, lat(y + 1 + MARGIN),
            (x + 1 + MARGIN) / n * 360 - 180, lat(y - MARGIN))


def _gcj02_rows_box(z: int, x: int, y: int) -> tuple[float, float, float, float] | None:
    """The WGS-84 box (west, south, east, north) of the rows that land in a GCJ-02 tile.

    None when none of them is shifted: the tile is then the WGS-84 one.

    A point p lands at p + shift(p); for it to be in the tile's box B, p must lie in
    B moved back by the shift, whose range is bounded: over all of China by
    _SHIFT_LON/_SHIFT_LAT, and within the box W that p must be in (B grown by those)
    by the shift at W's centre plus the slope bound times W's half-size, which is
    tighter from z8 on (at z18, rows from some 1.5 times the tile's area instead of
    60 times). So no feature near the tile's edge is lost.
    """
    west, south, east, north = _tile_lonlat(z, x, y)
    within = (west - _SHIFT_LON[1], south - _SHIFT_LAT[1], east - _SHIFT_LON[0], north - _SHIFT_LAT[0])
    china_west, china_south, china_east, china_north = CHINA_BOX
    if within[2] < china_west or within[0] > china_east or within[3] < china_south or within[1] > china_north:
        return None  # GCJ-02 is WGS-84 there
    lon, lat = _SHIFT_LON, _SHIFT_LAT
    if (china_west <= within[0] and within[2] <= china_east
            and china_south <= within[1] and within[3] <= china_north):
        # W is inside China, where the shift is continuous: bound it by its slopes.
        centre = np.array([[(within[0] + within[2]) / 2, (within[1] + within[3]) / 2]])
        at_lon, at_lat = (float(d) for d in (wgs84_to_gcj02(centre) - centre)[0])
        reach = max(within[2] - within[0], within[3] - within[1]) / 2
        lon = (max(lon[0], at_lon - _SLOPE_LON * reach), min(lon[1], at_lon + _SLOPE_LON * reach))
        lat = (max(lat[0], at_lat - _SLOPE_LAT * reach), min(lat[1], at_lat + _SLOPE_LAT * reach))
    return (west - lon[1] - _SLACK, south - lat[1] - _SLACK, east - lon[0] + _SLACK, north - lat[0] + _SLACK)


def _property(layer: Layer, name: str, quote) -> str:
    """The select expression of one column: dates and times as ISO 8601 text.

    ST_AsMVT would write them in the server's DateStyle ('2026-10-25 20:30:00+00');
    their JSON form is ISO 8601 whatever the settings, like the GeoJSON route's.
    """
    column = f"t.{quote(name)}"
    if isinstance(Base.metadata.tables[layer.table].c[name].type, (Date, DateTime, Time)):
        return f"to_json({column}) #>> '{{}}' AS {quote(name)}"
    return column
