from fastapi import APIRouter

from api.deps import CurrentUser, DbDep
from db.features import read_features
from db.layers import LAYERS

router = APIRouter(prefix="/api/beats", tags=["beats"])

# A station has tens of beats, a city a few hundred: one page holds them all.
MAX_BEATS = 10_000


@router.get("")
def list_beats(db: DbDep, user: CurrentUser) -> dict:
    """All beats as GeoJSON features with their code and name."""
    features, _ = read_features(db, LAYERS["beats"], bbox=None, limit=MAX_BEATS)
    return {"type": "FeatureCollection", "features": features}
