"""Camera siting over a whole city, its model built tile by tile on Dask, gives exactly the
one-run answer, which is the API's camera plan for the whole area: on the demo area and on a
synthetic district, in worker threads and in worker processes; and, in memory, tiles of any
size merge into the whole's model.

The workers read the database on connections of their own, so the data are committed, in a
database of this module's (the tests' own roll back).
"""

from dataclasses import astuple, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api import siting as api_siting
from api.incident_params import local_range
from beatbook.city_siting import CitySiting, SitingJob, run_in_one, run_on_dask, write_sites
from beatbook.cli import app
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.incidents import IncidentFilter, latest_incident
from geo.cameras import pairs_in_view
from geo.crs import to_lonlat
from geo.siting import (
    CAMERA_COLUMNS,
    DemandWeights,
    camera_coverage,
    camera_demand,
    entrance_demand,
    incident_demand,
    street_sites,
)
from geo.tiled_siting import SitingModel, Surroundings, part_of, plan_tiles, stack, whole_model
from tests.conftest import TEST_DB, libpq, migrated_database

K = 25
# Tiles and chunks small enough to cut each place into many: (tile metres, chunk days).
CUTS = {"demo": (400.0, 14), "district": (300.0, 14)}


@pytest.fixture(scope="module")
def siting_db(server_url):
    return migrated_database(server_url, TEST_DB + "_city_siting")


@pytest.fixture(scope="module", params=["demo", "district"])
def city(request, siting_db, demo_frames):
    """A place loaded and committed, the job of k cameras for its last 8 weeks, and its one-run answer."""
    load_dataset(libpq(siting_db), demo_frames if request.param == "demo" else build_district(3000), progress=False)
    url = siting_db.render_as_string(hide_password=False)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        last = latest_incident(conn, area)
    job = SitingJob(url, area, IncidentFilter(last - timedelta(weeks=8), last + timedelta(seconds=1)), k=K)
    return request.param, job, run_in_one(job)


def assert_same(tiled: CitySiting, whole: CitySiting) -> None:
    """The same model, bit for bit, and so the same sites, gains, bound and status."""
    a, b = tiled.model, whole.model
    pd.testing.assert_frame_equal(a.demand, b.demand, check_exact=True)
    pd.testing.assert_frame_equal(a.sites, b.sites, check_exact=True)
    assert_same_coverage(a, b)
    for x, y in ((tiled.result, whole.result), (tiled.greedy, whole.greedy)):
        assert x.sites.tolist() == y.sites.tolist() and x.gains.tobytes() == y.gains.tobytes()
        assert (x.bound, x.status, x.total_weight, x.already_covered) == \
            (y.bound, y.status, y.total_weight, y.already_covered)
    pd.testing.assert_frame_equal(tiled.sites, whole.sites, check_exact=True)


def assert_same_coverage(a: SitingModel, b: SitingModel) -> None:
    x, y = a.coverage, b.coverage
    assert x.sites.shape == y.sites.shape
    assert x.sites.indptr.tolist() == y.sites.indptr.tolist() and x.sites.indices.tolist() == y.sites.indices.tolist()
    assert x.weight.tobytes() == y.weight.tobytes() and x.group.tolist() == y.group.tolist()
    assert (x.total_weight, x.already_covered) == (y.total_weight, y.already_covered)


def test_two_dask_workers_give_exactly_the_one_run_answer(city, dask_threads):
    name, job, one = city
    tile_m, chunk_days = CUTS[name]
    tiles = job.tiles(tile_m)
    assert len(tiles) >= 6 and len(job.which.in_chunks(chunk_days)) >= 4
    # The cut is a real one: all kinds of demand, k sites in several tiles, sites that see across a tile's edge.
    demand, sites, grid = one.model.demand, one.model.sites, tiles[0].grid
    assert (demand["kind"].value_counts() > 0).all()
    assert one.result.status == "optimal" and len(one.result.sites) == K
    chosen = one.sites
    assert len(set(grid.tile_of(chosen["x"], chosen["y"]))) >= 3
    point, site = pairs_in_view(demand["x"], demand["y"], sites["x"], sites["y"], sites["direction_deg"],
                                sites["fov_deg"], job.range_m)
    across = grid.tile_of(demand["x"].to_numpy()[point], demand["y"].to_numpy()[point]) \
        != grid.tile_of(sites["x"].to_numpy()[site], sites["y"].to_numpy()[site])
    assert 0 < across.sum() < len(point)
    assert_same(run_on_dask(dask_threads, job, tile_m=tile_m, chunk_days=chunk_days, progress=False), one)


