"""The population records (一标三实: actual people, houses): households at buildings and the
residents in them, registered and corrected with a version and a reason; the in/out movement
log per building; the temporary-resident ledger as a spreadsheet.

This router has no prefix: ``api/routers/population.py`` includes it under /api/population, so
registering that router registers these routes (register this one on its own and they would
sit at the root).

Personal data (DOMAIN.md): planners are refused; an officer works in the beats assigned to
them today. A resident's name, phone and identity number are shown masked to every role. The
identity number is kept only as a keyed hash (beatbook/personal.py) and its last four
characters; it is never echoed back, not even in a 422 (the bodies here are checked by
``_parsed``, whose errors name fields, never values), and the change log holds it masked.
Reads of residents and households and every export go to the audit log; every change to the
change log, with who, when and why.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
from fastapi import APIRouter, Body, Query, Request, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from api.deps import DbDep, SettingsDep
from api.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.population_access import (
    After,
    AsOf,
    BeatScope,
    PageLimit,
    PopulationUser,
    UserBeats,
    audit_reads,
    household_for,
    next_links,
)
from beatbook.personal import hash_identity, last4, mask_identity, normalise_identity
from beatbook.settings import Settings
from db import population as population_queries
from db import residents as queries
from db.history import record_change
from db.models import MOVEMENT_DIRECTIONS, RESIDENT_CATEGORIES, TENURES

router = APIRouter(tags=["population"])

# A household's point is its unit's or its entrance's: on its building or at most this far off.
NEAR_BUILDING_M = 50.0
PRECISION = population_queries.PRECISION

Tenure = Literal[TENURES]
Category = Literal[RESIDENT_CATEGORIES]
Direction = Literal[MOVEMENT_DIRECTIONS]


# --- identity numbers -------------------------------------------------------------------------

# GB 11643-1999: the 18th character checks the first 17 (ISO 7064 MOD 11-2).
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# 18 characters; 15 digits (first-generation cards); 3 letters and 12 digits (foreigners'
# permanent residence cards before 2023).
_ID_FORMS = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}|[A-Z]{3}[0-9]{12}")


def checked_identity(number: str) -> str:
    """The identity number normalised (full-width characters folded, spaces dropped, upper
    case), if it has the form of one and an 18-character one its check digit; else ValueError,
    whose message never contains the number."""
    number = normalise_identity(unicodedata.normalize("NFKC", number))
    if not _ID_FORMS.fullmatch(number):
        raise ValueError("id_number must be an identity number of 18 characters (17 digits, then a digit "
                         "or X) or of 15 (an older card); spaces are ignored")
    if len(number) == 18:
        total = sum(int(digit) * weight for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=True))
        if _ID_CHECK[total % 11] != number[17]:
            raise ValueError("id_number does not check out: its last character does not match the first "
                             "17, so one of them is mistyped")
    return number


IdNumber = Annotated[str, AfterValidator(checked_identity)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,30}$")]
Place = Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)]


# --- request bodies -----------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)
RawBody = Annotated[Any, Body(description="see the schema of the operation")]


def _parsed(model: type[M], raw: Any) -> M:
    """``raw`` checked against ``model``. A 422 names the fields at fault and what is wrong,
    never their values: FastAPI's own would echo the body, names and identity numbers with it."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_context=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise InvalidInput("; ".join(problems)) from None


