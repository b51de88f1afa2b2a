"""Kernel density: hand-checkable grids, a direct sum, properties, contours and the overlay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from sklearn.neighbors import KernelDensity

from geo.density import Density, kernel_density, overlay_png, volume_contours

KERNELS = ["quartic", "gaussian"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BOX = (0.0, 0.0, 2000.0, 2000.0)  # 100 x 100 cells of 20 m


def integral(density: Density) -> float:
    return float(density.values.sum() * density.cell_area_km2)


def peak_centre(density: Density) -> tuple[float, float]:
    row, col = np.unravel_index(density.values.argmax(), density.values.shape)
    xs, ys = density.centres()
    return float(xs[col]), float(ys[row])


def distances_to_centres(density: Density, x: float, y: float) -> np.ndarray:
    xs, ys = density.centres()
    return np.hypot(xs[None, :] - x, ys[:, None] - y)


def clustered_points(n: int, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three gaussian clusters and a uniform background inside BOX, away from its edges."""
    rng = np.random.default_rng(seed)
    centres = np.array([[600.0, 700.0], [1300.0, 1200.0], [900.0, 1500.0]])
    which = rng.integers(0, 3, n)
    points = centres[which] + rng.normal(0, 120, (n, 2))
    background = rng.random(n) < 0.2
    points[background] = rng.uniform(300, 1700, (background.sum(), 2))
    return points[:, 0], points[:, 1]


# --- by hand ----------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_point_peaks_in_its_cell_and_integrates_to_one(kernel):
    density = kernel_density([1013.0], [987.0], cell_m=20, bandwidth_m=150, kernel=kernel)
    x, y = peak_centre(density)
    assert abs(x - 1013.0) <= 10 and abs(y - 987.0) <= 10  # the centre of the cell holding it
    assert integral(density) == pytest.approx(1, rel=0.01)
    assert density.bandwidth_rule == "given"


@pytest.mark.parametrize("kernel", KERNELS)
def test_n_points_in_one_place_integrate_to_n(kernel):
    density = kernel_density(np.full(7, 500.0), np.full(7, 500.0), cell_m=10, bandwidth_m=80,
                             kernel=kernel)
    assert integral(density) == pytest.approx(7, rel=0.01)


def test_peak_of_the_quartic_is_its_formula():
    # On a cell centre the binning is exact: 3 / (pi h^2) per m^2, up to the sampled
    # kernel's normalisation, which is close to 1 at 20 cells per radius.
    density = kernel_density([1010.0], [1010.0], cell_m=20, bandwidth_m=400, bounds=BOX)
    assert density.values.max() == pytest.approx(3 / (math.pi * 400**2) * 1e6, rel=0.01)


def test_weights_scale_the_density_and_count_as_incidents():
    plain = kernel_density([700.0, 1300.0], [700.0, 1300.0], cell_m=20, bandwidth_m=200,
                           bounds=BOX)
    weighted = kernel_density([700.0, 1300.0], [700.0, 1300.0], cell_m=20, bandwidth_m=200,
                              bounds=BOX, weights=[3.0, 3.0])
    np.testing.assert_allclose(weighted.values, 3 * plain.values)
    uneven = kernel_density([700.0, 1300.0], [700.0, 1300.0], cell_m=20, bandwidth_m=200,
                            bounds=BOX, weights=[1.0, 4.0])
    assert integral(uneven) == pytest.approx(5, rel=1e-6)
    x, y = peak_centre(uneven)
    assert (x, y) == (1310.0, 1310.0) or math.hypot(x - 1300, y - 1300) < 20


def test_zero_weights_count_nothing():
    density = kernel_density([700.0], [700.0], cell_m=20, bandwidth_m=200, bounds=BOX,
                             weights=[0.0])
    assert not density.values.any()


def test_quartic_is_zero_beyond_its_radius():
    density = kernel_density([1003.0], [1017.0], cell_m=20, bandwidth_m=150, bounds=BOX)
    far = distances_to_centres(density, 1003.0, 1017.0) > 150 + 20 * math.sqrt(2)
    assert far.any() and (density.values[far] == 0).all()
    assert (density.values[distances_to_centres(density, 1003.0, 1017.0) < 120] > 0).all()


