"""The seed sweep's bookkeeping (lmnotes.seeds): reading nbval's failures and making the tables.

The sweep itself runs every notebook several times (`make seeds`), far too long for a test; here it
is checked on a fake result set and on a real junit report of a failing check.
"""

import json

import pytest

from lmnotes import seeds
from lmnotes.seeds import Result

# What pytest --junitxml writes for a notebook whose second cell's check fails (colours included).
JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="0"
failures="1" skipped="0" tests="3"><testcase classname="fail.ipynb" name="Cell 0" time="4.1" /><testcase
classname="fail.ipynb" name="Cell 1" time="0.4"><failure message="Notebook cell execution failed">#x1B[91mNotebook cell
execution failed#x1B[0m
#x1B[94mCell 1: Cell execution caused an exception

Input:
#x1B[0mratio = fwd / bigram
# Check: the biLM beats the bigram by 15%
assert ratio &lt; 0.85, (ratio, 0.85)

#x1B[94mTraceback:#x1B[0m

#x1B[31m---------------------------------------------------------------------------#x1B[39m
#x1B[31mAssertionError#x1B[39m                            Traceback (most recent call last)
#x1B[32m----&gt; #x1B[39m#x1B[32m2#x1B[39m #x1B[38;5;28;01massert#x1B[39;00m ratio &lt; #x1B[32m0.85#x1B[39m

#x1B[31mAssertionError#x1B[39m: (0.86, 0.85)
</failure></testcase><testcase classname="fail.ipynb" name="Cell 2" time="0.2" /></testsuite></testsuites>"""


def test_a_failing_check_is_read_from_the_junit_report():
    n, failures = seeds.failures_from_junit(JUNIT)
    assert n == 3
    assert failures == [("# Check: the biLM beats the bigram by 15%", "AssertionError: (0.86, 0.85)")]
    passing = JUNIT.split('<testcase\nclassname="fail.ipynb" name="Cell 1"')[0] + "</testsuite></testsuites>"
    assert seeds.failures_from_junit(passing) == (1, [])


FAKE = [
    Result("02-elmo/pretraining", 0, "pass", seconds=95.2, figures={"backward_ratio": 0.80}),
    Result(
        "02-elmo/pretraining",
        1,
        "fail",
        [("# Check: the biLM wins", "AssertionError: (0.86, 0.85)")],
        97,
        figures={"backward_ratio": 0.86},
    ),
    Result("02-elmo/pretraining", 2, "pass", seconds=90, figures={"backward_ratio": 0.83}),
    Result("00-the-world/the-world", 0, "pass", seconds=12),
    Result("00-the-world/the-world", 1, "timeout", seconds=3600),
    Result("00-the-world/the-world", 2, "error", [("", "ModuleNotFoundError: No module named 'x|y'")], 3),
]


def test_the_table_has_a_row_per_notebook_and_a_column_per_seed():
    table = seeds.markdown(FAKE)
    lines = table.splitlines()
    assert lines[0] == "| notebook | seed 0 | seed 1 | seed 2 |"
    row = next(ln for ln in lines if ln.startswith("| 02-elmo/pretraining |"))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells == [
        "02-elmo/pretraining",
        "pass (95 s)",
        "FAIL # Check: the biLM wins: AssertionError: (0.86, 0.85)",
        "pass (90 s)",
    ]
    world = next(ln for ln in lines if ln.startswith("| 00-the-world/the-world |"))
    assert "TIMEOUT after 3600 s" in world and "ERROR ModuleNotFoundError" in world
    assert "x\\|y" in world  # a | in a message does not break the table
    assert "3 of 6 runs pass." in table


def test_the_figure_table_gives_each_figure_per_seed_and_its_spread():
    table = seeds.figure_table(FAKE)
    row = next(ln for ln in table.splitlines() if "backward_ratio" in ln)
    assert [c.strip() for c in row.strip("|").split("|")] == [
        "02-elmo/pretraining",
        "backward_ratio",
        "0.8",
        "0.86",
        "0.83",
        "0.8",
        "0.86",
        "0.06",
    ]
    assert seeds.figure_table(FAKE[3:]) == ""  # nothing recorded, no table
    assert "backward_ratio" in seeds.markdown(FAKE)


def test_record_prints_and_keeps_figures_for_the_sweep(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LMNOTES_FIGURES", raising=False)
    seeds.record(ratio=0.861)
    assert "ratio = 0.861" in capsys.readouterr().out
    path = tmp_path / "figures.jsonl"
    monkeypatch.setenv("LMNOTES_FIGURES", str(path))
    seeds.record(ratio=0.5, acc=1)
    seeds.record(gap=0.25)
    assert [json.loads(ln) for ln in path.read_text().splitlines()] == [
        {"ratio": 0.5, "acc": 1.0},
        {"gap": 0.25},
    ]
    with pytest.raises(TypeError, match="numbers"):
        seeds.record(name="x")


def test_the_command_refuses_to_run_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="repository's root"):
        seeds.main([])


def test_every_notebook_takes_its_seeds_from_the_book_seed():
    """A literal seed in a notebook would stay put when the sweep moves the book seed: use lmnotes.seed(k)."""
    import re
    from pathlib import Path

    import nbformat

    literal = re.compile(r"(?<![\w.])seed=\d+\b|manual_seed\(\d+\)")
    root = Path(__file__).resolve().parent.parent / "book"
    found = []
    for path in sorted(root.rglob("*.ipynb")):
        if {".ipynb_checkpoints", "_build"} & set(path.parts):
            continue
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():
                code = line.split("#", 1)[0]
                if "lmnotes.setup(" in code or code.lstrip().startswith("def "):
                    continue
                if literal.search(code):
                    found.append(f"{path.relative_to(root)} cell {i + 1}: {line.strip()}")
    assert not found, "write seed=lmnotes.seed(k) instead of a literal seed:\n" + "\n".join(found)


def test_parallel_runs_share_the_cores_instead_of_each_taking_them_all():
    assert seeds.threads_per_run(1, cores=2) is None
    assert seeds.threads_per_run(2, cores=2) == 1
    assert seeds.threads_per_run(2, cores=16) == 8
    assert seeds.threads_per_run(4, cores=2) == 1


def test_a_run_hands_its_thread_share_to_the_notebook(tmp_path, monkeypatch):
    seen = {}

    def fake_run(cmd, cwd, env, **kwargs):
        seen.update(env)
        raise seeds.subprocess.TimeoutExpired(cmd, 1)

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(seeds.subprocess, "run", fake_run)
    nb = tmp_path / "x.ipynb"
    result = seeds._run_one(nb, 2, tmp_path, tmp_path / "cache", tmp_path, 1, threads=1)
    assert result.status == "timeout"
    assert seen["OMP_NUM_THREADS"] == "1" and seen["LMNOTES_SEED"] == "2"
    seen.clear()
    seeds._run_one(nb, 2, tmp_path, tmp_path / "cache", tmp_path, 1)
    assert "OMP_NUM_THREADS" not in seen