def _schema(model: type[BaseModel]) -> dict:
    """The OpenAPI request body of a route that checks its body with ``_parsed``."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    def _not_null(self, *names: str) -> None:
        for name in names:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} may be left out but not null")

    def _position_pair(self) -> None:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("give both lon and lat (EPSG:4326), or neither")

    @field_validator("unit", "room", check_fields=False)
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class HouseholdCreate(_Record):
    building_id: int = Field(ge=1, description="the building the household lives in")
    unit: Place | None = Field(None, description="the unit (单元) of the building")
    room: Place | None = Field(None, description="the room (室)")
    tenure: Tenure = "registered"
    lon: float | None = Field(None, ge=-180, le=180, description="EPSG:4326; default: a point on the "
                                                                  "building; at most 50 m from it")
    lat: float | None = Field(None, ge=-90, le=90)
    reason: str = Field("household registered", min_length=3, max_length=500,
                        description="for the change history")

    @model_validator(mode="after")
    def _checked(self):
        self._position_pair()
        return self


class HouseholdUpdate(_Record):
    version: int = Field(ge=1, description="the version changed; if it is no longer the current one: 409")
    reason: str = Field(min_length=3, max_length=500, description="why: kept in the change history")
    building_id: int | None = Field(None, ge=1, description="another building: a correction (a move "
                                                             "is a movement)")
    unit: Place | None = None
    room: Place | None = None
    tenure: Tenure | None = None
    lon: float | None = Field(None, ge=-180, le=180, description="a new point (EPSG:4326); default: "
                                                                  "unchanged, or a point on the new building")
    lat: float | None = Field(None, ge=-90, le=90)

    @model_validator(mode="after")
    def _checked(self):
        self._not_null("building_id", "tenure", "lon", "lat")
        self._position_pair()
        return self


class ResidentCreate(_Record):
    household_id: int = Field(ge=1)
    name: Name
    category: Category
    birth_year: int = Field(ge=1880, le=2100)
    id_number: IdNumber | None = Field(None, description="the identity number: kept only as a keyed hash "
                                                         "and its last four, shown masked")
    lives_alone: bool = False
    needs_home_service: bool = Field(False, description="cannot travel (e.g. ID-card fingerprinting at home)")
    phone: Phone | None = None
    reason: str = Field("resident registered", min_length=3, max_length=500,
                        description="for the change history")


class ResidentUpdate(_Record):
    version: int = Field(ge=1, description="the version changed; if it is no longer the current one: 409")
    reason: str = Field(min_length=3, max_length=500, description="why: kept in the change history")
    household_id: int | None = Field(None, ge=1, description="another household (both in your beats)")
    name: Name | None = None
    category: Category | None = None
    birth_year: int | None = Field(None, ge=1880, le=2100)
    id_number: IdNumber | None = Field(None, description="a corrected number; null removes it")
    lives_alone: bool | None = None
    needs_home_service: bool | None = None
    phone: Phone | None = Field(None, description="null removes it")

    @model_validator(mode="after")
    def _checked(self):
        self._not_null("household_id", "name", "category", "birth_year", "lives_alone", "needs_home_service")
        return self


class MovementCreate(_Record):
    building_id: int = Field(ge=1)
    resident_id: int | None = Field(None, ge=1, description="who moved, if known and registered")
    direction: Direction
    moved_on: date = Field(description="local date; not in the future")
    note: str | None = Field(None, max_length=2000)
    reason: str = Field("movement recorded", min_length=3, max_length=500,
                        description="for the change history")


# --- shared checks ----------------------------------------------------------------------------


def _today(db) -> date:
    return population_queries.local_today(population_queries.area_timezone(db))


def _position(db, building_id: int, lon: float | None, lat: float | None,
              beats: list[str] | None) -> queries.Position:
    """Where a household at the building goes: refused if there is no such building (404),
    the point is too far from it (422) or outside the user's beats (403)."""
    position = queries.household_position(db, building_id=building_id, lon=lon, lat=lat, beats=beats)
    if position is None:
        raise NotFound(f"no building with id {building_id}; GET /api/layers/buildings lists them")
    if position.from_building_m > NEAR_BUILDING_M:
        raise InvalidInput(f"the point ({lon}, {lat}) is {position.from_building_m:.0f} m from building "
                           f"{building_id}; a household's point is on its building or at most "
                           f"{NEAR_BUILDING_M:.0f} m from it (lon, lat in EPSG:4326)")
    if not position.in_scope:
        raise Forbidden(f"building {building_id} is not in your beats" if lon is None
                        else f"the point ({lon}, {lat}) is not in your beats")
    return position


def _building_for(db, building_id: int, beats: list[str] | None) -> None:
    inside = queries.building_in_scope(db, building_id, beats)
    if inside is None:
        raise NotFound(f"no building with id {building_id}; GET /api/layers/buildings lists them")
    if not inside:
        raise Forbidden(f"building {building_id} is not in your beats")


def _stale(what: str, record_id: int, given: int, current: int) -> Conflict:
    return Conflict(f"{what} {record_id} has changed since version {given} (it is at version {current}); "
                    "read it again and make the change on the current version")


def _born_by_now(db, birth_year: int) -> None:
    year = _today(db).year
    if birth_year > year:
        raise InvalidInput(f"birth_year ({birth_year}) is in the future; it is {year}")


def _rounded(lon: float, lat: float) -> list[float]:
    return [round(lon, PRECISION), round(lat, PRECISION)]


