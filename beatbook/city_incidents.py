"""Incident density and hot spots of a whole city over months or years, cut into tiles and
time chunks and run on Dask, or in one process; the two give the same numbers.

Each task reads its own incidents from PostgreSQL (as ``beatbook/city_coverage.py``'s do);
only boxes, filters and small answers pass through the scheduler.

- Density: the city's cells in square blocks of about ``tile_m``. Per block and time chunk,
  a task reads the incidents within the kernel's reach of the block's cells; per block, a
  task bins them and convolves (``geo/tiled_density.py`` says why a block's cells come out
  as in one run over the whole grid, and that this is the API's FFT density to round-off).
  The driver puts the blocks together and traces the volume contours.
- Hot spots: per tile and time chunk, a task tallies the incidents that lie in its tile
  (each incident lies in exactly one) per hexagon. Tallies are whole numbers, so they add
  up to the city's counts exactly, in any order. Gi* then runs once, on the driver, over
  the city's hexagons, exactly as the API runs it for a place: its mean, variance and false
  discovery rate are city-wide, and over a city's hundred thousand hexagons they are a
  sparse product and a sort, seconds; reading and counting years of incidents is the work.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from distributed import Client, as_completed
from tqdm import tqdm

from db import analysis as queries
from db.city_tiles import lonlat_box, place_outline
from db.engine import get_engine
from db.incidents import IncidentFilter, Incidents, incidents
from geo.density import Density, kernel_stencil, volume_contours
from geo.incident_units import (
    HOTSPOT_MIN_INSIDE,
    Units,
    hexagon_tally,
    hexagon_units,
    hotspot_table,
    tally_counts,
)
from geo.tiled_density import Block, Lattice, assemble, block_density, stencil_radius
from geo.tiling import Box, TileGrid, tiles_over

# Incidents are asked for by the lon/lat box of a box in metres grown by this much (see
# db/city_tiles.TRACK_BOX_MARGIN_M), and then picked exactly in metres.
READ_MARGIN_M = 50.0


@dataclass(frozen=True)
class IncidentJob:
    """Which incidents: those of the place that ``which`` selects, read from the database at
    ``url`` (a SQLAlchemy URL the workers can reach)."""

    url: str
    place: queries.Place
    which: IncidentFilter

    def all(self) -> Incidents:
        """Every incident of the job at once: the one-process path, the API's read."""
        with get_engine(self.url).connect() as conn:
            return incidents(conn, self.place, self.which)

    def in_box(self, which: IncidentFilter, box: Box) -> Incidents:
        """The incidents of one chunk that lie in a box (metres), and a few just outside it."""
        with get_engine(self.url).connect() as conn:
            return incidents(conn, self.place, which, box=lonlat_box(box.grown(READ_MARGIN_M), self.place.srid))

    def polygon(self) -> shapely.Geometry:
        polygon = self.place.metric_polygon()
        shapely.prepare(polygon)
        return polygon


def _tasks_done(futures: list, what: str, progress: bool) -> None:
    with tqdm(total=len(futures), unit=f" {what}", file=sys.stderr, disable=not progress) as bar:
        for _ in as_completed(futures):
            bar.update()


# --- density --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DensityJob:
    """A kernel density of the incidents in incidents per km^2, on cells of ``cell_m`` over the
    place's box, zero outside the place: the API's density, with the bandwidth given (a
    bandwidth chosen from the incidents, the API's default, would need all of them first)."""

    incidents: IncidentJob
    cell_m: float = 25.0
    bandwidth_m: float = 250.0
    kernel: str = "quartic"

    def lattice(self) -> Lattice:
        return Lattice.over(self.incidents.polygon().bounds, self.cell_m)

    def stencil(self) -> np.ndarray:
        return kernel_stencil(self.kernel, self.bandwidth_m, self.cell_m)

    def block(self, lattice: Lattice, block: Block, parts: list[Incidents]) -> np.ndarray:
        """The block's cells from the incidents read for it, zero where a cell's centre is outside the place."""
        x, y = (np.concatenate([getattr(p, axis) for p in parts]) for axis in "xy")
        values = block_density(x, y, lattice, block, self.stencil())
        c = lattice.cell_m
        centres = np.meshgrid(lattice.x0 + (np.arange(block.col0, block.col1) + 0.5) * c,
                              lattice.y0 + (np.arange(block.row0, block.row1) + 0.5) * c)
        return np.where(shapely.contains_xy(self.incidents.polygon(), *centres), values, 0.0)

    def density(self, lattice: Lattice, values: np.ndarray) -> Density:
        return Density(lattice.x0, lattice.y0, lattice.cell_m, values, self.bandwidth_m, self.kernel, "given")


def density_in_one(job: DensityJob) -> Density:
    """The density in this process, every incident and cell at once: what the blocks must give."""
    lattice = job.lattice()
    return job.density(lattice, job.block(lattice, lattice.whole(), [job.incidents.all()]))


