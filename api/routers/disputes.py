"""The disputes register: where disputes arise, who reported them, how their mediation goes,
and which buildings see them again and again.

Every change is checked (a building that exists, a point in the area, no date in the future,
a step the workflow allows, the version the caller saw) and lands in the change history with
its reason. Descriptions and mediation outcomes may name people: only the police roles read
them, one dispute at a time, and each such read is audited. Planners see where and how many.
"""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.deps import CurrentUser, DbDep, PageDep
from api.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.result_files import ResultFormat, result_file
from db import disputes as queries
from db.analysis import inside_area
from db.history import history, record_change, record_read
from db.layers import PERSONAL_READERS
from db.models import (
    DISPUTE_CATEGORIES,
    DISPUTE_PARTIES,
    DISPUTE_REPORTERS,
    DISPUTE_STATUSES,
    REFERRAL_BODIES,
)
from db.users import UserRecord

router = APIRouter(prefix="/api/disputes", tags=["disputes"])

TABLE = "dispute"
# Who registers disputes and moves them on. The full role and beat matrix is a later issue.
WRITERS = frozenset({"officer", "supervisor"})
# Free text is not copied into the change history, which planners may read.
TEXT_MARK = "(text)"

Category = Literal[DISPUTE_CATEGORIES]
Parties = Literal[DISPUTE_PARTIES]
Reporter = Literal[DISPUTE_REPORTERS]
Status = Literal[DISPUTE_STATUSES]
Referral = Literal[REFERRAL_BODIES]


def dispute_writer(user: CurrentUser) -> UserRecord:
    if user.role not in WRITERS:
        raise Forbidden(f"registering and changing disputes is for officers and supervisors, not the {user.role} role")
    return user


Writer = Annotated[UserRecord, Depends(dispute_writer)]


BeatQuery = Query(description="beat code, e.g. HKI-01: disputes whose point lies in the beat")
DaysQuery = Query(ge=1, le=3660, description="two disputes at one building at most this many days apart "
                                             "make both repeats")


def known_beat(db: DbDep, beat: Annotated[str | None, BeatQuery] = None) -> str | None:
    if beat is not None and not queries.beat_known(db, beat):
        raise NotFound(f"no beat with code '{beat}'; GET /api/beats lists them")
    return beat


BeatDep = Annotated[str | None, Depends(known_beat)]


class DisputeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    building_id: int | None = Field(None, ge=1, description="the building the dispute is at")
    lon: float | None = Field(None, ge=-180, le=180, description="EPSG:4326; default: a point on the building")
    lat: float | None = Field(None, ge=-90, le=90)
    category: Category
    parties_kind: Parties
    reported_by: Reporter
    reported_on: date = Field(description="local date; not in the future")
    description: str | None = Field(None, max_length=4000, description="read by the police roles only")
    reason: str = Field("dispute registered", min_length=1, max_length=500,
                        description="for the change history")

    @field_validator("description")
    @classmethod
    def blank_is_none(cls, description: str | None) -> str | None:
        return description or None

    @model_validator(mode="after")
    def somewhere(self):
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat, or neither")
        if self.lon is None and self.building_id is None:
            raise ValueError("say where: give building_id, or lon and lat (EPSG:4326), or both")
        return self


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status
    referred_to: Referral | None = Field(None, description="when status is referred: to whom")
    closed_on: date | None = Field(None, description="when status is resolved or referred: the local day it "
                                                     "was; default today")
    version: int = Field(ge=1, description="the version the change was made on; a newer one is a 409")
    reason: str = Field(min_length=1, max_length=500, description="for the change history")


class MediationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    held_on: date = Field(description="local date; not in the future, not before the report")
    outcome: str = Field(min_length=1, max_length=4000, description="read by the police roles only")
    reason: str = Field("mediation recorded", min_length=1, max_length=500,
                        description="for the change history")


def _no_future(db, day: date, what: str) -> None:
    today = queries.local_today(db)
    if day > today:
        raise InvalidInput(f"{what} ({day}) is in the future; today is {today} in the area's time zone")


