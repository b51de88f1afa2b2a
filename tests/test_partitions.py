"""GPS fixes and incidents split by month (migration 0006): the months made as rows arrive, by
every path and role that writes them, a window of time read from its months alone, old months
dropped whole by the retention, and the migration undone and done again without losing a row."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from beatbook.ingest import import_file
from db import access
from db.bulk import copy_frame
from db.generation import data_generation
from db.partitions import ensure_range, months_before, prune
from tests.metres import area, lonlat
from tests.test_cli import beatbook, cli_db  # noqa: F401  (fixtures of the CLI's own database)

HERE = lonlat(0, 0)


def partitions(conn, table: str) -> list[str]:
    return conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass) ORDER BY 1"), {"t": table}).scalars().all()


def rows_per_partition(conn, table: str) -> dict[str, int]:
    return dict(conn.execute(text(f"SELECT tableoid::regclass::text, count(*) FROM {table} GROUP BY 1")).all())


def fixes(officer: int, start: str, days: float, n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` fixes of one officer in time order over ``days`` from ``start``, scattered over
    some 2 km of central Helsinki."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.uniform(0, days * 86400, n))
    return pd.DataFrame({
        "officer_id": officer,
        "recorded_at": pd.Timestamp(start, tz="UTC") + pd.to_timedelta(offsets, unit="s"),
        "accuracy_m": 5.0,
        "geom": shapely.points(HERE["lon"] + rng.uniform(0, 0.03, n), HERE["lat"] + rng.uniform(0, 0.02, n)),
    })


@pytest.fixture
def officer(conn) -> int:
    return conn.execute(text("INSERT INTO officer (badge, name) VALUES ('M-1', 'Month') RETURNING id")).scalar_one()


# --- the months are there before the rows ---------------------------------------------------


def test_an_import_makes_the_months_its_rows_fall_in_and_no_others(conn, pg, officer, tmp_path):
    conn.execute(text(area()))
    path = tmp_path / "fixes.csv"
    times = ["2030-01-15T12:00:00+02:00", "2030-02-01T01:00:00+02:00", "2030-04-01T12:00:00+02:00"]
    path.write_text("lon,lat,time,officer\n" + "".join(f"{HERE['lon']},{HERE['lat']},{t},M-1\n" for t in times))
    assert not [p for p in partitions(conn, "gps_fix") if p.startswith("gps_fix_2030")]
    assert import_file(pg, "gps_fixes", path).rows == 3
    # UTC months: 01:00 on 1 February at UTC+2 is still January; March holds nothing.
    assert rows_per_partition(conn, "gps_fix") == {"gps_fix_2030_01": 2, "gps_fix_2030_04": 1}
    assert {"gps_fix_2030_01", "gps_fix_2030_04"} <= set(partitions(conn, "gps_fix"))
    assert "gps_fix_2030_03" not in partitions(conn, "gps_fix")


def test_a_row_of_a_month_without_its_partition_is_refused(conn, officer):
    with pytest.raises(IntegrityError, match="no partition of relation"), conn.begin_nested():
        conn.execute(text("INSERT INTO gps_fix (officer_id, recorded_at, geom) "
                          "VALUES (:o, '2031-06-01', ST_Point(24.9, 60.2, 4326))"), {"o": officer})
    conn.execute(text("SELECT beatbook_ensure_months('gps_fix', '2031-06-01', '2031-06-01')"))
    conn.execute(text("INSERT INTO gps_fix (officer_id, recorded_at, geom) "
                      "VALUES (:o, '2031-06-01', ST_Point(24.9, 60.2, 4326))"), {"o": officer})


def test_a_supervisor_imports_fixes_of_a_new_month_over_the_api(client, auth, conn, users):
    conn.execute(text(area()))
    body = f"lon,lat,time,officer\n{HERE['lon']},{HERE['lat']},2032-07-04T22:00:00Z,T-1\n"
    response = client.post("/api/layers/gps_fixes/import", headers=auth("supervisor"),
                           files={"file": ("fixes.csv", body.encode())})
    assert response.status_code == 200, response.text
    assert rows_per_partition(conn, "gps_fix") == {"gps_fix_2032_07": 1}


def test_keepers_make_months_only_through_the_function(conn, users, officer):
    access.act_as(conn, users["officer"], "officer")
    with pytest.raises(DBAPIError, match="must be owner|permission denied"), conn.begin_nested():
        conn.execute(text("CREATE TABLE gps_fix_2033_01 PARTITION OF gps_fix "
                          "FOR VALUES FROM ('2033-01-01') TO ('2033-02-01')"))
    made = conn.execute(text("SELECT beatbook_ensure_months('gps_fix', '2033-01-15', '2033-03-15')")).scalars().all()
    assert made == ["gps_fix_2033_01", "gps_fix_2033_02", "gps_fix_2033_03"]
    conn.execute(text("INSERT INTO gps_fix (officer_id, recorded_at, geom) "
                      "VALUES (:o, '2033-02-10', ST_Point(24.9, 60.2, 4326))"), {"o": officer})
    # A partition is reached through its parent only.
    with pytest.raises(DBAPIError, match="permission denied"), conn.begin_nested():
        conn.execute(text("SELECT count(*) FROM gps_fix_2033_02"))
    access.act_as(conn, users["planner"], "planner")
    with pytest.raises(DBAPIError, match="permission denied"), conn.begin_nested():
        conn.execute(text("SELECT beatbook_ensure_months('incident', '2033-01-15', '2033-01-15')"))


def test_months_are_utc_months_whatever_the_session_clock(conn):
    conn.execute(text("SET LOCAL TimeZone = 'Pacific/Kiritimati'"))  # UTC+14
    made = conn.execute(text("SELECT beatbook_ensure_months('incident', '2034-01-31 23:00Z', '2034-01-31 23:00Z')"))
    assert made.scalars().all() == ["incident_2034_01"]
    bound = conn.execute(text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'incident_2034_01'"))
    assert bound.scalar_one() == "FOR VALUES FROM ('2034-01-01 14:00:00+14') TO ('2034-02-01 14:00:00+14')"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=st.datetimes(min_value=datetime(2040, 1, 1), max_value=datetime(2045, 12, 31), timezones=st.just(UTC)),
       span=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)))
def test_ensuring_a_range_makes_exactly_the_missing_months_that_cover_it(conn, pg, first, span):
    last = first + span
    with pg.transaction(force_rollback=True):
        ensure_range(pg, "incident", datetime(2041, 6, 1, tzinfo=UTC))  # one that may already be there
        before = set(partitions(conn, "incident"))
        made = ensure_range(pg, "incident", first, last)
        months = pd.period_range(first.replace(tzinfo=None), last.replace(tzinfo=None), freq="M")
        covering = {f"incident_{m.year}_{m.month:02d}" for m in months}
        assert set(made) == covering - before and len(made) == len(set(made))
        assert set(partitions(conn, "incident")) == before | covering
        # Rows at both ends land in the months named for them.
        for at in (first, last):
            pg.execute("INSERT INTO incident (occurred_at, type, geom) VALUES (%s, 'test', ST_Point(0, 0, 4326))", [at])
        landed = pg.execute("SELECT tableoid::regclass::text FROM incident WHERE type = 'test' ORDER BY occurred_at")
        assert [name for (name,) in landed] == [f"incident_{at.year}_{at.month:02d}" for at in (first, last)]
        assert ensure_range(pg, "incident", first, last) == []


def test_two_sessions_making_one_month_take_turns_and_reads_go_on(engine):
    month = "gps_fix_2035_05"
    ensure = text("SELECT beatbook_ensure_months('gps_fix', :t, :t)")
    first, second, reader = engine.connect(), engine.connect(), engine.connect()
    try:
        first.begin()
        assert first.execute(ensure, {"t": "2035-05-09"}).scalars().all() == [month]
        answers = {}

        def make():
            answers["second"] = second.execute(ensure, {"t": "2035-05-20"}).scalars().all()

        waiting = threading.Thread(target=make)
        waiting.start()
        waiting.join(timeout=1)
        assert waiting.is_alive()  # waits for the first to commit
        # The lock the first holds lets reads and writes of the table through.
        reader.execute(text("SET lock_timeout = '2s'"))
        reader.execute(text("SELECT count(*) FROM gps_fix"))
        first.commit()
        waiting.join(timeout=10)
        assert answers["second"] == []  # found made, not made twice
        second.commit()
    finally:
        for connection in (first, second, reader):
            connection.close()
        with engine.begin() as cleanup:
            cleanup.execute(text(f"DROP TABLE IF EXISTS {month}"))


# --- a window reads its months alone -------------------------------------------------------


def plan_of(conn, query: str) -> tuple[set[str], set[str]]:
    """The tables a query's plan reads, and the access methods of the indexes it uses."""
    plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {query}")).scalar_one()
    tables, indexes = set(), set()

    def walk(node):
        tables.update([node["Relation Name"]] if "Relation Name" in node else [])
        indexes.update([node["Index Name"]] if "Index Name" in node else [])
        for child in node.get("Plans", []):
            walk(child)

    walk((plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"])
    methods = set(conn.execute(text(
        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.relname = ANY(:names)"),
        {"names": list(indexes)}).scalars()) if indexes else set()
    return tables, methods


WEEK = "recorded_at >= '2036-02-08' AND recorded_at < '2036-02-15'"
CORNER = (f"geom && ST_MakeEnvelope({HERE['lon'] + 0.01}, {HERE['lat'] + 0.01}, "
          f"{HERE['lon'] + 0.012}, {HERE['lat'] + 0.011}, 4326)")


@pytest.fixture
def three_months(conn, pg, officer):
    """60,000 fixes from January to March 2036, in time order as fixes arrive; analysed."""
    copy_frame(pg, "gps_fix", fixes(officer, "2036-01-01", 90, 60_000))
    conn.execute(text("ANALYZE gps_fix"))


def test_a_week_of_fixes_is_read_from_its_month_alone_by_its_brin_index(conn, three_months):
    assert plan_of(conn, f"SELECT count(*) FROM gps_fix WHERE {WEEK}") == ({"gps_fix_2036_02"}, {"brin"})


def test_a_week_of_fixes_in_a_corner_adds_the_gist_index(conn, three_months):
    assert plan_of(conn, f"SELECT count(*) FROM gps_fix WHERE {WEEK} AND {CORNER}") == (
        {"gps_fix_2036_02"}, {"brin", "gist"})


def test_a_week_across_the_turn_of_a_month_reads_both_months(conn, three_months):
    tables, _ = plan_of(conn, "SELECT count(*) FROM gps_fix "
                              "WHERE recorded_at >= '2036-01-29' AND recorded_at < '2036-02-05'")
    assert tables == {"gps_fix_2036_01", "gps_fix_2036_02"}


def test_a_week_of_incidents_is_read_from_its_month_alone(conn):
    conn.execute(text("""
        SELECT beatbook_ensure_months('incident', '2036-01-01', '2036-03-31');
        INSERT INTO incident (occurred_at, type, geom)
        SELECT timestamptz '2036-01-01' + n * interval '1 hour', 'burglary', ST_Point(24.9, 60.2, 4326)
        FROM generate_series(0, 2000) n;
        ANALYZE incident;
    """))
    tables, _ = plan_of(conn, "SELECT count(*) FROM incident "
                              "WHERE occurred_at >= '2036-02-08' AND occurred_at < '2036-02-15'")
    assert tables == {"incident_2036_02"}


# --- retention -----------------------------------------------------------------------------


NOW = datetime(2037, 11, 15, 12, tzinfo=UTC)


@pytest.fixture
def june_to_december(conn, pg, officer):
    """100 fixes in each month from June to December 2037 (December is the next month)."""
    for month in range(6, 13):
        copy_frame(pg, "gps_fix", fixes(officer, f"2037-{month:02d}-03", 20, 100, seed=month))


def test_prune_drops_whole_months_older_than_the_retention_and_never_the_current_one(conn, pg, june_to_december):
    total = conn.execute(text("SELECT count(*) FROM gps_fix")).scalar_one()
    assert total == 700
    planned = months_before(pg, "gps_fix", 3, NOW)
    # (and any month the tests' database was made with: they are all older)
    assert [(m.year, m.month, m.rows) for m in planned if m.year == 2037] == [(2037, 6, 100), (2037, 7, 100)]
    assert conn.execute(text("SELECT count(*) FROM gps_fix")).scalar_one() == total  # a dry run drops nothing
    before = data_generation(conn)
    assert prune(pg, "gps_fix", 3, NOW) == planned
    assert data_generation(conn) > before  # kept answers learn the rows are gone
    assert [p for p in partitions(conn, "gps_fix") if p.startswith("gps_fix_2037")] == [
        "gps_fix_2037_08", "gps_fix_2037_09", "gps_fix_2037_10", "gps_fix_2037_11", "gps_fix_2037_12"]
    assert conn.execute(text("SELECT count(*) FROM gps_fix")).scalar_one() == total - 200
    assert prune(pg, "gps_fix", 3, NOW) == []
    # The shortest retention keeps last month and this one, and the next.
    assert [m.month for m in prune(pg, "gps_fix", 1, NOW)] == [8, 9]
    assert {"gps_fix_2037_10", "gps_fix_2037_11", "gps_fix_2037_12"} <= set(partitions(conn, "gps_fix"))
    with pytest.raises(ValueError, match="at least one month"):
        prune(pg, "gps_fix", 0, NOW)


def test_the_prune_command_says_what_it_drops_and_drops_it(beatbook, cli_db, monkeypatch):  # noqa: F811
    with psycopg.connect(cli_db) as conn:
        officer = conn.execute("INSERT INTO officer (badge, name) VALUES ('PR-1', 'Prune') RETURNING id").fetchone()[0]
        copy_frame(conn, "gps_fix", fixes(officer, "2020-01-05", 50, 30))
        copy_frame(conn, "incident", pd.DataFrame({"occurred_at": [pd.Timestamp("2020-03-01", tz="UTC")],
                                                   "type": ["burglary"], "geom": [shapely.Point(24.9, 60.2)]}))
    try:
        monkeypatch.setenv("BEATBOOK_GPS_FIX_RETENTION_MONTHS", "12")
        dry = beatbook("prune", "--dry-run")
        assert dry.exit_code == 0, dry.output
        assert "gps_fix: would drop 2 month(s), 30 rows, older than 12 month(s)" in dry.output
        assert "2020-01 (" in dry.output and "2020-02 (" in dry.output
        assert "incident: kept whole (no retention set)" in dry.output
        with psycopg.connect(cli_db) as conn:
            assert conn.execute("SELECT count(*) FROM gps_fix").fetchone()[0] == 30
        done = beatbook("prune")
        assert done.exit_code == 0, done.output
        assert "gps_fix: dropped 2 month(s), 30 rows" in done.output
        with psycopg.connect(cli_db) as conn:
            assert conn.execute("SELECT count(*) FROM gps_fix").fetchone()[0] == 0
            assert conn.execute("SELECT to_regclass('gps_fix_2020_01')").fetchone()[0] is None
            assert conn.execute("SELECT count(*) FROM incident").fetchone()[0] == 1
    finally:
        with psycopg.connect(cli_db) as conn:
            conn.execute("TRUNCATE incident, gps_fix")
            conn.execute("DELETE FROM officer WHERE badge = 'PR-1'")


# --- the migration, down and up again ------------------------------------------------------


# What a table is besides its rows, as the catalog says; psql's \d+ and \dp show the same.
SHAPE = """
    SELECT json_build_object(
        'kind', c.relkind,
        'key', (SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = c.oid AND contype = 'p'),
        'constraints', (SELECT json_agg(conname || ' ' || pg_get_constraintdef(oid) ORDER BY conname)
                        FROM pg_constraint WHERE conrelid = c.oid AND contype <> 'p'),
        'indexes', (SELECT json_agg(replace(pg_get_indexdef(indexrelid), ' ON ONLY ', ' ON ')
                                    ORDER BY indexrelid::regclass::text)
                    FROM pg_index WHERE indrelid = c.oid AND NOT indisprimary),
        'triggers', (SELECT json_agg(pg_get_triggerdef(oid) ORDER BY tgname)
                     FROM pg_trigger WHERE tgrelid = c.oid AND NOT tgisinternal),
        'grants', c.relacl::text,
        'column grants', (SELECT json_agg(attname || ' ' || attacl::text ORDER BY attnum)
                          FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL),
        'row security', c.relrowsecurity,
        'policies', (SELECT json_agg(polname ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid),
        'columns', (SELECT json_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' '
                                    || attnotnull || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
                                    ORDER BY attnum)
                    FROM pg_attribute LEFT JOIN pg_attrdef d ON d.adrelid = attrelid AND d.adnum = attnum
                    WHERE attrelid = c.oid AND attnum > 0 AND NOT attisdropped),
        'sequence', pg_get_serial_sequence(c.relname, 'id'))
    FROM pg_class c WHERE c.oid = CAST(:t AS regclass)
"""
# Every row, to the bit.
ROWS = "SELECT count(*), md5(string_agg(t::text, ',' ORDER BY id)) FROM {} t"


def snapshot(engine) -> dict:
    with engine.connect() as conn:
        return {table: (conn.execute(text(SHAPE), {"t": table}).scalar_one(),
                        tuple(conn.execute(text(ROWS.format(table))).one()))
                for table in ("gps_fix", "incident")}


@pytest.fixture
def migrated_db(database_at, demo_frames):
    """A database of its own, at 0005 and holding the demo's fixes and incidents."""
    from beatbook.generate.load import load_dataset
    from tests.conftest import libpq

    url, engine = database_at("0005")
    load_dataset(libpq(engine.url), demo_frames, progress=False)
    return url, engine


def test_the_migration_keeps_every_row_and_grant_down_and_up_again(migrated_db):
    from db.migrate import downgrade, upgrade

    url, engine = migrated_db
    plain = snapshot(engine)
    assert plain["gps_fix"][1][0] == 13_451 and plain["incident"][1][0] == 240
    upgrade(url, "0006")
    split = snapshot(engine)
    for table, column in (("gps_fix", "recorded_at"), ("incident", "occurred_at")):
        (was, rows), (now, split_rows) = plain[table], split[table]
        assert split_rows == rows
        assert (was["kind"], now["kind"]) == ("r", "p")
        assert (was["key"], now["key"]) == ("PRIMARY KEY (id)", f"PRIMARY KEY (id, {column})")
        unchanged = {"kind", "key"}
        assert {k: v for k, v in now.items() if k not in unchanged} == {
            k: v for k, v in was.items() if k not in unchanged}
    with engine.connect() as conn:
        assert partitions(conn, "gps_fix")[:2] == ["gps_fix_2026_10", "gps_fix_2026_11"]
        assert partitions(conn, "incident")[:2] == ["incident_2026_09", "incident_2026_10"]
    downgrade(url, "0005")
    assert snapshot(engine) == plain
    upgrade(url, "0006")
    assert snapshot(engine) == split
    with engine.begin() as conn:
        # The ids go on from the same sequences.
        made = conn.execute(text("INSERT INTO incident (occurred_at, type, geom) "
                                 "VALUES (now(), 'theft', ST_Point(24.9, 60.2, 4326)) RETURNING id"))
        assert made.scalar_one() > conn.execute(text("SELECT max(id) FROM incident WHERE type <> 'theft'")).scalar_one()
