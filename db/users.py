"""The SQL of users and logins."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class UserRecord:
    id: int
    username: str
    role: str
    officer_id: int | None
    station_id: int | None
    password_hash: str


_COLUMNS = "id, username, role, officer_id, station_id, password_hash"


def user_by_name(conn: Connection, username: str) -> UserRecord | None:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM app_user WHERE username = :u AND active"), {"u": username}
    ).one_or_none()
    return UserRecord(*row) if row else None


def user_by_id(conn: Connection, user_id: int) -> UserRecord | None:
    row = conn.execute(
        text(f"SELECT {_COLUMNS} FROM app_user WHERE id = :i AND active"), {"i": user_id}
    ).one_or_none()
    return UserRecord(*row) if row else None


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
