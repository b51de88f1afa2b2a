"""Patrol tracks in PostGIS: rebuilt from the raw GPS fixes, the SQL of that in one place.

The cleaning and splitting themselves are ``geo.tracks``; this module reads the fixes
in bulk, measures them in the area's metric CRS, and writes the tracks back as
LINESTRING M in EPSG:4326 with M = the fix time in epoch seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import psycopg
import shapely
from pyproj import CRS, Transformer

from beatbook.settings import get_settings
from db.bulk import copy_frame
from db.models import SRID
from geo.crs import utm_crs
from geo.tracks import CleaningReport, clean_fixes, split_tracks

# Each fix comes as one fixed-width binary record, an officer's fixes concatenated into
# one bytea: one query, no per-row Python, and numpy reads the records directly. An
# aggregate per officer (by the officer-time index) holds one officer's fixes at a time,
# where one GROUP BY over all the fixes would spill its hash table to disk.
# The fields are PostgreSQL's binary send formats (big-endian; timestamptz in
# microseconds since 2000-01-01 UTC) and the point as XDR (big-endian) WKB, always
# 21 bytes as the column's type admits only 2D points.
_FIX_RECORDS = """
    SELECT (SELECT string_agg(
                int4send(f.officer_id) || timestamptz_send(f.recorded_at)
                || ST_AsBinary(f.geom, 'XDR') || float8send(COALESCE(f.accuracy_m, 'NaN'))
                || boolsend(f.synthetic), ''::bytea)
            FROM gps_fix f WHERE f.officer_id = o.id)
    FROM officer o
    WHERE %(officers)s::int[] IS NULL OR o.id = ANY(%(officers)s::int[])
"""
_FIX_RECORD = np.dtype(
    [
        ("officer_id", ">i4"),
        ("recorded_us_since_2000", ">i8"),
        ("wkb_header", "V5"),  # byte order and geometry type
        ("lon", ">f8"),
        ("lat", ">f8"),
        ("accuracy_m", ">f8"),
        ("synthetic", "?"),
    ]
)
_POSTGRES_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in microseconds since 1970-01-01


def rebuild_tracks(
    conn: psycopg.Connection,
    *,
    max_accuracy_m: float | None = None,
    max_speed_mps: float | None = None,
    max_gap_s: float | None = None,
    officer_ids: Sequence[int] | None = None,
) -> CleaningReport:
    """Replace the patrol tracks of the given officers (of all if None) by tracks made
    afresh from their GPS fixes, and say what cleaning dropped.

    Thresholds left None are the settings' (``BEATBOOK_TRACK_*``). Tracks are derived
    data (the layer cannot be imported), so rebuilding them all leaves none that the
    fixes do not make.

    Speeds are measured in the area's metric CRS (``area.metric_srid``; without an
    area, the UTM zone of the fixes). The lines keep the fixes' own lon/lat. A track
    is synthetic when all its fixes are. Runs in the caller's transaction, which the
    caller commits (on an autocommit connection, in a transaction of its own); the
    tracks are replaced inside a savepoint, so on an error the old ones stay.
    """
    settings = get_settings()
    if max_accuracy_m is None:
        max_accuracy_m = settings.track_max_accuracy_m
    if max_speed_mps is None:
        max_speed_mps = settings.track_max_speed_mps
    if max_gap_s is None:
        max_gap_s = settings.track_max_gap_s
    fixes = read_fixes(conn, officer_ids)
    clean, report = clean_fixes(
        with_metric_xy(conn, fixes),
        max_accuracy_m=max_accuracy_m,
        max_speed_mps=max_speed_mps,
        max_gap_s=max_gap_s,
    )
    tracks = split_tracks(clean.assign(x=clean["lon"], y=clean["lat"]), max_gap_s=max_gap_s)
    with conn.transaction():
        if officer_ids is None:
            conn.execute("DELETE FROM patrol_track")
        else:
            conn.execute("DELETE FROM patrol_track WHERE officer_id = ANY(%s)", [list(officer_ids)])
        copy_frame(conn, "patrol_track", tracks)
    return report.with_tracks(tracks)


def read_fixes(conn: psycopg.Connection, officer_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """The raw fixes of the officers (all if None): officer_id, recorded_at (UTC), lon,
    lat, accuracy_m (NaN when unknown), synthetic; by officer, in no set order within."""
    officers = None if officer_ids is None else list(officer_ids)
    with conn.cursor(binary=True) as cur:
        cur.execute(_FIX_RECORDS, {"officers": officers})
        fixes = b"".join(row[0] for row in cur if row[0] is not None)  # None: no fixes
    records = np.frombuffer(fixes, dtype=_FIX_RECORD)
    return pd.DataFrame(
        {
            "officer_id": records["officer_id"].astype(np.int64),
            "recorded_at": pd.to_datetime(
                records["recorded_us_since_2000"].astype(np.int64) + _POSTGRES_EPOCH_US,
                unit="us",
                utc=True,
            ),
            "lon": records["lon"].astype(float),
            "lat": records["lat"].astype(float),
            "accuracy_m": records["accuracy_m"].astype(float),
            "synthetic": records["synthetic"].copy(),
        }
    )


def metric_crs(conn: psycopg.Connection, fixes: pd.DataFrame) -> CRS:
    """The area's metric CRS; without an area row, the UTM zone of the (non-empty) fixes."""
    row = conn.execute("SELECT metric_srid FROM area").fetchone()
    if row is not None:
        return CRS.from_epsg(row[0])
    return utm_crs([shapely.box(fixes["lon"].min(), fixes["lat"].min(),
                                fixes["lon"].max(), fixes["lat"].max())])


def with_metric_xy(conn: psycopg.Connection, fixes: pd.DataFrame) -> pd.DataFrame:
    """The fixes with x, y: their position in metres, in ``metric_crs``."""
    if fixes.empty:
        return fixes.assign(x=np.empty(0), y=np.empty(0))
    to_metric = Transformer.from_crs(SRID, metric_crs(conn, fixes), always_xy=True)
    x, y = to_metric.transform(fixes["lon"].to_numpy(), fixes["lat"].to_numpy())
    return fixes.assign(x=x, y=y)
