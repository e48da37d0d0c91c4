"""The website builds with no warning, and its table of contents matches the pages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import BOOK, ROOT, load_config

pytestmark = pytest.mark.slow


def toc_files() -> list[str]:
    """Every `file:` entry of _toc.yml (and the root), as written there."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return files


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
        p for p in sorted(BOOK.rglob("*"))
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


def test_book_builds_without_warnings(book_build):
    warnings = "\n".join(book_build.warnings)
    assert book_build.returncode == 0 and not book_build.warnings, (
        f"the book build failed (exit code {book_build.returncode}) with these warnings:\n"
        f"{warnings}\n\nlast lines of the log:\n{book_build.log[-3000:]}"
    )
    assert (book_build.html / "book" / "intro.html").is_file()
    print(f"book built in {book_build.seconds:.1f} s")
