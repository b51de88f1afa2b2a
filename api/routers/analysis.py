from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.answer_cache import KeptDep
from api.deps import CurrentUser, DbDep
from api.patrol_analysis import default_nights, entrance_audit_features, patrol_gap_features
from api.patrol_params import GapParamsDep
from api.places import PlaceDep
from api.result_files import ResultFormat, kept_result
from geo.entrance_audit import REASONS

router = APIRouter(prefix="/api/analysis", tags=["analysis"])


@router.get("/nights", response_model=None)
def nights(place: PlaceDep, db: DbDep, user: CurrentUser, kept: KeptDep) -> Response:
    """The nights the analyses take when none are given: the week up to the last night with
    patrols. A page asks this first, so that all its analyses can then run at once on the same nights."""

    def make() -> dict:
        first, last = default_nights(db, place, None, None)
        return {"place": place.code, "nights": [first.isoformat(), last.isoformat()]}

    return kept.json(make)


@router.get("/patrol-gaps", response_model=None)
def patrol_gaps(
    place: PlaceDep, params: GapParamsDep, db: DbDep, user: CurrentUser, kept: KeptDep, fmt: ResultFormat,
    revisits: Annotated[bool, Query(description="also list passed entrances and focus areas")] = False,
) -> Response:
    """Street parts, focus areas and entrances the patrols of those nights did not pass."""
    return kept_result(kept, lambda: patrol_gap_features(db, place, params, with_passed=revisits), fmt,
                       "patrol-gaps", place.code)


@router.get("/unmanaged-entrances", response_model=None)
def unmanaged_entrances(
    place: PlaceDep, params: GapParamsDep, db: DbDep, user: CurrentUser, kept: KeptDep, fmt: ResultFormat,
    reason: Annotated[Literal[REASONS] | None, Query()] = None,
    burglary_days: Annotated[int, Query(ge=1, le=365, description="burglaries of the last N days count")] = 30,
    burglary_radius_m: Annotated[float, Query(gt=0, le=1000)] = 100.0,
    limit: Annotated[int | None, Query(ge=1, description="send only the riskiest N (all are counted)")] = None,
) -> Response:
    """Entrances of unmanaged, ungated or unwatched buildings, ranked by risk."""
    return kept_result(kept, lambda: entrance_audit_features(
        db, place, params, reason=reason, burglary_days=burglary_days, burglary_radius_m=burglary_radius_m,
        limit=limit), fmt, "unmanaged-entrances", place.code)
