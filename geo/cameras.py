"""What a camera sees: a sector from its position, ``fov`` wide around its direction, out to its range."""

from __future__ import annotations

import numpy as np
import shapely
from shapely import STRtree


def in_view(px, py, cx, cy, direction_deg, fov_deg, range_m) -> np.ndarray:
    """For pairs (point i, camera i) in metres: whether the point lies in the camera's sector.

    Directions are degrees clockwise from north (grid north of the metric CRS);
    a NaN direction or a field of view of 360 degrees sees all round.
    """
    dx, dy = np.asarray(px) - cx, np.asarray(py) - cy
    within = np.hypot(dx, dy) <= range_m
    bearing = np.degrees(np.arctan2(dx, dy)) % 360
    off_axis = np.abs((bearing - np.nan_to_num(direction_deg) + 180) % 360 - 180)
    all_round = np.isnan(direction_deg) | (np.asarray(fov_deg) >= 360)
    at_camera = (dx == 0) & (dy == 0)
    return within & (all_round | at_camera | (off_axis <= np.asarray(fov_deg) / 2))


def seen_by_any(px, py, cameras_x, cameras_y, direction_deg, fov_deg, range_m) -> np.ndarray:
    """For each point: whether any working camera has it in view."""
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    seen = np.zeros(len(px), dtype=bool)
    if not len(px) or not len(cameras_x):
        return seen
    boxes = shapely.box(cameras_x - range_m, cameras_y - range_m, cameras_x + range_m, cameras_y + range_m)
    i, c = STRtree(boxes).query(shapely.points(px, py), predicate="intersects")
    hit = in_view(px[i], py[i], cameras_x[c], cameras_y[c], direction_deg[c], fov_deg[c], range_m[c])
    seen[i[hit]] = True
    return seen
