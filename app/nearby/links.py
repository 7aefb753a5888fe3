"""Percent-encoding for the navigation links (built in PostgreSQL, repository.NAVIGATION)."""

# RFC 3986's unreserved characters stand for themselves; any other byte of the UTF-8 is
# written %XX.
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_BYTE = tuple(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256))


def uri_component(text: str) -> str:
    """`text` percent-encoded as urllib.parse.quote(text, safe="") writes it."""
    return "".join([_BYTE[b] for b in text.encode()])