def density_on_dask(client: Client, job: DensityJob, *, tile_m: float, chunk_days: int,
                    progress: bool = True) -> Density:
    """The density block by block and chunk by chunk on the client's workers; a bar on stderr
    counts the blocks done."""
    lattice = job.lattice()
    blocks = lattice.blocks(max(1, round(tile_m / job.cell_m)))
    radius = stencil_radius(job.stencil())
    chunks = job.incidents.which.in_chunks(chunk_days)
    futures = []
    for block in blocks:
        box = block.reach(lattice, radius)
        parts = [client.submit(job.incidents.in_box, which, box, pure=False) for which in chunks]
        futures.append(client.submit(job.block, lattice, block, parts, pure=False))
    _tasks_done(futures, "blocks", progress)
    return job.density(lattice, assemble(lattice, blocks, client.gather(futures)))


# --- hot spots ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HotspotJob:
    """Getis-Ord Gi* of incidents per km^2 over hexagons of edge ``cell_m`` covering the place
    (those at least a quarter inside), as the API's hot spots."""

    incidents: IncidentJob
    cell_m: float = 100.0
    alpha: float = 0.05
    fdr: bool = True
    permutations: int = 0

    def units(self) -> Units:
        """The hexagons; a ValueError says so if there would be too many for the cell size."""
        return hexagon_units(self.incidents.polygon(), self.cell_m, min_inside=HOTSPOT_MIN_INSIDE)

    def tally(self, grid: TileGrid, tile: int, which: IncidentFilter) -> pd.DataFrame:
        """The hexagon tally of the incidents of one chunk that lie in the tile."""
        found = self.incidents.in_box(which, grid.square(tile))
        mine = grid.tile_of(found.x, found.y) == tile
        return hexagon_tally(found.x[mine], found.y[mine], self.cell_m)

    def answer(self, units: Units, counts: np.ndarray) -> CityHotspots:
        return CityHotspots(units, hotspot_table(units, counts, alpha=self.alpha, fdr=self.fdr,
                                                 permutations=self.permutations))


@dataclass(frozen=True)
class CityHotspots:
    """The hexagons (metres) and, per hexagon in their order, count, rate, z, p, p_adjusted, label."""

    units: Units
    table: pd.DataFrame


def hotspots_in_one(job: HotspotJob, units: Units) -> CityHotspots:
    """The hot spots over the job's units in this process, every incident at once: the API's computation."""
    found = job.incidents.all()
    return job.answer(units, units.counts(found.x, found.y))


def hotspots_on_dask(client: Client, job: HotspotJob, units: Units, *, tile_m: float, chunk_days: int,
                     progress: bool = True) -> CityHotspots:
    """The hot spots over the job's units with the incidents counted tile by tile and chunk by
    chunk on the client's workers; a bar on stderr counts the tallies done."""
    grid, tiles = tiles_over(place_outline(job.incidents.place), tile_m)
    futures = [client.submit(job.tally, grid, tile, which, pure=False)
               for tile in tiles for which in job.incidents.which.in_chunks(chunk_days)]
    _tasks_done(futures, "tallies", progress)
    tallies = pd.concat(client.gather(futures), ignore_index=True)
    return job.answer(units, tally_counts(units, tallies, job.cell_m))


# --- files ----------------------------------------------------------------------------------------


def write_density(density: Density, srid: int, path) -> None:
    """A GeoTIFF of the density (incidents per km^2, float64) in the place's metric CRS."""
    import rasterio
    from rasterio.transform import Affine

    ny, nx = density.values.shape
    north = density.y0 + ny * density.cell_m
    with rasterio.open(path, "w", driver="GTiff", width=nx, height=ny, count=1, dtype="float64", crs=f"EPSG:{srid}",
                       # Built whole: rasterio's from_origin multiplies with the "*" affine deprecates.
                       transform=Affine(density.cell_m, 0.0, density.x0, 0.0, -density.cell_m, north),
                       compress="deflate") as raster:
        raster.write(density.values[::-1], 1)  # rasters run from the north; row 0 here is the south
        raster.update_tags(units="incidents per km2", kernel=density.kernel, bandwidth_m=str(density.bandwidth_m))


def write_contours(density: Density, srid: int, path) -> None:
    """A GeoPackage layer of the 50, 75 and 90 % volume contours in lon/lat, with their levels."""
    found = volume_contours(density)
    gpd.GeoDataFrame({"share": [c.share for c in found], "level_per_km2": [c.level for c in found]},
                     geometry=[c.geometry for c in found], crs=srid).to_crs(4326) \
        .to_file(path, driver="GPKG", layer="volume_contours")


def write_hotspots(answer: CityHotspots, srid: int, path) -> None:
    """A GeoPackage layer of the hexagons in lon/lat: key, count, rate, z, p, p_adjusted, label."""
    frame = answer.table.assign(key=answer.units.key)
    gpd.GeoDataFrame(frame[["key", *answer.table.columns]], geometry=answer.units.geometry, crs=srid) \
        .to_crs(4326).to_file(path, driver="GPKG", layer="hotspots")

