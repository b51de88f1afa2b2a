from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.deps import CurrentUser, DbDep
from api.errors import InvalidInput
from api.patrol_analysis import (
    GapParams,
    default_nights,
    entrance_audit_features,
    patrol_gap_features,
)
from api.places import PlaceDep
from geo.entrance_audit import REASONS
from geo.patrol_gaps import Nights
from geo.windows import DailyWindow

router = APIRouter(prefix="/api/analysis", tags=["analysis"])

MAX_NIGHTS = 366


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


@router.get("/nights")
def nights(place: PlaceDep, db: DbDep, user: CurrentUser) -> dict:
    """The nights the analyses take when none are given: the week up to the last night with
    patrols. A page asks this first, so that all its analyses can then run at once on the same nights."""
    first, last = default_nights(db, place, None, None)
    return {"place": place.code, "nights": [first.isoformat(), last.isoformat()]}


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
    limit: Annotated[int | None, Query(ge=1, description="send only the riskiest N (all are counted)")] = None,
) -> dict:
    """Entrances of unmanaged, ungated or unwatched buildings, ranked by risk."""
    return entrance_audit_features(db, place, params, reason=reason, burglary_days=burglary_days,
                                   burglary_radius_m=burglary_radius_m, limit=limit)