def test_default_bounds_hold_the_kernel_and_snap_to_cells():
    density = kernel_density([1003.0, 1503.0], [1017.0, 1217.0], cell_m=20, bandwidth_m=150)
    xmin, ymin, xmax, ymax = density.bounds
    assert xmin <= 1003 - 150 and xmax >= 1503 + 150 and ymin <= 1017 - 150 and ymax >= 1217 + 150
    assert all(b % 20 == 0 for b in density.bounds)
    assert integral(density) == pytest.approx(2, rel=1e-6)


def test_bounds_that_are_not_whole_cells_grow_to_whole_cells():
    density = kernel_density([100.0], [100.0], cell_m=20, bandwidth_m=50,
                             bounds=(0, 0, 205, 190))
    assert density.values.shape == (10, 11)
    assert density.bounds == (0, 0, 220, 200)


def test_no_points_with_bounds_is_an_empty_grid():
    density = kernel_density([], [], cell_m=20, bounds=BOX)
    assert density.values.shape == (100, 100) and not density.values.any()
    assert "no points" in density.bandwidth_rule


def test_no_points_without_bounds_says_to_give_bounds():
    with pytest.raises(ValueError, match="give bounds"):
        kernel_density([], [], cell_m=20)


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_point_gets_the_minimum_bandwidth_not_zero(kernel):
    density = kernel_density([500.0, 500.0], [500.0, 500.0], cell_m=20, kernel=kernel)
    assert density.bandwidth_m == 100  # 5 cells
    assert "minimum" in density.bandwidth_rule
    assert integral(density) == pytest.approx(2, rel=0.01)


def test_the_rule_is_the_arcgis_formula():
    x, y = clustered_points(2000, seed=3)
    density = kernel_density(x, y, cell_m=10)
    cx, cy = x.mean(), y.mean()
    distance = np.hypot(x - cx, y - cy)
    standard_distance = math.sqrt(np.mean(distance**2))
    expected = (0.9 * min(standard_distance, math.sqrt(1 / math.log(2)) * np.median(distance))
                * 2000**-0.2)
    assert density.bandwidth_m == pytest.approx(expected, rel=1e-3)
    assert "ArcGIS" in density.bandwidth_rule and f"{expected:.0f} m" in density.bandwidth_rule


# --- against a direct sum ---------------------------------------------------------------


def test_gaussian_matches_scikit_learn_at_the_cell_centres():
    x, y = clustered_points(3000, seed=1)
    density = kernel_density(x, y, cell_m=20, bandwidth_m=100, kernel="gaussian", bounds=BOX)
    xs, ys = density.centres()
    gx, gy = np.meshgrid(xs, ys)
    kde = KernelDensity(kernel="gaussian", bandwidth=100).fit(np.column_stack([x, y]))
    direct = np.exp(kde.score_samples(np.column_stack([gx.ravel(), gy.ravel()])))
    direct = direct.reshape(gx.shape) * len(x) * 1e6
    assert np.abs(density.values - direct).max() < 0.01 * direct.max()


def test_quartic_matches_a_direct_sum_at_the_cell_centres():
    x, y = clustered_points(3000, seed=2)
    h = 150.0
    density = kernel_density(x, y, cell_m=20, bandwidth_m=h, bounds=BOX)
    xs, ys = density.centres()
    direct = np.zeros(density.values.shape)
    for px, py in zip(x, y):
        d2 = (xs[None, :] - px) ** 2 + (ys[:, None] - py) ** 2
        direct += np.where(d2 < h * h, (1 - d2 / h**2) ** 2, 0.0)
    direct *= 3 / (math.pi * h**2) * 1e6
    assert np.abs(density.values - direct).max() < 0.01 * direct.max()


# --- properties -------------------------------------------------------------------------

inside = st.floats(min_value=600, max_value=1400, allow_nan=False)
points = st.lists(st.tuples(inside, inside), min_size=1, max_size=30)
fast = settings(max_examples=25, deadline=None)


