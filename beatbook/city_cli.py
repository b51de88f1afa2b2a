"""``beatbook city``: the batch analyses of a whole city, cut into tiles and time chunks and run
on Dask (a local cluster, or the scheduler of ``--scheduler`` / ``BEATBOOK_DASK_SCHEDULER``),
or all in this process with ``--workers 0``. Each writes a file for a GIS."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from beatbook.settings import get_settings

city_app = typer.Typer(help="Analyses of the whole area at city scale, in tiles on Dask.", no_args_is_help=True)

Answer = TypeVar("Answer")

Workers = Annotated[int, typer.Option(
    min=0, help="Local worker processes (without --scheduler); 0 runs it all in this process.")]
Scheduler = Annotated[str | None, typer.Option(
    show_default="BEATBOOK_DASK_SCHEDULER", help="A Dask scheduler's address, e.g. tcp://10.0.0.5:8786.")]
TileM = Annotated[float, typer.Option(min=50.0, help="Side of the square tiles, metres.")]


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _whole_area(scheduler: str | None):
    """The area, from the database the workers will read too."""
    from beatbook.cli import database_url
    from db import analysis as queries
    from db.engine import get_engine

    database_url()
    if scheduler and get_settings().uses_embedded_db:
        _say("the embedded database listens on a local socket only: workers on other machines need "
             "DATABASE_URL set to an address they can reach")
    with get_engine().connect() as conn:
        area = queries.whole_area(conn)
    if area is None:
        _say("no area is set: load one (beatbook demo, beatbook synth, or import your own)")
        raise typer.Exit(1)
    return area


def _run(workers: int, scheduler: str | None, in_one: Callable[[], Answer],
         on_dask: Callable[..., Answer]) -> tuple[Answer, float]:
    """The answer, in this process or on Dask, and the seconds it took."""
    from beatbook.dask_client import dask_client

    started = time.perf_counter()
    if workers == 0 and not scheduler:
        answer = in_one()
    else:
        with dask_client(workers=workers, scheduler=scheduler) as client:
            answer = on_dask(client)
    return answer, time.perf_counter() - started


def _incidents(area, start: datetime | None, end: datetime | None, types: str | None, *, days: int):
    """Which incidents count: those of the days asked for (by default the ``days`` up to the
    latest incident's day) and types; with those first and last days."""
    from api.incident_analysis import default_dates
    from api.incident_params import local_range
    from db.engine import get_engine
    from db.incidents import IncidentFilter

    with get_engine().connect() as conn:
        first, last = default_dates(conn, area, _day(start), _day(end), days=days)
    if last < first:
        raise typer.BadParameter(f"the end ({last}) is before the start ({first})", param_hint="--end")
    since, until = local_range(area.tz, first, last)
    kinds = tuple(sorted({t.strip() for t in types.split(",") if t.strip()})) if types else ()
    return IncidentFilter(since, until, kinds), first, last


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


@city_app.command()
def coverage(
    out: Annotated[Path, typer.Option(help="The GeoPackage to write: layers streets, street_gaps, entrances.")],
    start: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="First night (the date it starts on); default: 29 nights before the last.")] = None,
    end: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="Last night; default: the last night with patrols.")] = None,
    window: Annotated[str, typer.Option(help="Daily window in local time; may cross midnight.")] = "22:00-06:00",
    radius: Annotated[float, typer.Option(min=0.1, help="Cover radius, metres.")] = 30.0,
    tile_m: TileM = 2000.0,
    chunk_days: Annotated[int, typer.Option(
        min=1, help="Tracks are read this many days at a time; fewer days, less memory a task.")] = 31,
    workers: Workers = 2,
    scheduler: Scheduler = None,
) -> None:
    """Street coverage and the revisits of entrances and focus areas, over the whole area and many nights."""
    from beatbook.city_coverage import CoverageJob, run_in_one, run_on_dask, write_coverage
    from db import analysis as queries
    from db.engine import get_engine
    from geo.patrol_gaps import Nights
    from geo.windows import DailyWindow

    scheduler = scheduler or get_settings().dask_scheduler
    try:
        daily = DailyWindow.parse(window)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--window") from None
    area = _whole_area(scheduler)
    if end is None:
        with get_engine().connect() as conn:
            last = queries.last_patrol_night_end(conn, area)
        end = last - timedelta(hours=12) if last else datetime.now() - timedelta(days=1)
    last_night = end.date()
    first_night = start.date() if start else last_night - timedelta(days=29)
    if last_night < first_night:
        raise typer.BadParameter(f"the end ({last_night}) is before the start ({first_night})", param_hint="--end")
    job = CoverageJob(get_settings().sqlalchemy_url, area, Nights(daily, first_night, last_night, area.tz), radius)
    answer, took = _run(workers, scheduler, lambda: run_in_one(job),
                        lambda client: run_on_dask(client, job, tile_m=tile_m, chunk_days=chunk_days))
    write_coverage(answer, area.srid, out)
    streets, doors, focus = answer.streets, answer.entrances, answer.focus_areas
    typer.echo(f"nights {first_night} to {last_night}, {daily}, radius {radius:g} m, in {took:.1f} s: "
               f"{streets['covered_m'].sum() / 1000:,.1f} of {streets['length_m'].sum() / 1000:,.1f} km of street "
               f"covered, {int((doors['passes'] > 0).sum()):,} of {len(doors):,} entrances and "
               f"{int((focus['passes'] > 0).sum()):,} of {len(focus):,} focus areas passed; wrote {out}")


