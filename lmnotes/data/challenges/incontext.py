"""Prompts for in-context learning: sequences of ``(x, w·x)`` pairs with a fresh random ``w`` per prompt.

This is the task of Garg et al. (2022): a model that reads ``x_1, y_1, …, x_k, y_k, x_{k+1}`` and predicts
``y_{k+1}`` has to infer ``w`` from the ``k`` examples in its prompt, because every prompt has its own.

Example::

    >>> p = linear_regression_prompts(n_prompts=3, n_points=5, dim=2, seed=0)
    >>> p["xs"].shape, p["ys"].shape, p["ws"].shape
    (torch.Size([3, 5, 2]), torch.Size([3, 5]), torch.Size([3, 2]))
"""

from __future__ import annotations

import torch

__all__ = ["linear_regression_prompts"]


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")


def linear_regression_prompts(
    n_prompts: int, n_points: int, dim: int, seed: int = 0, noise: float = 0.0, w_scale: float = 1.0
) -> dict:
    """``n_prompts`` prompts of ``n_points`` pairs ``(x_i, y_i = w·x_i + ε)``, one ``w`` per prompt.

    ``x_i`` and ``w`` are standard normal in ``dim`` dimensions (``w`` times ``w_scale``: a scale other than 1
    draws functions from outside the training distribution), ``ε`` normal with standard deviation ``noise``.
    Returns ``{"xs": (n_prompts, n_points, dim), "ys": (n_prompts, n_points), "ws": (n_prompts, dim)}``,
    float32 tensors, the same for the same arguments.
    """
    _check_int("n_prompts", n_prompts, 1)
    _check_int("n_points", n_points, 1)
    _check_int("dim", dim, 1)
    _check_int("seed", seed, 0)
    if not isinstance(noise, (int, float)) or isinstance(noise, bool) or noise < 0:
        raise ValueError(f"noise must be a number >= 0 (the standard deviation of ε), got {noise!r}")
    if not isinstance(w_scale, (int, float)) or isinstance(w_scale, bool) or w_scale <= 0:
        raise ValueError(f"w_scale must be a number > 0 (it multiplies w), got {w_scale!r}")
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(n_prompts, n_points, dim, generator=g)
    ws = torch.randn(n_prompts, dim, generator=g) * w_scale
    ys = torch.einsum("bnd,bd->bn", xs, ws)  # y_i = w · x_i
    if noise:
        ys = ys + noise * torch.randn(n_prompts, n_points, generator=g)
    return {"xs": xs, "ys": ys, "ws": ws}