def _state(db, dispute_id: int, *, lock: bool = False) -> queries.DisputeState:
    state = queries.dispute_state(db, dispute_id, lock=lock)
    if state is None:
        raise NotFound(f"no dispute {dispute_id}")
    return state


def _detail(db, request: Request, user: UserRecord, dispute_id: int) -> dict:
    """A dispute with its mediations and change history; free text for the police roles only,
    and their reading it audited."""
    with_text = user.role in PERSONAL_READERS
    feature = queries.dispute(db, dispute_id, with_text=with_text)
    if feature is None:
        raise NotFound(f"no dispute {dispute_id}")
    changes = history(db, TABLE, dispute_id)
    if with_text:
        record_read(db, user_id=user.id, action="read", table=TABLE, record_id=dispute_id,
                    client=request.client.host if request.client else None)
    else:  # a reason is free text too
        changes = [{k: v for k, v in change.items() if k != "reason"} for change in changes]
    return {**feature, "mediations": queries.mediations(db, dispute_id, with_text=with_text),
            "history": changes}


@router.get("")
def list_disputes(
    request: Request, db: DbDep, user: CurrentUser, page: PageDep, beat: BeatDep,
    status: Status | None = None,
    category: Category | None = None,
    since: Annotated[date | None, Query(description="reported on or after")] = None,
    until: Annotated[date | None, Query(description="reported on or before")] = None,
    repeat_only: Annotated[bool, Query(description="only disputes at a repeat location")] = False,
    days: Annotated[int, DaysQuery] = queries.REPEAT_DAYS,
) -> dict:
    """A page of disputes as GeoJSON points (lon, lat), by id, with a link to the next page.

    ``repeat`` is true when another dispute at the same building was reported at most ``days``
    days before or after this one. No descriptions here: GET /api/disputes/{id} has them.
    """
    if since and until and until < since:
        raise InvalidInput(f"until ({until}) is before since ({since})")
    which = queries.DisputeFilter(beat=beat, status=status, category=category, since=since, until=until,
                                  repeat_only=repeat_only, days=days)
    features, next_after = queries.list_disputes(db, which, limit=page.limit, after=page.after)
    return page.answer(request, features, next_after)


@router.get("/repeat-locations")
def repeat_locations(request: Request, db: DbDep, user: CurrentUser, page: PageDep, beat: BeatDep,
                     fmt: ResultFormat, days: Annotated[int, DaysQuery] = queries.REPEAT_DAYS) -> dict:
    """Buildings with two or more disputes reported within ``days`` of each other, by building
    id: a point on the building, its address, its disputes (all, repeats, open) and their dates."""
    features, next_after = queries.repeat_locations(db, beat=beat, days=days, limit=page.limit, after=page.after)
    return result_file(page.answer(request, features, next_after), fmt, "repeat-locations", beat or "all")


@router.get("/{dispute_id}")
def get_dispute(dispute_id: int, request: Request, db: DbDep, user: CurrentUser) -> dict:
    """One dispute with its mediations and its change history."""
    return _detail(db, request, user, dispute_id)


@router.post("", status_code=201)
def register_dispute(request: Request, response: Response, db: DbDep, user: Writer,
                     new: Annotated[DisputeCreate, Body()]) -> dict:
    """Register a dispute, status reported: at a building (on a point of it unless lon and lat
    say where) or at a point in the area."""
    if new.building_id is not None and not queries.building_known(db, new.building_id):
        raise NotFound(f"no building {new.building_id}; GET /api/layers/buildings lists them")
    if new.lon is not None and not inside_area(db, new.lon, new.lat):
        raise InvalidInput(f"the point ({new.lon}, {new.lat}) is outside the area; give lon, lat in EPSG:4326")
    _no_future(db, new.reported_on, "reported_on")
    fields = new.model_dump(exclude={"reason"})
    dispute_id = queries.insert_dispute(db, **fields)
    logged = {k: v for k, v in fields.items() if v is not None and k != "description"}
    if new.description:
        logged["description"] = TEXT_MARK
    record_change(db, table=TABLE, record_id=dispute_id, user_id=user.id, reason=new.reason,
                  changes={"status": (None, "reported"), **{k: (None, v) for k, v in logged.items()}})
    response.headers["Location"] = str(request.url_for("get_dispute", dispute_id=dispute_id))
    return _detail(db, request, user, dispute_id)


