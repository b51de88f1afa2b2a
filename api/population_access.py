"""Who may see which households and residents, and how their lists are paged and audited.

Households and residents are personal data (DOMAIN.md, "Personal data"): planners may not read
them; an officer sees the households of the beats assigned to them today, a supervisor those of
their station's beats, admins all (the database holds each request to the same rule). Every population route takes its user, scope and page through these dependencies.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Query, Request

from api.deps import CurrentUser, DbDep, Page, SettingsDep
from api.errors import Forbidden, InvalidInput, NotFound
from db import population as queries
from db.access import visible_beats
from db.history import record_read
from db.users import UserRecord


def population_user(user: CurrentUser) -> UserRecord:
    """The current user, if their role may see households and residents."""
    if user.role == "planner":
        raise Forbidden("households and residents are personal data: planners see counts, not people")
    return user


PopulationUser = Annotated[UserRecord, Depends(population_user)]


def beat_scope(db: DbDep, user: PopulationUser,
               beat: Annotated[str | None, Query(description="beat code, e.g. HKI-01; default: all "
                                                               "the beats the user may see")] = None,
               ) -> list[str] | None:
    """The beats a list keeps to (None: all): the one asked for, if the user may see it; else the
    user's own beats (``own_beats``)."""
    own = own_beats(db, user)
    if beat is None:
        return own
    if not queries.beat_exists(db, beat):
        raise NotFound(f"no beat with code '{beat}'; GET /api/beats lists them")
    if own is not None and beat not in own:
        raise Forbidden(f"beat {beat} is not one of yours; your beats: {', '.join(own) or 'none'}")
    return [beat]


BeatScope = Annotated[list[str] | None, Depends(beat_scope)]


def own_beats(db, user: UserRecord) -> list[str] | None:
    """The beats whose records a user keeps, as the database's row policies have it: an
    officer's assigned today, a supervisor's station's; None (all) for admins."""
    return None if user.role == "admin" else visible_beats(db)


def user_beats(db: DbDep, user: PopulationUser) -> list[str] | None:
    """The beats whose records the user may change (``own_beats``)."""
    return own_beats(db, user)


UserBeats = Annotated[list[str] | None, Depends(user_beats)]


def household_for(db, household_id: int, beats: list[str] | None) -> None:
    """Refuse a household that does not exist (404) or lies outside the user's beats (403)."""
    inside = queries.household_in_scope(db, household_id, beats)
    if inside is None:
        raise NotFound(f"no household with id {household_id}")
    if not inside:
        raise Forbidden(f"household {household_id} is not in your beats")


def page_limit(settings: SettingsDep,
               limit: Annotated[int | None, Query(ge=1, description="page size; at most, and by "
                                                                   "default, BEATBOOK_MAX_PAGE_SIZE")] = None,
               ) -> int:
    limit = limit or settings.max_page_size
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}")
    return limit


PageLimit = Annotated[int, Depends(page_limit)]
After = Annotated[int | None, Query(ge=0, description="continue after this id (the next link has it)")]
AsOf = Annotated[date | None, Query(description="the day asked about (local); default today")]


def next_links(request: Request, next_after: int | None) -> list[dict]:
    """The link to the next page of a list paged by id, if there is one."""
    return Page.links(request, next_after)


def audit_reads(db, user: UserRecord, request: Request, table: str, ids, *, action: str = "read",
                details: dict | None = None) -> None:
    """One audit row per record shown (or exported), each with ``details`` (never personal)."""
    client = request.client.host if request.client else None
    for record_id in ids:
        record_read(db, user_id=user.id, action=action, table=table,
                    record_id=None if record_id is None else int(record_id), client=client, details=details)
