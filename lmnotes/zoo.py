"""The model zoo: models one chapter trains and the next reuses.

``lmnotes.pretrained("gpt-world")`` trains a model the first time it is asked for and caches it on
disk, so any notebook runs alone, in any order, and a stale model is never used. A recipe registers
its model with::

    @lmnotes.register("gpt-world", config={"n_layer": 2, "steps": 600, "seed": 0}, version=1)
    def build(config: dict, device):
        ...train on `device`...
        return model, tokenizer

**The key** of a cached model is its name, the recipe's config, the ``version`` the recipe declares
(bump it when the training changes in a way the config does not show) and the book seed. Nothing
else: editing a docstring, a plot or the zoo itself never retrains a model.

**The book seed** (:func:`lmnotes.utils.book_seed`: ``lmnotes.setup(seed=...)`` plus
``$LMNOTES_SEED``) is added to every config entry called ``seed`` or ``..._seed``, so a model
pretrained at one seed is never reused at another, and ``LMNOTES_SEED=1`` retrains every model one
seed further.

**A cache entry is data, never code.** The folder ``$LMNOTES_CACHE/<key>/`` (default
``~/.cache/lmnotes``) holds:

- ``entry.json``: the name, version, book seed and recipe config, and the model's class and config;
- ``weights.pt``: the ``state_dict`` (:func:`lmnotes.train.save_checkpoint`), read back with
  ``torch.load(weights_only=True)``, which refuses anything but tensors and plain values;
- ``tokenizer.json``: the tokenizer in its own JSON format;
- ``info.json``: what the build left on the model as plain data (``model.history``, metrics).

Loading rebuilds the model from a fixed list of lmnotes classes (:func:`allow` adds one; a file can
only name a class on that list, never an import path), checks the stored config against the one asked
for, and loads the weights. A file that does not load is reported (path and reason) and the model is
trained again in its place.

``pretrained`` trains on the best device (:func:`lmnotes.pick_device`: CUDA, then MPS, then the CPU)
when the build accepts a ``device`` argument, and returns the model on the device asked for, or on the
CPU (where it is cached) when none is given: notebooks pass ``device=device``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
import os
import pickle
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from .train import load_checkpoint, save_checkpoint
from .utils import book_seed, pick_device

__all__ = ["register", "pretrained", "available", "cache_dir", "key", "recipe_config", "allow"]

_FORMAT = "lmnotes-zoo"
_FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclasses.dataclass(frozen=True)
class _Recipe:
    build: Callable
    config: dict
    version: int


_RECIPES: dict[str, _Recipe] = {}
_MEMORY: dict[str, tuple] = {}  # key -> (model, tokenizer), so one process trains and reads once

# Errors that mean "this cache entry cannot be used": unreadable, truncated, not what it claims,
# or made for another config. Anything else is a bug and is raised.
_UNUSABLE = (OSError, EOFError, ValueError, TypeError, KeyError, RuntimeError, pickle.UnpicklingError)


def _as_json(value, what: str):
    """``value`` after a JSON round trip (tuples become lists), or a ValueError naming ``what``."""
    try:
        return json.loads(json.dumps(value, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be plain JSON data (dicts, lists, strings, numbers): {err}") from None


def register(name: str, config: dict | None = None, version: int = 1):
    """Decorator: register ``build(config[, device]) -> (model, tokenizer)`` under ``name``.

    ``config`` (JSON data) is what the recipe trains with; ``version`` is bumped when the training
    changes in a way the config does not show, so that cached models are retrained.
    Example: ``@register("tiny", config={"width": 8, "seed": 0}, version=2)``
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"name must be a non-empty string of letters, digits, '.', '_' or '-', got {name!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"version must be a positive int, got {version!r}")
    config = dict(config or {})
    _as_json(config, f"the config of {name!r}")

    def deco(build: Callable):
        if not callable(build):
            raise TypeError(f"register({name!r}) decorates a build function, got {type(build).__name__}")
        _RECIPES[name] = _Recipe(build, config, version)
        return build

    return deco


