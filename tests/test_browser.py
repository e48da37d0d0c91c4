"""The built website renders offline in a real browser.

Serves the html of the session's book build on 127.0.0.1, blocks every request to any
other host, and checks in headless Chromium that the pages show their title and their
math, that notebook pages carry a Colab launch link, and that no local file is missing.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import BOOK, load_config

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
WORLD = BOOK / "00-the-world" / "the-world.ipynb"
SCREENSHOT = Path("/tmp/intro.png")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass


@pytest.fixture(scope="module")
def site(book_build):
    """The built html served over http://127.0.0.1:<free port>/."""
    if not (book_build.html / "book" / "intro.html").is_file():
        pytest.fail(f"the book did not build:\n{book_build.log[-3000:]}")
    handler = functools.partial(_QuietHandler, directory=str(book_build.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("LMNOTES_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One page opened offline: requests to other hosts are blocked and recorded."""

    def __init__(self, browser, url: str):
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", self._response)
        self.page.goto(url, wait_until="load")

    def _route(self, route):
        host = urlparse(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def local_failures(self) -> list[str]:
        return [f for f in self.failed if urlparse(f.split(" ")[0]).hostname == "127.0.0.1"]

    def close(self):
        self.context.close()


def _expect_math(visit: Visit):
    visit.page.wait_for_selector("mjx-container", state="attached", timeout=30_000)
    assert visit.page.locator("mjx-container").count() > 0
    # MathJax fills in the glyphs with its own fonts; an unrendered formula keeps its $$.
    assert "$$" not in visit.page.locator("article").inner_text()


def test_intro_renders_offline(browser, site):
    visit = Visit(browser, f"{site}/book/intro.html")
    try:
        assert "LM Notes" in visit.page.title()
        assert "LM Notes" in visit.page.locator("h1").first.inner_text()
        _expect_math(visit)
        visit.page.wait_for_load_state("networkidle")
        visit.page.screenshot(path=str(SCREENSHOT), full_page=False)
        assert not visit.local_failures(), f"files missing from the site: {visit.local_failures()}"
        assert not visit.blocked, f"the page asks the network for: {visit.blocked}"
    finally:
        visit.close()


def test_world_notebook_page_renders_offline(browser, site):
    if not WORLD.exists():
        pytest.skip(f"{WORLD.relative_to(BOOK.parent)} does not exist yet")
    page_path = WORLD.relative_to(BOOK.parent).with_suffix(".html").as_posix()
    visit = Visit(browser, f"{site}/{page_path}")
    try:
        assert "LM Notes" in visit.page.title()
        links = visit.page.locator('a[href*="colab.research.google.com"]')
        assert links.count() > 0, "no Colab launch link on the notebook page"
        repo = urlparse(load_config()["repository"]["url"]).path.strip("/")
        expected = f"https://colab.research.google.com/github/{repo}/blob/main/{WORLD.relative_to(BOOK.parent).as_posix()}"
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert expected in hrefs, f"the Colab link should be {expected}, got {hrefs}"
        if visit.page.locator(".math").count():
            _expect_math(visit)
        visit.page.wait_for_load_state("networkidle")
        assert not visit.local_failures(), f"files missing from the site: {visit.local_failures()}"
        scripts = [u for u in visit.blocked if u.endswith(".js")]
        assert not scripts, f"the page needs scripts from the network: {scripts}"
    finally:
        visit.close()
