"""Two domains of the world for continual learning: animals and their kinds, then people and their cities.

Both domains are written in one frame, ``<det> <adj> <subject> <relation> <answer> .``, so that a model that learns
the second one has every reason to reuse, and overwrite, what it learned for the first:

* **animals** (domain A): every member of the world's taxonomy and its category,
  ``the old robin is a kind of bird .``;
* **people** (domain B): made-up people (:func:`~lmnotes.data.challenges.person_names`) and the city each lives in,
  ``that tall kalo lives in rome .``.

Each subject appears in every frame (a determiner and an adjective); for each subject a share of its frames is held
out. Held-out sentences are new to the model, though their facts are not: they measure whether the model still
knows the domain, not whether it remembers one string.

Example::

    >>> data = two_domains(seed=0)
    >>> data["A"]["train"][0], data["A"]["test"][0]
    ('... is a kind of ...', {'prompt': '... is a kind of', 'answer': ...})
"""

from __future__ import annotations

import random

from ..world import TAXONOMY
from . import CITIES, _check_int, _check_share, person_names

__all__ = ["DETERMINERS", "DOMAIN_ADJECTIVES", "RELATIONS", "two_domains"]

DETERMINERS = ("the", "that", "this", "my")
DOMAIN_ADJECTIVES = (
    "old",
    "young",
    "big",
    "small",
    "quiet",
    "tall",
)  # words that fit an animal, a tree and a person
RELATIONS = {"A": "is a kind of", "B": "lives in"}


def _frames(adjectives):
    return [(d, a) for d in DETERMINERS for a in adjectives]


def _domain(name, subjects, answer_of, relation, adjectives, test_share, rng):
    train, test = [], []
    for x in subjects:
        frames = _frames(adjectives)
        rng.shuffle(frames)
        k = max(1, round(test_share * len(frames)))  # every subject keeps frames on both sides
        for i, (d, a) in enumerate(frames):
            prompt = f"{d} {a} {x} {relation}"
            if i < k:
                test.append({"prompt": prompt, "answer": answer_of[x], "subject": x})
            else:
                train.append(f"{prompt} {answer_of[x]} .")
    rng.shuffle(train)
    rng.shuffle(test)
    return {
        "name": name,
        "relation": relation,
        "facts": dict(answer_of),
        "answers": sorted(set(answer_of.values())),
        "train": train,
        "test": test,
    }


def two_domains(
    n_people: int = 20,
    adjectives=DOMAIN_ADJECTIVES,
    test_share: float = 0.25,
    seed: int = 0,
) -> dict:
    """Domain ``"A"`` (the 37 animals and plants of the world's taxonomy and their kinds) and domain ``"B"``
    (``n_people`` made-up people and their cities), each with training sentences and held-out questions.

    Every subject is written in ``len(DETERMINERS) * len(adjectives)`` frames; for each subject ``test_share`` of them
    (at least one) become held-out questions ``{"prompt", "answer", "subject"}`` and the rest training sentences.
    Returns ``{"A": domain, "B": domain}``, each ``{"name", "relation", "facts" (subject -> answer), "answers",
    "train" (sentences), "test" (questions)}``. The seed decides the people's names and cities and the split.

    Example: ``two_domains(seed=0)["B"]["test"][0]`` → ``{"prompt": "my quiet kalo lives in", "answer": "rome", ...}``
    """
    _check_int("n_people", n_people, 1, 2000)
    _check_int("seed", seed, 0)
    _check_share("test_share", test_share)
    if isinstance(adjectives, str):
        raise TypeError("adjectives must be a list of words, got one str; wrap it in a list: [word]")
    adjectives = list(adjectives)
    if not adjectives or not all(isinstance(a, str) and a.isalpha() and a.islower() for a in adjectives):
        raise ValueError(f"adjectives must be a non-empty list of lower-case words, got {adjectives!r}")
    if len(set(adjectives)) != len(adjectives):
        raise ValueError(f"adjectives must be distinct, got {adjectives!r}")
    n_frames = len(DETERMINERS) * len(adjectives)
    if round(test_share * n_frames) >= n_frames:
        raise ValueError(
            f"test_share={test_share} holds out all {n_frames} frames of a subject; keep some for training "
            "(a share below 1, or more adjectives)"
        )
    rng = random.Random(seed + 4241)
    kinds = {x: c for c in sorted(TAXONOMY) for x in TAXONOMY[c][1]}
    people = person_names(n_people, seed)
    cities = {p: rng.choice(CITIES) for p in people}
    return {
        "A": _domain("animals", sorted(kinds), kinds, RELATIONS["A"], adjectives, test_share, rng),
        "B": _domain("people", people, cities, RELATIONS["B"], adjectives, test_share, rng),
    }
