"""Every request's first stop: who calls, and whether they may call again now.

The caller is known from the headers alone, before any body is read: a request with an
`Authorization` header is a key's or a 401, on every route, and never passes as anonymous.
Then the request takes a token from a bucket chosen by who calls and what the request
costs (its traffic class):

    map       tiles, TileJSON, tile matrix sets: a map screen asks for dozens at once
    features  OGC items pages: GDAL 3.6 copies a collection ten features a request
    read      every other GET or HEAD
    export    /v1/export: whole areas in one answer; a campaign's evaluation and the
              survey workbook, which rebuild figures over whole divisions
    stream    /v1/alerts/stream: each request holds a connection open (SSE)
    write     anything else: problem reports and photos without a key

Anonymous callers have a bucket per class and client address. A key has its quota (its
own, or the setting's) over every class, except that an `app` key relaying residents'
problem reports takes them from a bucket of its own, per key instead of per address.

The client address is the connection's peer: forwarding headers are believed by the
server (uvicorn) for the proxies listed in RF_TRUSTED_PROXIES only (app/serving.py)."""

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import anyio
from sqlalchemy.exc import InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.accounts import service
from app.accounts.errors import Unauthenticated
from app.accounts.models import Role
from app.accounts.principal import ANONYMOUS, Principal
from app.accounts.ratelimit import Limit, RateTable
from app.config import Settings
from app.core.errors import BadRequest, database_unavailable, problem_response
from app.core.middleware import ADMITTED, client_address, closing
from app.db.session import FROM_PRIMARY, admitted

log = logging.getLogger(__name__)

