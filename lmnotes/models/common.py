"""What the models share besides the Transformer block: one check of a config, and loading Hugging Face weights.

* :func:`check_config` — every size a positive integer, the width divisible by the heads, dropout in [0, 1).
* :func:`check_token_ids` — a (batch, length) tensor of ids inside the vocabulary, or a clear error.
* :func:`check_hf_config` — refuse a Hugging Face model of another family before any weight is read.
* :func:`map_hf_state_dict` — Hugging Face's names to ours (renames, transposes, fused projections); a
  weight no rule maps is an error.
* :func:`load_exact` — copy a state dict into a model: every key present on both sides, every shape equal.

Example::

    sd = map_hf_state_dict(hf.state_dict(), [(r"transformer\\.wte\\.weight", "wte.weight"), ...])
    load_exact(model, sd)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import torch
from torch import nn


def check_config(config, positive: Iterable[str], divisible: tuple[str, str] | None = None) -> None:
    """Raise a ValueError naming the first bad field of a model config (a dataclass).

    ``positive``: fields that must be integers >= 1; ``divisible``: ``(a, b)`` with ``a % b == 0``
    (the width and the number of heads); ``config.dropout``, when there is one, must be in [0, 1).
    Example: ``check_config(self, ("vocab_size", "d_model", "n_head"), divisible=("d_model", "n_head"))``
    """
    for name in positive:
        v = getattr(config, name)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if divisible is not None:
        a, b = divisible
        if getattr(config, a) % getattr(config, b):
            raise ValueError(f"{a} ({getattr(config, a)}) must be divisible by {b} ({getattr(config, b)})")
    dropout = getattr(config, "dropout", 0.0)
    if not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")


def check_token_ids(idx, vocab_size: int) -> None:
    """Refuse anything but a (batch, length) tensor of integer ids in ``0 .. vocab_size - 1``, with a clear message
    (an id out of range would otherwise fail deep inside the embedding: an index error, or a device-side assert
    on a GPU). The range check reads two numbers off the device; it is skipped inside ``torch.compile``.
    """
    if not torch.is_tensor(idx) or idx.dim() != 2:
        shape = tuple(idx.shape) if torch.is_tensor(idx) else type(idx).__name__
        raise ValueError(f"input_ids must be a (batch, seq_len) tensor of token ids, got {shape}")
    if idx.is_floating_point() or idx.is_complex() or idx.dtype == torch.bool:
        raise ValueError(f"input_ids must hold integer token ids, got dtype {idx.dtype}")
    if idx.numel() and not torch.compiler.is_compiling():
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(
                f"token id {bad} is outside the vocabulary: ids must be in 0..{vocab_size - 1} "
                f"(vocab_size={vocab_size}); was the input made by another tokenizer?"
            )


def check_hf_config(hf_config, model_type: str, ours: str, theirs: str) -> None:
    """Refuse a Hugging Face model whose ``config.model_type`` is not ``model_type``, naming the class expected.

    Example: ``check_hf_config(hf.config, "gpt2", "GPT", "GPT2LMHeadModel")``
    """
    got = getattr(hf_config, "model_type", None)
    if got != model_type:
        raise ValueError(
            f"{ours}.from_hf loads a Hugging Face {theirs} (model_type {model_type!r}), got a model "
            f"of type {got!r}; load a {theirs}, or use the lmnotes class of that family"
        )


def map_hf_state_dict(
    hf_state: dict,
    rules: Sequence[tuple[str, str]],
    *,
    ignore: Sequence[str] = (),
    transpose: Sequence[str] = (),
    fuse: tuple[str, Sequence[str]] | None = None,
) -> dict:
    """Rename a Hugging Face state dict to this package's names.

    ``rules``: ``(pattern, template)`` pairs; the first pattern that matches a whole key gives its new name
    (``re.Match.expand``: ``\\1``, ``\\g<name>``). ``ignore``: patterns of keys that are not weights (buffers).
    ``transpose``: patterns of weights stored transposed (GPT-2's ``Conv1D`` keeps (in, out)).
    ``fuse = (group, order)``: keys whose regex ``group`` is one of ``order`` are pieces of one weight, joined
    along dim 0 in that order (BERT's separate query, key and value become one ``qkv``).
    Raises a KeyError naming a weight that no rule maps.
    """
    out: dict[str, torch.Tensor] = {}
    pieces: dict[str, dict[int, torch.Tensor]] = {}
    for key, value in hf_state.items():
        if any(re.fullmatch(p, key) for p in ignore):
            continue
        found = next(
            ((m, template) for pattern, template in rules if (m := re.fullmatch(pattern, key))), None
        )
        if found is None:
            raise KeyError(
                f"the Hugging Face weight {key!r} is not used by this model (an architecture it does not "
                "have?)"
            )
        m, template = found
        if any(re.fullmatch(p, key) for p in transpose):
            value = value.t()
        name = m.expand(template)
        if fuse is not None and fuse[0] in m.groupdict():
            pieces.setdefault(name, {})[list(fuse[1]).index(m.group(fuse[0]))] = value
        else:
            out[name] = value
    for name, parts in pieces.items():
        if len(parts) != len(fuse[1]):
            have = [fuse[1][i] for i in sorted(parts)]
            raise KeyError(
                f"{name} is made of {list(fuse[1])}, but the Hugging Face weights hold only {have}"
            )
        out[name] = torch.cat([parts[i] for i in range(len(parts))], dim=0)
    return out


def load_exact(model: nn.Module, state: dict) -> nn.Module:
    """Copy ``state`` into ``model``: every key present on both sides, every shape equal; returns the model.

    Tied weights (one tensor under two names, like an output layer that reuses the embeddings) need only
    one of their names; given under both, the two must be equal. Raises a KeyError that names the missing
    and the unexpected keys, or a ValueError that names the key whose shape differs.
    """
    own = model.state_dict()
    tied: dict[str, list[str]] = {}
    by_tensor: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        by_tensor.setdefault(id(p), []).append(name)
    for names in by_tensor.values():
        for n in names:
            tied[n] = names
    missing = sorted(k for k in own if not any(t in state for t in tied.get(k, [k])))
    extra = sorted(set(state) - set(own))
    if missing or extra:
        raise KeyError(f"the weights do not match the model: missing {missing[:5]}, unexpected {extra[:5]}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise ValueError(
                f"shape of {k}: the weights have {tuple(v.shape)}, the model {tuple(own[k].shape)}"
            )
    for names in by_tensor.values():
        given = [n for n in names if n in state]
        if any(not torch.equal(state[given[0]], state[n]) for n in given[1:]):
            raise ValueError(
                f"{given} are one tied weight in this model, but the weights hold different values"
            )
    with torch.no_grad():
        for k, v in state.items():
            own[k].copy_(v)
    return model
