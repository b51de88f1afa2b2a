"""The month-long city coverage in one process against Dask with 1 and 2 worker processes.

    python bench/city_coverage.py --buildings 1000000 --fixes 20000000

Builds (or reuses) a synthetic city of ``--buildings`` buildings and about ``--fixes`` GPS
fixes of night patrols over a month, in a scratch database of its own on the server of the
configured database, and derives its patrol tracks. Then the street coverage and entrance
revisits of every street, entrance and focus area over the last 30 nights (22:00-06:00, 30 m):

- *one process*: ``run_in_one``, everything read and measured at once, in a fresh process;
- *Dask, N workers*: ``run_on_dask`` on a LocalCluster of N single-threaded worker processes,
  tiles of ``--tile-m`` metres and chunks of ``--chunk-days`` days;

each with its wall time and peak memory (the peak resident set of the process, and of each
worker; the driver's sampled while Dask runs), a digest of the answer (the runs must agree
exactly), and what the figures imply for more workers.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import math
import multiprocessing
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pandas as pd
import psutil
import psycopg
import shapely
from sqlalchemy import make_url
from synth_load import bench_database

from beatbook.city_coverage import CoverageJob, run_in_one, run_on_dask
from beatbook.dask_client import dask_client
from beatbook.generate import district
from beatbook.generate.load import load_dataset
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.patrols import rebuild_tracks
from geo.patrol_gaps import Nights
from geo.tiled_coverage import CityCoverage, plan_tiles
from geo.tiling import time_chunks
from geo.windows import DailyWindow

RADIUS_M = 30.0
NIGHTS = 30


def prepare(libpq: str, buildings: int, fixes: int, seed: int) -> None:
    """The city and its tracks in the scratch database, unless they are there already."""
    with psycopg.connect(libpq) as conn:
        have = conn.execute("SELECT count(*) FROM building").fetchone()[0]
        tracks = conn.execute("SELECT count(*) FROM patrol_track").fetchone()[0]
    if have != buildings:
        per_building = fixes / buildings
        # An officer walks at most one shift a night: enough officers per beat for the fixes asked.
        shifts_a_month = NIGHTS * district.FIXES_PER_SHIFT / district.BUILDINGS_PER_BEAT
        officers = math.ceil(per_building / shifts_a_month) + 1
        print(f"generating a city of {buildings:,} buildings, about {fixes:,} fixes "
              f"({officers} officers a beat) ...", flush=True)
        started = time.perf_counter()
        frames = district.build_district(buildings, seed=seed, fixes_per_building_month=per_building,
                                         officers_per_beat=officers)
        print(f"generated {sum(len(f) for f in frames.values()):,} rows ({len(frames['gps_fix']):,} fixes) "
              f"in {time.perf_counter() - started:.0f} s; loading (a bar per table) ...", flush=True)
        started = time.perf_counter()
        load_dataset(libpq, frames, progress=True)
        del frames
        print(f"loaded in {time.perf_counter() - started:.0f} s", flush=True)
        tracks = 0
    if not tracks:
        print("cleaning the fixes into patrol tracks ...", flush=True)
        started = time.perf_counter()
        with psycopg.connect(libpq) as conn, conn.transaction():
            report = rebuild_tracks(conn)
        print(f"tracks: {report.tracks:,} from {report.kept:,} clean fixes in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
    else:
        print(f"reusing the city of {buildings:,} buildings and its {tracks:,} tracks", flush=True)


def city_database(buildings: int, fixes: int, seed: int) -> tuple[str, str]:
    """The scratch database of this city, made if need be: its libpq conninfo and SQLAlchemy URL."""
    settings = get_settings()
    name = f"beatbook_bench_city_{buildings}_{fixes}_{seed}"
    libpq = bench_database(settings, name)
    prepare(libpq, buildings, fixes, seed)
    return libpq, make_url(settings.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)


def memory_gb_of(given: float | None) -> float:
    """The address space of a one-process run: as given, or three quarters of the machine's memory."""
    return given or psutil.virtual_memory().total / 2**30 * 0.75