@fast
@given(points=points, kernel=st.sampled_from(KERNELS))
def test_integral_is_the_count_for_points_well_inside(points, kernel):
    x, y = np.array(points).T
    # 600 m from the edge is beyond both kernels' reach (150 m, 3.9 x 100 m).
    bandwidth = 150 if kernel == "quartic" else 100
    density = kernel_density(x, y, cell_m=20, bandwidth_m=bandwidth, kernel=kernel, bounds=BOX)
    assert integral(density) == pytest.approx(len(points), rel=1e-6)


@fast
@given(points=points, extra=st.tuples(inside, inside), kernel=st.sampled_from(KERNELS))
def test_adding_a_point_never_lowers_a_cell(points, extra, kernel):
    x, y = np.array(points).T
    before = kernel_density(x, y, cell_m=20, bandwidth_m=120, kernel=kernel, bounds=BOX)
    after = kernel_density(np.append(x, extra[0]), np.append(y, extra[1]), cell_m=20,
                           bandwidth_m=120, kernel=kernel, bounds=BOX)
    assert (after.values >= before.values - 1e-9 * before.values.max()).all()


@fast
@given(points=points, shift=st.tuples(st.integers(-50, 50), st.integers(-50, 50)),
       kernel=st.sampled_from(KERNELS))
def test_translating_by_whole_cells_translates_the_grid(points, shift, kernel):
    x, y = np.array(points).T
    dx, dy = shift[0] * 20.0, shift[1] * 20.0
    here = kernel_density(x, y, cell_m=20, bandwidth_m=120, kernel=kernel, bounds=BOX)
    there = kernel_density(x + dx, y + dy, cell_m=20, bandwidth_m=120, kernel=kernel,
                           bounds=(BOX[0] + dx, BOX[1] + dy, BOX[2] + dx, BOX[3] + dy))
    assert (there.x0, there.y0) == (here.x0 + dx, here.y0 + dy)
    np.testing.assert_allclose(there.values, here.values, rtol=0, atol=1e-9 * here.values.max())


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cell_m": 0}, "cell_m must be a positive"),
        ({"cell_m": float("nan")}, "cell_m must be a positive"),
        ({"cell_m": 20, "bandwidth_m": -5}, "bandwidth_m must be a positive"),
        ({"cell_m": 20, "kernel": "epanechnikov"}, "kernel 'epanechnikov'; use one of quartic"),
        ({"cell_m": 1, "bounds": (0, 0, 1e6, 1e3)}, "1,000,000,000 cells"),
        ({"cell_m": 20, "bounds": (0, 0, -5, 10)}, "xmin < xmax"),
    ],
)
def test_bad_options_say_what_to_fix(options, message):
    with pytest.raises(ValueError, match=message):
        kernel_density([1.0, 2.0], [1.0, 2.0], **options)


def test_a_grid_too_large_names_a_cell_size_that_fits():
    with pytest.raises(ValueError, match="use cell_m of at least") as raised:
        kernel_density([1.0], [1.0], cell_m=1, bandwidth_m=500, bounds=(0, 0, 1e5, 1e3),
                       max_cells=40_000)
    fits = float(str(raised.value).split("at least ")[1].split(" m")[0])
    kernel_density([1.0], [1.0], cell_m=fits, bandwidth_m=500, bounds=(0, 0, 1e5, 1e3),
                   max_cells=40_000)


def test_a_bandwidth_too_wide_for_the_cells_is_refused():
    with pytest.raises(ValueError, match="use cell_m of at least .* or a smaller bandwidth_m"):
        kernel_density([1.0], [1.0], cell_m=1, bandwidth_m=5000, bounds=(0, 0, 100, 100))


@pytest.mark.parametrize(
    ("x", "y", "weights", "message"),
    [
        ([1.0, 2.0], [1.0], None, "2 x and 1 y"),
        ([1.0, 2.0], [1.0, 2.0], [1.0], "1 weights for 2 points"),
        ([1.0, 2.0], [1.0, 2.0], [1.0, -1.0], "not negative"),
        ([1.0, float("nan")], [1.0, 2.0], None, "finite"),
    ],
)
def test_bad_points_say_what_to_fix(x, y, weights, message):
    with pytest.raises(ValueError, match=message):
        kernel_density(x, y, cell_m=20, bandwidth_m=100, weights=weights)


