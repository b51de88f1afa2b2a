"""The SQL of camera siting cut into tiles: what lies in and near one tile, read as
``db/analysis.py`` and ``db/incidents.py`` read it for the whole place, so that a tile's
demand and candidate sites are exactly its share of the whole's.

Most of it is those very queries, asked of the place clipped to a box around the tile
(``clipped``). A query that measures how near something is to the place (a burglary within
100 m of it, a camera within its range) answers alike for the clipped place and for the
whole whenever the point of the place nearest that thing lies in the box. So the box is the
tile grown by twice that distance: whatever is that near a point of the tile has its nearest
point of the place within the box. No camera sees farther than ``MAX_CAMERA_RANGE_M``: the
schema refuses one that would.
"""

from __future__ import annotations

from dataclasses import astuple, replace

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from db import analysis as queries
from db.city_tiles import TRACK_BOX_MARGIN_M, lonlat_box, tile_streets
from db.models import MAX_CAMERA_RANGE_M
from geo.siting import BURGLARY_RADIUS_M
from geo.tiling import HALO_SLACK_M, Box


def near(box: Box, srid: int) -> Box:
    """A lon/lat box holding a box in metres and every street piece that passes through it (as
    ``db.city_tiles`` grows a halo by ``TRACK_BOX_MARGIN_M`` for a track piece)."""
    return lonlat_box(box.grown(TRACK_BOX_MARGIN_M), srid)


def clipped(place: queries.Place, box: Box) -> queries.Place:
    """The place's part in a lon/lat box; the place itself when the box holds it all."""
    polygon = shapely.from_wkb(place.wkb)
    xmin, ymin, xmax, ymax = polygon.bounds
    if box.xmin <= xmin and box.ymin <= ymin and box.xmax >= xmax and box.ymax >= ymax:
        return place
    return replace(place, wkb=shapely.to_wkb(shapely.intersection(polygon, shapely.box(*astuple(box)))))


def tile_entrances(conn: Connection, place: queries.Place, square: Box) -> pd.DataFrame:
    """``queries.audited_entrances`` of the place for the entrances in and around a tile's square
    (metres), each with the households the whole place's audit puts behind it.

    Those are the households of its building nearest to it of all the building's entrances in
    the place, so the place is clipped to a box that holds every entrance of their buildings.
    """
    around = near(square, place.srid)
    extent = conn.execute(text("""
        SELECT ST_XMin(r), ST_YMin(r), ST_XMax(r), ST_YMax(r)
        FROM (SELECT ST_Extent(o.geom) AS r
              FROM entrance e JOIN entrance o ON o.building_id = e.building_id
              WHERE e.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)) buildings
    """), _corners(around)).one()
    if extent[0] is not None:
        around = Box(min(around.xmin, extent[0]), min(around.ymin, extent[1]), max(around.xmax, extent[2]),
                     max(around.ymax, extent[3]))
    return queries.audited_entrances(conn, clipped(place, around))


def near_burglaries(conn: Connection, place: queries.Place, square: Box, *, since, until) -> pd.DataFrame:
    """``queries.burglaries`` of the place within ``BURGLARY_RADIUS_M`` of a tile's entrances, and more."""
    box = near(square.grown(2 * BURGLARY_RADIUS_M + HALO_SLACK_M), place.srid)
    return queries.burglaries(conn, clipped(place, box), since=since, until=until, radius_m=BURGLARY_RADIUS_M)


def near_cameras(conn: Connection, place: queries.Place, square: Box) -> pd.DataFrame:
    """``queries.cameras`` of the place that may see into a tile's square, and more."""
    return queries.cameras(conn, clipped(place, near(square.grown(2 * MAX_CAMERA_RANGE_M + HALO_SLACK_M),
                                                     place.srid)))


def streets_near(conn: Connection, place: queries.Place, box: Box) -> pd.DataFrame:
    """The street segments of the place that may pass through a box (metres), each whole: its
    parts inside the place (id, geometry in metres), as ``queries.streets`` cuts them."""
    ids = conn.execute(queries.place_sql("""
        SELECT s.id FROM street_segment s JOIN {place} b ON s.geom && b.geom
        WHERE s.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
    """), {"place": place.wkb, **_corners(near(box, place.srid))}).scalars().all()
    return tile_streets(conn, place, np.array(ids, dtype=np.int64))


def _corners(box: Box) -> dict[str, float]:
    return dict(zip(("xmin", "ymin", "xmax", "ymax"), map(float, astuple(box))))