def _collection(request: Request, features: list[dict], next_after: int | None) -> dict:
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features),
            "links": next_links(request, next_after)}


# --- households -------------------------------------------------------------------------------


def _household(db, household_id: int) -> dict:
    [feature], _ = queries.households(db, beats=None, household_id=household_id)
    return feature


@router.get("/households")
def list_households(db: DbDep, user: PopulationUser, beats: BeatScope, request: Request, limit: PageLimit,
                    after: After = None,
                    building_id: Annotated[int | None, Query(ge=1, description="only at this "
                                                                              "building")] = None,
                    ) -> dict:
    """Households as GeoJSON points, paged by id: where, tenure, version, and their residents
    counted by category (no people). Each household shown is written to the audit log."""
    if building_id is not None:
        _building_for(db, building_id, None)
    features, next_after = queries.households(db, beats=beats, building_id=building_id, after=after,
                                              limit=limit)
    audit_reads(db, user, request, "household", [f["id"] for f in features])
    return _collection(request, features, next_after)


@router.get("/households/{household_id}")
def get_household(household_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                  request: Request) -> dict:
    """One household with its residents (``members``, masked); the household and each resident
    shown are written to the audit log."""
    household_for(db, household_id, beats)
    feature = _household(db, household_id)
    members = queries.household_residents(db, household_id)
    audit_reads(db, user, request, "household", [household_id])
    audit_reads(db, user, request, "resident", [m.id for m in members])
    feature["properties"]["members"] = [_resident_body(m) for m in members]
    return feature


@router.post("/households", status_code=201, openapi_extra=_schema(HouseholdCreate))
def register_household(request: Request, response: Response, db: DbDep, user: PopulationUser,
                       beats: UserBeats, body: RawBody) -> dict:
    """Register a household at a building: its unit, room and tenure, at a point on the
    building unless lon and lat say where (at most 50 m from it). An officer registers
    households in their own beats."""
    new = _parsed(HouseholdCreate, body)
    position = _position(db, new.building_id, new.lon, new.lat, beats)
    household_id = queries.insert_household(db, building_id=new.building_id, unit=new.unit, room=new.room,
                                            tenure=new.tenure, lon=position.lon, lat=position.lat)
    record_change(db, table="household", record_id=household_id, user_id=user.id, reason=new.reason,
                  changes={"building_id": (None, new.building_id), "unit": (None, new.unit),
                           "room": (None, new.room), "tenure": (None, new.tenure),
                           "position": (None, _rounded(position.lon, position.lat))})
    response.headers["Location"] = str(request.url_for("get_household", household_id=household_id))
    return _household(db, household_id)


@router.patch("/households/{household_id}", openapi_extra=_schema(HouseholdUpdate))
def change_household(household_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                     body: RawBody) -> dict:
    """Correct a household: unit, room, tenure, building or point. ``version`` must be the
    current one (else 409) and ``reason`` is kept in the change history with the old and new
    values. A change that changes nothing leaves the version as it is."""
    change = _parsed(HouseholdUpdate, body)
    household_for(db, household_id, beats)
    state = queries.household_state(db, household_id, lock=True)
    if change.version != state.version:
        raise _stale("household", household_id, change.version, state.version)
    given = change.model_fields_set
    old = {"building_id": state.building_id, "unit": state.unit, "room": state.room, "tenure": state.tenure,
           "position": _rounded(state.lon, state.lat)}
    new = {name: getattr(change, name) if name in given else old[name]
           for name in ("building_id", "unit", "room", "tenure")}
    lon, lat = state.lon, state.lat
    if "lon" in given or new["building_id"] != state.building_id:
        position = _position(db, new["building_id"], change.lon, change.lat, beats)
        lon, lat = position.lon, position.lat
    new["position"] = _rounded(lon, lat)
    changed = {name: (old[name], new[name]) for name in old if old[name] != new[name]}
    if changed:
        version = queries.update_household(db, household_id, version=state.version, lon=lon, lat=lat,
                                           **{k: new[k] for k in ("building_id", "unit", "room", "tenure")})
        if version is None:  # the row is locked: only a bug can get here
            raise _stale("household", household_id, change.version, state.version + 1)
        record_change(db, table="household", record_id=household_id, user_id=user.id, reason=change.reason,
                      changes={**changed, "version": (state.version, version)})
    return _household(db, household_id)


# --- residents --------------------------------------------------------------------------------

