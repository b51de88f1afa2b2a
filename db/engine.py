"""The SQLAlchemy engine, one per process, built from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine

from beatbook.settings import get_settings


def get_engine(url: str | None = None, connections: int | None = None) -> Engine:
    """The process's engine for ``url`` (default: the settings' database), one per URL: the
    settings are read each time, so a changed DATABASE_URL gets its own engine, not the last."""
    settings = get_settings()
    return _engine(url or settings.sqlalchemy_url, connections or settings.db_connections)


@lru_cache
def _engine(url: str, connections: int) -> Engine:
    # PostgreSQL's JIT compiles the beat queries for longer than they run (0.5 s of 0.7 s
    # measured on a 10,000-entrance beat): Beatbook's queries are many and short.
    # No overflow: the API admits as many requests at once as there are connections
    # (api/gate.py), so none waits for one while holding a worker thread.
    return create_engine(url, pool_pre_ping=True, pool_size=connections, max_overflow=0,
                         connect_args={"options": "-c jit=off"})
