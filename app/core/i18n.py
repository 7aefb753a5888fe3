"""Problem answers and import reports in the caller's language.

Messages are written in English where they arise; a gettext catalogue per language
(`app/core/locale/<lang>/LC_MESSAGES/messages.po`, read with Babel) translates them on the
way out. A msgid is the English text, or its template with the values named as in
`str.format` ("facility {facility_id} does not exist"): a message matches a template when
the template's words surround the values, and each value is translated in turn, so that
"code: must not be blank" and "Value error, {message}" read through. Field names are
msgids of the context "field" (msgctxt "field", msgid "name" -> "工程名称").

Untranslated text stays English: a missing msgid costs a reader a word, never an answer.
tests/core/test_i18n.py lists every error class whose title or template is missing.
"""

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from babel.messages.pofile import read_po
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.formats import weighted

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT = "en"
LANGUAGES = ("en", "zh")
FIELD = "field"  # the msgctxt of field labels
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# "field: message", where the field is a name or dotted path (entrances.0.kind).
FIELD_PREFIX = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]-]*): (?P<rest>.+)", re.DOTALL)
LOCATIONS = ("body", "query", "path", "header")


@dataclass(frozen=True)
class Template:
    msgid: str
    msgstr: str
    prefix: str
    suffix: str
    pattern: re.Pattern[str]


class Catalogue:
    def __init__(self, messages: dict[str, str], labels: dict[str, str]) -> None:
        self.messages = messages
        self.labels = labels
        templates = [_template(msgid, msgstr) for msgid, msgstr in messages.items() if "{" in msgid]
        # The most specific first: more literal text, fewer ways to match.
        templates.sort(key=lambda t: -len(PLACEHOLDER.sub("", t.msgid)))
        self.templates = templates
        self.text = lru_cache(maxsize=65536)(self._text)

    def _text(self, text: str) -> str:
        """One message: the catalogue's entry, a template's, or each part of a
        "field: message; field: message" list; else the text as it is."""
        if not text:
            return text
        if (found := self.messages.get(text)) is not None:
            return found
        for template in self.templates:
            if not (text.startswith(template.prefix) and text.endswith(template.suffix)):
                continue
            match = template.pattern.fullmatch(text)
            if match:
                values = {k: self.text(v) for k, v in match.groupdict().items()}
                return template.msgstr.format(**values)
        if "; " in text:
            return "；".join(self.text(part) for part in text.split("; "))
        if (match := FIELD_PREFIX.fullmatch(text)) is not None:
            field = match["field"]
            return f"{self.field(field)}：{self.text(match['rest'])}"
        return text

    def label(self, field: str) -> str | None:
        """The label of a field path: of the whole path without list indices and its
        location (entrances.kind), else of its last name (kind)."""
        names = [p for p in field.split(".") if not p.isdigit()]
        if names and names[0] in LOCATIONS:
            names = names[1:]
        if not names:
            return None
        return self.labels.get(".".join(names)) or self.labels.get(names[-1])

    def field(self, field: str) -> str:
        """A field as a message names it: its label and JSON pointer, 工程名称（/name）."""
        label, at = self.label(field), pointer(field) or field
        return f"{label}（{at}）" if label else at


def _template(msgid: str, msgstr: str) -> Template:
    parts, seen, position = [], set(), 0
    placeholders = list(PLACEHOLDER.finditer(msgid))
    for match in placeholders:
        parts.append(re.escape(msgid[position : match.start()]))
        name = match[1]
        # Only the last value may hold "; ", the separator of a list of messages, so
        # that a template of one item does not swallow the items after it.
        value = ".+?" if match is placeholders[-1] else "(?:(?!; ).)+?"
        parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>{value})")
        seen.add(name)
        position = match.end()
    parts.append(re.escape(msgid[position:]))
    first, last = PLACEHOLDER.search(msgid), placeholders[-1]
    return Template(
        msgid,
        msgstr,
        prefix=msgid[: first.start()] if first else msgid,
        suffix=msgid[last.end() :],
        pattern=re.compile("".join(parts), re.DOTALL),
    )


@cache
def catalogue(language: str) -> Catalogue | None:
    """None for English, the language messages are written in."""
    if language == DEFAULT:
        return None
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    messages, labels = {}, {}
    for message in po:
        if not message.id or not message.string or message.fuzzy:
            continue
        (labels if message.context == FIELD else messages)[message.id] = message.string
    return Catalogue(messages, labels)


def translate(text: str, language: str) -> str:
    found = catalogue(language)
    return text if found is None else found.text(text)


def negotiate(accept_language: str | None, default: str) -> str:
    """The supported language the caller prefers most (RFC 9110 §12.5.4); ties go to the
    one named first; none supported, or `*`, gives the default."""
    if not accept_language:
        return default
    best, best_q = default, 0.0
    for tag, q in weighted(accept_language):
        if q <= best_q:
            continue
        primary = tag.split("-")[0].lower()
        if primary in LANGUAGES:
            best, best_q = primary, q
        elif tag == "*":
            best, best_q = default, q
    return best


def pointer(field: str) -> str | None:
    """The JSON pointer (RFC 6901) of a body field: body.entrances.0.kind -> /entrances/0/kind;
    None for a query, path or header parameter."""
    parts = field.split(".")
    if parts[0] in LOCATIONS:
        if parts[0] != "body":
            return None
        parts = parts[1:]
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts if p)


def localize_problem(problem: dict, language: str) -> dict:
    """A problem document with its title, detail and errors in `language`; each error
    also gives its field as a JSON pointer (body fields) and its label."""
    found = catalogue(language)
    if found is None:
        return problem
    out = dict(problem)
    for key in ("title", "detail"):
        if isinstance(out.get(key), str):
            out[key] = found.text(out[key])
    if isinstance(out.get("errors"), list):
        out["errors"] = [_localize_error(found, e) for e in out["errors"]]
    return out


def _localize_error(found: Catalogue, error: object) -> object:
    if not isinstance(error, dict) or not isinstance(error.get("field"), str):
        return error
    field = error["field"]
    localized = {"field": field}
    if (at := pointer(field)) is not None:
        localized["pointer"] = at
    if (label := found.label(field)) is not None:
        localized["label"] = label
    return {**error, **localized, "message": found.text(str(error.get("message", "")))}


class Localize:
    """ASGI middleware: problem answers in the language the caller prefers. It stands
    outermost, so that the gate's and the body limits' answers are translated too; a
    request in the default English passes through untouched."""

    def __init__(self, app: ASGIApp, *, default: str) -> None:
        self.app, self.default = app, default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        header = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"accept-language"), None
        )
        language = negotiate(header, self.default)
        scope.setdefault("state", {})["language"] = language
        if language == DEFAULT:
            return await self.app(scope, receive, send)
        start: dict | None = None
        chunks: list[bytes] = []

        async def localized(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"application/problem+json"):
                    start = message
                    return
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                original = b"".join(chunks)
                body = _localized_body(original, language)
                if body is None:  # no document to translate (HEAD, or not JSON)
                    await send(start)
                    await send({"type": "http.response.body", "body": original})
                    return
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers += [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-language", language.encode()),
                    (b"vary", b"Accept-Language"),
                ]
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, localized)


def _localized_body(body: bytes, language: str) -> bytes | None:
    try:
        problem = json.loads(body)
    except ValueError:
        return None
    if not isinstance(problem, dict):
        return None
    return json.dumps(localize_problem(problem, language), ensure_ascii=False).encode()
