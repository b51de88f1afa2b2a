"""The SQL that feeds the patrol analyses: everything in and around one beat, in metres.

Geometries come back as WKB in the area's metric CRS (PostGIS transforms them,
keeping the M of track vertices), so ``geo/`` only ever sees metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection, text

from db.models import MAX_CAMERA_RANGE_M
from geo.crs import to_metric, utm_crs


def margin_deg(metres: float) -> float:
    """Degrees that surely span ``metres`` below 75 degrees of latitude: the index prefilter's margin."""
    return metres / 28_000.0


@dataclass(frozen=True)
class Place:
    """The polygon analysed (a beat, or the whole area), with the area's metric CRS and time zone."""

    code: str
    wkb: bytes  # the polygon, EPSG:4326
    srid: int
    tz: str

    def metric_polygon(self) -> shapely.Geometry:
        """The polygon in the place's metric CRS."""
        return shapely.transform(shapely.from_wkb(self.wkb),
                                 lambda lonlat: np.column_stack(to_metric(lonlat[:, 0], lonlat[:, 1], self.srid)))


def find_beat(conn: Connection, code: str) -> Place | None:
    row = conn.execute(text("""
        SELECT b.code, ST_AsBinary(b.geom), a.metric_srid, COALESCE(a.timezone, 'UTC')
        FROM beat b LEFT JOIN area a ON a.id = 1
        WHERE b.code = :code
    """), {"code": code}).one_or_none()
    if row is None:
        return None
    wkb = bytes(row[1])
    return Place(row[0], wkb, row[2] or _utm_srid(wkb), row[3])


def _utm_srid(wkb: bytes) -> int:
    """The UTM zone of a polygon, for installations that have not set their area."""
    return utm_crs([shapely.from_wkb(wkb)]).to_epsg()


def polygon_place(conn: Connection, wkb: bytes) -> Place:
    """Any polygon (EPSG:4326), measured in the area's metric CRS (or its own UTM zone)."""
    srid, tz, inside = conn.execute(text("""
        SELECT a.metric_srid, COALESCE(a.timezone, 'UTC'), a.geom IS NULL OR ST_CoveredBy(p.geom, a.geom)
        FROM (SELECT ST_GeomFromWKB(:wkb, 4326) AS geom) p LEFT JOIN area a ON a.id = 1
    """), {"wkb": wkb}).one()
    if not inside:
        raise ValueError("the polygon reaches outside the area")
    return Place("polygon", wkb, srid or _utm_srid(wkb), tz)


def whole_area(conn: Connection) -> Place | None:
    """The installation's whole area, for district-wide batch analyses."""
    row = conn.execute(text("SELECT name, ST_AsBinary(geom), metric_srid, timezone FROM area WHERE id = 1")) \
        .one_or_none()
    return Place(row[0], bytes(row[1]), row[2], row[3]) if row else None


def inside_area(conn: Connection, lon: float, lat: float) -> bool:
    """Whether a point lies in the installation's area (any point does while no area is set)."""
    return conn.execute(text("""
        SELECT COALESCE((SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
                         FROM area WHERE id = 1), true)
    """), {"lon": lon, "lat": lat}).scalar_one()


def place_sql(sql: str):
    """A query in which ``{place}`` is the analysed polygon, bound from the place's WKB."""
    return text(sql.replace("{place}", "(SELECT ST_GeomFromWKB(:place, 4326) AS geom)"))


def place_frame(conn: Connection, sql: str, params: dict, geometry: str = "wkb") -> pd.DataFrame:
    result = conn.execute(place_sql(sql), params)
    # Plain tuples: pandas probes SQLAlchemy rows for attributes, a second per 100,000 rows.
    frame = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    # Text as objects, NULL as None, whatever the rows hold: pandas infers its string dtype
    # only for a column with some text in it (and makes NULL a NaN there), so a city tile's
    # rows would come out of another type than the whole's.
    for column in frame.select_dtypes("str").columns:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    if geometry in frame:
        frame["geometry"] = shapely.from_wkb(frame.pop(geometry).map(bytes).to_numpy()) \
            if len(frame) else np.empty(0, dtype=object)
    return frame


