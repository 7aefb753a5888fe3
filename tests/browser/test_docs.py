"""The landing page and the API documentation in Chromium, with every other host blocked:
Swagger UI and ReDoc render the operations from the package's own assets."""

import httpx
import pytest


@pytest.fixture(autouse=True)
def patient(page):
    """Megabytes of script to parse and a document to build on a shared, busy machine."""
    page.set_default_timeout(180_000)


def _operations(live) -> list[tuple[str, str]]:
    # The first document a worker builds takes seconds on a busy machine.
    document = httpx.get(f"{live.base}/openapi.json", timeout=120).json()
    return [
        (operation["tags"][0], operation["operationId"])
        for item in document["paths"].values()
        for operation in item.values()
    ]


def test_swagger_ui_renders_every_operation(page, live):
    page.goto(f"{live.base}/docs")
    page.wait_for_selector("#operations-nearby-nearbyParking")
    operations = _operations(live)
    assert page.locator(".opblock").count() == len(operations)
    page.click("#operations-nearby-nearbyParking .opblock-summary")
    page.wait_for_selector("#operations-nearby-nearbyParking .parameters")
    assert "coordsys" in page.locator("#operations-nearby-nearbyParking").inner_text()


def test_redoc_renders_the_operations(page, live):
    page.goto(f"{live.base}/redoc")
    page.wait_for_selector("[id='operation/nearbyParking']")
    assert page.locator("[id^='operation/']").count() == len(_operations(live))
    assert "Civil air defense registry" in page.locator("h1").first.inner_text()


def test_the_landing_page_leads_to_the_docs(page, live):
    page.goto(f"{live.base}/")
    assert page.title() == "Civil air defense registry"
    # the stylesheet applied (served locally)
    assert page.eval_on_selector("main", "e => getComputedStyle(e).maxWidth") != "none"
    page.click("a[href='/docs']")
    page.wait_for_selector("#operations-health-healthz")
