"""Static word vectors from co-occurrence: the distributional hypothesis, run.

"You shall know a word by the company it keeps." Two ways to turn company into vectors, one vector
per word form:

* **count-based**: :func:`cooccurrence_matrix` counts which words appear within ``window`` positions
  of each other; :func:`ppmi` turns the counts into positive pointwise mutual information,
  ``PPMI(w, c) = max(0, log P(w, c) / (P(w) P(c)))``; :func:`svd_vectors` keeps its top ``dim``
  singular directions. :func:`ppmi_svd` does all three.
* **predictive**: skip-gram with negative sampling (Mikolov et al., 2013). A word's vector ``v_w``
  should score high against the output vectors ``u_c`` of words in its window and low against
  ``k`` words drawn from the unigram distribution raised to 3/4 (:func:`negative_sampling_loss`,
  :class:`SkipGram`, :func:`train_skipgram`). Levy & Goldberg (2014) showed that this objective
  is, at its optimum, a factorisation of the PMI matrix shifted by ``log k``: the two families
  measure the same thing.

Both give a :class:`WordVectors` (``words``, ``vectors`` (V, D), ``nearest``), and two measurements
against the world's ground truth say what such vectors can and cannot do:

* :func:`taxonomy_agreement`: how often a word's nearest neighbours among the world's animals and
  plants belong to its own category (:func:`neighbour_agreement` for any labelling of words);
* :func:`sense_agreement`: how often an occurrence of an ambiguous word has, as its nearest other
  occurrence, one of the same sense. One vector per word form gives every occurrence of ``bank`` the
  same vector, so this is a coin toss; :func:`window_average` (the vectors of the neighbouring words)
  is one way to bring the context back.

Example::

    from lmnotes.data import corpus
    sents = corpus(5000, seed=0)["train"]["words"]
    wv = train_skipgram(sents, dim=32, epochs=3)
    wv.nearest("robin", k=3)
    taxonomy_agreement(wv, k=3)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "WordVectors",
    "build_vocab",
    "cooccurrence_matrix",
    "ppmi",
    "svd_vectors",
    "ppmi_svd",
    "skipgram_pairs",
    "noise_distribution",
    "negative_sampling_loss",
    "SkipGram",
    "train_skipgram",
    "neighbour_agreement",
    "taxonomy_agreement",
    "sense_agreement",
    "window_average",
]


# ---------------------------------------------------------------------------------------------
# Words in, vectors out
# ---------------------------------------------------------------------------------------------


def _as_word_lists(sentences, name: str = "sentences") -> list[list[str]]:
    """Sentences as lists of words: a string is split on white space, a list of words is kept."""
    if isinstance(sentences, str):
        raise TypeError(
            f"{name} must be a list of sentences, got one string; wrap it in a list: [{sentences!r}]"
        )
    out = []
    for i, s in enumerate(sentences):
        if isinstance(s, str):
            s = s.split()
        elif not isinstance(s, Sequence) or not all(isinstance(w, str) for w in s):
            raise TypeError(f"{name}[{i}] must be a string or a list of words, got {type(s).__name__}")
        out.append(list(s))
    if not out or not any(out):
        raise ValueError(f"{name} is empty: give at least one sentence with words in it")
    return out


@dataclass
class WordVectors:
    """One vector per word form: ``words`` (V,) and ``vectors`` (V, D), row ``i`` for ``words[i]``.

    Example: ``wv["robin"]`` (D,), ``wv.nearest("robin", k=3)``, ``"robin" in wv``
    """

    words: list[str]
    vectors: torch.Tensor
    history: list[float] = field(
        default_factory=list, repr=False
    )  # training losses, where there was training

    def __post_init__(self):
        self.words = list(self.words)
        self.vectors = torch.as_tensor(self.vectors).detach().float()
        if self.vectors.dim() != 2 or self.vectors.shape[0] != len(self.words):
            raise ValueError(
                f"vectors must have shape (len(words), D) = ({len(self.words)}, D), "
                f"got {tuple(self.vectors.shape)}"
            )
        if len(set(self.words)) != len(self.words):
            raise ValueError("words must be distinct: each word form has one vector")
        self._index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self._index

    def index(self, word: str) -> int:
        if word not in self._index:
            raise KeyError(
                f"{word!r} is not in the vocabulary ({len(self.words)} words, e.g. "
                f"{', '.join(self.words[:5])}); vectors exist only for words seen in training"
            )
        return self._index[word]

    def __getitem__(self, word: str) -> torch.Tensor:
        return self.vectors[self.index(word)]

    def lookup(self, words: Sequence[str]) -> torch.Tensor:
        """The vectors of ``words`` (N,) as one tensor (N, D)."""
        return self.vectors[[self.index(w) for w in words]]

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words' vectors."""
        return float(F.cosine_similarity(self[a], self[b], dim=0))

    def nearest(self, word: str, k: int = 5, among: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` words most similar to ``word`` (cosine), itself excluded: ``[(word, similarity), ...]``.

        ``among`` restricts the candidates (e.g. to the world's animals and plants).
        Example: ``wv.nearest("robin", k=3)`` -> ``[("sparrow", 0.93), ...]``
        """
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be an int >= 1, got {k!r}")
        q = self.index(word)
        cand = list(range(len(self.words))) if among is None else [self.index(w) for w in among]
        cand = [i for i in cand if i != q]
        if not cand:
            raise ValueError("no candidate words left to compare with")
        sims = F.cosine_similarity(self.vectors[cand], self.vectors[q][None], dim=-1)  # (C,)
        top = sims.topk(min(k, len(cand)))
        return [(self.words[cand[i]], float(s)) for s, i in zip(top.values.tolist(), top.indices.tolist())]


def build_vocab(sentences, min_count: int = 1) -> tuple[list[str], list[int]]:
    """Words seen at least ``min_count`` times, most frequent first (ties alphabetical), and their counts.

    Example: ``build_vocab([["a", "b", "a"]])`` -> ``(["a", "b"], [2, 1])``
    """
    if not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
    counts = Counter(w for s in _as_word_lists(sentences) for w in s)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if not kept:
        raise ValueError(f"no word occurs {min_count} times or more; lower min_count")
    return kept, [counts[w] for w in kept]


def _check_window(window):
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ValueError(
            f"window must be an int >= 1 (how many words on each side count as company), got {window!r}"
        )


def _ids(sentences, index: dict[str, int]) -> torch.Tensor:
    """Sentences -> (N, T) word ids, -1 for padding and for words outside the vocabulary."""
    T = max(len(s) for s in sentences)
    ids = torch.full((len(sentences), T), -1, dtype=torch.long)
    for n, s in enumerate(sentences):
        ids[n, : len(s)] = torch.tensor([index.get(w, -1) for w in s], dtype=torch.long)
    return ids


def _window_pairs(ids: torch.Tensor, window: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (word, neighbour) pair at most ``window`` positions apart, both directions: two (P,) tensors."""
    centers, contexts = [], []
    for o in range(1, window + 1):
        a, b = ids[:, :-o].reshape(-1), ids[:, o:].reshape(-1)  # word at t and at t + o
        ok = (a >= 0) & (b >= 0)
        centers += [a[ok], b[ok]]
        contexts += [b[ok], a[ok]]
    return torch.cat(centers), torch.cat(contexts)


# ---------------------------------------------------------------------------------------------
# Count-based: co-occurrence, PPMI, SVD
# ---------------------------------------------------------------------------------------------


def cooccurrence_matrix(
    sentences, window: int = 2, min_count: int = 1, vocab: Sequence[str] | None = None
) -> tuple[torch.Tensor, list[str]]:
    """Count how often each word has each other word within ``window`` positions: ``(counts (V, V), words)``.

    ``counts[i, j]`` is the number of times ``words[j]`` occurs within ``window`` words of ``words[i]``
    (inside one sentence); the matrix is symmetric. ``vocab`` fixes the words (others are skipped);
    by default every word seen ``min_count`` times, most frequent first.
    Example: ``C, words = cooccurrence_matrix([["the", "robin", "can", "fly"]], window=1)``
    """
    _check_window(window)
    sentences = _as_word_lists(sentences)
    words = list(vocab) if vocab is not None else build_vocab(sentences, min_count)[0]
    if not words:
        raise ValueError("vocab is empty")
    index = {w: i for i, w in enumerate(words)}
    centers, contexts = _window_pairs(_ids(sentences, index), window)
    V = len(words)
    counts = torch.bincount(centers * V + contexts, minlength=V * V).reshape(V, V).float()
    return counts, words


def ppmi(counts, alpha: float = 1.0) -> torch.Tensor:
    """Positive pointwise mutual information of a co-occurrence matrix (V, C) -> (V, C).

    ``PMI(w, c) = log( P(w, c) / (P(w) P(c)) )`` with ``P(w, c) = #(w, c) / N``, ``P(w) = #(w) / N``
    (row sums), ``P(c) = #(c) / N`` (column sums), ``N`` the total count; ``PPMI = max(PMI, 0)``, and 0
    where a pair was never seen (log 0 would be minus infinity). ``alpha < 1`` smooths the context
    distribution, ``P(c) = #(c)^alpha / sum_c' #(c')^alpha``, which lowers the PMI of rare contexts
    (0.75 is the usual choice, after word2vec's noise distribution).
    Example: ``ppmi(torch.tensor([[2., 0.], [1., 1.]]))``
    """
    C = torch.as_tensor(counts).float()
    if C.dim() != 2:
        raise ValueError(f"counts must be a 2-D matrix (words, contexts), got shape {tuple(C.shape)}")
    if (C < 0).any() or not torch.isfinite(C).all():
        raise ValueError("counts must be finite and non-negative (they are how often two words co-occur)")
    if C.sum() == 0:
        raise ValueError(
            "counts are all zero: no word co-occurs with any other; use more text or a wider window"
        )
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    N = C.sum()
    p_w = C.sum(1, keepdim=True) / N  # (V, 1)
    c_ctx = C.sum(0, keepdim=True) ** alpha
    p_c = c_ctx / c_ctx.sum()  # (1, C)
    with torch.no_grad():
        pmi = torch.log((C / N) / (p_w * p_c))  # -inf where C == 0, nan where a whole row or column is 0
    return torch.where(C > 0, pmi, torch.zeros_like(pmi)).clamp_min(0)


def svd_vectors(matrix, dim: int, power: float = 0.5) -> torch.Tensor:
    """Truncated SVD: the rows of ``U_d diag(S_d)^power`` for the top ``dim`` singular values, (V, dim).

    ``power = 1`` keeps the scale of ``U S`` (which reproduces the matrix best); ``0.5``, a symmetric split
    between word and context vectors, usually gives better similarities.
    Example: ``svd_vectors(ppmi(C), dim=16)``
    """
    M = torch.as_tensor(matrix).double()
    if M.dim() != 2:
        raise ValueError(f"matrix must be 2-D, got shape {tuple(M.shape)}")
    if not isinstance(dim, int) or not 1 <= dim <= min(M.shape):
        raise ValueError(
            f"dim must be an int in [1, {min(M.shape)}] for a {tuple(M.shape)} matrix, got {dim!r}"
        )
    U, S, Vh = torch.linalg.svd(M, full_matrices=False)  # S descending
    U = U[:, :dim]
    # Fix each direction's sign (largest loading positive) so that runs agree.
    signs = torch.sign(U.gather(0, U.abs().argmax(0, keepdim=True)))
    return (U * signs * S[:dim] ** power).float()


def ppmi_svd(
    sentences, dim: int = 32, window: int = 2, min_count: int = 1, alpha: float = 0.75, power: float = 0.5
) -> WordVectors:
    """Count-based word vectors: co-occurrence counts -> PPMI -> truncated SVD.

    Example: ``wv = ppmi_svd(corpus(5000)["train"]["words"], dim=32)``
    """
    counts, words = cooccurrence_matrix(sentences, window, min_count)
    return WordVectors(words, svd_vectors(ppmi(counts, alpha), min(dim, len(words)), power))


# ---------------------------------------------------------------------------------------------
# Predictive: skip-gram with negative sampling
# ---------------------------------------------------------------------------------------------


def skipgram_pairs(sentences, words: Sequence[str], window: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (center, context) pair of word ids at most ``window`` positions apart: two (P,) LongTensors.

    Words outside ``words`` are skipped. Example: ``skipgram_pairs([["a", "b", "c"]], ["a", "b", "c"], 1)``
    gives the pairs (a, b), (b, c), (b, a), (c, b).
    """
    _check_window(window)
    index = {w: i for i, w in enumerate(words)}
    return _window_pairs(_ids(_as_word_lists(sentences), index), window)


def noise_distribution(counts, power: float = 0.75) -> torch.Tensor:
    """Word2vec's noise distribution: unigram counts raised to ``power`` (3/4), normalised. (V,) -> (V,)."""
    c = torch.as_tensor(counts).double()
    if c.dim() != 1 or (c < 0).any() or c.sum() == 0:
        raise ValueError("counts must be a 1-D tensor of non-negative word counts, not all zero")
    p = c**power
    return (p / p.sum()).float()


def negative_sampling_loss(
    v_center: torch.Tensor, u_context: torch.Tensor, u_negative: torch.Tensor
) -> torch.Tensor:
    """Skip-gram's negative-sampling loss, averaged over the batch.

    ``-log σ(u_o · v_c) - Σ_k log σ(-u_k · v_c)`` for a center word's vector ``v_c`` (B, D), the output
    vector of a word seen in its window ``u_o`` (B, D), and ``K`` noise words' output vectors ``u_k``
    (B, K, D). (``log σ`` is computed as ``-softplus(-x)``, which does not overflow.)
    Example: ``negative_sampling_loss(torch.randn(4, 8), torch.randn(4, 8), torch.randn(4, 5, 8))``
    """
    if v_center.dim() != 2 or u_context.shape != v_center.shape:
        raise ValueError(
            f"v_center and u_context must both be (B, D), got {tuple(v_center.shape)} and "
            f"{tuple(u_context.shape)}"
        )
    if (
        u_negative.dim() != 3
        or u_negative.shape[0] != v_center.shape[0]
        or u_negative.shape[2] != v_center.shape[1]
    ):
        raise ValueError(
            f"u_negative must be (B, K, D) = ({v_center.shape[0]}, K, {v_center.shape[1]}), "
            f"got {tuple(u_negative.shape)}"
        )
    pos = (u_context * v_center).sum(-1)  # (B,) score of the true context word
    neg = torch.einsum("bkd,bd->bk", u_negative, v_center)  # (B, K) scores of the noise words
    return (F.softplus(-pos) + F.softplus(neg).sum(-1)).mean()


class SkipGram(nn.Module):
    """Two tables: ``center`` (the word vectors we keep) and ``context`` (output vectors ``u``).

    ``forward(centers (B,), contexts (B,), negatives (B, K))`` -> the loss of :func:`negative_sampling_loss`.
    Initialised as word2vec does: small random word vectors, zero output vectors.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        if vocab_size < 2 or dim < 1:
            raise ValueError(f"vocab_size must be >= 2 and dim >= 1, got {vocab_size} and {dim}")
        self.center = nn.Embedding(vocab_size, dim)
        self.context = nn.Embedding(vocab_size, dim)
        nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.context.weight)

    def forward(self, centers, contexts, negatives):
        return negative_sampling_loss(self.center(centers), self.context(contexts), self.context(negatives))


def train_skipgram(
    sentences,
    dim: int = 32,
    window: int = 2,
    negatives: int = 5,
    epochs: int = 3,
    batch_size: int = 512,
    lr: float = 0.01,
    min_count: int = 1,
    subsample: float = 1e-3,
    seed: int = 0,
    device=None,
) -> WordVectors:
    """Skip-gram with negative sampling (Mikolov et al., 2013), trained with Adam on mini-batches of pairs.

    Each epoch: frequent words are dropped at random with probability ``1 - sqrt(subsample / f(w))``
    (``f`` the word's share of the text; 0 turns this off), every remaining (word, neighbour) pair within
    ``window`` is one positive example, and ``negatives`` noise words per pair are drawn from the unigram
    distribution to the 3/4. Returns the center vectors as :class:`WordVectors`, with the mean loss of each
    epoch in ``history``. Deterministic for a given seed on one device.
    Example: ``wv = train_skipgram(corpus(5000)["train"]["words"], dim=32, epochs=3)``
    """
    _check_window(window)
    for name, v, lo in (
        ("dim", dim, 1),
        ("negatives", negatives, 1),
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
    ):
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    if not subsample >= 0:
        raise ValueError(f"subsample must be >= 0 (0 keeps every word), got {subsample!r}")
    sentences = _as_word_lists(sentences)
    words, counts = build_vocab(sentences, min_count)
    if len(words) < 2:
        raise ValueError("skip-gram needs at least two distinct words")
    device = torch.device(device) if device is not None else torch.device("cpu")
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    ids = _ids(sentences, {w: i for i, w in enumerate(words)})
    counts_t = torch.tensor(counts, dtype=torch.float)
    noise = noise_distribution(counts_t)
    freq = counts_t / counts_t.sum()
    keep_p = (torch.sqrt(subsample / freq) if subsample > 0 else torch.ones_like(freq)).clamp(max=1.0)
    model = SkipGram(len(words), dim).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for _ in range(epochs):
        kept = ids.clone()
        drop = (ids >= 0) & (torch.rand(ids.shape, generator=g) >= keep_p[ids.clamp_min(0)])
        kept[drop] = -1
        centers, contexts = _window_pairs(kept, window)
        if len(centers) == 0:
            raise ValueError(
                "no (word, neighbour) pairs: use longer sentences, a wider window or less subsampling"
            )
        order = torch.randperm(len(centers), generator=g)
        noise_ids = torch.multinomial(noise, len(centers) * negatives, replacement=True, generator=g)
        noise_ids = noise_ids.reshape(len(centers), negatives)
        total = 0.0
        for s in range(0, len(order), batch_size):
            b = order[s : s + batch_size]
            loss = model(centers[b].to(device), contexts[b].to(device), noise_ids[b].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        history.append(total / len(order))
    return WordVectors(words, model.center.weight.detach().cpu(), history=history)


# ---------------------------------------------------------------------------------------------
# Measured against the world's ground truth
# ---------------------------------------------------------------------------------------------


def neighbour_agreement(wv: WordVectors, labels: Mapping[str, str], k: int = 3) -> float:
    """How often a word's ``k`` nearest neighbours among the labelled words share its label (precision at ``k``).

    ``labels``: word -> label (e.g. ``{"robin": "bird", "trout": "fish", ...}``); words ``wv`` does not know
    are left out. Each word is compared with the other labelled words only (cosine similarity). Vectors that
    know nothing score about ``(n_c - 1) / (N - 1)`` on average (``n_c`` words share a label, ``N`` in all).
    Example: ``neighbour_agreement(wv, {"good": "+", "great": "+", "bad": "-", "awful": "-"}, k=1)``
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    known = [w for w in labels if w in wv]
    if len(known) <= k:
        raise ValueError(
            f"the vectors know {len(known)} of the {len(labels)} labelled words; at least k + 1 = "
            f"{k + 1} are needed (train on text that mentions them, or lower k)"
        )
    X = F.normalize(wv.lookup(known), dim=-1)
    sims = (X @ X.T).fill_diagonal_(-float("inf"))  # a word is not its own neighbour
    top = sims.topk(k, dim=-1).indices  # (N, k)
    hits = [labels[known[j]] == labels[w] for i, w in enumerate(known) for j in top[i].tolist()]
    return sum(hits) / len(hits)


def taxonomy_agreement(wv: WordVectors, k: int = 3, world=None) -> float:
    """How often a word's nearest neighbours among the world's animals and plants share its category.

    :func:`neighbour_agreement` over every entity of the world's taxonomy (``robin``, ``oak``, ...) with its
    category (bird, fish, mammal, reptile, insect, tree). Vectors that know nothing score about 0.15 on
    average (37 entities in six categories).
    Example: ``taxonomy_agreement(wv, k=3)``  # 1.0 when every neighbour is in the right category
    """
    from .data.world import World

    world = world or World(0)
    return neighbour_agreement(wv, {e: world.category_of(e) for e in world.entities}, k)


def sense_agreement(vectors, senses: Sequence, groups: Sequence | None = None) -> float:
    """How often an occurrence's nearest other occurrence (cosine) has the same sense.

    ``vectors`` (N, D): one vector per occurrence of an ambiguous word; ``senses`` (N,): its sense label;
    ``groups`` (N,), optional: the word form, so that occurrences are compared only with occurrences of the
    same word (``bank`` with ``bank``) and the result is the mean over words. When several occurrences are
    equally near (identical vectors), each counts in proportion: one vector per word form makes every
    occurrence tie with every other, and the score is the share of same-sense pairs, about 0.5 for two
    balanced senses. 1.0 means every occurrence sits next to one of its own sense.
    Example: ``sense_agreement(wv.lookup(["bank"] * 4), ["river", "money", "river", "money"])``  # 1/3
    """
    X = torch.as_tensor(vectors).float()
    if X.dim() != 2 or X.shape[0] != len(senses):
        raise ValueError(f"vectors must be (N, D) with N = len(senses) = {len(senses)}, got {tuple(X.shape)}")
    groups = list(groups) if groups is not None else [None] * len(senses)
    if len(groups) != len(senses):
        raise ValueError(f"groups must have one entry per occurrence: {len(groups)} for {len(senses)}")
    senses = [str(s) for s in senses]
    scores = []
    for grp in sorted(set(groups), key=repr):
        idx = [i for i, x in enumerate(groups) if x == grp]
        labels = [senses[i] for i in idx]
        if len(set(labels)) < 2:
            raise ValueError(
                f"word {grp!r} has occurrences of only one sense ({labels[0]!r}); each word needs two"
            )
        # Centred on the word's mean occurrence: what all occurrences share (and most word vectors share:
        # they point in one common direction) says nothing about the sense.
        Xg = F.normalize(X[idx] - X[idx].mean(0), dim=-1)
        S = (Xg @ Xg.T).fill_diagonal_(-float("inf"))  # (n, n), an occurrence is not its own neighbour
        nearest = S >= S.max(dim=1, keepdim=True).values - 1e-6  # (n, n): the nearest, ties included
        same = torch.tensor([[a == b for b in labels] for a in labels])
        scores.append(float(((nearest & same).sum(1) / nearest.sum(1)).mean()))
    return sum(scores) / len(scores)


def window_average(wv: WordVectors, sentences, index: Sequence[int], window: int = 2) -> torch.Tensor:
    """For word ``index[i]`` of sentence ``i``: the mean static vector of its neighbours within ``window``
    positions (the word itself and unknown words left out), (N, D). Zeros when no neighbour is known.

    The company of one occurrence, as one vector: where the deciding word is near, this separates senses
    that the word's own static vector cannot.
    Example: ``window_average(wv, [["the", "river", "bank", "was", "old"]], [2], window=1)``
    """
    _check_window(window)
    sentences = _as_word_lists(sentences)
    if len(index) != len(sentences):
        raise ValueError(
            f"index needs one position per sentence: {len(index)} for {len(sentences)} sentences"
        )
    out = torch.zeros(len(sentences), wv.vectors.shape[1])
    for n, (s, i) in enumerate(zip(sentences, index)):
        i = int(i)
        if not 0 <= i < len(s):
            raise ValueError(f"index[{n}] = {i} is outside sentence {n}, which has {len(s)} words")
        near = [
            w
            for j, w in enumerate(s[max(0, i - window) : i + window + 1], start=max(0, i - window))
            if j != i and w in wv
        ]
        if near:
            out[n] = wv.lookup(near).mean(0)
    return out
