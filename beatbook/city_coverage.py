"""The city coverage: street coverage and the revisits of every street, entrance and focus
area of the area over many nights, cut into tiles and time chunks and run on Dask, or in one
process.

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
    """What to measure: the place's streets, entrances and focus areas, over the nights, within the radius;
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

    def anchors(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """Where each street segment, entrance and focus area is (id, x, y), to cut them into tiles."""
        with get_engine(self.url).connect() as conn:
            return (city_tiles.street_anchors(conn, self.place), queries.entrances(conn, self.place),
                    city_tiles.focus_anchors(conn, self.place))

    def targets(self, plan: TilePlan) -> TileTargets:
        """A tile's streets, entrances and focus areas, read by the worker that measures them."""
        with get_engine(self.url).connect() as conn:
            return TileTargets.of(city_tiles.tile_streets(conn, self.place, plan.street_ids),
                                  city_tiles.tile_entrances(conn, self.place, plan.entrance_ids)[["id", "x", "y"]],
                                  city_tiles.tile_focus_areas(conn, self.place, plan.focus_ids),
                                  city_tiles.focus_streets(conn, self.place, plan.focus_ids))

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
    plans = plan_tiles(*job.anchors(), tile_m)
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
        focus = queries.focus_areas(conn, job.place).drop(columns="geojson")
        vertices = queries.track_vertices(conn, job.place, since=since, until=until, radius_m=job.radius_m)
    return whole_city(streets, entrances, focus, vertices, job.nights, job.radius_m)


def write_coverage(answer: CityCoverage, srid: int, path: Path) -> None:
    """A GeoPackage of four layers in lon/lat: streets (with covered_m), street_gaps,
    entrances and focus_areas (with covered_m, their passes, last_pass as a UTC time, and the
    gaps between passes)."""
    doors, focus = answer.entrances, answer.focus_areas
    layers = {
        "streets": answer.streets,
        "street_gaps": answer.gaps,
        "entrances": doors.drop(columns=["x", "y"]).assign(
            last_pass=pd.to_datetime(doors["last_pass"], unit="s", utc=True),
            geometry=gpd.points_from_xy(doors["x"], doors["y"])),
        "focus_areas": focus.assign(last_pass=pd.to_datetime(focus["last_pass"], unit="s", utc=True)),
    }
    for name, frame in layers.items():
        gpd.GeoDataFrame(frame, geometry="geometry", crs=srid).to_crs(4326).to_file(path, driver="GPKG", layer=name)
