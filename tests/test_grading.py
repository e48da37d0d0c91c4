"""A student's progress table, and grading a folder of submitted notebooks.

The submissions are tiny synthetic notebooks on the world chapter's exercises: one correct,
one wrong, one not attempted, one whose kernel crashes, one with an endless loop that an
interrupt stops, and one whose endless loop ignores interrupts. Each is graded in its own
kernel; none stops the others.
"""

from __future__ import annotations

import csv
import json

import nbformat
import pytest

from lmnotes import exercises
from lmnotes.classroom import grade, student_notebook

# --- progress() in a notebook -------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fresh_notebook(monkeypatch):
    """Each test is a notebook of its own: nothing another test passed to check() counts here."""
    monkeypatch.setattr(exercises, "_SUBMITTED", {})


def test_progress_shows_each_exercise_of_the_chapter():
    ref = exercises.reference("tag_shares")
    ns = {"tag_shares": ref, "unk_rate": lambda sentences, vocab: 0.0}
    table = exercises.progress("world", namespace=ns)
    rows = {name: (status, message) for name, status, message in table.rows}
    world = [n for n in exercises.names() if exercises.EXERCISES[n].chapter == "world"]
    assert set(rows) == set(world)
    assert rows["tag_shares"][0] == "correct"
    assert rows["unk_rate"][0] == "wrong" and "rate" in rows["unk_rate"][1]
    assert rows["bpe_merge"][0] == "not attempted"
    html = table._repr_html_()
    assert "<table>" in html and "unk_rate" in html and "✗ wrong" in html
    assert "correct" in repr(table).splitlines()[0]


def test_progress_uses_the_answers_passed_to_check_and_infers_the_chapter(capsys):
    exercises.check("unseen_word", exercises.reference("unseen_word"))
    table = exercises.progress(namespace={})
    assert table.chapter == "world"
    assert dict((n, s) for n, s, _ in table.rows)["unseen_word"] == "correct"


def test_progress_stops_an_endless_function():
    def tag_shares(tag_lists):
        while True:
            pass

    status, message = exercises.status("tag_shares", {"tag_shares": tag_shares}, time_limit=0.5)
    assert status == "timed out" and "loop" in message


def test_progress_names_the_chapters_when_it_cannot_guess():
    with pytest.raises(ValueError, match="world"):
        exercises.progress("no-such-chapter", namespace={})


# --- grading -------------------------------------------------------------------------------------

SETUP = "import lmnotes\nfrom lmnotes import exercises"
RIGHT = "def tag_shares(tag_lists):\n    return lmnotes.exercises.reference('tag_shares')(tag_lists)"
WRONG = "def tag_shares(tag_lists):\n    return {}"
TODO = "def tag_shares(tag_lists):\n    raise NotImplementedError"
CHECK = "lmnotes.exercises.check('tag_shares', tag_shares)"
ANSWER = "answer = {!r}\nlmnotes.exercises.check('unseen_word', answer)"

SUBMISSIONS = {
    "correct": [SETUP, RIGHT, CHECK, ANSWER.format(exercises.reference("unseen_word"))],
    "wrong": [SETUP, WRONG, CHECK, ANSWER.format("b" if exercises.reference("unseen_word") != "b" else "a")],
    "unattempted": [SETUP, TODO, CHECK, ANSWER.format(None)],
    "crashing": [
        SETUP,
        RIGHT,
        CHECK,
        "import os\nos._exit(1)",
        ANSWER.format(exercises.reference("unseen_word")),
    ],
    "looping": [SETUP, RIGHT, CHECK, "while True:\n    pass", ANSWER.format(None)],
    "stubborn": [SETUP, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"],
}


def _write(folder, name, sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb = json.loads(json.dumps(nb))
    # as handed out: the student edition records the exercises to grade
    nb = student_notebook(nb)
    nb["metadata"]["lmnotes"]["exercises"] = ["tag_shares", "unseen_word"]
    (folder / f"{name}.ipynb").write_text(json.dumps(nb))


@pytest.mark.slow
def test_grading_a_folder_of_submissions(tmp_path, capsys):
    folder = tmp_path / "submissions"
    folder.mkdir()
    for name, sources in SUBMISSIONS.items():
        _write(folder, name, sources)
    (folder / "broken.ipynb").write_text("{ not json")
    csv_path = tmp_path / "grades.csv"
    subs = grade(folder, csv_path, timeout=120, cell_timeout=20, jobs=4)
    by_file = {s.file: s for s in subs}
    status = {f: {n: st for n, st, _ in s.results} for f, s in by_file.items()}

    assert by_file["correct.ipynb"].outcome == "ran"
    assert status["correct.ipynb"] == {"tag_shares": "correct", "unseen_word": "correct"}

    assert status["wrong.ipynb"] == {"tag_shares": "wrong", "unseen_word": "wrong"}
    message = dict((n, m) for n, _, m in by_file["wrong.ipynb"].results)["tag_shares"]
    assert "not yet" in message  # the checker's own explanation reaches the teacher

    assert status["unattempted.ipynb"] == {"tag_shares": "not attempted", "unseen_word": "not attempted"}

    crashed = by_file["crashing.ipynb"]
    assert crashed.outcome == "crashed" and "died" in crashed.message
    assert set(status["crashing.ipynb"].values()) == {"not graded"}

    looping = by_file["looping.ipynb"]
    assert looping.outcome == "timed out" and "cell 4" in looping.message
    assert status["looping.ipynb"] == {"tag_shares": "correct", "unseen_word": "not attempted"}

    stubborn = by_file["stubborn.ipynb"]
    assert stubborn.outcome == "timed out" and "did not finish" in stubborn.message

    assert by_file["broken.ipynb"].outcome == "unreadable"

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"student file", "exercise", "status", "message"}
    assert {"student file": "wrong.ipynb", "exercise": "tag_shares", "status": "wrong"}.items() <= next(
        r for r in rows if r["student file"] == "wrong.ipynb" and r["exercise"] == "tag_shares"
    ).items()
    printed = capsys.readouterr().out
    assert "correct.ipynb" in printed and "2/2" in printed and "tag_shares" in printed
