import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from app import health
from app.accounts.errors import install_auth_error_handlers
from app.accounts.gate import UNLIMITED, Admission, Gate, KeyCache, Limits
from app.accounts.ratelimit import RateTable
from app.accounts.router import me_router
from app.accounts.router import router as accounts_router
from app.alerts.router import ALERTS_PATH
from app.alerts.router import router as alerts_router
from app.alerts.stream import AlertHub, StreamCounts, conninfo
from app.campaigns.router import router as campaigns_router
from app.code_forms.router import router as code_forms_router
from app.config import Settings
from app.core import openapi
from app.core.compression import Compression
from app.core.cors import Cors
from app.core.errors import Problem, install_error_handlers
from app.core.fastpath import FastPath
from app.core.i18n import Localize
from app.core.jsonbody import JsonDepthLimit
from app.core.middleware import BodySizeLimit, CacheHeaders, HeadAsGet
from app.core.schemas import no_nul_in_parameters, no_unknown_query_parameters
from app.db import partitions
from app.db.replicas import Reads, replica
from app.db.session import DB_OVERFLOW, make_engine, make_read_engine, make_sessionmaker
from app.divisions.router import router as divisions_router
from app.exports.router import router as exports_router
from app.facilities.history import router as history_router
from app.facilities.router import router as facilities_router
from app.facilities.schemas import FacilityFeature, FacilityFeatureCollection
from app.holidays.router import router as holidays_router
from app.home import router as home
from app.imports.router import IMPORTS_PATH, imports_router
from app.maintenance.notices import sweep_overdue
from app.maintenance.router import router as maintenance_router
from app.media.router import PHOTO_PATH
from app.media.router import router as media_router
from app.nearby.router import FAST_ROUTES as NEARBY_FAST_ROUTES
from app.nearby.router import router as nearby_router
from app.ogc.router import router as ogc_router
from app.ogc.tiles.router import FAST_ROUTES as TILE_FAST_ROUTES
from app.ogc.tiles.router import router as tiles_router
from app.pages.router import install_pages
from app.parking.notices import sweep_stale
from app.parking.router import FAST_ROUTES as PARKING_FAST_ROUTES
from app.parking.router import nearby_router as nearby_parking_router
from app.parking.router import router as parking_router
from app.planning.router import POPULATION_PATH
from app.planning.router import router as planning_router
from app.reports.router import router as reports_router
from app.shelters.router import router as shelters_router
from app.signage.router import router as signage_router
from app.stats.router import router as stats_router
from app.uses.router import router as uses_router
from app.webhooks.router import router as webhooks_router
from app.webhooks.worker import worker as webhook_worker

DESCRIPTION = """
Registry of civil air defense works (人防工程) and their peacetime uses.
Geometry is GeoJSON in WGS 84 longitude/latitude, unless `coordsys` asks for CGCS2000,
GCJ-02 (Amap, Tencent) or BD-09 (Baidu); `Content-Crs` names the system of an answer.
An unknown query parameter is a 400. Errors are RFC 9457 problem details.
"""


