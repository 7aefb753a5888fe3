"""Answers sent without the framework.

FastAPI spends 100-250 µs of CPU on the plainest request (routing, dependencies, the
response's encoding), several times what uvicorn spends on it. Some answers need none of
that: a cached tile, a 304 for it, a TileJSON document that is the same for every
caller, a health probe, and the car park and use searches in their common form (made by
the routes' own code: nearby.router.fast_route). `FastPath` stands before the whole app,
the framework's own layers too (main.Registry), and answers these itself, by the same
rules as the middlewares behind it: the gate's admission (`accounts.gate.Admission.fast`:
keys, rate limits), CORS (`CorsPolicy`, whose headers are added once per answer and kind
of caller and kept), HEAD (the GET's headers, no body). A request it does not answer goes
on to the app; one it admitted, and then found no answer for, goes on marked as admitted,
so the gate does not take a second token. Whatever raises while it looks for an answer
leaves the request to the app too, which answers it or renders the error as its own.

- a `FastRoute` with an `answer` handler answers from what the handler finds, or passes
  the request on when it finds nothing (a tile not in the cache) or raises (a search's
  parameter in error: the route explains it);
- a `FastRoute` without one keeps the app's own answer to a GET (status 200, a body in one
  piece) for MEMO_TTL_S seconds, for requests alike in path, query, scheme, host,
  Accept, Accept-Language, negotiated content coding and CORS kind (which tells a keyed
  caller from an anonymous one); a conditional or range request goes to the app, and
  requests alike that come while the app makes the answer wait for it. Such
  routes answer the same to every caller: they are declared so by the package that owns
  them, next to the route.

An answer kept here went through the middlewares behind this one once, so its headers
(Cache-Control, Vary, ETag, Content-Encoding, CORS) are theirs; see
docs/performance.md."""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.compression import negotiate_header
from app.core.cors import CorsPolicy
from app.core.middleware import ADMITTED, has_body

MEMO_TTL_S = 1.0
MEMO_ENTRIES = 256
CONDITIONAL = (b"if-none-match", b"if-match", b"if-modified-since", b"range")
# CORS kinds of an answer kept with it: public, unlisted, and a few listed origins (as
# sent: differently cased spellings of one origin must not grow it without bound)
KINDS_KEPT = 8
EMPTY_BODY: Message = {"type": "http.response.body", "body": b""}

Headers = dict[bytes, bytes]
# The gate's decision for a request the fast path may answer (accounts.gate.Admission.fast):
# the caller, its token taken, or None to leave the decision to the gate.
Admit = Callable[[Scope, bytes | None], object | None]


@dataclass(frozen=True, slots=True)
class Ready:
    """An answer as the two ASGI messages that send it, and its start message as sent to
    each CORS kind of caller, made on first use."""

    start: Message
    body: Message
    starts: dict = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> "Ready":
        if status not in (204, 304):
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        return cls(
            {"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": body},
        )

    async def send(self, send: Send) -> None:
        await send(self.start)
        await send(self.body)

    def start_for(self, kind: str | bytes, cors: CorsPolicy) -> Message:
        start = self.starts.get(kind)
        if start is None:
            headers = list(self.start["headers"])
            cors.add(headers, kind)
            start = {**self.start, "headers": headers}
            if len(self.starts) < KINDS_KEPT:
                self.starts[kind] = start
        return start


Handler = Callable[[Scope, re.Match[str], Headers], Awaitable[Ready | None]]


class FastRoute(NamedTuple):
    pattern: str  # a regular expression the whole path must match
    answer: Handler | None = None  # None: keep the app's answer for MEMO_TTL_S


