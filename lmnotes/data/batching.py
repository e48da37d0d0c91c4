"""Batching: from lists of token ids to the tensors a model reads.

- :func:`pad_batch`: sequences of different lengths -> ``input_ids (B, T)`` and an
  ``attention_mask (B, T)`` that is 1 on real tokens and 0 on padding.
- :func:`lm_windows`: one long token stream -> fixed-length language-modelling windows,
  ``inputs (N, T)`` and ``targets (N, T)``, the targets being the inputs shifted by one.
- :func:`tokenize_dataset`: a ``datasets.Dataset`` of text -> one with ``input_ids``.
- :func:`pad_collate`: a ``collate_fn`` that pads rows of a tokenized dataset.
- :func:`make_loader`: a ``DataLoader`` whose shuffling is seeded, so batches repeat run after run.
- :func:`infinite`: cycle through a loader forever (training by steps, not epochs).

Example:
    >>> batch = pad_batch([[5, 9, 6], [5, 6]], pad_id=0)
    >>> batch["input_ids"].tolist(), batch["attention_mask"].tolist()
    ([[5, 9, 6], [5, 6, 0]], [[1, 1, 1], [1, 1, 0]])
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset, default_collate

__all__ = ["IGNORE_INDEX", "pad_batch", "lm_windows", "tokenize_dataset", "pad_collate", "make_loader", "infinite"]

IGNORE_INDEX = -100  # the label that torch.nn.functional.cross_entropy skips by default


def _as_id_list(seq, name: str) -> list[int]:
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1:
            raise ValueError(f"{name} must be a 1-D sequence of ids, got a tensor of shape {tuple(seq.shape)}")
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
            raise ValueError(f"labels {name!r} has {len(lists)} lists but sequences has {len(rows)}; give one per sequence")
        label_rows[name] = [_as_id_list(seq, f"labels {name!r}[{i}]") for i, seq in enumerate(lists)]
        for i, (ids, labs) in enumerate(zip(rows, label_rows[name])):
            if len(ids) != len(labs):
                raise ValueError(f"labels {name!r}[{i}] has {len(labs)} entries but sequences[{i}] has "
                                 f"{len(ids)} tokens; give one label per token")

    T = max_length if max_length is not None else max(len(r) for r in rows)

    def pad(lists: list[list[int]], value: int) -> torch.Tensor:
        out = torch.full((len(lists), T), value, dtype=torch.long)  # (B, T)
        for b, seq in enumerate(lists):
            seq = seq[:T]
            if seq:
                if side == "right":
                    out[b, : len(seq)] = torch.tensor(seq, dtype=torch.long)
                else:
                    out[b, T - len(seq):] = torch.tensor(seq, dtype=torch.long)
        return out

    batch = {
        "input_ids": pad(rows, pad_id),
        "attention_mask": pad([[1] * len(r) for r in rows], 0),
    }
    for name, lists in label_rows.items():
        batch[name] = pad(lists, IGNORE_INDEX)
    return batch


def lm_windows(ids, block_size: int, stride: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut one token stream into language-modelling windows.

    Window ``n`` reads ``ids[s : s + T]`` and must predict ``ids[s + 1 : s + T + 1]``, with
    ``s = n * stride`` and ``T = block_size``. ``stride`` defaults to ``block_size``
    (windows side by side); a smaller stride overlaps them (and multiplies memory by
    ``block_size / stride``). Tokens at the end that do not fill a window are dropped.

    ``ids``: list of int or 1-D tensor of length ``L`` (documents already joined, say with
    ``[EOS]`` between them). Returns ``(inputs (N, T), targets (N, T))``, LongTensors with
    ``N = (L - 1 - T) // stride + 1``.

    Example: ``x, y = lm_windows(list(range(10)), block_size=4)  # x[0] = [0,1,2,3], y[0] = [1,2,3,4]``
    """
    if isinstance(ids, torch.Tensor):
        if ids.dim() != 1:
            raise ValueError(f"ids must be one 1-D token stream, got shape {tuple(ids.shape)}; "
                             "flatten or join the documents first")
        stream = ids.long()
    else:
        if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
            raise TypeError(f"ids must be a list of int or a 1-D tensor, got {type(ids).__name__}")
        if len(ids) and isinstance(ids[0], (Sequence, torch.Tensor)):
            raise TypeError(f"ids must be one flat list of int, but ids[0] is a {type(ids[0]).__name__}; "
                            "join the documents into one stream first")
        stream = torch.tensor(list(ids), dtype=torch.long)
    if not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"block_size must be an integer >= 1, got {block_size!r}")
    stride = block_size if stride is None else stride
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1 or None, got {stride!r}")
    if len(stream) < block_size + 1:
        raise ValueError(f"ids has {len(stream)} tokens; a window of block_size={block_size} needs at least "
                         f"{block_size + 1} (block_size + 1, for the shifted target)")
    inputs = stream[:-1].unfold(0, block_size, stride)  # (N, T), a view into the stream
    targets = stream[1:].unfold(0, block_size, stride)  # (N, T), shifted by one token
    # contiguous copies: a caller may edit a batch in place (masking) without touching the stream
    return inputs.contiguous(), targets.contiguous()


