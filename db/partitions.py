"""The month partitions of the GPS fixes and the incidents (migration 0006): made before their
rows arrive, and dropped whole once older than the retention.

Months are UTC months; a table's month partition is named ``{table}_YYYY_MM``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from db import generation
from db.models import metadata

MONTH_PARTITION = re.compile(r"(?P<parent>\w+)_(?P<year>\d{4})_(?P<month>\d{2})")
# The column a table is split by, if it is split (by the database's word, not a list here).
PARTITION_KEY = """
    SELECT a.attname FROM pg_partitioned_table p
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = to_regclass(%s)
"""
ENSURE_RANGE = "SELECT beatbook_ensure_months(%s, %s, %s)"
ENSURE_MONTHS = "SELECT made FROM unnest(%s::timestamptz[]) AS m, beatbook_ensure_months(%s, m, m) AS made"
PARTITIONS = """
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = to_regclass(%s) ORDER BY c.relname
"""
# Dropping a table takes its parent's strongest lock: rather than queue behind a long read
# (and make every read after it queue too), give up and say so.
PRUNE_LOCK_TIMEOUT = "10s"


def is_month_partition(name: str) -> bool:
    """Whether ``name`` is a month partition of a table the models split by month."""
    found = MONTH_PARTITION.fullmatch(name)
    parent = metadata.tables.get(found["parent"]) if found else None
    return parent is not None and bool(parent.dialect_options["postgresql"]["partition_by"])


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter of what the models describe (``db.generation``'s), without the month
    partitions: the models know their parents only, and autogenerate would drop every month."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", "")
    if reflected and is_month_partition(table):
        return False
    return generation.include_object(obj, name, type_, reflected, compare_to)


def partition_key(conn: psycopg.Connection, table: str) -> str | None:
    row = conn.execute(PARTITION_KEY, [table]).fetchone()
    return row[0] if row else None


def ensure_range(conn: psycopg.Connection, table: str, first: datetime, last: datetime | None = None) -> list[str]:
    """Make the missing partitions of ``table`` from the month of ``first`` to that of ``last``
    (or just ``first``'s), in the caller's transaction: an import that fails takes the months it
    made with it. Return the partitions made."""
    return [made for (made,) in conn.execute(ENSURE_RANGE, [table, first, last or first]).fetchall()]


def ensure_months_of(conn: psycopg.Connection, table: str, frame: pd.DataFrame) -> list[str]:
    """Make the partitions the rows of ``frame`` fall in, if ``table`` is split by month: the
    months that hold rows, not every month between the first and the last."""
    column = partition_key(conn, table)
    if column is None or column not in frame:
        return []
    times = pd.to_datetime(frame[column], utc=True).dropna()
    months = np.unique(times.dt.year.to_numpy() * 12 + times.dt.month.to_numpy() - 1)
    starts = [_month_start(int(m)) for m in months]
    return [made for (made,) in conn.execute(ENSURE_MONTHS, [starts, table]).fetchall()]


def _month_start(month: int) -> datetime:
    """The first instant of a month counted as year * 12 + month - 1."""
    return datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Month:
    """One month partition: its table, name, month and rows."""

    table: str
    partition: str
    year: int
    month: int
    rows: int

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d} ({self.rows:,} rows)"


def months_before(conn: psycopg.Connection, table: str, keep: int, now: datetime | None = None) -> list[Month]:
    """The month partitions of ``table`` more than ``keep`` (at least 1) months before the
    month of ``now`` (default: the present): what a retention of ``keep`` months drops. Every
    row younger than ``keep`` months is kept, and the current month always."""
    return _older_than(conn, table, _first_kept(keep, now))


def prune(conn: psycopg.Connection, table: str, keep: int, now: datetime | None = None) -> list[Month]:
    """Detach and drop the partitions of ``table`` that a retention of ``keep`` months lets go
    (``months_before``), in the caller's transaction; return them."""
    first_kept = _first_kept(keep, now)
    old = _older_than(conn, table, first_kept)
    if not old:
        return old
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(PRUNE_LOCK_TIMEOUT)))
    for month in old:
        conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
            sql.Identifier(table), sql.Identifier(month.partition)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(month.partition)))
    # Dropping a table fires no trigger: this DELETE, with nothing left to delete, is the
    # statement on the parent that tells the answer cache (migration 0005) the rows are gone.
    conn.execute(sql.SQL("DELETE FROM {} WHERE {} < %s").format(
        sql.Identifier(table), sql.Identifier(partition_key(conn, table))), [_month_start(first_kept)])
    return old


def _first_kept(keep: int, now: datetime | None) -> int:
    if keep < 1:
        raise ValueError(f"a retention keeps at least one month besides the current one, not {keep}")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.year * 12 + now.month - 1 - keep


def _older_than(conn: psycopg.Connection, table: str, first_kept: int) -> list[Month]:
    old = []
    for (name,) in conn.execute(PARTITIONS, [table]).fetchall():
        found = MONTH_PARTITION.fullmatch(name)
        if found and found["parent"] == table and int(found["year"]) * 12 + int(found["month"]) - 1 < first_kept:
            rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))).fetchone()[0]
            old.append(Month(table, name, int(found["year"]), int(found["month"]), rows))
    return old
