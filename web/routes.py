"""The map page and its static files; the page holds no data, the API serves it after login."""

from pathlib import Path

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse

from api.answer_cache import KeptDep
from api.deps import DbDep, SettingsDep
from db.features import data_credits, layer_extent
from db.layers import LAYERS
from db.tiles import MIN_ZOOM
from web.page import basemaps, build_map_page

STATIC_DIR = Path(__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)

# Where the map opens before the beats are loaded: the middle of the beats, else the world.
WORLD = (20.0, 0.0)


@router.get("/", response_class=HTMLResponse)
def map_page(db: DbDep, settings: SettingsDep, kept: KeptDep) -> Response:
    """The page, made anew only when the beats or the data's credits change (it takes Folium
    a while)."""

    def make() -> bytes:
        extent = layer_extent(db, LAYERS["beats"])
        page = {"credits": data_credits(db), "tile_min_zoom": MIN_ZOOM,
                "basemaps": basemaps(settings.tianditu_key), "basemap": settings.basemap}
        centre = WORLD if extent is None else ((extent[1] + extent[3]) / 2, (extent[0] + extent[2]) / 2)
        return build_map_page(center=centre, **({"zoom": 2} if extent is None else {}), **page).encode()

    return kept.content(make, "text/html; charset=utf-8")
