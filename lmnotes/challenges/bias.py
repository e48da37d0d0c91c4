"""Measuring a learned association two ways: in word vectors (WEAT) and in a language model's preferences.

* **WEAT** (Caliskan et al., 2017): two sets of *target* words ``X``, ``Y`` (occupations leaning to *he* and to
  *she*) and two sets of *attribute* words ``A``, ``B`` (*he, him, his* and *she, her*). Each word ``w`` gets an
  association ``s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)`` (:func:`associations`); the effect size is

      d = (mean_x s(x, A, B) - mean_y s(y, A, B)) / std_{w in X ∪ Y} s(w, A, B)

  (:func:`weat_effect_size`, the sample standard deviation), and the permutation test asks how often an equal
  split of ``X ∪ Y`` into two sets gives a difference of means at least as large as the observed one
  (:func:`weat_p_value`, one-sided as in the paper). :func:`weat` does both for a :class:`~lmnotes.wordvectors.
  WordVectors`; :func:`input_embeddings` turns a GPT's token embeddings into one.
* **Minimal pairs** (in the style of CrowS-Pairs, Nangia et al., 2020): two sentences that differ only in the
  pronoun; :func:`preference_rate` is the share of pairs whose stereotypical sentence the model finds more likely
  (0.5 = no preference).

Example::

    from lmnotes.data.challenges.bias import skewed_corpus, MALE_WORDS, FEMALE_WORDS
    from lmnotes.wordvectors import ppmi_svd
    data = skewed_corpus(p=0.9, seed=0)
    wv = ppmi_svd(data["texts"], dim=32, window=5)
    weat(wv, data["he_occupations"], data["she_occupations"], MALE_WORDS, FEMALE_WORDS)  # {"d": ..., ...}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ..wordvectors import WordVectors
from . import token_log_probs

__all__ = [
    "associations",
    "weat_effect_size",
    "weat_p_value",
    "weat",
    "input_embeddings",
    "preference_rate",
]


def _matrix(name: str, m) -> torch.Tensor:
    if not torch.is_tensor(m):
        raise TypeError(f"{name} must be a tensor of word vectors (N, D), got {type(m).__name__}")
    if m.dim() != 2 or m.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty (N, D) tensor of word vectors, got shape {tuple(m.shape)}"
        )
    return m.double()


def _sets(x, y, a, b) -> tuple[torch.Tensor, ...]:
    x, y, a, b = (_matrix(n, m) for n, m in zip("XYAB", (x, y, a, b)))
    if len({t.shape[1] for t in (x, y, a, b)}) != 1:
        raise ValueError(
            f"all word vectors must have one dimension, got {[t.shape[1] for t in (x, y, a, b)]} for X, Y, A, B"
        )
    if len(x) + len(y) < 3:
        raise ValueError("X and Y need three words between them: the effect size divides by their spread")
    return x, y, a, b


def associations(w: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``s(w, A, B) = mean_a cos(w, a) - mean_b cos(w, b)`` for each row of ``w`` (N, D): a tensor (N,).

    Positive: the word is closer to the attribute words ``A`` than to ``B``.
    Example: ``associations(torch.eye(2), torch.eye(2)[:1], torch.eye(2)[1:])`` → ``tensor([1., -1.])``
    """
    w, a, b = _matrix("w", w), _matrix("A", a), _matrix("B", b)
    if not w.shape[1] == a.shape[1] == b.shape[1]:
        raise ValueError(f"vectors of different dimensions: {w.shape[1]}, {a.shape[1]}, {b.shape[1]}")
    cos_a = F.cosine_similarity(w[:, None], a[None], dim=-1)  # (N, |A|)
    cos_b = F.cosine_similarity(w[:, None], b[None], dim=-1)  # (N, |B|)
    return cos_a.mean(1) - cos_b.mean(1)


