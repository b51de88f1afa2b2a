"""The city camera siting in one process against Dask with 1 and 2 worker processes.

    python bench/city_siting.py --buildings 100000

Builds (or reuses) a synthetic city of ``--buildings`` buildings in a scratch database of its
own on the server of the configured database, as ``bench/city_coverage.py`` does (with one GPS
fix per building: the siting reads no patrols). Then ``--k`` new cameras for every unguarded
entrance and the incidents of the last 8 weeks, at sites every 20 m of street that see 30 m
all round:

- *one process*: ``run_in_one``, everything read and modelled at once, in a fresh process;
- *Dask, N workers*: ``run_on_dask`` on a LocalCluster of N single-threaded worker processes,
  tiles of ``--tile-m`` metres and chunks of ``--chunk-days`` days;

each with its wall time, split into building the model (what the tiles share out) and the
solve (one global solve in the driver, the same work in every run), peak memory (the peak
resident set of the process, and of each worker; the driver's sampled while Dask runs), and
digests of the model and of the answer (the runs must
agree exactly: the model always, the answer whenever HiGHS finishes within its time limit).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import time

import pandas as pd
from city_coverage import driver_peak, in_one_process, memory_gb_of, peak_rss_mb, prepare
from sqlalchemy import make_url
from synth_load import bench_database

from beatbook.city_siting import CitySiting, SitingJob, run_in_one, run_on_dask
from beatbook.dask_client import dask_client
from beatbook.settings import get_settings
from db import analysis as queries
from db.engine import get_engine
from db.incidents import IncidentFilter, latest_incident

WEEKS = 8


def digests(answer: CitySiting) -> tuple[str, str]:
    """Fingerprints of every number of the model (demand, sites, who covers whom) and of the answer."""
    model, result = answer.model, answer.result
    sha = hashlib.sha256()
    for frame in (model.demand, model.sites):
        sha.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    coverage = model.coverage
    for array in (coverage.sites.indptr, coverage.sites.indices, coverage.weight, coverage.group):
        sha.update(array.tobytes())
    chosen = hashlib.sha256(pd.util.hash_pandas_object(answer.sites, index=False).to_numpy().tobytes())
    chosen.update(repr((result.bound, result.status, answer.greedy.gains.tolist())).encode())
    return sha.hexdigest()[:12], chosen.hexdigest()[:12]


def outcome(answer: CitySiting, seconds: float) -> dict:
    model, result = answer.model, answer.result
    return {"seconds": seconds, "solve_s": answer.seconds["greedy_s"] + answer.seconds["exact_s"],
            "digests": digests(answer),
            "summary": f"{len(result.sites)} sites of {len(model.sites):,} candidates for {len(model.demand):,} "
                       f"demand points ({len(model.coverage.weight):,} groups): {result.already_share:.2%} seen "
                       f"already, {result.newly_share:.2%} newly (greedy {answer.greedy.newly_share:.2%}, bound "
                       f"{result.bound / result.total_weight:.2%}), {result.status}"}


def took(run: dict) -> str:
    return f"{run['seconds']:6.1f} s = model {run['seconds'] - run['solve_s']:5.1f} s + solve {run['solve_s']:5.1f} s"


def _in_one_process(job: SitingJob) -> dict:
    started = time.perf_counter()
    answer = run_in_one(job)
    return {**outcome(answer, time.perf_counter() - started), "peak_mb": peak_rss_mb()}


def on_dask(job: SitingJob, workers: int, tile_m: float, chunk_days: int) -> dict:
    with dask_client(workers=workers) as client, driver_peak() as driver_mb:
        # Imported before the clock starts, as the one-process run has them.
        client.run(importlib.import_module, "beatbook.city_siting")
        started = time.perf_counter()
        answer = run_on_dask(client, job, tile_m=tile_m, chunk_days=chunk_days, progress=True)
        done = outcome(answer, time.perf_counter() - started)
        worker_peaks = client.run(peak_rss_mb)
    return {**done, "workers_mb": sorted(worker_peaks.values()), "driver_mb": driver_mb[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--k", type=int, default=50, help="new camera sites, city-wide")
    parser.add_argument("--time-limit", type=float, default=120.0, help="for HiGHS, s")
    parser.add_argument("--tile-m", type=float, default=2000.0)
    parser.add_argument("--chunk-days", type=int, default=28)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    settings = get_settings()
    name = f"beatbook_bench_siting_{args.buildings}_{args.seed}"
    prepare(bench_database(settings, name), args.buildings, args.buildings, args.seed)
    url = make_url(settings.sqlalchemy_url).set(database=name).render_as_string(hide_password=False)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        last = latest_incident(conn, area)
    which = IncidentFilter(last - pd.Timedelta(weeks=WEEKS), last + pd.Timedelta(seconds=1))
    job = SitingJob(url, area, which, k=args.k, time_limit_s=args.time_limit)
    tiles = job.tiles(args.tile_m)
    chunks = which.in_chunks(args.chunk_days)
    print(f"\n{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} before the runs; k = {args.k}, "
          f"incidents of the {WEEKS} weeks to {last:%Y-%m-%d}, sites every {job.spacing_m:g} m seeing "
          f"{job.range_m:g} m; {len(tiles)} tiles of {args.tile_m:g} m x {len(chunks)} chunks of "
          f"{args.chunk_days} days", flush=True)

    one = in_one_process(_in_one_process, job, 1, memory_gb_of(None))
    if one is None:
        raise SystemExit("the one-process run did not fit in three quarters of this machine's memory")
    print(f"one process      {took(one)}  peak {one['peak_mb']:7,.0f} MB"
          f"              model {one['digests'][0]}, answer {one['digests'][1]}: {one['summary']}", flush=True)
    for n in args.workers:
        run = on_dask(job, n, args.tile_m, args.chunk_days)
        same = "/".join("the same" if a == b else "DIFFERENT" for a, b in zip(run["digests"], one["digests"]))
        print(f"Dask, {n} worker{'s' if n > 1 else ' '}  {took(run)}  "
              f"peak per worker {', '.join(f'{m:,.0f}' for m in run['workers_mb'])} MB, driver "
              f"{run['driver_mb']:,.0f} MB  model {run['digests'][0]}, answer {run['digests'][1]} ({same})",
              flush=True)


if __name__ == "__main__":
    main()
