import importlib
import pkgutil
import string

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import app
from app.config import Settings
from app.core.errors import AppError
from app.core.i18n import LOCALE_DIR, catalogue, negotiate, pointer, translate
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
