"""Map layers as Mapbox vector tiles, so the map never loads a large layer whole."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from api.answer_cache import KeptDep
from api.deps import DbDep, ReadableLayer
from api.errors import InvalidInput, answer_or_422
from api.incident_params import local_range
from db import analysis as queries
from db.tiles import DATUMS, MAX_ZOOM, Period, tile_bytes
from geo.windows import DailyWindow

router = APIRouter(prefix="/api/tiles", tags=["tiles"])

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
# What a tile holds depends on the reader's role, so only the reader's browser keeps it,
# and only as long as a panning session; the token is part of what it varies with.
CACHE_HEADERS = {"Cache-Control": "private, max-age=60", "Vary": "Authorization"}


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    response_class=Response,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "the tile; an empty body if empty"}},
)
def get_tile(
    layer: ReadableLayer,
    db: DbDep,
    z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description=f"zoom, 0..{MAX_ZOOM}")],
    x: Annotated[int, Path(ge=0, description="column, 0..2^z-1, from the west")],
    y: Annotated[int, Path(ge=0, description="row, 0..2^z-1, from the north")],
    kept: KeptDep,
    datum: Annotated[Literal[DATUMS], Query(
        description="the basemap's coordinates: wgs84 (OpenStreetMap, Tianditu) or gcj02 "
                    "(AMap/Gaode, Tencent), where every feature is drawn shifted into GCJ-02")] = "wgs84",
    start: Annotated[date | None, Query(description="incidents, GPS fixes, patrol tracks: from this day (local)")] = None,
    end: Annotated[date | None, Query(description="... to this day (local), both needed")] = None,
    hours: Annotated[str | None, Query(description="... and these hours of day (local), e.g. 22:00-06:00")] = None,
) -> Response:
    """Tile z/x/y of a layer (Web Mercator, XYZ scheme as in Leaflet) as a Mapbox vector tile.

    The tile holds one MVT layer named like the layer, its features' ids as feature
    ids and their attributes as properties, except any that name people. Below the
    layer's first zoom (``db.tiles.MIN_ZOOM``), and where it has no features, the
    tile is empty: status 200 with an empty body, which Leaflet.VectorGrid and
    MapLibre draw as nothing. Sent gzipped to clients that accept it.

    Over a Chinese web map's tiles (``datum=gcj02``) each vertex is drawn where
    ``geo/chinese_datums.py`` puts it in GCJ-02, to within the tile grid's rounding;
    outside China's box the tile is the WGS-84 one.

    Incidents, GPS fixes and patrol tracks can be asked for the days ``start`` to ``end``
    and the ``hours`` of day (both in the area's time zone, the hours possibly across
    midnight): the map's time control draws what its analyses count.

    Tiles are kept on the server while the data is unchanged (``api/answer_cache.py``).
    """
    if x >= 2**z or y >= 2**z:
        raise InvalidInput(f"at zoom {z}, x and y must be in 0..{2**z - 1}")
    return kept.content(lambda: answer_or_422(lambda: tile_bytes(db, layer, z, x, y, datum=datum,
                                                             period=_period(db, start, end, hours))),
                        MEDIA_TYPE, CACHE_HEADERS)


def _period(db, start: date | None, end: date | None, hours: str | None) -> Period | None:
    if start is None and end is None and hours is None:
        return None
    if start is None or end is None:
        raise InvalidInput("give both start and end (local dates), or neither")
    area = queries.whole_area(db)
    tz = area.tz if area else "UTC"
    try:
        window = DailyWindow.parse(hours) if hours else None
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return Period(*local_range(tz, start, end), tz, window)
