"""The whole database to one file and back: pg_dump and pg_restore in their custom format.

A restore goes into an empty database only, in one transaction: it either brings back all of
the backup or leaves the database as it was, and it never mixes a backup into live records.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import psycopg

from beatbook import cluster
from beatbook.settings import Settings
from db.access import ENSURE_ROLES


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _tool(settings: Settings, name: str) -> str:
    """The client tool of the server's own version where the cluster's binaries are, else PATH's."""
    try:
        found = cluster.pg_bin(settings) / name
        if found.exists():
            return str(found)
    except cluster.ClusterError:
        pass
    on_path = shutil.which(name)
    if on_path is None:
        raise BackupError(f"{name} was not found: install the PostgreSQL client (apt-get install postgresql-client-15)")
    return on_path


def backup(settings: Settings, url: str, file: Path) -> None:
    """Dump the database at ``url`` to ``file`` (custom format, owners left out)."""
    result = subprocess.run([_tool(settings, "pg_dump"), "--format=custom", "--no-owner", "--file", str(file), url],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def restore(settings: Settings, url: str, file: Path) -> None:
    """Restore ``file`` into the empty database at ``url``, all or nothing."""
    if not file.is_file():
        raise BackupError(f"{file} is not a file; give a backup made by 'beatbook backup'")
    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename <> 'spatial_ref_sys'").fetchone()[0]
        if tables:
            raise BackupError(f"the database holds {tables} tables: restore into an empty database "
                              "(create one and point DATABASE_URL at it), so no live record is overwritten")
        # The backup's grants and row policies name Beatbook's roles, which a new server lacks.
        conn.execute(ENSURE_ROLES)
    result = subprocess.run([_tool(settings, "pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error",
                             "--dbname", url, str(file)], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed, and nothing was restored: {result.stderr.strip()}")