def test_the_one_run_answer_is_the_api_camera_plan(city):
    """What the tiles are held to is the API's camera plan, for the whole area with street candidates."""
    _, job, one = city
    with get_engine(job.url).connect() as conn:
        plan = api_siting.camera_plan(conn, job.place, api_siting.street_candidates(conn, job.place, job.spacing_m),
                                      k=job.k, range_m=job.range_m, which=job.which, weights=job.weights,
                                      time_limit_s=job.time_limit_s)
    sites, result, summary = one.sites, one.result, plan["summary"]
    properties = pd.DataFrame([f["properties"] for f in plan["features"]])
    assert properties["rank"].tolist() == sites["rank"].tolist()
    assert properties["gain"].tolist() == [round(g, 2) for g in sites["gain"]]
    assert properties["gain_share"].tolist() == [round(g, 4) for g in sites["gain_share"]]
    assert properties[["entrances", "incidents"]].to_numpy().tolist() == \
        sites[["entrances", "incidents"]].to_numpy().tolist()
    lonlat = to_lonlat(shapely.points(sites["x"].to_numpy(), sites["y"].to_numpy()), job.place.srid)
    assert [tuple(f["geometry"]["coordinates"]) for f in plan["features"]] == [(p.x, p.y) for p in lonlat]
    assert summary["candidate_sites"] == len(one.model.sites)
    assert summary["demand"] == {"entrances": int((one.model.demand["kind"] == "entrance").sum()),
                                 "incidents": int((one.model.demand["kind"] == "incident").sum()),
                                 "burglaries": int((one.model.demand["kind"] == "burglary").sum())}
    assert (summary["covered_share"], summary["newly_share"], summary["status"]) == \
        (round(result.covered_share, 4), round(result.newly_share, 4), result.status)


