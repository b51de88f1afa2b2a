"""Kernel density of incidents on a grid, its percent-volume contours, and a map overlay.

Pure: coordinates in a metric CRS (x, y in metres) in, a grid, polygons or PNG bytes
out. The density is in incidents per square kilometre, so summing a grid and
multiplying by the cell area counts the incidents.

Two kernels, each with ``bandwidth_m`` meaning what a crime analyst expects:

- ``"quartic"`` (biweight), the kernel of ArcGIS Kernel Density and CrimeStat:
  ``3 / (pi h^2) * (1 - d^2 / h^2)^2`` for ``d < h`` and 0 beyond, where ``h`` is
  ``bandwidth_m``, the *search radius*: an incident adds nothing farther away;
- ``"gaussian"``: ``exp(-d^2 / (2 s^2)) / (2 pi s^2)`` where ``s`` is ``bandwidth_m``,
  the standard deviation along each axis. KDEpy cuts it off at about 3.9 s, beyond
  which lies 0.05 % of its mass; the rest is scaled up to keep the total.

The grid is computed by KDEpy's FFTKDE: incidents are linearly binned onto the cell
centres and the bins are convolved with the kernel by FFT, so a million incidents
cost about as much as a thousand; a direct sum costs incidents times cells. The
result differs from the direct sum only by the binning, a small fraction of the peak
when the bandwidth spans several cells.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import NamedTuple

import contourpy
import numpy as np
import shapely
from KDEpy import FFTKDE
from pyproj import CRS, Transformer
from scipy.ndimage import map_coordinates

KERNELS = ("quartic", "gaussian")

# KDEpy names the quartic "biweight" and measures every kernel's bandwidth as the
# standard deviation of its 1-D form; the biweight's variance is 1/7 of its support
# radius squared, so a search radius h is KDEpy's bw h / sqrt(7).
_KDEPY_NAME = {"quartic": "biweight", "gaussian": "gaussian"}
_KDEPY_BW_PER_BANDWIDTH = {"quartic": 1 / math.sqrt(7), "gaussian": 1.0}

# The default grid reaches this many bandwidths beyond the outermost incidents:
# the quartic's whole support, and for the gaussian all but about 0.5 % of the mass.
_DEFAULT_PAD_BANDWIDTHS = {"quartic": 1.0, "gaussian": 3.0}

# A kernel narrower than a few cells is drawn as a blocky stamp; the bandwidth rule
# never goes below this, and it is what one incident (no spread at all) gets.
MIN_BANDWIDTH_CELLS = 5

# Shorter lengths mean nothing on a map, and a length divided by one far shorter (the smallest
# float passes "greater than 0") overflows: cells cannot be counted, nor the kernel sampled.
MIN_LENGTH_M = 1e-3

# FFT convolution leaves round-off of about 1e-16 of the peak (some of it negative)
# where the true density is exactly 0; below this share of the peak it is 0.
_ROUNDOFF = 1e-12

M2_PER_KM2 = 1e6


@dataclass(frozen=True)
class Density:
    """A density grid: ``values[row, col]`` for the cell whose lower-left corner is
    ``(x0 + col * cell_m, y0 + row * cell_m)``; row 0 is the southernmost row.

    ``values`` are incidents (or weights) per square kilometre.
    """

    x0: float
    y0: float
    cell_m: float
    values: np.ndarray  # shape (ny, nx)
    bandwidth_m: float
    kernel: str
    bandwidth_rule: str  # how the bandwidth was chosen, in words, or "given"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """xmin, ymin, xmax, ymax of the grid's outer edges, in metres."""
        ny, nx = self.values.shape
        return (self.x0, self.y0, self.x0 + nx * self.cell_m, self.y0 + ny * self.cell_m)

    @property
    def cell_area_km2(self) -> float:
        return self.cell_m**2 / M2_PER_KM2

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The cells' centre x (one per column) and y (one per row), in metres."""
        ny, nx = self.values.shape
        return (self.x0 + (np.arange(nx) + 0.5) * self.cell_m,
                self.y0 + (np.arange(ny) + 0.5) * self.cell_m)

    def inside(self, polygon: shapely.Geometry) -> np.ndarray:
        """Which cells (shape of ``values``) have their centre in the polygon."""
        return shapely.contains_xy(polygon, *np.meshgrid(*self.centres()))

    def counts(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """How many of the points fall in each cell (shape of ``values``); points off the grid are left out."""
        ny, nx = self.values.shape
        col = np.floor((np.asarray(x, dtype=float) - self.x0) / self.cell_m).astype(np.int64)
        row = np.floor((np.asarray(y, dtype=float) - self.y0) / self.cell_m).astype(np.int64)
        on = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        return np.bincount(row[on] * nx + col[on], minlength=nx * ny).reshape(ny, nx)


def kernel_density(
    x: np.ndarray,
    y: np.ndarray,
    *,
    cell_m: float,
    bandwidth_m: float | None = None,
    kernel: str = "quartic",
    bounds: tuple[float, float, float, float] | None = None,
    weights: np.ndarray | None = None,
    max_cells: int = 4_000_000,
) -> Density:
    """The kernel density of points (x, y in metres) on a grid of square cells.

    Parameters
    ----------
    x, y
        Coordinates in a metric CRS.
    cell_m
        The side of a cell, in metres.
    bandwidth_m
        For ``"quartic"`` the search radius (the kernel is 0 beyond it); for
        ``"gaussian"`` the standard deviation. ``None``: chosen by :func:`bandwidth_rule`.
    kernel
        ``"quartic"`` or ``"gaussian"``.
    bounds
        xmin, ymin, xmax, ymax of the grid. The grid starts at (xmin, ymin) and has
        whole cells, so it reaches to or just beyond (xmax, ymax). ``None``: the
        points' extent padded by the quartic's radius or three gaussian standard
        deviations, snapped outwards to multiples of ``cell_m``. Points outside the
        bounds still count in the cells they reach.
    weights
        Non-negative weight per point (e.g. a severity); ``None`` counts each point once.
    max_cells
        The largest grid allowed, to keep a request from exhausting memory. The
        computation adds the kernel's reach around the grid, and that may at most
        double it.

    Returns
    -------
    Density
        ``values`` in weight per square kilometre: ``values.sum() * cell_area_km2`` is
        the total weight of the kernel mass that falls inside the grid.

    Raises
    ------
    ValueError
        With a message saying what to change: bad cell size, bandwidth, kernel,
        bounds, lengths, weights, or a grid of more than ``max_cells`` cells.
    """
    x, y, w = _checked_points(x, y, weights)
    _check_options(cell_m=cell_m, bandwidth_m=bandwidth_m, kernel=kernel)
    if bounds is None and not len(x):
        raise ValueError("there are no points to estimate a density from; give bounds to get an "
                         "empty grid")
    if bandwidth_m is None:
        bandwidth_m, rule = bandwidth_rule(x, y, weights=w, cell_m=cell_m)
    else:
        bandwidth_m, rule = float(bandwidth_m), "given"
    if bounds is None:
        bounds = _padded_extent(x, y, pad=_DEFAULT_PAD_BANDWIDTHS[kernel] * bandwidth_m,
                                cell_m=cell_m)
    reach_m = _reach(kernel) * bandwidth_m
    x0, y0, nx, ny = _grid(bounds, cell_m=cell_m, reach_m=reach_m, max_cells=max_cells)
    values = _fft_density(x, y, w, x0=x0, y0=y0, nx=nx, ny=ny, cell_m=cell_m,
                          bandwidth_m=bandwidth_m, kernel=kernel)
    return Density(x0=x0, y0=y0, cell_m=float(cell_m), values=values, bandwidth_m=bandwidth_m,
                   kernel=kernel, bandwidth_rule=rule)


def bandwidth_rule(
    x: np.ndarray, y: np.ndarray, *, weights: np.ndarray | None = None, cell_m: float
) -> tuple[float, str]:
    """The default bandwidth of ArcGIS Kernel Density, and a sentence saying how it came out.

    ``0.9 * min(SD, sqrt(1 / ln 2) * Dm) * n ** -0.2`` (Silverman's rule of thumb made
    spatial): SD is the standard distance of the points from their (weighted) mean
    centre, Dm their (weighted) median distance from it, n the number of points (the
    sum of the weights). The median makes the rule robust to a few far-off points.
    ArcGIS uses the value as the quartic's search radius; for the gaussian it is the
    standard deviation, as in Silverman's original rule. It is never less than
    ``MIN_BANDWIDTH_CELLS`` cells, which is what a single point, or points all in one
    place, get.
    """
    w = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=float)
    n = float(w.sum())
    floor_m = MIN_BANDWIDTH_CELLS * float(cell_m)
    floor_text = f"{MIN_BANDWIDTH_CELLS} cells of {cell_m:g} m = {floor_m:g} m"
    if n <= 0:
        return floor_m, f"no points to measure spread from: the minimum, {floor_text}"
    cx, cy = np.average(x, weights=w), np.average(y, weights=w)
    distance = np.hypot(x - cx, y - cy)
    sd = math.sqrt(float(np.average(distance**2, weights=w)))
    dm = _weighted_median(distance, w)
    rule_m = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * n**-0.2
    text = (f"ArcGIS Kernel Density default (Silverman's rule of thumb): 0.9 * min(standard "
            f"distance {sd:.0f} m, sqrt(1/ln 2) * median distance to the mean centre {dm:.0f} m) "
            f"* n^-0.2 with n = {n:g}: {rule_m:.0f} m")
    if rule_m < floor_m:
        return floor_m, f"{text}, raised to the minimum of {floor_text}"
    return rule_m, text


