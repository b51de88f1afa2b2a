"""Patrol coverage at district scale: Beatbook's exact method against buffer-union-intersect.

    python bench/patrol_coverage.py --buildings 100000 --fixes-per-building 20

Builds (or reuses) a synthetic district in the scratch database of ``synth_load.py``,
derives its patrol tracks, then times, per case, the median of ``--runs`` runs of

- *exact*: Beatbook's capsule-interval coverage of the streets and whether each
  entrance was passed (``geo/coverage.py``), on data fetched from PostGIS;
- *buffer*: the obvious alternative in geopandas: buffer the night's track pieces
  by the radius, union them, intersect the streets and test the entrances,

and prints both, their ratio, and how far their answers differ. Fetching from
PostGIS is timed separately: both methods start from the same arrays. Last, the
two patrol routes of the API for one beat and one night, through HTTP, as an
officer waits for them.
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

import numpy as np
import psycopg
import shapely
from bench_api import median_time, supervisor_client
from sqlalchemy import make_url
from synth_load import bench_database

from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.patrols import rebuild_tracks
from geo.coverage import passed_points, street_coverage
from geo.patrol_gaps import Nights, night_pieces
from geo.windows import DailyWindow

RADIUS_M = 30.0


def prepare(libpq: str, buildings: int, fixes_per_building: float) -> None:
    with psycopg.connect(libpq) as conn:
        have = conn.execute("SELECT count(*) FROM building").fetchone()[0]
        tracks = conn.execute("SELECT count(*) FROM patrol_track").fetchone()[0]
    if have == buildings and tracks:
        print("reusing the district in the scratch database")
        return
    started = time.perf_counter()
    # Two million fixes in a month take about 14 officers walking each beat every night.
    frames = build_district(buildings, months=1, fixes_per_building_month=fixes_per_building,
                            officers_per_beat=14)
    load_dataset(libpq, frames, progress=False)
    print(f"district: {buildings:,} buildings, {len(frames['gps_fix']):,} fixes, "
          f"generated and loaded in {time.perf_counter() - started:.0f} s")
    started = time.perf_counter()
    with psycopg.connect(libpq) as conn, conn.transaction():
        report = rebuild_tracks(conn)
    print(f"tracks: {report.tracks:,} from {report.kept:,} clean fixes in {time.perf_counter() - started:.1f} s")


def buffer_union(streets: np.ndarray, doors: np.ndarray, pieces) -> tuple[float, int]:
    """The obvious way: buffer every track piece, union, intersect the streets, test the doors."""
    p = pieces.pieces
    lines = shapely.linestrings(np.stack([np.c_[p.x0, p.y0], np.c_[p.x1, p.y1]], axis=1))
    cover = shapely.union_all(shapely.buffer(lines, RADIUS_M, quad_segs=8))
    shapely.prepare(cover)
    covered = float(shapely.length(shapely.intersection(streets, cover)).sum())
    passed = int(shapely.intersects(cover, doors).sum())
    return covered, passed


def exact(streets: np.ndarray, doors_x: np.ndarray, doors_y: np.ndarray, pieces) -> tuple[float, int]:
    covered = float(street_coverage(streets, pieces, RADIUS_M).covered_m.sum())
    passed = int(passed_points(doors_x, doors_y, pieces, RADIUS_M).sum())
    return covered, passed


def run_case(conn, place, label: str, nights: Nights, runs: int, with_buffer: bool) -> None:
    since = date_to_utc(nights.first - timedelta(days=1))
    until = date_to_utc(nights.last + timedelta(days=3))
    fetch_s, (vertices, streets, doors) = median_time(lambda: (
        queries.track_vertices(conn, place, since=since, until=until, radius_m=RADIUS_M),
        queries.streets(conn, place), queries.entrances(conn, place)), runs)
    pieces = night_pieces(vertices, nights)
    geoms = streets["geometry"].to_numpy()
    dx, dy = doors["x"].to_numpy(), doors["y"].to_numpy()
    exact_s, (covered, passed) = median_time(lambda: exact(geoms, dx, dy, pieces), runs)
    street_s, _ = median_time(lambda: street_coverage(geoms, pieces, RADIUS_M), runs)
    door_s, _ = median_time(lambda: passed_points(dx, dy, pieces, RADIUS_M), runs)
    line = (f"{label:<28} {len(pieces.t0):>10,} {len(geoms):>8,} {len(dx):>9,}  fetch {fetch_s:6.2f} s  "
            f"exact {exact_s:6.2f} s (streets {street_s:5.2f}, entrances {door_s:5.2f})")
    if with_buffer:
        points = shapely.points(dx, dy)
        buffer_s, (b_covered, b_passed) = median_time(lambda: buffer_union(geoms, points, pieces), runs)
        diff = abs(b_covered - covered) / covered * 100 if covered else 0.0
        line += (f"  buffer {buffer_s:7.2f} s  x{buffer_s / exact_s:5.1f}  "
                 f"covered {covered / 1000:,.1f} km vs {b_covered / 1000:,.1f} km ({diff:.2f} %), "
                 f"entrances passed {passed:,} vs {b_passed:,}")
    print(line, flush=True)


def time_api(settings, url: str, beat: str, night: date, runs: int) -> None:
    """GET the patrol gaps and the entrance audit of one beat and night, as a supervisor."""
    with supervisor_client(settings, url) as (client, headers):
        query = f"beat={beat}&start={night}&end={night}"
        for route in ("patrol-gaps", "unmanaged-entrances"):
            seconds, response = median_time(
                lambda route=route: client.get(f"/api/analysis/{route}?{query}", headers=headers), runs)
            response.raise_for_status()
            print(f"API {route:<20} beat {beat}, 1 night: {seconds:5.2f} s, "
                  f"{len(response.json()['features']):,} features, {len(response.content) / 1e6:.1f} MB")


def date_to_utc(day: date):
    from datetime import datetime, timezone

    return datetime.combine(day, datetime.min.time(), timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--fixes-per-building", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-buffer-district", action="store_true",
                        help="skip the buffer method on the whole district (it takes minutes a run)")
    args = parser.parse_args()
    settings = get_settings()
    libpq = bench_database(settings)
    url = make_url(settings.sqlalchemy_url).set(database=psycopg.conninfo.conninfo_to_dict(libpq)["dbname"]) \
        .render_as_string(hide_password=False)
    prepare(libpq, args.buildings, args.fixes_per_building)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        beat = queries.find_beat(conn, conn.exec_driver_sql("SELECT min(code) FROM beat").scalar_one())
        last = queries.last_patrol_night_end(conn, area)
        last_night = (last - timedelta(hours=12)).date()
        window = DailyWindow.parse("22:00-06:00")
        one = Nights(window, last_night, last_night, area.tz)
        month = Nights(window, last_night - timedelta(days=29), last_night, area.tz)
        print(f"radius {RADIUS_M:g} m, window {window}, last night {last_night}, median of {args.runs} runs")
        print(f"{'case':<28} {'pieces':>10} {'streets':>8} {'entrances':>9}")
        run_case(conn, beat, f"beat {beat.code}, 1 night", one, args.runs, True)
        run_case(conn, beat, f"beat {beat.code}, 30 nights", month, args.runs, True)
        run_case(conn, area, "district, 1 night", one, args.runs, not args.no_buffer_district)
        run_case(conn, area, "district, 30 nights", month, args.runs, not args.no_buffer_district)
    time_api(settings, url, beat.code, last_night, args.runs)


if __name__ == "__main__":
    main()
