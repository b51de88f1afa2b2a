"""The schema: in step with the models, indexed, and refusing bad geometry by itself."""

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError

from db.models import metadata
from db.partitions import include_object


def test_migrations_match_the_models(conn):
    context = MigrationContext.configure(conn, opts={"include_object": include_object})
    assert compare_metadata(context, metadata) == []


def test_every_geometry_column_has_a_gist_index(conn):
    rows = conn.execute(text("""
        SELECT c.f_table_name, c.f_geometry_column, c.srid
        FROM geometry_columns c
        WHERE c.f_table_schema = 'public'
          AND c.f_table_name IN (SELECT tablename FROM pg_tables)  -- a view uses its table's index
          AND NOT EXISTS (
            SELECT 1 FROM pg_indexes i
            WHERE i.tablename = c.f_table_name AND i.indexdef ILIKE '%USING gist%'
              AND i.indexdef LIKE '%' || c.f_geometry_column || '%')
    """)).all()
    assert rows == []
    srids = conn.execute(text("SELECT DISTINCT srid FROM geometry_columns WHERE f_table_schema = 'public'"))
    assert [r[0] for r in srids] == [4326]


def _insert_building(conn, wkt: str, srid: int = 4326) -> None:
    conn.execute(text("INSERT INTO building (geom) VALUES (ST_GeomFromText(:w, :s))"), {"w": wkt, "s": srid})


def test_a_self_intersecting_footprint_is_refused(conn):
    with pytest.raises(IntegrityError, match="ck_building_geom_valid"):
        _insert_building(conn, "MULTIPOLYGON(((0 0, 1 1, 1 0, 0 1, 0 0)))")


@pytest.mark.parametrize(
    ("wkt", "srid"),
    [("POINT(24.94 60.17)", 4326), ("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)))", 3857)],
    ids=["wrong type", "wrong srid"],
)
def test_wrong_type_or_srid_is_refused(conn, wkt, srid):
    with pytest.raises(DataError, match="does not match column"):
        _insert_building(conn, wkt, srid)


def test_focus_area_takes_lines_and_polygons_only(conn):
    conn.execute(text("INSERT INTO focus_area (kind, geom) VALUES "
                      "('footpath', ST_GeomFromText('LINESTRING(0 0, 1 1)', 4326))"))
    with pytest.raises(IntegrityError, match="ck_focus_area_geom_type"):
        conn.execute(text("INSERT INTO focus_area (kind, geom) VALUES "
                          "('car_park', ST_GeomFromText('POINT(0 0)', 4326))"))


def test_an_inspection_has_exactly_one_subject(conn):
    with pytest.raises(IntegrityError, match="ck_inspection_one_subject"):
        conn.execute(text("INSERT INTO inspection (inspected_on, passed) VALUES ('2026-01-01', true)"))


def test_the_audit_log_cannot_be_rewritten(conn):
    conn.execute(text("INSERT INTO audit_log (action, record_table, record_id) VALUES ('read', 'resident', 1)"))
    with pytest.raises(ProgrammingError, match="append-only"):
        conn.execute(text("UPDATE audit_log SET record_id = 2"))


def test_postgis_and_pgrouting_are_enabled(conn):
    names = {r[0] for r in conn.execute(text("SELECT extname FROM pg_extension"))}
    assert {"postgis", "pgrouting"} <= names


def test_one_identity_number_is_one_resident(conn):
    conn.execute(text("INSERT INTO building (id, geom) VALUES (1, ST_Multi(ST_Buffer(ST_MakePoint(0, 0)::geometry, 1)))"))
    conn.execute(text("INSERT INTO household (id, building_id, geom) VALUES (1, 1, ST_MakePoint(0, 0))"))
    add = "INSERT INTO resident (household_id, name, category, birth_year, id_hash) VALUES (1, 'A', 'permanent', 1980, {})"
    conn.execute(text(add.format("NULL")))
    conn.execute(text(add.format("NULL")))  # no number: any number of them
    conn.execute(text(add.format("'\\x01'::bytea")))
    with pytest.raises(IntegrityError, match="uq_resident_id_hash"):
        conn.execute(text(add.format("'\\x01'::bytea")))