class VolumeContour(NamedTuple):
    """The smallest region holding ``share`` of the estimated mass: where density >= ``level``."""

    share: float
    level: float  # incidents per km^2
    geometry: shapely.Polygon | shapely.MultiPolygon  # in the density's metric CRS


def volume_contours(
    density: Density, *, shares: tuple[float, ...] = (0.5, 0.75, 0.9)
) -> list[VolumeContour]:
    """Percent-volume contours: for each share, the densest cells that together hold it.

    The level is the density at which the cells at or above it first sum to the share
    of the grid's mass; the region is traced through the cell centres by contourpy.
    Regions are valid and nested: a larger share's region holds a smaller share's.
    """
    shares = tuple(float(s) for s in shares)
    if any(not 0 < s <= 1 for s in shares):
        raise ValueError(f"shares must be between 0 and 1 (0.5 for 50 %), got {list(shares)}")
    values = density.values
    order = np.sort(values, axis=None)[::-1]
    total = float(order.sum())
    if total <= 0:
        return [VolumeContour(s, 0.0, shapely.MultiPolygon()) for s in shares]
    mass = np.cumsum(order) / total
    xs, ys = density.centres()
    generator = contourpy.contour_generator(xs, ys, values,
                                            fill_type=contourpy.FillType.OuterOffset)
    # Above the peak, so the densest cells are inside the band and not on its upper edge.
    upper = float(order[0]) * 2 + 1
    contours, outer = [], None
    for share in sorted(shares, reverse=True):
        at = min(int(np.searchsorted(mass, share * (1 - 1e-12))), len(order) - 1)
        level = float(order[at])
        # contourpy fills strictly above its lower level; tracing halfway down to the
        # densest cell left out puts the boundary between the cells in and those out.
        below = order[at:][order[at:] < level]
        region = _filled_region(generator, (level + (below[0] if len(below) else 0.0)) / 2, upper)
        # Tracing each level separately can differ by round-off where two levels meet
        # a saddle; clipping to the larger region keeps them nested exactly.
        if outer is not None:
            region = _valid(shapely.intersection(region, outer))
        contours.append(VolumeContour(share, level, region))
        outer = region
    by_share = {c.share: c for c in contours}
    return [by_share[s] for s in shares]


