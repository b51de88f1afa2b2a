"""The kernel density of a whole city, block of cells by block of cells, equal number for
number to the density of the whole grid at once.

``geo.density.kernel_density`` convolves by FFT, whose round-off depends on the size of the
grid: a block's FFT would give its cells values that differ from the whole grid's in the last
digits. Here the binned incidents are convolved directly with the same sampled kernel
(``geo.density.kernel_stencil``), which is the FFT density to round-off, and each cell's value
is made by the same additions in the same order whatever block it is computed in:

- binning: an incident adds bilinear shares to the four cell centres around it, as KDEpy's
  linear binning does. Incidents are sorted (by x, then y) first, so a centre receives the
  shares of the same incidents in the same order from any selection that holds them all;
- convolution: a cell adds the stencil's products over the centres around it in one fixed
  order (row by row of the stencil);
- a block reads every incident that shares into a centre within the stencil's reach of its
  cells (``Block.reach``), and bins onto exactly those centres.

Pure: metres in, arrays out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from geo.tiling import HALO_SLACK_M, Box


@dataclass(frozen=True)
class Lattice:
    """``nx`` by ``ny`` square cells of ``cell_m`` metres, the first with its south-west
    corner at (x0, y0); row 0 is the southernmost, as in ``geo.density.Density``."""

    x0: float
    y0: float
    cell_m: float
    nx: int
    ny: int

    @classmethod
    def over(cls, bounds: tuple[float, float, float, float], cell_m: float) -> Lattice:
        """The cells over ``bounds`` (xmin, ymin, xmax, ymax) from their south-west corner, as
        ``kernel_density`` lays them out for the same bounds."""
        xmin, ymin, xmax, ymax = (float(b) for b in bounds)
        # The tolerance keeps bounds a whole number of cells wide from gaining a sliver.
        return cls(xmin, ymin, float(cell_m), max(1, math.ceil((xmax - xmin) / cell_m - 1e-9)),
                   max(1, math.ceil((ymax - ymin) / cell_m - 1e-9)))

    def blocks(self, side: int) -> list[Block]:
        """The lattice cut into blocks of ``side`` by ``side`` cells (smaller at the north and
        east edges), row by row from the south-west."""
        if side < 1:
            raise ValueError(f"a block must be at least one cell wide, got {side}")
        return [Block(c, r, min(c + side, self.nx), min(r + side, self.ny))
                for r in range(0, self.ny, side) for c in range(0, self.nx, side)]

    def whole(self) -> Block:
        return Block(0, 0, self.nx, self.ny)


@dataclass(frozen=True)
class Block:
    """The cells of columns ``col0`` to ``col1`` and rows ``row0`` to ``row1`` (ends excluded)."""

    col0: int
    row0: int
    col1: int
    row1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.row1 - self.row0, self.col1 - self.col0

    def reach(self, lattice: Lattice, radius: int) -> Box:
        """Where the incidents lie that count in these cells' density with a stencil of
        ``radius`` cells: those sharing into a centre within ``radius`` of a cell (a centre
        takes shares from less than a cell away), with ``HALO_SLACK_M`` for rounding."""
        c = lattice.cell_m
        return Box(lattice.x0 + (self.col0 - radius - 0.5) * c, lattice.y0 + (self.row0 - radius - 0.5) * c,
                   lattice.x0 + (self.col1 + radius + 0.5) * c,
                   lattice.y0 + (self.row1 + radius + 0.5) * c).grown(HALO_SLACK_M)


def stencil_radius(stencil: np.ndarray) -> int:
    return stencil.shape[0] // 2


def block_density(x: np.ndarray, y: np.ndarray, lattice: Lattice, block: Block, stencil: np.ndarray) -> np.ndarray:
    """The density (the stencil's unit: incidents per km^2) of the block's cells from incidents
    at (x, y): any selection that holds every incident within ``block.reach``."""
    radius = stencil_radius(stencil)
    order = np.lexsort((y, x))
    bins = _binned(np.asarray(x, dtype=float)[order], np.asarray(y, dtype=float)[order], lattice,
                   Block(block.col0 - radius, block.row0 - radius, block.col1 + radius, block.row1 + radius))
    rows, cols = block.shape
    values = np.zeros((rows, cols))
    # Row by row of the stencil, skipping its zeros (the quartic's corners): one order for every cell.
    for a, b in zip(*np.nonzero(stencil)):
        values += stencil[a, b] * bins[a:a + rows, b:b + cols]
    return values


def _binned(x: np.ndarray, y: np.ndarray, lattice: Lattice, centres: Block) -> np.ndarray:
    """Linear binning of the incidents (in the order given) onto the block's cell centres."""
    u = (x - lattice.x0) / lattice.cell_m - 0.5
    v = (y - lattice.y0) / lattice.cell_m - 0.5
    col, row = np.floor(u), np.floor(v)
    fu, fv = u - col, v - row
    col, row = col.astype(np.int64) - centres.col0, row.astype(np.int64) - centres.row0
    rows, cols = centres.shape
    index, share = [], []
    # Corner by corner, each over the incidents in order: a centre's shares arrive in one order.
    for dc, dr, w in ((0, 0, (1 - fu) * (1 - fv)), (1, 0, fu * (1 - fv)), (0, 1, (1 - fu) * fv), (1, 1, fu * fv)):
        c, r = col + dc, row + dr
        on = (c >= 0) & (c < cols) & (r >= 0) & (r < rows)
        index.append(r[on] * cols + c[on])
        share.append(w[on])
    return np.bincount(np.concatenate(index), weights=np.concatenate(share), minlength=rows * cols) \
        .reshape(rows, cols)


def assemble(lattice: Lattice, blocks: list[Block], values: list[np.ndarray]) -> np.ndarray:
    """The lattice's values from its blocks'."""
    grid = np.zeros((lattice.ny, lattice.nx))
    for block, part in zip(blocks, values):
        grid[block.row0:block.row1, block.col0:block.col1] = part
    return grid
