"""Small things every notebook needs: seeding, picking a device, showing source code."""
from __future__ import annotations

import inspect
import os
import random

import numpy as np
import torch


def pick_device() -> torch.device:
    """The best device available: ``cuda`` > ``mps`` > ``cpu``.

    Example: ``x = torch.zeros(3, device=lmnotes.pick_device())``
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup(seed: int = 0, verbose: bool = True) -> torch.device:
    """Seed Python, NumPy and torch, and return the device to use (``cuda`` > ``mps`` > ``cpu``).

    Example: ``device = lmnotes.setup(seed=0)``
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    device = pick_device()
    if device.type == "cuda":
        # TF32 matmuls: same results to ~1e-3, several times faster on recent GPUs.
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if verbose:
        name = torch.cuda.get_device_name(0) if device.type == "cuda" else device.type
        print(f"lmnotes {_version()} | torch {torch.__version__} | device: {name} | seed: {seed}")
    return device


def _version() -> str:
    from . import __version__

    return __version__


def show_source(obj) -> None:
    """Display the source code of a function, class or method (highlighted in a notebook).

    Example: ``lmnotes.show_source(lmnotes.models.elmo.ScalarMix)``
    """
    try:
        src = inspect.getsource(obj)
    except (TypeError, OSError) as e:
        raise TypeError(f"cannot show the source of {obj!r}: {e}") from None
    try:
        from IPython import get_ipython
        from IPython.display import Code, display

        if get_ipython() is not None:
            display(Code(src, language="python"))
            return
    except ImportError:
        pass
    print(src)
