"""The seed sweep: every notebook of the book, run at several book seeds, and a table of what held.

A check that passes only at the seed it was written with proves nothing. ``make seeds`` (or
``python -m lmnotes.seeds``, from the repository's root) runs each notebook under nbval with
``LMNOTES_SEED=0, 1, 2, 3``, which shifts every seed the notebook and the model zoo use
(:func:`lmnotes.seed`), each seed with its own model cache, so every model is pretrained at that seed
too. It prints a table, notebook × seed → ``pass`` or the failing check and its message, and writes it
to ``_build/seeds.md``. Notebooks may call :func:`record` with their key figures; the sweep adds a
table of each figure's value at every seed and its spread, the number a check's margin is set from.

Options: ``python -m lmnotes.seeds book/02-elmo/*.ipynb --seeds 0 1 2 3 --jobs 2``.
Runs are sequential by default: one notebook already keeps a small machine busy. With ``--jobs N``
each run gets its share of the cores (``OMP_NUM_THREADS`` = cores // N, unless you set it): PyTorch's
threads, left at one per core in every run, spin against each other, and on two cores two ELMo
runs at once took twenty minutes where one alone takes half a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = [
    "record",
    "Result",
    "threads_per_run",
    "failures_from_junit",
    "markdown",
    "figure_table",
    "sweep",
    "main",
]

_ANSI = re.compile(r"(?:\x1b|#x1B)\[[0-9;]*m")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit)\b.*$")


def record(**figures) -> None:
    """Print this run's key figures; under the seed sweep (``$LMNOTES_FIGURES`` set) also keep them,
    so that its table shows each figure at every seed and its spread.

    Example: ``lmnotes.seeds.record(backward_ratio=0.86, scratch_4_labels=0.66)``
    """
    clean = {}
    for name, value in figures.items():
        try:
            clean[name] = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"record() takes numbers; {name}={value!r} is a {type(value).__name__}") from None
    print("key figures:", ", ".join(f"{k} = {v:.4g}" for k, v in clean.items()))
    path = os.environ.get("LMNOTES_FIGURES")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean) + "\n")


@dataclasses.dataclass
class Result:
    """One notebook at one seed: ``status`` is "pass", "fail" (a check or cell failed), "timeout" or
    "error" (nbval did not run); ``failures`` lists ``(check, message)`` per failing cell."""

    notebook: str
    seed: int
    status: str
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    figures: dict[str, float] = dataclasses.field(default_factory=dict)


def _describe_failure(text: str) -> tuple[str, str]:
    """(the cell's ``# Check:`` line or first line, the exception line) from an nbval failure report."""
    text = _ANSI.sub("", text)
    check = ""
    if "Input:" in text:
        cell = text.split("Input:", 1)[1].split("Traceback:", 1)[0]
        lines = [ln.strip() for ln in cell.strip().splitlines() if ln.strip()]
        checks = [ln for ln in lines if ln.startswith("# Check")]
        check = checks[0] if checks else (lines[0] if lines else "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if _ERROR_LINE.match(ln)]
    message = errors[-1] if errors else (lines[-1] if lines else "failed")
    return check, message


def failures_from_junit(xml_text: str) -> tuple[int, list[tuple[str, str]]]:
    """(number of cells run, [(check, message) for each failing cell]) from pytest's junit XML."""
    root = ET.fromstring(xml_text)
    cases = list(root.iter("testcase"))
    failures = []
    for case in cases:
        for bad in list(case.findall("failure")) + list(case.findall("error")):
            check, message = _describe_failure(bad.text or bad.get("message", ""))
            failures.append((check or case.get("name", ""), message))
    return len(cases), failures


def _cell(result: Result | None) -> str:
    if result is None:
        return ""
    if result.status == "pass":
        return f"pass ({result.seconds:.0f} s)"
    if result.status == "timeout":
        return f"TIMEOUT after {result.seconds:.0f} s"
    parts = [f"{check}: {message}" if check else message for check, message in result.failures] or ["failed"]
    text = "FAIL " + "; ".join(parts) if result.status == "fail" else "ERROR " + "; ".join(parts)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 300 else text[:297] + "..."


def _order(values):
    return list(dict.fromkeys(values))


def markdown(results: list[Result]) -> str:
    """The sweep's tables in Markdown: notebook × seed → pass or failure, then the key figures."""
    notebooks = _order(r.notebook for r in results)
    seeds = sorted(_order(r.seed for r in results))
    by = {(r.notebook, r.seed): r for r in results}
    lines = ["| notebook | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---|" + "---|" * len(seeds)]
    for nb in notebooks:
        lines.append(f"| {nb} | " + " | ".join(_cell(by.get((nb, s))) for s in seeds) + " |")
    n_pass = sum(r.status == "pass" for r in results)
    out = "\n".join(lines) + f"\n\n{n_pass} of {len(results)} runs pass.\n"
    figures = figure_table(results)
    return out + ("\n" + figures if figures else "")


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return f"{v:.3g}"


def figure_table(results: list[Result]) -> str:
    """Markdown table of each recorded figure at every seed, with its min, max and spread (max - min)."""
    seeds = sorted(_order(r.seed for r in results))
    rows: dict[tuple[str, str], dict[int, float]] = {}
    for r in results:
        for name, value in r.figures.items():
            rows.setdefault((r.notebook, name), {})[r.seed] = value
    if not rows:
        return ""
    lines = [
        "| notebook | figure | " + " | ".join(f"seed {s}" for s in seeds) + " | min | max | spread |",
        "|---|---|" + "---|" * (len(seeds) + 3),
    ]
    for (nb, name), values in rows.items():
        lo, hi = min(values.values()), max(values.values())
        lines.append(
            f"| {nb} | {name} | "
            + " | ".join(_fmt(values.get(s)) for s in seeds)
            + f" | {_fmt(lo)} | {_fmt(hi)} | {_fmt(hi - lo)} |"
        )
    return "\n".join(lines) + "\n"


def _run_one(
    notebook: Path,
    seed: int,
    root: Path,
    cache_root: Path,
    work: Path,
    timeout: float,
    threads: int | None = None,
) -> Result:
    name = (
        notebook.relative_to(root / "book").with_suffix("").as_posix()
        if notebook.is_relative_to(root / "book")
        else notebook.stem
    )
    tag = f"{name.replace('/', '__')}-seed{seed}"
    xml, figures = work / f"{tag}.xml", work / f"{tag}.jsonl"
    for f in (xml, figures):
        f.unlink(missing_ok=True)
    env = {
        **os.environ,
        "LMNOTES_SEED": str(seed),
        "LMNOTES_CACHE": str(cache_root / f"seed-{seed}"),
        "LMNOTES_FIGURES": str(figures),
        "NO_COLOR": "1",
    }
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, str(threads))
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(notebook),
        "-q",
        "-p",
        "no:cacheprovider",
        "--nbval-lax",
        f"--junitxml={xml}",
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Result(name, seed, "timeout", seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    recorded = {}
    if figures.exists():
        for line in figures.read_text(encoding="utf-8").splitlines():
            recorded.update(json.loads(line))
    if not xml.exists():
        tail = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()][-1:] or ["no output"]
        return Result(name, seed, "error", [("", tail[0])], seconds, recorded)
    n_cells, failures = failures_from_junit(xml.read_text(encoding="utf-8"))
    if n_cells == 0:
        return Result(name, seed, "error", [("", "no cells were collected")], seconds, recorded)
    return Result(name, seed, "fail" if failures else "pass", failures, seconds, recorded)


def threads_per_run(jobs: int, cores: int | None = None) -> int | None:
    """The PyTorch threads each of ``jobs`` simultaneous runs may use: None (PyTorch's own choice)
    for one run at a time, else an equal share of the cores, at least one."""
    if jobs <= 1:
        return None
    return max(1, (cores or os.cpu_count() or 1) // jobs)


def sweep(
    notebooks: list[Path],
    seeds: list[int],
    root: Path,
    cache_root: Path,
    jobs: int = 1,
    timeout: float = 3600,
    progress=print,
) -> list[Result]:
    """Run every notebook at every seed (one seed's runs share its model cache); returns the results."""
    work = root / "_build" / "seeds"
    work.mkdir(parents=True, exist_ok=True)
    runs = [(nb, s) for s in seeds for nb in notebooks]
    threads = threads_per_run(jobs)

    def one(run):
        result = _run_one(run[0], run[1], root, cache_root, work, timeout, threads)
        progress(f"{result.notebook} at seed {result.seed}: {_cell(result)}")
        return result

    if jobs <= 1:
        return [one(run) for run in runs]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, runs))


