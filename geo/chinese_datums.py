"""GCJ-02 and BD-09, the shifted coordinates of Chinese web maps, to and from WGS-84.

AMap/Gaode and Tencent publish coordinates in GCJ-02, Baidu in BD-09; both are
WGS-84 longitude/latitude moved by a published, deliberately irregular offset of
300-700 m. No well-kept library or PROJ pipeline covers them, so the public
formulas are here, vectorised. GCJ-02 has no closed-form inverse: WGS-84 is found
by fixed-point iteration, to far below a millimetre.

All functions take and return (lon, lat) arrays of shape (n, 2).
"""

from __future__ import annotations

import numpy as np
import shapely

# The Krasovsky 1940 ellipsoid the GCJ-02 formulas are written for.
_A = 6378245.0
_EE = 0.00669342162296594323
# Outside this box GCJ-02 equals WGS-84.
CHINA_BOX = (72.004, 0.8293, 137.8347, 55.8271)
_BD_SHIFT = np.pi * 3000.0 / 180.0


def _in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon >= CHINA_BOX[0]) & (lon <= CHINA_BOX[2]) & (lat >= CHINA_BOX[1]) & (lat <= CHINA_BOX[3])


def _offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = lon - 105.0, lat - 35.0
    shared = (20 * np.sin(6 * x * np.pi) + 20 * np.sin(2 * x * np.pi)) * 2 / 3
    dlat = (-100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + shared
            + (20 * np.sin(y * np.pi) + 40 * np.sin(y / 3 * np.pi)) * 2 / 3
            + (160 * np.sin(y / 12 * np.pi) + 320 * np.sin(y * np.pi / 30)) * 2 / 3)
    dlon = (300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + shared
            + (20 * np.sin(x * np.pi) + 40 * np.sin(x / 3 * np.pi)) * 2 / 3
            + (150 * np.sin(x / 12 * np.pi) + 300 * np.sin(x / 30 * np.pi)) * 2 / 3)
    rad = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    dlat = dlat * 180.0 / ((_A * (1 - _EE)) / (magic * np.sqrt(magic)) * np.pi)
    dlon = dlon * 180.0 / (_A / np.sqrt(magic) * np.cos(rad) * np.pi)
    inside = _in_china(lon, lat)
    return np.where(inside, dlon, 0.0), np.where(inside, dlat, 0.0)


def wgs84_to_gcj02(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    dlon, dlat = _offset(coords[:, 0], coords[:, 1])
    return np.column_stack([coords[:, 0] + dlon, coords[:, 1] + dlat])


def _invert(forward, coords: np.ndarray, start: np.ndarray, tolerance_deg: float) -> np.ndarray:
    """Solve forward(x) = coords by fixed-point iteration: each shift is small and smooth."""
    x = start.copy()
    for _ in range(30):
        error = forward(x) - coords
        x -= error
        if np.abs(error).max(initial=0.0) < tolerance_deg:
            break
    return x


def gcj02_to_wgs84(coords: np.ndarray, *, tolerance_deg: float = 1e-10) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    return _invert(wgs84_to_gcj02, coords, coords, tolerance_deg)


def gcj02_to_bd09(coords: np.ndarray) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    x, y = coords[:, 0], coords[:, 1]
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_SHIFT)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_SHIFT)
    return np.column_stack([z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006])


def bd09_to_gcj02(coords: np.ndarray, *, tolerance_deg: float = 1e-10) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    return _invert(gcj02_to_bd09, coords, coords - [0.0065, 0.006], tolerance_deg)


def wgs84_to_bd09(coords: np.ndarray) -> np.ndarray:
    return gcj02_to_bd09(wgs84_to_gcj02(coords))


def bd09_to_wgs84(coords: np.ndarray) -> np.ndarray:
    return gcj02_to_wgs84(bd09_to_gcj02(coords))


TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


def unshift_geometries(geoms: np.ndarray, datum: str) -> np.ndarray:
    """Move geometries given in GCJ-02 or BD-09 back to WGS-84 (lon, lat)."""
    try:
        convert = TO_WGS84[datum]
    except KeyError:
        raise ValueError(f"unknown datum '{datum}'; use one of {', '.join(TO_WGS84)}") from None
    return shapely.transform(np.asarray(geoms, dtype=object), convert)
