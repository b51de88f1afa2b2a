"""The query parameters that choose the nights of the patrol analyses."""

from datetime import date
from typing import Annotated

from fastapi import Depends, Query

from api.deps import DbDep
from api.errors import InvalidInput
from api.patrol_analysis import GapParams, default_nights
from api.places import PlaceDep
from geo.patrol_gaps import Nights
from geo.windows import DailyWindow

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
