import ast
import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import app
from app.config import Settings
from app.core.errors import STORED_VALUE, AppError
from app.core.i18n import (
    FIELD_PREFIX,
    LOCALE_DIR,
    PLACEHOLDER,
    catalogue,
    negotiate,
    pointer,
    translate,
)
from app.db.replicas import Reads
from app.main import create_app

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
PO = LOCALE_DIR / "zh" / "LC_MESSAGES" / "messages.po"


def error_classes() -> list[type[AppError]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        importlib.import_module(module.name)
    found, todo = [], [AppError]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda c: (c.__module__, c.__qualname__))


def test_every_error_class_has_a_translation():
    """A new error class needs its title, and its `template` if it declares one, in the
    catalogue: add `msgid "<English>"` / `msgstr "<中文>"` to app/core/locale/zh/LC_MESSAGES/
    messages.po, with the template's {names} kept."""
    messages = catalogue("zh").messages
    missing = []
    for cls in error_classes():
        for what, text in (("title", cls.title), ("template", cls.__dict__.get("template"))):
            if text is not None and text not in messages:
                missing.append(f"{cls.__module__}.{cls.__qualname__}.{what}: msgid {text!r}")
    assert not missing, "add to messages.po:\n" + "\n".join(missing)


# Calls whose argument is a problem's detail or a field's message: the error classes (their
# detail), `InvalidInput.on(field, message)`, `FieldError(field, message)`, the handlers'
# `problem_response(detail=...)`, `Message(template)` (app/core/messages.py), the
# planning readers' `errors.add(field, message)`, and a validator's `ValueError(message)` or
# `PydanticCustomError(type, message)`, which pydantic words as a field's message. Each
# gives the position of its argument and its keyword.
MESSAGE_ARGUMENTS = {
    "ValueError": (0, None),
    "PydanticCustomError": (1, "message_template"),
    "on": (1, "message"),
    "FieldError": (1, "message"),
    "problem_response": (None, "detail"),
    "Message": (0, "template"),
    "add": (1, "message"),
}
# Texts the code raises that are no sentence to translate, each with why. (A text of
# values alone, "{message}", passes another message through and is left out anyway.)
NOT_SENTENCES = {
    # A rule's template worded from its fields' names: each rule's own is in the catalogue.
    "{{smaller}} m² exceeds {larger} {{larger}} m²",
    # Said to the operator at start-up or to a developer, never in an answer.
    "a rate table holds {FIELDS} doubles a slot, {PROBES} slots or more",
    "a stream count table holds {CLIENT_ROWS} ints a column",
    "{origin} is not an origin such as https://map.example.org",
    "{id}: {name} is no property name",
}


def _name(node: ast.expr | None) -> str | None:
    return getattr(node, "id", None) or getattr(node, "attr", None)


