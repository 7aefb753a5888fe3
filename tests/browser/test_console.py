"""The managers' console in Chromium: the report queue, a sign marked installed, the
conflict view of an edit whose ETag went stale, controls only for works the key may change,
dashboards by the level of the key's scope, and the charts' CSV cells."""

import io
import re

import httpx
import pytest
from PIL import Image

from tests.browser.conftest import watched
from tests.live import wait_for

HEFEI = "340100"


@pytest.fixture(scope="module")
def manager(live, registry) -> str:
    """A manager key for Hefei."""
    created = httpx.post(
        f"{live.base}/v1/admin/keys",
        json={"name": "合肥市国防动员办 (browser)", "role": "manager", "admin_codes": [HEFEI]},
        headers={"Authorization": f"Bearer {registry[1]}"},
    )
    assert created.status_code == 201, created.text
    return created.json()["key"]


def sign_in(page, live, key: str, view: str = "") -> None:
    page.goto(f"{live.base}/console")
    page.fill("#key", key)
    page.click("#sign-in button[type=submit]")
    page.locator("#tabs:not([hidden])").wait_for()
    if view:
        page.goto(f"{live.base}/console#{view}")


def test_a_report_from_the_public_is_acknowledged_and_resolved(zh_page, live, manager):
    facility = httpx.get(
        f"{live.base}/v1/parking/nearby", params={"lon": 117.28, "lat": 31.86, "limit": 1}
    ).json()["items"][0]
    sent = httpx.post(
        f"{live.base}/v1/facilities/{facility['facility_id']}/reports",
        json={"kind": "missing_sign", "description": "入口标识缺失 <b>x</b>"},
    )
    assert sent.status_code == 201, sent.text
    report_id = sent.json()["id"]
    page = zh_page
    sign_in(page, live, manager, "reports")
    row = page.locator(f"tr[data-report-id='{report_id}']")
    row.wait_for()
    assert "合肥市国防动员办 (browser)（manager）" in page.locator("#scope").inner_text()
    assert HEFEI in page.locator("#scope").inner_text()
    assert row.locator(".report-text").inner_text() == "入口标识缺失 <b>x</b>"
    row.get_by_role("button", name="受理").click()
    wait_for(lambda: row.locator(".report-status").inner_text() == "已受理", "not acknowledged")
    row.locator("input[name=note]").fill("已补装标识")
    row.get_by_role("button", name="解决").click()
    wait_for(lambda: row.locator(".report-status").inner_text() == "已解决", "not resolved")
    status = httpx.get(f"{live.base}/v1/reports/{report_id}").json()
    assert status["status"] == "resolved" and status["resolution_note"] == "已补装标识"


def _city_progress(page, live, city_name: str) -> tuple[int, int]:
    """A city's works with complete signage, and all, from the province's dashboard."""
    page.goto(f"{live.base}/console#dashboards")
    form = page.locator("#dashboard-form")
    form.locator("input[name=admin_code]").fill("340000")
    form.get_by_role("button", name="查询").click()
    bar = page.locator(f"#signage-now g[data-label='{city_name}'] text").nth(1)
    bar.wait_for()
    complete, total = re.match(r"([\d,]+)/([\d,]+)", bar.text_content()).groups()
    return int(complete.replace(",", "")), int(total.replace(",", ""))


def test_a_sign_marked_installed_completes_the_facility_and_moves_the_city(
    zh_page, live, registry, manager
):
    admin = {"Authorization": f"Bearer {registry[1]}"}
    # a car park in Hefei whose one damaged sign, once repaired, completes it
    incomplete = httpx.get(
        f"{live.base}/v1/signage/incomplete",
        params={"admin_code": HEFEI, "limit": 500},
        headers=admin,
    ).json()["items"]
    for candidate in incomplete:
        if len(candidate["missing"]) != 1 or candidate["damaged"] != 1:
            continue
        (missing,) = candidate["missing"]
        signage = httpx.get(
            f"{live.base}/v1/facilities/{candidate['facility_id']}/signage", headers=admin
        ).json()
        (damaged,) = [sign for sign in signage["signs"] if sign["status"] == "damaged"]
        if (
            signage["used_for_parking"]
            and damaged["kind"] == missing["kind"]
            and missing["installed"] + 1 == missing["min_count"]
        ):
            break
    else:
        pytest.fail("the demo data has no car park one repaired sign short of complete")
    facility_id = candidate["facility_id"]
    page = zh_page

    sign_in(page, live, manager)
    before = _city_progress(page, live, "合肥市")
    page.goto(f"{live.base}/console#facility/{facility_id}")
    status = page.locator("#signage-status")
    status.wait_for()
    assert status.inner_text() == "标识不全"
    row = page.locator(f"tr[data-sign-id='{damaged['id']}']")
    row.locator("select").select_option("installed")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), "#1f5fbf").save(photo, "PNG")
    row.locator("input[type=file]").set_input_files(
        files=[{"name": "sign.png", "mimeType": "image/png", "buffer": photo.getvalue()}]
    )
    row.get_by_role("button", name="保存").click()
    wait_for(lambda: status.inner_text() == "标识齐全", "the facility did not become complete")
    # the photo was stored and is shown
    image = page.locator(f"tr[data-sign-id='{damaged['id']}'] .photos img")
    image.wait_for()
    wait_for(lambda: image.evaluate("img => img.complete && img.naturalWidth") == 64, "no photo")
    after = _city_progress(page, live, "合肥市")
    assert after == (before[0] + 1, before[1])


