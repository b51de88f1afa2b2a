"""Incident analyses: density, hot spots, near repeats, how good a hotspot map was, spikes."""

from dataclasses import replace
from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api import incident_analysis as answers
from api.answer_cache import KeptDep
from api.deps import CurrentUser, DbDep
from api.errors import InvalidInput, answer_or_422
from api.incident_params import FilterDep, SelectionDep
from api.places import PlaceDep
from api.result_files import ResultFormat, kept_result, result_file

router = APIRouter(prefix="/api/analysis", tags=["incidents"])

# Knox pairs grow with the square of the events; more than this is a city-wide batch job.
MAX_NEAR_REPEAT_EVENTS = 50_000


def _numbers(text: str, name: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise InvalidInput(f"{name} must be numbers separated by commas, e.g. 0.01,0.05,0.1") from None


def _bands(text: str, name: str) -> tuple[tuple[float, float], ...]:
    """'0-100,100-200' as ((0, 100), (100, 200))."""
    try:
        bands = tuple(tuple(float(v) for v in part.split("-")) for part in text.split(","))
    except ValueError:
        bands = ()
    if not bands or any(len(b) != 2 or not 0 <= b[0] < b[1] for b in bands):
        raise InvalidInput(f"{name} must be ranges from-to separated by commas, e.g. 0-100,100-200")
    return bands


CellQuery = Query(gt=0, le=5000, description="cell size in metres (hexagon: edge length)")


@router.get("/incident-density")
def incident_density(
    place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser, fmt: ResultFormat,
    method: Literal["kde", "hex", "segment"] = "kde",
    cell_m: Annotated[float | None, CellQuery] = None,
    bandwidth_m: Annotated[float | None, Query(gt=0, le=5000, description="kde: quartic search radius or "
                                                                          "gaussian sigma; default by rule")] = None,
    kernel: Literal["quartic", "gaussian"] = "quartic",
    shares: Annotated[str, Query(description="kde: volume contours holding these shares")] = "0.5,0.75,0.9",
    snap_m: Annotated[float, Query(gt=0, le=500, description="segment: farthest snap to a street")] = 50.0,
) -> dict:
    """Where incidents concentrate: a kernel density (PNG overlay and volume contours), or counts
    per hexagon or per street segment."""
    grid = answers.Grid(method, cell_m, bandwidth_m, kernel, snap_m)
    return result_file(answer_or_422(lambda: answers.density_features(db, place, which, grid,
                                                                  shares=_numbers(shares, "shares"))),
                       fmt, "incident-density", place.code)


@router.get("/hotspots", response_model=None)
def hotspots(
    place: PlaceDep, which: FilterDep, db: DbDep, user: CurrentUser, kept: KeptDep, fmt: ResultFormat,
    unit: Literal["hex", "segment"] = "hex",
    cell_m: Annotated[float, CellQuery] = 100.0,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
    fdr: bool = True,
    permutations: Annotated[int, Query(ge=0, le=9999, description="0: normal approximation")] = 0,
    all: Annotated[bool, Query(description="also the units that are not significant")] = False,
    snap_m: Annotated[float, Query(gt=0, le=500)] = 50.0,
) -> Response:
    """Hot and cold spots by Getis-Ord Gi*, with a false-discovery-rate correction."""
    return kept_result(kept, lambda: answer_or_422(lambda: answers.hotspot_features(
        db, place, which, answers.Grid(unit, cell_m, snap_m=snap_m), alpha=alpha, fdr=fdr,
        permutations=permutations, with_all=all)), fmt, "hotspots", place.code)


@router.get("/near-repeat")
def near_repeat(
    place: PlaceDep, db: DbDep, user: CurrentUser, selection: SelectionDep,
    start: date | None = None, end: date | None = None,
    space_bands: Annotated[str, Query(description="metres")] = "0-100,100-200,200-400",
    time_bands: Annotated[str, Query(description="days")] = "0-7,7-14,14-28",
    permutations: Annotated[int, Query(ge=9, le=999)] = 99,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.05,
) -> dict:
    """The Knox test: do incidents (burglaries unless types says otherwise) follow one another
    close in space and time more often than chance?"""
    first, last = answers.default_dates(db, place, start, end, days=365)
    which = selection.between(place, first, last)
    if not which.types:
        which = replace(which, types=("burglary",))
    space, days = _bands(space_bands, "space_bands"), _bands(time_bands, "time_bands")
    return answer_or_422(lambda: answers.near_repeat_answer(
        db, place, which, space_bands_m=space, time_bands_days=days, permutations=permutations, alpha=alpha,
        max_events=MAX_NEAR_REPEAT_EVENTS))


@router.get("/hotspot-accuracy")
def hotspot_accuracy(
    place: PlaceDep, db: DbDep, user: CurrentUser, selection: SelectionDep,
    train_start: date, train_end: date, test_start: date, test_end: date,
    area_share: Annotated[str, Query(description="shares of the area flagged")] = "0.01,0.05,0.1",
    method: Literal["kde", "hex"] = "kde",
    cell_m: Annotated[float | None, CellQuery] = None,
    bandwidth_m: Annotated[float | None, Query(gt=0, le=5000)] = None,
    kernel: Literal["quartic", "gaussian"] = "quartic",
) -> dict:
    """Back-test: a hotspot map of the training period scored on the test period (hit rate, PAI, PEI)."""
    if test_start <= train_end:
        raise InvalidInput(f"the test period must start after the training period ends ({train_end})")
    grid = answers.Grid(method, cell_m, bandwidth_m, kernel)
    train = selection.between(place, train_start, train_end)
    test = selection.between(place, test_start, test_end)
    return answer_or_422(lambda: answers.accuracy_answer(db, place, train, test, grid,
                                                     shares=_numbers(area_share, "area_share")))


@router.get("/spikes")
def spike_alerts(
    place: PlaceDep, db: DbDep, user: CurrentUser, selection: SelectionDep, fmt: ResultFormat,
    end: Annotated[date | None, Query(description="last day of this period; default: the latest incident's")] = None,
    unit: Literal["beat", "hex"] = "beat",
    cell_m: Annotated[float, CellQuery] = 200.0,
    period_days: Annotated[int, Query(ge=1, le=365)] = 7,
    periods: Annotated[int, Query(ge=1, le=52, description="earlier periods to compare with")] = 8,
    alpha: Annotated[float, Query(gt=0, lt=1)] = 0.01,
) -> dict:
    """Units with more incidents this period than their earlier periods make likely (Poisson)."""
    _, last = answers.default_dates(db, place, None, end, days=1)
    first = last - timedelta(days=period_days * (periods + 1) - 1)
    which = selection.between(place, first, last)
    return result_file(answer_or_422(lambda: answers.spike_features(
        db, place, which, unit=unit, cell_m=cell_m, period_days=period_days, periods=periods, alpha=alpha)),
        fmt, "spikes", place.code)
