from datetime import date
from typing import Annotated, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Depends, Query

from api.deps import CurrentUser, DbDep
from api.errors import InvalidInput, NotFound
from api.patrol_analysis import GapParams, default_nights, entrance_audit_features, patrol_gap_features
from db import analysis as queries
from geo.entrance_audit import REASONS
from geo.patrol_gaps import Nights
from geo.validate import geometry_problems
from geo.windows import DailyWindow

router = APIRouter(prefix="/api/analysis", tags=["analysis"])

MAX_NIGHTS = 366


# A polygon larger than this is a district-wide batch job, not a question for one request.
MAX_POLYGON_KM2 = 50.0


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
    try:
        shape = shapely.from_geojson(polygon)
    except shapely.errors.GEOSException:
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
    area_km2 = gpd.GeoSeries([shape], crs=4326).to_crs(place.srid).area.iloc[0] / 1e6
    if area_km2 > MAX_POLYGON_KM2:
        raise InvalidInput(f"the polygon covers {area_km2:.0f} km2; ask about at most {MAX_POLYGON_KM2:g} km2")
    return place


PlaceDep = Annotated[queries.Place, Depends(analysed_place)]


def gap_params(
    place: PlaceDep,
    db: DbDep,
    start: Annotated[date | None, Query(description="first night (the date it starts on)")] = None,
    end: Annotated[date | None, Query(description="last night; default: the last night with patrols")] = None,
    window: Annotated[str, Query(description="daily window in local time; may cross midnight")] = "22:00-06:00",
    radius_m: Annotated[float, Query(gt=0, le=500, description="cover radius in metres")] = 30.0,
) -> GapParams:
    try:
        daily = DailyWindow.parse(window)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    first, last = default_nights(db, place, start, end)
    if last < first:
        raise InvalidInput(f"end ({last}) is before start ({first})")
    if (last - first).days >= MAX_NIGHTS:
        raise InvalidInput(f"ask for at most {MAX_NIGHTS} nights at a time")
    return GapParams(Nights(daily, first, last, place.tz), radius_m)


GapParamsDep = Annotated[GapParams, Depends(gap_params)]


@router.get("/patrol-gaps")
def patrol_gaps(
    place: PlaceDep, params: GapParamsDep, db: DbDep, user: CurrentUser,
    revisits: Annotated[bool, Query(description="also list passed entrances and focus areas")] = False,
) -> dict:
    """Street parts, focus areas and entrances the patrols of those nights did not pass."""
    return patrol_gap_features(db, place, params, with_passed=revisits)


@router.get("/unmanaged-entrances")
def unmanaged_entrances(
    place: PlaceDep, params: GapParamsDep, db: DbDep, user: CurrentUser,
    reason: Annotated[Literal[REASONS] | None, Query()] = None,
    burglary_days: Annotated[int, Query(ge=1, le=365, description="burglaries of the last N days count")] = 30,
    burglary_radius_m: Annotated[float, Query(gt=0, le=1000)] = 100.0,
) -> dict:
    """Entrances of unmanaged, ungated or unwatched buildings, ranked by risk."""
    return entrance_audit_features(db, place, params, reason=reason, burglary_days=burglary_days,
                                   burglary_radius_m=burglary_radius_m)
