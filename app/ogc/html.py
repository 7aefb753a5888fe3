"""Plain server-rendered HTML of the OGC resources (the Part 1 HTML class): the JSON
document's title, links and content, and features drawn on a map, every value escaped.
The map is SVG drawn here: the page loads nothing from another host and runs no script."""

import json
import math
from html import escape
from typing import Any

HTML = "text/html"
STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px}"
    "svg.map{border:1px solid #ccc;background:#f4f6f8;max-width:100%;height:auto}"
    "svg.map circle{fill:#c0392b;fill-opacity:.75;stroke:#fff;stroke-width:.5}"
)
# The collection page draws at most this many features.
MAP_FEATURES = 1000
WIDTH, HEIGHT, MARGIN = 720, 480, 12
SWAP = {"self": "alternate", "alternate": "self"}


def page(
    title: str,
    document: dict[str, Any],
    *,
    features: list[dict[str, Any]] | None = None,
    items_url: str | None = None,
) -> str:
    """`features` to draw besides the document (a collection's first page); a document
    that is a FeatureCollection or a Feature draws its own, each point linked to its page
    under `items_url`."""
    links = _html_links(document.get("links", []))
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a>'
        f" ({escape(link['rel'])}, {escape(link.get('type', ''))})</li>"
        for link in links
    )
    head_links = "".join(
        f'<link rel="alternate" type="{escape(link["type"])}" href="{escape(link["href"])}">'
        for link in links
        if link["rel"] == "alternate" and link.get("type")
    )
    description = document.get("description")
    body = [f"<h1>{escape(title)}</h1>"]
    if description:
        body.append(f"<p>{escape(description)}</p>")
    body.append(f"<h2>Links</h2><ul>{items}</ul>")
    if document.get("type") == "Feature":
        features = [document]
    if "features" in document:
        body.append(_map(document["features"], items_url))
        body.append(_table(document["features"]))
    else:
        if features is not None:
            body.append(_map(features, items_url))
        content = {key: value for key, value in document.items() if key != "links"}
        body.append(f"<pre>{escape(json.dumps(content, ensure_ascii=False, indent=2))}</pre>")
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title>{head_links}<style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>"
    )


def _html_links(links: list[dict[str, str]]) -> list[dict[str, str]]:
    """The links as the HTML form of the resource has them: a JSON document's `self` is
    the HTML page's `alternate`, and its HTML `alternate` the page itself."""
    if all(link.get("type") == HTML for link in links if link["rel"] == "self"):
        return links
    return [{**link, "rel": SWAP.get(link["rel"], link["rel"])} for link in links]


def _positions(features: list[dict[str, Any]]) -> list[tuple[Any, float, float, str]]:
    found = []
    for feature in features:
        coordinates = (feature.get("geometry") or {}).get("coordinates") or []
        if len(coordinates) >= 2 and all(isinstance(c, int | float) for c in coordinates[:2]):
            label = (feature.get("properties") or {}).get("name") or feature.get("id")
            found.append((feature.get("id"), coordinates[0], coordinates[1], str(label)))
    return found


def _map(features: list[dict[str, Any]], items_url: str | None) -> str:
    """The features' points in a box fitted to them (equirectangular, the x axis shrunk
    by the cosine of the middle latitude when the axes are degrees), each a link to its
    feature's page. Positions are drawn as the page's CRS gives them: an EPSG lat/lon
    order draws rotated, which the map's caption says."""
    points = _positions(features)
    if not points:
        return "<h2>Map</h2><p>No features to draw.</p>"
    xs, ys = [p[1] for p in points], [p[2] for p in points]
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    degrees = all(abs(x) <= 180 for x in xs) and all(abs(y) <= 90 for y in ys)
    squash = math.cos(math.radians((south + north) / 2)) if degrees else 1.0
    span_x = max((east - west) * squash, 1e-9)
    span_y = max(north - south, 1e-9)
    scale = min((WIDTH - 2 * MARGIN) / span_x, (HEIGHT - 2 * MARGIN) / span_y)
    circles = []
    for feature_id, x, y, label in points:
        px = MARGIN + (x - west) * squash * scale
        py = HEIGHT - MARGIN - (y - south) * scale
        circle = (
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4"><title>{escape(label)}</title></circle>'
        )
        if items_url is not None:
            href = escape(f"{items_url}/{feature_id}?f=html")
            circle = f'<a href="{href}">{circle}</a>'
        circles.append(circle)
    return (
        f'<h2>Map</h2><svg class="map" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{len(points)} features">{"".join(circles)}</svg>'
        f"<p>{len(points)} features, {west:.6f} to {east:.6f} by {south:.6f} to "
        f"{north:.6f} (first and second axis of the page's CRS).</p>"
    )


def _table(features: list[dict[str, Any]]) -> str:
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
