"""The ``beatbook`` command against a database of its own (the CLI commits, so not the test one)."""

import geopandas as gpd
import gpxpy
import psycopg
import pytest
from alembic.script import ScriptDirectory
from typer.testing import CliRunner

from beatbook.cli import app
from beatbook.settings import get_settings
from db.migrate import alembic_config
from tests.conftest import TEST_DB, fresh_database, libpq, migrated_database
from tests.test_ingest import HELSINKI

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_db(server_url):
    return libpq(migrated_database(server_url, TEST_DB + "_cli"))


@pytest.fixture
def beatbook(cli_db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", cli_db)
    get_settings.cache_clear()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args])

    yield invoke
    get_settings.cache_clear()
    with psycopg.connect(cli_db) as conn:
        conn.execute("TRUNCATE building, camera RESTART IDENTITY CASCADE")


def test_import_then_export_round_trips(beatbook, tmp_path):
    result = beatbook("import", "cameras", HELSINKI, "--source-layer", "surveillance_cameras")
    assert result.exit_code == 0, result.output
    assert "loaded 221 rows into cameras" in result.output
    for suffix in (".gpkg", ".geojson"):
        out = tmp_path / f"cameras{suffix}"
        result = beatbook("export", "cameras", out)
        assert result.exit_code == 0, result.output
        frame = gpd.read_file(out)
        assert len(frame) == 221 and frame.crs.to_epsg() == 4326


def test_patrol_tracks_export_with_their_times(beatbook, cli_db, tmp_path):
    with psycopg.connect(cli_db) as conn:
        conn.execute("INSERT INTO officer (id, badge, name) VALUES (1, 'CLI-1', 'Export test')")
        conn.execute("""INSERT INTO patrol_track (officer_id, started_at, ended_at, n_fixes, geom)
                        VALUES (1, to_timestamp(1761940800), to_timestamp(1761940860), 2,
                                'SRID=4326;LINESTRING M (24.94 60.17 1761940800, 24.95 60.17 1761940860)')""")
    try:
        gpkg, gpx = tmp_path / "tracks.gpkg", tmp_path / "tracks.gpx"
        assert beatbook("export", "patrol_tracks", gpkg).exit_code == 0
        assert len(gpd.read_file(gpkg)) == 1
        result = beatbook("export", "patrol_tracks", gpx)
        assert result.exit_code == 0, result.output
        [track] = gpxpy.parse(gpx.read_text()).tracks
        times = [p.time.timestamp() for p in track.segments[0].points]
        assert times == [1761940800, 1761940860]
        assert beatbook("export", "cameras", tmp_path / "cameras.gpx").exit_code == 2
    finally:
        with psycopg.connect(cli_db) as conn:
            conn.execute("TRUNCATE officer RESTART IDENTITY CASCADE")


def test_a_refused_import_prints_the_rows_and_exits_1(beatbook):
    result = beatbook("import", "buildings", HELSINKI, "--source-layer", "buildings")
    assert result.exit_code == 1
    assert "12 of 486 rows cannot be loaded" in result.output
    assert "row 29: invalid geometry: Self-intersection" in result.output
    assert "--repair" in result.output
    repaired = beatbook("import", "buildings", HELSINKI, "--source-layer", "buildings", "--repair")
    assert "9 geometries repaired, 3 degenerate rows dropped" in repaired.output


def test_bad_options_are_explained(beatbook, tmp_path):
    assert "FIELD=VALUE" in beatbook("import", "incidents", HELSINKI, "--set", "type").output
    assert "must end in" in beatbook("export", "cameras", tmp_path / "x.shp").output
    assert "unknown layer" in beatbook("export", "spaceships", tmp_path / "x.gpkg").output


def test_db_up_with_database_url_starts_nothing(beatbook, cli_db):
    result = beatbook("db", "up")
    assert result.exit_code == 0 and "nothing to start" in result.output


def test_backup_and_restore_round_trip_the_whole_database(beatbook, server_url, tmp_path, monkeypatch):
    assert beatbook("import", "cameras", HELSINKI, "--source-layer", "surveillance_cameras").exit_code == 0
    dump = tmp_path / "beatbook.dump"
    result = beatbook("backup", dump)
    assert result.exit_code == 0, result.output
    assert dump.stat().st_size > 0
    # Not over live records: the database the backup came from holds tables.
    refused = beatbook("restore", dump)
    assert refused.exit_code == 1 and "restore into an empty database" in refused.output
    # Into an empty database: everything back, geometries and the migration's version too.
    empty = libpq(fresh_database(server_url, TEST_DB + "_restore"))
    monkeypatch.setenv("DATABASE_URL", empty)
    get_settings.cache_clear()
    result = runner.invoke(app, ["restore", str(dump)])
    assert result.exit_code == 0, result.output
    with psycopg.connect(empty) as restored:
        cameras = restored.execute("SELECT count(*), min(ST_X(geom)) FROM camera").fetchone()
        version = restored.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        policies = restored.execute("SELECT count(*) FROM pg_policies").fetchone()[0]
    assert cameras[0] == 221 and cameras[1] is not None
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert policies > 0  # the row-level security came back with the tables
    # A broken file restores nothing, and says so.
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a dump")
    again = libpq(fresh_database(server_url, TEST_DB + "_restore"))
    monkeypatch.setenv("DATABASE_URL", again)
    get_settings.cache_clear()
    result = runner.invoke(app, ["restore", str(broken)])
    assert result.exit_code == 1 and "nothing was restored" in result.output
