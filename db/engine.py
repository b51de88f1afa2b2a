"""The SQLAlchemy engine, one per process, built from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine

from beatbook.settings import get_settings


@lru_cache
def get_engine(url: str | None = None, connections: int | None = None) -> Engine:
    # PostgreSQL's JIT compiles the beat queries for longer than they run (0.5 s of 0.7 s
    # measured on a 10,000-entrance beat): Beatbook's queries are many and short.
    # No overflow: the API admits as many requests at once as there are connections
    # (api/gate.py), so none waits for one while holding a worker thread.
    return create_engine(url or get_settings().sqlalchemy_url, pool_pre_ping=True,
                         pool_size=connections or get_settings().db_connections, max_overflow=0,
                         connect_args={"options": "-c jit=off"})