@pytest.mark.parametrize(("status", "closed_on", "constraint"), [
    ("mediating", "2026-02-01", "ck_dispute_closed_when_done"),
    ("resolved", "2025-12-31", "ck_dispute_closed_after_report"),
])
def test_a_dispute_is_closed_only_when_done_and_not_before_it_was_reported(conn, status, closed_on, constraint):
    add = ("INSERT INTO dispute (category, parties_kind, reported_by, reported_on, status, closed_on, geom) "
           "VALUES ('noise', 'neighbours', 'patrol', '2026-01-01', :status, :closed_on, ST_MakePoint(0, 0))")
    conn.execute(text(add), {"status": "resolved", "closed_on": "2026-01-01"})
    conn.execute(text(add), {"status": "resolved", "closed_on": None})  # closed before the day was kept
    with pytest.raises(IntegrityError, match=constraint):
        conn.execute(text(add), {"status": status, "closed_on": closed_on})


def test_0003_dates_closed_disputes_from_their_history_and_refuses_shared_numbers(database_at):
    from db.migrate import upgrade

    url, engine = database_at("0002")
    with engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO area (name, metric_srid, timezone, geom) VALUES ('t', 32635, 'Europe/Helsinki',
                ST_Multi(ST_MakeEnvelope(24, 60, 25, 61, 4326)));
            INSERT INTO dispute (id, category, parties_kind, reported_by, reported_on, status, referred_to, geom)
            VALUES (1, 'noise', 'neighbours', 'patrol', '2026-01-01', 'resolved', NULL, ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326)),
                   (2, 'noise', 'neighbours', 'patrol', '2026-01-01', 'referred', 'judicial_office', ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326)),
                   (3, 'noise', 'neighbours', 'patrol', '2026-01-01', 'mediating', NULL, ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326));
            -- 22:30 UTC on 3 March is 00:30 on 4 March in Helsinki.
            INSERT INTO change_log (record_table, record_id, changed_at, reason, changes) VALUES
                ('dispute', 1, '2026-02-01 10:00+00', 'talks', '{"status": ["reported", "mediating"]}'),
                ('dispute', 1, '2026-03-03 22:30+00', 'agreed', '{"status": ["mediating", "resolved"]}'),
                ('dispute', 3, '2026-02-01 10:00+00', 'talks', '{"status": ["reported", "mediating"]}');
            INSERT INTO building (id, geom) VALUES (1, ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326), 0.001)));
            INSERT INTO household (id, building_id, geom) VALUES (1, 1, ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326));
            INSERT INTO resident (household_id, name, category, birth_year, id_hash) VALUES
                (1, 'A', 'permanent', 1980, '\\x01'), (1, 'B', 'permanent', 1981, '\\x01');
        """))
    with pytest.raises(DBAPIError, match="1 identity numbers are registered to more than one resident"):
        upgrade(url, "0003")
    with engine.begin() as conn:
        conn.execute(text("UPDATE resident SET id_hash = NULL WHERE name = 'B'"))
    upgrade(url, "0003")
    with engine.connect() as conn:
        closed = conn.execute(text("SELECT id, closed_on FROM dispute ORDER BY id")).all()
    # Dispute 2 was referred with no history to say when: the day is not known.
    assert [tuple(r) for r in closed] == [(1, date(2026, 3, 4)), (2, None), (3, None)]


def test_0007_refuses_a_camera_that_sees_farther_than_500_m_and_then_any_new_one(database_at):
    from db.migrate import upgrade

    url, engine = database_at("0006")
    add = "INSERT INTO camera (range_m, geom) VALUES ({}, ST_SetSRID(ST_MakePoint(24.9, 60.2), 4326))"
    with engine.begin() as conn:
        conn.execute(text(add.format(800)))
    with pytest.raises(DBAPIError, match="1 cameras have a range_m over 500 m"):
        upgrade(url, "0007")
    with engine.begin() as conn:
        conn.execute(text("UPDATE camera SET range_m = 500"))
    upgrade(url, "0007")
    with engine.begin() as conn, pytest.raises(IntegrityError, match="ck_camera_range_at_most_500"):
        conn.execute(text(add.format(500.5)))
