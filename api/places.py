"""The place an analysis is asked about: a beat by its code, or a polygon drawn on the map."""

from __future__ import annotations

from typing import Annotated

import geopandas as gpd
import numpy as np
import shapely
from fastapi import Depends, Query

from api.deps import DbDep
from api.errors import InvalidInput, NotFound
from db import analysis as queries
from geo.validate import geometry_problems

# A polygon larger than this is a district-wide batch job, not a question for one request.
MAX_POLYGON_KM2 = 50.0
# Polygons are measured equal-area over the whole globe (WGS 84 / EASE-Grid 2.0 Global): the
# analysis's own UTM zone gives a polygon far beyond it almost no area (the world's, none).
EQUAL_AREA_CRS = 6933


def analysed_place(
    db: DbDep,
    beat: Annotated[str | None, Query(description="beat code, e.g. HKI-01")] = None,
    polygon: Annotated[str | None, Query(description="instead of a beat: a GeoJSON Polygon in "
                                                      "lon/lat, at most 50 km2", max_length=100_000)] = None,
) -> queries.Place:
    """The beat, or the polygon, the analysis is asked about."""
    if (beat is None) == (polygon is None):
        raise InvalidInput("give either beat (a code) or polygon (GeoJSON), not both or neither")
    if beat is not None:
        place = queries.find_beat(db, beat)
        if place is None:
            raise NotFound(f"no beat with code '{beat}'; GET /api/beats lists them")
        return place
    # Some non-ASCII junk makes shapely raise a UnicodeDecodeError (a ValueError), not GEOS's error.
    try:
        shape = shapely.from_geojson(polygon)
    except (shapely.errors.GEOSException, ValueError):
        raise InvalidInput("polygon is not GeoJSON; send a Polygon geometry in lon/lat") from None
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInput(f"polygon is a {shape.geom_type}; send a Polygon or MultiPolygon")
    [problem] = geometry_problems(np.array([shape], dtype=object), ("Polygon", "MultiPolygon"))
    if problem:
        raise InvalidInput(f"polygon {problem}")
    try:
        place = queries.polygon_place(db, shapely.to_wkb(shape))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    area_km2 = gpd.GeoSeries([shape], crs=4326).to_crs(EQUAL_AREA_CRS).area.iloc[0] / 1e6
    if area_km2 > MAX_POLYGON_KM2:
        raise InvalidInput(f"the polygon covers {area_km2:.0f} km2; ask about at most {MAX_POLYGON_KM2:g} km2")
    return place


PlaceDep = Annotated[queries.Place, Depends(analysed_place)]
