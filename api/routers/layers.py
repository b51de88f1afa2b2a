import dataclasses
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import Connection

from api.deps import BBoxDep, CurrentUser, DbDep, ReadableLayer, SettingsDep, WritableLayer
from api.errors import InvalidInput, NotFound, PayloadTooLarge
from api.exports import FORMATS, GPX_LAYERS, export_bytes
from api.incident_params import local_range
from beatbook.ingest import ImportOptions, import_file
from db.analysis import whole_area
from db.features import layer_frame, read_features
from db.history import record_read
from db.layers import LAYERS, Layer

# The multipart boundaries and the small form fields around the file.
FORM_OVERHEAD_BYTES = 64 * 1024


class UploadLimitRoute(APIRoute):
    """A route that refuses a body its Content-Length declares larger than the upload limit
    before reading a byte of it: FastAPI reads the whole form (files spooled to disk past 1 MB)
    before the route or its dependencies run. A body sent without a length is still read
    whole, and refused by the route as it copies the file."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def refuse_oversized(request: Request) -> Response:
            settings = request.app.state.settings
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > settings.max_upload_mb * 1024 * 1024 + FORM_OVERHEAD_BYTES:
                raise PayloadTooLarge(f"the upload is larger than {settings.max_upload_mb} MB; split the file")
            return await handle(request)

        return refuse_oversized


router = APIRouter(prefix="/api/layers", tags=["layers"], route_class=UploadLimitRoute)

UPLOAD_SUFFIXES = (".geojson", ".json", ".gpkg", ".zip", ".gpx", ".csv", ".csv.gz", ".tsv", ".txt")


class LayerInfo(BaseModel):
    name: str
    title: str
    geometry: str
    importable: bool
    fields: list[str]


class ImportResult(BaseModel):
    layer: str
    rows: int
    repaired: int
    dropped: int
    merged: int


@router.get("", response_model=list[LayerInfo])
def list_layers(user: CurrentUser) -> list[LayerInfo]:
    """The layers this user's role may read."""
    return [
        LayerInfo(name=layer.name, title=layer.title, geometry=layer.store_as,
                  importable=layer.importable, fields=[f.name for f in layer.fields])
        for layer in LAYERS.values()
        if user.role in layer.readers
    ]


@router.get("/{layer}")
def get_layer_features(
    layer: ReadableLayer,
    user: CurrentUser,
    db: DbDep,
    settings: SettingsDep,
    request: Request,
    bbox: BBoxDep,
    limit: Annotated[int | None, Query(ge=1, description="page size; at most, and by default, "
                                                         "BEATBOOK_MAX_PAGE_SIZE")] = None,
    after: Annotated[int | None, Query(ge=0, description="continue after this feature id")] = None,
) -> dict:
    """A page of the layer's features as GeoJSON (lon, lat), with a link to the next page."""
    limit = limit or settings.max_page_size
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}")
    features, next_after = read_features(db, layer, bbox=bbox, limit=limit, after=after,
                                         columns=layer.columns_for(user.role))
    links = []
    if next_after is not None:
        links.append({"rel": "next", "type": "application/geo+json",
                      "href": str(request.url.include_query_params(after=next_after))})
    return {"type": "FeatureCollection", "features": features,
            "numberReturned": len(features), "links": links}


