"""An analysis's answer (a GeoJSON FeatureCollection) as the file its ``format`` query parameter
asks for: every route that answers features takes the parameter, and answers through
``result_file``, the same way.

    def hotspots(place: PlaceDep, ..., fmt: ResultFormat) -> dict:
        return result_file(answers.hotspot_features(...), fmt, "hotspots", place.code)

A route keeps its ``-> dict``: FastAPI sends a Response that a route returns as it is.
"""

import re
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import Response

from api.answer_cache import KeptAnswers
from api.exports import FORMATS, collection_frame, export_bytes

RESULT_FORMATS = ("geojson", "gpkg", "csv", "xlsx")
FORMAT_HELP = (
    "geojson (the default): the answer as JSON, as always. gpkg, csv (geometry as WKT) or xlsx: the "
    "features as a file to download, one column per property; lists and objects among them (a "
    "school's counts by stage, a catchment's streets, a unit's history) as JSON text. The answer's "
    "summary goes into the GeoPackage layer's metadata (one item per key, nested values as JSON) and "
    "onto the XLSX's second sheet, 'summary'; a CSV holds the features only. The file of a paged "
    "answer holds the page asked for, and its Link header names the next. A density's overlay image "
    "stays out of files. These answers are counts and places, never people: their files are not "
    "audited."
)


def _format_dependency(formats: tuple[str, ...], help_text: str) -> Callable[..., str]:
    def file_format(format: Annotated[Literal[formats], Query(description=help_text)] = "geojson") -> str:
        return format

    return file_format


ResultFormat = Annotated[str, Depends(_format_dependency(RESULT_FORMATS, FORMAT_HELP))]
# A route, with its stops, also goes to the officer's phone.
RouteFormat = Annotated[str, Depends(_format_dependency(
    (*RESULT_FORMATS, "gpx"), FORMAT_HELP + " gpx: the route as a track and its stops as waypoints."))]


def result_file(answer: dict, fmt: str, name: str, place: str, *,
                gpx: Callable[[dict], str] | None = None) -> dict | Response:
    """The answer as it is (``geojson``), or as a file named for the result and the place,
    e.g. ``hotspots_HKI-01.gpkg``. ``gpx`` writes the answer as GPX, for routes that take it."""
    if fmt == "geojson":
        return answer
    media_type, suffix = FORMATS[fmt]
    if fmt == "gpx":
        body = gpx(answer).encode("utf-8")
    else:
        body = export_bytes(collection_frame(answer), fmt, name, summary=answer.get("summary"))
    filename = f"{name}_{re.sub(r'[^A-Za-z0-9_-]', '_', place)[:80]}.{suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    following = [link["href"] for link in answer.get("links", []) if link["rel"] == "next"]
    if following:
        headers["Link"] = f'<{following[0]}>; rel="next"'
    return Response(body, media_type=media_type, headers=headers)


def kept_result(kept: KeptAnswers, make: Callable[[], dict], fmt: str, name: str, place: str) -> Response:
    """``result_file`` of ``make()``, for answers many ask alike: the JSON is kept while the data
    is unchanged (``api/answer_cache.py``); files, asked for now and then, are made each time."""
    if fmt == "geojson":
        return kept.json(make)
    return result_file(make(), fmt, name, place)
