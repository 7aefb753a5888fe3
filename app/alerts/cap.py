"""CAP 1.2 messages in: parsed hardened, validated against the shipped OASIS schema, read
into plain values. Nothing here touches the database.

Two parsers, each for what it does best: defusedxml (expat) first refuses any DTD, entity
declaration or external reference, so a billion-laughs or external-entity document never
reaches a parser that would expand it; lxml then parses the same bytes without entity
resolution, DTD loading or network access, and validates against CAP-v1.2.xsd."""

import functools
import hashlib
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeTree
from lxml import etree
from pydantic import ConfigDict

from app.alerts.schemas import InfoFields, MessageFields
from app.core.errors import BadRequest, FieldError, InvalidInput

NS = "urn:oasis:names:tc:emergency:cap:1.2"
SCHEMA = Path(__file__).parent / "schema" / "CAP-v1.2.xsd"
# The geocode valueName that names a GB/T 2260 division code; other schemes are kept
# in the stored document but place nothing.
DIVISION_GEOCODE = "GB/T 2260"
# Bounds beyond the body size: what one message may ask the database to build.
MAX_INFOS = 20
MAX_AREAS = 50
MAX_SHAPES = 200  # polygons, circles and geocodes of one area
# ... and of the whole message: each area is built (division boundaries unioned) as it is
# stored, and every answer on alerts in force carries it.
MAX_MESSAGE_SHAPES = 500
MAX_VERTICES = 20_000  # of one polygon
MAX_RADIUS_KM = 1000
EARTH_RADIUS_KM = 6371
_DIVISION_CODE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class Area:
    description: str
    polygons: list[str] = field(default_factory=list)  # WKT, lon/lat
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # lon, lat, metres
    admin_codes: list[str] = field(default_factory=list)


class Info(InfoFields):
    model_config = ConfigDict(frozen=True)

    response_types: list[str]
    event_codes: dict[str, list[str]]
    areas: list[Area]


class Message(MessageFields):
    model_config = ConfigDict(frozen=True)

    references: list[tuple[str, str, str]]  # sender, identifier, sent as written
    infos: list[Info]
    document: str  # canonical XML (C14N) of the message
    sha256: str


@functools.cache
def _schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA), _parser()))


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers are not to be shared between threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
    )


def parse(data: bytes) -> Message:
    """The message in `data`, or BadRequest (not XML, or a DTD or entity in it) or
    InvalidInput (not a valid CAP 1.2 message, or one this registry cannot act on)."""
    try:
        SafeTree.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise BadRequest(
            f"the document declares a DTD or entities ({type(exc).__name__}): CAP needs "
            "neither, and they are refused"
        ) from None
    except ParseError as exc:
        raise BadRequest(f"the body is not well-formed XML: {exc}") from None
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise BadRequest(f"the body is not well-formed XML: {exc}") from None
    schema = _schema()
    if not schema.validate(root):
        errors = [FieldError(field=f"line {e.line}", message=e.message) for e in schema.error_log][
            :20
        ]
        raise InvalidInput(
            "the document is not a valid CAP 1.2 alert (urn:oasis:names:tc:emergency:cap:1.2)",
            errors=errors,
        )
    document = etree.tostring(root, method="c14n").decode()
    return _message(root, document)


def _q(name: str) -> str:
    return f"{{{NS}}}{name}"


def _text(element: etree._Element, name: str) -> str | None:
    found = element.find(_q(name))
    return None if found is None or found.text is None else found.text.strip()


def _all(element: etree._Element, name: str) -> list[str]:
    return [(e.text or "").strip() for e in element.findall(_q(name))]


def _pairs(element: etree._Element, name: str) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = {}
    for e in element.findall(_q(name)):
        pairs.setdefault(_text(e, "valueName") or "", []).append(_text(e, "value") or "")
    return pairs


def _time(value: str | None) -> datetime | None:
    # The schema's pattern leaves only a calendar check: 2026-02-30 matches it.
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.on("sent", f"{value} is not a date and time") from None


def _message(root: etree._Element, document: str) -> Message:
    msg_type = _text(root, "msgType") or ""
    status = _text(root, "status") or ""
    if status not in ("Actual", "Exercise", "Test"):
        raise InvalidInput.on(
            "status", f"{status}: only Actual, Exercise and Test messages are taken"
        )
    if msg_type not in ("Alert", "Update", "Cancel"):
        raise InvalidInput.on("msgType", f"{msg_type}: only Alert, Update and Cancel are taken")
    references = [_reference(ref) for ref in (_text(root, "references") or "").split()]
    if msg_type != "Alert" and not references:
        raise InvalidInput.on("references", f"an {msg_type} must name what it acts on")
    infos = root.findall(_q("info"))
    if len(infos) > MAX_INFOS:
        raise InvalidInput.on("info", f"at most {MAX_INFOS} info blocks")
    parsed = [_info(i, info) for i, info in enumerate(infos)]
    shapes = sum(
        len(a.polygons) + len(a.circles) + len(a.admin_codes) for i in parsed for a in i.areas
    )
    if shapes > MAX_MESSAGE_SHAPES:
        raise InvalidInput.on(
            "info.area", f"at most {MAX_MESSAGE_SHAPES} polygons, circles and geocodes in all"
        )
    if msg_type != "Cancel" and not any(info.areas for info in parsed):
        raise InvalidInput.on("info.area", f"an {msg_type} needs an area to be in force over")
    return Message(
        identifier=_text(root, "identifier") or "",
        sender=_text(root, "sender") or "",
        sent=_time(_text(root, "sent")),  # type: ignore[arg-type]
        status=status,
        msg_type=msg_type,
        scope=_text(root, "scope") or "",
        references=references,
        infos=parsed,
        document=document,
        sha256=hashlib.sha256(document.encode()).hexdigest(),
    )


