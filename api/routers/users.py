"""Users, managed by admins: who may log in, with which role, officer and station.

Passwords are taken only to be hashed (Argon2id) and never returned. Every change goes into
the change history (the password as "(changed)"), and deactivating a user ends their tokens'
use at once, since every request looks the user up.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from api.deps import CurrentUser, DbDep, Page, PageDep
from api.errors import Conflict, Forbidden, InvalidInput, NotFound
from api.security import hash_password
from db import users as queries
from db.history import record_change
from db.models import ROLES
from db.users import UserRecord

router = APIRouter(prefix="/api/users", tags=["users"])

Role = Literal[ROLES]
# Long enough that a guess takes longer than the login limit allows.
Password = Annotated[str, Field(min_length=12, max_length=256)]


def admin(user: CurrentUser) -> UserRecord:
    if user.role != "admin":
        raise Forbidden(f"users are managed by admins, not the {user.role} role")
    return user


Admin = Annotated[UserRecord, Depends(admin)]


class NewUser(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: Password
    role: Role
    officer_badge: str | None = Field(None, max_length=32, description="for officers: their badge")
    station_code: str | None = Field(None, max_length=32, description="the station they work from")
    reason: str = Field(min_length=1, max_length=500)


class UserChange(BaseModel):
    role: Role | None = None
    password: Password | None = None
    officer_badge: str | None = Field(None, max_length=32)
    station_code: str | None = Field(None, max_length=32)
    active: bool | None = None
    unlock: bool = Field(False, description="forget the failed logins and lift a lock")
    reason: str = Field(min_length=1, max_length=500)


def _references(db, officer_badge: str | None, station_code: str | None) -> dict:
    """The officer and station ids that a badge and a station code name (404 if unknown)."""
    found = {}
    if officer_badge is not None:
        found["officer_id"] = queries.officer_id_of(db, officer_badge)
        if found["officer_id"] is None:
            raise NotFound(f"no officer with badge '{officer_badge}'")
    if station_code is not None:
        found["station_id"] = queries.station_id_of(db, station_code)
        if found["station_id"] is None:
            raise NotFound(f"no station with code '{station_code}'")
    return found


@router.get("")
def list_users(request: Request, db: DbDep, user: Admin, page: PageDep) -> dict:
    """Every user, active or not, by id."""
    found = queries.list_users(db, after=page.after, limit=page.limit + 1)
    next_after = found[page.limit - 1]["id"] if len(found) > page.limit else None
    return {"users": found[:page.limit], "links": Page.links(request, next_after, "application/json")}


@router.post("", status_code=201)
def create_user(body: NewUser, db: DbDep, user: Admin, response: Response) -> dict:
    """A new user; an officer needs the badge of an officer on record."""
    if queries.username_taken(db, body.username):
        raise Conflict(f"the username '{body.username}' is taken")
    if body.role == "officer" and body.officer_badge is None:
        raise InvalidInput("an officer user needs officer_badge, the badge of an officer on record")
    values = {"officer_id": None, "station_id": None,
              **_references(db, body.officer_badge, body.station_code)}
    user_id = queries.insert_user(db, username=body.username, password_hash=hash_password(body.password),
                                  role=body.role, **values)
    record_change(db, table="app_user", record_id=user_id, user_id=user.id, reason=body.reason,
                  changes={"username": (None, body.username), "role": (None, body.role),
                           "officer_badge": (None, body.officer_badge),
                           "station_code": (None, body.station_code), "password": (None, "(set)")})
    response.headers["Location"] = f"/api/users/{user_id}"
    return queries.listed_user(db, user_id)


@router.patch("/{user_id}")
def change_user(user_id: int, body: UserChange, db: DbDep, user: Admin) -> dict:
    """Change a user's role, password, officer, station or standing; ``unlock`` lifts a lock."""
    before = queries.listed_user(db, user_id)
    if before is None:
        raise NotFound(f"no user with id {user_id}")
    if user_id == user.id and (body.active is False or body.role not in (None, "admin")):
        raise Forbidden("an admin cannot deactivate or demote themselves; another admin can")
    values = _references(db, body.officer_badge, body.station_code)
    changes = {}
    for name in ("role", "active"):
        if getattr(body, name) is not None and getattr(body, name) != before[name]:
            values[name] = getattr(body, name)
            changes[name] = (before[name], values[name])
    for name, given in (("officer_badge", body.officer_badge), ("station_code", body.station_code)):
        if given is not None and given != before[name]:
            changes[name] = (before[name], given)
    if body.password is not None:
        values["password_hash"] = hash_password(body.password)
        changes["password"] = ("(set)", "(changed)")
    if body.unlock and (before["failed_logins"] or before["locked_until"]):
        values.update(failed_logins=0, locked_until=None)
        changes["locked_until"] = (before["locked_until"], None)
    queries.update_user(db, user_id, **values)
    if changes:
        record_change(db, table="app_user", record_id=user_id, user_id=user.id, reason=body.reason,
                      changes=changes)
    return queries.listed_user(db, user_id)
