"""Planning: tonight's patrol route, beats balanced anew, and where new cameras and
access-control gates guard the most."""

from datetime import date, time
from typing import Annotated, Literal

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import BaseModel, Field, model_validator

from api import beat_plan, patrol_route, siting
from api.deps import CurrentUser, DbDep
from api.errors import InvalidInput, NotFound, answer_or_422
from api.incident_params import FilterDep, workload_period
from api.patrol_params import GapParamsDep
from api.places import PlaceDep
from api.result_files import ResultFormat, RouteFormat, result_file
from db import analysis as queries
from db.models import MAX_CAMERA_RANGE_M
from geo.workload import MEASURES

router = APIRouter(prefix="/api/plan", tags=["plan"])

MAX_SITES = 500
MAX_CANDIDATE_POINTS = 20_000
MAX_CANDIDATE_SITES = 200_000  # a street every 5 m over 50 km2 is about this many


class Point(BaseModel):
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class TargetValues(BaseModel):
    street_per_100m: float = Field(1.0, ge=0, le=1000, description="per 100 m of street not passed")
    entrance: float = Field(1.0, ge=0, le=1000, description="per unmanaged entrance not passed, times 1 + its risk")
    hotspot: float = Field(10.0, ge=0, le=1000, description="per hot hexagon of the 90 days")


class RouteOptions(BaseModel):
    start: Point | None = Field(None, description="default: the beat's station")
    end: Point | None = Field(None, description="default: back to the start")
    budget_min: float = Field(90.0, gt=0, le=720)
    mode: Literal["foot", "car"] = "foot"
    dwell_min: float = Field(12.0, ge=0, le=120, description="the stay at a hot spot")
    start_time: time = Field(time(22, 0), description="local; the stops' clock times count from it")
    values: TargetValues = TargetValues()
    max_targets: int = Field(200, ge=1, le=1000, description="the most valuable this many are considered")
    time_limit_s: float = Field(2.0, gt=0, le=30, description="for the route search")


class WorkloadWeights(BaseModel):
    """As for GET /api/beats/workload: each measure against its mean, 0 leaves it out."""

    households: float = Field(1.0, ge=0, le=100)
    residents_to_visit: float = Field(1.0, ge=0, le=100)
    premises_due: float = Field(1.0, ge=0, le=100)
    sites_due: float = Field(1.0, ge=0, le=100)
    incidents: float = Field(1.0, ge=0, le=100)
    open_disputes: float = Field(1.0, ge=0, le=100)
    street_km: float = Field(1.0, ge=0, le=100)


class BeatsPlan(BaseModel):
    beats: list[str] | None = Field(None, min_length=1, max_length=500, description="the beats to divide anew; default all")
    k: int | None = Field(None, ge=1, le=500, description="into how many; default as many as now")
    weights: WorkloadWeights = WorkloadWeights()
    start: date | None = Field(None, description="first day of incidents counted (local)")
    end: date | None = Field(None, description="last day; default: the latest incident's")
    afresh: bool = Field(False, description="start from scratch, not from today's beats")


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


@router.post("/patrol-route", response_model=None)
def plan_patrol_route(place: PlaceDep, params: GapParamsDep, db: DbDep, user: CurrentUser, fmt: RouteFormat,
                      plan: Annotated[RouteOptions, Body()] = RouteOptions()) -> dict | Response:
    """Tonight's route: the streets and unmanaged entrances the patrols of the nights did not pass
    (the query parameters of the patrol analyses) and the hot spots of the 90 days before, visited
    in the order that collects the most within the time budget, on the street network. The answer
    says how far it is at most from the best route (the bound), and what a greedy route collects."""
    request = patrol_route.RouteRequest(
        start=(plan.start.lon, plan.start.lat) if plan.start else None,
        end=(plan.end.lon, plan.end.lat) if plan.end else None,
        budget_min=plan.budget_min, mode=plan.mode, dwell_min=plan.dwell_min, start_time=plan.start_time,
        values=patrol_route.TargetValues(**plan.values.model_dump()), max_targets=plan.max_targets,
        time_limit_s=plan.time_limit_s)
    answer = answer_or_422(lambda: patrol_route.patrol_route(db, place, params, request))
    return result_file(answer, fmt, "patrol-route", place.code, gpx=patrol_route.as_gpx)


@router.post("/beats")
def plan_beats(db: DbDep, user: CurrentUser, fmt: ResultFormat,
               plan: Annotated[BeatsPlan, Body()] = BeatsPlan()) -> dict:
    """The beats divided anew into k contiguous, compact beats of about equal workload (the
    blocks their streets cut them into are the units), today's beats and officers beside it:
    each new beat's workload against the mean, the balance before and after, and which officer
    takes which new beat."""
    known = beat_plan.beat_codes(db)
    codes = plan.beats or known
    if unknown := sorted(set(codes) - set(known)):
        raise NotFound(f"no beat with code {', '.join(repr(c) for c in unknown)}; GET /api/beats lists them")
    start, end, since, until = workload_period(db, plan.start, plan.end)
    area = queries.whole_area(db)
    if area is None:
        raise InvalidInput("the area is not set up: load an area before planning beats")
    weights = {k: getattr(plan.weights, k) for k in MEASURES}
    scope = "_".join(sorted(set(codes))) if plan.beats else "all"
    return result_file(answer_or_422(lambda: beat_plan.beat_plan_answer(
        db, sorted(set(codes)), k=plan.k or len(set(codes)), weights=weights, srid=area.srid, since=since,
        until=until, as_of=end, afresh=plan.afresh)), fmt, "beat-plan", scope)


@router.post("/cameras")
def plan_cameras(place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser, fmt: ResultFormat,
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
    return result_file(answer_or_422(lambda: siting.camera_plan(
        db, place, candidates, k=plan.k, range_m=plan.range_m, which=which,
        weights=siting.DemandWeights(**plan.weights.model_dump()), time_limit_s=plan.time_limit_s)),
        fmt, "camera-sites", place.code)


@router.post("/access-control")
def plan_access_control(place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser, fmt: ResultFormat,
                        plan: Annotated[PlanOptions, Body()] = PlanOptions()) -> dict:
    """k buildings whose access-control gate would guard the most: each building's ungated
    entrances, weighed by the risk the entrance audit gives them."""
    return result_file(answer_or_422(lambda: siting.gate_plan(
        db, place, k=plan.k, since=which.since, until=which.until,
        weights=siting.DemandWeights(**plan.weights.model_dump()), time_limit_s=plan.time_limit_s)),
        fmt, "gate-sites", place.code)
