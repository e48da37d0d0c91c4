"""Measure how long each notebook of the book takes, with the model cache cold and warm.

    python book/_ext/notebook_times.py [--only PATTERN] [--label cpu]

Each notebook runs top to bottom twice in a fresh kernel: first with an empty model cache of
its own (what a student meets on a fresh Colab runtime: the models it needs are trained
first), then again with the cache it filled. The seconds go to book/_data/notebook-times.json,
which the chapter pages and the teacher's guide show (``{notebook-times}``).
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


def run_once(path: Path, cache: Path, timeout: int) -> tuple[float, str | None]:
    """Run one notebook in a fresh kernel; return (seconds, error or None)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
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
    return time.perf_counter() - start, error


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
            cold, err_cold = run_once(path, Path(cache), args.timeout)
            warm, err_warm = run_once(path, Path(cache), args.timeout)
        entry = data.setdefault("notebooks", {}).setdefault(rel, {})
        entry[f"{label}_cold_s"] = round(cold)
        entry[f"{label}_warm_s"] = round(warm)
        for key, err in ((f"{label}_cold_error", err_cold), (f"{label}_warm_error", err_warm)):
            if err:
                entry[key] = err
            else:
                entry.pop(key, None)
        print(f"{rel}: cold {cold:.0f} s, warm {warm:.0f} s" + (f"  ERROR {err_cold or err_warm}" if err_cold or err_warm else ""),
              flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