def streets(conn: Connection, place: Place, which: str = "true", params: dict | None = None) -> pd.DataFrame:
    """Street segments, clipped to the beat (a segment on the boundary counts inside only):
    id, geometry, a row per part, by id. ``which``: a condition on the segment ``s`` (with its
    ``params``), for a city tile's share, cut exactly as the whole's."""
    return place_frame(conn, """
        SELECT s.id, ST_AsBinary(ST_Transform(part.geom, :srid)) AS wkb
        FROM street_segment s JOIN {place} b ON s.geom && b.geom,
             LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(s.geom, b.geom), 2)) AS part
        WHERE {which}
        ORDER BY s.id, part.path
    """.replace("{which}", which), {"place": place.wkb, "srid": place.srid, **(params or {})}) \
        .reindex(columns=["id", "geometry"])


def focus_areas(conn: Connection, place: Place, which: str = "true", params: dict | None = None) -> pd.DataFrame:
    """Focus areas meeting the place: id, kind, name, priority, geojson, geometry, by id.
    ``which``: a condition on the area ``f`` (with its ``params``)."""
    return place_frame(conn, """
        SELECT f.id, f.kind, f.name, f.priority, ST_AsGeoJSON(f.geom, 7) AS geojson,
               ST_AsBinary(ST_Transform(f.geom, :srid)) AS wkb
        FROM focus_area f JOIN {place} b ON ST_Intersects(f.geom, b.geom)
        WHERE {which}
        ORDER BY f.id
    """.replace("{which}", which), {"place": place.wkb, "srid": place.srid, **(params or {})})


_ENTRANCES_INSIDE = """
    SELECT e.id, e.building_id, e.access_control, e.geom
    FROM entrance e JOIN {place} b ON ST_Intersects(e.geom, b.geom)
"""


def entrances(conn: Connection, place: Place) -> pd.DataFrame:
    """Entrances in the beat: id, lon, lat, and x, y in the place's metric CRS."""
    return with_metric_xy(place_frame(conn, f"""
        WITH inside AS ({_ENTRANCES_INSIDE})
        SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM inside ORDER BY id
    """, {"place": place.wkb}), place)


def audited_entrances(conn: Connection, place: Place) -> pd.DataFrame:
    """Entrances in the beat with what the audit weighs: building management, access control,
    and the households (and residents living alone) whose unit is nearest this entrance."""
    frame = place_frame(conn, f"""
        WITH inside AS ({_ENTRANCES_INSIDE}), nearest AS (
            SELECT DISTINCT ON (h.id) h.id AS household_id, i.id AS entrance_id
            FROM household_point h JOIN inside i ON i.building_id = h.building_id
            ORDER BY h.id, i.geom <-> h.geom
        ), behind AS (
            SELECT n.entrance_id, count(DISTINCT n.household_id) AS households, count(r.household_id) AS alone
            FROM nearest n LEFT JOIN resident_fact r ON r.household_id = n.household_id AND r.lives_alone
            GROUP BY 1
        )
        SELECT i.id, i.building_id, COALESCE(bd.managed, false) AS managed, i.access_control,
               COALESCE(behind.households, 0) AS households, COALESCE(behind.alone, 0) AS living_alone,
               ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat
        FROM inside i LEFT JOIN building bd ON bd.id = i.building_id
                      LEFT JOIN behind ON behind.entrance_id = i.id
        ORDER BY i.id
    """, {"place": place.wkb})
    return with_metric_xy(frame.astype({"households": int, "living_alone": int}), place)


