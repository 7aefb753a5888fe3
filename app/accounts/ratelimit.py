"""In-process token buckets per client address.

One process only: with several workers or hosts each keeps its own buckets, so the
effective limit multiplies; a shared store (Redis, or the proxy in front) is the answer
then. The buckets live in memory and cost nothing per request beyond a dict lookup."""

import math
import threading
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import problem_response

# Beyond this many addresses, buckets that have refilled completely are forgotten: they
# hold no information a fresh bucket would not.
MAX_TRACKED = 100_000


class TokenBucket:
    def __init__(
        self, *, rate_per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate_per_second
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Takes a token for `key`: 0 when granted, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > MAX_TRACKED:
                    self._forget_full(now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        for key, (tokens, stamp) in list(self._buckets.items()):
            if tokens + (now - stamp) * self.rate >= self.burst:
                del self._buckets[key]


def client_address(scope: Scope, *, trust_forwarded_for: bool) -> str:
    if trust_forwarded_for:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                return value.decode("latin-1").split(",")[0].strip()
    client = scope.get("client")
    return client[0] if client else "unknown"


def too_many(retry_after: int, detail: str):
    return problem_response(
        429,
        type_="/problems/too-many-requests",
        title="Too many requests",
        detail=detail,
        headers={"Retry-After": str(retry_after)},
    )


class AnonymousRateLimit:
    """Limits requests without credentials per client address. Requests carrying a key
    pass here; a key that fails to authenticate is charged to the address by the
    principal dependency, so guessing keys is limited too."""

    def __init__(self, app: ASGIApp, bucket: TokenBucket, *, trust_forwarded_for: bool) -> None:
        self.app = app
        self.bucket = bucket
        self.trust_forwarded_for = trust_forwarded_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or any(
            name == b"authorization" for name, _ in scope.get("headers", [])
        ):
            return await self.app(scope, receive, send)
        # Probes must always answer, or an orchestrator restarts a healthy process.
        if scope["path"] in ("/healthz", "/readyz"):
            return await self.app(scope, receive, send)
        address = client_address(scope, trust_forwarded_for=self.trust_forwarded_for)
        wait = self.bucket.take(address)
        if wait:
            response = too_many(wait, "anonymous request rate exceeded for this address")
            return await response(scope, receive, send)
        await self.app(scope, receive, send)


def request_address(request: Request) -> str:
    return client_address(
        request.scope, trust_forwarded_for=request.app.state.settings.trust_forwarded_for
    )
