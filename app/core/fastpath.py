"""Answers that are bytes already, sent without the framework.

FastAPI spends 100-250 µs of CPU on the plainest request (routing, dependencies, the
response's encoding), several times what uvicorn spends on it. Some answers need none of
that: a cached tile, a 304 for it, a TileJSON document that is the same for every
caller, a health probe. `FastPath` sits behind the edge (CORS, HEAD, the gate: the same
authentication, rate limits and CORS rules hold, as for any route) and before the rest
(cache headers, compression, body limits, FastAPI), and answers these itself:

- a `FastRoute` with an `answer` handler answers from what the handler finds, or passes
  the request on when it finds nothing (a tile not in the cache);
- a `FastRoute` without one keeps the app's own answer to a GET (status 200, a body in one
  piece) for MEMO_TTL_S seconds, for requests alike in path, query, scheme, host,
  Accept, Accept-Language, negotiated content coding and whether they carry a key; a conditional or range request
  goes to the app. Such routes answer the same to every caller: they are declared so by
  the package that owns them, next to the route.

An answer kept here went through the middlewares inside this one once, so its headers
(Cache-Control, Vary, ETag, Content-Encoding) are theirs; see docs/performance.md."""

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.compression import negotiate
from app.core.middleware import has_body

MEMO_TTL_S = 1.0
MEMO_ENTRIES = 256
CONDITIONAL = frozenset({b"if-none-match", b"if-match", b"if-modified-since", b"range"})


@dataclass(frozen=True, slots=True)
class Ready:
    """An answer as the two ASGI messages that send it."""

    start: Message
    body: Message

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


Handler = Callable[[Scope, re.Match[str]], Awaitable[Ready | None]]


class FastRoute(NamedTuple):
    pattern: str  # a regular expression the whole path must match
    answer: Handler | None = None  # None: keep the app's answer for MEMO_TTL_S


class FastPath:
    def __init__(self, app: ASGIApp, *, routes: Sequence[FastRoute]) -> None:
        self.app = app
        self.routes = [(re.compile(route.pattern), route.answer) for route in routes]
        # the whole set as one expression: most requests are told "not here" at one match
        self.any = re.compile("|".join(f"(?:{route.pattern})" for route in routes))
        self.memo: dict[tuple, tuple[float, Ready]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or self.any.fullmatch(scope["path"]) is None
            # a body is for the app to read or refuse (BodySizeLimit), never left unread
            or has_body(dict(scope["headers"]))
        ):
            return await self.app(scope, receive, send)
        for pattern, answer in self.routes:
            match = pattern.fullmatch(scope["path"])
            if match is None:
                continue
            if answer is not None:
                ready = await answer(scope, match)
                if ready is None:
                    break
                return await ready.send(send)
            return await self._memoized(scope, receive, send)
        await self.app(scope, receive, send)

    async def _memoized(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = host = accept = language = None
        keyed = False
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                coding = negotiate(value.decode("latin-1"))
            elif name == b"host":
                host = value
            elif name == b"authorization":
                keyed = True
            elif name == b"accept":
                accept = value
            elif name == b"accept-language":
                language = value
            elif name in CONDITIONAL:
                return await self.app(scope, receive, send)
        key = (
            scope["path"],
            scope["query_string"],
            scope["scheme"],
            scope.get("root_path", ""),
            host,
            accept,
            language,
            coding,
            keyed,
        )
        now = time.monotonic()
        found = self.memo.get(key)
        if found is not None and found[0] > now:
            return await found[1].send(send)
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
            self.memo[key] = (now + MEMO_TTL_S, Ready(start, pieces[0]))