# --- volume contours --------------------------------------------------------------------


def test_one_points_contours_are_nested_discs_around_it():
    density = kernel_density([1010.0], [990.0], cell_m=10, bandwidth_m=300, bounds=BOX)
    contours = volume_contours(density, shares=(0.5, 0.75, 0.9))
    assert [c.share for c in contours] == [0.5, 0.75, 0.9]
    half = contours[0].geometry
    assert half.geom_type == "Polygon" and half.is_valid
    assert half.contains(shapely.Point(1010, 990))
    # Disc-like: nearly as round as a circle of its area.
    radius = math.sqrt(half.area / math.pi)
    assert shapely.Point(1010, 990).buffer(radius * 0.95).within(half)
    assert half.within(shapely.Point(1010, 990).buffer(radius * 1.05))
    areas = [c.geometry.area for c in contours]
    assert areas == sorted(areas) and areas[0] < areas[1] < areas[2]
    levels = [c.level for c in contours]
    assert levels[0] > levels[1] > levels[2]
    for inner, outer in zip(contours, contours[1:]):
        assert inner.geometry.difference(outer.geometry).area < 1e-6 * inner.geometry.area


def test_the_quartic_50_percent_radius_is_the_formula():
    # The quartic holds half its mass within r where 1 - (1 - r^2/h^2)^3 = 1/2.
    h = 300.0
    density = kernel_density([1000.0], [1000.0], cell_m=5, bandwidth_m=h, bounds=BOX)
    half = volume_contours(density, shares=(0.5,))[0].geometry
    expected = h * math.sqrt(1 - 0.5 ** (1 / 3))
    assert math.sqrt(half.area / math.pi) == pytest.approx(expected, rel=0.03)


def test_clusters_give_valid_nested_multipolygons():
    x, y = clustered_points(3000, seed=4)
    density = kernel_density(x, y, cell_m=20, bandwidth_m=80, bounds=BOX)
    contours = volume_contours(density)
    for inner, outer in zip(contours, contours[1:]):
        assert inner.geometry.is_valid and outer.geometry.is_valid
        assert inner.geometry.difference(outer.geometry).area < 1e-6 * inner.geometry.area
    assert contours[0].geometry.geom_type == "MultiPolygon"  # one piece per cluster


def test_an_empty_grid_has_empty_contours_and_bad_shares_are_refused():
    empty = kernel_density([], [], cell_m=20, bounds=BOX)
    assert all(c.geometry.is_empty for c in volume_contours(empty))
    with pytest.raises(ValueError, match="between 0 and 1"):
        volume_contours(empty, shares=(50,))


# --- the overlay ------------------------------------------------------------------------


def test_overlay_is_a_png_whose_bounds_hold_the_points():
    lon = np.array([24.93, 24.95, 24.96, 24.94])
    lat = np.array([60.165, 60.17, 60.175, 60.168])  # central Helsinki
    crs = "EPSG:32635"
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(lon, lat)
    density = kernel_density(x, y, cell_m=10, bandwidth_m=200)
    png, ((south, west), (north, east)) = overlay_png(density, crs)
    assert png.startswith(PNG_SIGNATURE)
    assert (south < lat.min() and north > lat.max() and west < lon.min() and east > lon.max())
    assert north - south < 0.05 and east - west < 0.1


def test_overlay_is_transparent_where_there_is_no_density():
    from io import BytesIO

    from PIL import Image

    density = kernel_density([500_000.0], [6_670_000.0], cell_m=10, bandwidth_m=100,
                             bounds=(499_000, 6_669_000, 501_000, 6_671_000))
    png, _ = overlay_png(density, 32635)
    image = np.asarray(Image.open(BytesIO(png)))
    assert image.shape[2] == 4
    assert image[0, 0, 3] == 0 and image[-1, -1, 3] == 0  # corners, far from the point
    middle = image[image.shape[0] // 2, image.shape[1] // 2]
    assert middle[3] > 0
