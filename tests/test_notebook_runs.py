"""Every notebook of the book runs top to bottom without an error.

The notebooks are executed once per test session into the jupyter-cache (see conftest.py),
which `make book` reuses; a cell that raises, and so a `# Check:` cell whose assertion fails,
fails its notebook here with the traceback.
"""

from __future__ import annotations

import pytest
from conftest import ANSI, ROOT, lmnotes_book

pytestmark = pytest.mark.slow

NOTEBOOKS = lmnotes_book.toc_notebooks()


def _first_line(cell) -> str:
    return cell.source.lstrip().split("\n", 1)[0].strip()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT / "book").as_posix() for p in NOTEBOOKS])
def test_notebook_runs(path, executed_notebooks):
    run = executed_notebooks[path]
    rel = path.relative_to(ROOT).as_posix()
    if run.error:
        pytest.fail(
            f"{rel} failed after {run.seconds or 0:.0f} s "
            f"(run it alone with `.venv/bin/python -m pytest {rel}`):\n{ANSI.sub('', run.error)[-6000:]}"
        )
    code = [c for c in run.notebook.cells if c.cell_type == "code"]
    not_run = [i for i, c in enumerate(code, 1) if c.source.strip() and c.get("execution_count") is None]
    assert not not_run, f"{rel}: code cells {not_run} were not executed"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{rel}: a cell shows an error: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    checks = [c for c in code if _first_line(c).startswith("# Check:")]
    assert checks, f"{rel} has no `# Check:` cell"
    print(
        f"{rel}: {len(checks)} checks passed; run took {run.seconds or 0:.0f} s"
        + (" (found in the jupyter-cache)" if run.cached else "")
    )