def overlay_png(
    density: Density,
    crs: CRS | str | int,
    *,
    cmap: str = "YlOrRd",
    opacity: float = 0.8,
    max_pixels: int = 2048,
) -> tuple[bytes, list[list[float]]]:
    """A transparent colour PNG of the density and its [[south, west], [north, east]] bounds.

    Leaflet's ImageOverlay stretches an image over a box that is square in Web
    Mercator, so the grid (in ``crs``) is resampled, bilinearly, onto pixels that are
    square in EPSG:3857. Colours run from 0 to the peak; pixels fade to transparent
    towards 0 so the map shows through. ``cmap`` is a matplotlib colormap name
    (YlOrRd: light lows and dark highs read well on a light base map); ``max_pixels``
    caps the image's longer side.
    """
    to_mercator = Transformer.from_crs(crs, 3857, always_xy=True)
    west, south, east, north = to_mercator.transform_bounds(*density.bounds, densify_pts=21)
    width, height = _image_size(density, east - west, north - south, max_pixels=max_pixels)
    px = (west + (np.arange(width) + 0.5) * (east - west) / width)[None, :]
    py = (north - (np.arange(height) + 0.5) * (north - south) / height)[:, None]
    mx, my = np.broadcast_arrays(px, py)
    gx, gy = Transformer.from_crs(3857, crs, always_xy=True).transform(mx.ravel(), my.ravel())
    col = (np.asarray(gx) - density.x0) / density.cell_m - 0.5
    row = (np.asarray(gy) - density.y0) / density.cell_m - 0.5
    sampled = map_coordinates(density.values, [row, col], order=1, mode="constant", cval=0.0)
    rgba = _colour(sampled.reshape(height, width), cmap=cmap, opacity=opacity)
    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_lonlat.transform([west, east], [south, north])
    return _png(rgba), [[float(lat0), float(lon0)], [float(lat1), float(lon1)]]


