"""The embedded PostgreSQL cluster that Beatbook starts under its own folder.

Used only when ``DATABASE_URL`` is not set. The cluster listens on a unix socket
inside the project folder (no TCP port to clash with) and trusts local
connections, which only users of this machine can reach.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from beatbook.settings import Settings

APT_PACKAGES = ("postgresql-15", "postgresql-15-postgis-3", "postgresql-15-pgrouting")
EXTENSIONS = ("postgis", "pgrouting")  # created by the first migration
DB_NAME = "beatbook"
DB_USER = "beatbook"


class ClusterError(RuntimeError):
    """The embedded cluster cannot be set up or started."""


def pg_bin(settings: Settings) -> Path:
    """The folder of the PostgreSQL server's binaries (BEATBOOK_PG_BIN, else the newest installed)."""
    if settings.pg_bin:
        return settings.pg_bin
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    if not candidates:
        raise ClusterError(
            "PostgreSQL server binaries were not found. On Debian/Ubuntu: "
            f"apt-get install {' '.join(APT_PACKAGES)}; elsewhere install PostgreSQL 15+ "
            "with PostGIS 3 and pgRouting and set BEATBOOK_PG_BIN to its bin folder, "
            "or set DATABASE_URL to a PostGIS database of your own."
        )
    return candidates[0].parent


def _missing_extensions(bin_dir: Path) -> list[str]:
    share = subprocess.run(
        [str(bin_dir / "pg_config"), "--sharedir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return [e for e in EXTENSIONS if not (Path(share) / "extension" / f"{e}.control").exists()]


def ensure_server_packages(settings: Settings, echo=print) -> Path:
    """Install PostgreSQL, PostGIS and pgRouting with apt when they are missing."""
    try:
        bin_dir = pg_bin(settings)
        missing = _missing_extensions(bin_dir)
    except ClusterError:
        missing = list(EXTENSIONS)
    if missing:
        if not shutil.which("apt-get"):
            raise ClusterError(
                f"PostgreSQL extensions missing: {', '.join(missing)}. Install PostgreSQL 15 "
                "with PostGIS 3 and pgRouting, or set DATABASE_URL to your own PostGIS."
            )
        echo(f"Installing {' '.join(APT_PACKAGES)} with apt-get (missing: {', '.join(missing)})")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run([*sudo, "apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *APT_PACKAGES], check=True, env=env)
        bin_dir = pg_bin(settings)
    return bin_dir


def _as_server_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: run them as the postgres OS user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _chown_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def is_running(settings: Settings) -> bool:
    return (settings.pg_socket_dir / f".s.PGSQL.{settings.pg_port}").exists() and _pg_ctl(
        settings, "status", check=False
    ).returncode == 0


def _pg_ctl(settings: Settings, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    cmd = _as_server_user([str(pg_bin(settings) / "pg_ctl"), "-D", str(settings.pg_data), *args])
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def init_cluster(settings: Settings, echo=print) -> None:
    bin_dir = ensure_server_packages(settings, echo)
    if (settings.pg_data / "PG_VERSION").exists():
        return
    echo(f"Creating the embedded PostGIS cluster in {settings.pg_data}")
    for folder in (settings.pg_data, settings.pg_socket_dir):
        folder.mkdir(parents=True, exist_ok=True)
    for folder in (settings.pg_root, settings.pg_data, settings.pg_socket_dir):
        _chown_to_server_user(folder)
    settings.pg_data.chmod(0o700)
    subprocess.run(
        _as_server_user([
            str(bin_dir / "initdb"), "-D", str(settings.pg_data), "-U", DB_USER,
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
        ]),
        capture_output=True, text=True, check=True,
    )
    with open(settings.pg_data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# Beatbook: unix socket only, inside the project folder\n"
            "listen_addresses = ''\n"
            f"unix_socket_directories = '{settings.pg_socket_dir}'\n"
            f"port = {settings.pg_port}\n"
            "fsync = on\n"
            "shared_buffers = 256MB\n"
            "work_mem = 32MB\n"
            "maintenance_work_mem = 256MB\n"
            "max_connections = 100\n"
            "jit = off\n"
        )


def start(settings: Settings, echo=print) -> str:
    """Create (first time) and start the cluster; return its URL."""
    init_cluster(settings, echo)
    if not is_running(settings):
        log = settings.pg_root / "server.log"
        result = _pg_ctl(settings, "-l", str(log), "-w", "-t", "60", "start", check=False)
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else result.stderr
            raise ClusterError(f"PostgreSQL did not start:\n{tail}")
    _ensure_database(settings)
    return settings.libpq_url


def stop(settings: Settings) -> bool:
    if not is_running(settings):
        return False
    _pg_ctl(settings, "-w", "-m", "fast", "stop")
    return True


def _ensure_database(settings: Settings) -> None:
    admin = f"host={settings.pg_socket_dir} port={settings.pg_port} user={DB_USER} dbname=postgres"
    for _ in range(50):
        try:
            conn = psycopg.connect(admin, autocommit=True)
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    else:
        raise ClusterError("the embedded cluster started but accepts no connections")
    with conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')

