"""How one delivery leaves: the target's address checked, the body signed, one POST.

Signature: Standard Webhooks (https://www.standardwebhooks.com), as Stripe and Svix sign:
`webhook-signature: v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`,
keyed by the base64-decoded part of the subscription's `whsec_` secret (docs/api.md)."""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

SECRET_PREFIX = "whsec_"
MAX_URL_LENGTH = 2048
# Of an answer, only this much is read and kept: a receiver has nothing more to tell.
EXCERPT_BYTES = 1024
# Name look-ups run here so that a caller waits at most RESOLVE_TIMEOUT_S for one (the
# system resolver takes no timeout); a slow look-up finishes in the background.
_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="webhook-dns")
RESOLVE_TIMEOUT_S = 5.0


class TargetRefused(ValueError):
    """A URL that may not receive deliveries; the message says why."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError names what is wrong with it."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"must start with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError(f"must be {SECRET_PREFIX} followed by base64") from None
    if not 24 <= len(key) <= 64:
        raise ValueError("must hold 24 to 64 bytes (32 random bytes are usual)")
    return key


def sign(secret: str, message_id: str, timestamp: int, body: str) -> str:
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL deliveries may be sent to, as far as its form goes."""
    if len(url) > MAX_URL_LENGTH:
        raise TargetRefused(f"is longer than {MAX_URL_LENGTH} characters")
    if not url.isascii() or not url.isprintable() or " " in url:
        raise TargetRefused(
            "must be printable ASCII without spaces (an international name in punycode)"
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(f"is not a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must be an http or https URL")
    if not parts.hostname:
        raise TargetRefused("names no host")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry credentials: the signature authenticates")
    if parts.fragment:
        raise TargetRefused("must not carry a fragment")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


# IPv6 addresses that carry an IPv4 one, which a NAT64 gateway, a 6to4 relay or the host
# itself delivers to: judged by the IPv4 address they carry (64:ff9b::10.0.0.1 reaches
# 10.0.0.1 wherever a NAT64 gateway serves the network). The local-use NAT64 prefix
# places it where its operator chooses, and site-local addresses are private in all
# but name: both are refused.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_COMPATIBLE = ipaddress.ip_network("::/96")
_REFUSED_V6 = (ipaddress.ip_network("64:ff9b:1::/48"), ipaddress.ip_network("fec0::/10"))


def _carried(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    return None


def _allowed(address: str, *, allow_private: bool) -> bool:
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in network for network in _REFUSED_V6) and not allow_private:
            return False
        ip = _carried(ip) or ip
    if ip.is_multicast or ip.is_unspecified:
        return False
    return allow_private or ip.is_global


def resolve(url: str, *, allow_private: bool) -> str:
    """An address of the URL's host that deliveries may go to. Every address the name has
    must be allowed: a name with a public and a private address could be steered to the
    private one. Loopback, private, link-local (cloud metadata) and other non-global
    addresses are refused unless `allow_private` (RF_WEBHOOK_ALLOW_PRIVATE)."""
    _, host, port = check_url(url)
    lookup = _LOOKUPS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        found = lookup.result(timeout=RESOLVE_TIMEOUT_S)
    except LookupTimeout:
        raise TargetRefused(f"{host} did not resolve within {RESOLVE_TIMEOUT_S:g} s") from None
    except (OSError, UnicodeError) as exc:
        raise TargetRefused(f"{host} does not resolve: {exc}") from None
    addresses = sorted({str(info[4][0]) for info in found})
    refused = [a for a in addresses if not _allowed(a, allow_private=allow_private)]
    if refused:
        raise TargetRefused(
            f"{host} resolves to {', '.join(refused)}: loopback, private, link-local and "
            "other non-public addresses are refused"
        )
    return addresses[0]


@dataclass(frozen=True)
class Answer:
    status: int | None
    excerpt: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(
    client: httpx.Client,
    *,
    url: str,
    secret: str,
    message_id: str,
    timestamp: int,
    body: str,
    allow_private: bool,
) -> Answer:
    """One attempt. The connection goes to the address that was checked, not to a second
    look-up of the name (DNS rebinding); TLS still verifies the certificate for the name.
    Redirects are not followed: a 3xx is a failed attempt."""
    try:
        address = resolve(url, allow_private=allow_private)
    except TargetRefused as exc:
        return Answer(None, None, f"url: {exc}")
    scheme, host, port = check_url(url)
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json",
        # The excerpt is of the answer's bytes as sent: uncompressed, to be readable.
        "Accept-Encoding": "identity",
        "User-Agent": "rf-registry-webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
    }
    request = client.build_request(
        "POST",
        pinned,
        content=body.encode(),
        headers=headers,
        extensions={"sni_hostname": host} if scheme == "https" else {},
    )
    try:
        response = client.send(request, stream=True)
    except httpx.HTTPError as exc:
        return Answer(None, None, f"{type(exc).__name__}: {exc}"[:500])
    try:
        read = bytearray()
        for chunk in response.iter_raw():
            read += chunk
            if len(read) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError as exc:
        return Answer(response.status_code, None, f"{type(exc).__name__}: {exc}"[:500])
    finally:
        response.close()
    # A text column takes no NUL; the replacement character may take 3 bytes for 1, so
    # the stored excerpt is bounded in characters.
    excerpt = (
        bytes(read[:EXCERPT_BYTES]).decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    )
    return Answer(response.status_code, excerpt[:EXCERPT_BYTES], None)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by one deadline: a per-operation
    timeout alone lets a receiver that sends its answer a byte at a time, each within the
    timeout, hold an attempt (and the deliveries queued behind it) for hours."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: float) -> None:
        self._stream, self._deadline = stream, deadline

    def _left(self, timeout: float | None, late: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise late("the attempt outlasted its timeout")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.SyncBackend):
    """Connections that last at most `total_s` from the moment they are opened; with no
    keep-alive, a connection is an attempt."""

    def __init__(self, total_s: float) -> None:
        self._total_s = total_s

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        deadline = time.monotonic() + self._total_s
        limit = self._total_s if timeout is None else min(timeout, self._total_s)
        stream = super().connect_tcp(host, port, limit, local_address, socket_options)
        return _DeadlineStream(stream, deadline)


def client(timeout_s: float) -> httpx.Client:
    """For deliveries: an attempt, from connecting to the last byte read, within
    `timeout_s`; no redirects, no proxy or .netrc from the environment (a proxy would
    connect to the name itself, past the address check)."""
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend of its own; the pool it wraps is httpcore's, which does.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=16,
        max_keepalive_connections=0,
        network_backend=_DeadlineBackend(timeout_s),
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
