"""Service and coordination: police service stations and who lives within a walk of them,
residents who need home service, broken public facilities and who is to fix them; and the
school-age children per building, per beat and per school catchment.

Personal data (DOMAIN.md): catchments and children come as counts, which every role may read,
and nothing of them is audited. The home-service list per household shows where a household
lives and that someone in it cannot travel: that is personal, so it is for the police roles
only (an officer sees the beats assigned to them), and each household shown is written to the
audit log. Per building it is counts again, for every role.

Every list is paged by id (``limit``, ``after``, a ``next`` link) and takes a beat; every
change to a facility issue is checked and lands in the change history with its reason.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.catchments import Catchment, walking_catchments
from api.deps import CurrentUser, DbDep, PageDep, RecordKeeper
from api.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.population_access import own_beats
from api.result_files import ResultFormat, result_file
from db import service as queries
from db.analysis import Place, find_beat, inside_area, whole_area
from db.disputes import beat_known, local_today
from db.history import history, record_change, record_read
from db.layers import PERSONAL_READERS
from db.models import FACILITY_STATUSES
from db.users import UserRecord
from geo.catchments import REACH_M

router = APIRouter(prefix="/api/service", tags=["service"])

TABLE = "facility_issue"
# A walk longer than this is no longer "in the community": half an hour at an elder's pace.
MAX_WALK_M = 2000.0

BeatQuery = Query(description="beat code, e.g. HKI-01; default: all beats")
Status = Literal[FACILITY_STATUSES]


def beat_codes(db: DbDep, beat: Annotated[str | None, BeatQuery] = None) -> list[str] | None:
    """The beat a list keeps to, as a list of codes (None: all), if it exists."""
    if beat is None:
        return None
    if not beat_known(db, beat):
        raise NotFound(f"no beat with code '{beat}'; GET /api/beats lists them")
    return [beat]


BeatCodes = Annotated[list[str] | None, Depends(beat_codes)]


def _answer(page, request: Request, features: list[dict], next_after: int | None, **summary) -> dict:
    return {**page.answer(request, features, next_after), "summary": summary}


# --- walking catchments of service stations and schools ------------------------------------


def catchment_place(db: DbDep, beat: Annotated[str | None, BeatQuery] = None) -> Place:
    """The beat asked about, or the whole area."""
    if beat is not None:
        place = find_beat(db, beat)
        if place is None:
            raise NotFound(f"no beat with code '{beat}'; GET /api/beats lists them")
        return place
    place = whole_area(db)
    if place is None:
        raise InvalidInput("no area is set up; ask about a beat")
    return place


WalkQuery = Query(gt=0, le=MAX_WALK_M, description="metres on foot along the streets")


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _catchment_feature(centre_id: int, catchment: Catchment, properties: dict, counts: dict) -> dict:
    """A catchment as a GeoJSON feature: its area, the centre's ``properties``, the walk and ``counts``."""
    return {"type": "Feature", "id": centre_id, "geometry": catchment.area,
            "properties": {**properties, **catchment.walk, **counts}}


def _by_stage(counts: dict) -> dict:
    """A school catchment's counts with the stages under ``by_stage``."""
    return {**{k: v for k, v in counts.items() if k not in queries.SCHOOL_STAGES},
            "by_stage": {stage: counts[stage] for stage in queries.SCHOOL_STAGES}}


def _catchment_page(page, request: Request, features: list[dict], **summary) -> dict:
    """A page of catchments. The gap needs every centre's catchment, so all are worked out and
    a page of them shown (a community has a handful of service stations and schools)."""
    after = [f for f in features if page.after is None or f["id"] > page.after]
    shown = after[:page.limit]
    return _answer(page, request, shown, shown[-1]["id"] if len(after) > page.limit else None,
                   reach_m=REACH_M, **summary)


