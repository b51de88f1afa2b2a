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


def pairs_in_view(px, py, cx, cy, direction_deg, fov_deg, range_m) -> tuple[np.ndarray, np.ndarray]:
    """The (point, camera) index pairs in which the camera has the point in view.

    A spatial index over the cameras' range boxes finds the candidates; ``in_view`` decides.
    """
    px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
    cx, cy = np.asarray(cx, dtype=float), np.asarray(cy, dtype=float)
    if not len(px) or not len(cx):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    range_m = np.broadcast_to(np.asarray(range_m, dtype=float), cx.shape)
    direction_deg = np.broadcast_to(np.asarray(direction_deg, dtype=float), cx.shape)
    fov_deg = np.broadcast_to(np.asarray(fov_deg, dtype=float), cx.shape)
    # A hair wider than the range: a point whose distance rounds down to the range is in view,
    # and must not fall outside the box that finds it.
    reach = range_m * (1 + 1e-9)
    boxes = shapely.box(cx - reach, cy - reach, cx + reach, cy + reach)
    i, c = STRtree(boxes).query(shapely.points(px, py), predicate="intersects")
    hit = in_view(px[i], py[i], cx[c], cy[c], direction_deg[c], fov_deg[c], range_m[c])
    return i[hit], c[hit]


def seen_by_any(px, py, cameras_x, cameras_y, direction_deg, fov_deg, range_m) -> np.ndarray:
    """For each point: whether any working camera has it in view."""
    seen = np.zeros(len(px), dtype=bool)
    seen[pairs_in_view(px, py, cameras_x, cameras_y, direction_deg, fov_deg, range_m)[0]] = True
    return seen
