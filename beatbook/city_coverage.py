"""The city coverage: street coverage and entrance revisits of every street and entrance of
the area over many nights, cut into tiles and time chunks and run on Dask, or in one process.

Each task reads its own inputs from PostgreSQL (a worker on another machine needs a
DATABASE_URL it can reach); only ids, boxes and answers pass through the scheduler.
Tasks, in a graph per tile: read the tile's targets; per time chunk, read the tracks
near them and find their covered stretches and passes; merge the chunks. The driver
merges the tiles (``geo/tiled_coverage.py`` says why the answer is the one-run answer).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import pandas as pd
from distributed import Client, as_completed
from tqdm import tqdm

from db import analysis as queries
from db import city_tiles
from db.engine import get_engine
from geo.patrol_gaps import Nights
from geo.tiled_coverage import (
    ChunkPart,
    CityCoverage,
    TilePlan,
    TileTargets,
    chunk_part,
    merge_chunks,
    merge_tiles,
    plan_tiles,
    whole_city,
)
from geo.tiling import TimeChunk, time_chunks


@dataclass(frozen=True)
class CoverageJob:
    """What to measure: the place's streets and entrances, over the nights, within the radius;
    read from the database at ``url`` (a SQLAlchemy URL the workers can reach)."""

    url: str
    place: queries.Place
    nights: Nights
    radius_m: float

    @property
    def period(self) -> tuple[datetime, datetime]:
        """A generous UTC range of the tracks asked for (the API's); the nights' windows cut exactly."""
        return (datetime.combine(self.nights.first, datetime.min.time(), UTC) - timedelta(days=1),
                datetime.combine(self.nights.last, datetime.min.time(), UTC) + timedelta(days=3))

    def anchors(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Where each street segment and entrance is (id, x, y), to cut them into tiles."""
        with get_engine(self.url).connect() as conn:
            return city_tiles.street_anchors(conn, self.place), queries.entrances(conn, self.place)

    def targets(self, plan: TilePlan) -> TileTargets:
        """A tile's streets and entrances, read by the worker that measures them."""
        with get_engine(self.url).connect() as conn:
            return TileTargets(city_tiles.tile_streets(conn, self.place, plan.street_ids),
                               city_tiles.tile_entrances(conn, self.place, plan.entrance_ids)[["id", "x", "y"]])

    def part(self, targets: TileTargets, chunk: TimeChunk) -> ChunkPart:
        """A tile's covered stretches and passes in one time chunk, from the tracks near it."""
        since, until = self.period
        with get_engine(self.url).connect() as conn:
            vertices = city_tiles.chunk_track_vertices(conn, self.place, since=since, until=until,
                                                       radius_m=self.radius_m, chunk=chunk,
                                                       halo=targets.halo(self.radius_m))
        return chunk_part(targets, vertices, self.nights, self.radius_m)


def run_on_dask(client: Client, job: CoverageJob, *, tile_m: float, chunk_days: int,
                progress: bool = True) -> CityCoverage:
    """The coverage, tile by tile and chunk by chunk on the client's workers; a bar on stderr
    counts the tiles done."""
    street_anchors, entrance_anchors = job.anchors()
    plans = plan_tiles(street_anchors, entrance_anchors, tile_m)
    if not plans:
        return run_in_one(job)  # nothing to cut into tiles: the (empty) answer of one run
    chunks = time_chunks(*job.period, chunk_days)
    tiles = []
    for plan in plans:
        # Submitted tile by tile: the scheduler favours what came first, so a tile's chunks
        # are merged (and their parts let go) before most other tiles start.
        targets = client.submit(job.targets, plan, pure=False)
        parts = [client.submit(job.part, targets, chunk, pure=False) for chunk in chunks]
        tiles.append(client.submit(merge_chunks, targets, parts, job.nights, pure=False))
    with tqdm(total=len(tiles), unit=" tiles", desc=f"{len(plans)} tiles x {len(chunks)} chunks",
              file=sys.stderr, disable=not progress) as bar:
        for _ in as_completed(tiles):
            bar.update()
    return merge_tiles(client.gather(tiles))


def run_in_one(job: CoverageJob) -> CityCoverage:
    """The coverage in this process, everything at once: the answer the tiles must give."""
    since, until = job.period
    with get_engine(job.url).connect() as conn:
        streets = queries.streets(conn, job.place)
        entrances = queries.entrances(conn, job.place)[["id", "x", "y"]]
        vertices = queries.track_vertices(conn, job.place, since=since, until=until, radius_m=job.radius_m)
    return whole_city(streets, entrances, vertices, job.nights, job.radius_m)


def write_coverage(answer: CityCoverage, srid: int, path: Path) -> None:
    """A GeoPackage of three layers in lon/lat: streets (with covered_m), street_gaps, and
    entrances (with their passes, last_pass as a UTC time, and the gaps between passes)."""
    doors = answer.entrances
    layers = {
        "streets": answer.streets,
        "street_gaps": answer.gaps,
        "entrances": doors.drop(columns=["x", "y"]).assign(
            last_pass=pd.to_datetime(doors["last_pass"], unit="s", utc=True),
            geometry=gpd.points_from_xy(doors["x"], doors["y"])),
    }
    for name, frame in layers.items():
        gpd.GeoDataFrame(frame, geometry="geometry", crs=srid).to_crs(4326).to_file(path, driver="GPKG", layer=name)