@router.get("/stations/catchments")
def station_catchments(
    request: Request, db: DbDep, user: CurrentUser, page: PageDep,
    place: Annotated[Place, Depends(catchment_place)],
    fmt: ResultFormat,
    walk_m: Annotated[float, WalkQuery] = 800.0,
) -> dict:
    """Each service station within ``walk_m`` of the place (beat, or the whole area), by id, with
    its walking catchment on the street network, and the coverage gap.

    The walk starts with the straight stretch from the station to the nearer end of its nearest
    street; pgRouting (``pgr_drivingDistance``, undirected, cost = length) gives the street
    vertices within the rest of the walk, and every street from a reached vertex is walked into
    as far as the walk allows (``properties.streets``, a MultiLineString). The catchment
    (the feature's MultiPolygon) is those streets widened by 50 m, the way from a street to a
    door. Counts are of the place's households (their points) inside it; ``summary.gap``
    counts those inside no station's catchment. Counts only: every role may read them.
    """
    stations = queries.stations_near(db, place, walk_m)
    catchments, gap = walking_catchments(db, place, stations["lon"], stations["lat"], walk_m,
                                         queries.STATION_MEASURES)
    features = [_catchment_feature(int(s.id), c, {
        "station_id": int(s.id), "name": s.name, "opening_hours": s.opening_hours, "in_place": bool(s.in_place),
        "station": _point(s.lon, s.lat)}, c.counts)
        for s, c in zip(stations.itertuples(index=False), catchments, strict=True)]
    return result_file(_catchment_page(page, request, features, place=place.code, walk_m=walk_m,
                                       stations=len(features), gap=gap), fmt, "station-catchments", place.code)


@router.get("/schools/catchments")
def school_catchments(
    request: Request, db: DbDep, user: CurrentUser, page: PageDep,
    place: Annotated[Place, Depends(catchment_place)],
    fmt: ResultFormat,
    walk_m: Annotated[float, WalkQuery] = 800.0,
    as_of: Annotated[date | None, Query(description="the day asked about; default today (local)")] = None,
) -> dict:
    """Each school within ``walk_m`` of the place (beat, or the whole area), by id, with its
    walking catchment (划片就近入学: the nearby school) and the school-age children living inside
    it, per stage; ``summary.gap`` counts the children of the place inside no school's catchment.

    The catchment is drawn as a service station's is (GET /api/service/stations/catchments:
    the walk on the streets from the school's point, widened by 50 m); school age and stages as
    in GET /api/service/children. A child is inside when its household's point is, and is
    counted in every catchment it lies in: catchments may overlap. ``households`` counts all the
    place's households inside. Counts only: every role may read them.
    """
    as_of = as_of or local_today(db)
    schools = queries.schools_near(db, place, walk_m)
    catchments, gap = walking_catchments(db, place, schools["lon"], schools["lat"], walk_m,
                                         queries.SCHOOL_MEASURES, queries.school_age_params(as_of))
    features = [_catchment_feature(int(s.id), c, {
        "school_id": int(s.id), "name": s.name,
        "building_id": None if pd.isna(s.building_id) else int(s.building_id),
        "address": s.address, "in_place": bool(s.in_place), "school": _point(s.lon, s.lat)}, _by_stage(c.counts))
        for s, c in zip(schools.itertuples(index=False), catchments, strict=True)]
    return result_file(_catchment_page(page, request, features, place=place.code, walk_m=walk_m,
                                       **_school_age(as_of), schools=len(features), gap=_by_stage(gap)),
                       fmt, "school-catchments", place.code)


# --- residents who need home service ---------------------------------------------------------


def _home_service_scope(db, user: UserRecord, beats: list[str] | None) -> list[str] | None:
    """The beats a per-household list keeps to: the user's own (or the one asked for, if it is
    theirs)."""
    if user.role not in PERSONAL_READERS:
        raise Forbidden("households needing home service are personal data: planners see counts per "
                        "building (per=building), not households")
    own = own_beats(db, user)
    if own is None or beats is None:
        return beats if own is None else own
    if beats[0] not in own:
        raise Forbidden(f"beat {beats[0]} is not one of yours; your beats: {', '.join(own) or 'none'}")
    return beats


