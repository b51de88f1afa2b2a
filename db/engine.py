"""The SQLAlchemy engine, one per process, built from the settings."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine

from beatbook.settings import get_settings


@lru_cache
def get_engine(url: str | None = None) -> Engine:
    return create_engine(url or get_settings().sqlalchemy_url, pool_pre_ping=True, pool_size=10)
