"""Time generating and loading a synthetic district, and COPY against row-by-row INSERT.

    python bench/synth_load.py --buildings 100000

Works in a scratch database, ``beatbook_bench``, on the server of the configured
database (the embedded cluster unless DATABASE_URL is set): it is created and
migrated when missing, and its data tables are replaced on every run.
"""

from __future__ import annotations

import argparse
import time
from datetime import date

import numpy as np
import pandas as pd
import psycopg
import shapely
from psycopg import sql
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from beatbook import cluster
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import Settings, get_settings
from db.bulk import copy_frame
from db.migrate import upgrade
from db.models import SRID

BENCH_DB = "beatbook_bench"


def bench_database(settings: Settings, name: str = BENCH_DB) -> str:
    """Create (if need be) and migrate the scratch database; return its libpq conninfo."""
    if settings.uses_embedded_db:
        cluster.start(settings)
    with psycopg.connect(
        make_conninfo(settings.libpq_url, dbname="postgres"), autocommit=True
    ) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgrade(
        make_url(settings.sqlalchemy_url)
        .set(database=name)
        .render_as_string(hide_password=False)
    )
    return make_conninfo(settings.libpq_url, dbname=name)


def insert_rows(frame: pd.DataFrame) -> list[tuple]:
    """The frame's rows as INSERT parameters, geometries as hex EWKB as copy_frame sends them."""
    data = frame.copy()
    data["geom"] = shapely.to_wkb(
        shapely.set_srid(np.asarray(data["geom"], dtype=object), SRID), hex=True, include_srid=True
    )
    return [tuple(row) for row in data.astype(object).where(pd.notna(data), None).to_numpy()]


def copy_versus_insert(conninfo: str, buildings: pd.DataFrame) -> dict[str, float]:
    """Rows per second writing the same buildings into a copy of the building table, three ways.

    The copy has the real table's indexes (GiST included) and constraints, and all
    three run in one rolled-back transaction, so the database is left as it was.
    """
    statement = sql.SQL("INSERT INTO bench_building ({}) VALUES ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, buildings.columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(buildings.columns)),
    )
    rows = insert_rows(buildings)
    rates = {}
    with psycopg.connect(conninfo) as conn:
        conn.execute("CREATE TEMP TABLE bench_building (LIKE building INCLUDING ALL)")
        for label, write in (
            ("COPY (copy_frame)", lambda cur: copy_frame(conn, "bench_building", buildings)),
            ("INSERT executemany", lambda cur: cur.executemany(statement, rows)),
            (
                "INSERT one execute per row",
                lambda cur: [cur.execute(statement, row) for row in rows],
            ),
        ):
            with conn.cursor() as cur:
                started = time.perf_counter()
                write(cur)
                rates[label] = len(buildings) / (time.perf_counter() - started)
            conn.execute("TRUNCATE bench_building")
        conn.rollback()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sample", type=int, default=5_000, help="building rows for COPY vs INSERT"
    )
    args = parser.parse_args()

    conninfo = bench_database(get_settings())
    started = time.perf_counter()
    frames = build_district(
        args.buildings, seed=args.seed, reference_date=date(2026, 11, 1), months=args.months
    )
    generated = time.perf_counter() - started
    started = time.perf_counter()
    counts = load_dataset(conninfo, frames, progress=False)
    loaded = time.perf_counter() - started

    total = sum(counts.values())
    print(f"district of {args.buildings:,} buildings, {args.months} month(s), seed {args.seed}")
    for table, n in counts.items():
        print(f"  {table:24s} {n:>10,}")
    print(f"  {'total rows':24s} {total:>10,}")
    print(f"generate: {generated:7.1f} s")
    print(f"load:     {loaded:7.1f} s  ({total / loaded:,.0f} rows/s, one transaction, COPY)")

    sample = pd.DataFrame(frames["building"].iloc[: args.sample])
    print(f"building table, {len(sample):,} rows:")
    for label, rate in copy_versus_insert(conninfo, sample).items():
        print(f"  {label:28s} {rate:>10,.0f} rows/s")


if __name__ == "__main__":
    main()
