import psycopg
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.config import Settings
from app.core.errors import RETRY_SHORTLY, problem_response, problem_responses
from app.core.fastpath import FastRoute
from app.db.session import hot_read

router = APIRouter(tags=["health"])
# A probe's answer is now, never a cache's.
NO_STORE = {"Cache-Control": "no-store"}
NOT_READY = {**NO_STORE, **RETRY_SHORTLY}
# The liveness answer is the same for every caller: kept by app.core.fastpath.
FAST_ROUTES = [FastRoute("/healthz")]


def _revision(connection: psycopg.Connection) -> str | None:
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return row and row[0]


def migration_head(settings: Settings) -> str | None:
    return ScriptDirectory.from_config(Config(str(settings.alembic_ini))).get_current_head()


@router.get("/healthz", response_model=dict[str, str])
async def healthz() -> JSONResponse:
    """The process is up."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz", responses=problem_responses(503))
async def readyz(request: Request) -> JSONResponse:
    """The database answers and its schema is at the migration head; with replicas, how
    far behind each is and whether it takes hot reads."""
    # On the primary's connection kept for the event loop, not in the queue of requests
    # for the pool (db.session.admitted): a process busy with a burst, as on the day of an
    # alert, still answers its probe at once instead of after the burst, and is not taken
    # out of service for being busy.
    head = request.app.state.migration_head
    try:
        current = await hot_read(request.app.state, _revision, inline=True, raw=True, primary=True)
    except SQLAlchemyError as exc:
        return problem_response(
            503, detail=f"database unreachable: {type(exc).__name__}", headers=NOT_READY
        )
    if current != head:
        return problem_response(
            503, detail=f"schema at revision {current}, expected {head}", headers=NOT_READY
        )
    answer = {"status": "ready", "revision": current}
    if request.app.state.reads.replicas:
        answer["replicas"] = request.app.state.reads.describe()
    return JSONResponse(answer, headers=NO_STORE)