# How the change log shows a column: personal ones masked, the identity hash as the masked number.
_LOGGED_AS = {"name": ("name", "name_masked"), "phone": ("phone", "phone_masked"),
              "id_hash": ("id_number", "id_last4")}


def _resident_body(state: queries.ResidentState) -> dict:
    return {"id": state.id, "household_id": state.household_id, "name": state.name_masked,
            "id_number": mask_identity(state.id_last4), "phone": state.phone_masked,
            "category": state.category, "birth_year": state.birth_year, "lives_alone": state.lives_alone,
            "needs_home_service": state.needs_home_service, "version": state.version}


def _logged(before: queries.ResidentState | None, after: queries.ResidentState, columns) -> dict:
    """The change log's [old, new] of the columns written, as the API shows them: masked."""
    changes = {}
    for column in sorted(set(columns) - {"id_last4"}):  # id_last4 goes with id_hash
        key, attribute = _LOGGED_AS.get(column, (column, column))
        shown = mask_identity if column == "id_hash" else (lambda value: value)
        changes[key] = (None if before is None else shown(getattr(before, attribute)),
                        shown(getattr(after, attribute)))
    return changes


def _identity(db, settings: Settings, number: str | None, *, resident_id: int | None = None) -> dict:
    """The stored form of an identity number (keyed hash, last four), if no other resident has it."""
    if number is None:
        return {"id_hash": None, "id_last4": None}
    id_hash = hash_identity(number, settings.id_hash_key)
    holder = queries.identity_holder(db, id_hash, other_than=resident_id)
    if holder is not None:
        raise Conflict(f"this identity number is already registered, to resident {holder}: correct that "
                       f"record (PATCH /api/population/residents/{holder}) rather than register the "
                       "person twice")
    return {"id_hash": id_hash, "id_last4": last4(number)}


def _identity_taken() -> Conflict:
    """What to say when the database refuses a second resident with one identity number (one
    registered by a request running alongside, after ``_identity`` asked)."""
    return Conflict("this identity number is already registered to another resident: find that record "
                    "(one person, one resident) rather than register the person twice")


@router.get("/residents/{resident_id}")
def get_resident(resident_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                 request: Request) -> dict:
    """One resident, masked for every role (name, phone, identity number), where they live and
    their temporary-residence registrations. The read is written to the audit log."""
    row = queries.resident(db, resident_id)
    if row is None:
        raise NotFound(f"no resident with id {resident_id} in the beats you may see")
    household_for(db, row["household_id"], beats)
    audit_reads(db, user, request, "resident", [resident_id])
    return {"id": row["id"], "household_id": row["household_id"], "building_id": row["building_id"],
            "address": row["address"], "unit": row["unit"], "room": row["room"],
            "name": row["name_masked"], "id_number": mask_identity(row["id_last4"]),
            "phone": row["phone_masked"], "category": row["category"], "birth_year": row["birth_year"],
            "lives_alone": row["lives_alone"], "needs_home_service": row["needs_home_service"],
            "version": row["version"],
            "registrations": [{"id": r["id"], "valid_from": r["valid_from"].isoformat(),
                               "valid_to": r["valid_to"].isoformat(), "employer": r["employer"],
                               "version": r["version"]}
                              for r in row["registrations"]]}


@router.post("/residents", status_code=201, openapi_extra=_schema(ResidentCreate))
def register_resident(request: Request, response: Response, db: DbDep, user: PopulationUser,
                      beats: UserBeats, settings: SettingsDep, body: RawBody) -> dict:
    """Register a resident in a household (in your beats). The identity number is kept only as a
    keyed hash and its last four characters; one already registered is refused (409)."""
    new = _parsed(ResidentCreate, body)
    _born_by_now(db, new.birth_year)
    household_for(db, new.household_id, beats)
    values = {**new.model_dump(exclude={"reason", "id_number"}), **_identity(db, settings, new.id_number)}
    try:
        resident_id = queries.insert_resident(db, **values)
    except queries.IdentityTaken:
        raise _identity_taken() from None
    state = queries.resident_state(db, resident_id)
    written = [column for column, value in values.items() if value is not None and column != "id_last4"]
    record_change(db, table="resident", record_id=resident_id, user_id=user.id, reason=new.reason,
                  changes=_logged(None, state, written))
    response.headers["Location"] = str(request.url_for("get_resident", resident_id=resident_id))
    return _resident_body(state)