def _templates(node: ast.expr, constants: dict[str, str]) -> list[str] | None:
    """The message an argument words, as a template ({expr} -> {name}, a module's text
    constant as its text); None when it is no literal (a value passed through, checked
    where it is worded)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name | ast.Attribute) and _name(node) in constants:
        return [constants[_name(node)]]
    if isinstance(node, ast.JoinedStr):
        text = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                text += part.value
            elif part.format_spec is None and _name(part.value) in constants:
                text += constants[_name(part.value)]
            else:  # a FormattedValue: named as the catalogue names it
                value = part.value
                while isinstance(value, ast.Call | ast.Subscript):
                    value = value.func if isinstance(value, ast.Call) else value.value
                name = _name(value) or "value"
                text += "{" + name + "}"
        return [text]
    if isinstance(node, ast.IfExp):
        body, orelse = _templates(node.body, constants), _templates(node.orelse, constants)
        return None if body is None or orelse is None else body + orelse
    return None


def raised_messages() -> tuple[dict[str, str], list[str]]:
    """Every detail or field message worded in app/, as a template, with where; and where
    one is built in pieces ("..." + ...), which no template matches."""
    classes = {c.__name__ for c in error_classes()} | {"AppError"}
    found, pieces = {STORED_VALUE: "app/core/errors.py"}, []
    root = Path(app.__file__).parent
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in root.rglob("*.py")}
    constants: dict[str, str] = {}  # a module's texts, NAME = "..." or f"..."
    for tree in trees.values():
        for node in tree.body:
            target = node.targets[0] if isinstance(node, ast.Assign) else None
            if not (isinstance(target, ast.Name) and target.id.lstrip("_").isupper()):
                continue
            if texts := _templates(node.value, constants):
                constants[target.id] = texts[0]
    for path, tree in sorted(trees.items()):
        where = path.relative_to(root.parent)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            callee = _name(call.func)
            if callee in classes:
                position, keyword = 0, "detail"
            elif callee in MESSAGE_ARGUMENTS:
                position, keyword = MESSAGE_ARGUMENTS[callee]
                receiver = getattr(call.func, "value", None)
                if callee == "on" and _name(receiver) not in classes:
                    continue
                if callee == "add" and _name(receiver) != "errors":
                    continue
            else:
                continue
            arguments = [k.value for k in call.keywords if k.arg and k.arg == keyword]
            if position is not None and len(call.args) > position:
                arguments.append(call.args[position])
            for argument in arguments:
                if isinstance(argument, ast.BinOp):
                    pieces.append(f"{where}:{call.lineno}")
                for text in _templates(argument, constants) or []:
                    found.setdefault(text, f"{where}:{call.lineno}")
    return found, pieces


def _covered(text: str) -> bool:
    """Whether the catalogue translates a template as i18n.Catalogue.text reads it: an
    entry, a template of its own, each part of a "; " list, or the rest after a field
    (named, or a value: "{field}: ...")."""
    found = catalogue("zh")
    if text in found.messages or any(t.pattern.fullmatch(text) for t in found.templates):
        return True
    if "; " in text:
        return all(_covered(part) for part in text.split("; "))
    field = FIELD_PREFIX.fullmatch(text) or re.fullmatch(r"\{\w+\}: (?P<rest>.+)", text)
    return field is not None and _covered(field["rest"])


def test_every_raised_message_has_a_translation():
    """A detail or field message worded in app/ needs its msgid in messages.po: its text
    with each {expression} of an f-string named, as the catalogue's templates name values."""
    messages, pieces = raised_messages()
    assert len(messages) > 200  # the walk finds the code's messages
    assert not pieces, "word each as one f-string:\n" + "\n".join(pieces)
    missing = [
        f"{where}: msgid {text!r}"
        for text, where in sorted(messages.items(), key=lambda item: item[1])
        if text not in NOT_SENTENCES and PLACEHOLDER.sub("", text).strip() and not _covered(text)
    ]
    assert not missing, "add to messages.po:\n" + "\n".join(missing)


def test_the_catalogue_is_sound():
    """Every entry translated and not fuzzy; a translation uses only the names its msgid
    gives, so that formatting it cannot fail."""
    with PO.open("rb") as handle:
        po = read_po(handle, locale="zh")
    for message in po:
        if not message.id:
            continue
        assert message.string and not message.fuzzy, message.id
        names = {n for _, n, _, _ in string.Formatter().parse(message.id) if n}
        used = {n for _, n, _, _ in string.Formatter().parse(message.string) if n}
        assert used <= names, message.id


@pytest.mark.parametrize(
    ("header", "default", "expected"),
    [
        (None, "en", "en"),
        (None, "zh", "zh"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "en", "zh"),
        ("zh-Hans", "en", "zh"),
        ("en-US,en;q=0.9,zh;q=0.5", "zh", "en"),
        ("fr-FR, de;q=0.8", "zh", "zh"),
        ("fr, zh;q=0.1", "en", "zh"),
        ("*", "zh", "zh"),
        ("zh;q=0, en", "zh", "en"),
        ("zh;q=bogus", "en", "en"),
    ],
)
def test_accept_language_negotiation(header, default, expected):
    assert negotiate(header, default) == expected


def test_templates_read_values_and_nested_messages():
    assert translate("facility 28 does not exist", "zh") == "设施 28 不存在"
    assert (
        translate("code: must not be blank; name: Field required", "zh")
        == "工程编号（/code）：不能为空；工程名称（/name）：必填"
    )
    assert translate("Value error, position [1.0, 2.0] lies outside China", "zh") == (
        "取值错误：位置 [1.0, 2.0] 在中国境外"
    )
    assert translate("no words like these", "zh") == "no words like these"
    assert translate("facility 28 does not exist", "en") == "facility 28 does not exist"
    assert pointer("body.entrances.0.kind") == "/entrances/0/kind"
    assert pointer("query.limit") is None


