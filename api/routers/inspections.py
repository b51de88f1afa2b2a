"""Special trades and hazardous materials: inspections due, recorded with their checks, who lives
within a site's risk radius, scrap buyers near burglary hot spots, and chemicals found stored
improperly in homes with the education given and the follow-up."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, Field

from api.deps import CurrentUser, DbDep, RecordKeeper, SettingsDep
from api.errors import Conflict, InvalidInput, NotFound, answer_or_422
from api.incident_analysis import Grid, hotspot_features
from api.places import PlaceDep
from api.population_access import UserBeats, household_for
from db import inspections as queries
from db.history import record_change, record_read
from db.incidents import IncidentFilter
from geo.crs import to_metric
from geo.inspections import CHECKLISTS, next_due, verdict

router = APIRouter(prefix="/api/inspections", tags=["inspections"])

MAX_OFFSET = 100_000
FOLLOW_UP_DAYS = 14  # after chemicals were found stored improperly in a home


class InspectionIn(BaseModel):
    kind: Literal["premises", "hazardous_site"]
    id: int = Field(ge=1, description="the premises' or the site's id")
    inspected_on: date
    checks: dict[str, bool] = Field(description="each check of the subject's list: "
                                                + "; ".join(f"{k}: {', '.join(v)}" for k, v in CHECKLISTS.items()))
    note: str | None = Field(None, max_length=2000)


class StorageFindingIn(BaseModel):
    household_id: int = Field(ge=1)
    found_on: date
    substance: str = Field(min_length=1, max_length=200, description="e.g. paint thinner, an LPG cylinder")
    finding: str = Field(min_length=1, max_length=2000, description="what was wrong, e.g. kept beside the stove")
    education: str | None = Field(None, max_length=2000, description="the safety education given on the spot")
    follow_up_on: date | None = Field(None, description=f"default: {FOLLOW_UP_DAYS} days after found_on")


class StorageFollowUp(BaseModel):
    version: int = Field(ge=1, description="the version read; a newer one stored is a 409")
    reason: str = Field(min_length=1, max_length=500)
    followed_up_on: date | None = None
    resolved: bool | None = None
    education: str | None = Field(None, max_length=2000)
    follow_up_on: date | None = None


@router.get("/due")
def inspections_due(place: PlaceDep, db: DbDep, user: CurrentUser, settings: SettingsDep,
                    as_of: Annotated[date | None, Query(description="default: today")] = None,
                    limit: Annotated[int | None, Query(ge=1)] = None,
                    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict:
    """Premises and hazardous sites due (or never) inspected by ``as_of``, most overdue first, as
    GeoJSON points; ``offset`` pages on (``links.next``)."""
    as_of = as_of or date.today()
    limit = min(limit or settings.max_page_size, settings.max_page_size)
    rows = queries.due(db, place, as_of, limit=limit, offset=offset)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"kind": r.kind, "id": int(r.id), "what": r.what, "name": r.name,
                                "last_inspected": r.inspected_on.isoformat() if r.inspected_on else None,
                                "last_passed": None if r.passed is None else bool(r.passed),
                                "next_due": r.next_due.isoformat() if r.next_due else None,
                                "days_overdue": int(r.days_overdue)}}
                for r in rows.itertuples(index=False)]
    links = {"next": f"?offset={offset + limit}&limit={limit}"} if len(features) == limit else {}
    return {"type": "FeatureCollection", "features": features, "links": links,
            "summary": {"place": place.code, "as_of": as_of.isoformat(), "offset": offset, "returned": len(features)}}


@router.post("", status_code=201)
def record_inspection(db: DbDep, user: RecordKeeper,
                      body: Annotated[InspectionIn, Body()]) -> dict:
    """An inspection with the answer to each check of the subject's list: it passes when all hold,
    and the next is due a cycle later (a follow-up soon after a failure). Recorded in the history."""
    if body.inspected_on > date.today():
        raise InvalidInput(f"inspected_on ({body.inspected_on}) is in the future")
    found = queries.subject(db, body.kind, body.id)
    if found is None:
        raise NotFound(f"no {body.kind.replace('_', ' ')} with id {body.id}")
    if found["last_inspected"] and body.inspected_on < found["last_inspected"]:
        raise InvalidInput(f"the last inspection was on {found['last_inspected']}; record them in order")
    kind = found["what"] if body.kind == "premises" else "hazardous_site"
    passed, failed = answer_or_422(lambda: verdict(kind, body.checks))
    due = next_due(kind, body.inspected_on, passed)
    findings = "; ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in body.checks.items())
    if body.note:
        findings += f". {body.note}"
    new_id = queries.add_inspection(db, kind=body.kind, subject_id=body.id, officer_id=user.officer_id,
                                    inspected_on=body.inspected_on, passed=passed, findings=findings, next_due=due)
    record_change(db, table="inspection", record_id=new_id, user_id=user.id, reason="inspection recorded",
                  changes={"subject": (None, f"{body.kind} {body.id}"), "passed": (None, passed),
                           "findings": (None, findings), "next_due": (None, due)})
    return {"id": new_id, "kind": body.kind, "subject_id": body.id, "inspected_on": body.inspected_on.isoformat(),
            "passed": passed, "failed_checks": failed, "next_due": due.isoformat()}


@router.get("/hazardous-sites/{site_id}/exposure")
def hazardous_exposure(db: DbDep, user: CurrentUser, site_id: Annotated[int, Path(ge=1)]) -> dict:
    """Who lives within the site's risk radius (households, residents, those 70 and over: counts),
    and the schools, clinics and other public facilities there (``public_facilities``: id, kind,
    name, building, address, distance_m from the site), nearest first."""
    found = queries.exposure(db, site_id)
    if found is None:
        raise NotFound(f"no hazardous site with id {site_id}")
    return found


@router.get("/scrap-buyers")
def scrap_buyers_near_burglaries(
    place: PlaceDep, db: DbDep, user: CurrentUser,
    end: Annotated[date | None, Query(description="last day of burglaries (local); default today")] = None,
    days: Annotated[int, Query(ge=7, le=365)] = 90,
    radius_m: Annotated[float, Query(gt=0, le=2000, description="how near a hot spot counts")] = 300.0,
) -> dict:
    """Scrap buyers (where stolen goods are sold on) with the burglaries near them and whether
    they stand within ``radius_m`` of a burglary hot spot (Gi* on hexagons of 100 m, FDR 5 %)."""
    zone = ZoneInfo(place.tz)
    until = datetime.combine((end or date.today()) + timedelta(days=1), time(), zone)
    since = until - timedelta(days=days)
    hot = [shapely.geometry.shape(f["geometry"]) for f in hotspot_features(
        db, place, IncidentFilter(since, until, types=("burglary",)), Grid("hex"), alpha=0.05, fdr=True,
        permutations=0, with_all=False)["features"] if f["properties"]["label"] == "hot"]
    buyers = queries.scrap_buyers(db, place)
    x, y = to_metric(buyers["lon"].to_numpy(float), buyers["lat"].to_numpy(float), place.srid)
    cells = shapely.transform(np.array(hot, dtype=object),
                              lambda c: np.column_stack(to_metric(c[:, 0], c[:, 1], place.srid)))
    near = np.zeros(len(buyers), dtype=bool)
    near[shapely.STRtree(cells).query(shapely.points(x, y), predicate="dwithin", distance=radius_m)[0]] = True
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"id": int(r.id), "name": r.name, "licence_no": r.licence_no,
                                "near_hot_spot": bool(flag)}}
                for r, flag in zip(buyers.itertuples(index=False), near)]
    return {"type": "FeatureCollection", "features": features, "summary": {
        "place": place.code, "burglaries": [since.isoformat(), until.isoformat()], "hot_spots": len(hot),
        "radius_m": radius_m, "flagged": int(near.sum())}}


@router.get("/storage-findings")
def storage_findings(request: Request, place: PlaceDep, db: DbDep, user: RecordKeeper, settings: SettingsDep,
                     as_of: Annotated[date | None, Query(description="default: today")] = None,
                     limit: Annotated[int | None, Query(ge=1)] = None,
                     offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict:
    """Chemicals found stored improperly in homes and not yet put right, the most overdue
    follow-up first (a household's record: not for planners, each one shown audited)."""
    as_of = as_of or date.today()
    limit = min(limit or settings.max_page_size, settings.max_page_size)
    rows = queries.open_storage_findings(db, place, as_of, limit=limit, offset=offset)
    for finding_id in rows["id"]:
        record_read(db, user_id=user.id, action="read", table="storage_finding", record_id=int(finding_id),
                    client=request.client.host if request.client else None)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"id": int(r.id), "household_id": int(r.household_id), "address": r.address,
                                "found_on": r.found_on.isoformat(), "substance": r.substance, "finding": r.finding,
                                "education": r.education, "version": int(r.version),
                                "follow_up_on": r.follow_up_on.isoformat() if r.follow_up_on else None,
                                "followed_up_on": r.followed_up_on.isoformat() if r.followed_up_on else None,
                                "days_overdue": None if pd.isna(r.days_overdue) else int(r.days_overdue)}}
                for r in rows.itertuples(index=False)]
    links = {"next": f"?offset={offset + limit}&limit={limit}"} if len(features) == limit else {}
    return {"type": "FeatureCollection", "features": features, "links": links}


