"""The browser harness itself: Chromium starts, reaches the server and nothing else."""

from tests.browser.conftest import watched


def test_a_page_reaches_the_server_and_nothing_else(browser, live):
    page, watch = watched(browser, (live.base,))
    page.goto(f"{live.base}/healthz")
    assert "ok" in page.content().lower()
    page.evaluate("fetch('https://cdn.jsdelivr.net/npm/x.js').catch(() => null)")
    page.wait_for_timeout(200)
    page.context.close()
    assert watch.blocked == ["https://cdn.jsdelivr.net/npm/x.js"]
