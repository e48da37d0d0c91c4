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
"""
from __future__ import annotations

import html
import importlib
import inspect
import textwrap
from dataclasses import dataclass
from typing import Callable

__all__ = ["Wrong", "Exercise", "exercise", "check", "solution", "reference", "EXERCISES", "names"]


class Wrong(AssertionError):
    """Raised by a checker with a message that tells the student what is wrong."""


@dataclass
class Exercise:
    name: str
    checker: Callable
    hint: str = ""
    chapter: str = ""
    ref: Callable | None = None

    def reference(self, fn: Callable) -> Callable:
        """Decorator: register ``fn`` as this exercise's reference solution."""
        self.ref = fn
        return fn


EXERCISES: dict[str, Exercise] = {}
_CHAPTERS = ("world", "elmo", "bert", "gpt", "rlhf")


def exercise(name: str, hint: str = "") -> Callable[[Callable], Exercise]:
    """Decorator: register a checker ``checker(fn) -> None`` (raising :class:`Wrong`) under ``name``."""

    def deco(checker: Callable) -> Exercise:
        if name in EXERCISES:
            raise ValueError(f"an exercise called {name!r} exists already")
        mod = checker.__module__.rsplit(".", 1)[-1]
        ex = Exercise(name, checker, hint, mod)
        EXERCISES[name] = ex
        return ex

    return deco


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
    if not callable(fn):
        return "wrong", f"check() needs your function, got {type(fn).__name__}; pass the function itself, not its result"
    try:
        ex.checker(fn)
    except NotImplementedError:
        return "not attempted", f"{name}: not attempted yet — replace `raise NotImplementedError` with your code."
    except Wrong as e:
        msg = f"{name}: not yet. {e}"
        if ex.hint:
            msg += f"\nHint: {ex.hint}"
        return "wrong", msg
    except Exception as e:  # the student's code crashed: say where, in plain words
        return "wrong", f"{name}: your function raised {type(e).__name__}: {e}"
    return "correct", f"{name}: Correct!"


def check(name: str, fn: Callable) -> None:
    """Check a student's function and print what is wrong (or "Correct!").

    Use :func:`run_check` to get the result as a value.
    """
    status, msg = run_check(name, fn)
    print(msg)


def reference(name: str) -> Callable:
    """The reference solution of an exercise (a function)."""
    ex = _get(name)
    if ex.ref is None:
        raise KeyError(f"exercise {name!r} has no reference solution registered")
    return ex.ref


class _Solution:
    def __init__(self, name: str, src: str):
        self.name, self.src = name, src

    def _repr_html_(self):
        return (f"<details><summary><b>Show the solution to “{html.escape(self.name)}”</b></summary>"
                f"<pre><code class='language-python'>{html.escape(self.src)}</code></pre></details>")

    def __repr__(self):
        return f"Solution to {self.name!r} (run print(lmnotes.exercises.reference_source({self.name!r})) to read it)"


def reference_source(name: str) -> str:
    return textwrap.dedent(inspect.getsource(reference(name)))


def solution(name: str) -> _Solution:
    """The reference solution, shown collapsed (an HTML ``<details>`` block) until the student opens it."""
    return _Solution(name, reference_source(name))