class FastPath:
    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[FastRoute],
        admit: Admit,
        cors_origins: list[str],
    ) -> None:
        self.app = app
        self.routes = [(re.compile(route.pattern), route.answer) for route in routes]
        # the whole set as one expression: most requests are told "not here" at one match
        self.any = re.compile("|".join(f"(?:{route.pattern})" for route in routes))
        self.admit = admit
        self.cors = CorsPolicy(cors_origins)
        self.memo: dict[tuple, tuple[float, Message, Message]] = {}
        self.filling: dict[tuple, asyncio.Future[None]] = {}  # answers the app is making

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        method = scope["method"]
        if (method != "GET" and method != "HEAD") or self.any.fullmatch(scope["path"]) is None:
            return await self.app(scope, receive, send)
        try:
            found = await self._found(scope)
        except Exception:  # noqa: BLE001
            # This stands before the framework's error handling: the app answers instead,
            # and renders the error as every route's (a database away: 503) or as its
            # last resort. A read past its bound is not made again (db.session.TIMED_OUT).
            found = None
        if found is None:
            return await self.app(scope, receive, send)
        start, body, key = found
        if start is None:  # nothing kept under `key` yet
            return await self._keep(scope, receive, send, key)
        await send(start)
        await send(body if method == "GET" else EMPTY_BODY)

    async def _found(self, scope: Scope) -> tuple[Message | None, Message, tuple] | None:
        """The answer's two messages; or no start message and the key to keep the app's
        answer under; or None, for the app to answer."""
        raw = scope["headers"]
        headers = dict(raw)
        # A header sent twice (two keys, say) is for the middlewares behind to judge, and
        # a body for the app to read or refuse (BodySizeLimit), never left unread.
        if len(headers) != len(raw) or has_body(headers):
            return None
        authorization = headers.get(b"authorization")
        principal = self.admit(scope, authorization)
        if principal is None:
            return None
        scope[ADMITTED] = principal
        kind = self.cors.kind(scope["method"], headers.get(b"origin"), authorization is not None)
        for pattern, answer in self.routes:
            match = pattern.fullmatch(scope["path"])
            if match is None:
                continue
            if answer is None:
                return self._kept(scope, headers, kind)
            ready = await answer(scope, match, headers)
            if ready is None:
                return None
            return ready.start_for(kind, self.cors), ready.body, ()
        return None

    def _kept(
        self, scope: Scope, headers: Headers, kind: str | bytes
    ) -> tuple[Message | None, Message, tuple] | None:
        if any(name in headers for name in CONDITIONAL):
            return None
        coding = headers.get(b"accept-encoding")
        key = (
            scope["path"],
            scope["query_string"],
            scope["scheme"],
            scope.get("root_path", ""),
            headers.get(b"host"),
            headers.get(b"accept"),
            headers.get(b"accept-language"),
            None if coding is None else negotiate_header(coding),
            kind,
        )
        found = self.memo.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1], found[2], key
        if scope["method"] != "GET":
            return None
        return None, EMPTY_BODY, key

    async def _keep(self, scope: Scope, receive: Receive, send: Send, key: tuple) -> None:
        """The app's answer, sent, and kept under `key` for MEMO_TTL_S when it is whole.
        Requests alike that come while the app answers the first wait for its answer:
        each going to the app, every request in flight when a kept answer expires would
        be answered by the framework at once."""
        loop = asyncio.get_running_loop()
        filling = self.filling.get(key)
        if filling is not None and not filling.done() and filling.get_loop() is loop:
            await asyncio.shield(filling)  # a waiter leaving does not stop the others
            found = self.memo.get(key)
            if found is not None and found[0] > time.monotonic():
                await send(found[1])
                return await send(found[2])
            return await self.app(scope, receive, send)  # the first answer was not kept
        filling = self.filling[key] = loop.create_future()
        try:
            await self._record(scope, receive, send, key)
        finally:
            filling.set_result(None)
            if self.filling.get(key) is filling:
                del self.filling[key]

    async def _record(self, scope: Scope, receive: Receive, send: Send, key: tuple) -> None:
        expires = time.monotonic() + MEMO_TTL_S
        start: Message | None = None
        pieces: list[Message] = []

        async def recording(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                pieces.append(message)
            await send(message)

        await self.app(scope, receive, recording)
        if start is not None and start["status"] == 200 and len(pieces) == 1:
            if len(self.memo) >= MEMO_ENTRIES:
                self.memo.clear()  # many hosts or queries: keep what is asked now
            self.memo[key] = (expires, start, pieces[0])
