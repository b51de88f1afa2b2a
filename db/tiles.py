"""The SQL of map layers as Mapbox vector tiles (MVT), cut by PostGIS.

A tile is z/x/y of the Web Mercator grid (EPSG:3857) that Leaflet and every web
map use; the data are in EPSG:4326 with GiST indexes on ``geom``. So the tile's
envelope is turned into lon/lat once and the rows are picked with ``&&`` on it,
which the index answers; only the rows picked are projected and cut to the tile.
"""

from __future__ import annotations

from sqlalchemy import Connection, Date, DateTime, Time, text
from sqlalchemy.sql.elements import TextClause

from db.layers import Layer
from db.models import Base

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
    "facility_issues": 12,
    "focus_areas": 12,
    # 4,470 segments in 127 kB at z13; z12 holds three times as many
    "streets": 13,
    # 5,504 footprints in 456 kB at z14 (139 kB gzipped); z13 would be 1.9 MB
    "buildings": 14,
    # two a building, on its outline, so apart only once buildings are: 2,753 in 80 kB at z15
    "entrances": 15,
    "access_control": 15,
    # tracks run for kilometres with a vertex every 30-60 s: seven months of them are 404 kB
    # at z14 and 1.2 MB at z13 (a tile holds every track ever walked there)
    "patrol_tracks": 14,
    # raw fixes, about 20,000 a km² after seven months: 5,270 in 271 kB at z16
    "gps_fixes": 16,
}

def tile_bytes(conn: Connection, layer: Layer, z: int, x: int, y: int) -> bytes:
    """Tile z/x/y of ``layer`` as MVT: one MVT layer named like ``layer``, or b"" when empty.

    The caller checks that 0 <= x, y < 2**z. Features are cut at a buffer of BUFFER
    units around the tile; polygons and lines that collapse below a tile unit at
    this zoom are left out.
    """
    if z < MIN_ZOOM[layer.name]:
        return b""
    params = {"z": z, "x": x, "y": y, "margin": MARGIN, "extent": EXTENT, "buffer": BUFFER,
              "name": layer.name}
    # A parallel worker starts without PostGIS's cache of PROJ transformations, and the
    # partial MVT layers the workers hand back are merged with their key tables repeated:
    # serial, a z15 tile of 2,753 entrances takes 6 ms instead of 31 (z14 buildings 49
    # instead of 68), and a tile is the same bytes every time.
    previous = conn.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one()
    conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    tile = conn.execute(_tile_query(conn, layer), params).scalar_one()
    # Back as it was for the rest of the transaction (if the query fails, the rollback does it).
    conn.execute(text("SELECT set_config('max_parallel_workers_per_gather', :previous, true)"),
                 {"previous": previous})
    return bytes(tile) if tile else b""


def _tile_query(conn: Connection, layer: Layer) -> TextClause:
    """The statement of one tile: pick by bounding box, project, cut, encode.

    ST_AsMVTGeom gives NULL for a feature whose box meets the tile but whose shape
    misses it (and its buffer), or that collapses at this zoom; ST_AsMVT skips rows
    without a geometry, whereas filtering them with WHERE would cut every row twice.
    """
    quote = conn.dialect.identifier_preparer.quote_identifier
    properties = "".join(f", {_property(layer, name, quote)}" for name in layer.public_columns)
    return text(f"""
        WITH bounds AS (
            SELECT ST_TileEnvelope(:z, :x, :y) AS tile,
                   ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS box
        ), features AS (
            SELECT t.id{properties},
                   ST_AsMVTGeom(ST_Transform(t.geom, 3857), b.tile, :extent, :buffer, true) AS geom
            FROM {quote(layer.table)} AS t, bounds AS b
            WHERE t.geom && b.box
        )
        SELECT ST_AsMVT(features, :name, :extent, 'geom', 'id') FROM features
    """)


def _property(layer: Layer, name: str, quote) -> str:
    """The select expression of one column: dates and times as ISO 8601 text.

    ST_AsMVT would write them in the server's DateStyle ('2026-10-25 20:30:00+00');
    their JSON form is ISO 8601 whatever the settings, like the GeoJSON route's.
    """
    column = f"t.{quote(name)}"
    if isinstance(Base.metadata.tables[layer.table].c[name].type, (Date, DateTime, Time)):
        return f"to_json({column}) #>> '{{}}' AS {quote(name)}"
    return column
