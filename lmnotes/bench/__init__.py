"""``python -m lmnotes.bench``: lmnotes against the implementation a reader would pick instead.

Each model module here (``elmo``, ``bert``, ``gpt``) has ``run(device, quick) -> list[Result]``; the
two sides run in one process, on the same device, with the same config and batch, so the ratio is
what to read (absolute numbers depend on the machine). Nothing is downloaded: models are built
from configs with random weights.

    python -m lmnotes.bench                 # every entry, sizes for the device at hand
    python -m lmnotes.bench --only gpt      # one family
    python -m lmnotes.bench --quick         # tiny sizes (a smoke test; the numbers mean little)
    python -m lmnotes.bench --compile       # torch.compile both sides (GPT training)
    python -m lmnotes.bench --only gpt --decode both --compile   # also GPT decoding with a static cache,
                                            # its step compiled (a CUDA graph on a GPU)
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from dataclasses import asdict, dataclass

import torch

FAMILIES = ("elmo", "bert", "gpt")


@dataclass
class Result:
    """One comparison: ``ours`` and ``theirs`` in ``unit`` (higher is better), and what was run."""

    name: str
    ours: float
    theirs: float
    unit: str
    reference: str
    detail: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.theirs if self.theirs else float("nan")


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timeit(fn, device, warmup: int = 2, repeat: int = 5) -> float:
    """Median seconds of ``fn()`` after ``warmup`` calls (synchronising the GPU around each)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def run(only=None, quick: bool = False, device=None) -> list[Result]:
    from ..utils import pick_device

    device = torch.device(device) if device else pick_device()
    results = []
    for fam in only or FAMILIES:
        if fam not in FAMILIES:
            raise ValueError(f"unknown benchmark {fam!r}; choose from {FAMILIES}")
        try:
            mod = importlib.import_module(f"{__name__}.{fam}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{fam}":
                raise
            print(f"[{fam}] no benchmark yet")
            continue
        results += mod.run(device, quick)
    return results


def report(results: list[Result]) -> str:
    head = f"{'benchmark':44s} {'lmnotes':>12s} {'reference':>12s} {'unit':>8s} {'ratio':>7s}  reference"
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.name:44s} {r.ours:12.1f} {r.theirs:12.1f} {r.unit:>8s} {r.ratio:7.2f}x  {r.reference}"
            + (f" ({r.detail})" if r.detail else "")
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m lmnotes.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=None, help=f"comma-separated families among {','.join(FAMILIES)}")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    ap.add_argument("--device", default=None)
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument(
        "--compile", action="store_true", help="torch.compile both sides where a benchmark supports it"
    )
    ap.add_argument(
        "--decode",
        choices=("dynamic", "static", "both"),
        default=None,
        help="GPT decoding: generate's dynamic cache (default), the static-cache decoder, or both",
    )
    a = ap.parse_args(argv)
    import os

    if a.compile:
        os.environ["LMNOTES_BENCH_COMPILE"] = "1"
    if a.decode:
        os.environ["LMNOTES_BENCH_DECODE"] = a.decode
    only = a.only.split(",") if a.only else None
    device = torch.device(a.device) if a.device else None
    print(f"torch {torch.__version__}, device {device or 'auto'}")
    res = run(only, a.quick, device)
    print(report(res))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{**asdict(r), "ratio": r.ratio} for r in res], f, indent=2)
