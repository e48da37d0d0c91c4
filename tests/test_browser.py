"""The website readers get renders offline in a real browser.

Serves the html of the session's build of the book (from the executed notebooks, see
conftest.py) on 127.0.0.1, blocks every request to any other host, and opens every page of the
table of contents in headless Chromium. Each page must show its title and its math, raise no
JavaScript error, and load every file it asks the site for. A notebook page must also show its
outputs (each output area the executed notebook has, figures loaded, widgets drawn from their
saved state) and carry launch buttons (Colab, Binder, live code) for its own notebook. Search
must find a chapter's term. A screenshot of every page lands in _build/screenshots/.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from conftest import ROOT, SCREENSHOTS, lmnotes_book, load_config, repo_url

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGES = lmnotes_book.toc_files()
NOTEBOOK_PAGES = [p for p in PAGES if (ROOT / f"{p}.ipynb").is_file()]
# Console messages that are not errors of the site: the theme resets an unset colour mode.
BENIGN_CONSOLE = (re.compile(r"Got invalid theme mode"),)
# The term and the page search must find it on.
SEARCH_TERM, SEARCH_PAGE = "ScalarMix", "book/02-elmo/index"


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

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One page opened offline: requests to other hosts are blocked, and everything that goes
    wrong (JavaScript errors, console errors, failed requests) is recorded."""

    def __init__(self, browser, url: str):
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", self._response)
        self.page.on("pageerror", lambda e: self.errors.append(f"JavaScript error: {e}"))
        self.page.on("console", self._console)
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

    def _console(self, message):
        if message.type == "error" and not any(p.search(message.text) for p in BENIGN_CONSOLE):
            self.errors.append(f"console error: {message.text}")

    def local_failures(self) -> list[str]:
        return [f for f in self.failed if urlparse(f.split(" ")[0]).hostname == "127.0.0.1"]

    def settle(self):
        self.page.wait_for_load_state("networkidle")

    def problems(self) -> list[str]:
        out = [f"missing from the site: {f}" for f in self.local_failures()]
        out += [f"asks the network for: {u}" for u in self.blocked]
        return out + self.errors

    def screenshot(self, page_path: str):
        """The whole page (its first 15,000 pixels, for a long one) to _build/screenshots/."""
        name = page_path.replace("/", "__") + ".png"
        height = self.page.evaluate("() => document.documentElement.scrollHeight")
        clip = {"x": 0, "y": 0, "width": 1280, "height": min(height, 15_000)}
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True, clip=clip)

    def close(self):
        self.context.close()


def _check_title_and_math(visit: Visit) -> list[str]:
    problems = []
    page = visit.page
    if "LM Notes" not in page.title():
        problems.append(f"the title is {page.title()!r}")
    h1 = page.locator("article h1")
    if not h1.count() or not h1.first.inner_text().strip():
        problems.append("no heading (h1) in the article")
    icon = page.locator('link[rel="icon"]')
    if not icon.count():
        problems.append("no icon (a browser then asks the site for /favicon.ico, which is missing)")
    else:
        href = page.evaluate("() => document.querySelector('link[rel=\"icon\"]').href")
        status = page.request.get(href).status
        if status != 200:
            problems.append(f"the icon {href} answers HTTP {status}")
    n_math = page.locator("article .math").count()
    if n_math:
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('article mjx-container').length >= n",
                arg=n_math,
                timeout=30_000,
            )
        except Exception:
            rendered = page.locator("article mjx-container").count()
            problems.append(f"{n_math} formulas, {rendered} rendered by MathJax")
        raw = page.evaluate("""() => [...document.querySelectorAll('article .math')]
            .filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60))""")
        if raw:
            problems.append(f"formulas left as TeX: {raw[:3]}")
    return problems


