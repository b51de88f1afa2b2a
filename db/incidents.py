"""The SQL that feeds the incident analyses: a place's incidents, filtered by time and type."""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
import shapely
from sqlalchemy import Connection

from db.analysis import Place, place_frame, place_sql
from db.bulk import aggregated_floats
from geo.crs import to_metric
from geo.tiling import Box, time_chunks
from geo.windows import DailyWindow


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents count: a time range, and optionally types, hours of day and weekdays.

    Hours and weekdays are in the area's local time; ``weekdays`` are ISO numbers
    (1 Monday to 7 Sunday).
    """

    since: datetime
    until: datetime
    types: tuple[str, ...] = ()
    hours: DailyWindow | None = None
    weekdays: tuple[int, ...] = ()

    def in_chunks(self, days: int) -> list[IncidentFilter]:
        """This filter cut into time chunks of ``days`` days: each incident is in exactly one."""
        return [replace(self, since=c.start or self.since, until=c.end or self.until)
                for c in time_chunks(self.since, self.until, days)]

    def params(self, place: Place) -> dict:
        hours = self.hours
        return {"place": place.wkb, "tz": place.tz, "since": self.since, "until": self.until,
                "types": list(self.types) or None, "weekdays": list(self.weekdays) or None,
                "hours_start": hours.start_s if hours else None,
                "hours_length": hours.length_s if hours else None}


# In psycopg's placeholders. Each column comes as one bytea of big-endian float8s: one row
# crosses the wire instead of a million. The place is matched by bounding box here, which
# its index answers, and exactly in numpy, which is twice as fast as ST_Intersects per row.
# A window of hours is tested as in DailyWindow: seconds since its start, modulo a day,
# less than its length.
_POSITIONS = "string_agg(float8send(ST_X(i.geom)), ''), string_agg(float8send(ST_Y(i.geom)), '')"
_TIMES = "string_agg(float8send(date_part('epoch', i.occurred_at)), '')"
_FILTERED = """
    FROM incident i
    WHERE i.geom && ST_GeomFromWKB(%(place)s, 4326)
      AND i.occurred_at >= %(since)s AND i.occurred_at < %(until)s
      AND (CAST(%(types)s AS text[]) IS NULL OR i.type = ANY(CAST(%(types)s AS text[])))
      AND (CAST(%(weekdays)s AS int[]) IS NULL
           OR extract(isodow FROM i.occurred_at AT TIME ZONE %(tz)s)::int = ANY(CAST(%(weekdays)s AS int[])))
      AND (CAST(%(hours_start)s AS int) IS NULL
           OR mod(extract(epoch FROM (i.occurred_at AT TIME ZONE %(tz)s)::time)::int
                  - CAST(%(hours_start)s AS int) + 86400, 86400) < CAST(%(hours_length)s AS int))
"""


@dataclass(frozen=True)
class Incidents:
    """Incidents as arrays: position in the place's metric CRS and, when asked for, time."""

    x: np.ndarray
    y: np.ndarray
    t: np.ndarray | None  # epoch seconds

    def __len__(self) -> int:
        return len(self.x)

    def where(self, keep: np.ndarray) -> Incidents:
        return Incidents(self.x[keep], self.y[keep], None if self.t is None else self.t[keep])


def incidents(conn: Connection, place: Place, which: IncidentFilter, *, times: bool = False,
              box: Box | None = None) -> Incidents:
    """The incidents in the place that pass the filter, with their times if ``times``; with a
    lon/lat ``box``, only those in it: a tile of a city's."""
    columns = f"{_POSITIONS}, {_TIMES}" if times else _POSITIONS
    in_box = "" if box is None else " AND i.geom && ST_MakeEnvelope(%(west)s, %(south)s, %(east)s, %(north)s, 4326)"
    lon, lat, *t = aggregated_floats(conn.connection.driver_connection, f"SELECT {columns} {_FILTERED}{in_box}",
                                     which.params(place) | dict(zip(("west", "south", "east", "north"),
                                                                    astuple(box) if box else ())))
    polygon = shapely.from_wkb(place.wkb)
    shapely.prepare(polygon)
    inside = shapely.intersects_xy(polygon, lon, lat)  # as ST_Intersects: the boundary counts
    x, y = to_metric(lon[inside], lat[inside], place.srid)
    return Incidents(np.asarray(x), np.asarray(y), t[0][inside] if times else None)


def incidents_and_burglaries(conn: Connection, place: Place, which: IncidentFilter, *,
                             box: Box | None = None) -> tuple[Incidents, Incidents]:
    """The incidents ``incidents`` gives, and the burglaries among them: what a camera's
    demand counts, a burglary once as an incident and once more for being one."""
    found = incidents(conn, place, which, box=box)
    if which.types and "burglary" not in which.types:
        return found, Incidents(np.zeros(0), np.zeros(0), None)
    return found, incidents(conn, place, replace(which, types=("burglary",)), box=box)


def beats_in(conn: Connection, place: Place) -> pd.DataFrame:
    """The beats meeting the place: code and polygon in the place's metric CRS."""
    return place_frame(conn, """
        SELECT bt.code, ST_AsBinary(ST_Transform(bt.geom, :srid)) AS wkb
        FROM beat bt JOIN {place} b ON ST_Intersects(bt.geom, b.geom)
        ORDER BY bt.code
    """, {"place": place.wkb, "srid": place.srid})



def latest_incident(conn: Connection, place: Place) -> datetime | None:
    return conn.execute(place_sql("""
        SELECT max(i.occurred_at) FROM incident i JOIN {place} b ON ST_Intersects(i.geom, b.geom)
    """), {"place": place.wkb}).scalar_one()
