"""Load a generated dataset into PostGIS: replace every data table in one transaction.

Users, their audit trail and the change log survive a load; everything else (the
beat, its people, events and patrols) is replaced, so loading twice leaves one copy.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

import pandas as pd
import psycopg
from psycopg import sql
from tqdm import tqdm

from beatbook.generate import DATA_TABLES, NOT_DATA
from db.bulk import copy_frame, sync_id_sequences
from db.models import metadata


def load_dataset(
    conninfo_or_conn: str | psycopg.Connection,
    frames: Mapping[str, pd.DataFrame],
    *,
    progress: bool = True,
) -> dict[str, int]:
    """Replace the data tables with ``frames`` (table -> frame, ids set); return rows per table.

    One transaction: on any error nothing changes. Data tables missing from
    ``frames`` are emptied too. Accounts linked to an officer or station lose the
    link (those rows are replaced); re-linking them is the caller's business.
    Progress bars (tqdm, on stderr) count rows per table.
    """
    unknown = set(frames) - set(DATA_TABLES)
    if unknown:
        raise ValueError(f"not data tables: {sorted(unknown)}")
    if isinstance(conninfo_or_conn, psycopg.Connection):
        return _load(conninfo_or_conn, frames, progress)
    with psycopg.connect(conninfo_or_conn) as conn:
        return _load(conn, frames, progress)


def _load(
    conn: psycopg.Connection, frames: Mapping[str, pd.DataFrame], progress: bool
) -> dict[str, int]:
    counts = {}
    with conn.transaction():
        _empty_data_tables(conn)
        for table in (t for t in DATA_TABLES if t in frames):
            # a plain frame: copy_frame swaps the geometries for EWKB text in its copy
            frame = pd.DataFrame(frames[table])
            with tqdm(
                total=len(frame), desc=table, unit="rows", file=sys.stderr, disable=not progress
            ) as bar:
                counts[table] = copy_frame(conn, table, frame, progress=bar.update)
        sync_id_sequences(conn, [t for t in DATA_TABLES if "id" in metadata.tables[t].columns])
    return counts


def _empty_data_tables(conn: psycopg.Connection) -> None:
    """TRUNCATE the data tables, except those the kept tables point at, which are DELETEd.

    ``TRUNCATE ... CASCADE`` would follow app_user's foreign keys to officer and
    station and empty app_user (and the logs that point at it), so instead those
    links are set to NULL and the referenced tables emptied row by row (they are small).
    """
    links = [
        (name, fk.parent.name, fk.column.table.name)
        for name in NOT_DATA
        for fk in metadata.tables[name].foreign_keys
        if fk.column.table.name in DATA_TABLES
    ]
    for table, column, _ in links:
        conn.execute(
            sql.SQL("UPDATE {} SET {} = NULL WHERE {} IS NOT NULL").format(
                sql.Identifier(table), sql.Identifier(column), sql.Identifier(column)
            )
        )
    referenced = {target for _, _, target in links}
    truncated = [t for t in DATA_TABLES if t not in referenced]
    conn.execute(
        sql.SQL("TRUNCATE {} RESTART IDENTITY").format(
            sql.SQL(", ").join(map(sql.Identifier, truncated))
        )
    )
    for table in reversed([t for t in DATA_TABLES if t in referenced]):
        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
