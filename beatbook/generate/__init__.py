"""Synthetic datasets for Beatbook: the Helsinki demo, scalable districts, and their loader.

A dataset is a dict of frames keyed by table name, in the order the tables can be
loaded without breaking a foreign key (``DATA_TABLES``), with explicit ids.
"""

from __future__ import annotations

from db.models import metadata

# Tables that hold the users and their traces, not the beat: a dataset never touches them.
NOT_DATA = ("app_user", "audit_log", "change_log")
DATA_TABLES: tuple[str, ...] = tuple(
    table.name for table in metadata.sorted_tables if table.name not in NOT_DATA
)
