"""Every notebook of the book follows the notebook conventions.

A notebook is committed without outputs, starts with the setup cell (which installs
lmnotes from the repository named in _config.yml when it is missing, as on Colab), seeds
and picks the device in its second cell, keeps its sizes in a `# Parameters` cell, and
asserts its claims in `# Check:` cells. nbval runs each notebook; this file checks its
shape.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from conftest import BOOK, ROOT, load_config

SETUP_CELL = """\
# Setup: installs lmnotes when it is missing (Colab); does nothing where it is installed.
try:
    import lmnotes
except ImportError:
    import subprocess, sys
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "lmnotes @ git+{url}"])
    import lmnotes"""


def book_notebooks() -> list[Path]:
    """Notebooks under book/, tracked by git or only on disk, without checkpoints or builds."""
    found = set(BOOK.rglob("*.ipynb"))
    try:
        tracked = subprocess.run(
            ["git", "ls-files", "-z", "--", "book"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\0")
        found |= {ROOT / name for name in tracked if name.endswith(".ipynb")}
    except (OSError, subprocess.CalledProcessError):
        pass  # not a git checkout: the files on disk are all there is
    skip = {".ipynb_checkpoints", "_build"}
    return sorted(p for p in found if not skip & set(p.relative_to(ROOT).parts))


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def notebook_problems(nb: dict, repo_url: str) -> list[str]:
    """Every way in which the notebook `nb` (parsed JSON) breaks the conventions.

    Returns an empty list for a notebook that follows them all.
    Example: notebook_problems(json.load(open("x.ipynb")), "https://github.com/o/r") -> []
    """
    problems = []
    if nb.get("nbformat") != 4:
        problems.append(f"nbformat must be 4, got {nb.get('nbformat')!r}")
    else:
        try:
            nbformat.validate(nbformat.from_dict(nb))
        except nbformat.ValidationError as err:
            problems.append(f"not a valid notebook: {err.message}")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec name must be 'python3', got {kernel!r}")

    cells = nb.get("cells", [])
    code = [(i, c) for i, c in enumerate(cells, start=1) if c.get("cell_type") == "code"]
    for i, cell in code:
        if cell.get("outputs"):
            problems.append(
                f"cell {i} has stored outputs; clear them "
                "(jupyter nbconvert --clear-output --inplace NOTEBOOK)"
            )
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i} has an execution count; clear outputs before committing")

    expected = SETUP_CELL.format(url=repo_url)
    if not cells or cells[0].get("cell_type") != "code":
        problems.append("cell 1 must be the setup code cell")
    elif _normalise(_source(cells[0])) != _normalise(expected):
        problems.append(
            f"cell 1 must be exactly the setup cell, with the URL of "
            f"_config.yml's repository.url:\n{expected}"
        )
    if len(cells) < 2 or cells[1].get("cell_type") != "code" or "lmnotes.setup(" not in _source(cells[1]):
        problems.append("cell 2 must be a code cell calling lmnotes.setup(seed=0)")

    first_lines = [(i, _source(c).lstrip().split("\n", 1)[0].strip(), c) for i, c in code]
    if not any(line.startswith("# Parameters") for _, line, _ in first_lines):
        problems.append("no parameter cell (a code cell whose first line is `# Parameters`)")
    checks = [(i, c) for i, line, c in first_lines if line.startswith("# Check:")]
    if not checks:
        problems.append("no check cell (a code cell whose first line starts with `# Check:`)")
    for i, cell in checks:
        if "assert" not in _source(cell):
            problems.append(f"check cell {i} asserts nothing")
    return problems


NOTEBOOKS = book_notebooks()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(BOOK)) for p in NOTEBOOKS])
def test_notebook_follows_conventions(path):
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        pytest.fail(f"{path.relative_to(ROOT)} is not valid JSON: {err}")
    problems = notebook_problems(nb, load_config()["repository"]["url"])
    assert not problems, f"{path.relative_to(ROOT)}:\n- " + "\n- ".join(problems)


# The checker itself ---------------------------------------------------------------

URL = "https://github.com/lm-notes/lm-notes"


def _cell(source: str, **extra) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    cell.update(extra)
    return cell


def _good_notebook() -> dict:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell(SETUP_CELL.format(url=URL)),
        _cell("import torch\ndevice = lmnotes.setup(seed=0)"),
        nbformat.v4.new_markdown_cell("Some prose."),
        _cell("# Parameters\nsteps = 100 if device.type == 'cuda' else 10"),
        _cell("# Check: the loss goes down\nassert 1 < 2, 'the loss went up'"),
    ]
    return json.loads(json.dumps(nb))


def test_checker_accepts_a_good_notebook():
    assert notebook_problems(_good_notebook(), URL) == []


def test_checker_names_each_problem_of_a_bad_notebook():
    nb = _good_notebook()
    nb["cells"][0]["source"] = nb["cells"][0]["source"].replace(URL, "https://github.com/someone/else")
    nb["cells"][1]["source"] = "device = 'cpu'"
    nb["cells"][3]["source"] = "steps = 10"
    nb["cells"][4]["source"] = "# Check: the loss goes down\nprint('it does')"
    nb["cells"][4]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "it does\n"}]
    nb["cells"][4]["execution_count"] = 3
    problems = "\n".join(notebook_problems(nb, URL))
    for expected in (
        "cell 1 must be exactly the setup cell",
        "cell 2 must be a code cell calling lmnotes.setup",
        "no parameter cell",
        "check cell 5 asserts nothing",
        "cell 5 has stored outputs",
        "cell 5 has an execution count",
    ):
        assert expected in problems, f"missing {expected!r} in:\n{problems}"


def test_checker_requires_a_check_cell_and_nbformat_4():
    nb = _good_notebook()
    del nb["cells"][4]
    nb["nbformat"] = 3
    problems = "\n".join(notebook_problems(nb, URL))
    assert "no check cell" in problems and "nbformat must be 4" in problems