def test_problems_in_chinese_when_the_caller_prefers_it(client):
    response = client.get("/v1/facilities/999999", headers=ZH)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["content-language"] == "zh"
    assert "Accept-Language" in response.headers["vary"]
    problem = response.json()
    assert problem["title"] == "未找到"
    assert problem["detail"] == "设施 999999 不存在"
    assert problem["type"] == "/problems/not-found" and problem["status"] == 404
    english = client.get("/v1/facilities/999999").json()
    assert english["title"] == "Not found"
    assert english["detail"] == "facility 999999 does not exist"


def test_field_errors_give_pointer_and_chinese_label(client, payload):
    body = payload(name="", nuclear_level="9", entrances=[{"kind": "hatch"}])
    problem = client.post("/v1/facilities", json=body, headers=ZH).json()
    assert problem["title"] == "输入无效"
    by_pointer = {e["pointer"]: e for e in problem["errors"]}
    assert by_pointer["/nuclear_level"]["label"] == "核防护等级"
    assert by_pointer["/nuclear_level"]["field"] == "body.nuclear_level"
    assert by_pointer["/nuclear_level"]["message"].startswith("应为 ")
    assert by_pointer["/entrances/0/kind"]["label"] == "类型"
    assert "核防护等级（/nuclear_level）：应为" in problem["detail"]
    # English answers stay as they were: field and message.
    english = client.post("/v1/facilities", json=body).json()
    assert all(set(e) == {"field", "message"} for e in english["errors"])


def test_the_gate_and_the_body_limit_answer_in_chinese_too(app, public_client):
    denied = public_client.get(
        "/v1/admin/keys", headers={**ZH, "Authorization": "Bearer rf_not_a_key"}
    )
    assert denied.status_code == 401
    assert denied.json()["title"] == "需要身份验证"
    assert denied.headers["www-authenticate"] == 'Bearer realm="rf"'
    too_big = public_client.post(
        "/v1/facilities", content=b"x", headers={**ZH, "Content-Length": "99999999"}
    )
    assert too_big.status_code == 413
    assert too_big.json()["title"] == "请求体过大"
    assert too_big.json()["detail"].startswith("请求体最多 ")


def test_the_default_language_is_configurable(settings, connection):
    from sqlalchemy.orm import sessionmaker

    chinese = create_app(Settings(**{**settings.model_dump(), "default_language": "zh"}))
    chinese.state.sessionmaker = sessionmaker(connection, join_transaction_mode="create_savepoint")
    chinese.state.reads = Reads(chinese.state.sessionmaker)
    client = TestClient(chinese)
    assert client.get("/v1/facilities/999999").json()["detail"] == "设施 999999 不存在"
    english = client.get("/v1/facilities/999999", headers={"Accept-Language": "en"})
    assert english.json()["detail"] == "facility 999999 does not exist"
    assert english.headers.get("content-language") is None


def test_an_ogc_crs_refusal_in_chinese(client):
    response = client.get(
        "/ogc/collections/facilities/items",
        params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4555"},
        headers=ZH,
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("crs：不支持 'http://www.opengis.net/def/crs/EPSG/0/4555'；请使用 ")
    assert detail.endswith(
        "或 CGCS2000 3 度带高斯-克吕格投影带 http://www.opengis.net/def/crs/EPSG/0/4513 至 "
        "http://www.opengis.net/def/crs/EPSG/0/4554"
    )


def test_an_import_problem_in_chinese(client):
    bad_encoding = client.post(
        "/v1/imports",
        params={"filename": "台账.csv", "encoding": "klingon"},
        content=b"x",
        headers=ZH,
    )
    assert bad_encoding.status_code == 400
    assert bad_encoding.json()["detail"] == "未知的编码 'klingon'"
    mapping = client.post(
        "/v1/imports",
        params={"filename": "台账.csv", "mapping": '["code"]'},
        content=b"x",
        headers=ZH,
    )
    assert mapping.status_code == 400
    assert mapping.json()["detail"] == "mapping：须为“表头 -> 字段名”的对象"


def test_a_planning_problem_in_chinese(client):
    rows = "lon,lat,residents\n117.2,31.8,100,7\nx,31.8,100\n"
    response = client.post(
        "/v1/planning/population-layers",
        params={"name": "居民"},
        content=rows.encode(),
        headers={**ZH, "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["detail"] == (
        "CSV 文件中有 2 个问题：第 1 行：值多于列；第 2 行 lon：lon/lat 'x', '31.8' 不是数"
    )
    assert [e["message"] for e in problem["errors"]] == ["值多于列", "lon/lat 'x', '31.8' 不是数"]
