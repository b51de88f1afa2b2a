from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api.deps import CurrentUser, DbDep, SettingsDep
from api.errors import Unauthorized
from api.security import create_token, verify_password
from db.users import assigned_beats, user_by_name

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


@router.post("/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], db: DbDep, settings: SettingsDep) -> Token:
    """Exchange a username and password (OAuth2 password form) for a bearer token."""
    user = user_by_name(db, form.username)
    if user is None or not verify_password(user.password_hash, form.password):
        raise Unauthorized("wrong username or password")
    token = create_token(user.id, user.role, secret=settings.secret_key, minutes=settings.token_minutes)
    return Token(access_token=token, expires_in=settings.token_minutes * 60)


@router.get("/me", response_model=Me)
def me(user: CurrentUser, db: DbDep) -> Me:
    """Who is logged in, with which role, and which beats are theirs today."""
    return Me(id=user.id, username=user.username, role=user.role, officer_id=user.officer_id,
              station_id=user.station_id, beats=assigned_beats(db, user.officer_id))