def digest(answer: CityCoverage) -> str:
    """A fingerprint of every number and coordinate of the answer."""
    sha = hashlib.sha256()
    for frame in (answer.streets, answer.gaps, answer.entrances, answer.focus_areas):
        sha.update(pd.util.hash_pandas_object(frame.drop(columns="geometry", errors="ignore"), index=False)
                   .to_numpy().tobytes())
        if "geometry" in frame:
            sha.update(b"".join(shapely.to_wkb(frame["geometry"].to_numpy())))
    return sha.hexdigest()[:16]


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, not getrusage: a process's
    ru_maxrss carries over the peak of the process it was forked from."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def _limit_memory(gb: float) -> None:
    # An address-space cap: past it numpy raises MemoryError, where the kernel's OOM killer
    # would pick a victim on its own (PostgreSQL, say).
    resource.setrlimit(resource.RLIMIT_AS, (int(gb * 2**30), int(gb * 2**30)))


def _in_one_process(job: CoverageJob) -> dict:
    started = time.perf_counter()
    answer = run_in_one(job)
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb(), "digest": digest(answer),
            "summary": summary(answer)}


def in_one_process(run: Callable[[Any], dict], job: Any, runs: int, memory_gb: float) -> dict | None:
    """The median wall time, the peak memory, the digest and a summary of ``run(job)`` (a dict of
    seconds, peak_mb, digest and summary), each run in a fresh process (so that its peak is its
    own) of at most ``memory_gb`` of address space; None if that was not enough."""
    done = []
    for _ in range(runs):
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_limit_memory,
                                 initargs=(memory_gb,)) as pool:
            try:
                done.append(pool.submit(run, job).result())
            except (MemoryError, BrokenProcessPool):
                return None
    return done[-1] | {"seconds": statistics.median(d["seconds"] for d in done),
                       "peak_mb": max(d["peak_mb"] for d in done)}


@contextmanager
def driver_peak() -> Iterator[list[float]]:
    """This process's peak resident memory, sampled while the block runs (in MB, in a list)."""
    me, peak, running = psutil.Process(), [0.0], threading.Event()
    running.set()

    def sample() -> None:
        while running.is_set():
            peak[0] = max(peak[0], me.memory_info().rss / 2**20)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        running.clear()
        sampler.join()


def on_dask(job: CoverageJob, workers: int, tile_m: float, chunk_days: int, runs: int) -> dict:
    """The median wall time, the peak memory of each worker and of the driver, the digest and a
    summary of the Dask runs, on one local cluster."""
    with dask_client(workers=workers) as client, driver_peak() as driver_mb:
        # Imported before the clock starts, as the one-process run has them.
        client.run(importlib.import_module, "beatbook.city_coverage")
        times, digests = [], set()
        for _ in range(runs):
            started = time.perf_counter()
            answer = run_on_dask(client, job, tile_m=tile_m, chunk_days=chunk_days, progress=True)
            times.append(time.perf_counter() - started)
            digests.add(digest(answer))
        worker_peaks = client.run(peak_rss_mb)
    return {"seconds": statistics.median(times), "workers_mb": sorted(worker_peaks.values()),
            "driver_mb": driver_mb[0], "digest": ",".join(sorted(digests)), "summary": summary(answer)}


def summary(answer: CityCoverage) -> str:
    streets, doors, focus = answer.streets, answer.entrances, answer.focus_areas
    return (f"{streets['covered_m'].sum() / 1000:,.1f} of {streets['length_m'].sum() / 1000:,.1f} km covered, "
            f"{int((doors['passes'] > 0).sum()):,} of {len(doors):,} entrances and "
            f"{int((focus['passes'] > 0).sum()):,} of {len(focus):,} focus areas passed, "
            f"{len(answer.gaps):,} gaps")