def weat_effect_size(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> float:
    """Caliskan et al.'s effect size: the difference of the mean associations of ``X`` and ``Y``, divided by the
    standard deviation (sample, ``n - 1``) of the associations of all the target words ``X ∪ Y``.

    Between −2 and 2 for equal-size sets; positive when ``X`` is closer to ``A`` (and ``Y`` to ``B``), and it
    changes sign when ``X`` and ``Y`` (or ``A`` and ``B``) are swapped.
    Example: ``weat_effect_size(x, y, a, b)`` with each argument an (N, D) tensor of word vectors
    """
    x, y, a, b = _sets(x, y, a, b)
    s = associations(torch.cat([x, y]), a, b)
    spread = s.std(unbiased=True)
    if spread == 0:
        raise ValueError("every target word has the same association: the effect size is undefined")
    return float((s[: len(x)].mean() - s[len(x) :].mean()) / spread)


def weat_p_value(
    x: torch.Tensor,
    y: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    n_permutations: int = 10_000,
    seed: int = 0,
) -> float:
    """One-sided permutation test of WEAT: the share of the splits of ``X ∪ Y`` into sets of sizes ``|X|`` and
    ``|Y|`` whose difference of mean associations is at least the observed one (the observed split counts).

    Every split is enumerated when there are at most ``n_permutations`` of them (an exact test); otherwise
    ``n_permutations`` random splits are drawn with ``seed`` (and the observed split added). A small p-value says
    that the observed grouping is unusually associated with ``A``; a strong association the other way gives a
    p-value near 1.
    Example: ``weat_p_value(x, y, a, b)`` → 0.004 when no other split of 10 words beats the observed one
    """
    x, y, a, b = _sets(x, y, a, b)
    if not isinstance(n_permutations, int) or isinstance(n_permutations, bool) or n_permutations < 1:
        raise ValueError(f"n_permutations must be an int >= 1, got {n_permutations!r}")
    s = associations(torch.cat([x, y]), a, b)
    n, k = len(s), len(x)
    total = s.sum()

    def gap(member):  # (P, n) bool: which words form X -> (P,) difference of means
        sx = (s * member).sum(-1)
        return sx / k - (total - sx) / (n - k)

    observed = float(s[:k].mean() - s[k:].mean())
    eps = 1e-12 * max(1.0, abs(observed))  # float round-off must not turn a tie into a loss
    if math.comb(n, k) <= n_permutations:
        member = torch.zeros(math.comb(n, k), n, dtype=torch.float64)
        for row, chosen in enumerate(itertools.combinations(range(n), k)):
            member[row, list(chosen)] = 1.0
        return float((gap(member) >= observed - eps).double().mean())
    g = torch.Generator().manual_seed(seed)
    order = torch.rand(n_permutations, n, generator=g, dtype=torch.float64).argsort(-1)
    member = torch.zeros(n_permutations, n, dtype=torch.float64).scatter_(1, order[:, :k], 1.0)
    return float(((gap(member) >= observed - eps).sum() + 1) / (n_permutations + 1))


def _words(name: str, words) -> list[str]:
    if isinstance(words, str):
        raise TypeError(f"{name} must be a list of words, got one string; wrap it in a list: [{words!r}]")
    words = list(words)
    if not words or not all(isinstance(w, str) for w in words):
        raise ValueError(f"{name} must be a non-empty list of words")
    return words


def weat(
    wv: WordVectors,
    X: Sequence[str],
    Y: Sequence[str],
    A: Sequence[str],
    B: Sequence[str],
    n_permutations: int = 10_000,
    seed: int = 0,
) -> dict:
    """The Word Embedding Association Test on word vectors ``wv``: ``{"d", "p_value", "s_x", "s_y"}``, the effect
    size, the one-sided permutation p-value and each target word's association (lists, in the order given).

    Example: ``weat(wv, ["pilot", "judge"], ["nurse", "baker"], ["he", "him", "his"], ["she", "her"])``
    """
    if not isinstance(wv, WordVectors):
        raise TypeError(f"wv must be lmnotes.wordvectors.WordVectors, got {type(wv).__name__}")
    X, Y, A, B = (_words(n, w) for n, w in zip("XYAB", (X, Y, A, B)))
    if set(X) & set(Y) or set(A) & set(B):
        raise ValueError("X and Y (and A and B) must not share a word")
    x, y, a, b = (wv.lookup(w) for w in (X, Y, A, B))
    return {
        "d": weat_effect_size(x, y, a, b),
        "p_value": weat_p_value(x, y, a, b, n_permutations, seed),
        "s_x": associations(x, a, b).tolist(),
        "s_y": associations(y, a, b).tolist(),
    }


def input_embeddings(model, tok) -> WordVectors:
    """A GPT's token embedding matrix (``wte``, tied to its output layer) as word vectors, one per word of the
    tokenizer's vocabulary (special tokens left out).

    Example: ``weat(input_embeddings(model, tok), X, Y, A, B)``
    """
    if not hasattr(model, "wte"):
        raise TypeError(f"model must be an lmnotes GPT (with a wte embedding), got {type(model).__name__}")
    special = {tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id}
    ids = [i for i in range(tok.vocab_size) if i not in special]
    return WordVectors([tok.id_to_token(i) for i in ids], model.wte.weight.detach().float().cpu()[ids])


def preference_rate(model, tok, pairs: Sequence[dict]) -> dict:
    """The share of minimal pairs whose ``stereotype`` sentence the model finds more likely than the ``anti`` one
    (log-likelihood of the whole sentence after ``[BOS]``; a tie counts one half): ``{"rate", "gap"}``, ``gap``
    the list of log-likelihood differences, stereotype minus anti, in nats.

    0.5 is no preference, 1.0 a model that always prefers the stereotype. Both sentences of a pair have the same
    words but one, so the difference is the model's preference for one pronoun in that context (and for the
    words after it given that pronoun).
    Example: ``preference_rate(model, tok, minimal_pairs(he_occ, she_occ))["rate"]``
    """
    pairs = list(pairs)
    if not pairs:
        raise ValueError(
            "pairs is empty: give minimal pairs, e.g. from lmnotes.data.challenges.bias.minimal_pairs"
        )
    if not all(isinstance(q, dict) and "stereotype" in q and "anti" in q for q in pairs):
        raise ValueError("each pair must be a dict with 'stereotype' and 'anti' sentences")
    for q in pairs:
        for side in ("stereotype", "anti"):
            if tok.unk_id in tok.encode(q[side]):
                raise ValueError(
                    f"{q[side]!r} has a word the model's vocabulary lacks; the model cannot score it"
                )
    lp = token_log_probs(model, tok, [q["stereotype"] for q in pairs] + [q["anti"] for q in pairs])
    total = torch.stack([t.sum() for t in lp]).double()
    gap = total[: len(pairs)] - total[len(pairs) :]
    rate = float(((gap > 0).double() + 0.5 * (gap == 0).double()).mean())
    return {"rate": rate, "gap": gap.tolist()}
