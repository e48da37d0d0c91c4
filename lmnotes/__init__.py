"""lmnotes: the small, real PyTorch implementations behind the LM Notes book.

Every notebook starts with::

    import lmnotes
    device = lmnotes.setup(seed=0)
"""
from __future__ import annotations

__version__ = "0.1.0"

from .utils import setup, pick_device, show_source  # noqa: E402
from .registry import pretrained, register  # noqa: E402

__all__ = ["__version__", "setup", "pick_device", "show_source", "pretrained", "register"]
