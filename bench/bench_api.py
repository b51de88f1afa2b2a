"""What the benches share: the median of several runs, and an API client logged in as a supervisor."""

from __future__ import annotations

import secrets
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from beatbook.settings import Settings
from db.engine import get_engine


def median_time(run: Callable[[], object], runs: int) -> tuple[float, object]:
    """The median wall time of ``runs`` calls, and the last call's result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


@contextmanager
def supervisor_client(settings: Settings, url: str) -> Iterator[tuple[object, dict]]:
    """A test client of the app on the database at ``url``, and the headers of a supervisor's token."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.security import hash_password
    from db.users import upsert_user

    engine = get_engine(url)
    password = secrets.token_urlsafe(12)
    with engine.begin() as conn:
        upsert_user(conn, username="bench", password_hash=hash_password(password), role="supervisor")
    with TestClient(create_app(settings, engine)) as client:
        token = client.post("/api/auth/token", data={"username": "bench", "password": password}).json()
        yield client, {"Authorization": f"Bearer {token['access_token']}"}
