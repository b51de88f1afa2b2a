"""CRS discipline: store in EPSG:4326, measure in a metric CRS chosen for the area."""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

STORAGE_CRS = CRS.from_epsg(4326)


class CRSMissing(ValueError):
    """A dataset declares no CRS, so its coordinates cannot be placed."""


def to_storage_crs(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 (lon, lat), refusing data that declares no CRS."""
    if frame.crs is None:
        raise CRSMissing(
            "the file declares no coordinate reference system; give it one "
            "(e.g. --crs EPSG:4326 for longitude/latitude)"
        )
    if CRS(frame.crs).equals(STORAGE_CRS, ignore_axis_order=True):
        return frame
    return frame.to_crs(STORAGE_CRS)


def utm_crs(geoms) -> CRS:
    """The UTM zone holding longitude/latitude geometries: metres, small distortion over a district."""
    return gpd.GeoSeries(geoms, crs=STORAGE_CRS).estimate_utm_crs()


@lru_cache
def _from_storage(srid: int) -> Transformer:
    return Transformer.from_crs(STORAGE_CRS, CRS.from_epsg(srid), always_xy=True)


def to_metric(lon: np.ndarray, lat: np.ndarray, srid: int) -> tuple[np.ndarray, np.ndarray]:
    """Longitude/latitude to x/y in metres of the area's metric CRS.

    In numpy rather than by ST_Transform in the query: a million points take a tenth
    of a second here, and several seconds as rows of transformed geometries.
    """
    return _from_storage(srid).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))


def to_lonlat(geoms: np.ndarray, srid: int) -> np.ndarray:
    """Geometries in the area's metric CRS back to longitude/latitude."""
    back = _from_storage(srid)

    def inverse(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(back.transform(xy[:, 0], xy[:, 1], direction="INVERSE"))

    return shapely.transform(np.asarray(geoms, dtype=object), inverse)
