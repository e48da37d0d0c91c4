"""A simulated labeller: a hidden *gold* preference and a noisy human on top of it.

Real RLHF never sees the preference its labellers hold; it sees only their rankings. Here the preference
is a function we wrote, ``gold(text) -> float``, so the book can measure what real RLHF cannot: the true
reward of every sample, and how far the learned reward drifts from it.

* :func:`sentiment` and :func:`well_formed` judge a text against the world's lexicon and grammar;
  :func:`positive_and_well_formed` (the default gold) adds them up. Any ``gold(text) -> float`` can replace it.
* :class:`Labeller` is the noisy human (Bradley–Terry): it prefers ``a`` to ``b`` with probability
  ``σ((g(a) - g(b)) / τ)`` and ranks ``K`` continuations by ``g/τ`` plus Gumbel noise (Plackett–Luce, which
  gives exactly the Bradley–Terry probability for every pair).
* A ranking is a prompt, its continuations and the labeller's order (:func:`check_ranking`); the step that
  collects them from language models is :func:`lmnotes.rlhf.rollouts.collect_rankings`. This module imports
  no model: a preference is a function of text.

Example::

    labeller = Labeller(tau=0.3, seed=0)
    labeller.rank(["the film was great .", "the film was dull .", "film film the"])   # [0, 1, 2], usually
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from functools import lru_cache

from lmnotes.data.world import LIKE_VERBS, NEGATIVE, POSITIVE, World

__all__ = [
    "sentiment",
    "well_formed",
    "positive_and_well_formed",
    "world_bigrams",
    "review_prompts",
    "Labeller",
    "check_ranking",
    "check_rankings",
    "ranking_pairs",
]


# ---------------------------------------------------------------------------------------------------------
# Gold preferences
# ---------------------------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    return [w for w in text.lower().split() if w not in ("[bos]", "[eos]", "[pad]")]


def sentiment(text: str) -> float:
    """Net sentiment in [-1, 1] from the world's lexicon: +1 per positive word or "liked"-verb, -1 per negative
    one, flipped after "not"; the sum is clipped, so one clear positive word scores as much as five.

    Example: ``sentiment("the film was not bad .")  # 1.0``
    """
    net = 0
    words = _words(text)
    for i, w in enumerate(words):
        pol = (
            1
            if (w in POSITIVE or w in LIKE_VERBS[1])
            else -1
            if (w in NEGATIVE or w in LIKE_VERBS[-1])
            else 0
        )
        if pol and i > 0 and words[i - 1] == "not":
            pol = -pol
        net += pol
    return float(max(-1, min(1, net)))


@lru_cache(maxsize=4)
def world_bigrams(seed: int = 0, n: int = 4000) -> frozenset:
    """Every word pair (with ``<s>`` and ``</s>`` at the ends) seen in ``n`` sentences of the world."""
    world = World(seed)
    pairs = set()
    for i in range(n):
        s = world.review() if i % 2 else world.sentence()
        w = ["<s>"] + s["words"] + ["</s>"]
        pairs.update(zip(w, w[1:]))
    return frozenset(pairs)


def well_formed(text: str) -> float:
    """How much ``text`` reads as one sentence of the world, in [0, 1]: the share of its word pairs
    (``<s>`` and ``</s>`` at the ends, so it must start and end like a sentence) that the world's grammar makes.

    Example: ``well_formed("the film was good .")  # 1.0``; ``well_formed("good good good")  # 0.0``
    """
    w = ["<s>"] + _words(text) + ["</s>"]
    grammar = world_bigrams()
    pairs = list(zip(w, w[1:]))
    return sum(p in grammar for p in pairs) / len(pairs)


def positive_and_well_formed(text: str) -> float:
    """The default gold preference: ``sentiment(text) + 2 * (well_formed(text) - 1)``, in [-3, 1].

    A clear positive sentence of the world scores 1; every broken word pair costs more than the sentiment
    a repeated positive word could add.
    Example: ``positive_and_well_formed("the film was great .")  # 1.0``
    """
    return sentiment(text) + 2.0 * (well_formed(text) - 1.0)


def review_prompts(n: int = 200, seed: int = 0, words: int = 3) -> list[str]:
    """The openings (first ``words`` words) of ``n`` reviews of the world: ``"the film was"``, ``"i loved the"``.

    Example: ``review_prompts(4, seed=0)``
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if words < 1:
        raise ValueError(f"words must be >= 1, got {words}")
    world = World(seed)
    return [" ".join(world.review()["words"][:words]) for _ in range(n)]


