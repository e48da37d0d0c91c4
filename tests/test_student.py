"""The student edition (`make student`): the book's notebooks with their solution cells removed
and their checks kept. The website and the repository stay the instructor's edition."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import nbformat
import pytest
from conftest import BOOK, ROOT
from test_notebooks import book_notebooks, notebook_problems

from lmnotes import exercises
from lmnotes.classroom import SOLUTION_CALL, notebook_exercises, student_notebook


def _code(nb: dict) -> list[str]:
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in nb["cells"]
        if c["cell_type"] == "code"
    ]


def _reference_lines() -> dict[str, list[str]]:
    """The distinctive lines of each reference solution and model answer (not the signature, which
    the exercise cell shares, nor docstrings, comments, imports or short lines): none may appear in a
    student's notebook."""
    out = {}
    for name in exercises.names():
        ex = exercises.EXERCISES[name]
        if ex.kind != "function":
            continue
        lines = textwrap.dedent(exercises.reference_source(name)).splitlines()
        body = [
            ln.strip()
            for ln in lines
            if len(ln.strip()) > 24
            and not ln.strip().startswith(('"""', "#", "def ", "@", "import ", "from "))
        ]
        out[name] = body
    for name, answer in exercises.DISCUSSIONS.items():
        out[name] = [s.strip() for s in answer.split(". ") if len(s.strip()) > 40]
    return out


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    """`make student`'s command, into a temporary folder."""
    out = tmp_path_factory.mktemp("student")
    proc = subprocess.run(
        [sys.executable, "-m", "lmnotes", "student", str(BOOK), str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_every_notebook_has_a_student_edition(student_edition):
    expected = {p.relative_to(BOOK) for p in book_notebooks()}
    written = {p.relative_to(student_edition) for p in student_edition.rglob("*.ipynb")}
    assert written == expected


def test_no_solution_survives(student_edition):
    refs = _reference_lines()
    for path in sorted(student_edition.rglob("*.ipynb")):
        nb = json.loads(path.read_text())
        text = "\n".join(
            _code(nb) + ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
        )
        assert not SOLUTION_CALL.search(text), f"{path.name} still calls solution(...)"
        for name, lines in refs.items():
            leaked = [ln for ln in lines if ln in text]
            assert not leaked, f"{path.name} shows the reference solution of {name}: {leaked}"
        assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")


def test_checks_and_conventions_are_kept(student_edition):
    url = json.loads(json.dumps(__import__("conftest").load_config()))["repository"]["url"]
    for original in book_notebooks():
        path = student_edition / original.relative_to(BOOK)
        nb = json.loads(path.read_text())
        src = json.loads(original.read_text())
        assert notebook_exercises(nb) == notebook_exercises(src)
        assert nb["metadata"]["lmnotes"]["exercises"] == notebook_exercises(src)
        checks = [c for c in _code(src) if c.lstrip().startswith("# Check:")]
        assert checks == [c for c in _code(nb) if c.lstrip().startswith("# Check:")]
        kept = len(_code(src)) - sum(
            1
            for c in _code(src)
            if SOLUTION_CALL.search(c)
            and not "\n".join(ln for ln in c.split("\n") if not SOLUTION_CALL.search(ln)).strip()
        )
        assert len(_code(nb)) == kept
        nbformat.validate(nbformat.from_dict(nb))
        assert notebook_problems(nb, url) == [], path


def test_the_edition_drops_only_solutions():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "def f(x):\n    raise NotImplementedError\n\nlmnotes.exercises.check('f', f)"
        ),
        nbformat.v4.new_code_cell("lmnotes.exercises.solution('f')"),
        nbformat.v4.new_code_cell("x = 1\nlmnotes.exercises.solution('g')"),
        nbformat.v4.new_code_cell("secret = 42", metadata={"tags": ["solution"]}),
        nbformat.v4.new_markdown_cell("Prose stays."),
    ]
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="hi")]
    out = student_notebook(json.loads(json.dumps(nb)), "x.ipynb")
    assert [c["source"] for c in out["cells"]] == [nb.cells[0].source, "x = 1", "Prose stays."]
    assert out["cells"][0]["outputs"] == [] and out["metadata"]["lmnotes"]["exercises"] == ["f"]
