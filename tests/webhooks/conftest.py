"""A receiving HTTP server on loopback, and an app whose deliveries may go there."""

import base64
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import sessionmaker

from app.config import Settings
from app.db.replicas import Reads
from app.main import create_app
from app.webhooks import delivery


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records each POST; answers `status` with `answer` (and `headers`)."""

    status: int = 204
    answer: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/rf?from=registry"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def loopback_settings(settings: Settings) -> Settings:
    """Loopback receivers allowed (RF_WEBHOOK_ALLOW_PRIVATE), and a pause after 3 failures."""
    return settings.model_copy(update={"webhook_allow_private": True, "webhook_pause_after": 3})


@pytest.fixture
def app(loopback_settings: Settings, engine: Engine, connection: Connection) -> FastAPI:
    """As tests/conftest.py's, with loopback_settings."""
    app = create_app(loopback_settings)
    app.state.sessionmaker = sessionmaker(
        connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app.state.reads = Reads(app.state.sessionmaker)
    return app


@pytest.fixture
def http() -> Iterator:
    with delivery.client(5) as client:
        yield client