# --- validation -------------------------------------------------------------------------


def _checked_points(x, y, weights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if len(x) != len(y):
        raise ValueError(f"x and y must have one value per point: got {len(x)} x and {len(y)} y")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite numbers; drop points with missing coordinates")
    if weights is None:
        return x, y, np.ones(len(x))
    w = np.asarray(weights, dtype=float).ravel()
    if len(w) != len(x):
        raise ValueError(f"weights must have one value per point: got {len(w)} weights for "
                         f"{len(x)} points")
    if not (np.isfinite(w).all() and (w >= 0).all()):
        raise ValueError("weights must be finite and not negative")
    return x, y, w


def _check_options(*, cell_m: float, bandwidth_m: float | None, kernel: str) -> None:
    if not (isinstance(cell_m, (int, float, np.number)) and math.isfinite(cell_m)
            and cell_m >= MIN_LENGTH_M):
        raise ValueError(f"cell_m must be a positive number of metres (at least {MIN_LENGTH_M:g}), got {cell_m!r}")
    if bandwidth_m is not None and not (
        isinstance(bandwidth_m, (int, float, np.number)) and math.isfinite(bandwidth_m)
        and bandwidth_m >= MIN_LENGTH_M
    ):
        raise ValueError(f"bandwidth_m must be a positive number of metres (at least {MIN_LENGTH_M:g}; or "
                         f"left out to choose one), got {bandwidth_m!r}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; use one of {', '.join(KERNELS)}")


def _grid(
    bounds, *, cell_m: float, reach_m: float, max_cells: int
) -> tuple[float, float, int, int]:
    """Lower-left corner and cell counts of the grid over ``bounds``, refusing one too large.

    The computation adds the kernel's reach on every side; that margin may at most
    double the grid, or a wide bandwidth on fine cells could exhaust memory unseen.
    """
    xmin, ymin, xmax, ymax = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (xmin, ymin, xmax, ymax)) or xmax <= xmin or ymax <= ymin:
        raise ValueError(f"bounds must be finite (xmin, ymin, xmax, ymax) with xmin < xmax and "
                         f"ymin < ymax, got {tuple(bounds)}")

    def cells(cell: float) -> tuple[int, int, int]:
        # The tolerance keeps bounds a whole number of cells wide from gaining a sliver.
        nx = max(1, math.ceil((xmax - xmin) / cell - 1e-9))
        ny = max(1, math.ceil((ymax - ymin) / cell - 1e-9))
        pad = _margin_cells(reach_m, cell)
        return nx, ny, (nx + 2 * pad) * (ny + 2 * pad)

    def fits(cell: float) -> bool:
        nx, ny, working = cells(cell)
        return nx * ny <= max_cells and working <= 2 * max_cells

    nx, ny, working = cells(cell_m)
    if fits(cell_m):
        return xmin, ymin, nx, ny
    advice = f"use cell_m of at least {_smallest_cell(fits, start=cell_m):g} m"
    if nx * ny > max_cells:
        raise ValueError(f"the grid would be {nx * ny:,} cells ({nx:,} x {ny:,} of {cell_m:g} m), "
                         f"more than the {max_cells:,} allowed; {advice} or a smaller area")
    raise ValueError(f"the kernel reaches {reach_m:g} m, {reach_m / cell_m:,.0f} cells of "
                     f"{cell_m:g} m, and with that margin the grid would be {working:,} cells, "
                     f"more than the {2 * max_cells:,} allowed; {advice} or a smaller bandwidth_m")