def cache_dir() -> Path:
    """Where trained models are cached: ``$LMNOTES_CACHE`` or ``~/.cache/lmnotes``."""
    return Path(os.environ.get("LMNOTES_CACHE", Path.home() / ".cache" / "lmnotes"))


def key(name: str, config: dict, version: int, seed: int) -> str:
    """The cache key of a model: a function of its name, config, version and book seed only.

    Example: ``key("gpt-world", {"seed": 0}, 1, 0)  # 'gpt-world-s0-v1-…'``
    """
    blob = json.dumps(
        {"name": name, "config": _as_json(config, "config"), "version": version, "seed": seed}, sort_keys=True
    )
    return f"{name}-s{seed}-v{version}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def _shift_seeds(config: dict, seed: int) -> dict:
    """``config`` with ``seed`` added to every int entry called ``seed`` or ``..._seed``."""

    def is_seed(k, v):
        return (k == "seed" or k.endswith("_seed")) and isinstance(v, int) and not isinstance(v, bool)

    return {k: v + seed if is_seed(k, v) else v for k, v in config.items()}


def _load_builtin_recipes() -> None:
    # Importing a recipe module registers its models.
    import importlib

    for mod in (
        "lmnotes.recipes.elmo",
        "lmnotes.recipes.bert",
        "lmnotes.recipes.gpt",
        "lmnotes.recipes.rlhf",
    ):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise


def available() -> list[str]:
    """Names that :func:`pretrained` knows. Example: ``lmnotes.zoo.available()``"""
    _load_builtin_recipes()
    return sorted(_RECIPES)


def _recipe(name: str) -> _Recipe:
    if name not in _RECIPES:
        _load_builtin_recipes()
    if name not in _RECIPES:
        raise KeyError(f"no pretrained model called {name!r}; available: {', '.join(available()) or 'none'}")
    return _RECIPES[name]


def recipe_config(name: str, **overrides) -> dict:
    """The config :func:`pretrained` trains ``name`` with: the registered one, ``overrides`` applied,
    seeds shifted by the book seed. Example: ``lmnotes.zoo.recipe_config("elmo-world")["seed"]``
    """
    recipe = _recipe(name)
    unknown = set(overrides) - set(recipe.config)
    if unknown:
        raise ValueError(
            f"{name!r} has no config entries {sorted(unknown)}; its config is {sorted(recipe.config)}"
        )
    return _shift_seeds({**recipe.config, **overrides}, book_seed())


# ----------------------------------------------------------------------------- what a file may name

# class name -> (class, config class, make(config, tokenizer) -> an untrained model)
_ALLOWED: dict[str, tuple[type, type, Callable]] = {}


def allow(cls: type, config_class: type, make: Callable | None = None) -> None:
    """Let the zoo store models of class ``cls``, whose ``model.config`` is a ``config_class`` dataclass.

    A stored model is rebuilt as ``make(config_class(**config), tokenizer)`` (default
    ``cls(config)``) and then given its weights. Files name a class by ``cls.__name__``; only classes
    allowed here can be named. Example: ``lmnotes.zoo.allow(MyLM, MyLMConfig)``
    """
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError(f"cls must be an nn.Module subclass, got {cls!r}")
    if not dataclasses.is_dataclass(config_class) or not isinstance(config_class, type):
        raise TypeError(f"config_class must be a dataclass, got {config_class!r}")
    known = _ALLOWED.get(cls.__name__)
    if known is not None and known[0] is not cls:
        raise ValueError(f"another class called {cls.__name__!r} ({known[0].__module__}) is already allowed")
    _ALLOWED[cls.__name__] = (cls, config_class, make or (lambda config, tokenizer: cls(config)))


def _allow_builtin() -> None:
    if _ALLOWED.get("GPT"):
        return
    from .models.bert import Bert, BertConfig, BertForPreTraining
    from .models.elmo import BiLM, ELMoConfig
    from .models.gpt import GPT, GPTConfig
    from .rlhf.reward import RewardModel

    allow(BiLM, ELMoConfig)
    allow(Bert, BertConfig)
    allow(BertForPreTraining, BertConfig)
    allow(GPT, GPTConfig)
    allow(RewardModel, GPTConfig, lambda config, tokenizer: RewardModel(GPT(config), tokenizer))


