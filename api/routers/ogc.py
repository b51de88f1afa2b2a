"""OGC API - Features (Part 1, Core, with GeoJSON): Beatbook's layers for QGIS, ArcGIS or any
OGC client, at ``/ogc``.

A collection is a layer of the registry (db/layers.py) that the user's role may read, with the
same columns as the layer API (no field that names a person for planners); households and
residents are no layer, so they are never a collection. The client authenticates with the
same bearer token (QGIS: an "API header" authentication with ``Authorization``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.deps import BBoxDep, CurrentUser, DbDep, ReadableLayer, SettingsDep
from api.errors import InvalidInput, NotFound
from db.features import layer_extent, read_feature, read_features
from db.layers import LAYERS, Layer

router = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
# The standard's default page; the largest is the layer API's (BEATBOOK_MAX_PAGE_SIZE).
DEFAULT_LIMIT = 10


def _json(body: dict, media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type)


def _link(href: str, rel: str, media_type: str, title: str | None = None) -> dict:
    return {"href": href, "rel": rel, "type": media_type, **({"title": title} if title else {})}


def _collection(request: Request, db, layer: Layer) -> dict:
    base = str(request.url_for("ogc_collection", layer=layer.name))
    extent = {"spatial": {"bbox": [layer_extent(db, layer) or [-180, -90, 180, 90]], "crs": CRS84}}
    if layer.time_span is not None:
        extent["temporal"] = {"interval": [[None, None]]}
    return {"id": layer.name, "title": layer.title, "itemType": "feature", "crs": [CRS84],
            "extent": extent,
            "links": [_link(base, "self", "application/json"),
                      _link(f"{base}/items", "items", GEOJSON, f"{layer.title} as GeoJSON")]}


def parse_datetime(value: str | None) -> tuple[datetime | None, datetime | None]:
    """An instant or an interval as the standard writes them (``2026-11-01T00:00:00Z``,
    ``2026-11-01T00:00:00Z/2026-11-08T00:00:00Z``, ``../2026-11-08T00:00:00Z``): its two ends,
    either open; a time without an offset is UTC."""
    if value is None:
        return None, None
    parts = value.split("/")
    if len(parts) > 2:
        raise InvalidInput("datetime is an instant or start/end (RFC 3339; '..' for an open end)")
    ends = []
    for part in parts:
        if part in ("", ".."):
            ends.append(None)
            continue
        try:
            instant = datetime.fromisoformat(part)
        except ValueError:
            raise InvalidInput(f"datetime: '{part}' is not an RFC 3339 time, e.g. 2026-11-01T22:00:00Z") from None
        ends.append(instant if instant.tzinfo else instant.replace(tzinfo=UTC))
    since, until = (ends[0], ends[0]) if len(ends) == 1 else ends
    if since is not None and until is not None and since > until:
        raise InvalidInput("datetime: the interval ends before it starts")
    return since, until


@router.get("", name="ogc_landing")
def landing(request: Request, user: CurrentUser) -> JSONResponse:
    """The landing page: where the API's description, conformance and collections are."""
    return _json({"title": "Beatbook", "description": "Community beats: buildings, entrances, cameras, "
                                                    "incidents and more, as the role allows",
                  "links": [_link(str(request.url_for("ogc_landing")), "self", "application/json"),
                            _link(str(request.url_for("openapi")), "service-desc",
                                  "application/vnd.oai.openapi+json;version=3.0"),
                            _link(str(request.url_for("ogc_conformance")), "conformance", "application/json"),
                            _link(str(request.url_for("ogc_collections")), "data", "application/json")]})


@router.get("/conformance", name="ogc_conformance")
def conformance(user: CurrentUser) -> JSONResponse:
    return _json({"conformsTo": CONFORMANCE})


@router.get("/collections", name="ogc_collections")
def collections(request: Request, db: DbDep, user: CurrentUser) -> JSONResponse:
    """The layers the user's role may read."""
    return _json({"links": [_link(str(request.url), "self", "application/json")],
                  "collections": [_collection(request, db, layer) for layer in LAYERS.values()
                                  if user.role in layer.readers]})


@router.get("/collections/{layer}", name="ogc_collection")
def collection(layer: ReadableLayer, request: Request, db: DbDep) -> JSONResponse:
    return _json(_collection(request, db, layer))


@router.get("/collections/{layer}/items", name="ogc_items")
def items(
    layer: ReadableLayer, user: CurrentUser, request: Request, db: DbDep, settings: SettingsDep,
    bbox: BBoxDep,
    limit: Annotated[int, Query(ge=1, description="at most BEATBOOK_MAX_PAGE_SIZE")] = DEFAULT_LIMIT,
    datetime_: Annotated[str | None, Query(alias="datetime", max_length=100,
                                           description="an instant or start/end, RFC 3339; '..' "
                                                       "leaves an end open")] = None,
    after: Annotated[int | None, Query(ge=0, description="continue after this feature id "
                                                         "(the next link has it)")] = None,
) -> JSONResponse:
    """A page of the collection's features, by id, within ``bbox`` and ``datetime``."""
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}")
    since, until = parse_datetime(datetime_)
    features, next_after = read_features(db, layer, bbox=bbox, limit=limit, after=after,
                                         columns=layer.columns_for(user.role), since=since, until=until)
    links = [_link(str(request.url), "self", GEOJSON),
             _link(str(request.url_for("ogc_collection", layer=layer.name)), "collection", "application/json")]
    if next_after is not None:
        links.append(_link(str(request.url.include_query_params(after=next_after)), "next", GEOJSON))
    return _json({"type": "FeatureCollection", "features": features, "numberReturned": len(features),
                  "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"), "links": links}, GEOJSON)


@router.get("/collections/{layer}/items/{feature_id}", name="ogc_item")
def item(layer: ReadableLayer, feature_id: int, user: CurrentUser, request: Request, db: DbDep) -> JSONResponse:
    feature = read_feature(db, layer, feature_id, columns=layer.columns_for(user.role))
    if feature is None:
        raise NotFound(f"no feature {feature_id} in collection {layer.name}")
    feature["links"] = [_link(str(request.url), "self", GEOJSON),
                        _link(str(request.url_for("ogc_collection", layer=layer.name)), "collection",
                              "application/json")]
    return _json(feature, GEOJSON)