def buildings_by_id(conn: Connection, ids) -> pd.DataFrame:
    """Buildings by id, in that order: address, name and outline as GeoJSON."""
    return pd.DataFrame(conn.execute(text("""
        SELECT b.id, b.address, b.name, ST_AsGeoJSON(b.geom, 7) AS geojson
        FROM unnest(CAST(:ids AS bigint[])) WITH ORDINALITY AS wanted(id, n) JOIN building b USING (id)
        ORDER BY wanted.n
    """), {"ids": [int(i) for i in ids]}).all(), columns=["id", "address", "name", "geojson"])


def with_metric_xy(frame: pd.DataFrame, place: Place) -> pd.DataFrame:
    lon, lat = frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
    x, y = to_metric(lon, lat, place.srid)
    return frame.assign(lon=lon, lat=lat, x=x, y=y)


def track_vertices(conn: Connection, place: Place, *, since: datetime, until: datetime,
                   radius_m: float) -> pd.DataFrame:
    """Vertices (track, x, y, t) of every track that comes within ``radius_m`` of the beat
    between ``since`` and ``until``, sorted by track and time."""
    result = conn.execute(place_sql("""
        SELECT t.id, ST_AsBinary(ST_Transform(t.geom, :srid))
        FROM patrol_track t JOIN {place} b ON true
        WHERE t.ended_at >= :since AND t.started_at <= :until
          AND t.geom && ST_Expand(b.geom, :margin_deg)
          AND ST_DWithin(t.geom::geography, b.geom::geography, :radius)
        ORDER BY t.id
    """), {"place": place.wkb, "srid": place.srid, "since": since, "until": until,
           "radius": radius_m, "margin_deg": margin_deg(radius_m)}).all()
    if not result:
        return pd.DataFrame({"track": np.empty(0, int), "x": [], "y": [], "t": []})
    ids = np.array([r[0] for r in result])
    lines = shapely.from_wkb([bytes(r[1]) for r in result])
    coords, owner = shapely.get_coordinates(lines, include_m=True, return_index=True)
    return pd.DataFrame({"track": ids[owner], "x": coords[:, 0], "y": coords[:, 1], "t": coords[:, 2]})


def cameras(conn: Connection, place: Place) -> pd.DataFrame:
    """Working cameras that could see into the beat."""
    frame = place_frame(conn, """
        SELECT ST_X(ST_Transform(c.geom, :srid)) AS x, ST_Y(ST_Transform(c.geom, :srid)) AS y,
               c.direction_deg, c.fov_deg, c.range_m
        FROM camera c JOIN {place} b ON true
        WHERE c.working AND c.geom && ST_Expand(b.geom, :margin_deg)
          AND ST_DWithin(c.geom::geography, b.geom::geography, c.range_m)
    """, {"place": place.wkb, "srid": place.srid, "margin_deg": margin_deg(MAX_CAMERA_RANGE_M)})
    return frame.astype(float)


def burglaries(conn: Connection, place: Place, *, since: datetime, until: datetime,
               radius_m: float) -> pd.DataFrame:
    return place_frame(conn, """
        SELECT ST_X(ST_Transform(i.geom, :srid)) AS x, ST_Y(ST_Transform(i.geom, :srid)) AS y
        FROM incident i JOIN {place} b ON true
        WHERE i.type = 'burglary' AND i.occurred_at >= :since AND i.occurred_at < :until
          AND i.geom && ST_Expand(b.geom, :margin_deg)
          AND ST_DWithin(i.geom::geography, b.geom::geography, :radius)
    """, {"place": place.wkb, "srid": place.srid, "since": since, "until": until,
          "radius": radius_m, "margin_deg": margin_deg(radius_m)}).astype(float)


def last_patrol_night_end(conn: Connection, place: Place) -> datetime | None:
    """When the most recent track near the beat ended: where "the last nights" end by default."""
    return conn.execute(place_sql("""
        SELECT max(t.ended_at) FROM patrol_track t JOIN {place} b ON true
        WHERE t.geom && ST_Expand(b.geom, :margin_deg)
    """), {"place": place.wkb, "margin_deg": margin_deg(1000)}).scalar_one()