def _model_spec(model: nn.Module, name: str) -> tuple[str, dict]:
    """(class name, config dict) of a model the zoo can store, or an error saying how to make it so."""
    _allow_builtin()
    kind = type(model).__name__
    entry = _ALLOWED.get(kind)
    if entry is None or entry[0] is not type(model):
        raise ValueError(
            f"the build of {name!r} returned a {type(model).__module__}.{kind}, which the zoo cannot "
            f"rebuild from data; allow it first with lmnotes.zoo.allow({kind}, its config dataclass)"
        )
    config = getattr(model, "config", None)
    if type(config) is not entry[1]:
        raise ValueError(
            f"the build of {name!r} returned a {kind} whose .config is a {type(config).__name__}, "
            f"not the {entry[1].__name__} it was allowed with"
        )
    return kind, _as_json(dataclasses.asdict(config), f"the config of the {kind}")


def _rebuild(kind: str, config: dict, tokenizer) -> nn.Module:
    """An untrained model of an allowed class, from its stored config."""
    _allow_builtin()
    if kind not in _ALLOWED:
        raise ValueError(
            f"the model class {kind!r} is not one the zoo rebuilds ({', '.join(sorted(_ALLOWED))})"
        )
    cls, config_class, make = _ALLOWED[kind]
    if not isinstance(config, dict):
        raise ValueError(f"the stored config of the {kind} is not a dict")
    fields = {f.name for f in dataclasses.fields(config_class)}
    if set(config) != fields:
        raise ValueError(
            f"the stored config of the {kind} has fields {sorted(config)}, its class has {sorted(fields)}"
        )
    model = make(config_class(**config), tokenizer)
    if type(model) is not cls:
        raise TypeError(f"rebuilding a {kind} gave a {type(model).__name__}")
    return model


def _tokenizer_kind(tokenizer) -> str | None:
    from .data.tokenizers import ELMoTokenizer, Tokenizer

    if tokenizer is None:
        return None
    if isinstance(tokenizer, (Tokenizer, ELMoTokenizer)):
        return type(tokenizer).__name__
    raise ValueError(
        f"the zoo stores tokenizers through their JSON format; a {type(tokenizer).__name__} has none "
        "(return an lmnotes tokenizer, or None)"
    )


def _read_tokenizer(kind, path: Path):
    from .data.tokenizers import ELMoTokenizer, Tokenizer

    if kind is None:
        return None
    if kind == "ELMoTokenizer":
        return ELMoTokenizer.load(path)
    if kind not in Tokenizer._subclasses:
        raise ValueError(f"unknown tokenizer class {kind!r}")
    tok = Tokenizer.load(path)
    if type(tok).__name__ != kind:
        raise ValueError(f"{path} holds a {type(tok).__name__}, entry.json says {kind}")
    return tok


# ----------------------------------------------------------------------------- reading and writing


def _read_entry(path: Path, expected: dict):
    """(model, tokenizer) from the cache folder ``path``; raises one of ``_UNUSABLE`` when it cannot be used."""
    entry = json.loads((path / "entry.json").read_text(encoding="utf-8"))
    if not isinstance(entry, dict) or entry.get("format") != _FORMAT:
        raise ValueError("entry.json is not a model zoo entry")
    if entry.get("format_version") != _FORMAT_VERSION:
        raise ValueError(
            f"entry.json has format version {entry.get('format_version')!r}, "
            f"this lmnotes reads {_FORMAT_VERSION}"
        )
    for field, want in expected.items():
        if entry.get(field) != want:
            got = entry.get(field)
            if isinstance(want, dict) and isinstance(got, dict):
                diff = sorted(
                    k for k in {**want, **got} if want.get(k, "<missing>") != got.get(k, "<missing>")
                )
                detail = "; ".join(
                    f"{k}: stored {got.get(k, '<missing>')!r}, asked for {want.get(k, '<missing>')!r}"
                    for k in diff
                )
            else:
                detail = f"stored {got!r}, asked for {want!r}"
            raise ValueError(f"it was made for another {field} ({detail})")
    model_spec = entry.get("model")
    if not isinstance(model_spec, dict):
        raise ValueError("entry.json has no model")
    tokenizer = _read_tokenizer(entry.get("tokenizer"), path / "tokenizer.json")
    model = _rebuild(model_spec.get("class"), model_spec.get("config"), tokenizer)
    load_checkpoint(path / "weights.pt", model)  # torch.load(weights_only=True); checks the config too
    info = json.loads((path / "info.json").read_text(encoding="utf-8"))
    if not isinstance(info, dict):
        raise ValueError("info.json is not a dict")
    for name, value in info.items():
        if name.startswith("_") or hasattr(model, name):
            raise ValueError(f"info.json would overwrite the model's attribute {name!r}")
        setattr(model, name, value)
    return model.eval(), tokenizer