def test_a_stale_etag_shows_who_changed_what_and_offers_the_latest(
    browser, live, registry, manager
):
    admin = {"Authorization": f"Bearer {registry[1]}"}
    facility = httpx.get(
        f"{live.base}/v1/facilities", params={"admin_code": HEFEI, "limit": 1}, headers=admin
    ).json()["items"][0]
    # The version the manager reads was written a moment before: its audit event is
    # timestamped after the version's updated_at, so only versions tell it from the newer.
    read = httpx.patch(
        f"{live.base}/v1/facilities/{facility['id']}",
        json={"managing_authority": "合肥市国防动员办公室"},
        headers={**admin, "If-Match": f'"{facility["version"]}"'},
    )
    assert read.status_code == 200, read.text
    page, watch = watched(browser, (live.base,), locale="zh-CN")
    sign_in(page, live, manager, f"facility/{facility['id']}")
    form = page.locator("#edit-form")
    form.wait_for()
    # someone else saves first
    changed = httpx.patch(
        f"{live.base}/v1/facilities/{facility['id']}",
        json={"keyholder_name": "王立新"},
        headers={**admin, "If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    form.locator("input[name=keyholder_phone]").fill("13700000000")
    form.get_by_role("button", name="保存").click()
    conflict = page.locator("#conflict")
    conflict.wait_for()
    assert "已被他人修改" in conflict.inner_text()
    wait_for(lambda: "keyholder_name" in conflict.inner_text(), "the change is not shown")
    assert "王立新" in conflict.inner_text() and "drill" in conflict.inner_text()
    version = read.json()["version"]
    assert f"你修改的是第 {version} 版，现在是第 {version + 1} 版" in conflict.inner_text()
    # the write of the version edited is not among the changes since
    assert "managing_authority" not in conflict.inner_text()
    assert conflict.locator("ul").count() == 1
    conflict.get_by_role("button", name="重新载入最新版本").click()
    wait_for(
        lambda: form.locator("input[name=keyholder_name]").input_value() == "王立新",
        "the latest version is not shown",
    )
    # nothing of the refused edit was written
    latest = httpx.get(f"{live.base}/v1/facilities/{facility['id']}", headers=admin).json()
    assert latest["keyholder_phone"] == facility["keyholder_phone"]
    page.context.close()
    # Chromium reports the refused PATCH on its console; nothing else may be there
    assert watch.errors == [
        "Failed to load resource: the server responded with a status of 412 (Precondition Failed)"
    ]
    assert not watch.blocked


def _public_work_outside(admin: dict, live, code: str) -> dict:
    """A public work of `code` with signs."""
    works = httpx.get(
        f"{live.base}/v1/facilities", params={"admin_code": code, "limit": 50}, headers=admin
    ).json()["items"]
    for work in works:
        if work["visibility"] != "public":
            continue
        signage = httpx.get(f"{live.base}/v1/facilities/{work['id']}/signage").json()
        if signage["signs"]:
            return work
    pytest.fail(f"the demo data has no public work with signs in {code}")


def test_a_work_outside_the_keys_scope_is_shown_read_only(zh_page, live, registry, manager):
    admin = {"Authorization": f"Bearer {registry[1]}"}
    # a work in Wuhu, which the Hefei manager may read but not change
    outside = _public_work_outside(admin, live, "340200")
    inside = httpx.get(
        f"{live.base}/v1/facilities", params={"admin_code": HEFEI, "limit": 1}, headers=admin
    ).json()["items"][0]
    refused = httpx.patch(
        f"{live.base}/v1/facilities/{outside['id']}",
        json={"keyholder_name": "x"},
        headers={"Authorization": f"Bearer {manager}", "If-Match": "*"},
    )
    assert refused.status_code == 403, refused.text
    page = zh_page
    sign_in(page, live, manager, f"facility/{outside['id']}")
    page.locator("#read-only").wait_for()
    assert page.locator("#read-only").inner_text() == "只读：此设施不在本密钥的管理范围内"
    page.locator("#signage-status").wait_for()
    assert page.locator("#edit-form").count() == 0
    assert page.locator("#add-sign").count() == 0
    assert "仅对管理此设施的密钥可见" in page.locator("#view").inner_text()
    signs = page.locator("tr[data-sign-id]")
    assert signs.count() > 0
    assert all(select.is_disabled() for select in signs.locator("select").all())
    assert signs.locator("input[type=file], button").count() == 0
    # a work of its own scope has them
    page.goto(f"{live.base}/console#facility/{inside['id']}")
    page.locator("#add-sign").wait_for()
    assert page.locator("#edit-form").count() == 1
    assert page.locator("#read-only").count() == 0


def _district_with_works(admin: dict, live) -> dict:
    progress = httpx.get(
        f"{live.base}/v1/signage/progress",
        params={"admin_code": HEFEI, "parking_only": "true"},
        headers=admin,
    ).json()
    return max(progress["groups"], key=lambda group: group["total"] - group["complete"])


def test_dashboards_follow_the_level_of_the_keys_scope(browser, live, registry, manager):
    admin = {"Authorization": f"Bearer {registry[1]}"}
    district = _district_with_works(admin, live)
    created = httpx.post(
        f"{live.base}/v1/admin/keys",
        json={"name": "区人防办 (browser)", "role": "manager", "admin_codes": [district["code"]]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    incomplete = httpx.get(
        f"{live.base}/v1/signage/incomplete",
        params={"admin_code": district["code"], "limit": 1000},
        headers=admin,
    ).json()["items"]
    assert incomplete
    page, watch = watched(browser, (live.base,), locale="zh-CN")
    # a city's key: its districts
    sign_in(page, live, manager, "dashboards")
    page.locator("#signage-now h2").wait_for()
    assert page.locator("#signage-now h2").inner_text() == "各区县标识完成情况"
    assert page.locator(f"#signage-now g[data-label='{district['name']}']").count() == 1
    page.locator("#signage-timeline h2").wait_for()
    assert page.locator("#signage-timeline h2").inner_text().startswith("各区县")
    page.locator("#overdue h2").wait_for()
    assert page.locator("#overdue h2").inner_text() == "各区县维护逾期设施"
    # a district's key: its own works
    page.click("#sign-out")
    sign_in(page, live, created.json()["key"], "dashboards")
    page.locator("#signage-now h2").wait_for()
    assert page.locator("#signage-now h2").inner_text() == "本区县标识不全的工程"
    shown = page.locator("#signage-now tr[data-facility-id]")
    wait_for(lambda: shown.count() == len(incomplete), "the district's works are not listed")
    assert {int(row.get_attribute("data-facility-id")) for row in shown.all()} == {
        work["facility_id"] for work in incomplete
    }
    assert (
        f"{district['complete']}/{district['total']}" in page.locator("#signage-now").inner_text()
    )
    page.locator("#overdue h2").wait_for()
    assert page.locator("#overdue h2").inner_text() == "本区县维护逾期的工程"
    page.locator("#signage-timeline h2").wait_for()
    assert page.locator("#signage-timeline polyline").count() == 1
    assert "各市" not in page.locator("#view").inner_text()
    page.context.close()
    assert not watch.blocked and not watch.errors, (watch.blocked, watch.errors)


def test_chart_csv_keeps_numbers_and_neutralises_formulas(page, live):
    page.goto(f"{live.base}/console")
    page.locator("#sign-in").wait_for()
    cells = {
        -12: "-12",
        "-0.5": "-0.5",
        0.25: "0.25",
        "+3": "+3",
        "1e-3": "1e-3",
        "=SUM(A1:A9)": "'=SUM(A1:A9)",
        "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
        "-1+2": "'-1+2",
        "-": "'-",
        "@x": "'@x",
        "\tx": "'\tx",
        "\r=1": '"\'\r=1"',
        "a,b": '"a,b"',
        None: "",
    }
    shown = page.evaluate("(values) => values.map(Charts.csvCell)", list(cells))
    assert dict(zip(cells, shown, strict=True)) == cells
    document = page.evaluate('Charts.csv(["code", "ratio"], [["=1", -0.5], ["340100", -3]])')
    assert document == "code,ratio\r\n'=1,-0.5\r\n340100,-3\r\n"
