"""The SQL of the city coverage cut into tiles: where the targets are (to cut them into
tiles), a tile's targets by id, and the tracks near a tile that start in one time chunk.

A tile's streets, entrances and track vertices come out exactly as ``db/analysis.py``
gives them for the whole place (the same clipping, the same transforms, the same
filters), so that a tile's answer is a part of the whole's, number for number.
"""

from __future__ import annotations

from dataclasses import astuple
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from db import analysis as queries
from geo.crs import to_lonlat, to_metric
from geo.tiling import Box, TimeChunk

# The tracks asked for are those whose lon/lat box meets the halo's, grown by this much: a
# piece between two fixes is straight in metres but bent in lon/lat, by 0.75 m over 4.5 km
# (the longest piece the default track cleaning leaves: 15 m/s for 5 minutes) and 15 m over
# 20 km, at 60 degrees north.
TRACK_BOX_MARGIN_M = 50.0
OUTLINE_STEP_DEG = 0.001  # about 100 m
# A street meets a focus area in metres where it meets it in lon/lat, but for the bend of an
# edge between the two: centimetres over a car park, 15 m over 20 km.
FOCUS_STREET_MARGIN_M = 50.0


def street_anchors(conn: Connection, place: queries.Place) -> pd.DataFrame:
    """The first vertex (id, x, y) of every street segment that may meet the place."""
    return queries.with_metric_xy(queries.place_frame(conn, """
        SELECT s.id, ST_X(ST_StartPoint(s.geom)) AS lon, ST_Y(ST_StartPoint(s.geom)) AS lat
        FROM street_segment s JOIN {place} b ON s.geom && b.geom
    """, {"place": place.wkb}), place)


def tile_streets(conn: Connection, place: queries.Place, ids: np.ndarray) -> pd.DataFrame:
    """Of these street segments, the parts inside the place (id, geometry in metres), as
    ``queries.streets`` cuts them."""
    return queries.streets(conn, place, "s.id = ANY(CAST(:ids AS bigint[]))", {"ids": [int(i) for i in ids]})


def focus_anchors(conn: Connection, place: queries.Place) -> pd.DataFrame:
    """A point (id, x, y) of every focus area of the place."""
    return queries.with_metric_xy(queries.place_frame(conn, """
        SELECT f.id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
        FROM focus_area f JOIN {place} b ON ST_Intersects(f.geom, b.geom), ST_PointOnSurface(f.geom) AS p(geom)
    """, {"place": place.wkb}), place)


def tile_focus_areas(conn: Connection, place: queries.Place, ids: np.ndarray) -> pd.DataFrame:
    """These focus areas (id, kind, name, priority, geometry in metres), as ``queries.focus_areas``."""
    return queries.focus_areas(conn, place, "f.id = ANY(CAST(:ids AS bigint[]))", {"ids": [int(i) for i in ids]}) \
        .drop(columns="geojson")


def focus_streets(conn: Connection, place: queries.Place, ids: np.ndarray) -> pd.DataFrame:
    """The parts inside the place of the street segments that may meet these focus areas, as
    ``queries.streets`` cuts them (a segment whose lon/lat box comes within
    ``FOCUS_STREET_MARGIN_M`` of an area's)."""
    # An array made once, for the segments' primary key: as a condition per segment (EXISTS)
    # it would be asked of every segment of the place.
    return queries.streets(conn, place, """
        s.id = ANY(ARRAY(SELECT n.id FROM focus_area f JOIN street_segment n ON n.geom && ST_Expand(f.geom, :margin_deg)
                         WHERE f.id = ANY(CAST(:ids AS bigint[]))))
    """, {"ids": [int(i) for i in ids], "margin_deg": queries.margin_deg(FOCUS_STREET_MARGIN_M)})


def tile_entrances(conn: Connection, place: queries.Place, ids: np.ndarray) -> pd.DataFrame:
    """These entrances: id, lon, lat, and x, y in the place's metric CRS, as ``queries.entrances``."""
    return queries.with_metric_xy(queries.place_frame(conn, """
        SELECT e.id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat
        FROM entrance e WHERE e.id = ANY(CAST(:ids AS bigint[])) ORDER BY e.id
    """, {"ids": [int(i) for i in ids]}), place)


def chunk_track_vertices(conn: Connection, place: queries.Place, *, since: datetime, until: datetime,
                         radius_m: float, chunk: TimeChunk, halo: Box | None) -> pd.DataFrame:
    """Vertices (track, x, y, t) of the tracks ``queries.track_vertices`` gives for the place
    that start in the chunk and come near the halo (metres; None: nowhere), sorted by track
    and time."""
    if halo is None:
        return _vertices([], [])
    near = lonlat_box(halo.grown(TRACK_BOX_MARGIN_M), place.srid)
    rows = conn.execute(queries.place_sql("""
        SELECT t.id, ST_AsBinary(ST_Transform(t.geom, :srid))
        FROM patrol_track t JOIN {place} b ON true
        WHERE t.ended_at >= :since AND t.started_at <= :until
          AND t.started_at >= COALESCE(CAST(:chunk_start AS timestamptz), '-infinity')
          AND t.started_at < COALESCE(CAST(:chunk_end AS timestamptz), 'infinity')
          AND t.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
          AND t.geom && ST_Expand(b.geom, :margin_deg)
          AND ST_DWithin(t.geom::geography, b.geom::geography, :radius)
        ORDER BY t.id
    """), {"place": place.wkb, "srid": place.srid, "since": since, "until": until,
           "chunk_start": chunk.start, "chunk_end": chunk.end, "radius": radius_m,
           "margin_deg": queries.margin_deg(radius_m),
           **dict(zip(("xmin", "ymin", "xmax", "ymax"), astuple(near)))}).all()
    return _vertices([r[0] for r in rows], [bytes(r[1]) for r in rows])


def _vertices(ids: list[int], wkbs: list[bytes]) -> pd.DataFrame:
    coords, owner = shapely.get_coordinates(shapely.from_wkb(wkbs), include_m=True, return_index=True)
    return pd.DataFrame({"track": np.asarray(ids, dtype=np.int64)[owner], "x": coords[:, 0],
                         "y": coords[:, 1], "t": coords[:, 2]})


def lonlat_box(box: Box, srid: int) -> Box:
    """The lon/lat box (west, south, east, north) of a box in metres: of its edges, bent in
    lon/lat, not only of its corners."""
    edges = shapely.box(*astuple(box)).segmentize(100.0)
    return Box(*(float(b) for b in to_lonlat([edges], srid)[0].bounds))


def place_outline(place: queries.Place) -> shapely.Geometry:
    """The place's polygon in its metric CRS, to cut into tiles. Its edges are straight in
    lon/lat and bent in metres, so they are followed every ``OUTLINE_STEP_DEG``: every point
    of the place then lies within a millimetre of the outline."""
    polygon = shapely.segmentize(shapely.from_wkb(place.wkb), OUTLINE_STEP_DEG)
    return shapely.transform(polygon, lambda lonlat: np.column_stack(to_metric(lonlat[:, 0], lonlat[:, 1],
                                                                               place.srid)))