def _write_entry(path: Path, expected: dict, model: nn.Module, tokenizer) -> None:
    """Write the cache folder ``path`` for a trained model (all files, then one rename)."""
    name = expected["name"]
    kind, model_config = _model_spec(model, name)
    tok_kind = _tokenizer_kind(tokenizer)
    fresh = _rebuild(kind, model_config, tokenizer)  # what loading will do: fail now, not on the next run
    info = {k: v for k, v in vars(model).items() if not k.startswith("_") and k not in vars(fresh)}
    info = _as_json(info, f"what the build of {name!r} left on the model ({sorted(info)})")
    entry = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        **expected,
        "model": {"class": kind, "config": model_config},
        "tokenizer": tok_kind,
        "torch": torch.__version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        (tmp / "entry.json").write_text(json.dumps(entry, indent=1), encoding="utf-8")
        (tmp / "info.json").write_text(json.dumps(info), encoding="utf-8")
        save_checkpoint(tmp / "weights.pt", model)
        if tokenizer is not None:
            tokenizer.save(tmp / "tokenizer.json")
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        try:
            os.rename(tmp, path)
        except OSError:
            if not (path / "entry.json").exists():  # not another process that finished first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _train(name: str, recipe: _Recipe, config: dict):
    device = pick_device()
    takes_device = "device" in inspect.signature(recipe.build).parameters
    where = f" on {device.type}" if takes_device else ""
    print(f"Training {name!r}{where} once (cached afterwards in {cache_dir()}) ...")
    out = recipe.build(dict(config), device=device) if takes_device else recipe.build(dict(config))
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[0], nn.Module)):
        raise TypeError(f"the build of {name!r} must return (model, tokenizer), got {type(out).__name__}")
    model, tokenizer = out
    return model.cpu().eval(), tokenizer


def pretrained(name: str, device=None, **overrides):
    """Return ``(model, tokenizer)`` for a registered model, training it on first use.

    ``overrides`` change entries of the registered config (a different cache entry); seed entries are
    shifted by the book seed. The model comes on ``device`` (default: the CPU), in eval mode, and is a
    copy: fine-tune it freely. Example: ``model, tok = lmnotes.pretrained("gpt-world", device=device)``
    """
    recipe = _recipe(name)
    config = recipe_config(name, **overrides)
    seed = book_seed()
    k = key(name, config, recipe.version, seed)
    if k not in _MEMORY:
        path = cache_dir() / k
        expected = {
            "name": name,
            "version": recipe.version,
            "seed": seed,
            "config": _as_json(config, "config"),
        }
        loaded = None
        if path.exists() or path.is_symlink():
            try:
                loaded = _read_entry(path, expected)
            except _UNUSABLE as err:
                print(
                    f"lmnotes.zoo: cannot use the cached {name!r} in {path}: {type(err).__name__}: {err}. "
                    "Training it again in its place.",
                    file=sys.stderr,
                )
        if loaded is None:
            loaded = _train(name, recipe, config)
            _write_entry(path, expected, *loaded)
        _MEMORY[k] = loaded
    model, tokenizer = _MEMORY[k]
    model = copy.deepcopy(model)  # callers may fine-tune it; the cached one stays pristine
    if device is not None:
        model = model.to(device)
    return model.eval(), tokenizer
