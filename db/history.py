"""What happened to the records: their change history (who, when, why, what), and the audit
log of reads of personal records and exports (who, when, what, from where).

Both are written in the caller's transaction, so a change and its history land together or not
at all. The audit log is append-only in the database itself (a trigger refuses updates and
deletes).
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import Connection, text


def _plain(value):
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def record_change(conn: Connection, *, table: str, record_id: int, user_id: int | None, reason: str,
                  changes: dict) -> None:
    """Note a change of one record: ``changes`` maps each field to its [old, new] value
    (old None for a record just made)."""
    conn.execute(text("""
        INSERT INTO change_log (record_table, record_id, changed_by, reason, changes)
        VALUES (:table, :id, :user, :reason, CAST(:changes AS jsonb))
    """), {"table": table, "id": record_id, "user": user_id, "reason": reason,
           "changes": json.dumps({k: [_plain(old), _plain(new)] for k, (old, new) in changes.items()})})


def history(conn: Connection, table: str, record_id: int) -> list[dict]:
    """The changes of one record, oldest first: when, by whom (user name), why, what."""
    rows = conn.execute(text("""
        SELECT c.changed_at, u.username, c.reason, c.changes
        FROM change_log c LEFT JOIN app_user u ON u.id = c.changed_by
        WHERE c.record_table = :table AND c.record_id = :id ORDER BY c.changed_at, c.id
    """), {"table": table, "id": record_id}).all()
    return [{"at": at.isoformat(), "by": by, "reason": reason, "changes": changes}
            for at, by, reason, changes in rows]


def record_read(conn: Connection, *, user_id: int | None, action: str, table: str, record_id: int | None,
                client: str | None, details: dict | None = None) -> None:
    """Note a read of a personal record (``action`` "read") or an export ("export").

    ``details`` says what an export was asked for (its format, day, beats, how many rows), so
    the log shows what left the system; it is stored as given, so it must never hold a name,
    an identity number or anything else personal."""
    conn.execute(text("""
        INSERT INTO audit_log (user_id, action, record_table, record_id, client, details)
        VALUES (:user, :action, :table, :id, :client, CAST(:details AS jsonb))
    """), {"user": user_id, "action": action, "table": table, "id": record_id, "client": client,
           "details": None if details is None else json.dumps({k: _plain(v) for k, v in details.items()})})


def audit_entries(conn: Connection, *, username: str | None, table: str | None, since: datetime | None,
                  until: datetime | None, after: int | None, limit: int) -> list[dict]:
    """Audit rows by id: who (user name), when, what, from where, and an export's details.
    Which rows a reader may see is the database's to say (supervisors: their station's users;
    admins: all)."""
    rows = conn.execute(text("""
        SELECT a.id, a.at, u.username, a.action, a.record_table, a.record_id, a.client, a.details
        FROM audit_log a LEFT JOIN app_user u ON u.id = a.user_id
        WHERE (CAST(:username AS text) IS NULL OR u.username = :username)
          AND (CAST(:table AS text) IS NULL OR a.record_table = :table)
          AND (CAST(:since AS timestamptz) IS NULL OR a.at >= :since)
          AND (CAST(:until AS timestamptz) IS NULL OR a.at < :until)
          AND (CAST(:after AS bigint) IS NULL OR a.id > :after)
        ORDER BY a.id LIMIT :limit
    """), {"username": username, "table": table, "since": since, "until": until, "after": after,
           "limit": limit}).all()
    return [{"id": row.id, "at": row.at.isoformat(), "user": row.username, "action": row.action,
             "table": row.record_table, "record_id": row.record_id, "client": row.client,
             "details": row.details}
            for row in rows]
