"""Nothing lost, nothing half-loaded: ``beatbook import`` killed (SIGKILL) in the middle of its
COPY leaves the layer as it was, and the same file imported whole afterwards loads every row.

The import runs as a process of its own against a database of this module's own (the CLI
commits, so not the per-test transaction); the test watches the COPY on the server
(``pg_stat_progress_copy``) and kills the process once rows are streaming in.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from beatbook.cli import app
from beatbook.settings import get_settings
from db.migrate import upgrade
from tests.conftest import TEST_DB, fresh_database, libpq

ROWS = 40_000
# Far longer than the import takes before its COPY starts (a few seconds).
START_TIMEOUT_S = 60


@pytest.fixture(scope="module")
def kill_db(server_url) -> str:
    url = fresh_database(server_url, TEST_DB + "_kill")
    upgrade(url.render_as_string(hide_password=False))
    return libpq(url)


@pytest.fixture(scope="module")
def buildings_file(tmp_path_factory) -> Path:
    """40,000 small squares on a grid in Helsinki, as GeoJSON."""
    features = []
    for i in range(ROWS):
        lon, lat = 24.9 + (i % 200) * 0.0003, 60.15 + (i // 200) * 0.0002
        ring = [[lon, lat], [lon + 0.0001, lat], [lon + 0.0001, lat + 0.0001], [lon, lat + 0.0001], [lon, lat]]
        features.append({"type": "Feature", "properties": {"address": f"Grid {i}"},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    path = tmp_path_factory.mktemp("kill") / "grid.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def rows_copied(conn: psycopg.Connection) -> int | None:
    """Rows a COPY into building has taken so far, uncommitted; None while none is running."""
    row = conn.execute("SELECT tuples_processed FROM pg_stat_progress_copy "
                       "WHERE relid = 'building'::regclass").fetchone()
    return row[0] if row else None


def count(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM building").fetchone()[0]


def test_an_import_killed_mid_copy_leaves_nothing_and_a_whole_one_everything(
        kill_db, buildings_file, tmp_path, monkeypatch):
    command = shutil.which("beatbook", path=str(Path(sys.executable).parent))
    assert command, "the beatbook command is not installed beside this Python"
    with psycopg.connect(kill_db, autocommit=True) as conn:
        conn.execute("INSERT INTO building (address, geom) VALUES ('Already here', "
                     "ST_Multi(ST_MakeEnvelope(24.89, 60.14, 24.8901, 60.1401, 4326)))")
        with (tmp_path / "stderr").open("w") as stderr:
            process = subprocess.Popen([command, "import", "buildings", str(buildings_file)],
                                       env={**os.environ, "DATABASE_URL": kill_db},
                                       stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                deadline = time.monotonic() + START_TIMEOUT_S
                while not (copied := rows_copied(conn)):
                    assert process.poll() is None, (tmp_path / "stderr").read_text()
                    assert time.monotonic() < deadline, "the COPY never started"
                    time.sleep(0.01)
                process.send_signal(signal.SIGKILL)
            finally:
                process.kill()
                process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        assert 0 < copied < ROWS  # killed half-way, not before or after its COPY
        assert count(conn) == 1

    monkeypatch.setenv("DATABASE_URL", kill_db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["import", "buildings", str(buildings_file)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"loaded {ROWS} rows into buildings" in result.output
    with psycopg.connect(kill_db) as conn:
        assert count(conn) == ROWS + 1
