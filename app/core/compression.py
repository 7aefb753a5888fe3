"""Content coding of answers: zstd, br and gzip, negotiated from Accept-Encoding.

Text formats and vector tiles shrink four to ten times; GeoPackage, FlatGeobuf, photos
and anything else not listed here stay as they are (they are compressed already, or
binary with little to gain). Bodies under MIN_BYTES are sent as they are: a packet
holds them either way, and the encoder would cost more than it saves.

A compressed representation has its own strong ETag: the identity's with the coding
appended inside the quotes (`"3"` -> `"3-br"`), as RFC 9110 §8.8.3 requires of a
validator whose bytes differ. A client sends that tag back in If-None-Match or If-Match;
`Compression` takes the suffix off before the app compares it with the identity's tag, so
a 304 or a conditional write works whichever representation the client read. A 304's own
ETag is the tag a 200 would carry now (RFC 9110 §15.4.5), which only the route knows (the
tile route, the one that answers 304, names its coding's tag itself), so it passes as the
route made it."""

import re
import threading
import zlib
from collections.abc import Callable
from functools import lru_cache

import brotli
import zstandard
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.formats import weighted

MIN_BYTES = 1024
# Order of preference among the codings a client accepts equally: zstd compresses about
# as small as br at the levels below, several times faster.
CODINGS = ("zstd", "br", "gzip")
# Not problem+json: error answers are short, and i18n.Localize, outside this middleware
# so that the gate's answers are translated too, must read them as JSON.
COMPRESSIBLE = frozenset(
    {
        "application/json",
        "application/geo+json",
        "application/schema+json",
        "application/ld+json",
        "application/vnd.oai.openapi+json",
        "application/geo+json-seq",
        "application/x-ndjson",
        "application/javascript",
        "application/xml",
        "image/svg+xml",
        "application/vnd.mapbox-vector-tile",
        "application/x-protobuf",
    }
)
# Levels for answers made per request, where the encoder's CPU counts more than a few per
# cent of bytes: on a nearby answer of 50 car parks (100 KB), gzip 3 takes 0.4 of gzip 6's
# time for 17 % more bytes, br 3 a quarter of br 5's for 15 % more, and zstd 3 is quicker
# than either and as small. Phone apps send gzip alone (Android's OkHttp).
GZIP_LEVEL, BROTLI_QUALITY, ZSTD_LEVEL = 3, 3, 3
# A ZstdCompressor is one compression at a time: two streams (or two threads) on one mix
# their frames, and a client reads neither. One per thread for whole bodies, one per stream.
_ZSTD = threading.local()
CONDITIONS = (b"if-none-match", b"if-match")
_SUFFIX = re.compile(r'-(zstd|br|gzip)"')


def compressible(content_type: bytes | str) -> bool:
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    kind = content_type.partition(";")[0].strip().lower()
    # An event stream must reach the client event by event, which an encoder's buffer
    # would hold back (the alert stream: within a second of the alert).
    if kind == "text/event-stream":
        return False
    return kind.startswith("text/") or kind in COMPRESSIBLE


@lru_cache(maxsize=256)
def negotiate(accept_encoding: str) -> str | None:
    """The coding to answer with, from an Accept-Encoding value (RFC 9110 §12.5.3): the
    highest q among those offered, ties broken by CODINGS' order; None for identity."""
    weights = dict(weighted(accept_encoding.lower()))
    star = weights.get("*", 0.0)
    best, best_q = None, 0.0
    for coding in CODINGS:
        q = weights.get(coding, star)
        if q > best_q:
            best, best_q = coding, q
    return best


@lru_cache(maxsize=256)
def negotiate_header(accept_encoding: bytes) -> str | None:
    """`negotiate` of the header as received."""
    return negotiate(accept_encoding.decode("latin-1"))


def compress(body: bytes, coding: str) -> bytes:
    if coding == "zstd":
        if (compressor := getattr(_ZSTD, "compressor", None)) is None:
            compressor = _ZSTD.compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        return compressor.compress(body)
    if coding == "br":
        return brotli.compress(body, quality=BROTLI_QUALITY)
    return gzip_compress(body)


def encoded(
    body: bytes, headers: list[tuple[bytes, bytes]], accept_encoding: bytes | None
) -> bytes:
    """`body` in the coding the client prefers, and its Vary and Content-Encoding added to
    `headers`: what `Compression` does to an answer, for one sent without the framework
    (core.fastpath)."""
    headers.append((b"vary", b"Accept-Encoding"))
    coding = None if accept_encoding is None else negotiate_header(accept_encoding)
    if coding is None or len(body) < MIN_BYTES:
        return body
    headers.append((b"content-encoding", coding.encode()))
    return compress(body, coding)


