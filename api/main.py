"""The FastAPI application: wiring only."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

from api.answer_cache import AnswerCache
from api.errors import add_error_handlers
from api.gate import DatabaseGate
from api.routers import (
    analysis,
    audit,
    auth,
    beats,
    disputes,
    education,
    incidents,
    inspections,
    layers,
    ogc,
    plan,
    population,
    service,
    tiles,
    users,
)
from beatbook.settings import Settings, get_settings
from db.engine import get_engine
from web.routes import STATIC_DIR
from web.routes import router as web_router


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = engine or get_engine(settings.sqlalchemy_url, settings.db_connections)
        yield
        if engine is None:
            app.state.engine.dispose()

    app = FastAPI(title="Beatbook", version="0.1.0", lifespan=lifespan,
                  description="Community beats on a map: PostGIS behind, Leaflet in front.")
    app.state.settings = settings
    app.state.answers = AnswerCache(settings.answer_cache_mb * 2**20)
    add_error_handlers(app)
    app.add_middleware(DatabaseGate, slots=settings.db_connections)
    for router in (auth.router, beats.router, layers.router, analysis.router, incidents.router,
                   plan.router, population.router, disputes.router, inspections.router, education.router,
                   service.router, audit.router, users.router, ogc.router, tiles.router, web_router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
