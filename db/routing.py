"""The street network as pgRouting sees it: vertices near points, travel costs between vertices,
and the path through them in order.

Every query takes only the streets within ``NETWORK_MARGIN_M`` of the place: a beat's patrol
does not leave its neighbourhood, and pgRouting builds its graph from whatever the edge query
returns, so a district's network would be read for every route.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from db.analysis import Place, margin_deg, place_sql

NETWORK_MARGIN_M = 1500.0

# pgRouting reads its edges from SQL text. A one-way street (for cars) has no way back.
_EDGES = """
    SELECT s.id, s.source, s.target, s.length_m AS cost,
           CASE WHEN {directed} AND s.oneway THEN -1 ELSE s.length_m END AS reverse_cost
    FROM street_segment s
    WHERE s.source IS NOT NULL AND s.target IS NOT NULL
      AND s.geom && ST_MakeEnvelope({xmin!r}, {ymin!r}, {xmax!r}, {ymax!r}, 4326)
"""


def _edges_sql(conn: Connection, place: Place, directed: bool) -> str:
    """The edge query for pgRouting, its box written out as numbers (the only values in it)."""
    xmin, ymin, xmax, ymax = conn.execute(place_sql("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
        FROM (SELECT ST_Expand(ST_Envelope(b.geom), :margin) AS e FROM {place} b) box
    """), {"place": place.wkb, "margin": margin_deg(NETWORK_MARGIN_M)}).one()
    return _EDGES.format(directed=str(bool(directed)).lower(), xmin=float(xmin), ymin=float(ymin),
                         xmax=float(xmax), ymax=float(ymax))


def nearest_vertices(conn: Connection, place: Place, lon, lat) -> pd.DataFrame:
    """For each point: the nearer end of its nearest street (``vertex``), and how far that is (``snap_m``)."""
    rows = conn.execute(place_sql("""
        WITH p AS (SELECT n, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
                   FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[])) WITH ORDINALITY AS t(lon, lat, n))
        SELECT p.n,
               CASE WHEN ST_Distance(ST_StartPoint(s.geom)::geography, p.g::geography)
                         <= ST_Distance(ST_EndPoint(s.geom)::geography, p.g::geography)
                    THEN s.source ELSE s.target END,
               least(ST_Distance(ST_StartPoint(s.geom)::geography, p.g::geography),
                     ST_Distance(ST_EndPoint(s.geom)::geography, p.g::geography))
        FROM p CROSS JOIN LATERAL (
            SELECT s.geom, s.source, s.target FROM street_segment s
            WHERE s.source IS NOT NULL AND s.target IS NOT NULL
            ORDER BY s.geom <-> p.g LIMIT 1) s
        ORDER BY p.n
    """), {"lon": [float(v) for v in lon], "lat": [float(v) for v in lat]}).all()
    return pd.DataFrame(rows, columns=["n", "vertex", "snap_m"]).drop(columns="n")


def street_ends(conn: Connection, ids) -> pd.DataFrame:
    """Street segments by id, in that order: their source and target vertices and length."""
    return pd.DataFrame(conn.execute(text("""
        SELECT s.id, s.source, s.target, s.length_m
        FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS wanted(id, n) JOIN street_segment s USING (id)
        ORDER BY wanted.n
    """), {"ids": [int(i) for i in ids]}).all(), columns=["id", "source", "target", "length_m"])


def cost_matrix(conn: Connection, place: Place, vertices, *, directed: bool) -> np.ndarray:
    """Metres of the shortest way from each vertex (rows) to each (columns); inf where there is none."""
    vertices = [int(v) for v in vertices]
    unique = sorted(set(vertices))
    rows = conn.execute(text("""
        SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix(:edges, CAST(:vids AS bigint[]), :directed)
    """), {"edges": _edges_sql(conn, place, directed), "vids": unique, "directed": directed}).all()
    at = {v: i for i, v in enumerate(unique)}
    metres = np.full((len(unique), len(unique)), np.inf)
    np.fill_diagonal(metres, 0.0)
    for start, end, cost in rows:
        metres[at[start], at[end]] = cost
    index = np.array([at[v] for v in vertices], dtype=int)
    return metres[np.ix_(index, index)]


def path_through(conn: Connection, place: Place, vertices, *, directed: bool) -> list[list[list[float]]]:
    """The shortest way through the vertices in order, as lines of [lon, lat] (each street as walked)."""
    vertices = [int(v) for v in vertices]
    # pgRouting finds no path from a vertex to itself; such a leg is no way at all.
    legs = [v for i, v in enumerate(vertices) if i == 0 or v != vertices[i - 1]]
    if len(legs) < 2:
        return []
    rows = conn.execute(text("""
        SELECT ST_AsGeoJSON(CASE WHEN v.node = s.source THEN s.geom ELSE ST_Reverse(s.geom) END, 7)
        FROM pgr_dijkstraVia(:edges, CAST(:vids AS bigint[]), :directed) v
        JOIN street_segment s ON s.id = v.edge
        ORDER BY v.seq
    """), {"edges": _edges_sql(conn, place, directed), "vids": legs, "directed": directed}).scalars().all()
    return [json.loads(row)["coordinates"] for row in rows]


def station_of(conn: Connection, beat_code: str) -> tuple[float, float] | None:
    """The lon/lat of the station a beat belongs to, if it has one with a position."""
    row = conn.execute(text("""
        SELECT ST_X(st.geom), ST_Y(st.geom) FROM beat b JOIN station st ON st.id = b.station_id
        WHERE b.code = :code AND st.geom IS NOT NULL
    """), {"code": beat_code}).one_or_none()
    return None if row is None else (float(row[0]), float(row[1]))
