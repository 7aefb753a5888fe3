"""Opaque keyset cursors: the client hands back what it was given, and learns nothing else."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from starlette.datastructures import URL

from app.core import jsonbody
from app.core.errors import BadRequest

T = TypeVar("T")
# What a cursor that fails to decode raises, whatever the reason.
_UNREADABLE = (ValueError, TypeError, binascii.Error, UnicodeDecodeError)


def _pack(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unpack(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def _not_ours() -> BadRequest:
    return BadRequest("cursor: not a cursor this API issued")


def encode_cursor(last_id: int) -> str:
    return _pack(f"id:{last_id}".encode())


def decode_cursor(cursor: str) -> int:
    try:
        raw = _unpack(cursor).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id" or not value.isdigit() or int(value) >= 2**63:
            raise ValueError(raw)
        return int(value)
    except _UNREADABLE as exc:
        raise _not_ours() from exc


def cursor_id(cursor: str | None) -> int | None:
    """The id a cursor of encode_cursor was issued after; None for the first page."""
    return decode_cursor(cursor) if cursor else None


def keyset_page(
    rows: Sequence[T], limit: int, cursor_after: Callable[[T], str]
) -> tuple[list[T], str | None]:
    """Rows read as `limit` + 1: the page, and the cursor after its last row when the extra
    row shows that more follow."""
    page = list(rows[:limit])
    return page, (cursor_after(page[-1]) if len(rows) > limit else None)


def id_cursor(row: Any) -> str:
    """The cursor after a row ordered by its `id`."""
    return encode_cursor(row.id)


def encode_key_cursor(key: list[Any]) -> str:
    """A cursor after a row of a compound sort key: the key's values as JSON."""
    return _pack(json.dumps(key).encode())


def decode_key_cursor(cursor: str, parse: Callable[[Any], T]) -> T:
    """The key of encode_key_cursor, read by `parse`, which raises ValueError or
    TypeError on a key it does not recognise. The JSON's depth is bounded."""
    try:
        return parse(jsonbody.loads(_unpack(cursor), what="cursor"))
    except _UNREADABLE as exc:
        raise _not_ours() from exc


def next_link(url: URL, cursor: str) -> str:
    return str(url.include_query_params(cursor=cursor))


def splice_items(envelope: dict, key: str, raw_items: list[bytes]) -> bytes:
    """A JSON object of `envelope` plus `key`: the items, which arrive as UTF-8 JSON built
    by PostgreSQL and are joined here without being parsed, decoded or encoded again."""
    head = orjson.dumps(envelope)
    separator = b"," if envelope else b""
    return b"".join((head[:-1], separator, b'"%s":[' % key.encode(), b",".join(raw_items), b"]}"))
