"""At most as many requests at a time as the database has connections for.

FastAPI runs a request's synchronous steps (opening its transaction, the route) on a pool of
40 threads. Were more requests let in than there are connections, the threads could all be
taken by requests waiting for a connection, while the requests holding the connections wait
for a thread to go on: nothing would move until the pool timed out (found by the load test,
bench/load_test.py). Requests wait here instead, on the event loop, before taking a thread.
"""

from __future__ import annotations

import asyncio

# Served from files, without the database.
NO_DATABASE = ("/static/",)


class DatabaseGate:
    """ASGI middleware: ``slots`` requests in at once (the engine's pool size)."""

    def __init__(self, app, slots: int):
        self.app = app
        self.slots = asyncio.Semaphore(slots)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(NO_DATABASE):
            return await self.app(scope, receive, send)
        async with self.slots:
            await self.app(scope, receive, send)