@pytest.mark.parametrize("city", ["district"], indirect=True)
def test_the_command_on_worker_processes_writes_the_one_run_answer(city, siting_db, monkeypatch, tmp_path):
    _, job, _ = city
    zone = ZoneInfo(job.place.tz)
    first, last = ((t.astimezone(zone)).date() for t in (job.which.since, job.which.until))
    same_days = replace(job, which=IncidentFilter(*local_range(job.place.tz, first, last)))
    monkeypatch.setenv("DATABASE_URL", libpq(siting_db))
    get_settings.cache_clear()
    out = tmp_path / "cameras.gpkg"
    try:
        result = CliRunner().invoke(app, ["city", "cameras", "--k", str(K), "--start", str(first), "--end", str(last),
                                          "--workers", "2", "--tile-m", "500", "--chunk-days", "7", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"{K} sites of" in result.output
    expected = tmp_path / "one.gpkg"
    write_sites(run_in_one(same_days), job.place.srid, expected)
    written, wanted = gpd.read_file(out, layer="camera_sites"), gpd.read_file(expected, layer="camera_sites")
    assert written.crs.to_epsg() == 4326 and written["rank"].tolist() == list(range(1, K + 1))
    pd.testing.assert_frame_equal(pd.DataFrame(written.drop(columns="geometry")),
                                  pd.DataFrame(wanted.drop(columns="geometry")), check_exact=True)
    assert np.array_equal(shapely.to_wkb(written.geometry.to_numpy()), shapely.to_wkb(wanted.geometry.to_numpy()))


# --- in memory: the tiles of a random town, merged -----------------------------------------------

SIDE_M = 600.0
WEIGHTS = DemandWeights(entrance=0.7, incident=1.3, burglary=2.1)  # sums that rounding would tell apart
NO_CAMERA = pd.DataFrame({c: np.empty(0) for c in CAMERA_COLUMNS})
# Centimetres, as maps give them; a few spots, so that streets often meet and sites coincide.
coordinate = st.one_of(st.integers(0, int(SIDE_M * 100)).map(lambda cm: cm / 100), st.sampled_from([0.0, 300.0]))
point = st.tuples(coordinate, coordinate)
offset = st.integers(-4000, 4000).map(lambda cm: cm / 100)


def near_streets(draw, lines, max_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Points within 40 m of the streets (most demand is), in the square, to the centimetre."""
    spots = draw(st.lists(st.tuples(st.integers(0, len(lines) - 1), st.floats(0, 1), offset, offset),
                          max_size=max_size))
    along = shapely.line_interpolate_point(lines[[s[0] for s in spots]], [s[1] for s in spots], normalized=True)
    shift = np.array([(s[2], s[3]) for s in spots], dtype=float).reshape(-1, 2)
    xy = np.clip(np.round(shapely.get_coordinates(along) + shift, 2), 0, SIDE_M)
    return xy[:, 0], xy[:, 1]


@st.composite
def towns(draw):
    """Streets, and near them unguarded entrances, incidents (some burglaries) and cameras."""
    lines = np.array([shapely.LineString(p) for p in draw(st.lists(st.lists(point, min_size=2, max_size=3,
                                                                            unique=True), min_size=1, max_size=6))],
                     dtype=object)
    x, y = near_streets(draw, lines, 20)
    # Ids out of order, as the audit ranks entrances by risk; most not seen by a camera yet.
    entrances = pd.DataFrame({"id": np.arange(len(x), dtype=np.int64) * 7 % 101, "x": x, "y": y,
                              "risk": np.array(draw(st.lists(st.integers(0, 5), min_size=len(x), max_size=len(x))),
                                               dtype=float),
                              "reasons": [["unmanaged"] + (["no_camera"] if unseen else []) for unseen in
                                          draw(st.lists(st.booleans() | st.just(True), min_size=len(x),
                                                        max_size=len(x)))]})
    x, y = near_streets(draw, lines, 12)
    incidents = pd.DataFrame({"x": x, "y": y, "burglary": np.array(
        draw(st.lists(st.booleans(), min_size=len(x), max_size=len(x))), dtype=bool)})
    x, y = near_streets(draw, lines, 3)
    cameras = pd.DataFrame({"x": x, "y": y, "direction_deg": draw(st.lists(st.floats(0, 359), min_size=len(x),
                                                                           max_size=len(x))),
                            "fov_deg": 90.0, "range_m": 20.0}) if len(x) else NO_CAMERA
    return lines, entrances, incidents, cameras


def tiled(lines, entrances, incidents, cameras, *, tile_m, spacing_m, range_m) -> SitingModel:
    """What beatbook/city_siting.py does with PostgreSQL: each tile makes the sites of the
    streets that meet its reach, pairs its own entrances and incidents with them; all stacked."""
    parts = []
    for tile in plan_tiles(shapely.box(0, 0, SIDE_M, SIDE_M), tile_m):
        streets = lines[shapely.intersects(lines, shapely.box(*astuple(tile.reach(range_m))))]
        near = Surroundings.of(tile, street_sites(streets, spacing_m), cameras, range_m)
        doors = entrances[tile.owns(entrances["x"], entrances["y"])]
        found = incidents[tile.owns(incidents["x"], incidents["y"])]
        parts.append(stack([part_of(entrance_demand(doors, WEIGHTS), near, range_m, with_sites=True),
                            part_of(incident_demand(found, found[found["burglary"]], cameras, WEIGHTS), near,
                                    range_m, with_sites=False)]))
    return whole_model(stack(parts))


@given(towns(), st.floats(50, 400), st.floats(5, 80), st.floats(1, 60))
@settings(max_examples=30, deadline=None)
def test_tiles_of_any_size_merge_into_the_whole_model(town, tile_m, spacing_m, range_m):
    lines, entrances, incidents, cameras = town
    demand = camera_demand(entrances, incidents, incidents[incidents["burglary"]], cameras, WEIGHTS)
    sites = street_sites(lines, spacing_m)
    whole = SitingModel(demand, sites, camera_coverage(demand, sites, range_m=range_m))
    model = tiled(lines, entrances, incidents, cameras, tile_m=tile_m, spacing_m=spacing_m, range_m=range_m)
    pd.testing.assert_frame_equal(model.demand, whole.demand, check_exact=True)
    pd.testing.assert_frame_equal(model.sites, whole.sites, check_exact=True)
    assert_same_coverage(model, whole)