def tokenize_dataset(
    ds,
    tokenizer,
    column: str = "text",
    add_special_tokens: bool = False,
    max_length: int | None = None,
    remove_columns: bool = False,
    batch_size: int = 1000,
):
    """Add an ``input_ids`` column (list of int per row, not padded) to a
    ``datasets.Dataset`` or ``DatasetDict`` by encoding its ``column`` with ``tokenizer``,
    through ``Dataset.map(batched=True)``. ``remove_columns=True`` keeps only ``input_ids``.

    Example: ``ds = tokenize_dataset(corpus, tok)  # corpus["train"][0]["input_ids"]``
    """
    if not hasattr(ds, "map") or not hasattr(ds, "column_names"):
        raise TypeError(f"ds must be a datasets.Dataset or DatasetDict, got {type(ds).__name__}")
    if not callable(getattr(tokenizer, "batch_encode", None)):
        raise TypeError(f"tokenizer must be an lmnotes Tokenizer (with batch_encode), got {type(tokenizer).__name__}")
    names = ds.column_names  # list for a Dataset, {split: list} for a DatasetDict
    splits = names.values() if isinstance(names, dict) else [names]
    for cols in splits:
        if column not in cols:
            raise ValueError(f"column must be one of the dataset's columns {cols}, got {column!r}")
    columns_to_remove = None
    if remove_columns:
        columns_to_remove = next(iter(splits))

    def encode(batch):
        return tokenizer.batch_encode(batch[column], add_special_tokens=add_special_tokens, max_length=max_length)

    return ds.map(encode, batched=True, batch_size=batch_size, remove_columns=columns_to_remove)


def pad_collate(pad_id: int = 0, label_columns: Sequence[str] = ("labels",), max_length: int | None = None,
                side: str = "right") -> Callable[[list[dict]], dict]:
    """A ``collate_fn`` for rows ``{"input_ids": list[int], ...}`` (a tokenized dataset).

    The batch it makes holds ``input_ids`` and ``attention_mask`` (B, T) from
    :func:`pad_batch`; the ``label_columns`` present are padded with -100 to (B, T);
    any other column becomes a tensor when its values are numbers, else stays a list.

    Example: ``make_loader(tokenize_dataset(ds, tok)["train"], 32, collate=pad_collate(tok.pad_id))``
    """

    def collate(rows: list[dict]) -> dict:
        if not rows or "input_ids" not in rows[0]:
            raise ValueError("pad_collate expects rows with an 'input_ids' column; run tokenize_dataset first")
        labels = {c: [row[c] for row in rows] for c in label_columns if c in rows[0]}
        batch = pad_batch([row["input_ids"] for row in rows], pad_id=pad_id, max_length=max_length,
                          side=side, labels=labels)
        for name in rows[0]:
            if name in batch:
                continue
            values = [row[name] for row in rows]
            if all(isinstance(v, (int, float, bool)) or (isinstance(v, torch.Tensor) and v.dim() == 0) for v in values):
                batch[name] = torch.tensor(values)
            else:
                batch[name] = values
        return batch

    return collate


class _DictDataset(Dataset):
    """Rows of a dict of tensors that share their first dimension ``N``: row ``i`` is ``{k: v[i]}``."""

    def __init__(self, tensors: Mapping[str, torch.Tensor]):
        sizes = {k: len(v) for k, v in tensors.items()}
        if len(set(sizes.values())) != 1:
            raise ValueError(f"the tensors must share their first dimension, got sizes {sizes}")
        self.tensors = dict(tensors)
        self.n = next(iter(sizes.values()))

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {k: v[i] for k, v in self.tensors.items()}


def make_loader(
    data,
    batch_size: int,
    shuffle: bool = True,
    seed: int = 0,
    collate: Callable | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A ``DataLoader`` whose order depends only on ``seed``: two loaders made with the
    same seed yield the same batches, epoch after epoch.

    ``data`` may be a torch or ``datasets`` Dataset, one tensor ``(N, ...)``, a tuple of
    tensors sharing ``N`` (batches are tuples, e.g. ``(x (B, T), y (B, T))``) or a dict of
    them (batches are dicts). ``collate`` is the ``collate_fn``; for a tokenized dataset
    with rows of different lengths use :func:`pad_collate`.

    Example: ``loader = make_loader(lm_windows(ids, 64), batch_size=32)  # x, y: (32, 64)``
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(data, torch.Tensor):
        dataset = TensorDataset(data)
    elif isinstance(data, (tuple, list)) and data and all(isinstance(t, torch.Tensor) for t in data):
        sizes = [len(t) for t in data]
        if len(set(sizes)) != 1:
            raise ValueError(f"the tensors in data must share their first dimension, got sizes {sizes}")
        dataset = TensorDataset(*data)
    elif isinstance(data, Mapping) and data and all(isinstance(t, torch.Tensor) for t in data.values()):
        dataset = _DictDataset(data)
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, (str, Mapping)):
        dataset = data
    else:
        raise TypeError("data must be a Dataset, a tensor, or a tuple/dict of tensors sharing their first "
                        f"dimension, got {type(data).__name__}")
    if len(dataset) == 0:
        raise ValueError("data is empty; a loader needs at least one example")
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=collate or default_collate, drop_last=drop_last)


def infinite(loader: Iterator | DataLoader) -> Iterator:
    """Yield batches forever, starting the loader again whenever it runs out (each pass
    reshuffles, reproducibly for a :func:`make_loader` loader).

    Example: ``batches = infinite(loader); x, y = next(batches)``
    """
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("loader yielded no batch (is drop_last=True with fewer examples than batch_size?)")
