"""Measure how long each notebook of the book takes, with the model cache cold and warm.

    python book/_ext/notebook_times.py [--only PATTERN] [--label cpu]

Each notebook runs top to bottom twice in a fresh kernel: first with an empty model cache of
its own (what a student meets on a fresh Colab runtime: the models it needs are trained
first), then again with the cache it filled. The seconds go to book/_data/notebook-times.json,
which the chapter pages and the teacher's guide show (``{notebook-times}``).

On a CPU the figure shown is the kernel's processor time (user + system, the kernel and its
children), which a machine busy with other jobs does not inflate the way it inflates the
wall-clock time; on an idle machine with as many cores as the notebook uses threads, the
wall-clock time is about the same or less. Both are recorded. On a GPU the wall-clock time is shown.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "book" / "_data" / "notebook-times.json"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from lmnotes_book import toc_notebooks  # noqa: E402


CPU_CELL = """\
import resource as _r
_s, _c = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)
print("LMNOTES-CPU", _s.ru_utime + _s.ru_stime + _c.ru_utime + _c.ru_stime)
"""


def run_once(path: Path, cache: Path, timeout: int) -> tuple[float, float | None, str | None]:
    """Run one notebook in a fresh kernel; return (wall seconds, kernel CPU seconds, error or None)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(CPU_CELL))
    old = os.environ.get("LMNOTES_CACHE")
    os.environ["LMNOTES_CACHE"] = str(cache)  # the kernel inherits the environment
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}).execute()
        error = None
    except Exception as exc:  # report and go on with the next notebook
        error = f"{type(exc).__name__}: {str(exc)[-400:]}"
    finally:
        if old is None:
            os.environ.pop("LMNOTES_CACHE", None)
        else:
            os.environ["LMNOTES_CACHE"] = old
    cpu = None
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith("LMNOTES-CPU "):
                cpu = float(line.split()[1])
    return time.perf_counter() - start, cpu, error


def machine() -> str:
    cpus = os.cpu_count()
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
        tv = torch.__version__
    except ImportError:  # pragma: no cover
        gpu, tv = None, "?"
    return (f"{gpu} GPU" if gpu else f"{cpus}-core CPU ({platform.processor() or platform.machine()})") + f", torch {tv}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="measure only notebooks whose path contains this text")
    ap.add_argument("--label", default=None, help="'cpu' or 'gpu' (default: what torch sees)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds a cell may run")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        import torch

        label = args.label or ("gpu" if torch.cuda.is_available() else "cpu")
    except ImportError:  # pragma: no cover
        label = args.label or "cpu"
    data = json.loads(args.out.read_text()) if args.out.exists() else {"notebooks": {}, "machines": {}}
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    data.setdefault("machines", {})[label] = {
        "machine": machine(), "date": datetime.date.today().isoformat(), "commit": commit,
        "load_before": round(os.getloadavg()[0], 1),
    }
    for path in toc_notebooks():
        rel = path.relative_to(ROOT).as_posix()
        if args.only not in rel:
            continue
        with tempfile.TemporaryDirectory(prefix="lmnotes-cold-") as cache:
            load = os.getloadavg()[0]
            cold, cold_cpu, err_cold = run_once(path, Path(cache), args.timeout)
            warm, warm_cpu, err_warm = run_once(path, Path(cache), args.timeout)
            load = (load + os.getloadavg()[0]) / 2
        entry = data.setdefault("notebooks", {}).setdefault(rel, {})
        # the figure shown: processor time on a CPU, wall-clock time on a GPU
        shown = (cold_cpu, warm_cpu) if label == "cpu" and cold_cpu and warm_cpu else (cold, warm)
        entry[f"{label}_cold_s"], entry[f"{label}_warm_s"] = round(shown[0]), round(shown[1])
        entry[f"{label}_cold_wall_s"], entry[f"{label}_warm_wall_s"] = round(cold), round(warm)
        entry[f"{label}_load"] = round(load, 1)
        for key, err in ((f"{label}_cold_error", err_cold), (f"{label}_warm_error", err_warm)):
            if err:
                entry[key] = err
            else:
                entry.pop(key, None)
        print(f"{rel}: cold {shown[0]:.0f} s, warm {shown[1]:.0f} s (wall {cold:.0f} s, {warm:.0f} s; load {load:.1f})" + (f"  ERROR {err_cold or err_warm}" if err_cold or err_warm else ""),
              flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
