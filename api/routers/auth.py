import math
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentUser, DbDep, SettingsDep
from api.errors import TooManyRequests, Unauthorized, error_response
from api.security import create_token, unknown_user_hash, verify_password
from db.users import assigned_beats, login_failed, login_succeeded, user_by_name

router = APIRouter(prefix="/api/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    id: int
    username: str
    role: str
    officer_id: int | None
    station_id: int | None
    beats: list[str]  # the beats the officer is responsible for today


@router.post("/token", response_model=Token,
             responses={401: {"description": "wrong username or password"},
                        429: {"description": "too many wrong passwords in a row: the account is "
                                             "locked for a while (Retry-After)"}})
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbDep,
          settings: SettingsDep) -> Token | JSONResponse:
    """Exchange a username and password (OAuth2 password form) for a bearer token.

    ``BEATBOOK_LOGIN_MAX_FAILURES`` wrong passwords in a row lock the account for
    ``BEATBOOK_LOGIN_LOCK_MINUTES``; a right one resets the count. The refusals are returned,
    not raised, so that the count is kept."""
    user = user_by_name(db, form.username)
    now = datetime.now(UTC)
    if user is not None and user.locked_until is not None and user.locked_until > now:
        wait = math.ceil((user.locked_until - now).total_seconds())
        return error_response(TooManyRequests(
            f"too many wrong passwords: the account is locked for {math.ceil(wait / 60)} more "
            "minute(s); an admin can unlock it sooner", retry_after_s=wait))
    if user is None:
        verify_password(unknown_user_hash(), form.password)  # as slow as for a known user
        return error_response(Unauthorized("wrong username or password"))
    if not verify_password(user.password_hash, form.password):
        login_failed(db, user.id, max_failures=settings.login_max_failures,
                     lock_minutes=settings.login_lock_minutes)
        return error_response(Unauthorized("wrong username or password"))
    login_succeeded(db, user.id)
    token = create_token(user.id, user.role, secret=settings.secret_key, minutes=settings.token_minutes)
    return Token(access_token=token, expires_in=settings.token_minutes * 60)


@router.get("/me", response_model=Me)
def me(user: CurrentUser, db: DbDep) -> Me:
    """Who is logged in, with which role, and which beats are theirs today."""
    return Me(id=user.id, username=user.username, role=user.role, officer_id=user.officer_id,
              station_id=user.station_id, beats=assigned_beats(db, user.officer_id))