def _notebooks(root: Path, paths: list[str]) -> list[Path]:
    if paths:
        found = [Path(p).resolve() for p in paths]
        missing = [str(p) for p in found if not p.is_file()]
        if missing:
            raise SystemExit(f"no such notebook: {', '.join(missing)}")
        return found
    skip = {".ipynb_checkpoints", "_build"}
    return sorted(p for p in (root / "book").rglob("*.ipynb") if not skip & set(p.parts))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lmnotes.seeds", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: every notebook under book/)")
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="book seeds (default 0 1 2 3)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run at once (default 1)")
    parser.add_argument(
        "--cache",
        default="_build/seeds/cache",
        help="model caches, one folder per seed (default _build/seeds/cache)",
    )
    parser.add_argument("--fresh", action="store_true", help="empty the model caches first")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per notebook run (default 3600)")
    parser.add_argument(
        "--out", default="_build/seeds.md", help="where the table goes (default _build/seeds.md)"
    )
    args = parser.parse_args(argv)
    root = Path.cwd()
    if not (root / "book").is_dir():
        raise SystemExit("run the seed sweep from the repository's root (the folder that holds book/)")
    if any(s < 0 for s in args.seeds) or args.jobs < 1:
        raise SystemExit("seeds must be >= 0 and --jobs >= 1")
    cache_root = (root / args.cache).resolve()
    if args.fresh and cache_root.exists():
        shutil.rmtree(cache_root)
    notebooks = _notebooks(root, args.notebooks)
    print(
        f"{len(notebooks)} notebooks x seeds {args.seeds}, {args.jobs} at a time; model caches in {cache_root}"
    )
    results = sweep(notebooks, args.seeds, root, cache_root, args.jobs, args.timeout)
    table = markdown(results)
    out = root / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"# Seed sweep\n\nseeds {args.seeds}; `python -m lmnotes.seeds`\n\n{table}", encoding="utf-8"
    )
    print("\n" + table + f"\nwritten to {out}")
    return 0 if all(r.status == "pass" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
