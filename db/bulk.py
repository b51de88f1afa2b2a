"""Bulk loading with COPY: the one way rows get into PostGIS in quantity."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from db.models import SRID


def copy_frame(
    conn: psycopg.Connection,
    table: str,
    frame: pd.DataFrame,
    *,
    geometry_columns: Sequence[str] = ("geom",),
    progress: Callable[[int], None] | None = None,
    chunk: int = 10_000,
) -> int:
    """COPY the columns of ``frame`` into ``table``; geometries go as hex EWKB in EPSG:4326.

    Runs inside the caller's transaction, so a failure leaves nothing behind.
    NaN, NaT and None become NULL. Returns the number of rows written.
    """
    columns = list(frame.columns)
    data = frame.copy()
    for col in geometry_columns:
        if col in data:
            geoms = shapely.set_srid(np.asarray(data[col], dtype=object), SRID)
            data[col] = shapely.to_wkb(geoms, hex=True, include_srid=True)
    values = data.astype(object).where(pd.notna(data), None).to_numpy()
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(values), chunk):
            for row in values[start : start + chunk]:
                copy.write_row(row)
            if progress:
                progress(min(chunk, len(values) - start))
    return len(values)


def sync_id_sequences(conn: psycopg.Connection, tables: Iterable[str]) -> None:
    """Move each table's id sequence past rows that were loaded with explicit ids."""
    for table in tables:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence(%(t)s, 'id'), "
                "COALESCE((SELECT max(id) FROM {}), 0) + 1, false)"
            ).format(sql.Identifier(table)),
            {"t": table},
        )


def copy_out_floats(conn: psycopg.Connection, query: str, params: dict, columns: int) -> np.ndarray:
    """The rows of ``query``, whose ``columns`` columns are all float8 and never NULL, as an
    (n, columns) array, read by binary COPY.

    A million rows arrive in a fraction of a second, where fetching them as rows takes
    seconds. ``query`` uses psycopg's ``%(name)s`` placeholders.
    """
    data = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT BINARY)", params) as copy:
        # A chunk per row: appending is fast where joining a million memoryviews is not.
        for chunk in copy:
            data += chunk
    # The binary COPY format: a signature of 11 bytes, flags, a header extension of the
    # length given, then per row the field count and per field its length and value,
    # and a two-byte trailer.
    start = 19 + int.from_bytes(data[15:19], "big")
    row = np.dtype([("fields", ">i2")] + [item for k in range(columns)
                                          for item in ((f"length{k}", ">i4"), (f"value{k}", ">f8"))])
    rows = np.frombuffer(data, dtype=row, offset=start, count=(len(data) - start - 2) // row.itemsize)
    return np.column_stack([rows[f"value{k}"].astype(float) for k in range(columns)]).reshape(-1, columns)
