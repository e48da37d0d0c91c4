"""Classroom exercises with auto-checks that say *what* is wrong.

In a notebook::

    def scalar_mix(layers, w, gamma):
        raise NotImplementedError   # your code here

    lmnotes.exercises.check("scalar_mix", scalar_mix)     # prints what is wrong, or "Correct"
    lmnotes.exercises.solution("scalar_mix")              # a collapsed block with the reference solution

A chapter registers its exercises in ``lmnotes/exercises/<chapter>.py``::

    @exercise("scalar_mix", hint="softmax the weights first")
    def check_scalar_mix(fn):          # raises Wrong("...") with a message a student understands
        ...

    @check_scalar_mix.reference
    def scalar_mix(layers, w, gamma):
        ...

Not every exercise is a function. A *question* is answered with a value (a choice or a number), and
is checked the same way; a prediction written down before a cell runs is a question too::

    question("mask_share", answer=0.12, tol=0.005, explanation="15% picked, 80% of those become [MASK]",
             mistakes={0.15: "that is the share picked; ..."})

    prediction = None   # in the notebook: the student's answer, before the cell that shows the result
    lmnotes.exercises.check("mask_share", prediction)

A *discussion* is an open question: no check, a model answer shown collapsed by ``solution(name)``::

    discussion("why_local_attention", "Depth tracks how many hops the evidence needs ...")
"""

from __future__ import annotations

import html
import importlib
import inspect
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "Wrong",
    "Exercise",
    "exercise",
    "question",
    "discussion",
    "check",
    "solution",
    "reference",
    "EXERCISES",
    "DISCUSSIONS",
    "names",
]


class Wrong(AssertionError):
    """Raised by a checker with a message that tells the student what is wrong."""


@dataclass
class Exercise:
    name: str
    checker: Callable
    hint: str = ""
    chapter: str = ""
    ref: Callable | None = None
    kind: str = "function"  # "function": the student writes a function; "question": the student gives a value
    explanation: str = ""  # a question's answer, explained (shown when it is right, and by solution())
    choices: dict | None = None  # a multiple-choice question's options, letter -> text

    def reference(self, fn: Callable) -> Callable:
        """Decorator: register ``fn`` as this exercise's reference solution."""
        self.ref = fn
        return fn


EXERCISES: dict[str, Exercise] = {}
DISCUSSIONS: dict[str, str] = {}  # open questions: name -> model answer
_CHAPTERS = ("world", "representations", "elmo", "bert", "gpt", "rlhf", "challenges")


def _chapter_of(module: str) -> str:
    """The chapter of the module registering an exercise: the name under ``lmnotes.exercises``
    (a chapter may split its exercises into submodules: ``...exercises.challenges.bias`` is ``challenges``)."""
    parts = module.split(".")
    return parts[parts.index("exercises") + 1] if "exercises" in parts[:-1] else parts[-1]


def exercise(name: str, hint: str = "") -> Callable[[Callable], Exercise]:
    """Decorator: register a checker ``checker(fn) -> None`` (raising :class:`Wrong`) under ``name``."""

    def deco(checker: Callable) -> Exercise:
        if name in EXERCISES:
            raise ValueError(f"an exercise called {name!r} exists already")
        mod = _chapter_of(checker.__module__)
        ex = Exercise(name, checker, hint, mod)
        EXERCISES[name] = ex
        return ex

    return deco


def _normalise_choice(value) -> str:
    return str(value).strip().strip("()").strip().lower()


