"""Measure how long each notebook of the book takes, with the model cache cold and warm.

    python book/_ext/notebook_times.py [--only PATTERN] [--label cpu] [--cold]

First every model of the zoo is trained in a fresh process with an empty cache of its own, and
its training time recorded. Then each notebook runs top to bottom once in a fresh kernel with
those models cached ("warm"), and records which models it loaded. Its time with an empty cache
("cold", what a student meets on a fresh Colab runtime) is then the warm time plus the training
time of the models it loaded, which a cold run trains in the notebook's own kernel. With
``--cold`` each notebook is also run with an empty cache of its own, and that is recorded
instead (every model is then trained once per notebook: slow).

The figures go to book/_data/notebook-times.json, which the chapter pages and the teacher's
guide show (``{notebook-times}``). On a CPU the figure shown is processor time (user + system,
of the kernel and its children, or of the training process), which a machine busy with other
jobs does not inflate the way it inflates the wall-clock time; on an idle machine with as many
cores as the notebook uses threads, the wall-clock time is about the same or less. Both are
recorded. On a GPU the wall-clock time is shown.
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
import resource as _r, sys as _sys
_s, _c = _r.getrusage(_r.RUSAGE_SELF), _r.getrusage(_r.RUSAGE_CHILDREN)
print("LMNOTES-CPU", _s.ru_utime + _s.ru_stime + _c.ru_utime + _c.ru_stime)
_zoo = _sys.modules.get("lmnotes.zoo")
print("LMNOTES-MODELS", " ".join(sorted({k.split("-s")[0] for k in getattr(_zoo, "_MEMORY", {})})))
"""

TRAIN = """\
import os, sys, time, lmnotes
start = time.perf_counter()
lmnotes.pretrained(sys.argv[1])
t = os.times()
print("LMNOTES-TRAIN", t.user + t.system + t.children_user + t.children_system, time.perf_counter() - start)
"""


def train_once(name: str, timeout: int) -> tuple[float, float]:
    """Train one zoo model in a fresh process with an empty cache: (processor seconds, wall seconds)."""
    with tempfile.TemporaryDirectory(prefix="lmnotes-train-") as cache:
        proc = subprocess.run([sys.executable, "-c", TRAIN, name], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LMNOTES_CACHE": cache})
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("LMNOTES-TRAIN ")]
    if proc.returncode or not line:
        raise RuntimeError(f"training {name} failed:\n{proc.stderr[-2000:]}")
    cpu, wall = map(float, line[0].split()[1:])
    return cpu, wall


def run_once(path: Path, cache: Path, timeout: int) -> tuple[float, float | None, list[str], str | None]:
    """Run one notebook in a fresh kernel: (wall seconds, kernel CPU seconds, models loaded, error or None)."""
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
    cpu, models = None, []
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith("LMNOTES-CPU "):
                cpu = float(line.split()[1])
            if line.startswith("LMNOTES-MODELS"):
                models = line.split()[1:]
    return time.perf_counter() - start, cpu, models, error


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
    ap.add_argument("--timeout", type=int, default=3600, help="seconds a cell (or a model's training) may run")
    ap.add_argument("--cold", action="store_true", help="also run each notebook with an empty cache of its own")
    ap.add_argument("--skip-models", action="store_true", help="keep the models' training times already recorded")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    try:
        import torch

        label = args.label or ("gpu" if torch.cuda.is_available() else "cpu")
    except ImportError:  # pragma: no cover
        label = args.label or "cpu"
    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data.setdefault("notebooks", {})
    data.setdefault("models", {})
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = ""
    data.setdefault("machines", {})[label] = {
        "machine": machine(), "date": datetime.date.today().isoformat(), "commit": commit,
        "load_before": round(os.getloadavg()[0], 1),
    }

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")

    from lmnotes import zoo

    if not args.skip_models:
        for name in zoo.available():
            cpu, wall = train_once(name, args.timeout)
            data["models"].setdefault(name, {}).update({f"{label}_s": round(cpu if label == "cpu" else wall),
                                                        f"{label}_wall_s": round(wall)})
            print(f"model {name}: trained in {cpu:.0f} s of processor time ({wall:.0f} s wall)", flush=True)
            save()
    notebooks = [p for p in toc_notebooks() if args.only in p.relative_to(ROOT).as_posix()]
    for name in zoo.available() if notebooks else []:  # the warm runs below load them from the default cache
        zoo.pretrained(name)
    for path in notebooks:
        rel = path.relative_to(ROOT).as_posix()
        load = os.getloadavg()[0]
        wall, cpu, models, err = run_once(path, zoo.cache_dir(), args.timeout)
        entry = data["notebooks"].setdefault(rel, {})
        warm = cpu if label == "cpu" and cpu else wall
        entry.update({f"{label}_warm_s": round(warm), f"{label}_warm_wall_s": round(wall),
                      f"{label}_load": round((load + os.getloadavg()[0]) / 2, 1), "models": models})
        cold = warm + sum(data["models"].get(m, {}).get(f"{label}_s", 0) for m in models)
        entry[f"{label}_cold_s"], entry[f"{label}_cold_derived"] = round(cold), True
        if args.cold:
            with tempfile.TemporaryDirectory(prefix="lmnotes-cold-") as cache:
                cwall, ccpu, _, cerr = run_once(path, Path(cache), args.timeout)
            entry[f"{label}_cold_s"] = round(ccpu if label == "cpu" and ccpu else cwall)
            entry[f"{label}_cold_wall_s"], entry[f"{label}_cold_derived"] = round(cwall), False
            err = err or cerr
        if err:
            entry[f"{label}_error"] = err
        else:
            entry.pop(f"{label}_error", None)
        print(f"{rel}: warm {warm:.0f} s, cold {entry[f'{label}_cold_s']} s, models {models}"
              + (f"  ERROR {err}" if err else ""), flush=True)
        save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
