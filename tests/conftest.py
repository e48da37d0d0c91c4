"""Fixtures shared by the book tests: the repository's layout, the executed notebooks and one
build of the website.

The notebooks run once per test session, and only those that changed since their last run
(or whose run used other `lmnotes` source). Each runs top to bottom in a fresh kernel into the
jupyter-cache in `_build/.jupyter_cache`, the same cache and the same way of running that
`make book` uses (`book/_ext/lmnotes_book.py`), so a notebook run by the tests is not run again
by `make book`, nor the other way round. From that one run:

- tests/test_notebook_runs.py fails a notebook whose cell raised (its `# Check:` cells carry the
  assertions, as under nbval);
- the `book_build` fixture builds the website from the executed notebooks with warnings as
  errors, for tests/test_book.py and for tests/test_browser.py, which opens every page in
  a headless browser.

A single notebook can still be run cell by cell under nbval:
`.venv/bin/python -m pytest book/02-elmo/pretraining.ipynb`.
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
EXT = BOOK / "_ext"
JUPYTER_CACHE = ROOT / "_build" / ".jupyter_cache"
SCREENSHOTS = ROOT / "_build" / "screenshots"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

sys.path.insert(0, str(EXT))
import lmnotes_book  # noqa: E402  (the book's extension: toc, execution, exercise index)


def load_config() -> dict:
    """The book's _config.yml as a dict."""
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def repo_url() -> str:
    """The repository URL, from _config.yml: the one place it is written by hand."""
    return load_config()["repository"]["url"].rstrip("/")


@dataclasses.dataclass
class BookBuild:
    returncode: int
    log: str
    html: Path
    seconds: float
    failed_notebooks: list[str]

    @property
    def warnings(self) -> list[str]:
        """The lines of the build log that report a warning or an error."""
        found = []
        for line in self.log.splitlines():
            line = line.strip()
            if line.startswith("[IPKernelApp]"):  # a kernel's own log, when the build runs a notebook
                continue
            if any(word in line for word in ("WARNING", "ERROR", "CRITICAL")) and line not in found:
                found.append(line)
        return found


def _jupyter_book() -> list[str]:
    script = Path(sys.executable).parent / "jupyter-book"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "jupyter_book.cli.main"]


def _say(request, line: str) -> None:
    """Print a progress line past pytest's capture (the notebooks take minutes)."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


@pytest.fixture(scope="session")
def executed_notebooks(request) -> dict[Path, lmnotes_book.Executed]:
    """Every notebook of the table of contents, executed (or found executed) in the jupyter-cache."""
    timeout = int(load_config().get("execute", {}).get("timeout", 1200))
    # computed once: the book build below reuses these runs even if the source changes meanwhile
    fingerprint = lmnotes_book.source_fingerprint()
    os.environ[lmnotes_book.FINGERPRINT_ENV] = fingerprint
    results = {}
    start = time.perf_counter()
    for path in lmnotes_book.toc_notebooks():
        results[path] = lmnotes_book.execute_notebook(
            path, JUPYTER_CACHE, timeout=timeout, fingerprint=fingerprint, log=lambda s: _say(request, s)
        )
    ran = [r for r in results.values() if not r.cached]
    _say(
        request,
        f"{len(results)} notebooks: {len(ran)} executed ({time.perf_counter() - start:.0f} s), "
        f"{len(results) - len(ran)} found in {JUPYTER_CACHE.relative_to(ROOT)}",
    )
    return results


@pytest.fixture(scope="session")
def book_build(tmp_path_factory, executed_notebooks, request) -> BookBuild:
    """Build the website once from the executed notebooks, with nitpicky warnings on.

    A notebook that failed is built as committed (no outputs), and the build warns about it.
    """
    if not (VENDOR / ".fetched").exists():
        pytest.fail(
            f"{VENDOR.relative_to(ROOT)} is missing: run `make install`, which fetches "
            "MathJax and the widget renderer from npm so the website works offline"
        )
    out = tmp_path_factory.mktemp("book")
    config = load_config()
    failed = [p for p, r in executed_notebooks.items() if r.error]
    execute = config.setdefault("execute", {})
    execute["execute_notebooks"] = "cache"
    execute["cache"] = str(JUPYTER_CACHE)
    execute["exclude_patterns"] = list(execute.get("exclude_patterns") or []) + [p.as_posix() for p in failed]
    # the copy of the config lives elsewhere, so the extension's folder is given in full
    config["sphinx"]["local_extensions"] = {"lmnotes_book": str(EXT)}
    config["sphinx"]["config"]["nb_execution_raise_on_error"] = False
    config_path = out / "_config.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    cmd = _jupyter_book() + [
        "build",
        str(ROOT),
        "--path-output",
        str(out),
        "--config",
        str(config_path),
        "--toc",
        str(ROOT / "_toc.yml"),
        "--warningiserror",
        "--nitpick",
        "--keep-going",
    ]
    _say(request, "building the website from the executed notebooks ...")
    start = time.perf_counter()
    proc = subprocess.run(
        cmd,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning", "NO_COLOR": "1"},
    )
    seconds = time.perf_counter() - start
    _say(request, f"website built in {seconds:.0f} s")
    return BookBuild(
        proc.returncode,
        ANSI.sub("", proc.stdout + proc.stderr),
        out / "_build" / "html",
        seconds,
        [p.relative_to(ROOT).as_posix() for p in failed],
    )
