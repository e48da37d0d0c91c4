"""Batching: from lists of token ids to the tensors a model reads, in one helper.

:func:`pad_batch` turns sequences of different lengths into ``input_ids (B, T)`` and an
``attention_mask (B, T)`` that is 1 on real tokens and 0 on padding, with per-token labels padded with
:data:`IGNORE_INDEX` (-100), the label every loss of the package skips. Every pipeline that pads
(instruction batches, sentence pairs, rollouts, features) goes through it.

Example:
    >>> batch = pad_batch([[5, 9, 6], [5, 6]], pad_id=0)
    >>> batch["input_ids"].tolist(), batch["attention_mask"].tolist()
    ([[5, 9, 6], [5, 6, 0]], [[1, 1, 1], [1, 1, 0]])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

__all__ = ["IGNORE_INDEX", "pad_batch"]

IGNORE_INDEX = -100  # the label that torch.nn.functional.cross_entropy skips by default


def _as_id_list(seq, name: str) -> list[int]:
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1:
            raise ValueError(
                f"{name} must be a 1-D sequence of ids, got a tensor of shape {tuple(seq.shape)}"
            )
        return seq.tolist()
    if isinstance(seq, (str, bytes)) or not isinstance(seq, Sequence):
        raise TypeError(f"{name} must be a list of int ids, got {type(seq).__name__}")
    return list(seq)


def pad_batch(
    sequences: Sequence[Sequence[int]],
    pad_id: int = 0,
    max_length: int | None = None,
    side: str = "right",
    labels: Sequence[Sequence[int]] | Mapping[str, Sequence[Sequence[int]]] | None = None,
) -> dict[str, torch.Tensor]:
    """Pad ``B`` id lists to one length ``T`` and stack them.

    ``T`` is the longest sequence's length, or ``max_length`` when given (longer
    sequences are then cut to their first ``max_length`` ids). ``side="left"`` puts the
    padding before the tokens (what batched generation wants).

    ``labels`` holds per-token labels that travel with the ids: one list of ``B`` lists
    (returned as ``"labels"``) or a dict of them (each returned under its own name),
    each list as long as its sequence; they are padded with ``-100``, the index that
    ``cross_entropy`` ignores.

    Returns ``{"input_ids": LongTensor (B, T), "attention_mask": LongTensor (B, T), ...labels (B, T)}``.

    Example: ``pad_batch([[5, 9, 6], [5, 6]], pad_id=0)["input_ids"]  # [[5, 9, 6], [5, 6, 0]]``
    """
    if isinstance(sequences, torch.Tensor) and sequences.dim() == 2:
        sequences = sequences.tolist()
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Sequence):
        raise TypeError(f"sequences must be a list of id lists, got {type(sequences).__name__}")
    if len(sequences) == 0:
        raise ValueError("sequences is empty; a batch needs at least one sequence")
    if side not in ("right", "left"):
        raise ValueError(f'side must be "right" or "left", got {side!r}')
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ValueError(f"max_length must be an integer >= 1 or None, got {max_length!r}")
    rows = [_as_id_list(seq, f"sequences[{i}]") for i, seq in enumerate(sequences)]

    if labels is None:
        label_sets = {}
    elif isinstance(labels, Mapping):
        label_sets = dict(labels)
    else:
        label_sets = {"labels": labels}
    label_rows = {}
    for name, lists in label_sets.items():
        if len(lists) != len(rows):
            raise ValueError(
                f"labels {name!r} has {len(lists)} lists but sequences has {len(rows)}; give one per sequence"
            )
        label_rows[name] = [_as_id_list(seq, f"labels {name!r}[{i}]") for i, seq in enumerate(lists)]
        for i, (ids, labs) in enumerate(zip(rows, label_rows[name])):
            if len(ids) != len(labs):
                raise ValueError(
                    f"labels {name!r}[{i}] has {len(labs)} entries but sequences[{i}] has "
                    f"{len(ids)} tokens; give one label per token"
                )

    T = max_length if max_length is not None else max(len(r) for r in rows)

    def pad(lists: list[list[int]], value: int) -> torch.Tensor:
        out = torch.full((len(lists), T), value, dtype=torch.long)  # (B, T)
        for b, seq in enumerate(lists):
            seq = seq[:T]
            if seq:
                if side == "right":
                    out[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                else:
                    out[b, T - len(seq) :] = torch.tensor(seq, dtype=torch.long)
        return out

    batch = {
        "input_ids": pad(rows, pad_id),
        "attention_mask": pad([[1] * len(r) for r in rows], 0),
    }
    for name, lists in label_rows.items():
        batch[name] = pad(lists, IGNORE_INDEX)
    return batch