def gzip_compress(body: bytes) -> bytes:
    # wbits 31: a gzip member with header and trailer, as HTTP's gzip coding is
    encoder = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return encoder.compress(body) + encoder.flush()


def encoder(coding: str) -> Callable[[bytes, bool], bytes]:
    """A streaming encoder: call it with each piece and, at the last, `last=True`."""
    if coding == "zstd":
        z = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
        return lambda piece, last: (
            z.compress(piece) + (z.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH) if last else b"")
        )
    if coding == "br":
        b = brotli.Compressor(quality=BROTLI_QUALITY)
        return lambda piece, last: b.process(piece) + (b.finish() if last else b"")
    g = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    return lambda piece, last: g.compress(piece) + (g.flush() if last else b"")


def coded_etag(etag: str, coding: str) -> str:
    """The ETag of the `coding` representation of the answer whose identity has `etag`."""
    return etag[:-1] + f'-{coding}"' if etag.endswith('"') else etag


def plain_tags(value: bytes) -> bytes:
    """An If-None-Match or If-Match value with the codings' suffixes taken off."""
    return _SUFFIX.sub('"', value.decode("latin-1")).encode("latin-1")


def add_vary(headers: list[tuple[bytes, bytes]], *names: bytes) -> None:
    """Adds `names` to the answer's Vary header, in place, once each."""
    for i, (name, value) in enumerate(headers):
        if name == b"vary":
            have = {token.strip().lower() for token in value.split(b",")}
            if b"*" in have:
                return
            missing = [n for n in names if n.lower() not in have]
            if missing:
                headers[i] = (b"vary", b", ".join([value, *missing]))
            return
    headers.append((b"vary", b", ".join(names)))


class Compression:
    """Compresses the answers worth it with the coding the client prefers. An answer
    that already has a Content-Encoding (a cached tile), a range or a way to ask for
    one (Accept-Ranges), or `Cache-Control: no-transform`, passes as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        coding = None
        conditional = False
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                coding = negotiate(value.decode("latin-1"))
            elif name in CONDITIONS and b"-" in value:
                conditional = True
        if conditional:
            headers = [
                (name, plain_tags(value) if name in CONDITIONS else value)
                for name, value in scope["headers"]
            ]
            scope = {**scope, "headers": headers}
        start: Message | None = None
        encode: Callable[[bytes, bool], bytes] | None = None

        async def compressing(message: Message) -> None:
            nonlocal start, encode
            kind = message["type"]
            if kind == "http.response.start":
                headers = list(message.get("headers", ()))
                message = {**message, "headers": headers}
                if not _may_compress(message["status"], headers):
                    return await send(message)
                add_vary(headers, b"Accept-Encoding")
                if coding is None:
                    return await send(message)
                start = message  # held until the first piece of the body shows its size
                return None
            if kind != "http.response.body" or start is None:
                return await send(message)
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if encode is None:
                if not more and len(body) < MIN_BYTES:
                    await send(start)
                    start = None
                    return await send(message)
                headers = start["headers"]
                headers[:] = [(n, v) for n, v in headers if n != b"content-length"]
                headers.append((b"content-encoding", coding.encode()))
                _code_etag(headers, coding)
                if not more:
                    coded = compress(body, coding)
                    headers.append((b"content-length", str(len(coded)).encode()))
                    await send(start)
                    start = None
                    return await send({**message, "body": coded})
                encode = encoder(coding)
                await send(start)
            piece = encode(body, not more)
            if piece or not more:
                await send({"type": "http.response.body", "body": piece, "more_body": more})

        await self.app(scope, receive, compressing)


def _may_compress(status: int, headers: list[tuple[bytes, bytes]]) -> bool:
    if status < 200 or status in (204, 206, 304):
        return False
    kind = b""
    for name, value in headers:
        if name == b"content-type":
            kind = value
        elif _keeps_identity(name, value.lower()):
            return False
    return compressible(kind)


def _keeps_identity(name: bytes, value: bytes) -> bool:
    return (
        name in (b"content-encoding", b"content-range")
        or (name == b"accept-ranges" and value.strip() != b"none")
        or (name == b"cache-control" and b"no-transform" in value)
    )


def _code_etag(headers: list[tuple[bytes, bytes]], coding: str) -> None:
    for i, (name, value) in enumerate(headers):
        # an answer that named its coding's tag itself (a tile) keeps it
        if name == b"etag" and not _SUFFIX.search(value.decode("latin-1")):
            headers[i] = (name, coded_etag(value.decode("latin-1"), coding).encode("latin-1"))