@router.patch("/residents/{resident_id}", openapi_extra=_schema(ResidentUpdate))
def change_resident(resident_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                    settings: SettingsDep, body: RawBody) -> dict:
    """Correct a resident, or move them to another household. ``version`` must be the current
    one (else 409) and ``reason`` is kept in the change history with the old and new values,
    the name, phone and identity number masked. A change that changes nothing leaves the version
    as it is."""
    change = _parsed(ResidentUpdate, body)
    state = queries.resident_state(db, resident_id, lock=True)
    if state is None:
        raise NotFound(f"no resident with id {resident_id} in the beats you may see")
    household_for(db, state.household_id, beats)
    if change.version != state.version:
        raise _stale("resident", resident_id, change.version, state.version)
    given = change.model_fields_set
    values = {name: getattr(change, name) for name in
              ("household_id", "category", "birth_year", "lives_alone", "needs_home_service")
              if name in given and getattr(change, name) != getattr(state, name)}
    if "household_id" in values:
        household_for(db, values["household_id"], beats)
    if "birth_year" in values:
        _born_by_now(db, values["birth_year"])
    personal = {name: getattr(change, name) for name in ("name", "phone") if name in given}
    if "id_number" in given:
        personal["id_hash"] = None if change.id_number is None else hash_identity(change.id_number,
                                                                                   settings.id_hash_key)
    for column in queries.personal_fields_changed(db, resident_id, personal):
        values[column] = personal[column]
    if "id_hash" in values:
        values.update(_identity(db, settings, change.id_number, resident_id=resident_id))
    if values:
        try:
            version = queries.update_resident(db, resident_id, version=state.version, values=values)
        except queries.IdentityTaken:
            raise _identity_taken() from None
        if version is None:  # the row is locked: only a bug can get here
            raise _stale("resident", resident_id, change.version, state.version + 1)
        after = queries.resident_state(db, resident_id)
        record_change(db, table="resident", record_id=resident_id, user_id=user.id, reason=change.reason,
                      changes={**_logged(state, after, values), "version": (state.version, version)})
        state = after
    return _resident_body(state)


# --- the movement log -------------------------------------------------------------------------


def _movement_feature(row: dict) -> dict:
    resident = None if row["resident_id"] is None else {
        "id": row["resident_id"], "name": row["name_masked"], "id_number": mask_identity(row["id_last4"]),
        "category": row["category"]}
    return {"type": "Feature", "id": row["id"], "geometry": json.loads(row["geometry"]), "properties": {
        "movement_id": row["id"], "building_id": row["building_id"], "address": row["address"],
        "direction": row["direction"], "moved_on": row["moved_on"].isoformat(), "note": row["note"],
        "resident": resident}}


DirectionQuery = Annotated[Direction | None, Query(description="only moves in, or only out")]
SinceQuery = Annotated[date | None, Query(description="moved on or after this day")]
UntilQuery = Annotated[date | None, Query(description="moved on or before this day")]


def _movement_page(db, user, request: Request, *, beats, building_id, direction, since, until, after,
                   limit) -> dict:
    if since and until and until < since:
        raise InvalidInput(f"until ({until}) is before since ({since})")
    rows, next_after = queries.movements(db, beats=beats, building_id=building_id, direction=direction,
                                         since=since, until=until, after=after, limit=limit)
    shown = dict.fromkeys(row["resident_id"] for row in rows if row["resident_id"] is not None)
    audit_reads(db, user, request, "resident", shown)
    return _collection(request, [_movement_feature(row) for row in rows], next_after)


@router.get("/movements")
def list_movements(db: DbDep, user: PopulationUser, beats: BeatScope, request: Request, limit: PageLimit,
                   after: After = None, direction: DirectionQuery = None, since: SinceQuery = None,
                   until: UntilQuery = None) -> dict:
    """Moves into and out of the buildings of the beats, as GeoJSON points on the buildings,
    paged by id, the residents masked. Each resident shown is written to the audit log."""
    return _movement_page(db, user, request, beats=beats, building_id=None, direction=direction,
                          since=since, until=until, after=after, limit=limit)


@router.get("/buildings/{building_id}/movements")
def building_movements(building_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                       request: Request, limit: PageLimit, after: After = None,
                       direction: DirectionQuery = None, since: SinceQuery = None,
                       until: UntilQuery = None) -> dict:
    """The in/out log of one building, paged by id, the residents masked. Each resident shown
    is written to the audit log."""
    _building_for(db, building_id, beats)
    return _movement_page(db, user, request, beats=None, building_id=building_id, direction=direction,
                          since=since, until=until, after=after, limit=limit)


