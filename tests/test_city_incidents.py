"""The city's incident density and hot spots on Dask, read tile by tile and chunk by chunk from
PostGIS, give exactly the one-process answer, which is the API's: on the demo area and on a
synthetic district.

The workers read the database on connections of their own, so the data are committed, in a
database of this module's (the tests' own roll back).
"""

from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from typer.testing import CliRunner

from api.incident_analysis import Grid, hotspot_features, place_density
from api.incident_params import local_range
from beatbook.city_incidents import (
    DensityJob,
    HotspotJob,
    IncidentJob,
    density_in_one,
    density_on_dask,
    hotspots_in_one,
    hotspots_on_dask,
    write_hotspots,
)
from beatbook.cli import app
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.incidents import IncidentFilter, incidents
from tests.conftest import TEST_DB, libpq, migrated_database

# Tiles and chunks small enough to cut each place into many: (tile metres, chunk days).
CUTS = {"demo": (400.0, 10), "district": (500.0, 60)}


@pytest.fixture(scope="module")
def incidents_db(server_url):
    return migrated_database(server_url, TEST_DB + "_city_incidents")


@pytest.fixture(scope="module", params=["demo", "district"])
def city(request, incidents_db, demo_frames):
    """A place loaded and committed, and the job of every day with incidents (local days, as
    the command asks for them)."""
    frames = demo_frames if request.param == "demo" else build_district(3000, months=12)
    load_dataset(libpq(incidents_db), {k: v for k, v in frames.items() if k != "gps_fix"}, progress=False)
    url = incidents_db.render_as_string(hide_password=False)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        first, last = conn.exec_driver_sql("SELECT min(occurred_at), max(occurred_at) FROM incident").one()
    days = [t.astimezone(ZoneInfo(area.tz)).date() for t in (first, last)]
    return request.param, IncidentJob(url, area, IncidentFilter(*local_range(area.tz, *days))), days


@pytest.mark.parametrize("kernel, bandwidth_m", [("quartic", 150.0), ("gaussian", 40.0)])
def test_the_density_in_blocks_on_dask_is_the_density_in_one_run(city, dask_threads, kernel, bandwidth_m):
    name, job, _ = city
    tile_m, chunk_days = CUTS[name]
    density = DensityJob(job, cell_m=20.0, bandwidth_m=bandwidth_m, kernel=kernel)
    one = density_in_one(density)
    # The cut is a real one: many blocks, several chunks, incidents in most of them.
    assert len(density.lattice().blocks(round(tile_m / 20.0))) >= 6 and len(job.which.in_chunks(chunk_days)) >= 5
    assert one.values.sum() * one.cell_area_km2 > 100
    tiled = density_on_dask(dask_threads, density, tile_m=tile_m, chunk_days=chunk_days, progress=False)
    assert (tiled.x0, tiled.y0, tiled.cell_m) == (one.x0, one.y0, one.cell_m)
    assert np.array_equal(tiled.values, one.values)


def test_the_one_run_density_is_the_apis(city):
    """What the blocks are held to is the API's FFT density of the whole area, to round-off."""
    _, job, _ = city
    density = DensityJob(job, cell_m=20.0, bandwidth_m=150.0)
    one = density_in_one(density)
    with get_engine(job.url).connect() as conn:
        found = incidents(conn, job.place, job.which)
    api = place_density(found, job.place.metric_polygon(), Grid("kde", 20.0, 150.0))
    assert (api.x0, api.y0, api.values.shape) == (one.x0, one.y0, one.values.shape)
    assert np.abs(one.values - api.values).max() <= 1e-9 * api.values.max()
    assert one.values.sum() * one.cell_area_km2 == pytest.approx(len(found), rel=0.05)


def test_the_hot_spots_from_tallies_on_dask_are_the_hot_spots_in_one_run(city, dask_threads):
    name, job, _ = city
    tile_m, chunk_days = CUTS[name]
    hot = HotspotJob(job, cell_m=60.0)
    units = hot.units()
    one = hotspots_in_one(hot, units)
    assert (one.table["label"] == "hot").any() and one.table["count"].sum() > 100
    tiled = hotspots_on_dask(dask_threads, hot, units, tile_m=tile_m, chunk_days=chunk_days, progress=False)
    pd.testing.assert_frame_equal(tiled.table, one.table, check_exact=True)


