"""Tools for running a class with the book: warm the model cache, hand out a student edition,
grade a folder of submitted notebooks.

From a shell (``python -m lmnotes --help``)::

    python -m lmnotes warm                       # train or load every model the book uses
    python -m lmnotes student book _build/student  # notebooks without their solution cells
    python -m lmnotes grade submissions/ --csv grades.csv

In a notebook, ``lmnotes.exercises.progress()`` shows a student where they stand.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "warm",
    "write_student_edition",
    "student_notebook",
    "notebook_exercises",
    "grade",
    "grade_one",
    "Submission",
]

# A call that shows a reference solution, a question's answer or a discussion's model answer.
SOLUTION_CALL = re.compile(r"\bsolution\(")
CHECK_CALL = re.compile(r"""exercises\.(?:check|run_check|status)\(\s*["']([A-Za-z0-9_]+)["']""")
SOLUTION_TAGS = {"solution", "remove-student"}


# --- Warming the model cache ----------------------------------------------------------------------


def warm(names: list[str] | None = None, out=print) -> list[dict]:
    """Train (or load) every model of the zoo, so that no notebook waits for one in class.

    Prints one line per model (how long it took, and the folder it is cached in) and returns the
    same as a list of dicts. ``names`` limits it to some models.
    """
    from . import zoo

    cache = zoo.cache_dir()
    todo = names or zoo.available()
    unknown = sorted(set(todo) - set(zoo.available()))
    if unknown:
        raise ValueError(
            f"no model called {', '.join(unknown)} in the zoo; the models are: {', '.join(zoo.available())}"
        )
    out(f"model cache: {cache}  (set LMNOTES_CACHE to put it elsewhere)")
    rows = []
    total = time.perf_counter()
    for name in todo:
        before = {p: p.stat().st_mtime for p in cache.glob("*")} if cache.exists() else {}
        start, cpu = time.perf_counter(), _cpu_seconds()
        zoo.pretrained(name)
        seconds, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
        after = {p: p.stat().st_mtime for p in cache.glob("*")} if cache.exists() else {}
        new = [p for p in after if p not in before or after[p] != before[p]]
        mine = sorted((p for p in after if p.name.startswith(f"{name}-")), key=lambda p: after[p])
        where = (new or mine or [cache])[-1]
        trained = bool(new)
        rows.append(
            {
                "name": name,
                "seconds": round(seconds, 1),
                "cpu_seconds": round(cpu, 1),
                "trained": trained,
                "path": str(where),
            }
        )
        out(
            f"{name:<16} {'trained' if trained else 'loaded ':<8} {seconds:7.1f} s (processor {cpu:6.1f} s)  {where}"
        )
    out(f"{len(rows)} models ready in {time.perf_counter() - total:.0f} s")
    return rows


def _cpu_seconds() -> float:
    """Processor time of this process so far (all its threads): what other jobs do not inflate."""
    t = os.times()
    return t.user + t.system


# --- The student edition --------------------------------------------------------------------------


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def notebook_exercises(nb: dict) -> list[str]:
    """The exercises a notebook checks (``lmnotes.exercises.check("name", ...)``), in order."""
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            for name in CHECK_CALL.findall(_source(cell)):
                if name not in found:
                    found.append(name)
    return found


def student_notebook(nb: dict, source: str = "") -> dict:
    """The student edition of a notebook (parsed JSON): solution cells removed, checks kept.

    A code cell goes when it calls ``solution(...)`` or is tagged ``solution``; where such a call
    shares a cell with other code, only its lines go. Outputs are cleared. The notebook's metadata
    records its exercises, which ``python -m lmnotes grade`` reads.
    """
    import copy

    out = copy.deepcopy(nb)
    cells = []
    for cell in out.get("cells", []):
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & SOLUTION_TAGS:
            continue
        if cell.get("cell_type") == "code":
            src = _source(cell)
            if SOLUTION_CALL.search(src):
                kept = [line for line in src.split("\n") if not SOLUTION_CALL.search(line)]
                if not "\n".join(kept).strip():
                    continue
                cell["source"] = "\n".join(kept)
            cell["outputs"] = []
            cell["execution_count"] = None
        cells.append(cell)
    out["cells"] = cells
    out.setdefault("metadata", {})["lmnotes"] = {
        "edition": "student",
        "source": source,
        "exercises": notebook_exercises(nb),
    }
    return out


def write_student_edition(paths: list[Path], out_dir: Path, root: Path | None = None) -> list[Path]:
    """Write the student edition of every notebook under ``paths`` (files or folders) to ``out_dir``,
    keeping their paths relative to ``root`` (the common folder by default). Returns the files written.
    """
    notebooks = []
    for p in map(Path, paths):
        if p.is_dir():
            notebooks += sorted(
                q
                for q in p.rglob("*.ipynb")
                if not any(part.startswith((".", "_")) for part in q.relative_to(p).parts)
            )
        elif p.suffix == ".ipynb":
            notebooks.append(p)
        else:
            raise ValueError(
                f"{p} is neither a notebook nor a folder; give notebooks (.ipynb) or folders of them"
            )
    if not notebooks:
        raise ValueError(f"no notebooks under {', '.join(map(str, paths))}")
    root = Path(root) if root else Path(os.path.commonpath([str(p.resolve().parent) for p in notebooks]))
    written = []
    for nb_path in notebooks:
        rel = nb_path.resolve().relative_to(root.resolve())
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        target = Path(out_dir) / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            json.dumps(student_notebook(nb, rel.as_posix()), indent=1, ensure_ascii=False) + "\n",
            encoding="utf-8",
        )
        written.append(target)
    return written


# --- Grading --------------------------------------------------------------------------------------

MARK = "LMNOTES-GRADES "
GRADE_CELL = """\
# added by `python -m lmnotes grade`
import json as _json
import lmnotes.exercises as _ex
print({mark!r} + _json.dumps([(_n, *_ex.status(_n, globals(), {check_limit})) for _n in {names!r}]))
"""


@dataclass
class Submission:
    """What grading found in one submitted notebook."""

    file: str
    outcome: str  # "ran", "cell errors", "crashed", "timed out", "unreadable"
    message: str
    results: list[tuple[str, str, str]] = field(default_factory=list)  # (exercise, status, message)
    seconds: float = 0.0

    def rows(self) -> list[dict]:
        rows = [
            {
                "student file": self.file,
                "exercise": "(notebook)",
                "status": self.outcome,
                "message": self.message,
            }
        ]
        rows += [
            {"student file": self.file, "exercise": n, "status": s, "message": m} for n, s, m in self.results
        ]
        return rows


def _run_submission(path: Path, names: list[str], cell_timeout: float, check_limit: float) -> dict:
    """Run one notebook in a fresh kernel (called in a child process); return what happened as a dict."""
    import copy

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.append(
        nbformat.v4.new_code_cell(GRADE_CELL.format(mark=MARK, names=names, check_limit=check_limit))
    )
    pristine = copy.deepcopy(nb)
    for _attempt in range(2):
        nb = copy.deepcopy(pristine)
        client = NotebookClient(
            nb,
            timeout=cell_timeout,
            allow_errors=True,
            interrupt_on_timeout=True,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        )
        outcome, message = "ran", "ran to the end"
        try:
            client.execute()
        except DeadKernelError as err:
            outcome, message = "crashed", f"the kernel died: {err}"
        except Exception as err:  # the kernel would not start, or nbclient gave up
            outcome, message = "crashed", f"{type(err).__name__}: {err}"
        started = any(c.get("execution_count") is not None for c in nb.cells if c.cell_type == "code")
        if outcome == "ran" or started:
            break
        # no cell ran: the kernel failed to start (kernels started at the same moment can pick
        # the same port), so start it once more before blaming the notebook
    errors, results = [], None
    for i, cell in enumerate(nb.cells[:-1], start=1):
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                timed_out = o.get("ename") == "KeyboardInterrupt"
                errors.append(
                    f"cell {i}: "
                    + (
                        f"stopped after {cell_timeout:g} s (an endless loop?)"
                        if timed_out
                        else f"{o.get('ename')}: {o.get('evalue')}"
                    )
                )
    for o in nb.cells[-1].get("outputs", []):
        if o.get("output_type") == "stream":
            for line in o.get("text", "").splitlines():
                if line.startswith(MARK):
                    results = json.loads(line[len(MARK) :])
    if outcome == "ran" and errors:
        outcome = "timed out" if any("stopped after" in e for e in errors) else "cell errors"
        message = "; ".join(errors)
    elif outcome == "crashed":
        done = sum(1 for c in nb.cells if c.cell_type == "code" and c.get("execution_count") is not None)
        message += f" (after {done} code cells)" + (f"; {'; '.join(errors)}" if errors else "")
    return {"outcome": outcome, "message": message, "results": results}


def grade_one(
    path: Path,
    names: list[str] | None = None,
    timeout: float = 900,
    cell_timeout: float | None = None,
    check_limit: float = 30,
    label: str | None = None,
) -> Submission:
    """Grade one notebook in its own process and kernel, within ``timeout`` seconds in all.

    A cell that runs longer than ``cell_timeout`` is interrupted and the rest still runs; a
    notebook still running after ``timeout`` is stopped. Either way the other submissions go on.
    """
    path = Path(path)
    label = label or path.name
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return Submission(label, "unreadable", f"not a notebook: {err}")
    if names is None:
        names = nb.get("metadata", {}).get("lmnotes", {}).get("exercises") or notebook_exercises(nb)
    cell_timeout = cell_timeout or max(10.0, timeout / 3)
    start = time.perf_counter()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        report = Path(f.name)
    cmd = [
        sys.executable,
        "-m",
        "lmnotes.classroom",
        "_run",
        str(path.resolve()),
        str(report),
        json.dumps(names),
        str(cell_timeout),
        str(check_limit),
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )  # its own process group: the kernel goes with it
    try:
        log, _ = proc.communicate(timeout=timeout)
        found = json.loads(report.read_text()) if report.stat().st_size else None
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        found, log = None, ""
        sub = Submission(label, "timed out", f"stopped after {timeout:g} s: the notebook did not finish")
    finally:
        report.unlink(missing_ok=True)
    seconds = time.perf_counter() - start
    if found is None and proc.returncode is not None and proc.returncode != -signal.SIGKILL:
        tail = " ".join((log or "").strip().splitlines()[-3:])
        sub = Submission(label, "crashed", f"the grader could not run it: {tail[-300:]}")
    elif found is not None:
        sub = Submission(label, found["outcome"], found["message"])
        results = {n: (s, m) for n, s, m in (found["results"] or [])}
        for name in names:
            if name in results:
                sub.results.append((name, *results[name]))
            else:
                sub.results.append(
                    (name, "not graded", f"the notebook stopped before it could be graded: {sub.message}")
                )
    if not sub.results:
        sub.results = [(name, "not graded", sub.message) for name in names]
    sub.seconds = seconds
    return sub


def grade(
    folder: Path,
    csv_path: Path | None = None,
    timeout: float = 900,
    cell_timeout: float | None = None,
    jobs: int = 1,
    exercises: list[str] | None = None,
    out=print,
) -> list[Submission]:
    """Grade every notebook in ``folder`` (each in its own kernel), write a CSV with one row per
    student file and exercise (``student file, exercise, status, message``), print a summary.
    """
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not files:
        raise ValueError(f"no notebooks (.ipynb) in {folder}; put the submitted notebooks there")
    out(f"grading {len(files)} notebooks from {folder} ({jobs} at a time, {timeout:g} s each at most)")

    def one(p: Path) -> Submission:
        sub = grade_one(p, exercises, timeout, cell_timeout, label=p.relative_to(folder).as_posix())
        done = sum(s == "correct" for _, s, _ in sub.results)
        out(f"  {sub.file}: {sub.outcome}, {done}/{len(sub.results)} correct ({sub.seconds:.0f} s)")
        return sub

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        subs = list(pool.map(one, files))
    csv_path = Path(csv_path) if csv_path else folder / "grades.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["student file", "exercise", "status", "message"])
        writer.writeheader()
        for sub in subs:
            writer.writerows(sub.rows())
    out(summary(subs))
    out(f"wrote {csv_path}")
    return subs


def summary(subs: list[Submission]) -> str:
    """A plain-text summary: each student file's score and outcome, then each exercise's count."""
    width = max(len(s.file) for s in subs)
    lines = ["", f"{'student file':<{width}}  correct  notebook"]
    for s in subs:
        done = sum(st == "correct" for _, st, _ in s.results)
        lines.append(
            f"{s.file:<{width}}  {done:>3}/{len(s.results):<3}  {s.outcome}"
            + ("" if s.outcome == "ran" else f": {s.message[:100]}")
        )
    per: dict[str, dict[str, int]] = {}
    for s in subs:
        for name, st, _ in s.results:
            per.setdefault(name, {}).setdefault(st, 0)
            per[name][st] += 1
    if per:
        lines += ["", "exercise: how many students are at each status"]
        w = max(map(len, per))
        for name, counts in per.items():
            lines.append(f"{name:<{w}}  " + ", ".join(f"{n} {st}" for st, n in sorted(counts.items())))
    return "\n".join(lines)


# --- Command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_run"]:  # the child process of grade_one
        path, report, names, cell_timeout, check_limit = argv[1:6]
        result = _run_submission(Path(path), json.loads(names), float(cell_timeout), float(check_limit))
        Path(report).write_text(json.dumps(result))
        return 0
    ap = argparse.ArgumentParser(
        prog="python -m lmnotes", description="Tools for running a class with LM Notes."
    )
    sub = ap.add_subparsers(dest="command", required=True)
    w = sub.add_parser("warm", help="train or load every model the book uses, and say where they are cached")
    w.add_argument("names", nargs="*", help="only these models (default: all)")
    s = sub.add_parser("student", help="write the student edition: notebooks without their solution cells")
    s.add_argument(
        "paths", nargs="+", type=Path, help="notebooks or folders of notebooks, then the output folder"
    )
    g = sub.add_parser("grade", help="run a folder of submitted notebooks and write grades.csv")
    g.add_argument("folder", type=Path)
    g.add_argument(
        "--csv", type=Path, default=None, help="where to write the CSV (default: FOLDER/grades.csv)"
    )
    g.add_argument("--timeout", type=float, default=900, help="seconds for one notebook in all (default 900)")
    g.add_argument(
        "--cell-timeout",
        type=float,
        default=None,
        help="seconds before a cell is interrupted (default: a third of --timeout)",
    )
    g.add_argument("--jobs", type=int, default=1, help="notebooks graded at the same time (default 1)")
    g.add_argument(
        "--exercises",
        default=None,
        help="comma-separated exercise names (default: those each notebook checks)",
    )
    args = ap.parse_args(argv)
    try:
        if args.command == "warm":
            warm(args.names or None)
        elif args.command == "student":
            if len(args.paths) < 2:
                ap.error(
                    "give the notebooks or folders, then the output folder: "
                    "python -m lmnotes student book _build/student"
                )
            *inputs, out_dir = args.paths
            written = write_student_edition(inputs, out_dir)
            print(f"wrote {len(written)} student notebooks to {out_dir}")
        elif args.command == "grade":
            names = [n.strip() for n in args.exercises.split(",")] if args.exercises else None
            grade(args.folder, args.csv, args.timeout, args.cell_timeout, args.jobs, names)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
