"""Plain server-rendered HTML of the OGC resources (the Part 1 HTML class): the JSON
document's title, links and content, every value escaped."""

import json
from html import escape
from typing import Any

STYLE = "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"


def page(title: str, document: dict[str, Any]) -> str:
    links = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a>'
        f" ({escape(link['rel'])}, {escape(link.get('type', ''))})</li>"
        for link in document.get("links", [])
    )
    description = document.get("description")
    body = [f"<h1>{escape(title)}</h1>"]
    if description:
        body.append(f"<p>{escape(description)}</p>")
    body.append(f"<h2>Links</h2><ul>{links}</ul>")
    if "features" in document:
        body.append(_features(document["features"]))
    else:
        content = {key: value for key, value in document.items() if key != "links"}
        body.append(f"<pre>{escape(json.dumps(content, ensure_ascii=False, indent=2))}</pre>")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def _features(features: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(name for f in features for name in f.get("properties") or {}))
    head = "".join(f"<th>{escape(name)}</th>" for name in ["id", "geometry", *names])
    rows = "".join(
        "<tr>"
        + f"<td>{escape(str(f.get('id')))}</td>"
        + f"<td>{escape(json.dumps((f.get('geometry') or {}).get('coordinates')))}</td>"
        + "".join(_cell((f.get("properties") or {}).get(name)) for name in names)
        + "</tr>"
        for f in features
    )
    return f"<h2>Features</h2><table><tr>{head}</tr>{rows}</table>"


def _cell(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else json.dumps(value)
    return f"<td>{escape(text)}</td>"
