"""The query parameters that select incidents: a place's days, types, hours and weekdays.

Every route that reads incidents takes them the same way, as dependencies.
"""

from datetime import date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Query

from api import incident_analysis as answers
from api.deps import DbDep
from api.errors import InvalidInput
from api.places import PlaceDep
from db import analysis as queries
from db.analysis import Place
from db.incidents import IncidentFilter, latest_incident
from geo.windows import DailyWindow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_DAYS = 90
MAX_DAYS = 3660


def workload_period(db: DbDep, start: date | None, end: date | None) -> tuple[date, date, datetime, datetime]:
    """The days whose incidents a workload counts (by default the 90 up to the area's latest
    incident), and their local midnights."""
    area = queries.whole_area(db)
    tz = area.tz if area else "UTC"
    if end is None:
        latest = latest_incident(db, area) if area else None
        end = latest.astimezone(ZoneInfo(tz)).date() if latest else date.today()
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    return start, end, *local_range(tz, start, end)


def local_range(tz: str, first: date, last: date) -> tuple[datetime, datetime]:
    """Local midnight of ``first`` to local midnight after ``last``."""
    if last < first:
        raise InvalidInput(f"the end ({last}) is before the start ({first})")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"ask for at most {MAX_DAYS} days at a time")
    zone = ZoneInfo(tz)
    return datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)


class Selection:
    """Which incidents: types, hours of day and weekdays (local time)."""

    def __init__(
        self,
        types: Annotated[str | None, Query(pattern=r"^[a-z_]+(,[a-z_]+)*$", max_length=500,
                                           description="incident types, e.g. burglary,theft")] = None,
        hours: Annotated[str | None, Query(description="hours of day, local; may cross midnight, "
                                                       "e.g. 22:00-06:00")] = None,
        days: Annotated[str | None, Query(description="weekdays, e.g. sat,sun")] = None,
    ):
        try:
            self.hours = DailyWindow.parse(hours) if hours else None
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        names = days.lower().split(",") if days else []
        if unknown := [d for d in names if d not in WEEKDAYS]:
            raise InvalidInput(f"unknown weekday {unknown[0]!r}; use {','.join(WEEKDAYS)}")
        self.weekdays = tuple(sorted({WEEKDAYS.index(d) + 1 for d in names}))
        self.types = tuple(sorted(set(types.split(",")))) if types else ()

    def between(self, place: Place, first: date, last: date) -> IncidentFilter:
        since, until = local_range(place.tz, first, last)
        return IncidentFilter(since, until, self.types, self.hours, self.weekdays)


SelectionDep = Annotated[Selection, Depends()]


def incident_filter(
    place: PlaceDep, db: DbDep, selection: SelectionDep,
    start: Annotated[date | None, Query(description="first day (local)")] = None,
    end: Annotated[date | None, Query(description="last day (local); default: the latest incident's")] = None,
) -> IncidentFilter:
    first, last = answers.default_dates(db, place, start, end, days=DEFAULT_DAYS)
    return selection.between(place, first, last)


FilterDep = Annotated[IncidentFilter, Depends(incident_filter)]