class Registry(FastAPI):
    """The API: FastAPI behind the fast path (core.fastpath), which answers the requests it
    can before any of the framework's layers (its error handling, its body limit) and
    hands it the others. Those layers cost a cheap answer several microseconds, and the
    fast path needs none of them: it reads no body and renders no error (it leaves any
    request it cannot answer, or fails on, to the framework)."""

    fast_path: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # as Starlette sets it, for the fast path's handlers
        await self.fast_path(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    rate_table: Any = None,
    stream_counts: StreamCounts | None = None,
) -> FastAPI:
    """`rate_table`: the buffer of rate-limit buckets this app shares with the other
    workers of its host, `stream_counts` the alert streams each client holds on them
    (app.serving); private ones when None."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine, read_engine = make_engine(settings), make_read_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.reads = Reads(
            make_sessionmaker(read_engine),
            [replica(settings, url) for url in settings.replica_sqlalchemy_urls],
        )
        watching = asyncio.create_task(app.state.reads.watch(settings))
        keeping = asyncio.create_task(partitions.keeper(engine, settings))
        # The domains hand the worker their time-driven sweeps; it imports none of them.
        sweeps = (
            sweep_overdue,
            partial(sweep_stale, stale_after_s=settings.occupancy_stale_after_s),
        )
        delivering = asyncio.create_task(webhook_worker(app.state.sessionmaker, settings, sweeps))
        # The quarter million objects of a started app (modules, routes, models, SQL
        # expressions) live as long as the process. A full collection walked them all,
        # 60-300 ms with every request stalled, a few times a minute under load; frozen,
        # collections walk only what requests create.
        gc.collect()
        gc.freeze()
        yield
        watching.cancel()
        keeping.cancel()
        delivering.cancel()
        await app.state.alert_hub.stop()
        app.state.reads.dispose()
        engine.dispose()
        read_engine.dispose()

    app = Registry(
        title="Civil air defense registry",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(no_nul_in_parameters), Depends(no_unknown_query_parameters)],
        generate_unique_id_function=openapi.operation_id,
        # Served by app.home from the package's own assets instead of a CDN.
        docs_url=None,
        redoc_url=None,
        # FastAPI otherwise asks OpenTelemetry on every request whether it is set up (18 µs,
        # a tenth of a cached tile's CPU); the registry exports no telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # hot reads (nearby, OGC items, tiles) at once: db.session.hot_read
    app.state.read_gate = asyncio.Semaphore(settings.read_pool_size)
    # requests using the primary's pool at once: db.session.admitted
    app.state.primary_gate = asyncio.Semaphore(settings.db_pool_size + DB_OVERFLOW)
    app.state.migration_head = health.migration_head(settings)
    # Alert changes for this process's SSE streams: listens from the first stream on.
    app.state.alert_hub = AlertHub(
        conninfo(settings.sqlalchemy_url),
        max_streams=settings.alert_streams_per_worker,
        per_client=settings.alert_streams_per_client,
        counts=stream_counts,
        coming=lambda: _coming_alert_changes(app),
    )
    install_error_handlers(app)
    install_auth_error_handlers(app)
    app.add_middleware(JsonDepthLimit, max_bytes=settings.max_body_bytes)
    # A JSON body never needs a megabyte; a phone photo takes several, and a registry's
    # worth of GeoJSON gigabytes.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        by_path={
            PHOTO_PATH: settings.media_max_bytes,
            IMPORTS_PATH: settings.max_import_bytes,
            POPULATION_PATH: settings.max_population_bytes,
            ALERTS_PATH: settings.max_alert_bytes,
        },
    )
    # Middlewares run in the reverse of the order they are added in: the edge (CORS,
    # HEAD, the gate), then cache headers and compression for the answers FastAPI makes.
    # Before all of them, and before the framework's own layers, the fast path takes the
    # answers that are bytes already, applying the edge's rules itself (Registry).
    app.add_middleware(Compression)
    app.add_middleware(
        CacheHeaders, max_age_s=settings.cache_max_age_s, stale_s=settings.cache_stale_s
    )
    # The caller is known and charged before a body is read, and before any answer.
    admission = Admission(
        RateTable(rate_table), Limits.of(settings), KeyCache(settings.key_cache_s)
    )
    app.state.keys = admission.keys
    app.add_middleware(Gate, admission=admission)
    # Every problem answer, the gate's too, in the caller's language.
    app.add_middleware(Localize, default=settings.default_language)
    app.add_middleware(HeadAsGet)
    # So that the gate's refusals (401, 429) reach the page that asked.
    app.add_middleware(Cors, origins=settings.cors_origins)
    app.fast_path = FastPath(
        partial(FastAPI.__call__, app),
        routes=[*TILE_FAST_ROUTES, *PARKING_FAST_ROUTES, *NEARBY_FAST_ROUTES, *health.FAST_ROUTES],
        admit=admission.fast,
        cors_origins=settings.cors_origins,
    )
    # Requests are matched against the routes in this order, one by one: the hot read
    # paths come first, the cheapest answers (cached tiles, 10 % of their CPU) first of
    # all. No two routers share a path.
    app.include_router(tiles_router)
    # The car park search, the busiest nearby search, before the others.
    app.include_router(nearby_parking_router)
    app.include_router(nearby_router)
    app.include_router(shelters_router)
    app.include_router(ogc_router)
    app.include_router(health.router)
    app.include_router(facilities_router)
    app.include_router(divisions_router)
    app.include_router(accounts_router)
    app.include_router(me_router)
    app.include_router(history_router)
    app.include_router(signage_router)
    app.include_router(maintenance_router)
    app.include_router(reports_router)
    app.include_router(media_router)
    app.include_router(uses_router)
    app.include_router(parking_router)
    app.include_router(exports_router)
    app.include_router(imports_router)
    app.include_router(stats_router)
    app.include_router(planning_router)
    app.include_router(campaigns_router)
    app.include_router(holidays_router)
    app.include_router(code_forms_router)
    app.include_router(alerts_router)
    app.include_router(webhooks_router)
    home.install(app)
    install_pages(app)
    # Bodies described only as a response's other media type (problems, GeoJSON beside JSON).
    openapi.install(
        app, models=(Problem, FacilityFeature, FacilityFeatureCollection), unlimited=UNLIMITED
    )
    return app


def _coming_alert_changes(app: FastAPI) -> list:
    from datetime import UTC, datetime

    from app.alerts import service as alerts

    with app.state.sessionmaker() as session:
        return alerts.coming(session, now=datetime.now(UTC))
