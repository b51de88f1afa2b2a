"""The SQL of users and logins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from db.access import DATABASE_ROLES, act_as


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: str
    officer_id: int | None
    station_id: int | None
    password_hash: str
    locked_until: datetime | None


_COLUMNS = "id, username, role, officer_id, station_id, password_hash, locked_until"


def user_by_name(conn: Connection, username: str) -> UserRecord | None:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM app_user WHERE username = :u AND active"), {"u": username}
    ).one_or_none()
    return UserRecord(*row) if row else None


# The database role of a user's row (``db.access.DATABASE_ROLES``), in SQL.
_DATABASE_ROLE = "CASE role {} END".format(
    " ".join(f"WHEN '{role}' THEN '{database_role}'" for role, database_role in DATABASE_ROLES.items()))


def take_on_user(conn: Connection, user_id: int | None) -> tuple[UserRecord | None, int]:
    """The active user with this id, with the rest of the transaction given their rights
    (as ``db.access.act_as`` does) in the same statement, and the data's generation: the
    one round trip a request makes before its own queries. Without such a user, the rights
    of none."""
    row = None if user_id is None else conn.execute(text(f"""
        SELECT {_COLUMNS}, set_config('role', {_DATABASE_ROLE}, true), set_config('beatbook.user_id', id::text, true),
               beatbook_data_generation()
        FROM app_user WHERE id = :i AND active
    """), {"i": user_id}).one_or_none()
    if row is None:
        return None, act_as(conn, None, None)
    return UserRecord(*row[:-3]), row[-1]


def login_failed(conn: Connection, user_id: int, *, max_failures: int, lock_minutes: int) -> None:
    """Count a wrong password; the last one allowed locks the account for ``lock_minutes``."""
    conn.execute(text("""
        UPDATE app_user SET failed_logins = failed_logins + 1,
               locked_until = CASE WHEN failed_logins + 1 >= :most
                                   THEN now() + make_interval(mins => :minutes) END
        WHERE id = :i
    """), {"i": user_id, "most": max_failures, "minutes": lock_minutes})


def login_succeeded(conn: Connection, user_id: int) -> None:
    conn.execute(text("UPDATE app_user SET failed_logins = 0, locked_until = NULL "
                      "WHERE id = :i AND (failed_logins > 0 OR locked_until IS NOT NULL)"), {"i": user_id})


def upsert_user(conn: Connection, *, username: str, password_hash: str, role: str,
                officer_badge: str | None = None, station_code: str | None = None) -> int:
    return conn.execute(
        text(
            """
            INSERT INTO app_user (username, password_hash, role, officer_id, station_id)
            VALUES (:u, :h, :r,
                    (SELECT id FROM officer WHERE badge = :badge),
                    (SELECT id FROM station WHERE code = :station))
            ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash,
                role = EXCLUDED.role, officer_id = EXCLUDED.officer_id,
                station_id = EXCLUDED.station_id, active = true
            RETURNING id
            """
        ),
        {"u": username, "h": password_hash, "r": role, "badge": officer_badge, "station": station_code},
    ).scalar_one()


_LISTED = """
    SELECT u.id, u.username, u.role, o.badge AS officer_badge, s.code AS station_code, u.active,
           u.failed_logins, u.locked_until, u.created_at
    FROM app_user u LEFT JOIN officer o ON o.id = u.officer_id LEFT JOIN station s ON s.id = u.station_id
"""


def _listed(row) -> dict:
    return {**row._asdict(), "locked_until": row.locked_until and row.locked_until.isoformat(),
            "created_at": row.created_at.isoformat()}


def list_users(conn: Connection, *, after: int | None, limit: int) -> list[dict]:
    """Users by id, with their officer's badge and station's code; never a password hash."""
    rows = conn.execute(text(_LISTED + " WHERE CAST(:after AS integer) IS NULL OR u.id > :after "
                                       "ORDER BY u.id LIMIT :limit"), {"after": after, "limit": limit}).all()
    return [_listed(row) for row in rows]


def listed_user(conn: Connection, user_id: int) -> dict | None:
    row = conn.execute(text(_LISTED + " WHERE u.id = :i"), {"i": user_id}).one_or_none()
    return _listed(row) if row else None


def username_taken(conn: Connection, username: str) -> bool:
    return conn.execute(text("SELECT EXISTS (SELECT 1 FROM app_user WHERE username = :u)"),
                        {"u": username}).scalar_one()


def officer_id_of(conn: Connection, badge: str) -> int | None:
    return conn.execute(text("SELECT id FROM officer WHERE badge = :b"), {"b": badge}).scalar_one_or_none()


def station_id_of(conn: Connection, code: str) -> int | None:
    return conn.execute(text("SELECT id FROM station WHERE code = :c"), {"c": code}).scalar_one_or_none()


def insert_user(conn: Connection, **values) -> int:
    """``values``: username, password_hash, role, officer_id, station_id."""
    return conn.execute(text("""
        INSERT INTO app_user (username, password_hash, role, officer_id, station_id)
        VALUES (:username, :password_hash, :role, :officer_id, :station_id) RETURNING id
    """), values).scalar_one()


# The columns an admin may set, as the API names them.
USER_COLUMNS = ("password_hash", "role", "officer_id", "station_id", "active", "failed_logins",
                "locked_until")


def update_user(conn: Connection, user_id: int, **values) -> None:
    unknown = set(values) - set(USER_COLUMNS)
    if unknown:
        raise ValueError(f"not columns of a user: {sorted(unknown)}")
    if values:
        assignments = ", ".join(f"{column} = :{column}" for column in values)
        conn.execute(text(f"UPDATE app_user SET {assignments} WHERE id = :id"), {**values, "id": user_id})


def assigned_beats(conn: Connection, officer_id: int | None) -> list[str]:
    """The codes of the beats an officer is responsible for today."""
    if officer_id is None:
        return []
    return list(conn.execute(text("""
        SELECT b.code FROM officer_beat ob JOIN beat b ON b.id = ob.beat_id
        WHERE ob.officer_id = :o AND ob.valid_from <= current_date
          AND (ob.valid_to IS NULL OR ob.valid_to >= current_date)
        ORDER BY b.code
    """), {"o": officer_id}).scalars())
