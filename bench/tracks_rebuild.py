"""Time rebuilding the patrol tracks from the GPS fixes: the demo, then a synthetic district.

    python bench/tracks_rebuild.py --buildings 100000 --months 7 --fixes-per-building-month 3

(about 2.1 million fixes: a district walks at most two shifts per 5,000 buildings a
night, so two million fixes of 100,000 buildings take seven months.) Works in a
scratch database of its own, ``beatbook_bench_tracks``, whose data it replaces.
Prints the whole rebuild and its parts, and beside reading the fixes as one bytea
per officer the obvious alternative: a plain SELECT, fetchall.
"""

from __future__ import annotations

import argparse
import time

import psycopg
from synth_load import bench_database

from beatbook.generate.demo import build_demo
from beatbook.generate.district import build_district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db.patrols import read_fixes, rebuild_tracks, with_metric_xy
from geo.tracks import clean_fixes, split_tracks

BENCH_DB = "beatbook_bench_tracks"
PLAIN_SELECT = """
    SELECT officer_id, recorded_at, ST_X(geom), ST_Y(geom), accuracy_m, synthetic FROM gps_fix
"""


def seconds(run) -> tuple[float, object]:
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result


def time_rebuild(conninfo: str, label: str) -> None:
    """Rebuild all tracks (committed), then time its parts on their own."""
    settings = get_settings()
    gap = settings.track_max_gap_s
    with psycopg.connect(conninfo) as conn:
        took, report = seconds(lambda: rebuild_tracks(conn))
        conn.commit()
        read, fixes = seconds(lambda: read_fixes(conn))
        plain, _ = seconds(lambda: conn.execute(PLAIN_SELECT).fetchall())
        project, metric = seconds(lambda: with_metric_xy(conn, fixes))
    clean_took, (clean, _) = seconds(lambda: clean_fixes(metric, max_gap_s=gap))
    split_took, _ = seconds(lambda: split_tracks(clean, max_gap_s=gap))
    print(f"{label}: {report}")
    print(f"  rebuild_tracks           {took:7.2f} s  ({report.input / took:,.0f} fixes/s)")
    print(f"    read the fixes         {read:7.2f} s  (a plain SELECT, fetchall: {plain:.2f} s)")
    print(f"    to the metric CRS      {project:7.2f} s")
    print(f"    clean_fixes            {clean_took:7.2f} s")
    print(f"    split_tracks           {split_took:7.2f} s")
    print(f"    the rest (writing)     {took - read - project - clean_took - split_took:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=7)
    parser.add_argument("--fixes-per-building-month", type=float, default=3.0)
    args = parser.parse_args()

    conninfo = bench_database(get_settings(), BENCH_DB)
    load_dataset(conninfo, build_demo(), progress=False)
    time_rebuild(conninfo, "demo")

    started = time.perf_counter()
    frames = build_district(args.buildings, months=args.months,
                            fixes_per_building_month=args.fixes_per_building_month)
    load_dataset(conninfo, frames, progress=False)
    took = time.perf_counter() - started
    print(f"district of {args.buildings:,} buildings, {args.months} month(s), "
          f"{len(frames['gps_fix']):,} fixes: made and loaded in {took:.0f} s")
    time_rebuild(conninfo, "district")


if __name__ == "__main__":
    main()
