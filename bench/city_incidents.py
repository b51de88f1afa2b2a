"""The city's incident density and hot spots in one process against Dask with 1 and 2 workers.

    python bench/city_incidents.py --buildings 1000000 --incidents 1000000 --years 3

Uses the synthetic city of ``bench/city_coverage.py`` (made if need be) and gives it
``--incidents`` incidents over ``--years`` years: the generator's month of incidents,
copied to earlier days and jittered by up to about 100 m, so they cluster where it put
them. Then, over every incident of those years:

- density, quartic of ``--bandwidth-m`` on cells of ``--cell-m``: the API's FFT
  ``kernel_density`` over the whole area (the obvious alternative), ``density_in_one``
  (the direct convolution the blocks repeat) and ``density_on_dask`` with N workers;
- hot spots, Gi* over hexagons of ``--hex-m``: ``hotspots_in_one`` (the API's
  computation) and ``hotspots_on_dask`` with N workers;

each with its wall time and peak memory, and whether the answers agree (the Dask ones
exactly with the one-process one, the FFT density to 1e-9 of the peak).
"""

from __future__ import annotations

import importlib
import statistics
import time
from datetime import timedelta

import numpy as np
import psycopg
from city_coverage import (
    city_arguments,
    city_database,
    driver_peak,
    in_one_process,
    memory_gb_of,
    peak_rss_mb,
)

from api.incident_analysis import Grid, place_density
from beatbook.city_cli import INCIDENT_CHUNK_DAYS, INCIDENT_TILE_M
from beatbook.city_incidents import (
    DensityJob,
    HotspotJob,
    IncidentJob,
    density_in_one,
    density_on_dask,
    hotspots_in_one,
    hotspots_on_dask,
)
from beatbook.dask_client import dask_client
from db import analysis as queries
from db.engine import get_engine
from db.incidents import IncidentFilter

# The description of the copies: a second run adds only what is missing.
COPY = "bench copy"


def add_incidents(libpq: str, wanted: int, years: int) -> None:
    """Copies of the generator's incidents, on earlier days and a little apart, until there are ``wanted``."""
    with psycopg.connect(libpq) as conn, conn.transaction():
        have, generated, first, last = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE description IS DISTINCT FROM %s), min(occurred_at), "
            "max(occurred_at) FROM incident", (COPY,)).fetchone()
        if have >= wanted:
            print(f"reusing {have:,} incidents", flush=True)
            return
        copies = -(-(wanted - have) // generated)
        days = years * 365
        print(f"adding {wanted - have:,} incidents ({copies} jittered copies over {years} years) ...", flush=True)
        started = time.perf_counter()
        conn.execute("SELECT beatbook_ensure_months('incident', %s, %s)", (first - timedelta(days=days), last))
        conn.execute("""
            INSERT INTO incident (occurred_at, type, source, geom, synthetic, description)
            SELECT i.occurred_at - make_interval(days => 1 + floor(random() * %(days)s)::int), i.type, i.source,
                   ST_SetSRID(ST_MakePoint(ST_X(i.geom) + (random() - 0.5) * 0.003,
                                           ST_Y(i.geom) + (random() - 0.5) * 0.0015), 4326), true, %(copy)s
            FROM (SELECT * FROM incident WHERE description IS DISTINCT FROM %(copy)s) i,
                 generate_series(1, %(copies)s) AS copy
            LIMIT %(missing)s
        """, {"days": days - 31, "copies": copies, "missing": wanted - have, "copy": COPY})
        print(f"added in {time.perf_counter() - started:.0f} s", flush=True)


def _fft(job: DensityJob) -> dict:
    started = time.perf_counter()
    found = job.incidents.all()
    density = place_density(found, job.incidents.polygon(), Grid("kde", job.cell_m, job.bandwidth_m, job.kernel))
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb(), "values": density.values}


def _direct(job: DensityJob) -> dict:
    started = time.perf_counter()
    values = density_in_one(job).values
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb(), "values": values}


def _hotspots(job: HotspotJob) -> dict:
    started = time.perf_counter()
    table = hotspots_in_one(job, job.units()).table
    return {"seconds": time.perf_counter() - started, "peak_mb": peak_rss_mb(), "table": table}


def on_dask(workers: int, run, runs: int) -> dict:
    """The median wall time of ``run(client)``, its answer, and the peak memory of each worker and the driver."""
    with dask_client(workers=workers) as client, driver_peak() as driver_mb:
        client.run(importlib.import_module, "beatbook.city_incidents")
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            answer = run(client)
            times.append(time.perf_counter() - started)
        worker_peaks = client.run(peak_rss_mb)
    return {"seconds": statistics.median(times), "workers_mb": sorted(worker_peaks.values()),
            "driver_mb": driver_mb[0], "answer": answer}