def _smallest_cell(fits, *, start: float) -> float:
    """A round cell size (two significant digits) for which ``fits(cell)`` holds."""
    cell = start
    while not fits(cell):
        cell *= 1.05
    digits = 1 - math.floor(math.log10(cell))
    rounded = math.ceil(cell * 10**digits) / 10**digits
    return rounded if fits(rounded) else cell


def _padded_extent(x: np.ndarray, y: np.ndarray, *, pad: float, cell_m: float):
    """The points' extent grown by ``pad``, outwards to multiples of ``cell_m``.

    Snapping to the cell lattice makes grids of different selections line up.
    """
    xmin, ymin = (math.floor((v.min() - pad) / cell_m) * cell_m for v in (x, y))
    xmax, ymax = (math.ceil((v.max() + pad) / cell_m) * cell_m for v in (x, y))
    return xmin, ymin, xmax, ymax


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if (weights == weights[0]).all():  # the same element as below, found without sorting
        k = math.ceil(len(values) / 2) - 1
        return float(np.partition(values, k)[k])
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


# --- the FFT density --------------------------------------------------------------------


def _fft_density(x, y, w, *, x0, y0, nx, ny, cell_m, bandwidth_m, kernel) -> np.ndarray:
    """Weight per km^2 at the centres of the nx x ny cells from (x0, y0).

    KDEpy needs an equidistant grid that holds every point strictly inside, and it
    treats everything beyond its grid as empty. So the grid of cell centres is grown
    by the kernel's reach plus two cells on every side, points that cannot reach a
    requested cell are dropped (they would only make the grid bigger), and the
    requested cells are cut out of the result.
    """
    unit = bandwidth_m  # see _reach
    kde = FFTKDE(kernel=_KDEPY_NAME[kernel], bw=_KDEPY_BW_PER_BANDWIDTH[kernel])
    pad = _margin_cells(_reach(kernel) * bandwidth_m, cell_m)
    values = np.zeros((ny, nx))
    near = ((x > x0 - (pad - 1) * cell_m) & (x < x0 + (nx + pad - 1) * cell_m)
            & (y > y0 - (pad - 1) * cell_m) & (y < y0 + (ny + pad - 1) * cell_m) & (w > 0))
    total = float(w[near].sum())
    if total <= 0:
        return values
    # Columns (y, x): KDEpy's grid varies its first coordinate slowest, so its output
    # reshapes straight to (rows, columns).
    rows = (np.arange(-pad, ny + pad) + 0.5) * cell_m / unit
    cols = (np.arange(-pad, nx + pad) + 0.5) * cell_m / unit
    grid = np.column_stack([np.repeat(rows, len(cols)), np.tile(cols, len(rows))])
    data = np.column_stack([(y[near] - y0) / unit, (x[near] - x0) / unit])
    kde.fit(data, weights=w[near])
    full = (kde.evaluate(grid) - np.finfo(float).eps).reshape(len(rows), len(cols))
    # The sampled kernel's mass is not exactly 1 (noticeably so when the bandwidth spans
    # few cells); scaling by it keeps the count of incidents exact.
    full *= total / _sampled_kernel_mass(kde, cell_m / unit)
    full = np.where(full > _ROUNDOFF * full.max(), full, 0.0)
    values[:] = full[pad:pad + ny, pad:pad + nx] * M2_PER_KM2 / unit**2
    return values


def _reach(kernel: str) -> float:
    """How far the kernel reaches as KDEpy computes it, in bandwidths.

    KDEpy cuts the gaussian off where it falls below an absolute 1e-4, which depends
    on the units; so coordinates are handed to it in bandwidths, where the cut-off is
    a fixed 3.9 standard deviations. The quartic reaches exactly one bandwidth.
    """
    kde = FFTKDE(kernel=_KDEPY_NAME[kernel], bw=_KDEPY_BW_PER_BANDWIDTH[kernel])
    return float(kde.kernel.practical_support(kde.bw_method))


