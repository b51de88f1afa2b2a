"""Camera siting over a whole city, tile by tile and time chunk by time chunk, merged into
exactly the model one run over everything builds (``geo.siting.camera_coverage``), so that
the one solve of it (k sites city-wide) chooses exactly the same sites.

Pure: frames in a metric CRS in, parts and the merged model out. The inputs of a tile are
read where they are (``db/city_siting.py``) and the parts run anywhere
(``beatbook/city_siting.py``).

Why the merge is exact, number for number:

- a demand point (an entrance, an incident) and a candidate site belong to exactly one
  tile, the one their position falls in; the tiles cover the whole place with a margin,
  so nothing lies off the grid;
- a tile makes its candidate sites from every street near it, each street whole, as one
  run makes them from all streets (``geo.siting.points_along``: per street, rounded to the
  centimetre): a site comes out at the very same point whichever tile makes it, and is known
  by that point wherever it is made;
- a tile pairs its own demand with every candidate site within its *reach*, the tile grown
  by the range and a slack metre: every site that could see a point of the tile. A pair is
  decided by ``geo.cameras.in_view`` on the two alone, so a tile finds exactly the pairs of
  its demand that one run finds;
- the demand of all parts, stacked, put in the canonical order (``geo.siting.canonical_order``)
  and the sites in the order one run lists them (by x, then y), give ``coverage_from_pairs``
  the same pairs, weights and order as one run: the same groups, sums and ties.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from geo.cameras import pairs_in_view
from geo.siting import Coverage, canonical_order, coverage_from_pairs
from geo.tiling import HALO_SLACK_M, Box, TileGrid, concat_parts, tiles_over

SITE_COLUMNS = ["x", "y", "direction_deg", "fov_deg"]


@dataclass(frozen=True)
class SitingTile:
    """One square of the grid, and the demand and candidate sites it answers for: those whose
    position falls in it (``TileGrid.tile_of``)."""

    grid: TileGrid
    index: int

    @property
    def square(self) -> Box:
        return self.grid.square(self.index)

    def owns(self, x, y) -> np.ndarray:
        return self.grid.tile_of(x, y) == self.index

    def reach(self, range_m: float) -> Box:
        """Where every candidate site that may see a point of the tile lies."""
        return self.square.grown(range_m + HALO_SLACK_M)


def plan_tiles(outline: shapely.Geometry, tile_m: float) -> list[SitingTile]:
    """Square tiles of ``tile_m`` metres over the place's outline (in metres), those that meet it
    (``geo.tiling.tiles_over``)."""
    grid, tiles = tiles_over(outline, tile_m)
    return [SitingTile(grid, t) for t in tiles]


@dataclass(frozen=True)
class Surroundings:
    """The candidate sites within a tile's reach (``SITE_COLUMNS``; ``own``: those in the tile)
    and the working cameras that may see into it (``geo.siting.CAMERA_COLUMNS``)."""

    sites: pd.DataFrame
    own: np.ndarray
    cameras: pd.DataFrame

    @classmethod
    def of(cls, tile: SitingTile, sites: pd.DataFrame, cameras: pd.DataFrame, range_m: float) -> Surroundings:
        """From the sites made from the streets near the tile (``geo.siting.street_sites``)."""
        x, y = sites["x"].to_numpy(), sites["y"].to_numpy()
        near = sites[tile.reach(range_m).meets(x, y, x, y)].reset_index(drop=True)
        return cls(near, tile.owns(near["x"].to_numpy(), near["y"].to_numpy()), cameras)


@dataclass(frozen=True)
class Part:
    """Demand (as ``geo.siting.camera_demand`` lists it, in any order), the pairs in which a
    candidate site sees it (the site known by its position ``site_x``, ``site_y``; the demand
    by its ``row``), and the candidate sites this part answers for (``SITE_COLUMNS``)."""

    demand: pd.DataFrame
    site_x: np.ndarray
    site_y: np.ndarray
    row: np.ndarray
    sites: pd.DataFrame


def part_of(demand: pd.DataFrame, near: Surroundings, range_m: float, *, with_sites: bool) -> Part:
    """A tile's own demand paired with the sites within its reach; ``with_sites``: answering for
    the tile's own sites too (one part of each tile does)."""
    sites = near.sites
    row, site = pairs_in_view(demand["x"], demand["y"], sites["x"], sites["y"], sites["direction_deg"],
                              sites["fov_deg"], range_m)
    return Part(demand, sites["x"].to_numpy()[site], sites["y"].to_numpy()[site], row,
                sites[near.own if with_sites else np.zeros(len(sites), dtype=bool)][SITE_COLUMNS])


def stack(parts: Sequence[Part]) -> Part:
    """The parts as one: demand one after another, the pairs' rows moved along with it."""
    starts = np.cumsum([0] + [len(p.demand) for p in parts])
    return Part(concat_parts([p.demand for p in parts]), np.concatenate([p.site_x for p in parts]),
                np.concatenate([p.site_y for p in parts]),
                np.concatenate([p.row + start for p, start in zip(parts, starts)]),
                concat_parts([p.sites for p in parts]))


@dataclass(frozen=True)
class SitingModel:
    """What the solve takes: demand (canonical order), candidate sites (by x, then y) and who
    would newly cover whom, as one run over the whole place builds them."""

    demand: pd.DataFrame
    sites: pd.DataFrame
    coverage: Coverage


def whole_model(part: Part) -> SitingModel:
    """The model of all tiles' parts stacked (``stack``)."""
    order = canonical_order(part.demand)
    demand = part.demand.iloc[order].reset_index(drop=True)
    row = np.empty(len(order), dtype=np.int64)
    row[order] = np.arange(len(order))
    sites = part.sites.sort_values(["x", "y"], kind="stable").reset_index(drop=True)
    site = pd.MultiIndex.from_arrays([sites["x"], sites["y"]]).get_indexer(
        pd.MultiIndex.from_arrays([part.site_x, part.site_y]))
    if (site < 0).any():
        raise ValueError("a pair names a candidate site that no tile answers for")
    return SitingModel(demand, sites, coverage_from_pairs(site, row[part.row], demand["weight"],
                                                          demand["already_covered"], n_candidates=len(sites)))
