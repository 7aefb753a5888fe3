from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import health
from app.config import Settings
from app.core.errors import install_error_handlers
from app.core.middleware import BodySizeLimit
from app.db.session import make_engine, make_sessionmaker
from app.divisions.router import router as divisions_router
from app.facilities.router import router as facilities_router

DESCRIPTION = """
Registry of civil air defense works (人防工程) and their peacetime uses.
Geometry is GeoJSON in WGS 84 longitude/latitude. Errors are RFC 9457 problem details.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        yield
        engine.dispose()

    app = FastAPI(
        title="Civil air defense registry",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.migration_head = health.migration_head(settings)
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.include_router(health.router)
    app.include_router(facilities_router)
    app.include_router(divisions_router)
    return app