def question(
    name: str,
    answer,
    explanation: str,
    *,
    choices: dict | None = None,
    tol: float = 1e-6,
    mistakes: dict | None = None,
    hint: str = "",
) -> Exercise:
    """Register a question answered with a value, checked by ``check(name, value)``.

    With ``choices`` (letter -> text) it is multiple choice: ``answer`` is a letter, and ``mistakes`` maps
    each wrong letter to why it is wrong. Without, the answer is a number, right within ``tol``, and
    ``mistakes`` maps typical wrong numbers to what they are (e.g. ``{3: "that is L + 1, ..."}``).
    The student's ``None`` means "not answered yet", so a notebook runs before anyone answers.
    """
    if name in EXERCISES:
        raise ValueError(f"an exercise called {name!r} exists already")
    mistakes = dict(mistakes or {})
    if choices is not None:
        choices = {_normalise_choice(k): v for k, v in choices.items()}
        answer = _normalise_choice(answer)
        mistakes = {_normalise_choice(k): v for k, v in mistakes.items()}
        if answer not in choices or not set(mistakes) <= set(choices):
            raise ValueError(
                f"question {name!r}: the answer and the mistakes must be among the choices {sorted(choices)}"
            )
    letters = ", ".join(repr(k) for k in (choices or {}))

    def checker(value):
        if value is None or value is Ellipsis:
            raise NotImplementedError
        if callable(value):
            raise Wrong("this question is answered with a value, not a function")
        if choices is not None:
            got = _normalise_choice(value)
            if got not in choices:
                raise Wrong(f"answer with one of the letters {letters}; got {value!r}")
            if got != answer:
                raise Wrong(
                    f"you chose ({got}) “{choices[got]}”: {mistakes.get(got, 'look at that option again')}"
                )
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise Wrong(f"answer with a number, got {type(value).__name__}")
        got = float(value)
        if abs(got - answer) <= tol:
            return
        for wrong_value, why in mistakes.items():
            if abs(got - wrong_value) <= tol:
                raise Wrong(f"{got:g} is not it: {why}")
        raise Wrong(f"{got:g} is too {'high' if got > answer else 'low'}")

    mod = _chapter_of(sys._getframe(1).f_globals.get("__name__", ""))
    ex = Exercise(
        name, checker, hint, mod, ref=answer, kind="question", explanation=explanation, choices=choices
    )
    EXERCISES[name] = ex
    return ex


def discussion(name: str, model_answer: str) -> None:
    """Register an open question: no check; ``solution(name)`` shows the model answer, collapsed."""
    if name in DISCUSSIONS or name in EXERCISES:
        raise ValueError(f"a question called {name!r} exists already")
    DISCUSSIONS[name] = textwrap.dedent(model_answer).strip()


