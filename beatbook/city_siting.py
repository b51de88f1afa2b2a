"""Camera siting over a whole city: k new camera sites for every unguarded entrance and
incident of the area, the model built tile by tile and time chunk by time chunk on Dask,
or in one process.

Each task reads its own inputs from PostgreSQL (a worker on another machine needs a
DATABASE_URL it can reach); only tiles, chunks and parts (demand, pairs, sites) pass through
the scheduler. Tasks, in a graph per tile: make the candidate sites of the streets near the
tile and read the cameras near it; read the tile's entrances with what the audit weighs and
pair them with the sites; per time chunk, read the tile's incidents and pair them; stack the
tile's parts. The driver stacks the tiles' parts into the model of the whole city
(``geo/tiled_siting.py`` says why it is the one-run model, number for number) and solves it.

The solve is global, one choice of k sites city-wide, in the driver: a site in one tile
competes with the sites of every other tile for the k, so it cannot be cut into tiles. It is
``api.siting.solve``, the API's, and so is the demand (``api.siting.place_demand``): the
answer is the API's camera plan for the whole area with street candidates. HiGHS is
deterministic, so the two paths agree exactly as long as it finishes within its time limit;
one cut short by the limit stops wherever the clock finds it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
from distributed import Client, as_completed
from tqdm import tqdm

from api import siting
from db import analysis as queries
from db import city_siting
from db.city_tiles import place_outline
from db.engine import get_engine
from db.incidents import IncidentFilter, incidents_and_burglaries
from geo.siting import (
    DemandWeights,
    Siting,
    camera_coverage,
    chosen_sites,
    entrance_demand,
    incident_demand,
    street_sites,
    unguarded_entrances,
)
from geo.tiled_siting import (
    Part,
    SitingModel,
    SitingTile,
    Surroundings,
    part_of,
    plan_tiles,
    stack,
    whole_model,
)


@dataclass(frozen=True)
class SitingJob:
    """What to plan: ``k`` new cameras for the place's demand (``api.siting.place_demand``: its
    unguarded entrances and the incidents ``which`` selects, weighed by ``weights``), at sites
    every ``spacing_m`` along its streets that see ``range_m`` all round, the exact solver
    stopping after ``time_limit_s``; read from the database at ``url`` (a SQLAlchemy URL the
    workers can reach)."""

    url: str
    place: queries.Place
    which: IncidentFilter
    k: int
    range_m: float = 30.0
    spacing_m: float = 20.0
    weights: DemandWeights = field(default_factory=DemandWeights)
    time_limit_s: float = 60.0

    def tiles(self, tile_m: float) -> list[SitingTile]:
        return plan_tiles(place_outline(self.place), tile_m)

    def surroundings(self, tile: SitingTile) -> Surroundings:
        """The candidate sites within the tile's reach, made from whole streets, and the cameras near it."""
        with get_engine(self.url).connect() as conn:
            streets = city_siting.streets_near(conn, self.place, tile.reach(self.range_m))
            cameras = city_siting.near_cameras(conn, self.place, tile.square)
        return Surroundings.of(tile, street_sites(streets["geometry"].to_numpy(), self.spacing_m), cameras,
                               self.range_m)

    def entrances(self, tile: SitingTile, near: Surroundings) -> Part:
        """The tile's unguarded entrances, paired with the sites that see them; and the tile's sites."""
        with get_engine(self.url).connect() as conn:
            doors = city_siting.tile_entrances(conn, self.place, tile.square)
            burgled = city_siting.near_burglaries(conn, self.place, tile.square, since=self.which.since,
                                                  until=self.which.until)
        doors = doors[tile.owns(doors["x"].to_numpy(), doors["y"].to_numpy())]
        demand = entrance_demand(unguarded_entrances(doors, near.cameras, burgled), self.weights)
        return part_of(demand, near, self.range_m, with_sites=True)

    def incidents(self, tile: SitingTile, which: IncidentFilter, near: Surroundings) -> Part:
        """The tile's incidents of one time chunk (``which``), paired with the sites that see them."""
        with get_engine(self.url).connect() as conn:
            found, burgled = incidents_and_burglaries(conn, self.place, which,
                                                      box=city_siting.near(tile.square, self.place.srid))
        found, burgled = (f.where(tile.owns(f.x, f.y)) for f in (found, burgled))
        return part_of(incident_demand(found, burgled, near.cameras, self.weights), near, self.range_m,
                       with_sites=False)


@dataclass(frozen=True)
class CitySiting:
    """The model and its solve: the exact choice (``result``), the greedy one beside it, and
    how long each took (``seconds``: greedy_s, exact_s; no part of the answer)."""

    model: SitingModel
    result: Siting
    greedy: Siting
    seconds: dict = field(compare=False)

    @property
    def sites(self) -> pd.DataFrame:
        """The chosen sites in metres (``geo.siting.chosen_sites``)."""
        model = self.model
        return chosen_sites(self.result, model.sites, model.demand, model.coverage)


def run_on_dask(client: Client, job: SitingJob, *, tile_m: float, chunk_days: int,
                progress: bool = True) -> CitySiting:
    """The siting, its model built tile by tile and chunk by chunk on the client's workers and
    solved here; a bar on stderr counts the tiles done."""
    tiles = job.tiles(tile_m)
    chunks = job.which.in_chunks(chunk_days)
    parts = []
    for tile in tiles:
        # Submitted tile by tile: the scheduler favours what came first, so a tile's parts are
        # stacked (and let go) before most other tiles start.
        near = client.submit(job.surroundings, tile, pure=False)
        pieces = [client.submit(job.entrances, tile, near, pure=False),
                  *(client.submit(job.incidents, tile, chunk, near, pure=False) for chunk in chunks)]
        parts.append(client.submit(stack, pieces, pure=False))
    with tqdm(total=len(parts), unit=" tiles", desc=f"{len(tiles)} tiles x {len(chunks)} chunks",
              file=sys.stderr, disable=not progress) as bar:
        for _ in as_completed(parts):
            bar.update()
    return _solved(job, whole_model(stack(client.gather(parts))))


def run_in_one(job: SitingJob) -> CitySiting:
    """The siting in this process, everything at once, as the API plans it for one place: the
    answer the tiles must give."""
    with get_engine(job.url).connect() as conn:
        demand = siting.place_demand(conn, job.place, queries.cameras(conn, job.place), job.which, job.weights)
        sites = siting.street_candidates(conn, job.place, job.spacing_m).frame
    return _solved(job, SitingModel(demand, sites, camera_coverage(demand, sites, range_m=job.range_m)))


def _solved(job: SitingJob, model: SitingModel) -> CitySiting:
    return CitySiting(model, *siting.solve(model.coverage, job.k, job.time_limit_s))


def write_sites(answer: CitySiting, srid: int, path: Path) -> None:
    """A GeoPackage layer camera_sites in lon/lat: each chosen site with its rank, the weight it
    adds and that weight's share of all demand, and the entrances and incidents it adds."""
    sites = answer.sites
    gpd.GeoDataFrame(sites.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(sites["x"], sites["y"]),
                     crs=srid).to_crs(4326).to_file(path, driver="GPKG", layer="camera_sites")