def test_the_one_run_hot_spots_are_the_apis(city):
    _, job, _ = city
    hot = HotspotJob(job, cell_m=60.0)
    one = hotspots_in_one(hot, hot.units())
    with get_engine(job.url).connect() as conn:
        api = hotspot_features(conn, job.place, job.which, Grid("hex", 60.0), alpha=0.05, fdr=True,
                               permutations=0, with_all=True)
    by_key = {f["properties"]["key"]: f["properties"] for f in api["features"]}
    assert len(by_key) == len(one.table)
    for key, row in zip(one.units.key, one.table.itertuples()):
        said = by_key[key]
        assert (said["count"], said["label"]) == (row.count, row.label)
        assert said["z"] == (None if np.isnan(row.z) else round(row.z, 4))


def test_permutation_hot_spots_on_dask_are_the_same_too(city, dask_threads):
    name, job, _ = city
    hot = HotspotJob(job, cell_m=60.0, permutations=99)
    units = hot.units()
    tiled = hotspots_on_dask(dask_threads, hot, units, tile_m=CUTS[name][0], chunk_days=CUTS[name][1], progress=False)
    pd.testing.assert_frame_equal(tiled.table, hotspots_in_one(hot, units).table, check_exact=True)


def _invoke(db_url, monkeypatch, args: list[str]):
    monkeypatch.setenv("DATABASE_URL", libpq(db_url))
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, ["city", *args])
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("city", ["district"], indirect=True)
def test_the_commands_on_worker_processes_write_the_one_run_answers(city, incidents_db, monkeypatch, tmp_path):
    _, job, (first, last) = city
    days = ["--start", str(first), "--end", str(last)]
    raster, contours, hexagons = tmp_path / "density.tif", tmp_path / "contours.gpkg", tmp_path / "hotspots.gpkg"
    result = _invoke(incidents_db, monkeypatch, ["density", *days, "--cell-m", "20", "--bandwidth-m", "150",
                                                 "--tile-m", "600", "--workers", "2", "--out", str(raster),
                                                 "--contours", str(contours)])
    assert result.exit_code == 0, result.output
    assert "incidents, peak" in result.output
    one = density_in_one(DensityJob(job, cell_m=20.0, bandwidth_m=150.0))
    with rasterio.open(raster) as tif:
        assert tif.crs.to_epsg() == job.place.srid and tif.res == (20.0, 20.0)
        assert (tif.bounds.left, tif.bounds.bottom) == (one.x0, one.y0)
        assert np.array_equal(tif.read(1)[::-1], one.values)
    assert sorted(gpd.read_file(contours)["share"]) == [0.5, 0.75, 0.9]

    result = _invoke(incidents_db, monkeypatch, ["hotspots", *days, "--cell-m", "60", "--tile-m", "600",
                                                 "--workers", "2", "--out", str(hexagons)])
    assert result.exit_code == 0, result.output
    hot = HotspotJob(job, cell_m=60.0)
    expected = tmp_path / "one.gpkg"
    write_hotspots(hotspots_in_one(hot, hot.units()), job.place.srid, expected)
    written, wanted = gpd.read_file(hexagons), gpd.read_file(expected)
    assert len(written) == len(wanted) > 0 and written.crs.to_epsg() == 4326
    pd.testing.assert_frame_equal(pd.DataFrame(written.drop(columns="geometry")),
                                  pd.DataFrame(wanted.drop(columns="geometry")), check_exact=True)


def test_a_cell_too_small_for_the_hexagons_is_refused_with_a_reason(city, incidents_db, monkeypatch, tmp_path):
    result = _invoke(incidents_db, monkeypatch, ["hotspots", "--cell-m", "1", "--workers", "0",
                                                 "--out", str(tmp_path / "x.gpkg")])
    assert result.exit_code == 2 and "larger cell_m" in result.output
    result = _invoke(incidents_db, monkeypatch, ["density", "--kernel", "cubic", "--workers", "0",
                                                 "--out", str(tmp_path / "x.tif")])
    assert result.exit_code == 2 and "unknown kernel" in result.output
