"""Dependencies the routes declare: a database connection, the current user, checked input.

Those that do no I/O are ``async``: FastAPI runs a plain function in a worker thread, and
those hand-offs, several a request, took a sixth of a cached tile's CPU under load.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection

from api.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from api.security import read_token
from beatbook.settings import Settings
from db import users
from db.layers import Layer, get_layer
from db.users import UserRecord

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/auth/token")


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def take_on_user(conn: Connection, request: Request) -> None:
    """Give the request's transaction the rights of the user its bearer token names (none
    without a valid one), before any query runs: whatever order the route's dependencies
    come in, none of them reads with more rights than the user has."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user_id = read_token(token, secret=request.app.state.settings.secret_key) \
        if scheme.lower() == "bearer" else None
    request.state.user, request.state.generation = users.take_on_user(conn, user_id)


def get_db(request: Request) -> Iterator[Connection]:
    """One transaction per request, with the user's rights: committed when the route returns,
    rolled back if it raises; either before the response is sent (``DbDep``)."""
    with request.app.state.engine.begin() as conn:
        take_on_user(conn, request)
        yield conn


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
# Scope "function": by default FastAPI would end the transaction after sending the response,
# so a client could be told of a write whose commit then failed, or ask again before it landed.
DbDep = Annotated[Connection, Depends(get_db, scope="function")]


async def get_current_user(request: Request, token: Annotated[str, Depends(oauth2_scheme)], db: DbDep) -> UserRecord:
    """The user the bearer token names (``get_db`` has read it); 401 without a valid one."""
    if request.state.user is None:
        raise Unauthorized("the token is missing, expired or invalid; log in again at /api/auth/token")
    return request.state.user


CurrentUser = Annotated[UserRecord, Depends(get_current_user)]


async def record_keeper(user: CurrentUser) -> UserRecord:
    """The current user, if their role keeps the beat's records (inspections, campaigns)."""
    if user.role not in ("officer", "supervisor", "admin"):
        raise Forbidden(f"records are kept by officers and supervisors, not by the {user.role} role")
    return user


RecordKeeper = Annotated[UserRecord, Depends(record_keeper)]


async def readable_layer(layer: str, user: CurrentUser) -> Layer:
    """The named layer, if it exists and the user's role may read it."""
    try:
        found = get_layer(layer)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None
    if user.role not in found.readers:
        raise Forbidden(f"the {user.role} role may not read layer {found.name}")
    return found


async def writable_layer(layer: Annotated[Layer, Depends(readable_layer)], user: CurrentUser) -> Layer:
    if user.role not in ("supervisor", "admin"):
        raise Forbidden("imports are for supervisors and admins")
    if not layer.importable:
        raise InvalidInput(f"layer {layer.name} is derived from other data and cannot be imported")
    return layer


ReadableLayer = Annotated[Layer, Depends(readable_layer)]
WritableLayer = Annotated[Layer, Depends(writable_layer)]


async def bbox_param(
    bbox: Annotated[
        str | None,
        Query(description="minLon,minLat,maxLon,maxLat in EPSG:4326 (lon, lat order)",
              examples=["24.93,60.16,24.96,60.18"]),
    ] = None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    parts = bbox.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4 or not all(abs(v) < float("inf") for v in values):
        raise InvalidInput("bbox must be four numbers: minLon,minLat,maxLon,maxLat")
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise InvalidInput(
            "bbox must be minLon,minLat,maxLon,maxLat within ±180/±90 with min < max "
            "(longitude first)"
        )
    return values


BBoxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox_param)]


class Page:
    """``limit`` and ``after`` of a list paged by id, checked against the largest page."""

    def __init__(
        self, settings: SettingsDep,
        limit: Annotated[int | None, Query(ge=1, description="page size; at most, and by default, "
                                                             "BEATBOOK_MAX_PAGE_SIZE")] = None,
        after: Annotated[int | None, Query(ge=0, description="continue after this id")] = None,
    ):
        if limit is not None and limit > settings.max_page_size:
            raise InvalidInput(f"limit may be at most {settings.max_page_size}")
        self.limit = limit or settings.max_page_size
        self.after = after

    @staticmethod
    def links(request: Request, next_after: int | None, media_type: str = "application/geo+json") -> list:
        if next_after is None:
            return []
        return [{"rel": "next", "type": media_type,
                 "href": str(request.url.include_query_params(after=next_after))}]

    @staticmethod
    def answer(request: Request, features: list[dict], next_after: int | None) -> dict:
        return {"type": "FeatureCollection", "features": features, "numberReturned": len(features),
                "links": Page.links(request, next_after)}


PageDep = Annotated[Page, Depends()]
