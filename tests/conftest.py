"""Fixtures shared by the book tests: the repository's layout and one build of the book.

The book is built once per test session (execution off, warnings kept) and the result is
shared by tests/test_book.py (which fails on any warning) and tests/test_browser.py
(which opens the pages in a headless browser).
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
VENDOR = BOOK / "_static" / "vendor"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def load_config() -> dict:
    """The book's _config.yml as a dict."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@dataclasses.dataclass
class BookBuild:
    returncode: int
    log: str
    html: Path
    seconds: float

    @property
    def warnings(self) -> list[str]:
        """The lines of the build log that report a warning or an error."""
        found = []
        for line in self.log.splitlines():
            line = line.strip()
            if any(word in line for word in ("WARNING", "ERROR", "CRITICAL")) and line not in found:
                found.append(line)
        return found


def _jupyter_book() -> list[str]:
    script = Path(sys.executable).parent / "jupyter-book"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "jupyter_book.cli.main"]


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    """Build the website once, with notebook execution off and nitpicky warnings on.

    The notebooks themselves run under nbval; here only the structure of the site
    (pages, cross-references, citations, static files) is under test.
    """
    if not (VENDOR / ".fetched").exists():
        pytest.fail(
            f"{VENDOR.relative_to(ROOT)} is missing: run `make install`, which fetches "
            "MathJax and the widget renderer from npm so the website works offline"
        )
    out = tmp_path_factory.mktemp("book")
    config = load_config()
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = _jupyter_book() + [
        "build", str(ROOT),
        "--path-output", str(out),
        "--config", str(config_path),
        "--toc", str(ROOT / "_toc.yml"),
        "--warningiserror", "--nitpick", "--keep-going",
    ]
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning", "NO_COLOR": "1"},
    )
    seconds = time.perf_counter() - start
    return BookBuild(proc.returncode, ANSI.sub("", proc.stdout + proc.stderr), out / "_build" / "html", seconds)
