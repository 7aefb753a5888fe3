"""The public map in Chromium: the API's own tiles drawn, the nearest car parks for a
fixed position, a problem report sent, and text from the registry never run as markup."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from tests.alerts.cap_samples import message, reference
from tests.browser.conftest import watched
from tests.live import wait_for

HEFEI = {"longitude": 117.23, "latitude": 31.82}
XSS = "<img src=x onerror=alert(1)>"
# lat,lon as CAP writes them: the city around HEFEI
AROUND_HEFEI = "31.70,117.10 31.70,117.40 31.95,117.40 31.95,117.10 31.70,117.10"


def rendered(page, layers: list[str]) -> int:
    return page.evaluate(
        "(layers) => window.rfMap && window.rfMap.loaded()"
        " ? window.rfMap.queryRenderedFeatures({layers}).length : 0",
        layers,
    )


def test_the_map_draws_divisions_and_car_parks_from_the_api_tiles(zh_page, live):
    page = zh_page
    response = httpx.get(f"{live.base}/map")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.goto(f"{live.base}/map#11/31.82/117.23")
    wait_for(lambda: rendered(page, ["district-lines", "city-lines"]) > 0, "no division outline")
    wait_for(lambda: rendered(page, ["parking-clusters"]) > 0, "no car park drawn")
    clusters = page.evaluate(
        "window.rfMap.queryRenderedFeatures({layers: ['parking-clusters']})"
        ".map(f => f.properties.count)"
    )
    assert all(count >= 1 for count in clusters)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.title() == "人防工程地图"


def test_near_me_lists_the_nearest_car_parks_in_english_when_preferred(browser, live):
    page, watch = watched(
        browser,
        (live.base,),
        locale="en-GB",
        geolocation=HEFEI,
        permissions=["geolocation"],
    )
    page.goto(f"{live.base}/map")
    page.click("#near-me")
    page.locator("#parking li").first.wait_for()
    expected = httpx.get(
        f"{live.base}/v1/parking/nearby",
        params={"lon": HEFEI["longitude"], "lat": HEFEI["latitude"], "limit": 10, "radius": 5000},
    ).json()["items"]
    shown = page.locator("#parking li button").all_inner_texts()
    assert shown == [item["name"] for item in expected]
    first = page.locator("#parking li").first
    assert " m · " in first.inner_text()
    links = first.locator(".nav a")
    assert links.first.inner_text() == "Amap"
    assert links.first.get_attribute("href").startswith("https://uri.amap.com/navigation?")
    assert links.first.get_attribute("rel") == "noopener noreferrer"
    page.locator("#shelters li").first.wait_for()
    assert page.locator("#near-me").inner_text() == "Car parks and shelters near me"
    assert page.locator("html").get_attribute("lang") == "en"
    page.context.close()
    assert not watch.blocked and not watch.errors, (watch.blocked, watch.errors)


def test_a_problem_report_is_sent_with_its_id(browser, live, registry):
    page, watch = watched(browser, (live.base,), geolocation=HEFEI, permissions=["geolocation"])
    page.goto(f"{live.base}/map")
    page.click("#near-me")
    page.locator("#parking li button").first.click()
    page.locator("#facility-panel:not([hidden])").wait_for()
    facility_id = int(page.locator("#parking li").first.get_attribute("data-facility-id"))
    page.select_option("#report-kind", "locked")
    page.fill("#report-form textarea", "入口上锁 (browser test)")
    page.fill("#report-form input[name=contact]", "13800000000")
    page.click("#report-form button[type=submit]")
    page.locator("#report-result .report-id").wait_for()
    report_id = page.locator("#report-result .report-id").get_attribute("data-report-id")
    assert report_id in page.locator("#report-result").inner_text()
    status = httpx.get(f"{live.base}/v1/reports/{report_id}").json()
    assert status["facility_id"] == facility_id
    assert status["kind"] == "locked" and status["status"] == "open"
    # its progress is a section of the map, at an address that can be kept
    page.locator("#report-result a.follow").click()
    progress = page.locator("#progress-panel")
    progress.locator("tr[data-step=created].done").wait_for()
    assert page.url.startswith(f"{live.base}/map?report={report_id}")
    assert report_id in progress.locator("h2").inner_text()
    assert progress.locator(".progress-status").inner_text() == "Now: open"
    assert progress.locator("tr[data-step=acknowledged] td").inner_text() == "not yet"
    admin = {"Authorization": f"Bearer {registry[1]}"}
    acknowledged = httpx.patch(
        f"{live.base}/v1/reports/{report_id}",
        json={"status": "acknowledged"},
        headers={**admin, "If-Match": "*"},
    )
    assert acknowledged.status_code == 200, acknowledged.text
    kept = page.url
    page.goto("about:blank")
    page.goto(kept)
    progress.locator("tr[data-step=acknowledged].done").wait_for()
    assert progress.locator(".progress-status").inner_text() == "Now: acknowledged"
    assert progress.locator("tr[data-step=resolved].pending").count() == 1
    page.context.close()
    assert not watch.blocked and not watch.errors, (watch.blocked, watch.errors)


def test_a_report_link_that_names_no_report_says_so_and_asks_nothing(zh_page, live):
    asked = []
    zh_page.on("request", lambda request: "/v1/reports/" in request.url and asked.append(request))
    for made_up in ("javascript:alert(1)", "//example.com/x", "../../v1/facilities", XSS):
        zh_page.goto(f"{live.base}/map?" + urlencode({"report": made_up}))
        progress = zh_page.locator("#progress-panel:not([hidden])")
        progress.locator(".error").wait_for()
        assert progress.locator(".error").inner_text() == "没有这个问题报告"
        assert made_up in progress.locator("h2").inner_text()
        assert zh_page.url.startswith(f"{live.base}/map?report=")
    # The API was never asked, so the page shows no validation problem and logs no error.
    assert asked == []


def test_a_name_made_of_markup_is_shown_as_text_and_runs_nothing(browser, live, registry):
    admin = {"Authorization": f"Bearer {registry[1]}"}
    nearest = httpx.get(
        f"{live.base}/v1/parking/nearby",
        params={"lon": 117.25, "lat": 31.86, "limit": 1},
    ).json()["items"][0]
    changed = httpx.patch(
        f"{live.base}/v1/facilities/{nearest['facility_id']}",
        json={"name": XSS, "address": XSS},
        headers={**admin, "If-Match": "*"},
    )
    assert changed.status_code == 200, changed.text
    page, watch = watched(
        browser,
        (live.base,),
        geolocation={"longitude": 117.25, "latitude": 31.86},
        permissions=["geolocation"],
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live.base}/map")
    page.click("#near-me")
    page.locator("#parking li button").first.wait_for()
    assert page.locator("#parking li button").first.inner_text() == XSS
    page.locator("#parking li button").first.click()
    wait_for(lambda: page.locator("#facility-name").inner_text() == XSS, "the name is not shown")
    assert page.locator("#facility-address").inner_text() == XSS
    assert page.locator("img[src=x]").count() == 0
    # the console shows it as text too
    page.goto(f"{live.base}/console")
    page.fill("#key", registry[1])
    page.click("#sign-in button[type=submit]")
    page.goto(f"{live.base}/console#facility/{nearest['facility_id']}")
    page.locator("#facility-title").wait_for()
    wait_for(lambda: page.locator("#facility-title").inner_text() == XSS, "the name is not shown")
    page.locator("#edit-form").wait_for()
    assert page.locator("#edit-form input[name=name]").input_value() == XSS
    assert page.locator("img[src=x]").count() == 0
    page.context.close()
    assert dialogs == []
    assert not watch.blocked and not watch.errors, (watch.blocked, watch.errors)


def test_an_alert_issued_while_the_map_is_open_shows_its_banner_and_shelters_first(
    browser, live, registry
):
    page, watch = watched(
        browser, (live.base,), locale="zh-CN", geolocation=HEFEI, permissions=["geolocation"]
    )
    page.goto(f"{live.base}/map")
    page.click("#near-me")
    page.locator("#shelters li").first.wait_for()
    assert page.locator("#alert").is_hidden()
    sent = datetime.now(UTC) - timedelta(minutes=1)
    drill = message("HF-MAP-DRILL", status="Exercise", polygon=AROUND_HEFEI, sent=sent)
    posted = httpx.post(
        f"{live.base}/v1/alerts",
        content=drill,
        headers={"Authorization": f"Bearer {registry[1]}", "Content-Type": "application/xml"},
    )
    assert posted.status_code == 201, posted.text
    try:
        page.locator("#alert:not([hidden])").wait_for()
        assert page.locator("#alert").inner_text() == "【演练】 合肥市防空警报"
        # the shelters' list comes before the car parks'
        order = page.evaluate(
            "['shelters-panel', 'parking-panel'].map(id =>"
            " document.getElementById(id).getBoundingClientRect().top)"
        )
        assert order[0] < order[1]
    finally:
        cancel = message(
            "HF-MAP-END", msg_type="Cancel", references=reference("HF-MAP-DRILL", sent)
        )
        httpx.post(
            f"{live.base}/v1/alerts",
            content=cancel,
            headers={"Authorization": f"Bearer {registry[1]}", "Content-Type": "application/xml"},
        )
    page.locator("#alert[hidden]").wait_for(state="attached")
    page.context.close()
    assert not watch.blocked and not watch.errors, (watch.blocked, watch.errors)


def test_a_refused_alert_stream_is_asked_again_and_the_alerts_read(browser, live, registry):
    page, watch = watched(browser, (live.base,), locale="zh-CN")
    refused: list[str] = []

    def stream(route) -> None:
        if not refused:  # the first stream is refused, as a worker holding all it may would
            refused.append(route.request.url)
            route.fulfill(status=503, content_type="application/problem+json", body="{}")
        else:
            route.continue_()

    page.route("**/v1/alerts/stream", stream)
    page.goto(f"{live.base}/map")
    for _ in range(600):  # Playwright runs the route's handler only while it is waited on
        if refused:
            break
        page.wait_for_timeout(200)
    assert refused, "the map opened no alert stream"
    sent = datetime.now(UTC) - timedelta(minutes=1)
    drill = message("HF-MAP-AGAIN", status="Exercise", polygon=AROUND_HEFEI, sent=sent)
    admin = {"Authorization": f"Bearer {registry[1]}", "Content-Type": "application/xml"}
    assert httpx.post(f"{live.base}/v1/alerts", content=drill, headers=admin).status_code == 201
    try:
        page.locator("#alert:not([hidden])").wait_for()
        assert "合肥市防空警报" in page.locator("#alert").inner_text()
    finally:
        cancel = message(
            "HF-MAP-AGAIN-END", msg_type="Cancel", references=reference("HF-MAP-AGAIN", sent)
        )
        httpx.post(f"{live.base}/v1/alerts", content=cancel, headers=admin)
    page.context.close()
    assert not watch.blocked
    # the refused stream's own line, and nothing else
    assert all("503" in error or "EventSource" in error for error in watch.errors), watch.errors
