"""The data's generation (migration 0005): a count that grows with every committed write to the
data, from any process; what a kept answer (``api/answer_cache.py``) was made from."""

from __future__ import annotations

from geoalchemy2 import alembic_helpers
from sqlalchemy import Connection, text

# Tables whose writes leave the generation alone: no kept answer is made from them, and
# they are written by reads (the audit of a record read) and logins (failure counts).
UNCOUNTED = frozenset({"audit_log", "app_user"})
# The generation's own tables: bookkeeping that triggers write, described by no model.
TABLES = frozenset({"data_change", "data_generation"})


def data_generation(conn: Connection) -> int:
    return conn.execute(text("SELECT beatbook_data_generation()")).scalar_one()


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's filter of what the models describe: GeoAlchemy2's, without the generation's tables."""
    if type_ == "table" and name in TABLES:
        return False
    return alembic_helpers.include_object(obj, name, type_, reflected, compare_to)
