"""The website builds with no warning, its table of contents matches the pages, every chapter
page has what a teacher plans with, and the exercise index lists every exercise."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import BOOK, ROOT, lmnotes_book, load_config

toc_files = lmnotes_book.toc_files


def source_of(entry: str) -> Path | None:
    """The file a toc entry names (entries leave out the extension)."""
    for suffix in ("", ".md", ".ipynb"):
        path = ROOT / (entry + suffix)
        if path.is_file():
            return path
    return None


def test_toc_lists_only_pages_that_exist():
    missing = [entry for entry in toc_files() if source_of(entry) is None]
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}"


def test_every_page_is_in_the_toc():
    """Only toc pages are built, so a page left out of _toc.yml would silently vanish."""
    listed = {source_of(entry) for entry in toc_files()}
    pages = [
        p
        for p in sorted(BOOK.rglob("*"))
        if p.suffix in (".md", ".ipynb")
        and not any(part.startswith((".", "_")) for part in p.relative_to(BOOK).parts)
    ]
    unlisted = [str(p.relative_to(ROOT).with_suffix("")) for p in pages if p not in listed]
    assert not unlisted, (
        "these pages are not in _toc.yml, so the website leaves them out; add them as "
        f"`- file: <path>` entries: {unlisted}"
    )


def test_config_points_at_local_scripts():
    """MathJax and the widget renderer come from the site itself, not from a CDN."""
    sphinx = load_config()["sphinx"]["config"]
    assert "://" not in sphinx["mathjax_path"], sphinx["mathjax_path"]
    assert all("://" not in url for url in sphinx["nb_ipywidgets_js"]), sphinx["nb_ipywidgets_js"]
    static = ROOT / sphinx["html_static_path"][0]
    assert (static / sphinx["mathjax_path"]).is_file(), "run `make install` to fetch MathJax"


@pytest.mark.slow
def test_book_builds_without_warnings(book_build):
    warnings = "\n".join(book_build.warnings)
    assert book_build.returncode == 0 and not book_build.warnings, (
        f"the book build failed (exit code {book_build.returncode}) with these warnings:\n"
        f"{warnings}\n\nlast lines of the log:\n{book_build.log[-3000:]}"
    )
    assert (book_build.html / "book" / "intro.html").is_file()
    print(f"book built in {book_build.seconds:.1f} s")


# Each chapter page, as a teacher plans with it -------------------------------------------

# (what the page must have, a pattern for its heading or directive)
CHAPTER_PARTS = [
    ("learning objectives", re.compile(r"^##+ +Learning objectives", re.I | re.M)),
    (
        "what the chapter assumes",
        re.compile(r"^##+ +(What (this|the) chapter assumes|Prerequisites)", re.I | re.M),
    ),
    ("the time each notebook takes", re.compile(r"^```\{notebook-times\} +\S+", re.M)),
    ("a summary", re.compile(r"^##+ +Summary", re.I | re.M)),
    ("further reading", re.compile(r"^##+ +Further reading", re.I | re.M)),
    ("the chapter's exercises", re.compile(r"^```\{exercise-index\}\n:chapter: +\w+", re.M)),
]


def chapter_pages() -> list[Path]:
    """The index page of every numbered chapter in the table of contents."""
    return [
        ROOT / f"{entry}.md"
        for entry in toc_files()
        if re.fullmatch(r"book/\d\d-[^/]+/index", entry) and not entry.startswith("book/00-")
    ]


@pytest.mark.parametrize("page", chapter_pages(), ids=lambda p: p.parent.name)
def test_chapter_page_has_what_a_teacher_plans_with(page):
    text = page.read_text(encoding="utf-8")
    missing = [what for what, pattern in CHAPTER_PARTS if not pattern.search(text)]
    assert not missing, (
        f"{page.relative_to(ROOT)} lacks {', '.join(missing)}. A chapter page opens with "
        "`## Learning objectives` and `## What this chapter assumes`, shows the notebooks' times with "
        "```{notebook-times} <folder>```, and ends with `## Summary`, `## Further reading` and "
        "`## Exercises` holding ```{exercise-index}``` with `:chapter: <name>` (see book/02-elmo/index.md)"
    )
    folder = re.search(r"^```\{notebook-times\} +(\S+)", text, re.M).group(1)
    assert folder == page.parent.name, f"{page.relative_to(ROOT)}: notebook-times names {folder!r}"


def test_every_notebook_has_a_measured_time():
    """book/_data/notebook-times.json (written by `make times`) covers every notebook."""
    import json

    data = json.loads(lmnotes_book.TIMES.read_text()) if lmnotes_book.TIMES.is_file() else {"notebooks": {}}
    missing = [
        p.relative_to(ROOT).as_posix()
        for p in lmnotes_book.toc_notebooks()
        if "cpu_warm_s" not in data["notebooks"].get(p.relative_to(ROOT).as_posix(), {})
    ]
    assert not missing, f"no measured time for {missing}: run `make times ONLY=<path>`"


# The exercise index -----------------------------------------------------------------------


class _Rows(HTMLParser):
    """The text of each table row of an html page."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._in = [], [], False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row, self._in = [], True

    def handle_endtag(self, tag):
        if tag == "tr":
            self.rows.append(" ".join("".join(self._row).split()))
            self._in = False

    def handle_data(self, data):
        if self._in:
            self._row.append(data)


def test_exercise_rows_cover_the_registry():
    from lmnotes import exercises

    rows = lmnotes_book.exercise_rows()
    assert [r["name"] for r in rows] == exercises.names()
    for r in rows:
        assert r["practises"] and r["difficulty"] in (1, 2, 3), r
    unplaced = [r["name"] for r in rows if not r["notebooks"]]
    assert not unplaced, f"exercises no notebook checks (no `lmnotes.exercises.check(...)` call): {unplaced}"


@pytest.mark.slow
def test_exercise_index_page_lists_every_exercise(book_build):
    from lmnotes import exercises

    parser = _Rows()
    parser.feed((book_build.html / "book" / "appendix" / "exercises.html").read_text(encoding="utf-8"))
    for name in exercises.names():
        info = exercises.describe(name)
        row = [r for r in parser.rows if r.startswith(name)]
        assert row, f"{name} is not in the exercise index"
        assert "★" * info["difficulty"] in row[0], row[0]