@router.get("/{layer}/export")
def export_layer(
    layer: ReadableLayer, user: CurrentUser, db: DbDep, request: Request, bbox: BBoxDep,
    format: Annotated[Literal[tuple(FORMATS)], Query(
        description="gpkg, geojson, csv (WKT), xlsx, or gpx (patrol tracks only: a <trk> per track, "
                    "each point with its time)")] = "gpkg",
    start: Annotated[date | None, Query(description="incidents, GPS fixes, patrol tracks: those of this day "
                                                    "(local) ...")] = None,
    end: Annotated[date | None, Query(description="... to this day (local), both needed; a track "
                                                  "that overlaps the days comes whole")] = None,
    feature_id: Annotated[int | None, Query(alias="id", ge=1, description="only this feature, e.g. one "
                                                                        "patrol track")] = None,
) -> Response:
    """The layer as a file: its features within ``bbox``, of the days ``start`` to ``end`` and the
    one ``id``, whichever are given, with the columns the role may read. An export of fields that
    name people, or of officers' positions (GPS fixes, patrol tracks), is written to the audit log."""
    if format == "gpx" and layer.name not in GPX_LAYERS:
        raise InvalidInput(f"gpx is for {', '.join(GPX_LAYERS)}; export {layer.name} as gpkg, geojson, csv or xlsx")
    columns = layer.columns_for(user.role)
    frame = _chosen(layer_frame(db, layer, columns=columns, bbox=bbox), layer, _days(db, layer, start, end),
                    feature_id)
    if feature_id is not None and frame.empty:
        raise NotFound(f"no feature {feature_id} in layer {layer.name} (within the bbox and days, if asked)")
    if layer.exports_personal(user.role):
        client = request.client.host if request.client else None
        record_read(db, user_id=user.id, action="export", table=layer.table, record_id=None, client=client,
                    details={"layer": layer.name, "format": format, "bbox": bbox, "start": start, "end": end,
                             "id": feature_id, "rows": len(frame)})
    media_type, suffix = FORMATS[format]
    filename = layer.name if feature_id is None else f"{layer.name}_{feature_id}"
    return Response(export_bytes(frame, format, layer.name), media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}.{suffix}"',
                             "Cache-Control": "no-store"})


def _days(db: Connection, layer: Layer, start: date | None, end: date | None) -> tuple[datetime, datetime] | None:
    """Local midnight of ``start`` to local midnight after ``end``, for a layer whose features
    happen at a time."""
    if start is None and end is None:
        return None
    if start is None or end is None:
        raise InvalidInput("give both start and end (local dates), or neither")
    if layer.time_span is None:
        timed = ", ".join(name for name, other in LAYERS.items() if other.time_span)
        raise InvalidInput(f"{layer.name} are not bound to a time; start and end are for {timed}")
    area = whole_area(db)
    return local_range(area.tz if area else "UTC", start, end)


def _chosen(frame, layer: Layer, days: tuple[datetime, datetime] | None, feature_id: int | None):
    """The features of the days (those whose time overlaps them), or the one asked for."""
    if days is not None:
        starts, ends = layer.time_span
        frame = frame[(frame[starts] < days[1]) & (frame[ends] >= days[0])]
    if feature_id is not None:
        frame = frame[frame["id"] == feature_id]
    return frame


@router.post("/{layer}/import", response_model=ImportResult)
def import_upload(
    layer: WritableLayer,
    db: DbDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, zipped Shapefile, GPX or CSV")],
    source_layer: Annotated[str | None, Form()] = None,
    lon: Annotated[str | None, Form()] = None,
    lat: Annotated[str | None, Form()] = None,
    crs: Annotated[str | None, Form()] = None,
    datum: Annotated[str | None, Form(description="gcj02 or bd09: coordinates from a Chinese web map")] = None,
    replace: Annotated[bool, Form()] = False,
    repair: Annotated[bool, Form(description="mend invalid geometries, drop degenerate ones")] = False,
) -> ImportResult:
    """Load a file into a layer: every row is checked, and it is all or nothing."""
    name = (file.filename or "").lower()
    suffix = next((s for s in UPLOAD_SUFFIXES if name.endswith(s)), None)
    if suffix is None:
        raise InvalidInput(f"unsupported file type '{file.filename}'; send one of {', '.join(UPLOAD_SUFFIXES)}")
    limit = settings.max_upload_mb * 1024 * 1024
    options = ImportOptions(source_layer=source_layer, lon=lon, lat=lat, crs=crs, datum=datum, replace=replace,
                            repair=repair, max_problems=settings.import_error_rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        written = 0
        with path.open("wb") as out:
            while chunk := file.file.read(1024 * 1024):
                written += len(chunk)
                if written > limit:
                    raise PayloadTooLarge(f"the file is larger than {settings.max_upload_mb} MB; split it")
                out.write(chunk)
        raw = db.connection.driver_connection
        report = import_file(raw, layer.name, path, options)
    return ImportResult(**dataclasses.asdict(report))
