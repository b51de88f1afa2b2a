"""Answers many users ask alike, kept in the server process while the data is unchanged.

Fifty officers opening the tonight view of their beats ask for the same nights, the same
gap analysis and the same map tiles; each costs the server from milliseconds (a tile) to a
second (the gaps of a week of patrols), the same work every time. So the routes that
answer them keep what they sent, under what was asked (path and query), by which role and
on which day, and hand it out again while the data's generation (``db/generation.py``) is
the one it was made in: a committed write from any process, an import from the command
line included, retires every kept answer at once.

Only answers made without rows that row-level security filters are kept: those are the
same for every user of a role. Concurrent askers of one answer wait for the first rather
than make it again (a cold cache under 50 users would otherwise compute each analysis 50
times at once). An answer is kept only if the generation was the same after it was made as
before: in READ COMMITTED each statement sees the latest commits, so a write committed
meanwhile may be half in it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated

import cachetools
import pydantic_core
from fastapi import Depends, Request, Response
from sqlalchemy import Connection

from api.deps import DbDep
from db.generation import data_generation

# What a kept answer costs beyond its body (the key, the headers, the objects), in bytes.
OVERHEAD = 512


@dataclass(frozen=True)
class Kept:
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)

    def response(self) -> Response:
        return Response(self.body, media_type=self.media_type, headers=self.headers)


class AnswerCache:
    """Least recently used answers up to ``max_bytes`` in all; none kept when 0."""

    def __init__(self, max_bytes: int) -> None:
        self._kept = cachetools.LRUCache(max_bytes, getsizeof=lambda k: len(k.body) + OVERHEAD) \
            if max_bytes else None
        self._lock = threading.Lock()
        self._making: dict[tuple, threading.Lock] = {}

    def answer(self, conn: Connection, key: tuple, make: Callable[[], Kept]) -> Kept:
        if self._kept is None:
            return make()
        key = (key, data_generation(conn))
        with self._lock:
            kept = self._kept.get(key)
            making = self._making.setdefault(key, threading.Lock()) if kept is None else None
        if kept is not None:
            return kept
        try:
            with making:
                with self._lock:
                    kept = self._kept.get(key)
                if kept is None:
                    kept = make()
                    if data_generation(conn) == key[1] and len(kept.body) + OVERHEAD <= self._kept.maxsize:
                        with self._lock:
                            self._kept[key] = kept
        finally:
            with self._lock:
                self._making.pop(key, None)
        return kept


class KeptAnswers:
    """The request's way to the cache: what was asked, by which role, today."""

    def __init__(self, request: Request, db: Connection) -> None:
        self._cache: AnswerCache = request.app.state.answers
        self._db = db
        user = request.state.user
        self._asked = (request.url.path, tuple(sorted(request.query_params.multi_items())),
                       user and user.role, date.today())

    def content(self, make: Callable[[], Kept], *, variant: object = None) -> Response:
        """The answer ``make`` gives, or the one kept for the same question; ``variant`` tells
        apart answers to one question in different forms (gzipped or not)."""
        return self._cache.answer(self._db, (*self._asked, variant), make).response()

    def json(self, make: Callable[[], object]) -> Response:
        """``make``'s answer as JSON, kept; as FastAPI sends a dict, NaN and infinities as null."""
        return self.content(lambda: Kept(pydantic_core.to_json(make(), inf_nan_mode="null"), "application/json"))


def kept_answers(request: Request, db: DbDep) -> KeptAnswers:
    return KeptAnswers(request, db)


KeptDep = Annotated[KeptAnswers, Depends(kept_answers)]
