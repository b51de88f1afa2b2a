import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, DbDep
from api.incident_params import workload_period
from api.result_files import ResultFormat, result_file
from db.features import read_features
from db.layers import LAYERS
from db.workload import beat_measures
from geo.workload import MEASURES, balance, workload

router = APIRouter(prefix="/api/beats", tags=["beats"])

# A station has tens of beats, a city a few hundred: one page holds them all.
MAX_BEATS = 10_000
WEIGHT = Query(ge=0, le=100)


@router.get("")
def list_beats(db: DbDep, user: CurrentUser) -> dict:
    """All beats as GeoJSON features with their code and name."""
    features, _ = read_features(db, LAYERS["beats"], bbox=None, limit=MAX_BEATS)
    return {"type": "FeatureCollection", "features": features}


@router.get("/workload")
def beat_workload(
    db: DbDep, user: CurrentUser, fmt: ResultFormat,
    start: Annotated[date | None, Query(description="first day of incidents counted (local)")] = None,
    end: Annotated[date | None, Query(description="last day; default: the latest incident's")] = None,
    households: Annotated[float, WEIGHT] = 1.0,
    residents_to_visit: Annotated[float, WEIGHT] = 1.0,
    premises_due: Annotated[float, WEIGHT] = 1.0,
    sites_due: Annotated[float, WEIGHT] = 1.0,
    incidents: Annotated[float, WEIGHT] = 1.0,
    open_disputes: Annotated[float, WEIGHT] = 1.0,
    street_km: Annotated[float, WEIGHT] = 1.0,
) -> dict:
    """How heavy each beat is: the measures, and a workload index where the average beat is 1.

    Each measure is weighed against its mean over the beats (weights as query parameters,
    0 leaves a measure out); incidents are those of ``start``-``end``, 90 days by default.
    """
    weights = dict(zip(MEASURES, (households, residents_to_visit, premises_due, sites_due, incidents,
                                  open_disputes, street_km)))
    start, end, since, until = workload_period(db, start, end)
    table = workload(beat_measures(db, since=since, until=until, as_of=end), weights)
    features = [{"type": "Feature", "geometry": json.loads(row.geojson),
                 "properties": {"code": row.code, "name": row.name, "workload": round(float(row.workload), 3),
                                **{k: (round(float(getattr(row, k)), 2) if k == "street_km" else int(getattr(row, k)))
                                   for k in MEASURES}}}
                for row in table.itertuples(index=False)]
    answer = {"type": "FeatureCollection", "features": features,
              "summary": {"incidents_counted": [start.isoformat(), end.isoformat()], "weights": weights,
                          "workload": "sum of weight x measure / its mean over the beats, over the sum of the "
                                      "weights: the average beat is 1.0",
                          **balance(table["workload"].to_numpy())}}
    return result_file(answer, fmt, "workload", "all")
