"""Planning: where new cameras and access-control gates guard the most."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, model_validator

from api import siting
from api.deps import CurrentUser, DbDep
from api.errors import InvalidInput
from api.incident_params import FilterDep
from api.places import PlaceDep
from db.analysis import MAX_CAMERA_RANGE_M

router = APIRouter(prefix="/api/plan", tags=["plan"])

MAX_SITES = 500
MAX_CANDIDATE_POINTS = 20_000
MAX_CANDIDATE_SITES = 200_000  # a street every 5 m over 50 km2 is about this many


class Weights(BaseModel):
    entrance: float = Field(1.0, ge=0, le=100, description="per unmanaged or ungated entrance, times 1 + its risk")
    incident: float = Field(1.0, ge=0, le=100, description="per incident of the period")
    burglary: float = Field(2.0, ge=0, le=100, description="added to a burglary's weight as an incident")


class CandidatePoint(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    direction_deg: float | None = Field(None, ge=0, lt=360, description="clockwise from north; none: all round")
    fov_deg: float | None = Field(None, gt=0, le=360)


class PlanOptions(BaseModel):
    k: int = Field(5, ge=1, le=MAX_SITES, description="how many new sites")
    weights: Weights = Weights()
    time_limit_s: float = Field(5.0, gt=0, le=30, description="for the exact solver; the greedy choice is the fallback")


class CameraPlan(PlanOptions):
    candidates: Literal["streets", "entrances", "points"] = "streets"
    points: list[CandidatePoint] | None = Field(None, max_length=MAX_CANDIDATE_POINTS,
                                                description="the candidate sites when candidates is points")
    spacing_m: float = Field(20.0, ge=5, le=500, description="streets: a candidate every this many metres")
    range_m: float = Field(30.0, gt=0, le=MAX_CAMERA_RANGE_M, description="how far a new camera sees")

    @model_validator(mode="after")
    def points_when_asked(self):
        if (self.candidates == "points") != bool(self.points):
            raise ValueError("give points (lon, lat) exactly when candidates is 'points'")
        return self


def _computed(run):
    try:
        return run()
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


@router.post("/cameras")
def plan_cameras(place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser,
                 plan: Annotated[CameraPlan, Body()] = CameraPlan()) -> dict:
    """k new camera sites that see the most of what no camera sees yet: unmanaged or ungated
    entrances and the incidents of the period (the same query parameters as the incident
    analyses), with each site's marginal gain, the greedy choice beside it, and the bound."""
    if plan.candidates == "streets":
        candidates = siting.street_candidates(db, place, plan.spacing_m)
    elif plan.candidates == "entrances":
        candidates = siting.entrance_candidates(db, place)
    else:
        candidates = siting.point_candidates(place, [p.model_dump() for p in plan.points])
    if len(candidates.frame) > MAX_CANDIDATE_SITES:
        raise InvalidInput(f"{len(candidates.frame):,} candidate sites; at most {MAX_CANDIDATE_SITES:,}: "
                           f"raise spacing_m or ask about a smaller place")
    return _computed(lambda: siting.camera_plan(
        db, place, candidates, k=plan.k, range_m=plan.range_m, since=which.since, until=which.until,
        weights=siting.DemandWeights(**plan.weights.model_dump()), time_limit_s=plan.time_limit_s))


@router.post("/access-control")
def plan_access_control(place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser,
                        plan: Annotated[PlanOptions, Body()] = PlanOptions()) -> dict:
    """k buildings whose access-control gate would guard the most: each building's ungated
    entrances, weighed by the risk the entrance audit gives them."""
    return _computed(lambda: siting.gate_plan(
        db, place, k=plan.k, since=which.since, until=which.until,
        weights=siting.DemandWeights(**plan.weights.model_dump()), time_limit_s=plan.time_limit_s))
