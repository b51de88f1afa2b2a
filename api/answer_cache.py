"""Answers many users ask alike, kept in the server process while the data is unchanged.

Fifty officers opening the tonight view of their beats ask for the same nights, the same
gap analysis and the same map tiles; each costs the server from milliseconds (a tile) to a
second (the gaps of a week of patrols), the same work every time. So the routes that
answer them keep what they sent, under what was asked (path and query), by which role and
on which day, and hand it out again while the data's generation (``db/generation.py``) is
the one it was made in: a committed write from any process, an import from the command
line included, retires every kept answer at once. The generation is read as the request's
transaction starts (``api.deps.take_on_user``), before its dependencies read any data.

Only answers made without rows that row-level security filters are kept: those are the
same for every user of a role. Concurrent askers of one answer wait for the first rather
than make it again (a cold cache under 50 users would otherwise compute each analysis 50
times at once). An answer is kept only if the generation was the same after it was made as
before: in READ COMMITTED each statement sees the latest commits, so a write committed
meanwhile may be half in it.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Mapping
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
# Answers are gzipped for clients that take it. Level 1 keeps nearly all of gzip's saving (a
# 456 kB z14 tile of buildings becomes 140 kB, 128 kB at the default level) at a third of the
# time of the default, which counts when nothing is kept.
GZIP_LEVEL = 1
GZIP_FROM_BYTES = 1024


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

    def answer(self, conn: Connection, key: tuple, generation: int, make: Callable[[], Kept]) -> Kept:
        """The answer kept for ``key`` at ``generation`` (read before ``conn`` read any data),
        else the one ``make`` gives, kept if the generation still stands once it is made."""
        if self._kept is None:
            return make()
        key = (key, generation)
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


def encoded(body: bytes, media_type: str, headers: Mapping[str, str], gzipped: bool) -> Kept:
    """The answer as sent: gzipped if the client takes it and it is worth it."""
    vary = ", ".join(dict.fromkeys([*filter(None, [headers.get("Vary")]), "Accept-Encoding"]))
    if gzipped and len(body) >= GZIP_FROM_BYTES:
        return Kept(gzip.compress(body, compresslevel=GZIP_LEVEL), media_type,
                    {**headers, "Vary": vary, "Content-Encoding": "gzip"})
    return Kept(body, media_type, {**headers, "Vary": vary})


class KeptAnswers:
    """The request's way to the cache: what was asked, by which role, today, in which encoding."""

    def __init__(self, request: Request, db: Connection) -> None:
        self._cache: AnswerCache = request.app.state.answers
        self._db = db
        self._generation: int = request.state.generation
        user = request.state.user
        self._gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
        self._asked = (request.url.path, tuple(sorted(request.query_params.multi_items())),
                       user and user.role, date.today(), self._gzipped)

    def content(self, make: Callable[[], bytes], media_type: str, headers: Mapping[str, str] = {}) -> Response:
        """The body ``make`` gives, or the one kept for the same question."""
        return self._cache.answer(self._db, self._asked, self._generation,
                                  lambda: encoded(make(), media_type, headers, self._gzipped)).response()

    def json(self, make: Callable[[], object]) -> Response:
        """``make``'s answer as JSON, kept; as FastAPI sends a dict, NaN and infinities as null."""
        return self.content(lambda: pydantic_core.to_json(make(), inf_nan_mode="null"), "application/json")


async def kept_answers(request: Request, db: DbDep) -> KeptAnswers:
    return KeptAnswers(request, db)


KeptDep = Annotated[KeptAnswers, Depends(kept_answers)]
