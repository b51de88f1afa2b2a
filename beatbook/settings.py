"""All of Beatbook's settings, read once from the environment (prefix ``BEATBOOK_``).

``DATABASE_URL`` is read without the prefix, as hosting platforms set it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BEATBOOK_", extra="ignore")

    environment: str = Field("development", pattern="^(development|test|production)$")
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "BEATBOOK_DATABASE_URL")
    )
    # The embedded cluster lives here unless DATABASE_URL points elsewhere.
    home: Path = PROJECT_ROOT / ".beatbook"
    pg_port: int = 54329
    pg_bin: Path | None = None

    # Signs access tokens; a development key is generated per process.
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    # Keys the hash of identity numbers so they can be matched but not recovered.
    id_hash_key: str = "development-only-id-hash-key"
    token_minutes: int = Field(60, ge=1, le=24 * 60)
    # This many wrong passwords in a row lock an account for the given minutes.
    login_max_failures: int = Field(5, ge=1)
    login_lock_minutes: int = Field(15, ge=1)
    demo_password: str | None = None

    # Connections to the database per API process, and so requests served at once.
    db_connections: int = Field(10, ge=1, le=40)
    # Answers many users ask alike (tiles, the tonight view's analyses) kept per API process
    # while the data is unchanged (api/answer_cache.py); 0 keeps none.
    answer_cache_mb: int = Field(128, ge=0)

    max_upload_mb: int = Field(50, ge=1)
    max_page_size: int = Field(1000, ge=1)
    import_error_rows: int = Field(20, ge=1)

    # Cleaning GPS fixes into patrol tracks (``beatbook tracks build``, the demo): fixes
    # less accurate or further than a believable move from the last kept one are
    # dropped, and a silence longer than the gap ends a track.
    track_max_accuracy_m: float = Field(50.0, gt=0)
    track_max_speed_mps: float = Field(15.0, gt=0)
    track_max_gap_s: float = Field(300.0, gt=0)

    # The Dask scheduler the batch analyses (``beatbook coverage``) run on, e.g.
    # tcp://10.0.0.5:8786; none starts a local cluster of worker processes for each run.
    dask_scheduler: str | None = None

    # Months of GPS fixes and of incidents kept before the current month; ``beatbook prune``
    # drops whole months older than that. None or 0 keeps them all.
    gps_fix_retention_months: int | None = Field(None, ge=0)
    incident_retention_months: int | None = Field(None, ge=0)

    host: str = "127.0.0.1"
    port: int = 8000
    # The background the map opens on; without internet it falls back to plain by itself.
    basemap: Literal["plain", "osm", "amap", "tianditu"] = "osm"
    # Tianditu serves its tiles only with a key of one's own (console.tianditu.gov.cn).
    tianditu_key: str | None = None

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, url: str | None) -> str | None:
        if url and not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("DATABASE_URL must be a PostgreSQL URL (postgresql://...)")
        return url

    @model_validator(mode="after")
    def _no_development_keys_in_production(self) -> Settings:
        if self.environment == "production" and self.id_hash_key.startswith("development"):
            raise ValueError("set BEATBOOK_ID_HASH_KEY to a secret of your own in production")
        return self

    @property
    def pg_root(self) -> Path:
        """Where the embedded cluster lives: under ``home``, if its server can reach it there.

        As root, the server runs as the postgres OS user, which cannot enter a project
        inside a private folder (a 0700 temporary folder, say); then the cluster lives
        in the postgres user's own folder, under a name made from the project's path.
        """
        if os.geteuid() == 0 and not _others_may_enter(self.home):
            digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
            return Path("/var/lib/postgresql/beatbook") / digest
        return self.home / "pg"

    @property
    def pg_data(self) -> Path:
        return self.pg_root / "data"

    @property
    def pg_socket_dir(self) -> Path:
        return self.pg_root / "run"

    @property
    def uses_embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def sqlalchemy_url(self) -> str:
        """The URL for SQLAlchemy, with the psycopg 3 driver named."""
        url = self.database_url or embedded_url(self)
        for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix):]
        return url

    @property
    def libpq_url(self) -> str:
        """The same URL for psycopg and the PostgreSQL command-line tools."""
        return self.sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _others_may_enter(folder: Path) -> bool:
    """Whether every existing folder on the way to ``folder`` lets other users through."""
    for part in (folder.resolve(), *folder.resolve().parents):
        if part.exists() and not part.stat().st_mode & stat.S_IXOTH:
            return False
    return True


def embedded_url(settings: Settings) -> str:
    return f"postgresql://beatbook@/beatbook?host={settings.pg_socket_dir}&port={settings.pg_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