def _reference(value: str) -> tuple[str, str, str]:
    parts = value.split(",")
    if len(parts) != 3 or not all(parts):
        raise InvalidInput.on("references", f"{value!r} is not sender,identifier,sent")
    return parts[0], parts[1], parts[2]


def _info(index: int, info: etree._Element) -> Info:
    areas = info.findall(_q("area"))
    if len(areas) > MAX_AREAS:
        raise InvalidInput.on(f"info[{index}].area", f"at most {MAX_AREAS} areas")
    return Info(
        language=_text(info, "language") or "en-US",
        categories=_all(info, "category"),
        event=_text(info, "event") or "",
        response_types=_all(info, "responseType"),
        urgency=_text(info, "urgency") or "",
        severity=_text(info, "severity") or "",
        certainty=_text(info, "certainty") or "",
        event_codes=_pairs(info, "eventCode"),
        effective=_time(_text(info, "effective")),
        onset=_time(_text(info, "onset")),
        expires=_time(_text(info, "expires")),
        headline=_text(info, "headline"),
        description=_text(info, "description"),
        instruction=_text(info, "instruction"),
        parameters=_pairs(info, "parameter"),
        areas=[_area(f"info[{index}].area[{j}]", area) for j, area in enumerate(areas)],
    )


def _area(where: str, area: etree._Element) -> Area:
    polygons = _all(area, "polygon")
    circles = _all(area, "circle")
    geocodes = _pairs(area, "geocode")
    codes = geocodes.get(DIVISION_GEOCODE, [])
    if len(polygons) + len(circles) + sum(map(len, geocodes.values())) > MAX_SHAPES:
        raise InvalidInput.on(where, f"at most {MAX_SHAPES} polygons, circles and geocodes")
    for code in codes:
        if not _DIVISION_CODE.match(code):
            raise InvalidInput.on(f"{where}.geocode", f"{code!r} is not a six-digit GB/T 2260 code")
    if not (polygons or circles or codes):
        raise InvalidInput.on(
            where, f"no polygon, circle or {DIVISION_GEOCODE} geocode: nothing to place it by"
        )
    return Area(
        description=_text(area, "areaDesc") or "",
        polygons=[_polygon(f"{where}.polygon[{k}]", p) for k, p in enumerate(polygons)],
        circles=[_circle(f"{where}.circle[{k}]", c) for k, c in enumerate(circles)],
        admin_codes=sorted(set(codes)),
    )


def _position(where: str, pair: str) -> tuple[float, float]:
    """CAP writes a point as "lat,lon" in WGS 84; returns (lon, lat)."""
    try:
        lat, lon = (float(v) for v in pair.split(","))
    except ValueError:
        raise InvalidInput.on(where, f"{pair!r} is not lat,lon") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput.on(where, f"{pair!r} lies outside -90..90, -180..180")
    return lon, lat


def _polygon(where: str, value: str) -> str:
    pairs = value.split()
    if len(pairs) > MAX_VERTICES:
        raise InvalidInput.on(where, f"at most {MAX_VERTICES} points")
    points = [_position(where, pair) for pair in pairs]
    if len(points) < 4 or points[0] != points[-1]:
        raise InvalidInput.on(
            where, "a polygon is four or more lat,lon pairs, the first and last the same"
        )
    # Stored as written, a ring across the 180th meridian (179 to -179) would go the long
    # way round and cover every longitude between, China's included.
    lons = [lon for lon, _ in points]
    if max(lons) - min(lons) > 180:
        raise InvalidInput.on(
            where,
            "a polygon spans more than 180 degrees of longitude: it may not cross the 180th meridian",
        )
    return "POLYGON((" + ",".join(f"{lon!r} {lat!r}" for lon, lat in points) + "))"


def _circle(where: str, value: str) -> tuple[float, float, float]:
    center, _, radius = value.strip().partition(" ")
    lon, lat = _position(where, center)
    try:
        km = float(radius)
    except ValueError:
        raise InvalidInput.on(where, f"{value!r} is not 'lat,lon radius-in-km'") from None
    if not 0 < km <= MAX_RADIUS_KM:
        raise InvalidInput.on(where, f"the radius must be above 0 and at most {MAX_RADIUS_KM} km")
    # As a polygon in lon/lat, a circle over a pole or across the 180th meridian becomes a
    # band around the earth. A little wider than the circle, to be sure.
    reach = math.degrees(km * 1.01 / EARTH_RADIUS_KM)
    if abs(lat) + reach >= 90 or abs(lon) + reach / math.cos(math.radians(abs(lat) + reach)) > 180:
        raise InvalidInput.on(where, "a circle may not reach a pole or cross the 180th meridian")
    return lon, lat, km * 1000
