"""Models one chapter trains and the next reuses.

``lmnotes.pretrained("gpt-world")`` trains the model deterministically the first time it is asked
for and caches it on disk, keyed by its name, its config and the package version, so any notebook
runs alone, in any order, and a stale cache is never used.

A chapter registers a model with::

    @lmnotes.register("gpt-world", config={"n_layer": 2, "steps": 600, "seed": 0})
    def build(config: dict):
        ...train...
        return model, tokenizer

The cache lives in ``$LMNOTES_CACHE`` (default ``~/.cache/lmnotes``).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import torch

_REGISTRY: dict[str, tuple[Callable, dict]] = {}
_SHAPES_MODELS = ("models/", "data/", "rlhf/", "train.py", "registry.py", "utils.py", "probe.py")
_MEMORY: dict[str, tuple] = {}  # key -> (model, tokenizer), so one process trains once


def register(name: str, config: dict | None = None):
    """Decorator: register ``build(config) -> (model, tokenizer)`` under ``name``."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")

    def deco(build: Callable):
        _REGISTRY[name] = (build, dict(config or {}))
        return build

    return deco


def cache_dir() -> Path:
    """Where trained models are cached: ``$LMNOTES_CACHE`` or ``~/.cache/lmnotes``."""
    return Path(os.environ.get("LMNOTES_CACHE", Path.home() / ".cache" / "lmnotes"))


def _key(name: str, config: dict) -> str:
    from . import __version__

    # The source of everything that shapes a trained model is part of the key: a change to a model, the
    # data, the training loop or the registry retrains instead of loading a stale model. (Plots, widgets,
    # exercises and benchmarks do not change a model, so editing them keeps the cache.)
    src = hashlib.sha256()
    root = Path(__file__).parent
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).as_posix()
        if rel.startswith(_SHAPES_MODELS):
            src.update(rel.encode() + f.read_bytes())
    blob = json.dumps({"name": name, "config": config, "version": __version__, "source": src.hexdigest(),
                       "torch": torch.__version__.split("+")[0]}, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _load_builtin_models() -> None:
    # Importing a model module registers its pretrained models.
    import importlib

    for mod in ("lmnotes.models.elmo", "lmnotes.models.bert", "lmnotes.models.gpt", "lmnotes.rlhf"):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def available() -> list[str]:
    """Names that :func:`pretrained` knows."""
    _load_builtin_models()
    return sorted(_REGISTRY)


def pretrained(name: str, device=None, **overrides):
    """Return ``(model, tokenizer)`` for a registered model, training it on first use.

    ``overrides`` change entries of the registered config (a different cache entry).
    Example: ``model, tok = lmnotes.pretrained("gpt-world")``
    """
    if name not in _REGISTRY:
        _load_builtin_models()
    if name not in _REGISTRY:
        raise KeyError(f"no pretrained model called {name!r}; available: {', '.join(available()) or 'none'}")
    build, config = _REGISTRY[name]
    unknown = set(overrides) - set(config)
    if unknown:
        raise ValueError(f"{name!r} has no config entries {sorted(unknown)}; its config is {sorted(config)}")
    config = {**config, **overrides}
    key = _key(name, config)
    if key in _MEMORY:
        model, tok = _MEMORY[key]
    else:
        path = cache_dir() / f"{key}.pt"
        model = tok = None
        if path.exists():
            try:
                payload = torch.load(path, map_location="cpu", weights_only=False)
                model, tok = payload["model"], payload["tokenizer"]
            except Exception:  # a cache from an incompatible build: retrain rather than fail
                model = tok = None
        if model is None:
            print(f"Training {name!r} once (cached afterwards in {cache_dir()}) ...")
            model, tok = build(config)
            model = model.cpu().eval()
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            os.close(fd)
            try:
                torch.save({"model": model, "tokenizer": tok}, tmp)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)
        _MEMORY[key] = (model, tok)
    import copy

    model = copy.deepcopy(model)  # callers may fine-tune it; the cached one stays pristine
    if device is not None:
        model = model.to(device)
    return model.eval(), tok
