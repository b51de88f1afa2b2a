"""The city coverage on Dask, read tile by tile from PostGIS, gives exactly the one-run answer:
on the demo area and on a synthetic district, in worker threads and in worker processes.

The workers read the database on connections of their own, so the data are committed, in a
database of this module's (the tests' own roll back).
"""

from datetime import timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from typer.testing import CliRunner

from beatbook.city_coverage import CoverageJob, run_in_one, run_on_dask, write_coverage
from beatbook.cli import app
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.patrols import rebuild_tracks
from geo.patrol_gaps import Nights, night_pieces, patrol_gaps
from geo.tiled_coverage import plan_tiles
from geo.tiling import time_chunks
from geo.windows import DailyWindow
from tests.conftest import TEST_DB, libpq, migrated_database
from tests.test_tiling import assert_same

RADIUS_M = 30.0
# Tiles and chunks small enough to cut each place into many: (tile metres, chunk days).
CUTS = {"demo": (500.0, 7), "district": (600.0, 7)}


@pytest.fixture(scope="module")
def dask_db(server_url):
    return migrated_database(server_url, TEST_DB + "_dask")


@pytest.fixture(scope="module", params=["demo", "district"])
def city(request, dask_db, demo_frames):
    """A place loaded and committed, and the job of its last 28 nights."""
    frames = demo_frames if request.param == "demo" else \
        build_district(3000, fixes_per_building_month=10, officers_per_beat=4)
    load_dataset(libpq(dask_db), frames, progress=False)
    with psycopg.connect(libpq(dask_db)) as conn, conn.transaction():
        rebuild_tracks(conn)
    url = dask_db.render_as_string(hide_password=False)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        last = (queries.last_patrol_night_end(conn, area) - timedelta(hours=12)).date()
    job = CoverageJob(url, area, Nights(DailyWindow.parse("22:00-06:00"), last - timedelta(days=27), last, area.tz),
                      RADIUS_M)
    return request.param, job, run_in_one(job)


def test_two_dask_workers_give_exactly_the_one_run_answer(city, dask_threads):
    name, job, one = city
    tile_m, chunk_days = CUTS[name]
    # The cut is a real one: many tiles, several chunks, streets both covered and not.
    assert len(plan_tiles(*job.anchors(), tile_m)) >= 6 and len(time_chunks(*job.period, chunk_days)) >= 5
    assert 0 < one.streets["covered_m"].sum() < one.streets["length_m"].sum() and len(one.gaps)
    assert 0 < (one.entrances["passes"] > 0).sum() < len(one.entrances)
    assert 0 < (one.focus_areas["passes"] > 0).sum() and (one.focus_areas["covered_m"] > 0).any()
    assert_same(run_on_dask(dask_threads, job, tile_m=tile_m, chunk_days=chunk_days, progress=False), one)


def test_the_one_run_answer_is_the_patrol_gaps_answer(city):
    """What the tiles are held to is the beat analysis of the API, run on the whole area."""
    _, job, one = city
    since, until = job.period
    with get_engine(job.url).connect() as conn:
        streets = queries.streets(conn, job.place)
        doors = queries.entrances(conn, job.place)
        focus = queries.focus_areas(conn, job.place).drop(columns="geojson")
        pieces = night_pieces(queries.track_vertices(conn, job.place, since=since, until=until,
                                                     radius_m=RADIUS_M), job.nights)
    gaps = patrol_gaps(streets, focus, doors[["id", "x", "y"]], pieces, job.nights, radius_m=RADIUS_M)
    pd.testing.assert_frame_equal(one.streets.drop(columns="geometry"), gaps.streets, check_exact=True)
    pd.testing.assert_frame_equal(one.entrances.drop(columns=["x", "y"]), gaps.entrances, check_exact=True)
    pd.testing.assert_frame_equal(one.focus_areas.drop(columns="geometry"), gaps.focus_areas, check_exact=True)
    pd.testing.assert_frame_equal(one.gaps.drop(columns="geometry"), gaps.gaps.drop(columns="geometry"),
                                  check_exact=True)
    assert shapely.equals_exact(one.gaps["geometry"].to_numpy(), gaps.gaps["geometry"].to_numpy(), 0).all()


@pytest.mark.parametrize("city", ["district"], indirect=True)
def test_the_command_on_worker_processes_writes_the_one_run_answer(city, dask_db, monkeypatch, tmp_path):
    _, job, one = city
    monkeypatch.setenv("DATABASE_URL", libpq(dask_db))
    get_settings.cache_clear()
    try:
        out = tmp_path / "coverage.gpkg"
        result = CliRunner().invoke(app, ["city", "coverage", "--start", str(job.nights.first), "--end", str(job.nights.last),
                                          "--workers", "2", "--tile-m", "1000", "--chunk-days", "14", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "focus areas passed; wrote" in result.output
    expected = tmp_path / "one.gpkg"
    write_coverage(one, job.place.srid, expected)
    for layer in ("streets", "street_gaps", "entrances", "focus_areas"):
        written, wanted = gpd.read_file(out, layer=layer), gpd.read_file(expected, layer=layer)
        assert len(written) == len(wanted) > 0 and written.crs.to_epsg() == 4326
        pd.testing.assert_frame_equal(pd.DataFrame(written.drop(columns="geometry")),
                                      pd.DataFrame(wanted.drop(columns="geometry")), check_exact=True)
        assert np.array_equal(shapely.to_wkb(written.geometry.to_numpy()), shapely.to_wkb(wanted.geometry.to_numpy()))
