"""Pages in a real browser: Playwright for Python driving the distribution's Chromium
(`/usr/bin/chromium`, installed by scripts/test; Playwright never downloads one) against
`rf serve` on a committed demo registry. Requests to any host but the server are blocked
and recorded, as on an intranet with no Internet, and every test fails on a console error
or a blocked request unless it asks for them."""

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.live import Server, served_registry

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which a
# closed network refuses; --no-sandbox because the suite may run as root.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Watch:
    """What a page did that a test may not expect: console errors, uncaught exceptions and
    requests to hosts other than the server's."""

    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


# Per module, not per session: Playwright's sync API keeps an event loop running while it
# is open, and the tests after these that call asyncio.run() could not start their own.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def registry(make_database) -> tuple[str, str]:
    """The demo registry behind every page test, with the division boundaries the map
    draws: (database URL, an admin key)."""
    return served_registry(make_database)


@pytest.fixture(scope="session")
def live(registry, tmp_path_factory) -> Iterator[Server]:
    server = Server(registry[0], {}, tmp_path_factory.mktemp("browser"))
    yield server
    server.stop()


def watched(browser: Browser, allowed: tuple[str, ...], **context) -> tuple[Page, Watch]:
    """A fresh page whose requests may reach only the `allowed` origins."""
    watch = Watch()
    page = browser.new_context(**context).new_page()
    # A shared machine under load can take a minute to render a page: every wait is on
    # a condition, and this only bounds how long a broken page is waited for.
    page.set_default_timeout(120_000)

    def route(route) -> None:
        if route.request.url.startswith(allowed) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            watch.blocked.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda m: m.type == "error" and watch.errors.append(m.text))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    return page, watch


def _checked(browser: Browser, live: Server, **context) -> Iterator[Page]:
    page, watch = watched(browser, (live.base,), **context)
    yield page
    page.context.close()
    assert not watch.blocked, f"requests to other hosts: {watch.blocked}"
    assert not watch.errors, f"console errors: {watch.errors}"


@pytest.fixture
def page(browser: Browser, live: Server) -> Iterator[Page]:
    """A page that may reach only the server; it fails the test on a console error or an
    attempt to reach another host."""
    yield from _checked(browser, live)


@pytest.fixture
def zh_page(browser: Browser, live: Server) -> Iterator[Page]:
    """The same, in a browser that prefers Chinese (zh-CN), as a user in China has it."""
    yield from _checked(browser, live, locale="zh-CN")
