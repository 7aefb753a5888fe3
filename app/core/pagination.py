"""Opaque keyset cursors: the client hands back what it was given, and learns nothing else."""

import base64
import binascii
import json

from starlette.datastructures import URL

from app.core.errors import BadRequest


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        if prefix != "id" or not value.isdigit() or int(value) >= 2**63:
            raise ValueError(raw)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("cursor: not a cursor this API issued") from exc


def next_link(url: URL, cursor: str) -> str:
    return str(url.include_query_params(cursor=cursor))


def splice_items(envelope: dict, key: str, raw_items: list[str]) -> str:
    """A JSON object of `envelope` plus `key`: the items, which arrive as JSON text built
    by PostgreSQL and are joined here without being parsed again."""
    head = json.dumps(envelope, ensure_ascii=False)
    separator = "," if envelope else ""
    return f'{head[:-1]}{separator}"{key}":[{",".join(raw_items)}]}}'