def _margin_cells(reach_m: float, cell_m: float) -> int:
    # Two cells beyond the reach: one so the kept points lie strictly inside KDEpy's
    # grid, one so that a dropped point, binned, could not have reached a requested cell.
    return math.ceil(reach_m / cell_m) + 2


def kernel_stencil(kernel: str, bandwidth_m: float, cell_m: float) -> np.ndarray:
    """What one incident on a cell centre adds to the density of the cells around it, in
    incidents per km^2: the kernel as KDEpy samples it for ``kernel_density``, scaled to
    keep the count, on a square of cells centred on the incident's (odd side, every
    non-zero value inside). Convolving binned incidents with it is ``kernel_density``'s
    FFT done directly, to round-off.
    """
    _check_options(cell_m=cell_m, bandwidth_m=bandwidth_m, kernel=kernel)
    kde = FFTKDE(kernel=_KDEPY_NAME[kernel])
    step = cell_m / bandwidth_m
    sampled = _sampled_kernel(kde, _KDEPY_BW_PER_BANDWIDTH[kernel], step)
    return sampled / (sampled.sum() * step * step) * M2_PER_KM2 / bandwidth_m**2


def _sampled_kernel(kde: FFTKDE, bw: float, step: float) -> np.ndarray:
    """The kernel weights ``FFTKDE.evaluate`` convolves with, on a grid of this step (in
    bandwidths): out to the kernel's reach along each axis, a square around 0."""
    reach = kde.kernel.support * bw if kde.kernel.finite_support else kde.kernel.practical_support(bw)
    steps = math.floor(reach / step)
    axis = np.arange(-steps, steps + 1) * step
    grid = np.column_stack([np.repeat(axis, len(axis)), np.tile(axis, len(axis))])
    return kde.kernel(grid, bw=bw, norm=kde.norm).reshape(len(axis), len(axis))


def _sampled_kernel_mass(kde: FFTKDE, step: float) -> float:
    """The mass of the kernel as KDEpy samples it on a grid of this step (1 for a fine grid)."""
    return float(_sampled_kernel(kde, kde.bw, step).sum() * step * step)


def _filled_region(generator, lower: float, upper: float) -> shapely.Polygon | shapely.MultiPolygon:
    """Where the traced density is between the levels, as one valid (Multi)Polygon."""
    polygons = []
    for points, offsets in zip(*generator.filled(lower, upper)):
        rings = [points[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        polygons.append(shapely.Polygon(rings[0], rings[1:]))
    if not polygons:
        return shapely.MultiPolygon()
    region = shapely.MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]
    return _valid(region)


def _valid(region):
    # Traced regions are nearly always valid already, and checking costs less than repairing.
    # "structure" with collapsed parts dropped keeps the result polygonal.
    if shapely.is_valid(region):
        return region
    return shapely.make_valid(region, method="structure", keep_collapsed=False)


# --- the picture ------------------------------------------------------------------------


def _image_size(density: Density, width: float, height: float, *, max_pixels: int
                ) -> tuple[int, int]:
    """Square pixels about a cell wide on a box ``width`` x ``height`` (Web Mercator metres)."""
    pixel = math.sqrt(width * height / density.values.size)
    pixel = max(pixel, max(width, height) / max_pixels)
    return max(1, round(width / pixel)), max(1, round(height / pixel))


def _colour(values: np.ndarray, *, cmap: str, opacity: float) -> np.ndarray:
    from matplotlib import colormaps  # the registry only: no pyplot, no GUI backend

    peak = float(values.max())
    share = np.clip(values / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(values)
    rgba = colormaps[cmap](share)
    # Fading in over the lowest tenth avoids a hard edge at the kernel's reach.
    rgba[..., 3] = opacity * np.clip(share / 0.1, 0.0, 1.0)
    return (rgba * 255).round().astype(np.uint8)


def _png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    # Level 3 of 9 writes a fifth more bytes than the default 6 in under half the time.
    Image.fromarray(rgba).save(buffer, format="PNG", compress_level=3)  # uint8 (h, w, 4) is RGBA
    return buffer.getvalue()
