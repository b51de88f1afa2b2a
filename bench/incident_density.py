"""Incident density at district scale: Beatbook's FFT kernel density against direct sums.

    python bench/incident_density.py --points 1000000 --grid 512

Makes ``--points`` synthetic incidents over a square of ``--extent`` metres (a seeded
mixture of gaussian clusters on a uniform background, placed in UTM zone 35N at
Helsinki) and times, as the median of ``--runs`` runs, Beatbook's
``kernel_density`` on a ``--grid`` x ``--grid`` grid for the quartic and the gaussian
kernel, then ``volume_contours`` and ``overlay_png`` on the quartic result.

The obvious alternatives evaluate the kernel at every cell for every incident:
scikit-learn's ``KernelDensity.score_samples`` and scipy's ``gaussian_kde`` at the
cell centres, and, for the quartic, a numpy sum. On a million incidents they would
take an hour, so each runs on two random subsamples of the incidents on the full
grid; their cost is incidents x cells, so their time for all the incidents is the
larger subsample's scaled linearly (the two sizes show how linear it is). Each
alternative's surface is compared with Beatbook's on the same subsample and grid:
the largest difference over the grid, as a share of the peak.

No database is needed.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from bench_api import median_time
from scipy.stats import gaussian_kde
from sklearn.neighbors import KernelDensity

from geo.density import kernel_density, overlay_png, volume_contours

CRS = "EPSG:32635"  # UTM zone 35N
ORIGIN = (380_000.0, 6_665_000.0)  # south-west of central Helsinki, in CRS metres


def synthetic_incidents(n: int, *, extent_m: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """70 % of the incidents in 25 gaussian clusters (50-400 m), the rest uniform."""
    rng = np.random.default_rng(seed)
    clustered = int(n * 0.7)
    centres = rng.uniform(0.1 * extent_m, 0.9 * extent_m, (25, 2))
    spread = rng.uniform(50, 400, 25)
    share = rng.dirichlet(np.ones(25))
    which = rng.choice(25, clustered, p=share)
    points = np.concatenate([
        centres[which] + rng.normal(size=(clustered, 2)) * spread[which, None],
        rng.uniform(0, extent_m, (n - clustered, 2)),
    ])
    return points[:, 0] + ORIGIN[0], points[:, 1] + ORIGIN[1]


class IsotropicKDE(gaussian_kde):
    """scipy's gaussian_kde with a round kernel of standard deviation ``sigma``.

    gaussian_kde shapes its kernel after the data's covariance; for the surfaces to be
    comparable it gets Beatbook's round kernel. Evaluation, the part timed, is scipy's own.
    """

    def __init__(self, dataset: np.ndarray, *, sigma: float):
        self.sigma = sigma
        super().__init__(dataset)

    def _compute_covariance(self) -> None:
        self.factor = 1.0
        self.covariance = np.eye(self.d) * self.sigma**2
        self.cho_cov = np.eye(self.d) * self.sigma
        self.log_det = 2 * np.log(np.diag(self.cho_cov * np.sqrt(2 * np.pi))).sum()


def sklearn_surface(x, y, cells: np.ndarray, *, sigma: float) -> np.ndarray:
    """Incidents per km^2 at the cells from scikit-learn (its density is per m^2, per incident)."""
    kde = KernelDensity(kernel="gaussian", bandwidth=sigma).fit(np.column_stack([x, y]))
    return np.exp(kde.score_samples(cells)) * len(x) * 1e6


def scipy_surface(x, y, cells: np.ndarray, *, sigma: float) -> np.ndarray:
    return IsotropicKDE(np.vstack([x, y]), sigma=sigma)(cells.T) * len(x) * 1e6


def numpy_quartic_surface(x, y, cells: np.ndarray, *, radius: float) -> np.ndarray:
    """The quartic 3 / (pi h^2) (1 - d^2 / h^2)^2 summed over incidents, one incident at a time."""
    total = np.zeros(len(cells))
    for px, py in zip(x, y):
        d2 = (cells[:, 0] - px) ** 2 + (cells[:, 1] - py) ** 2
        total += np.where(d2 < radius * radius, (1 - d2 / radius**2) ** 2, 0.0)
    return total * 3 / (math.pi * radius**2) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--grid", type=int, default=512, help="cells along each side")
    parser.add_argument("--extent", type=float, default=10_240.0, help="side of the area, m")
    parser.add_argument("--radius", type=float, default=250.0, help="quartic search radius, m")
    parser.add_argument("--sigma", type=float, default=100.0, help="gaussian standard deviation, m")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=10_000,
                        help="incidents for scikit-learn and scipy (also a quarter of it)")
    parser.add_argument("--numpy-sample", type=int, default=1_000,
                        help="incidents for the numpy quartic sum (also a quarter of it)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    x, y = synthetic_incidents(args.points, extent_m=args.extent, seed=args.seed)
    cell = args.extent / args.grid
    bounds = (ORIGIN[0], ORIGIN[1], ORIGIN[0] + args.extent, ORIGIN[1] + args.extent)
    options = {"cell_m": cell, "bounds": bounds}
    n_cells = args.grid**2
    print(f"{args.points:,} incidents over {args.extent / 1000:g} km x {args.extent / 1000:g} km, "
          f"grid {args.grid} x {args.grid} of {cell:g} m ({n_cells:,} cells); quartic radius "
          f"{args.radius:g} m, gaussian sigma {args.sigma:g} m; median of {args.runs} runs")

    rows = []
    quartic_s, quartic = median_time(lambda: kernel_density(
        x, y, bandwidth_m=args.radius, kernel="quartic", **options), args.runs)
    gaussian_s, _ = median_time(lambda: kernel_density(
        x, y, bandwidth_m=args.sigma, kernel="gaussian", **options), args.runs)
    rows.append(("Beatbook kernel_density, quartic", args.points, quartic_s, quartic_s, None, None))
    rows.append(("Beatbook kernel_density, gaussian", args.points, gaussian_s, gaussian_s, None,
                 None))

    xs, ys = quartic.centres()
    gx, gy = np.meshgrid(xs, ys)
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    rng = np.random.default_rng(args.seed + 1)
    alternatives = [
        ("scikit-learn KernelDensity", "gaussian", args.sigma, args.sample,
         lambda sx, sy: sklearn_surface(sx, sy, cells, sigma=args.sigma)),
        ("scipy gaussian_kde", "gaussian", args.sigma, args.sample,
         lambda sx, sy: scipy_surface(sx, sy, cells, sigma=args.sigma)),
        ("numpy direct sum, quartic", "quartic", args.radius, args.numpy_sample,
         lambda sx, sy: numpy_quartic_surface(sx, sy, cells, radius=args.radius)),
    ]
    for label, kernel, bandwidth, sample, surface in alternatives:
        for n in (sample // 4, sample):
            pick = rng.choice(args.points, n, replace=False)
            started = time.perf_counter()
            theirs = surface(x[pick], y[pick]).reshape(gx.shape)
            seconds = time.perf_counter() - started
            ours = kernel_density(x[pick], y[pick], bandwidth_m=bandwidth, kernel=kernel, **options)
            difference = np.abs(ours.values - theirs).max() / theirs.max()
            full = seconds * args.points / n
            ours_s = quartic_s if kernel == "quartic" else gaussian_s
            rows.append((f"{label}", n, seconds, full, full / ours_s, difference))

    contour_s, contours = median_time(lambda: volume_contours(quartic), args.runs)
    overlay_s, (png, _) = median_time(lambda: overlay_png(quartic, CRS), args.runs)
    rows.append(("volume_contours 50/75/90 %", args.points, contour_s, contour_s, None,
                 None))
    rows.append(("overlay_png, quartic", args.points, overlay_s, overlay_s, None, None))

    print()
    print(f"{'':36s} {'incidents':>10s} {'measured':>9s} {'all incidents':>14s} "
          f"{'x Beatbook':>11s} {'max diff':>9s}")
    print(f"{'':36s} {'':>10s} {'s':>9s} {'s':>14s} {'same kernel':>11s} {'/ peak':>9s}")
    for label, n, seconds, full, ratio, difference in rows:
        extrapolated = f"{full:14.3f}" if n == args.points else f"~{full:13,.0f}"
        print(f"{label:36s} {n:>10,} {seconds:9.3f} {extrapolated} "
              f"{'' if ratio is None else f'{ratio:,.0f}':>11s} "
              f"{'' if difference is None else f'{difference:.2%}':>9s}")
    print()
    print("~ : the alternative's time on a subsample scaled linearly to all incidents (its cost is")
    print("    incidents x cells); max diff is against Beatbook on the same subsample and grid.")
    areas = ", ".join(f"{c.share:.0%}: {c.geometry.area / 1e6:.2f} km2" for c in contours)
    print(f"volume contours: {areas}; overlay PNG {len(png) / 1024:,.0f} KiB")
    print(f"quartic grid holds {quartic.values.sum() * quartic.cell_area_km2:,.0f} incidents' mass")


if __name__ == "__main__":
    main()
