"""Screenshots of /map and /console at a phone's and a desktop's width (run by
scripts/screenshots): python scripts/screenshots.py BASE_URL ADMIN_KEY OUT_DIR"""

import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
WIDTHS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
HEFEI = {"longitude": 117.2272, "latitude": 31.8206}


def until(page: Page, script: str, seconds: float = 180) -> None:
    """Polls from Python: the pages' CSP refuses the eval of Playwright's wait_for_function."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(script)
        time.sleep(0.2)


def main(base: str, key: str, out: Path) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    facility = httpx.get(
        f"{base}/v1/parking/nearby",
        params={"lon": HEFEI["longitude"], "lat": HEFEI["latitude"], "limit": 1},
    ).json()["items"][0]["facility_id"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width, options in WIDTHS.items():
            context = browser.new_context(
                **options, locale="zh-CN", geolocation=HEFEI, permissions=["geolocation"]
            )
            page = context.new_page()
            page.goto(f"{base}/map#13/31.8206/117.2272")
            until(page, "window.rfMap && window.rfMap.loaded()")
            page.click("#near-me")
            page.locator("#parking li").first.wait_for(timeout=120_000)
            page.locator("#shelters li").first.wait_for(timeout=120_000)
            until(page, "window.rfMap.loaded()")
            page.screenshot(path=out / f"map-{width}.png")

            page.goto(f"{base}/console")
            page.fill("#key", key)
            page.click("#sign-in button[type=submit]")
            page.locator("#facility-table tbody tr").first.wait_for(timeout=120_000)
            page.goto(f"{base}/console#facility/{facility}")
            page.locator("#signage-status").wait_for(timeout=120_000)
            page.get_by_text("修改记录").wait_for(timeout=120_000)
            page.screenshot(path=out / f"console-facility-{width}.png")
            page.goto(f"{base}/console#reports")
            page.locator("#report-results table, #report-results p").first.wait_for()
            page.screenshot(path=out / f"console-reports-{width}.png")
            page.goto(f"{base}/console#dashboards")
            for chart in ("signage-now", "signage-timeline", "overdue", "parking-by-year"):
                page.locator(f"#{chart} svg").wait_for(timeout=180_000)
            page.screenshot(path=out / f"console-dashboards-{width}.png", full_page=True)
            context.close()
        browser.close()
    for path in sorted(out.glob("*.png")):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
