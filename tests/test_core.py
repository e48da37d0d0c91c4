"""lmnotes.setup, show_source and the exercise framework (the model zoo: tests/test_zoo.py)."""

import random

import numpy as np
import pytest
import torch

import lmnotes
from lmnotes import exercises


def test_setup_seeds_everything_and_returns_a_device(capsys):
    d = lmnotes.setup(seed=5)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    lmnotes.setup(seed=5, verbose=False)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    assert isinstance(d, torch.device) and d.type in {"cpu", "cuda", "mps"}
    assert "device" in capsys.readouterr().out


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_setup_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed"):
        lmnotes.setup(seed=seed)


def test_show_source_prints_code(capsys):
    lmnotes.show_source(lmnotes.setup)
    assert "def setup" in capsys.readouterr().out
    with pytest.raises(TypeError):
        lmnotes.show_source(3)


def test_exercise_framework_reports_what_is_wrong(capsys):
    @exercises.exercise("test-double", hint="multiply by two")
    def check_double(fn):
        for x in (0, 1, -3):
            if fn(x) != 2 * x:
                raise exercises.Wrong(f"double({x}) should be {2 * x}, yours gives {fn(x)}")

    @check_double.reference
    def double(x):
        return 2 * x

    try:
        assert exercises.check("test-double", double) is None
        assert "Correct" in capsys.readouterr().out

        def stub(x):
            raise NotImplementedError

        assert exercises.run_check("test-double", stub)[0] == "not attempted"
        status, msg = exercises.run_check("test-double", lambda x: x + 1)
        assert status == "wrong" and "double(0) should be 0, yours gives 1" in msg and "Hint" in msg
        status, msg = exercises.run_check("test-double", lambda x: 1 / 0)
        assert status == "wrong" and "ZeroDivisionError" in msg
        html = exercises.solution("test-double")._repr_html_()
        assert html.startswith("<details>") and "return 2 * x" in html
        with pytest.raises(KeyError, match="no exercise called"):
            exercises.check("nope", double)
    finally:
        exercises.EXERCISES.pop("test-double")


def test_every_registered_exercise_accepts_its_reference():
    for name in exercises.names():
        status, msg = exercises.run_check(name, exercises.reference(name))
        assert status == "correct", msg
