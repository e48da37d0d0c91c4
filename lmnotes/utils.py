"""Small things every notebook needs: seeding (one seed for the whole book), picking a device, showing source code."""

from __future__ import annotations

import contextlib
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


# The book's seed. Every seed in the book is ``book seed + k``: the draws in a notebook
# (``lmnotes.seed(k)``) and the models the zoo pretrains (their recipe's ``seed`` entries). The book
# seed is the seed given to the last ``setup`` call (0 before any) plus ``$LMNOTES_SEED`` (an offset,
# default 0), so ``LMNOTES_SEED=1`` runs a whole notebook, and the models it loads, one seed further.
_SETUP_SEED = 0


def _check_seed(value, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def seed_offset() -> int:
    """``$LMNOTES_SEED`` as an int (0 when unset): how far every seed of the book is shifted.

    Example: ``LMNOTES_SEED=2 jupyter nbconvert --execute ...`` runs a notebook two seeds on.
    """
    raw = os.environ.get("LMNOTES_SEED", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise ValueError(
            f"LMNOTES_SEED must be a non-negative integer (an offset added to every seed), "
            f"got {raw!r}; unset it or set it to, say, 1"
        )
    return int(raw)


def book_seed() -> int:
    """The seed this run of the book uses: the last ``setup(seed=...)`` plus ``$LMNOTES_SEED``.

    Example: ``lmnotes.setup(seed=0); lmnotes.utils.book_seed()  # 0, or 3 under LMNOTES_SEED=3``
    """
    return _SETUP_SEED + seed_offset()


def seed(k: int = 0) -> int:
    """The seed of draw ``k`` in this run: ``book_seed() + k``. Use it wherever a notebook needs a seed,
    so that one setting (``setup(seed=...)`` or ``$LMNOTES_SEED``) moves every draw at once.

    Example: ``data.corpus(1000, seed=lmnotes.seed(1))``; ``torch.Generator().manual_seed(lmnotes.seed(2))``
    """
    return book_seed() + _check_seed(k, "k")


def setup(seed: int = 0, verbose: bool = True) -> torch.device:
    """Seed Python, NumPy and torch, and return the device to use (``cuda`` > ``mps`` > ``cpu``).

    The seed used is ``seed + $LMNOTES_SEED`` (the book seed); it also shifts :func:`lmnotes.seed`
    and the pretraining seed of every model :func:`lmnotes.pretrained` trains or loads.

    Example: ``device = lmnotes.setup(seed=0)``
    """
    global _SETUP_SEED
    _check_seed(seed, "seed")
    offset = seed_offset()
    _SETUP_SEED = seed
    seed = seed + offset
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
        shift = f" ({_SETUP_SEED} + LMNOTES_SEED={offset})" if offset else ""
        print(f"lmnotes {_version()} | torch {torch.__version__} | device: {name} | seed: {seed}{shift}")
    return device


@contextlib.contextmanager
def eval_mode(model: torch.nn.Module):
    """Run a block with ``model`` in eval mode (dropout off), then give it back the mode it had, even after an error.

    Example: ``with torch.no_grad(), eval_mode(model): logits = model(x).logits``
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


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