@router.post("/movements", status_code=201, openapi_extra=_schema(MovementCreate))
def record_movement(db: DbDep, user: PopulationUser, beats: UserBeats, body: RawBody) -> dict:
    """Log a move into or out of a building (in your beats) on a day not in the future; the
    resident, if named, must be one you may see. The resident's household is not changed: do
    that with PATCH /api/population/residents/{id}."""
    new = _parsed(MovementCreate, body)
    today = _today(db)
    if new.moved_on > today:
        raise InvalidInput(f"moved_on ({new.moved_on}) is in the future; today is {today} in the area's "
                           "time zone: log a move once it has happened")
    _building_for(db, new.building_id, beats)
    if new.resident_id is not None:
        household_id = population_queries.resident_household(db, new.resident_id)
        if household_id is None:
            raise NotFound(f"no resident with id {new.resident_id} in the beats you may see")
        household_for(db, household_id, beats)
    fields = new.model_dump(exclude={"reason"})
    movement_id = queries.insert_movement(db, **fields)
    record_change(db, table="movement", record_id=movement_id, user_id=user.id, reason=new.reason,
                  changes={k: (None, v) for k, v in fields.items() if v is not None})
    [row], _ = queries.movements(db, beats=None, movement_id=movement_id)
    return _movement_feature(row)


# --- the temporary-resident ledger ------------------------------------------------------------

SPREADSHEETS = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
LEDGER_TEXT = ("address", "unit", "room", "resident", "employer")
# A cell starting like this is a formula to a spreadsheet program; the apostrophe makes it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value):
    return "'" + value if isinstance(value, str) and value.startswith(_FORMULA_START) else value


def _masked_identity(last_four) -> str | None:
    return mask_identity(last_four) if isinstance(last_four, str) else None  # missing: None or NaN


def ledger_sheet(frame: pd.DataFrame) -> pd.DataFrame:
    """The ledger as its spreadsheet shows it: residents masked, no free text a spreadsheet
    program would run as a formula."""
    sheet = pd.DataFrame({
        "registration_id": frame["registration_id"], "address": frame["address"], "unit": frame["unit"],
        "room": frame["room"], "resident": frame["name_masked"],
        "id_number": frame["id_last4"].map(_masked_identity), "category": frame["category"],
        "valid_from": frame["valid_from"], "valid_to": frame["valid_to"], "employer": frame["employer"],
    })
    for column in LEDGER_TEXT:
        sheet[column] = sheet[column].map(_as_text)
    return sheet


def _spreadsheet(sheet: pd.DataFrame, file_format: str) -> bytes:
    if file_format == "csv":  # with a byte-order mark, so that Excel reads the UTF-8 as such
        return sheet.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        sheet.to_excel(writer, index=False, sheet_name="temporary residents")
    return buffer.getvalue()


@router.get("/temporary-registrations/ledger", response_class=Response,
            responses={200: {"content": {media: {} for media in SPREADSHEETS.values()},
                             "description": "the ledger as a file download"}})
def temporary_resident_ledger(
    db: DbDep, user: PopulationUser, beats: BeatScope, request: Request, as_of: AsOf = None,
    file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> Response:
    """The temporary-resident ledger (暂住人口台账) for the neighbourhood committee and employers:
    the registrations valid on ``as_of`` (default today), by address, unit and room, with the
    resident masked, as a CSV (UTF-8) or XLSX download.

    The export is written to the audit log (action ``export``): one row for the ledger
    (record ``temporary_registration``, no id, with what was asked in ``details``: format,
    day, beats, rows) and one per resident in it."""
    as_of = as_of or _today(db)
    frame = queries.ledger(db, beats=beats, as_of=as_of)
    audit_reads(db, user, request, "temporary_registration", [None], action="export",
                details={"export": "temporary_resident_ledger", "format": file_format, "as_of": as_of,
                         "beats": beats, "rows": len(frame)})
    audit_reads(db, user, request, "resident", dict.fromkeys(frame["resident_id"]), action="export")
    scope = "all" if beats is None else re.sub(r"[^A-Za-z0-9_-]", "_", "_".join(beats)) or "none"
    filename = f"temporary-residents_{scope}_{as_of.isoformat()}.{file_format}"
    return Response(_spreadsheet(ledger_sheet(frame), file_format), media_type=SPREADSHEETS[file_format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})
