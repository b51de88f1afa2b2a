"""The SQL of beat workload: per beat (or per block of a proposed division), the counts a
supervisor weighs, and the blocks a division is made of."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, text

from db.analysis import margin_deg

# Residents to visit: those needing home service and those living alone (the elderly
# living alone are visited fortnightly). A premises or site is due when its latest
# inspection's next date has come, or it was never inspected. A dispute is open until
# it is resolved or referred.
_MEASURES = """
    SELECT b.code, b.name, ST_AsGeoJSON(b.geom, 6) AS geojson,
        (SELECT count(*) FROM household_point h WHERE ST_Intersects(h.geom, b.geom)) AS households,
        (SELECT count(*) FROM resident_fact r
          WHERE (r.needs_home_service OR r.lives_alone) AND ST_Intersects(r.geom, b.geom)) AS residents_to_visit,
        (SELECT count(*) FROM premises p WHERE ST_Intersects(p.geom, b.geom)
          AND COALESCE((SELECT i.next_due <= :as_of FROM inspection i WHERE i.premises_id = p.id
                        ORDER BY i.inspected_on DESC LIMIT 1), true)) AS premises_due,
        (SELECT count(*) FROM hazardous_site s WHERE ST_Intersects(s.geom, b.geom)
          AND COALESCE((SELECT i.next_due <= :as_of FROM inspection i WHERE i.hazardous_site_id = s.id
                        ORDER BY i.inspected_on DESC LIMIT 1), true)) AS sites_due,
        (SELECT count(*) FROM incident i WHERE ST_Intersects(i.geom, b.geom)
          AND i.occurred_at >= :since AND i.occurred_at < :until) AS incidents,
        (SELECT count(*) FROM dispute_fact d WHERE ST_Intersects(d.geom, b.geom)
          AND d.status IN ('reported', 'mediating')) AS open_disputes,
        (SELECT COALESCE(sum(ST_Length(ST_Intersection(s.geom, b.geom)::geography)), 0) / 1000
           FROM street_segment s WHERE ST_Intersects(s.geom, b.geom)) AS street_km
    FROM ({polygons}) b ORDER BY b.code
"""
_BEATS = "SELECT code, name, geom FROM beat"
_GIVEN = """SELECT lpad(n::text, 8, '0') AS code, NULL AS name, ST_GeomFromWKB(w, 4326) AS geom
            FROM unnest(CAST(:wkbs AS bytea[])) WITH ORDINALITY AS given(w, n)"""

# The blocks of some beats: the faces that their streets and their outline cut the beats into.
# A street that ends on the outline rarely ends exactly on it (the two were drawn apart), so
# the outline is first snapped to the streets' vertices within a few metres; ST_Union nodes
# the lines, so that crossing streets cut each other.
_BLOCKS = text("""
    WITH beats AS (SELECT ST_Union(geom) AS geom FROM beat WHERE code = ANY(:codes)),
         streets AS (SELECT ST_Collect(s.geom) AS g FROM street_segment s, beats
                     WHERE ST_Intersects(s.geom, beats.geom)),
         lines AS (SELECT ST_Union(ST_Collect(streets.g, ST_Snap(ST_Boundary(beats.geom), streets.g, :snap_deg))) AS g
                   FROM beats, streets),
         faces AS (SELECT (ST_Dump(ST_Polygonize(g))).geom AS geom FROM lines)
    SELECT ST_AsBinary(f.geom) FROM faces f, beats
    WHERE ST_Within(ST_PointOnSurface(f.geom), beats.geom)
""")


def beat_measures(conn: Connection, *, since: datetime, until: datetime, as_of: date) -> pd.DataFrame:
    """One row per beat: code, name, geojson and the measures of ``geo.workload.MEASURES``."""
    return _measures(conn, _BEATS, {"since": since, "until": until, "as_of": as_of})


def polygon_measures(conn: Connection, wkbs: list[bytes], *, since: datetime, until: datetime,
                     as_of: date) -> pd.DataFrame:
    """As ``beat_measures``, for any polygons (EPSG:4326 WKB), in their order."""
    return _measures(conn, _GIVEN, {"wkbs": wkbs, "since": since, "until": until, "as_of": as_of})


def _measures(conn: Connection, polygons: str, params: dict) -> pd.DataFrame:
    result = conn.execute(text(_MEASURES.format(polygons=polygons)), params)
    frame = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    return frame.astype({"street_km": float})


def blocks(conn: Connection, codes: list[str]) -> list[bytes]:
    """The blocks (EPSG:4326 WKB) of the beats: the faces their streets cut them into."""
    return [bytes(row[0]) for row in conn.execute(_BLOCKS, {"codes": codes, "snap_deg": margin_deg(1.0)})]
