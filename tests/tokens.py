"""Bearer tokens made directly, for tests that send many requests as every role: a login checks
the password with Argon2, slow on purpose (about a second each)."""

from sqlalchemy import Connection

from api.security import create_token
from db.users import upsert_user

ROLES = ("officer", "supervisor", "planner", "admin")


def bearer(user_id: int, role: str, secret: str) -> dict[str, str]:
    """Headers with a token for this user, valid for an hour."""
    return {"Authorization": f"Bearer {create_token(user_id, role, secret=secret, minutes=60)}"}


def bearer_headers(conn: Connection, secret: str, *, officer_badge: str | None = None,
                   station_code: str | None = None) -> dict[str, dict[str, str]]:
    """A user per role, named after it (none can log in), and headers with a token for each."""
    headers = {}
    for role in ROLES:
        user = upsert_user(conn, username=role, password_hash="no login", role=role,
                           officer_badge=officer_badge if role == "officer" else None,
                           station_code=station_code)
        headers[role] = bearer(user, role, secret)
    return headers