# ---------------------------------------------------------------------------------------------------------
# The noisy human
# ---------------------------------------------------------------------------------------------------------


class Labeller:
    """A simulated human with a hidden preference ``gold`` and Bradley–Terry noise of temperature ``tau``.

    ``prob(a, b) = σ((gold(a) - gold(b)) / τ)``; :meth:`rank` orders ``K`` texts best first by
    ``gold/τ + Gumbel`` noise; :meth:`ceiling` is the best accuracy any model can reach on its choices.
    Example: ``Labeller(tau=0.3, seed=0).compare("the film was great .", "film the")  # True (usually)``
    """

    def __init__(
        self, gold: Callable[[str], float] = positive_and_well_formed, tau: float = 0.3, seed: int = 0
    ):
        if not callable(gold):
            raise TypeError(f"gold must be a function text -> float, got {type(gold).__name__}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0 (the labeller's noise), got {tau}")
        self.gold, self.tau = gold, float(tau)
        self.rng = random.Random(seed)

    def prob(self, a: str, b: str) -> float:
        """P(a ≻ b) = σ((g(a) - g(b)) / τ)."""
        return 1.0 / (1.0 + math.exp(-(self.gold(a) - self.gold(b)) / self.tau))

    def compare(self, a: str, b: str) -> bool:
        """One noisy judgement: True when the labeller prefers ``a``."""
        return self.rng.random() < self.prob(a, b)

    def rank(self, texts: list[str]) -> list[int]:
        """Indices of ``texts``, best first (Plackett–Luce with utilities ``g/τ``)."""
        if len(texts) < 2:
            raise ValueError(f"a ranking needs at least 2 texts, got {len(texts)}")
        noisy = [self.gold(t) / self.tau - math.log(-math.log(self.rng.random() or 1e-12)) for t in texts]
        return sorted(range(len(texts)), key=lambda i: -noisy[i])

    def ceiling(self, rankings: list[dict]) -> float:
        """Expected accuracy on the pairs of ``rankings`` of the best possible model, the one that always picks the
        text with the higher gold: the mean over pairs of ``max(p, 1 - p)``."""
        ps = [self.prob(a, b) for r in rankings for a, b in ranking_pairs(r)]
        if not ps:
            raise ValueError("rankings hold no pairs; pass at least one ranking of 2 or more continuations")
        return sum(max(p, 1 - p) for p in ps) / len(ps)


# ---------------------------------------------------------------------------------------------------------
# Rankings
# ---------------------------------------------------------------------------------------------------------


def check_ranking(r: dict) -> None:
    """A ranking is ``{"prompt", "continuations": [K texts], "order": [K indices, best first]}``, with ``K >= 2``
    and ``order`` a permutation of ``0..K-1`` (a strict order: ties are not allowed)."""
    if not isinstance(r, dict) or "continuations" not in r or "order" not in r:
        raise ValueError("a ranking must be a dict with 'prompt', 'continuations' and 'order'")
    k = len(r["continuations"])
    if k < 2:
        raise ValueError(
            f"a ranking needs at least 2 continuations, got {k} (an empty ranking teaches nothing)"
        )
    order = list(r["order"])
    if sorted(order) != list(range(k)):
        if len(set(order)) < len(order):
            raise ValueError(
                f"ranking order {order} has ties (a repeated index); the reward model's pairwise loss "
                "needs a strict order: drop tied continuations or break the tie"
            )
        raise ValueError(f"ranking order must be a permutation of 0..{k - 1}, got {order}")


def check_rankings(rankings, name: str = "rankings") -> list[dict]:
    """``rankings`` as a list, each checked by :func:`check_ranking`; an empty list is an error."""
    rankings = list(rankings)
    if not rankings:
        raise ValueError(f"{name} is empty; collect some rankings first (collect_rankings)")
    for r in rankings:
        check_ranking(r)
    return rankings


def ranking_pairs(r: dict) -> list[tuple[str, str]]:
    """All ``K(K-1)/2`` (preferred, rejected) pairs of full texts (prompt + continuation) of one ranking."""
    check_ranking(r)
    full = [f"{r.get('prompt', '')} {c}".strip() for c in r["continuations"]]
    o = r["order"]
    return [(full[o[i]], full[o[j]]) for i in range(len(o)) for j in range(i + 1, len(o))]