# Incidents are far fewer than GPS fixes: a tile and chunk of the coverage's size would hold a few
# hundred, and each task costs about 10 ms of its own (a query, a hand-over), so theirs are larger.
INCIDENT_TILE_M, INCIDENT_CHUNK_DAYS = 5000.0, 365
IncidentChunkDays = Annotated[int, typer.Option(min=1, help="Incidents are read this many days at a time.")]
Types = Annotated[str | None, typer.Option(help="Incident types, comma-separated; default: all.")]
YearStart = Annotated[datetime | None, typer.Option(
    formats=["%Y-%m-%d"], help="First day (local); default: 364 days before the last.")]
LastDay = Annotated[datetime | None, typer.Option(
    formats=["%Y-%m-%d"], help="Last day (local); default: the latest incident's.")]


@city_app.command()
def density(
    out: Annotated[Path, typer.Option(help="The GeoTIFF to write: incidents per km2, in the area's metric CRS.")],
    contours: Annotated[Path | None, typer.Option(
        help="Also a GeoPackage of the 50, 75 and 90 % volume contours.")] = None,
    start: YearStart = None,
    end: LastDay = None,
    types: Types = None,
    cell_m: Annotated[float, typer.Option(min=1.0, help="Side of a cell, metres.")] = 25.0,
    bandwidth_m: Annotated[float, typer.Option(
        min=1.0, help="Quartic: search radius; gaussian: standard deviation; metres.")] = 250.0,
    kernel: Annotated[str, typer.Option(help="quartic or gaussian.")] = "quartic",
    tile_m: TileM = INCIDENT_TILE_M,
    chunk_days: IncidentChunkDays = INCIDENT_CHUNK_DAYS,
    workers: Workers = 2,
    scheduler: Scheduler = None,
) -> None:
    """Kernel density of the incidents over the whole area, block of cells by block of cells."""
    from beatbook.city_incidents import (
        DensityJob,
        IncidentJob,
        density_in_one,
        density_on_dask,
        write_contours,
        write_density,
    )
    from geo.density import kernel_stencil

    scheduler = scheduler or get_settings().dask_scheduler
    try:
        kernel_stencil(kernel, bandwidth_m, cell_m)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    area = _whole_area(scheduler)
    which, first, last = _incidents(area, start, end, types, days=365)
    job = DensityJob(IncidentJob(get_settings().sqlalchemy_url, area, which), cell_m, bandwidth_m, kernel)
    answer, took = _run(workers, scheduler, lambda: density_in_one(job),
                        lambda client: density_on_dask(client, job, tile_m=tile_m, chunk_days=chunk_days))
    write_density(answer, area.srid, out)
    if contours:
        write_contours(answer, area.srid, contours)
    ny, nx = answer.values.shape
    typer.echo(f"{first} to {last}, {kernel} kernel of {bandwidth_m:g} m on {nx:,} x {ny:,} cells of {cell_m:g} m, "
               f"in {took:.1f} s: {answer.values.sum() * answer.cell_area_km2:,.0f} incidents, peak "
               f"{answer.values.max(initial=0.0):,.1f} per km2; wrote {out}" + (f" and {contours}" if contours else ""))