@router.post("/storage-findings", status_code=201)
def add_storage_finding(db: DbDep, user: RecordKeeper, beats: UserBeats,
                        body: Annotated[StorageFindingIn, Body()]) -> dict:
    """Chemicals found stored improperly in a home, the education given, and when to follow up."""
    if body.found_on > date.today():
        raise InvalidInput(f"found_on ({body.found_on}) is in the future")
    follow_up_on = body.follow_up_on or body.found_on + timedelta(days=FOLLOW_UP_DAYS)
    if follow_up_on < body.found_on:
        raise InvalidInput(f"follow_up_on ({follow_up_on}) is before found_on ({body.found_on})")
    household_for(db, body.household_id, beats)
    finding = {**body.model_dump(), "follow_up_on": follow_up_on}
    new_id = queries.add_storage_finding(db, **finding)
    record_change(db, table="storage_finding", record_id=new_id, user_id=user.id, reason="chemicals found stored improperly",
                  changes={k: (None, v) for k, v in finding.items()})
    return {"id": new_id, "version": 1, **{k: v.isoformat() if isinstance(v, date) else v for k, v in finding.items()}}


@router.patch("/storage-findings/{finding_id}")
def follow_up_storage_finding(db: DbDep, user: RecordKeeper, finding_id: Annotated[int, Path(ge=1)],
                              body: Annotated[StorageFollowUp, Body()]) -> dict:
    """The follow-up: when it was done, whether the storage was put right, more education."""
    stored = queries.storage_finding(db, finding_id)
    if stored is None:
        raise NotFound(f"no storage finding with id {finding_id}")
    if body.version != stored["version"]:
        raise Conflict(f"storage finding {finding_id} is at version {stored['version']}, not {body.version}: "
                       f"someone changed it; read it again")
    changes = {k: v for k, v in body.model_dump(exclude={"version", "reason"}, exclude_none=True).items()
               if v != stored[k]}
    for name in ("followed_up_on", "follow_up_on"):
        if name in changes and changes[name] < stored["found_on"]:
            raise InvalidInput(f"{name} ({changes[name]}) is before found_on ({stored['found_on']})")
    if changes.get("followed_up_on") and changes["followed_up_on"] > date.today():
        raise InvalidInput(f"followed_up_on ({changes['followed_up_on']}) is in the future")
    if not changes:
        raise InvalidInput("nothing to change: give followed_up_on, resolved, education or follow_up_on")
    queries.update_storage_finding(db, finding_id, changes)
    record_change(db, table="storage_finding", record_id=finding_id, user_id=user.id, reason=body.reason,
                  changes={k: (stored[k], v) for k, v in changes.items()})
    return {"id": finding_id, "version": stored["version"] + 1,
            **{k: v.isoformat() if isinstance(v, date) else v for k, v in changes.items()}}