@router.get("/home-service")
def home_service(
    request: Request, db: DbDep, user: CurrentUser, page: PageDep, beats: BeatCodes,
    per: Annotated[Literal["household", "building"], Query(
        description="household: each household's point (police roles, audited); building: counts")] = "household",
) -> dict:
    """Residents who need home service (e.g. fingerprinting at home for an ID card), as counts
    on the map: per household (its point, building, how many and their categories; no names),
    or per building (a point on it, its address, households and residents concerned).

    Per household is personal: for officers (their beats), supervisors and admins, and each
    household shown is written to the audit log. Per building is counts, for every role.
    """
    if per == "building":
        features, next_after = queries.home_service_buildings(db, beats=beats, limit=page.limit, after=page.after)
        return _answer(page, request, features, next_after, per=per, beats=beats)
    scope = _home_service_scope(db, user, beats)
    features, next_after = queries.home_service_households(db, beats=scope, limit=page.limit, after=page.after)
    client = request.client.host if request.client else None
    for feature in features:
        record_read(db, user_id=user.id, action="read", table="household", record_id=feature["id"], client=client)
    return _answer(page, request, features, next_after, per=per, beats=scope)


# --- school-age children ---------------------------------------------------------------------


@router.get("/children")
def school_age_children(
    request: Request, db: DbDep, user: CurrentUser, page: PageDep, beats: BeatCodes,
    as_of: Annotated[date | None, Query(description="the day asked about; default today (local)")] = None,
) -> dict:
    """School-age children per building (a point on it, counts per stage), by building id, and
    the total per beat (the beat asked for, or every beat) in ``summary``.

    School age: as_of's year minus the birth year is 6 to 17 (only the birth year is kept, so
    this is the age reached in that year). Stages: primary 6-11, junior secondary 12-14, senior
    secondary 15-17. A child is in a beat when the household's point is. Counts only.
    Per school catchment: GET /api/service/schools/catchments.
    """
    as_of = as_of or local_today(db)
    features, next_after = queries.children_per_building(db, beats=beats, as_of=as_of, limit=page.limit,
                                                         after=page.after)
    return _answer(page, request, features, next_after, **_school_age(as_of),
                   per_beat=queries.children_per_beat(db, beats=beats, as_of=as_of))


def _school_age(as_of: date) -> dict:
    """The day asked about, the school-age rule and the stages, as a summary shows them."""
    low, high = queries.SCHOOL_AGES
    return {"as_of": as_of.isoformat(),
            "rule": f"{as_of.year} minus the birth year is {low} to {high} "
                    f"(born {as_of.year - high} to {as_of.year - low})",
            "stages": {stage: list(ages) for stage, ages in queries.SCHOOL_STAGES.items()}}


# --- facility issues -------------------------------------------------------------------------


class IssueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: str = Field(min_length=1, max_length=32, description="what is broken, e.g. light, gate")
    description: str | None = Field(None, max_length=2000)
    owner: str | None = Field(None, max_length=200,
                              description="who is to repair it, e.g. the property company or the committee")
    reported_on: date = Field(description="local date; not in the future")
    lon: float = Field(ge=-180, le=180, description="EPSG:4326, inside the area")
    lat: float = Field(ge=-90, le=90)
    reason: str = Field("facility issue reported", min_length=1, max_length=500,
                        description="for the change history")

    @field_validator("description", "owner")
    @classmethod
    def blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class IssueChange(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Status | None = Field(None, description="forward only: open, assigned, fixed")
    owner: str | None = Field(None, min_length=1, max_length=200, description="who is to repair it")
    version: int = Field(ge=1, description="the version the change was made on; a newer one is a 409")
    reason: str = Field(min_length=1, max_length=500, description="for the change history")

    @model_validator(mode="after")
    def something(self):
        if self.status is None and self.owner is None:
            raise ValueError("say what changes: status, owner or both")
        return self


def _issue(db, issue_id: int) -> dict:
    feature = queries.facility_issue(db, issue_id)
    if feature is None:
        raise NotFound(f"no facility issue {issue_id}")
    return {**feature, "history": history(db, TABLE, issue_id)}


@router.get("/facility-issues")
def list_facility_issues(request: Request, db: DbDep, user: CurrentUser, page: PageDep, beats: BeatCodes,
                         status: Status | None = None) -> dict:
    """Facility issues (a broken light, a broken gate) as GeoJSON points, by id, with their
    owner and status; in the beat and of the status, if given."""
    features, next_after = queries.facility_issues(db, beats=beats, status=status, limit=page.limit,
                                                   after=page.after)
    return page.answer(request, features, next_after)


@router.get("/facility-issues/{issue_id}")
def get_facility_issue(issue_id: int, db: DbDep, user: CurrentUser) -> dict:
    """One facility issue with its change history."""
    return _issue(db, issue_id)


@router.post("/facility-issues", status_code=201)
def report_facility_issue(request: Request, response: Response, db: DbDep, user: RecordKeeper,
                          new: Annotated[IssueCreate, Body()]) -> dict:
    """A broken public facility at a point in the area, status open."""
    today = local_today(db)
    if new.reported_on > today:
        raise InvalidInput(f"reported_on ({new.reported_on}) is in the future; today is {today} in the area's "
                           "time zone")
    if not inside_area(db, new.lon, new.lat):
        raise InvalidInput(f"the point ({new.lon}, {new.lat}) is outside the area; give lon, lat in EPSG:4326")
    fields = new.model_dump(exclude={"reason"})
    issue_id = queries.insert_issue(db, **fields)
    record_change(db, table=TABLE, record_id=issue_id, user_id=user.id, reason=new.reason,
                  changes={"status": (None, "open"), **{k: (None, v) for k, v in fields.items() if v is not None}})
    response.headers["Location"] = str(request.url_for("get_facility_issue", issue_id=issue_id))
    return _issue(db, issue_id)


@router.patch("/facility-issues/{issue_id}")
def change_facility_issue(issue_id: int, db: DbDep, user: RecordKeeper,
                          change: Annotated[IssueChange, Body()]) -> dict:
    """Move an issue forward (open → assigned → fixed; a step may be skipped, none undone) or
    name its owner. Assigned and fixed need an owner; a fixed issue is final. ``version`` must
    be the issue's current one (else 409); each change raises it."""
    state = queries.issue_state(db, issue_id)
    if state is None:
        raise NotFound(f"no facility issue {issue_id}")
    if change.version != state.version:
        raise Conflict(f"facility issue {issue_id} has changed since version {change.version} (it is at version "
                       f"{state.version}, {state.status}); reload it and decide again")
    if state.status == "fixed":
        raise InvalidInput(f"facility issue {issue_id} is fixed, which is final; report a new issue if it "
                           "broke again")
    status = change.status or state.status
    if queries.FACILITY_ORDER[status] < queries.FACILITY_ORDER[state.status]:
        raise InvalidInput(f"facility issue {issue_id} is {state.status}; its status moves forward only "
                           f"({' → '.join(FACILITY_STATUSES)}), not back to {status}")
    owner = change.owner or state.owner
    if status != "open" and owner is None:
        raise InvalidInput(f"an issue {status} needs an owner: say who is to repair it")
    changes = {k: (old, new) for k, old, new in (("status", state.status, status), ("owner", state.owner, owner))
               if old != new}
    if not changes:
        raise InvalidInput(f"facility issue {issue_id} is already {status} with owner {owner}; nothing changes")
    version = queries.update_issue(db, issue_id, version=state.version, status=status, owner=owner)
    if version is None:  # the row is locked: only a bug can get here
        raise Conflict(f"facility issue {issue_id} changed while it was being changed; reload it")
    changes["version"] = (state.version, version)
    record_change(db, table=TABLE, record_id=issue_id, user_id=user.id, reason=change.reason, changes=changes)
    return _issue(db, issue_id)
