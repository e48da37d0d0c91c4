"""The exercise framework's question types: multiple choice, numbers, open questions."""

from __future__ import annotations

import pytest

from lmnotes import exercises
from lmnotes.exercises import DISCUSSIONS, EXERCISES, discussion, question, run_check


@pytest.fixture
def registered():
    made = []
    yield made
    for name in made:
        EXERCISES.pop(name, None)
        DISCUSSIONS.pop(name, None)


def test_multiple_choice_says_why_a_choice_is_wrong(registered):
    question(
        "test-mc",
        "b",
        "two is the answer.",
        choices={"a": "one", "b": "two", "c": "three"},
        mistakes={"a": "one is too few"},
    )
    registered.append("test-mc")
    assert run_check("test-mc", None)[0] == "not attempted"
    assert run_check("test-mc", "b") == ("correct", "test-mc: Correct! two is the answer.")
    assert run_check("test-mc", " (B) ")[0] == "correct"
    status, msg = run_check("test-mc", "a")
    assert status == "wrong" and "(a) “one”" in msg and "one is too few" in msg
    status, msg = run_check("test-mc", "c")
    assert status == "wrong" and "look at that option again" in msg
    status, msg = run_check("test-mc", "e")
    assert status == "wrong" and "one of the letters 'a', 'b', 'c'" in msg
    status, msg = run_check("test-mc", lambda: "b")
    assert status == "wrong" and "value, not a function" in msg
    assert exercises.reference("test-mc") == "b"


def test_numeric_question_names_typical_wrong_numbers(registered):
    question("test-num", 0.12, "0.15 × 0.8.", tol=0.005, mistakes={0.15: "that is the share picked"})
    registered.append("test-num")
    assert run_check("test-num", 0.121)[0] == "correct"
    status, msg = run_check("test-num", 0.15)
    assert status == "wrong" and "that is the share picked" in msg
    assert "too high" in run_check("test-num", 0.5)[1]
    assert "too low" in run_check("test-num", 0.01)[1]
    assert "answer with a number" in run_check("test-num", "0.12")[1]
    assert "answer with a number" in run_check("test-num", True)[1]


def test_question_must_be_consistent(registered):
    with pytest.raises(ValueError, match="among the choices"):
        question("test-bad", "d", "", choices={"a": "x", "b": "y"})
    question("test-dup", 1, "")
    registered.append("test-dup")
    with pytest.raises(ValueError, match="exists already"):
        question("test-dup", 1, "")


def test_solutions_are_collapsed(registered):
    question("test-show", "a", "because.", choices={"a": "yes", "b": "no"})
    discussion("test-open", "  A model answer\n  on two lines.\n")
    registered += ["test-show", "test-open"]
    html = exercises.solution("test-show")._repr_html_()
    assert html.startswith("<details>") and "Show the answer" in html and "(a) yes. because." in html
    html = exercises.solution("test-open")._repr_html_()
    assert (
        html.startswith("<details>")
        and "Show the model answer" in html
        and "A model answer\non two lines." in html
    )
    assert "test-open" not in exercises.names()  # an open question has nothing to check


def test_every_question_in_the_book_accepts_its_answer():
    qs = [n for n in exercises.names() if EXERCISES[n].kind == "question"]
    assert len(qs) >= 10
    for name in qs:
        status, msg = run_check(name, exercises.reference(name))
        assert status == "correct", msg
        assert exercises.EXERCISES[name].explanation, f"{name} has no explanation"
