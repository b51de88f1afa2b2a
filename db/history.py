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
                client: str | None) -> None:
    """Note a read of a personal record (``action`` "read") or an export ("export")."""
    conn.execute(text("""
        INSERT INTO audit_log (user_id, action, record_table, record_id, client)
        VALUES (:user, :action, :table, :id, :client)
    """), {"user": user_id, "action": action, "table": table, "id": record_id, "client": client})