@router.patch("/{dispute_id}")
def change_status(dispute_id: int, request: Request, db: DbDep, user: Writer,
                  change: Annotated[StatusChange, Body()]) -> dict:
    """Move a dispute along its workflow: reported → mediating → resolved, or referred to the
    mediation committee or the judicial office, which closes it on ``closed_on`` (default today;
    not in the future, not before the report). ``version`` must be the dispute's current one."""
    state = _state(db, dispute_id, lock=True)
    if change.version != state.version:
        raise Conflict(f"dispute {dispute_id} has changed since version {change.version} (it is at version "
                       f"{state.version}, {state.status}); reload it and decide again")
    allowed = queries.NEXT_STATUSES[state.status]
    if change.status not in allowed:
        then = f"can only go to {' or '.join(allowed)}" if allowed else "is final"
        raise InvalidInput(f"dispute {dispute_id} is {state.status}, which {then}; not to {change.status}")
    if (change.status == "referred") != (change.referred_to is not None):
        raise InvalidInput("referred_to (mediation_committee or judicial_office) goes with status referred, "
                           "and only with it")
    closed_on = None
    if change.status in queries.CLOSED_STATUSES:
        closed_on = change.closed_on or queries.local_today(db)
        _no_future(db, closed_on, "closed_on")
        if closed_on < state.reported_on:
            raise InvalidInput(f"closed_on ({closed_on}) is before the dispute was reported ({state.reported_on})")
    elif change.closed_on is not None:
        raise InvalidInput(f"closed_on goes with status {' or '.join(queries.CLOSED_STATUSES)}, and only with them")
    version = queries.set_status(db, dispute_id, version=state.version, status=change.status,
                                 referred_to=change.referred_to, closed_on=closed_on)
    if version is None:  # the row is locked: only a bug can get here
        raise Conflict(f"dispute {dispute_id} changed while it was being changed; reload it")
    changes = {"status": (state.status, change.status), "version": (state.version, version)}
    if change.referred_to != state.referred_to:
        changes["referred_to"] = (state.referred_to, change.referred_to)
    if closed_on is not None:
        changes["closed_on"] = (None, closed_on)
    record_change(db, table=TABLE, record_id=dispute_id, user_id=user.id, reason=change.reason, changes=changes)
    return _detail(db, request, user, dispute_id)


@router.post("/{dispute_id}/mediations", status_code=201)
def record_mediation(dispute_id: int, request: Request, db: DbDep, user: Writer,
                     mediation: Annotated[MediationCreate, Body()]) -> dict:
    """A mediation of the dispute: when, and what came of it. It is held by the officer logged
    in (none is named when a supervisor records it). The dispute's status is changed apart, by PATCH."""
    state = _state(db, dispute_id)
    _no_future(db, mediation.held_on, "held_on")
    if mediation.held_on < state.reported_on:
        raise InvalidInput(f"held_on ({mediation.held_on}) is before the dispute was reported "
                           f"({state.reported_on})")
    officer_id = user.officer_id if user.role == "officer" else None
    mediation_id = queries.insert_mediation(db, dispute_id=dispute_id, officer_id=officer_id,
                                            held_on=mediation.held_on, outcome=mediation.outcome)
    record_change(db, table="mediation", record_id=mediation_id, user_id=user.id, reason=mediation.reason,
                  changes={"dispute_id": (None, dispute_id), "officer_id": (None, officer_id),
                           "held_on": (None, mediation.held_on), "outcome": (None, TEXT_MARK)})
    record_change(db, table=TABLE, record_id=dispute_id, user_id=user.id, reason=mediation.reason,
                  changes={"mediation": (None, mediation_id)})
    return _detail(db, request, user, dispute_id)