@city_app.command()
def hotspots(
    out: Annotated[Path, typer.Option(help="The GeoPackage to write: hexagons with count, rate, z, p and label.")],
    start: YearStart = None,
    end: LastDay = None,
    types: Types = None,
    cell_m: Annotated[float, typer.Option(min=1.0, help="Edge of a hexagon, metres.")] = 100.0,
    alpha: Annotated[float, typer.Option(min=0.0, max=1.0, help="Significance level.")] = 0.05,
    permutations: Annotated[int, typer.Option(
        min=0, help="p by conditional randomisation with this many draws; 0: the normal approximation.")] = 0,
    tile_m: TileM = INCIDENT_TILE_M,
    chunk_days: IncidentChunkDays = INCIDENT_CHUNK_DAYS,
    workers: Workers = 2,
    scheduler: Scheduler = None,
) -> None:
    """Getis-Ord Gi* hot and cold spots of the incidents over hexagons of the whole area."""
    from beatbook.city_incidents import (
        HotspotJob,
        IncidentJob,
        hotspots_in_one,
        hotspots_on_dask,
        write_hotspots,
    )

    scheduler = scheduler or get_settings().dask_scheduler
    area = _whole_area(scheduler)
    which, first, last = _incidents(area, start, end, types, days=365)
    job = HotspotJob(IncidentJob(get_settings().sqlalchemy_url, area, which), cell_m, alpha,
                     permutations=permutations)
    try:
        units = job.units()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--cell-m") from None
    answer, took = _run(workers, scheduler, lambda: hotspots_in_one(job, units),
                        lambda client: hotspots_on_dask(client, job, units, tile_m=tile_m, chunk_days=chunk_days))
    write_hotspots(answer, area.srid, out)
    labels = answer.table["label"].value_counts()
    typer.echo(f"{first} to {last}, {len(answer.table):,} hexagons of {cell_m:g} m, in {took:.1f} s: "
               f"{int(answer.table['count'].sum()):,} incidents, {int(labels.get('hot', 0)):,} hot and "
               f"{int(labels.get('cold', 0)):,} cold hexagons; wrote {out}")


@city_app.command()
def cameras(
    out: Annotated[Path, typer.Option(help="The GeoPackage to write: layer camera_sites.")],
    k: Annotated[int, typer.Option(min=1, help="New camera sites, city-wide.")] = 20,
    start: Annotated[datetime | None, typer.Option(
        formats=["%Y-%m-%d"], help="First day of incidents counted (local); default: 89 days before the last.")] = None,
    end: LastDay = None,
    types: Annotated[str | None, typer.Option(help="Incident types counted, comma-separated; default: all.")] = None,
    range_m: Annotated[float, typer.Option(
        "--range", min=0.1, max=500.0, help="How far a new camera sees, metres, all round.")] = 30.0,
    spacing: Annotated[float, typer.Option(min=5.0, help="A candidate site every this many metres of street.")] = 20.0,
    time_limit: Annotated[float, typer.Option(
        min=1.0, help="For the exact solver, seconds; past it, the best set found (or greedy's).")] = 60.0,
    tile_m: TileM = 2000.0,
    chunk_days: IncidentChunkDays = 28,
    workers: Workers = 2,
    scheduler: Scheduler = None,
) -> None:
    """k new camera sites for the whole area's unguarded entrances and incidents, modelled in tiles."""
    from beatbook.city_siting import SitingJob, run_in_one, run_on_dask, write_sites

    scheduler = scheduler or get_settings().dask_scheduler
    area = _whole_area(scheduler)
    which, first, last = _incidents(area, start, end, types, days=90)
    job = SitingJob(get_settings().sqlalchemy_url, area, which, k=k, range_m=range_m, spacing_m=spacing,
                    time_limit_s=time_limit)
    answer, took = _run(workers, scheduler, lambda: run_in_one(job),
                        lambda client: run_on_dask(client, job, tile_m=tile_m, chunk_days=chunk_days))
    write_sites(answer, area.srid, out)
    result, model = answer.result, answer.model
    typer.echo(f"incidents {first} to {last}, in {took:.1f} s: {len(result.sites)} sites of "
               f"{len(model.sites):,} candidates for {len(model.demand):,} demand points; cameras "
               f"see {result.already_share:.1%} of the weight already, the new sites {result.newly_share:.1%} "
               f"more (bound {result.bound / result.total_weight if result.total_weight else 0:.1%}, "
               f"{result.status}); wrote {out}")