def city_arguments(doc: str) -> argparse.ArgumentParser:
    """The options of the city benches: which city, and how to run it."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--fixes", type=int, default=20_000_000, help="GPS fixes over the month, about")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--runs", type=int, default=1, help="Dask runs of each, the median reported")
    parser.add_argument("--one-process-gb", type=float, help="address space of a one-process run "
                        "(default: three quarters of the machine's memory)")
    return parser


def main() -> None:
    parser = city_arguments(__doc__)
    parser.add_argument("--tile-m", type=float, default=2000.0)
    parser.add_argument("--chunk-days", type=int, default=31)
    args = parser.parse_args()

    _, url = city_database(args.buildings, args.fixes, args.seed)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        last = (queries.last_patrol_night_end(conn, area) - timedelta(hours=12)).date()
        pieces = conn.exec_driver_sql("SELECT sum(ST_NPoints(geom) - 1) FROM patrol_track").scalar_one()
    job = CoverageJob(url, area, Nights(DailyWindow.parse("22:00-06:00"), last - timedelta(days=NIGHTS - 1), last,
                                        area.tz), RADIUS_M)
    started = time.perf_counter()
    anchors = job.anchors()
    plans = plan_tiles(*anchors, args.tile_m)
    prologue = time.perf_counter() - started
    chunks = time_chunks(*job.period, args.chunk_days)
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs; "
          f"{NIGHTS} nights to {last}, radius {RADIUS_M:g} m: {len(anchors[0]):,} streets, "
          f"{len(anchors[1]):,} entrances, {len(anchors[2]):,} focus areas, {pieces:,} track pieces; {len(plans)} tiles of {args.tile_m:g} m "
          f"x {len(chunks)} chunks of {args.chunk_days} days; reading the anchors and planning the tiles "
          f"(the driver, before any task) {prologue:.1f} s", flush=True)

    memory_gb = memory_gb_of(args.one_process_gb)
    one = in_one_process(_in_one_process, job, args.runs, memory_gb)
    if one:
        print(f"one process      {one['seconds']:8.1f} s  peak {one['peak_mb']:8,.0f} MB              "
              f"answer {one['digest']}: {one['summary']}", flush=True)
    else:
        print(f"one process      ran out of its {memory_gb:.1f} GB (of this machine's "
              f"{psutil.virtual_memory().total / 2**30:.1f} GB): everything at once does not fit", flush=True)
    runs = {}
    for n in args.workers:
        run = runs[n] = on_dask(job, n, args.tile_m, args.chunk_days, args.runs)
        agreed = one["digest"] if one else runs[args.workers[0]]["digest"]
        same = ("the same" if run["digest"] == agreed else "DIFFERENT") + ("" if one else f" as with {args.workers[0]}")
        print(f"Dask, {n} worker{'s' if n > 1 else ' '}  {run['seconds']:8.1f} s  peak per worker "
              f"{', '.join(f'{m:,.0f}' for m in run['workers_mb'])} MB, driver {run['driver_mb']:,.0f} MB  "
              f"answer {run['digest']} ({same}): {run['summary']}", flush=True)
    implications(one["seconds"] if one else None, runs, prologue)


def implications(one_s: float | None, runs: dict, prologue: float) -> None:
    """What the runs imply for N workers: Amdahl's law fitted to the two smallest runs."""
    if len(runs) < 2:
        return
    (n1, r1), (n2, r2) = sorted(runs.items())[:2]
    t1, t2 = r1["seconds"], r2["seconds"]
    # t(n) = serial + parallel / n, through both runs.
    parallel = (t1 - t2) / (1 / n1 - 1 / n2)
    serial = t1 - parallel / n1
    if parallel <= 0 or serial < 0:
        print(f"\n{n2} workers were not faster than {n1} by a believable amount here: no extrapolation. "
              f"The machine has {os.cpu_count()} cores for the workers, the driver and PostgreSQL.")
        return
    base_s, base = (one_s, "one process") if one_s else (t1, f"{n1} worker{'s' if n1 > 1 else ''}")
    print(f"\nfitted: {serial:.1f} s that no worker shortens (of it {prologue:.1f} s reading anchors and "
          f"planning, the rest starting tasks, moving answers and merging) + {parallel:.1f} s of "
          f"work shared by the workers; {base} took {base_s:.1f} s")
    peak = max(m for r in runs.values() for m in r["workers_mb"])
    for n in (4, 8, 16, 32):
        t = serial + parallel / n
        print(f"  {n:>2} workers: about {t:7.1f} s ({base_s / t:4.1f}x {base}), "
              f"{n * peak / 1024:5.1f} GB across the workers ({peak:,.0f} MB each, as a tile's work does "
              f"not grow with the city)")
    print("  (if the database serves every worker, it becomes the limit first: "
          "each task reads its tile's streets, entrances and tracks from it)")


if __name__ == "__main__":
    main()
