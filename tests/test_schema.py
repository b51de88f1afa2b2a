"""The schema: in step with the models, indexed, and refusing bad geometry by itself."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, ProgrammingError

from db.models import metadata


def test_migrations_match_the_models(conn):
    context = MigrationContext.configure(conn, opts={"include_object": alembic_helpers.include_object})
    assert compare_metadata(context, metadata) == []


def test_every_geometry_column_has_a_gist_index(conn):
    rows = conn.execute(text("""
        SELECT c.f_table_name, c.f_geometry_column, c.srid
        FROM geometry_columns c
        WHERE c.f_table_schema = 'public' AND NOT EXISTS (
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
