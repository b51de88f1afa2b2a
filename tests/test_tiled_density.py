"""A city's density in blocks and its hot-spot counts in tiles: the same numbers as one run over
everything, and the density the same as the API's FFT density to round-off."""

import math

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.density import kernel_density, kernel_stencil
from geo.hexgrid import hex_centres
from geo.incident_units import hexagon_tally, hexagon_units, tally_counts
from geo.tiled_density import Lattice, assemble, block_density, stencil_radius
from geo.tiling import tiles_over

# Centimetres, as GPS and maps give them; a few points beyond the grid's box too.
coordinate = st.integers(-5_000, 150_000).map(lambda cm: cm / 100)
points = st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=80).map(lambda p: np.array(p).T)
BOUNDS = (0.0, 0.0, 1200.0, 1000.0)


def in_blocks(x, y, lattice: Lattice, stencil: np.ndarray, side: int) -> np.ndarray:
    """What beatbook/city_incidents.py does with PostgreSQL: each block gets the points in its reach."""
    blocks, values = lattice.blocks(side), []
    for block in blocks:
        box = block.reach(lattice, stencil_radius(stencil))
        near = (x >= box.xmin) & (x <= box.xmax) & (y >= box.ymin) & (y <= box.ymax)
        values.append(block_density(x[near], y[near], lattice, block, stencil))
    return assemble(lattice, blocks, values)


def test_one_incident_on_a_cell_centre_is_the_stencil_around_it():
    lattice = Lattice.over(BOUNDS, 20.0)
    stencil = kernel_stencil("quartic", 100.0, 20.0)
    values = block_density(np.array([510.0]), np.array([490.0]), lattice, lattice.whole(), stencil)
    r = stencil_radius(stencil)
    assert r == 5  # the quartic reaches 5 cells of 20 m
    np.testing.assert_array_equal(values[24 - r:24 + r + 1, 25 - r:25 + r + 1], stencil)
    assert values.sum() == pytest.approx(stencil.sum())
    # One incident over the cells' area, and at its centre the quartic's peak, 3 / (pi h^2), per km^2.
    assert values.sum() * 20.0**2 / 1e6 == pytest.approx(1.0)
    assert values.max() == pytest.approx(3 / (math.pi * 100.0**2) * 1e6, rel=0.05)


def test_an_incident_between_centres_shares_itself_bilinearly():
    lattice = Lattice.over(BOUNDS, 20.0)
    stencil = kernel_stencil("gaussian", 40.0, 20.0)
    between = block_density(np.array([505.0]), np.array([490.0]), lattice, lattice.whole(), stencil)
    on_centres = [block_density(np.array([x]), np.array([490.0]), lattice, lattice.whole(), stencil)
                  for x in (490.0, 510.0)]
    np.testing.assert_allclose(between, 0.25 * on_centres[0] + 0.75 * on_centres[1], rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(points, st.sampled_from([20.0, 25.0, 40.0]), st.floats(30.0, 120.0), st.sampled_from(["quartic", "gaussian"]),
       st.integers(2, 12))
def test_blocks_of_any_size_give_the_whole_grid_exactly(xy, cell, bandwidth, kernel, side):
    x, y = xy
    lattice = Lattice.over(BOUNDS, cell)
    stencil = kernel_stencil(kernel, bandwidth, cell)
    whole = block_density(x, y, lattice, lattice.whole(), stencil)
    assert np.array_equal(in_blocks(x, y, lattice, stencil, side), whole)
    # Any order of the incidents: they are sorted before binning.
    order = np.random.default_rng(len(x)).permutation(len(x))
    assert np.array_equal(block_density(x[order], y[order], lattice, lattice.whole(), stencil), whole)


@settings(max_examples=40, deadline=None)
@given(points, st.sampled_from([20.0, 25.0]), st.floats(60.0, 150.0), st.sampled_from(["quartic", "gaussian"]))
def test_the_direct_density_is_the_fft_density_to_round_off(xy, cell, bandwidth, kernel):
    x, y = xy
    fft = kernel_density(x, y, cell_m=cell, bandwidth_m=bandwidth, kernel=kernel, bounds=BOUNDS)
    lattice = Lattice.over(BOUNDS, cell)
    direct = block_density(x, y, lattice, lattice.whole(), kernel_stencil(kernel, bandwidth, cell))
    assert direct.shape == fft.values.shape
    assert np.abs(direct - fft.values).max() <= 1e-9 * max(fft.values.max(), 1.0)


def test_blocks_cover_the_lattice_once():
    lattice = Lattice.over((0.0, 0.0, 1010.0, 500.0), 25.0)
    assert (lattice.nx, lattice.ny) == (41, 20)
    seen = np.zeros((lattice.ny, lattice.nx), dtype=int)
    for block in lattice.blocks(8):
        seen[block.row0:block.row1, block.col0:block.col1] += 1
    assert (seen == 1).all()
    with pytest.raises(ValueError, match="at least one cell"):
        lattice.blocks(0)


@settings(max_examples=60, deadline=None)
@given(points, st.floats(100.0, 700.0))
def test_the_tiles_over_a_place_hold_its_points_in_their_squares(xy, size):
    x, y = xy
    place = shapely.box(-50.0, -50.0, 1500.0, 1500.0)
    grid, tiles = tiles_over(place, size)
    tile = grid.tile_of(x, y)
    assert set(tile) <= set(tiles)
    for t in set(tile):
        assert grid.square(t).meets(x[tile == t], y[tile == t], x[tile == t], y[tile == t]).all()


@settings(max_examples=40, deadline=None)
@given(points, st.lists(st.integers(0, 3), min_size=80, max_size=80), st.sampled_from([40.0, 100.0]))
def test_hexagon_tallies_of_any_split_add_up_to_the_counts(xy, part, size):
    x, y = xy
    units = hexagon_units(shapely.box(*BOUNDS), size, min_inside=0.25)
    part = np.array(part[:len(x)])
    tallies = pd.concat([hexagon_tally(x[part == k], y[part == k], size) for k in range(4)])
    counts = tally_counts(units, tallies, size)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, units.counts(x, y))


def test_a_hexagon_centre_is_in_its_own_hexagon():
    i, j = np.meshgrid(np.arange(-50, 50), np.arange(-50, 50))
    x, y = hex_centres(i.ravel(), j.ravel(), 37.5)
    tally = hexagon_tally(x, y, 37.5)
    assert (tally["count"] == 1).all() and len(tally) == i.size