def one(run, job, memory_gb: float) -> dict:
    """``run(job)`` in a fresh process: its time, peak and answer; it must fit in ``memory_gb``."""
    done = in_one_process(run, job, 1, memory_gb)
    if done is None:
        raise SystemExit(f"{run.__name__} ran out of its {memory_gb:.1f} GB: give --one-process-gb or fewer incidents")
    return done


def line(name: str, run: dict, agrees: str) -> str:
    memory = (f"peak per worker {', '.join(f'{m:,.0f}' for m in run['workers_mb'])} MB, driver "
              f"{run['driver_mb']:,.0f} MB" if "workers_mb" in run else f"peak {run['peak_mb']:,.0f} MB")
    return f"  {name:<28} {run['seconds']:7.1f} s  {memory}  {agrees}"


def main() -> None:
    parser = city_arguments(__doc__)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--cell-m", type=float, default=25.0)
    parser.add_argument("--bandwidth-m", type=float, default=250.0)
    parser.add_argument("--hex-m", type=float, default=100.0)
    parser.add_argument("--tile-m", type=float, default=INCIDENT_TILE_M)
    parser.add_argument("--chunk-days", type=int, default=INCIDENT_CHUNK_DAYS)
    args = parser.parse_args()

    libpq, url = city_database(args.buildings, args.fixes, args.seed)
    add_incidents(libpq, args.incidents, args.years)
    with get_engine(url).connect() as conn:
        area = queries.whole_area(conn)
        first, last = conn.exec_driver_sql("SELECT min(occurred_at), max(occurred_at) FROM incident").one()
    incidents = IncidentJob(url, area, IncidentFilter(first, last + timedelta(seconds=1)))
    density = DensityJob(incidents, args.cell_m, args.bandwidth_m)
    hot = HotspotJob(incidents, args.hex_m)
    lattice, units = density.lattice(), hot.units()
    memory_gb = memory_gb_of(args.one_process_gb)
    print(f"\n{first:%Y-%m-%d} to {last:%Y-%m-%d}: density on {lattice.nx:,} x {lattice.ny:,} cells of "
          f"{args.cell_m:g} m ({len(lattice.blocks(round(args.tile_m / args.cell_m)))} blocks), quartic "
          f"{args.bandwidth_m:g} m; hot spots on {len(units):,} hexagons of {args.hex_m:g} m; time chunks of "
          f"{args.chunk_days} days ({len(incidents.which.in_chunks(args.chunk_days))})", flush=True)

    print("density", flush=True)
    fft, direct = one(_fft, density, memory_gb), one(_direct, density, memory_gb)
    peak = direct["values"].max()
    print(line("FFT, one process (the API's)", fft,
               f"{direct['values'].sum() * lattice.cell_m ** 2 / 1e6:,.0f} incidents counted, peak {peak:,.1f} /km2"))
    print(line("direct, one process", direct, f"|direct - FFT| <= {np.abs(direct['values'] - fft['values']).max() / peak:.0e}"
               " of the peak"), flush=True)
    for n in args.workers:
        run = on_dask(n, lambda client: density_on_dask(client, density, tile_m=args.tile_m,
                                                         chunk_days=args.chunk_days).values, args.runs)
        same = "the same" if np.array_equal(run["answer"], direct["values"]) else "DIFFERENT"
        print(line(f"Dask, {n} worker{'s' if n > 1 else ''}", run, f"{same} as direct, one process"), flush=True)

    print("hot spots", flush=True)
    alone = one(_hotspots, hot, memory_gb)
    table = alone["table"]
    print(line("one process (the API's)", alone, f"{int(table['count'].sum()):,} incidents, "
               f"{int((table['label'] == 'hot').sum()):,} hot, {int((table['label'] == 'cold').sum()):,} cold"),
          flush=True)
    for n in args.workers:
        run = on_dask(n, lambda client: hotspots_on_dask(client, hot, units, tile_m=args.tile_m,
                                                          chunk_days=args.chunk_days).table, args.runs)
        same = "the same" if run["answer"].equals(table) else "DIFFERENT"
        print(line(f"Dask, {n} worker{'s' if n > 1 else ''}", run, f"{same} as one process"), flush=True)


if __name__ == "__main__":
    main()