# Probes must always answer, or an orchestrator restarts a healthy process.
UNLIMITED = frozenset({"/healthz", "/readyz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_KEYS = 10_000  # keys remembered at once: past that the memory starts over
Entry = tuple[Principal, float]  # a key's principal, and when its entry expires (monotonic)
# An Authorization header as clients send it: "Bearer " and a key's 46 characters. One
# longer (padded with spaces) is found by the key's hash instead, not remembered as sent:
# else a key's holder could fill the memory with spellings of it, 16 KB each.
HEADER_KEPT_BYTES = 64
STREAM_PATH = "/v1/alerts/stream"
# Seconds of database work an answer, as an export: an anonymous address asks as rarely.
EXPORT_PATHS = re.compile(r"/v1/(export|campaigns/[^/]+|stats/survey)")


def traffic_class(method: str, path: str) -> str:
    if method not in SAFE_METHODS:
        return "write"
    if path.startswith("/ogc/"):
        if "/tiles" in path or "/tileMatrixSets" in path:
            return "map"
        if "/items" in path:
            return "features"
    if EXPORT_PATHS.fullmatch(path):
        return "export"
    if path == STREAM_PATH:
        return "stream"
    return "read"


@dataclass(frozen=True)
class Limits:
    anonymous: dict[str, Limit]
    key: Limit
    app_reports: Limit
    failed_keys: Limit
    # Not a limit: a bucket of one token, drained by each write, that refills when the
    # caller's reads may go to replicas again (db.replicas, read your writes).
    wrote: Limit | None

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        s = settings
        return cls(
            anonymous={
                "map": Limit("map", s.map_rate_per_minute, s.map_burst),
                "features": Limit("features", s.features_rate_per_minute, s.features_burst),
                "read": Limit("read", s.read_rate_per_minute, s.read_burst),
                "export": Limit("export", s.export_rate_per_minute, s.export_burst),
                "stream": Limit("stream", s.stream_rate_per_minute, s.stream_burst),
                "write": Limit("write", s.report_rate_per_hour / 60, s.report_burst),
            },
            key=Limit("key", s.key_rate_per_minute, s.key_burst),
            app_reports=Limit("reports", s.app_report_rate_per_hour / 60, s.app_report_burst),
            # Guessing keys is as limited as anonymous reading.
            failed_keys=Limit("read", s.read_rate_per_minute, s.read_burst),
            wrote=Limit("wrote", 60 / s.read_your_writes_s, 1) if s.database_replica_urls else None,
        )

    def bucket(self, principal: Principal, traffic: str, address: str) -> tuple[str, Limit]:
        if principal.anonymous:
            return f"{traffic} {address}", self.anonymous[traffic]
        if principal.role == Role.app and traffic == "write":
            return f"reports key:{principal.key_id}", self.app_reports
        quota = self.key
        if principal.rate_per_minute is not None:
            quota = Limit("key", principal.rate_per_minute, max(1, principal.rate_per_minute // 3))
        return f"key:{principal.key_id}", quota


class KeyCache:
    """Principals of recently seen keys, by the key's hash, for `ttl_s` seconds: a keyed
    request costs no database round trip. A key revoked here is forgotten at once; a key
    revoked elsewhere (another worker, `rf keys revoke`) stops working within `ttl_s`.
    The same entries are found by the Authorization header as sent (`by_header`), for the
    fast path: a dictionary lookup, no parsing or hashing.

    The requests of one key that miss the cache at once (every one in flight when a busy
    key's entry expires) share one read of the key: each making its own, dozens of reads
    on worker threads at once held up the whole process for tens of milliseconds."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._known: dict[str, Entry] = {}
        self._headers: dict[bytes, Entry] = {}
        self._reading: dict[str, asyncio.Task[Entry | None]] = {}
        # Counts forget_all: a read begun before one may have found a key since revoked.
        self._generation = 0

    def by_header(self, header: bytes) -> Principal | None:
        found = self._headers.get(header)
        return found[0] if found is not None and found[1] > time.monotonic() else None

    def known(self, secret: str, header: bytes) -> Principal | None:
        found = self._known.get(service.hash_key(secret))
        if found is None or found[1] <= time.monotonic():
            return None
        self._by(header, found)
        return found[0]

    async def look_up(self, app: ASGIApp, secret: str, header: bytes) -> Principal | None:
        key_hash = service.hash_key(secret)
        reading = self._reading.get(key_hash)
        # a read done (its result perhaps older than a revocation) is never taken again,
        # nor one of another event loop (a test's other client)
        if (
            reading is None
            or reading.done()
            or reading.get_loop() is not asyncio.get_running_loop()
        ):
            reading = self._reading[key_hash] = asyncio.create_task(self._read(app, key_hash))
            reading.add_done_callback(_retrieved)
        try:
            entry = await asyncio.shield(reading)  # a caller leaving does not end the read
        finally:
            if reading.done() and self._reading.get(key_hash) is reading:
                del self._reading[key_hash]
        if entry is None:
            return None
        if self._known.get(key_hash) is entry:  # not a read older than a forget_all
            self._by(header, entry)
        return entry[0]

    async def _read(self, app: ASGIApp, key_hash: str) -> Entry | None:
        generation = self._generation
        async with admitted(app.state):  # type: ignore[attr-defined]
            principal = await anyio.to_thread.run_sync(_authenticate, app, key_hash)
        if principal is None:
            self._known.pop(key_hash, None)
            return None
        if generation != self._generation:
            # Its callers asked before the revocation and are answered as then; the
            # entry is not kept, or a key revoked here would work for ttl_s more.
            return principal, time.monotonic() + self.ttl_s
        if len(self._known) > MAX_KEYS:
            self._known.clear()
        entry = self._known[key_hash] = (principal, time.monotonic() + self.ttl_s)
        return entry

    def _by(self, header: bytes, entry: Entry) -> None:
        # expires with the key's own entry, so a revoked key is refused as soon
        if len(header) > HEADER_KEPT_BYTES:
            return
        if len(self._headers) > MAX_KEYS:
            self._headers.clear()
        self._headers[header] = entry

    def forget_all(self) -> None:
        self._generation += 1
        self._known.clear()
        self._headers.clear()
        self._reading.clear()  # a look-up from now on makes a read of its own


def _retrieved(read: asyncio.Task) -> None:
    # Every caller may have left before a read failed: its error is theirs, not a log line.
    if not read.cancelled():
        read.exception()


def _authenticate(app: ASGIApp, key_hash: str) -> Principal | None:
    with app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        return service.authenticate_hash(session, key_hash)


def _bearer_secret(header: bytes) -> str | None:
    scheme, _, secret = header.decode("latin-1").strip().partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


@dataclass(frozen=True)
class Admission:
    """The gate's state, shared by the gate and the fast path (app.core.fastpath)."""

    table: RateTable
    limits: Limits
    keys: KeyCache

    def fast(self, scope: Scope, authorization: bytes | None) -> Principal | None:
        """The caller of a GET the fast path may answer, its token taken, by the gate's
        rules; None when the gate decides, nothing taken: a key not in the cache (or not
        a key at all: a 401), a caller who just wrote (read from the primary), or an empty
        bucket. There the gate takes from the same empty bucket and refuses with its 429;
        at worst, a bucket refilled to a whole token in the microseconds between the two
        grants the request a moment early."""
        path = scope["path"]
        if path in UNLIMITED:
            return ANONYMOUS
        principal = ANONYMOUS if authorization is None else self.keys.by_header(authorization)
        if principal is None:
            return None
        address = client_address(scope)
        limits = self.limits
        if limits.wrote is not None and self.table.empty(_writer(principal, address), limits.wrote):
            return None
        bucket, limit = limits.bucket(principal, traffic_class("GET", path), address)
        return None if self.table.take(bucket, limit) else principal


def _writer(principal: Principal, address: str) -> str:
    return f"wrote {address if principal.anonymous else principal.key_id}"


class Gate:
    def __init__(self, app: ASGIApp, *, admission: Admission) -> None:
        self.app = app
        self.table, self.limits, self.keys = admission.table, admission.limits, admission.keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED:
            return await self.app(scope, receive, send)
        admitted = scope.get(ADMITTED)
        if admitted is not None:
            # admitted by the fast path, which then found no answer of its own
            scope.setdefault("state", {})["principal"] = admitted
            return await self.app(scope, receive, send)
        authorizations = [v for k, v in scope["headers"] if k == b"authorization"]
        address = client_address(scope)
        principal = ANONYMOUS
        if len(authorizations) > 1:
            # A proxy reading the last one would see another caller than we do.
            response = problem_response(
                400,
                type_=BadRequest.type,
                detail="send one Authorization header, not several",
                instance=scope["path"],
            )
            return await closing(response, scope)(scope, receive, send)
        if authorizations:
            secret = _bearer_secret(authorizations[0])
            found = None if secret is None else self.keys.known(secret, authorizations[0])
            failed = f"failed-key {address}"
            if found is None:
                # An address out of guesses waits before its next key costs a database read.
                if self.table.empty(failed, self.limits.failed_keys):
                    wait = self.table.take(failed, self.limits.failed_keys)
                    return await _refuse(
                        self.limits.failed_keys,
                        wait,
                        "too many failed authentications",
                        scope,
                        receive,
                        send,
                    )
                if secret is not None:
                    try:
                        found = await self.keys.look_up(scope["app"], secret, authorizations[0])
                    except (OperationalError, InternalError, PoolTimeout) as exc:
                        log.warning("database unavailable looking up a key: %s", exc)
                        response = database_unavailable(scope["path"])
                        return await closing(response, scope)(scope, receive, send)
            if found is None:
                self.table.take(failed, self.limits.failed_keys)
                response = problem_response(
                    Unauthenticated.status,
                    type_=Unauthenticated.type,
                    title=Unauthenticated.title,
                    detail="the Authorization header must be 'Bearer <a valid, unrevoked key>'",
                    instance=scope["path"],
                    headers={"WWW-Authenticate": 'Bearer realm="rf"'},
                )
                return await closing(response, scope)(scope, receive, send)
            principal = found
        traffic = traffic_class(scope["method"], scope["path"])
        bucket, limit = self.limits.bucket(principal, traffic, address)
        wait = self.table.take(bucket, limit)
        if wait:
            who = "this address" if principal.anonymous else "this key"
            return await _refuse(
                limit, wait, f"{limit.name} rate exceeded for {who}", scope, receive, send
            )
        scope.setdefault("state", {})["principal"] = principal
        if self.limits.wrote is None:
            return await self.app(scope, receive, send)
        writer = _writer(principal, address)
        if traffic == "write":
            return await self.app(scope, receive, _marking(send, self.table, writer))
        if not self.table.empty(writer, self.limits.wrote):
            return await self.app(scope, receive, send)
        token = FROM_PRIMARY.set(True)
        try:
            await self.app(scope, receive, send)
        finally:
            FROM_PRIMARY.reset(token)


def _marking(send: Send, table: RateTable, writer: str) -> Send:
    """Marks `writer` as having written when the answer starts: its write is committed."""

    async def marked(message: Message) -> None:
        if message["type"] == "http.response.start":
            table.drain(writer)
        await send(message)

    return marked


async def _refuse(
    limit: Limit, wait: int, detail: str, scope: Scope, receive: Receive, send: Send
) -> None:
    response = problem_response(
        429,
        type_="/problems/too-many-requests",
        title="Too many requests",
        detail=detail,
        instance=scope["path"],
        headers=limit.refusal_headers(wait),
    )
    await closing(response, scope)(scope, receive, send)
