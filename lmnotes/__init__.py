"""lmnotes: the small, real PyTorch implementations behind the LM Notes book.

Every notebook starts with::

    import lmnotes
    device = lmnotes.setup(seed=0)
"""

from __future__ import annotations

__version__ = "0.1.0"

from .utils import (  # noqa: E402
    pick_device,
    seed,  # noqa: E402
    setup,
    show_source,
)
from .zoo import pretrained, register  # noqa: E402

__all__ = ["__version__", "setup", "pick_device", "show_source", "pretrained", "register", "seed"]

_SUBMODULES = {
    "data",
    "models",
    "recipes",
    "analysis",
    "train",
    "zoo",
    "rlhf",
    "viz",
    "widgets",
    "exercises",
    "bench",
    "seeds",
}


def __getattr__(name):
    # `lmnotes.exercises.check(...)` works after a bare `import lmnotes`; submodules load on first use.
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'lmnotes' has no attribute {name!r}")
