"""Sequences of random tokens in which one stretch is repeated later, at a random distance: the data on which
a tiny attention-only Transformer learns induction heads (Olsson et al., 2022).

A row is ``seq_len`` random tokens, drawn uniformly and independently; then the ``repeat_len`` tokens starting
at a random position ``a`` are copied to position ``a + offset``, with ``offset`` drawn anew for every row.
Inside the copy, every token after the first can be predicted by *induction*: "the token before me appeared
earlier; say what followed it there". Nothing else in a row can be predicted: the best a model can do there is
the uniform distribution, a loss of ``log(vocab_size)``.

The offset must be random. With one fixed offset ``d`` a single attention layer needs no induction: attending
to the key ``d - 1`` positions back, found by its position alone, reads the answer off.

Example::

    >>> data = repeated_sequences(4, seq_len=24, repeat_len=8, vocab_size=64, seed=0)
    >>> data["tokens"].shape, data["offset"][:2], data["source"][0]   # (4, 24); source[t] = earlier copy or -1
"""

from __future__ import annotations

import torch

from . import _check_int

__all__ = ["repeated_sequences"]


def repeated_sequences(
    n: int,
    seq_len: int = 32,
    repeat_len: int = 12,
    vocab_size: int = 64,
    seed: int = 0,
    min_offset: int | None = None,
    max_offset: int | None = None,
) -> dict:
    """``n`` rows of ``seq_len`` random tokens in which a stretch of ``repeat_len`` tokens recurs later.

    Each row's tokens are drawn uniformly from ``0 .. vocab_size - 1`` (a token may recur by chance), then
    ``tokens[a : a + repeat_len]`` is copied to ``tokens[a + offset : a + offset + repeat_len]``, with ``offset``
    uniform in ``[min_offset, max_offset]`` (default ``repeat_len`` to ``seq_len - repeat_len``: the copy never
    overlaps the original) and ``a`` uniform over the positions where the copy fits. Give
    ``min_offset == max_offset`` for a fixed offset (the control where one layer can cheat by position).

    Returns a dict of tensors:

    * ``tokens``: (n, seq_len) long;
    * ``source``: (n, seq_len) long, inside the copy the position each token was copied from, ``-1`` elsewhere;
    * ``predictable``: (n, seq_len) bool, ``True`` at the positions whose token induction predicts (the
      copy after its first token): the *repeated tokens* on which the repeated-token loss is measured;
    * ``start``, ``offset``: (n,) long.

    Example: ``repeated_sequences(2, seq_len=16, repeat_len=4, vocab_size=32, seed=1)["predictable"].sum()``
    → ``tensor(6)`` (3 predictable tokens per row)
    """
    for name, value, lo in (
        ("n", n, 1),
        ("seq_len", seq_len, 4),
        ("repeat_len", repeat_len, 2),
        ("seed", seed, 0),
    ):
        _check_int(name, value, lo)
    _check_int("vocab_size", vocab_size, 2)
    if 2 * repeat_len > seq_len:
        raise ValueError(
            f"a stretch of {repeat_len} tokens and its copy does not fit in {seq_len} tokens; "
            f"use repeat_len <= {seq_len // 2} or a longer seq_len"
        )
    min_offset = repeat_len if min_offset is None else min_offset
    max_offset = seq_len - repeat_len if max_offset is None else max_offset
    _check_int("min_offset", min_offset, 1)
    _check_int("max_offset", max_offset, 1)
    if min_offset > max_offset:
        raise ValueError(f"min_offset ({min_offset}) is larger than max_offset ({max_offset})")
    if max_offset + repeat_len > seq_len:
        raise ValueError(
            f"a copy of {repeat_len} tokens {max_offset} positions later does not fit in {seq_len} tokens; "
            f"use max_offset <= {seq_len - repeat_len}, a shorter repeat_len or a longer seq_len"
        )
    if min_offset < repeat_len:
        raise ValueError(
            f"min_offset ({min_offset}) < repeat_len ({repeat_len}) would make the copy overlap its original; "
            f"use min_offset >= {repeat_len}"
        )
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab_size, (n, seq_len), generator=g)
    offset = torch.randint(min_offset, max_offset + 1, (n,), generator=g)
    start = (torch.rand(n, generator=g) * (seq_len - repeat_len - offset + 1)).long()  # the copy must fit
    source = torch.full((n, seq_len), -1, dtype=torch.long)
    predictable = torch.zeros(n, seq_len, dtype=torch.bool)
    for r in range(n):
        a, d = int(start[r]), int(offset[r])
        tokens[r, a + d : a + d + repeat_len] = tokens[r, a : a + repeat_len]
        source[r, a + d : a + d + repeat_len] = torch.arange(a, a + repeat_len)
        predictable[r, a + d + 1 : a + d + repeat_len] = True  # the copy's first token follows a random one
    return {"tokens": tokens, "source": source, "predictable": predictable, "start": start, "offset": offset}
