"""The real server (`rf serve`) for tests that speak HTTP over a socket: the public edge
drills, the browser tests and the serving tests share these pieces."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app import demo
from app.accounts import service as accounts
from app.accounts.schemas import ApiKeyCreate
from app.config import Settings
from tests.conftest import free_port, run_migrations

RF = str(Path(sys.executable).parent / "rf")
# A shared machine under load takes a minute or more to start two workers.
STARTUP_S = 300


def wait_for(condition, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def workers(supervisor: int) -> set[int]:
    found = set()
    for pid in Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split():
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.add(int(pid))
        except FileNotFoundError:  # ended since the listing
            continue
    return found


def demo_registry(make_database) -> tuple[str, str]:
    """A committed demo registry and an admin key: (database URL, the key)."""
    url = make_database()
    engine = create_engine(Settings(database_url=url).sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    with engine.connect() as connection:
        demo.load(connection)
        connection.commit()
    with Session(engine) as session:
        admin = accounts.create_key(session, ApiKeyCreate(name="drill", role="admin"), actor="test")
        session.commit()
    engine.dispose()
    return url, admin.secret


def served_registry(make_database) -> tuple[str, str]:
    """The registry ./scripts/serve sets up, made by the same commands: Anhui's division
    boundaries, then the whole demo data set (uses, signs, maintenance, reports,
    population). (database URL, an admin key)"""
    url = make_database()
    engine = create_engine(Settings(database_url=url).sqlalchemy_url)
    with engine.begin() as connection:
        run_migrations(connection)
    environment = {**os.environ, "DATABASE_URL": url}
    for command in (["divisions", "import-cnmaps"], ["demo", "load"]):
        subprocess.run([RF, *command], env=environment, check=True, capture_output=True)
    with Session(engine) as session:
        admin = accounts.create_key(session, ApiKeyCreate(name="drill", role="admin"), actor="test")
        session.commit()
    engine.dispose()
    return url, admin.secret


class Server:
    """`rf serve` with two workers on a free port, until both answer."""

    def __init__(self, database_url: str, env: dict[str, str], tmp: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.import_dir = tmp / "imports"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "WEB_CONCURRENCY": "2",
            "RF_IMPORT_DIR": str(self.import_dir),
            **env,
        }
        self.process = subprocess.Popen([RF, "serve", "--port", str(self.port)], env=environment)

        def started() -> bool:
            assert self.process.poll() is None, "the server exited"
            try:
                return httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(started, "the server did not start", STARTUP_S)
        wait_for(
            lambda: len(workers(self.process.pid)) == 2, "two workers did not start", STARTUP_S
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