def _load_all() -> None:
    for ch in _CHAPTERS:
        try:
            importlib.import_module(f"{__name__}.{ch}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{ch}":
                raise


def names() -> list[str]:
    """All exercise names."""
    _load_all()
    return sorted(EXERCISES)


def _get(name: str) -> Exercise:
    if name not in EXERCISES:
        _load_all()
    if name not in EXERCISES:
        raise KeyError(f"no exercise called {name!r}; the exercises are: {', '.join(names())}")
    return EXERCISES[name]


def run_check(name: str, fn: Callable) -> tuple[str, str]:
    """Run the check without printing: ``(status, message)``, status in ``correct``, ``wrong``, ``not attempted``."""
    ex = _get(name)
    _SUBMITTED[name] = fn  # what the student checked last: progress() and grading look at it again
    if ex.kind == "function" and not callable(fn):
        return (
            "wrong",
            f"check() needs your function, got {type(fn).__name__}; pass the function itself, not its result",
        )
    try:
        ex.checker(fn)
    except NotImplementedError:
        if ex.kind == "question":
            return "not attempted", f"{name}: not answered yet — replace `None` with your answer."
        return (
            "not attempted",
            f"{name}: not attempted yet — replace `raise NotImplementedError` with your code.",
        )
    except Wrong as e:
        msg = f"{name}: not yet. {e}"
        if ex.hint:
            msg += f"\nHint: {ex.hint}"
        return "wrong", msg
    except Exception as e:  # the student's code crashed: say where, in plain words
        return "wrong", f"{name}: your function raised {type(e).__name__}: {e}"
    if ex.kind == "question":
        return "correct", f"{name}: Correct! {ex.explanation}"
    return "correct", f"{name}: Correct!"


def check(name: str, fn: Callable) -> None:
    """Check a student's function (or, for a question, their answer) and print what is wrong (or "Correct!").

    Use :func:`run_check` to get the result as a value.
    """
    status, msg = run_check(name, fn)
    print(msg)


def reference(name: str) -> Callable:
    """The reference solution of an exercise (a function), or a question's answer (a value)."""
    ex = _get(name)
    if ex.ref is None:
        raise KeyError(f"exercise {name!r} has no reference solution registered")
    return ex.ref


class _Solution:
    def __init__(self, name: str, src: str, what: str = "solution", code: bool = True):
        self.name, self.src, self.what, self.code = name, src, what, code

    def _repr_html_(self):
        body = html.escape(self.src)
        body = (
            f"<pre><code class='language-python'>{body}</code></pre>"
            if self.code
            else f"<div style='white-space: pre-wrap'>{body}</div>"
        )
        return f"<details><summary><b>Show the {self.what} to “{html.escape(self.name)}”</b></summary>{body}</details>"

    def __repr__(self):
        if not self.code:
            return f"The {self.what} to {self.name!r} (run print(lmnotes.exercises.reference_source({self.name!r})) to read it)"  # noqa: E501
        return f"Solution to {self.name!r} (run print(lmnotes.exercises.reference_source({self.name!r})) to read it)"


def reference_source(name: str) -> str:
    """The reference solution's source; a question's answer with its explanation; a discussion's model answer."""
    if name in DISCUSSIONS:
        return DISCUSSIONS[name]
    if name not in EXERCISES:
        _load_all()
    if name in DISCUSSIONS:
        return DISCUSSIONS[name]
    ex = _get(name)
    if ex.kind == "question":
        shown = f"({ex.ref}) {ex.choices[ex.ref]}" if ex.choices else f"{ex.ref:g}"
        return f"Answer: {shown}. {ex.explanation}"
    return textwrap.dedent(inspect.getsource(reference(name)))


def solution(name: str) -> _Solution:
    """The reference solution, shown collapsed (an HTML ``<details>`` block) until the student opens it.

    For a question it is the answer with its explanation; for a discussion, the model answer.
    """
    src = reference_source(name)
    if name in DISCUSSIONS:
        return _Solution(name, src, "model answer", code=False)
    if EXERCISES[name].kind == "question":
        return _Solution(name, src, "answer", code=False)
    return _Solution(name, src)


# --- Progress, for a student; grading, for a teacher ---------------------------------------------

_SUBMITTED: dict = {}  # exercise name -> the function (or answer) last passed to check()


def describe(name: str) -> dict:
    """What an exercise is about: ``{"name", "chapter", "kind", "practises", "difficulty", "estimated"}``.

    ``practises`` and ``difficulty`` (1 warm-up, 2 practice, 3 challenge) come from
    ``lmnotes/exercises/catalogue.py``; for an exercise missing there they are estimated
    (``estimated`` is True): the difficulty from the length of the reference solution.
    Example: ``describe("scalar_mix")["difficulty"] -> 2``
    """
    from .catalogue import ABOUT

    ex = _get(name)
    if name in ABOUT:
        practises, difficulty = ABOUT[name]
        estimated = False
    else:
        estimated = True
        if ex.kind == "question":
            practises, difficulty = "a question" + (" (multiple choice)" if ex.choices else " (a number)"), 1
        else:
            doc = (inspect.getdoc(ex.ref) or "").split("\n")[0] if ex.ref else ""
            practises = doc or f"writing `{name}`"
            try:
                lines = [
                    ln
                    for ln in reference_source(name).splitlines()
                    if ln.strip() and not ln.strip().startswith(("#", "def ", '"""', "@"))
                ]
            except (KeyError, OSError, TypeError):
                lines = []
            difficulty = 1 if len(lines) <= 4 else 2 if len(lines) <= 12 else 3
    return {
        "name": name,
        "chapter": ex.chapter,
        "kind": ex.kind,
        "practises": practises,
        "difficulty": difficulty,
        "estimated": estimated,
    }


def chapters() -> list[str]:
    """The chapters that have exercises, in the book's order."""
    _load_all()
    found = {ex.chapter for ex in EXERCISES.values()}
    return [c for c in _CHAPTERS if c in found] + sorted(found - set(_CHAPTERS))


class _TimeLimit(BaseException):
    """Not an Exception, so that run_check does not report it as the student's code raising."""


class _time_limit:
    """Stop the body after ``seconds`` (on Unix, in the main thread; elsewhere no limit)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.active = False

    def __enter__(self):
        import signal
        import threading

        if (
            self.seconds
            and hasattr(signal, "setitimer")
            and threading.current_thread() is threading.main_thread()
        ):

            def stop(signum, frame):
                raise _TimeLimit()

            self.old = signal.signal(signal.SIGALRM, stop)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.active = True
        return self

    def __exit__(self, *exc):
        if self.active:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
        return False


def status(name: str, namespace: dict | None = None, time_limit: float | None = 30) -> tuple[str, str]:
    """Where a student stands on one exercise: ``(status, message)``.

    The status is ``correct``, ``wrong``, ``not attempted`` or ``timed out`` (the check ran longer
    than ``time_limit`` seconds: an endless loop in the student's function, say). For a function
    exercise, the function of that name in ``namespace`` (the notebook's variables) is checked, or
    else what was last passed to ``check``; for a question, the answer last passed to ``check``.
    """
    ex = _get(name)
    candidate = None
    if ex.kind == "function" and namespace is not None and callable(namespace.get(name)):
        candidate = namespace[name]
    elif name in _SUBMITTED:
        candidate = _SUBMITTED[name]
    if candidate is None:
        what = "answered" if ex.kind == "question" else "attempted"
        return "not attempted", f"{name}: not {what} yet."
    try:
        with _time_limit(time_limit):
            return run_check(name, candidate)
    except _TimeLimit:
        return "timed out", (
            f"{name}: the check did not finish within {time_limit:g} s; "
            "look for a loop that never ends in your function"
        )


class Progress:
    """A table of exercises and where a student stands on each; shows itself in a notebook."""

    SYMBOL = {"correct": "✓", "wrong": "✗", "not attempted": "·", "timed out": "⌛"}

    def __init__(self, chapter: str, rows: list[tuple[str, str, str]]):
        self.chapter, self.rows = chapter, rows

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, st, _ in self.rows:
            out[st] = out.get(st, 0) + 1
        return out

    def summary(self) -> str:
        c = self.counts()
        return f"{self.chapter}: {c.get('correct', 0)} of {len(self.rows)} correct" + "".join(
            f", {n} {st}" for st, n in sorted(c.items()) if st != "correct"
        )

    def __repr__(self) -> str:
        width = max((len(n) for n, _, _ in self.rows), default=8)
        lines = [self.summary()]
        for name, st, msg in self.rows:
            first = msg.split("\n")[0]
            lines.append(f"{self.SYMBOL.get(st, '?')} {name:<{width}}  {st:<13}  {first}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        colour = {
            "correct": "#1a7f37",
            "wrong": "#cf222e",
            "timed out": "#9a6700",
            "not attempted": "#57606a",
        }
        body = "".join(
            f"<tr><td><code>{html.escape(name)}</code></td>"
            f"<td style='color:{colour.get(st, '#000')};white-space:nowrap'>{self.SYMBOL.get(st, '?')} {st}</td>"
            f"<td style='text-align:left;white-space:pre-wrap'>{html.escape(msg)}</td></tr>"
            for name, st, msg in self.rows
        )
        return (
            f"<p><b>{html.escape(self.summary())}</b></p><table><thead><tr><th>exercise</th><th>status</th>"
            f"<th style='text-align:left'>message</th></tr></thead><tbody>{body}</tbody></table>"
        )


def progress(
    chapter: str | None = None, namespace: dict | None = None, time_limit: float | None = 30
) -> Progress:
    """A table of a chapter's exercises and your status on each: correct, wrong (with the message),
    not attempted. Call it at the end of a notebook: ``lmnotes.exercises.progress()``.

    ``chapter`` (``"elmo"``, ``"bert"``, ...) defaults to the chapter whose exercises this notebook
    has worked on; ``namespace`` to the variables of the notebook that calls it.
    """
    _load_all()
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    if chapter is None:
        seen: dict[str, int] = {}
        for name, ex in EXERCISES.items():
            if name in _SUBMITTED or (ex.kind == "function" and callable(namespace.get(name))):
                seen[ex.chapter] = seen.get(ex.chapter, 0) + 1
        if not seen:
            raise ValueError(
                "no exercise of any chapter has been checked in this notebook yet; name the chapter, "
                f"e.g. progress('elmo'); the chapters are: {', '.join(chapters())}"
            )
        chapter = max(seen, key=seen.get)
    if chapter not in chapters():
        raise ValueError(
            f"no chapter called {chapter!r} has exercises; the chapters are: {', '.join(chapters())}"
        )
    rows = []
    for name in [n for n, ex in EXERCISES.items() if ex.chapter == chapter]:  # in the order they are set
        st, msg = status(name, namespace, time_limit)
        rows.append((name, st, msg))
    return Progress(chapter, rows)