def _expected_outputs(nb) -> int:
    """How many output areas the executed notebook gives its page (myst-nb drops removed ones)."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & {"remove-output", "remove-cell"}:
            continue
        count += 1
    return count


def _check_outputs(visit: Visit, nb) -> list[str]:
    page = visit.page
    problems = []
    expected = _expected_outputs(nb)
    areas = page.locator("article div.cell_output")
    if areas.count() != expected:
        problems.append(
            f"the executed notebook has {expected} cells with outputs, the page shows {areas.count()}"
        )
    # widgets: each saved view is drawn by the site's own widget renderer
    views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if views:
        try:
            page.wait_for_function(
                """n => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
                   .filter(s => s.parentElement.querySelector('.jupyter-widgets, .widget-box, .widget-inline-hbox'))
                   .length >= n""",
                arg=views,
                timeout=30_000,
            )
        except Exception:
            problems.append(f"{views} widgets saved in the notebook, not all drawn on the page")
    empty = page.evaluate("""() => [...document.querySelectorAll('article div.cell_output')].map((e, i) => {
            const hidden = e.closest('details:not([open])');
            const content = e.innerText.trim().length > 0 || e.querySelector('img, svg, table, canvas, .jupyter-widgets');
            const box = e.getBoundingClientRect();
            return (content && (hidden || box.height > 0)) ? null : i + 1;
        }).filter(i => i !== null)""")
    if empty:
        problems.append(f"output areas {empty} are empty")
    broken = page.evaluate("""() => [...document.querySelectorAll('article img')]
        .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))""")
    if broken:
        problems.append(f"figures that do not load: {broken}")
    return problems


def _check_launch_buttons(visit: Visit, page_path: str) -> list[str]:
    page = visit.page
    config = load_config()
    repo = urlparse(repo_url()).path.strip("/")
    branch = config["repository"].get("branch", "main")
    notebook = f"{page_path}.ipynb"
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    problems = []
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{notebook}"
    if colab not in hrefs:
        problems.append(f"no Colab button to {colab}: {[h for h in hrefs if 'colab' in h]}")
    binder = [h for h in hrefs if h.startswith(config["launch_buttons"]["binderhub_url"])]
    want = f"/v2/gh/{repo}/{branch}"
    if not any(
        urlparse(h).path == want and parse_qs(urlparse(h).query).get("urlpath") == [f"tree/{notebook}"]
        for h in binder
    ):
        problems.append(f"no Binder button to {want}?urlpath=tree/{notebook}: {binder}")
    if not page.locator("button.btn-launch-thebe").count():
        problems.append("no live-code (Thebe) button")
    thebe = page.locator('script[type="text/x-thebe-config"]')
    text = thebe.first.inner_text() if thebe.count() else ""
    folder = "./" + page_path.rsplit("/", 1)[0]
    for want_text in (f'repo: "{repo}"', f'ref: "{branch}"', f'path: "{folder}"'):
        if want_text not in text:
            problems.append(f"the live-code configuration lacks {want_text}: {text.strip()[:300]}")
    return problems


@pytest.mark.parametrize("page_path", PAGES)
def test_page_renders_offline(browser, site, page_path, executed_notebooks):
    visit = Visit(browser, f"{site}/{page_path}.html")
    try:
        problems = _check_title_and_math(visit)
        if page_path in NOTEBOOK_PAGES:
            run = executed_notebooks[ROOT / f"{page_path}.ipynb"]
            if run.error:
                problems.append(
                    "the notebook failed to run, so its page has no outputs (see test_notebook_runs)"
                )
            else:
                problems += _check_outputs(visit, run.notebook)
            problems += _check_launch_buttons(visit, page_path)
        visit.settle()
        problems += visit.problems()
        visit.screenshot(page_path)
    finally:
        visit.close()
    assert not problems, f"{page_path}.html:\n- " + "\n- ".join(problems)


def test_site_root_and_search(browser, site):
    """The site's front door redirects to the intro, and search finds a chapter's term."""
    visit = Visit(browser, f"{site}/")
    try:
        visit.page.wait_for_url(re.compile(r".*/book/intro\.html$"), timeout=10_000)
        visit.settle()
        problems = visit.problems()
    finally:
        visit.close()
    visit = Visit(browser, f"{site}/search.html?q={SEARCH_TERM}")
    try:
        visit.page.wait_for_selector("#search-results li a", timeout=30_000)
        found = visit.page.evaluate(
            "() => [...document.querySelectorAll('#search-results li a')].map(a => a.href)"
        )
        if not any(f"/{SEARCH_PAGE}.html" in h for h in found):
            problems.append(f"searching {SEARCH_TERM!r} does not find {SEARCH_PAGE}: {found}")
        visit.settle()
        problems += visit.problems()
        visit.screenshot("search")
    finally:
        visit.close()
    assert not problems, "\n- ".join(["site root and search:"] + problems)
