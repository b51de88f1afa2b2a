"""Bulk loading with COPY, the one way rows get into PostGIS in quantity, and bulk reading."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql

from db.models import SRID
from db.partitions import ensure_months_of


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
    A table split by month (migration 0006) has the months of the rows made first: it has no
    partition to take a row of a month that has none.
    """
    ensure_months_of(conn, table, frame)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, frame.columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        # A slice at a time: converted whole, the 20 million fixes of a city were several
        # copies of themselves as Python objects at once, more than 23 GB.
        for start in range(0, len(frame), chunk):
            rows = _copy_rows(frame.iloc[start : start + chunk], geometry_columns)
            for row in rows:
                copy.write_row(row)
            if progress:
                progress(len(rows))
    return len(frame)


def _copy_rows(part: pd.DataFrame, geometry_columns: Sequence[str]) -> np.ndarray:
    """The rows of ``part`` as COPY takes them: geometries as hex EWKB, NaN, NaT and None as None."""
    data = part.copy()
    for col in geometry_columns:
        if col in data:
            geoms = shapely.set_srid(np.asarray(data[col], dtype=object), SRID)
            data[col] = shapely.to_wkb(geoms, hex=True, include_srid=True)
    return data.astype(object).where(pd.notna(data), None).to_numpy()


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


def aggregated_floats(conn: psycopg.Connection, query: str, params: dict) -> list[np.ndarray]:
    """The columns of the one row of ``query`` as float arrays, each column being an aggregate
    ``string_agg(float8send(value), '')`` (NULL when no row matched: an empty array).

    A million values arrive in a fraction of a second, where fetching them as rows, even by
    binary COPY, costs a Python step per row. ``query`` uses psycopg's ``%(name)s`` placeholders.
    """
    row = conn.execute(query, params, binary=True).fetchone()
    return [np.frombuffer(column or b"", dtype=">f8").astype(float) for column in row]
