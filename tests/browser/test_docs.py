"""The landing page and the API documentation in Chromium, with every other host blocked:
Swagger UI and ReDoc render the operations from the package's own assets, under a
Content-Security-Policy that they do not break."""

import httpx
import pytest


@pytest.fixture(autouse=True)
def patient(page):
    """Megabytes of script to parse and a document to build on a shared, busy machine."""
    page.set_default_timeout(180_000)


# Each violation of the page's policy, as the browser reports it to the page.
RECORD_VIOLATIONS = """
window.violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


def open_under_policy(page, url: str) -> None:
    """Go to `url`, which must be served with a policy that frames nowhere."""
    page.add_init_script(RECORD_VIOLATIONS)
    response = page.goto(url)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


def no_violations(page) -> None:
    assert page.evaluate("window.violations") == []


def _operations(live) -> list[tuple[str, str]]:
    # The first document a worker builds takes seconds on a busy machine.
    document = httpx.get(f"{live.base}/openapi.json", timeout=120).json()
    return [
        (operation["tags"][0], operation["operationId"])
        for item in document["paths"].values()
        for operation in item.values()
    ]


def test_swagger_ui_renders_every_operation(page, live):
    open_under_policy(page, f"{live.base}/docs")
    page.wait_for_selector("#operations-nearby-nearbyParking")
    operations = _operations(live)
    assert page.locator(".opblock").count() == len(operations)
    page.click("#operations-nearby-nearbyParking .opblock-summary")
    page.wait_for_selector("#operations-nearby-nearbyParking .parameters")
    assert "coordsys" in page.locator("#operations-nearby-nearbyParking").inner_text()
    # trying a request out calls the API under the policy too
    page.click("#operations-nearby-nearbyParking .try-out__btn")
    page.fill("#operations-nearby-nearbyParking input[placeholder=lon]", "117.23")
    page.fill("#operations-nearby-nearbyParking input[placeholder=lat]", "31.82")
    page.click("#operations-nearby-nearbyParking .execute")
    page.wait_for_selector(
        "#operations-nearby-nearbyParking .live-responses-table tr.response .response-col_status"
    )
    assert (
        "200"
        in page.locator(
            "#operations-nearby-nearbyParking .live-responses-table tr.response .response-col_status"
        ).first.inner_text()
    )
    no_violations(page)


def test_redoc_renders_the_operations(page, live):
    open_under_policy(page, f"{live.base}/redoc")
    page.wait_for_selector("[id='operation/nearbyParking']")
    assert page.locator("[id^='operation/']").count() == len(_operations(live))
    assert "Civil air defense registry" in page.locator("h1").first.inner_text()
    # the search (ReDoc runs it in a worker)
    page.locator("input[placeholder='Search...']").press_sequentially("nearby")
    page.wait_for_selector(
        "[data-role='search:results'] li[data-item-id='tag/nearby/operation/nearbyParking']"
    )
    no_violations(page)


def test_the_landing_page_leads_to_the_docs(page, live):
    open_under_policy(page, f"{live.base}/")
    assert page.title() == "Civil air defense registry"
    # the stylesheet applied (served locally)
    assert page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth") != "none"
    no_violations(page)
    page.click("a[href='/docs']")
    page.wait_for_selector("#operations-health-healthz")


def test_the_landing_page_is_chinese_in_a_chinese_browser(zh_page, live):
    open_under_policy(zh_page, f"{live.base}/")
    assert zh_page.title() == "人防工程登记系统"
    assert zh_page.locator("html").get_attribute("lang") == "zh-CN"
    assert (
        zh_page.locator("a[href='/map']").inner_text()
        == "公众地图：有空位的人防车库、掩蔽所、问题报告"
    )
    no_violations(zh_page)
