"""Safety education: campaigns held, and where the next talk should be."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import pandas as pd
from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api.deps import CurrentUser, DbDep, RecordKeeper, SettingsDep
from api.errors import InvalidInput, answer_or_422
from api.places import PlaceDep
from db import education as queries
from db.analysis import inside_area
from db.history import record_change
from db.models import CAMPAIGN_KINDS, CAMPAIGN_TOPICS
from geo.education import TargetWeights, rank_targets

router = APIRouter(prefix="/api/education", tags=["education"])

MAX_OFFSET = 100_000


class CampaignIn(BaseModel):
    kind: Literal[CAMPAIGN_KINDS]
    topic: Literal[CAMPAIGN_TOPICS]
    held_on: date
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    place: str | None = Field(None, max_length=500, description="e.g. the committee's hall")
    audience: str | None = Field(None, max_length=500, description="e.g. elderly residents of block 12")
    audience_size: int | None = Field(None, ge=0, le=100_000)


@router.get("/targets")
def talk_targets(
    place: PlaceDep, db: DbDep, user: CurrentUser,
    topic: Literal["fraud", "burglary"] = "fraud",
    days: Annotated[int, Query(ge=7, le=730)] = 180,
    radius_m: Annotated[float, Query(gt=0, le=2000)] = 200.0,
    elderly: Annotated[float, Query(ge=0, le=100)] = 1.0,
    cases: Annotated[float, Query(ge=0, le=100)] = 2.0,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict:
    """The buildings where the next talk on ``topic`` reaches most: residents aged 70 and over and
    the topic's cases nearby, those a campaign already reached in the period last (counts only)."""
    zone = ZoneInfo(place.tz)
    until = datetime.combine(date.today() + timedelta(days=1), time(), zone)
    since = until - timedelta(days=days)
    weights = TargetWeights(elderly, cases)
    ranked = answer_or_422(lambda: rank_targets(queries.building_risks(
        db, place, topic=topic, since=since, until=until, radius_m=radius_m), weights))
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"rank": int(r.rank), "building_id": int(r.id), "address": r.address,
                                "name": r.name, "elderly": int(r.elderly), "cases": int(r.cases),
                                "reached": bool(r.reached), "score": round(float(r.score), 2)}}
                for r in ranked.head(limit).itertuples(index=False)]
    return {"type": "FeatureCollection", "features": features, "summary": {
        "place": place.code, "topic": topic, "since": since.isoformat(), "until": until.isoformat(),
        "score": weights.describe(topic, radius_m, days), "buildings_scored": len(ranked)}}


@router.get("/campaigns")
def list_campaigns(place: PlaceDep, db: DbDep, user: CurrentUser, settings: SettingsDep,
                   limit: Annotated[int | None, Query(ge=1)] = None,
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> dict:
    """The campaigns held in the place, latest first; ``offset`` pages on (``links.next``)."""
    limit = min(limit or settings.max_page_size, settings.max_page_size)
    rows = queries.campaigns(db, place, limit=limit, offset=offset)
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                 "properties": {"id": int(r.id), "kind": r.kind, "topic": r.topic, "held_on": r.held_on.isoformat(),
                                "place": r.place, "audience": r.audience,
                                "audience_size": None if pd.isna(r.audience_size) else int(r.audience_size)}}
                for r in rows.itertuples(index=False)]
    links = {"next": f"?offset={offset + limit}&limit={limit}"} if len(features) == limit else {}
    return {"type": "FeatureCollection", "features": features, "links": links}


@router.post("/campaigns", status_code=201)
def add_campaign(db: DbDep, user: RecordKeeper,
                 body: Annotated[CampaignIn, Body()]) -> dict:
    """A campaign held: a lecture, leaflets, a notice or a drill, with its place and audience."""
    if body.held_on > date.today():
        raise InvalidInput(f"held_on ({body.held_on}) is in the future; record a campaign once it is held")
    if not inside_area(db, body.lon, body.lat):
        raise InvalidInput(f"the point ({body.lon}, {body.lat}) is outside the area; give lon, lat in EPSG:4326")
    new_id = queries.add_campaign(db, **body.model_dump())
    record_change(db, table="campaign", record_id=new_id, user_id=user.id, reason="campaign recorded",
                  changes={k: (None, v) for k, v in body.model_dump().items()})
    return {"id": new_id, **body.model_dump(mode="json")}
