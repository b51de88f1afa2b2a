"""Row-by-row geometry checks for imports, vectorised with shapely 2."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


# shapely's type ids, in order (shapely.GeometryType)
TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                       "MultiPolygon", "GeometryCollection"], dtype=object)


def geometry_problems(
    geoms: np.ndarray,
    allowed_types: tuple[str, ...],
    *,
    area: BaseGeometry | None = None,
) -> list[str | None]:
    """For each geometry, None if it may be stored, else what is wrong with it, in words."""
    geoms = np.asarray(geoms, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = np.where(missing, None, TYPE_NAMES[np.maximum(shapely.get_type_id(geoms), 0)])
    wrong_type = ~missing & ~np.isin(types, allowed_types)
    coords, owner = shapely.get_coordinates(geoms, return_index=True)
    nonfinite = np.zeros(len(geoms), dtype=bool)
    nonfinite[owner[~np.isfinite(coords).all(axis=1)]] = True
    bounds = shapely.bounds(geoms)
    out_of_range = ~missing & ~nonfinite & (
        (bounds[:, 0] < -180) | (bounds[:, 2] > 180) | (bounds[:, 1] < -90) | (bounds[:, 3] > 90)
    )
    suspect = missing | wrong_type | nonfinite | out_of_range
    invalid = ~suspect & ~shapely.is_valid(np.where(suspect, None, geoms))
    outside = np.zeros(len(geoms), dtype=bool)
    if area is not None:
        shapely.prepare(area)
        checkable = ~suspect & ~invalid
        outside[checkable] = ~shapely.covered_by(geoms[checkable], area)

    problems: list[str | None] = [None] * len(geoms)
    for i in np.flatnonzero(suspect | invalid | outside):
        if missing[i]:
            problems[i] = "has no geometry"
        elif wrong_type[i]:
            problems[i] = f"geometry is a {types[i]}; this layer takes {' or '.join(allowed_types)}"
        elif nonfinite[i]:
            problems[i] = "geometry has non-finite coordinates"
        elif out_of_range[i]:
            problems[i] = ("coordinates are not longitude/latitude (outside ±180/±90); "
                           "check the file's CRS and the lon/lat column order")
        elif invalid[i]:
            problems[i] = f"invalid geometry: {shapely.is_valid_reason(geoms[i])}"
        else:
            x, y = shapely.get_coordinates(geoms[i])[0]
            problems[i] = f"lies outside the area (first vertex at lon {x:.6f}, lat {y:.6f})"
    return problems


def promote(geoms: np.ndarray, store_as: str) -> np.ndarray:
    """Make single parts multi where the column stores multi-parts (Polygon -> MultiPolygon)."""
    geoms = np.asarray(geoms, dtype=object)
    if store_as == "MultiPolygon":
        single = shapely.get_type_id(geoms) == 3
        geoms = geoms.copy()
        geoms[single] = [shapely.MultiPolygon([g]) for g in geoms[single]]
    return geoms


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mend invalid geometries, keeping only parts of the original dimension.

    Returns the geometries, a mask of those mended and a mask of those that
    collapsed to nothing (a zero-area "polygon", a zero-length "line").
    """
    geoms = np.asarray(geoms, dtype=object).copy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    broken = np.flatnonzero(present & ~shapely.is_valid(np.where(present, geoms, None)))
    collapsed = np.zeros(len(geoms), dtype=bool)
    for i in broken:
        dimension = shapely.get_dimensions(geoms[i])
        parts = shapely.get_parts(shapely.make_valid(geoms[i]))
        kept = parts[shapely.get_dimensions(parts) == dimension]
        if len(kept) == 0:
            collapsed[i] = True
            continue
        mended = shapely.union_all(kept) if len(kept) > 1 else kept[0]
        geoms[i] = mended
    mended_mask = np.zeros(len(geoms), dtype=bool)
    mended_mask[broken] = True
    return geoms, mended_mask & ~collapsed, collapsed
