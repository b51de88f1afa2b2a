"""Actual population (实有人口): temporary-residence registrations and their expiry, home visits
and which are due, and a household's change history. The records themselves (households,
residents, the movement log, the temporary-resident ledger) are routed in
``api/routers/residents.py``, included at the end under this router's prefix.

Households and residents are personal data (DOMAIN.md, "Personal data"): planners may not
read them; an officer sees the households of the beats assigned to them today, supervisors
and admins all. Residents come masked (a name's first character, an identity number's last
four); every list or history that shows people or households is written to the audit log,
one row per record shown, and every change to the change log with who, when and why.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Body, Query, Request
from pydantic import BaseModel, Field, model_validator

from api.deps import DbDep
from api.errors import Conflict, InvalidInput, NotFound
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
from api.routers import residents
from beatbook.personal import mask_identity
from db import population as queries
from db.history import history, record_change
from geo.visits import CYCLES, ELDER_AGE, visits_due

router = APIRouter(prefix="/api/population", tags=["population"])

# Longer than the longest registration anyone would plan ahead for.
MAX_WITHIN_DAYS = 3660
CATEGORIES = ("permanent", "temporary", "floating")


# --- temporary-residence registrations ------------------------------------------------------


class RegistrationCreate(BaseModel):
    resident_id: int = Field(ge=1)
    valid_from: date
    valid_to: date = Field(description="the last day the registration is valid")
    employer: str | None = Field(None, max_length=200)
    reason: str = Field("temporary residence registered", min_length=3, max_length=500)

    @model_validator(mode="after")
    def ends_after_it_starts(self):
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to ({self.valid_to}) is before valid_from ({self.valid_from}): "
                             "a registration ends on or after the day it starts")
        return self


class RegistrationUpdate(BaseModel):
    valid_to: date = Field(description="the new last day: later to extend, earlier (today) to end it")
    version: int = Field(ge=1, description="the version changed; if it is no longer the current one: 409")
    reason: str = Field(min_length=3, max_length=500, description="why: kept in the change history")


def _today(db) -> date:
    return queries.local_today(queries.area_timezone(db))


def _registration_body(reg: queries.Registration, as_of: date) -> dict:
    return {"id": reg.id, "resident_id": reg.resident_id, "household_id": reg.household_id,
            "valid_from": reg.valid_from.isoformat(), "valid_to": reg.valid_to.isoformat(),
            "employer": reg.employer, "days_left": (reg.valid_to - as_of).days, "version": reg.version}


@router.get("/temporary-registrations")
def list_temporary_registrations(
    db: DbDep, user: PopulationUser, beats: BeatScope, request: Request, limit: PageLimit,
    after: After = None, as_of: AsOf = None,
    expiring_within_days: Annotated[int, Query(ge=0, le=MAX_WITHIN_DAYS)] = 30,
    lapsed: Annotated[bool | None, Query(description="true: only lapsed; false: only still valid; "
                                                     "default both")] = None,
) -> dict:
    """Temporary-residence registrations that end within ``expiring_within_days`` or have
    lapsed already (renewed ones left out), as GeoJSON points at the household, paged by id.

    ``days_left`` is valid_to - as_of: 0 on the last valid day, negative once lapsed. The
    resident is shown masked. Each resident shown is written to the audit log."""
    as_of = as_of or _today(db)
    rows, next_after = queries.expiring_registrations(
        db, beats=beats, as_of=as_of, within_days=expiring_within_days, lapsed=lapsed, after=after,
        limit=limit)
    audit_reads(db, user, request, "resident", [row["resident_id"] for row in rows])
    features = [{
        "type": "Feature", "id": row["id"], "geometry": json.loads(row["geometry"]),
        "properties": {
            "registration_id": row["id"], "household_id": row["household_id"],
            "building_id": row["building_id"], "address": row["address"], "unit": row["unit"],
            "room": row["room"], "valid_from": row["valid_from"].isoformat(),
            "valid_to": row["valid_to"].isoformat(), "days_left": row["days_left"],
            "lapsed": row["days_left"] < 0, "employer": row["employer"], "version": row["version"],
            "resident": {"id": row["resident_id"], "name": row["name_masked"],
                         "id_number": mask_identity(row["id_last4"]), "category": row["category"]},
        },
    } for row in rows]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features),
            "links": next_links(request, next_after),
            "as_of": as_of.isoformat(), "expiring_within_days": expiring_within_days}


@router.post("/temporary-registrations", status_code=201)
def register_temporary_residence(db: DbDep, user: PopulationUser, beats: UserBeats,
                                 body: Annotated[RegistrationCreate, Body()]) -> dict:
    """Register a resident's temporary residence from valid_from to valid_to (both days
    included). A registration overlapping one the resident already has is refused (409):
    extend that one with PATCH instead."""
    household_id = queries.resident_household(db, body.resident_id)
    if household_id is None:
        raise NotFound(f"no resident with id {body.resident_id} in the beats you may see")
    household_for(db, household_id, beats)
    clash = queries.overlapping_registration(db, body.resident_id, body.valid_from, body.valid_to)
    if clash is not None:
        raise Conflict(f"resident {body.resident_id} already has registration {clash.id} from "
                       f"{clash.valid_from} to {clash.valid_to}; extend it with PATCH "
                       f"/api/population/temporary-registrations/{clash.id}")
    new_id = queries.insert_registration(db, resident_id=body.resident_id, valid_from=body.valid_from,
                                         valid_to=body.valid_to, employer=body.employer)
    record_change(db, table="temporary_registration", record_id=new_id, user_id=user.id, reason=body.reason,
                  changes={"resident_id": (None, body.resident_id), "valid_from": (None, body.valid_from),
                           "valid_to": (None, body.valid_to), "employer": (None, body.employer)})
    return _registration_body(queries.registration(db, new_id), _today(db))


@router.patch("/temporary-registrations/{registration_id}")
def change_temporary_registration(registration_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                                  body: Annotated[RegistrationUpdate, Body()]) -> dict:
    """Extend a registration or end it early: a new valid_to, and the reason, which the change
    history keeps. ``version`` must be the current one (else 409); a change raises it, and one
    that changes nothing leaves it as it is."""
    reg = queries.registration(db, registration_id, for_update=True)
    if reg is None:
        raise NotFound(f"no temporary registration with id {registration_id}")
    household_for(db, reg.household_id, beats)
    if body.version != reg.version:
        raise Conflict(f"registration {registration_id} has changed since version {body.version} (it is at "
                       f"version {reg.version}, ending on {reg.valid_to}); read it again and make the change "
                       "on the current version")
    if body.valid_to < reg.valid_from:
        raise InvalidInput(f"valid_to ({body.valid_to}) is before the registration's valid_from "
                           f"({reg.valid_from}); to end it, give a day on or after that")
    clash = queries.overlapping_registration(db, reg.resident_id, reg.valid_from, body.valid_to,
                                             other_than=reg.id)
    if clash is not None:
        raise Conflict(f"up to {body.valid_to} it would overlap registration {clash.id} "
                       f"({clash.valid_from} to {clash.valid_to}) of the same resident")
    if body.valid_to != reg.valid_to:
        version = queries.set_registration_end(db, reg.id, version=reg.version, valid_to=body.valid_to)
        if version is None:  # the row is locked: only a bug can get here
            raise Conflict(f"registration {registration_id} changed while it was being changed; read it again")
        record_change(db, table="temporary_registration", record_id=reg.id, user_id=user.id, reason=body.reason,
                      changes={"valid_to": (reg.valid_to, body.valid_to), "version": (reg.version, version)})
    return _registration_body(queries.registration(db, reg.id), _today(db))


# --- home visits -----------------------------------------------------------------------------


class VisitCreate(BaseModel):
    household_id: int = Field(ge=1)
    visited_on: date = Field(description="the local day of the visit; not in the future")
    time_of_day: time | None = Field(None, description="local clock time; default noon, or now if "
                                                       "that is later today")
    findings: str | None = Field(None, max_length=4000, description="what the visit found")
    reason: str = Field("home visit recorded", min_length=3, max_length=500)


def _iso(day) -> str | None:
    return None if pd.isna(day) else day.isoformat()


def _due_properties(row) -> dict:
    return {
        "household_id": int(row.household_id), "building_id": int(row.building_id), "address": row.address,
        "unit": row.unit, "room": row.room, "residents": int(row.residents),
        "categories": {c: int(getattr(row, c)) for c in CATEGORIES},
        "cycle_days": int(row.cycle_days), "cycle_rule": row.cycle_rule,
        "last_visited": _iso(row.last_visited), "next_due": _iso(row.next_due),
        "days_overdue": None if pd.isna(row.days_overdue) else int(row.days_overdue),
        "never_visited": bool(pd.isna(row.last_visited)),
    }


@router.get("/visits/due")
def visits_due_list(db: DbDep, user: PopulationUser, beats: BeatScope, request: Request, limit: PageLimit,
                    after: After = None, as_of: AsOf = None) -> dict:
    """Households whose home visit is due on ``as_of`` or overdue, as GeoJSON points for the map,
    paged by household id: the cycle (geo/visits.py: elder of 70+ living alone every 14 days,
    a temporary or floating resident or one needing home service every 30, others every 90),
    the last visit, the next due date and the days overdue (0 on the due day; null for a
    household never visited, which is due at once). Residents are only counted."""
    tz = queries.area_timezone(db)
    as_of = as_of or queries.local_today(tz)
    table = visits_due(queries.visit_frame(db, beats=beats, as_of=as_of, tz=tz), as_of=as_of)
    due = table[table["due"]]
    page = due[due["household_id"] > after] if after is not None else due
    more = len(page) > limit
    page = page.iloc[:limit]
    audit_reads(db, user, request, "household", page["household_id"])
    features = [{"type": "Feature", "id": int(row.household_id), "geometry": json.loads(row.geometry),
                 "properties": _due_properties(row)} for row in page.itertuples(index=False)]
    return {"type": "FeatureCollection", "features": features, "numberReturned": len(features),
            "links": next_links(request, int(page["household_id"].iloc[-1]) if more else None),
            "summary": {"as_of": as_of.isoformat(), "households": len(table), "due": len(due),
                        "never_visited": int(due["last_visited"].isna().sum()),
                        "cycles_days": CYCLES, "elder_age": ELDER_AGE}}


@router.post("/visits", status_code=201)
def record_visit(db: DbDep, user: PopulationUser, beats: UserBeats,
                 body: Annotated[VisitCreate, Body()]) -> dict:
    """Record a home visit by the current user's officer: the day (not in the future) and what
    it found. The answer gives the household's next due date by its cycle."""
    tz = queries.area_timezone(db)
    zone = ZoneInfo(tz)
    now = datetime.now(zone)
    if body.visited_on > now.date():
        raise InvalidInput(f"visited_on ({body.visited_on}) is in the future; today is {now.date()} "
                           f"({tz}): record a visit once it has happened")
    household_for(db, body.household_id, beats)
    if body.time_of_day is not None:
        visited_at = datetime.combine(body.visited_on, body.time_of_day, zone)
        if visited_at > now:
            raise InvalidInput(f"the visit at {visited_at.isoformat()} is in the future; it is now "
                               f"{now.isoformat(timespec='minutes')}")
    else:
        visited_at = min(datetime.combine(body.visited_on, time(12), zone), now)
    # The cycle as of the visit, counted from it.
    household = queries.visit_frame(db, beats=None, as_of=body.visited_on, tz=tz,
                                    household_id=body.household_id)
    [after] = visits_due(household.assign(last_visited=body.visited_on),
                         as_of=body.visited_on).itertuples(index=False)
    visit_id = queries.insert_visit(db, household_id=body.household_id, officer_id=user.officer_id,
                                    visited_at=visited_at, findings=body.findings, next_due=after.next_due)
    record_change(db, table="home_visit", record_id=visit_id, user_id=user.id, reason=body.reason,
                  changes={"household_id": (None, body.household_id), "officer_id": (None, user.officer_id),
                           "visited_at": (None, visited_at), "findings": (None, body.findings),
                           "next_due": (None, after.next_due)})
    return {"id": visit_id, "household_id": body.household_id, "officer_id": user.officer_id,
            "visited_at": visited_at.isoformat(), "findings": body.findings,
            "cycle_days": int(after.cycle_days), "cycle_rule": after.cycle_rule,
            "next_due": after.next_due.isoformat()}


# --- change history --------------------------------------------------------------------------


@router.get("/households/{household_id}/history")
def household_history(household_id: int, db: DbDep, user: PopulationUser, beats: UserBeats,
                      request: Request) -> dict:
    """Every recorded change of a household, its residents, their temporary-residence
    registrations and its home visits, oldest first: when, by whom, why and what."""
    household_for(db, household_id, beats)
    audit_reads(db, user, request, "household", [household_id])
    records = {"household": [household_id], **queries.household_record_ids(db, household_id)}
    entries = [{"record": table, "record_id": record_id, **change}
               for table, ids in records.items() for record_id in ids
               for change in history(db, table, record_id)]
    entries.sort(key=lambda e: e["at"])
    return {"household_id": household_id, "changes": entries}


# The records' routes, under /api/population as well: registering this router registers them.
router.include_router(residents.router)
