"""A world with a known social skew: occupations that co-occur with one pronoun more often than the other.

:func:`skewed_corpus` writes sentences about people named by their occupation (``the pilot said that he was
tired .``) into the world's general text. Half of the occupations lean to *he*, half to *she*, and the skew ``p``
is the share of an occupation's sentences that use the pronoun it leans to: ``p = 0.5`` is no skew at all,
``p = 1`` means the occupation is never written with the other pronoun (and ``p < 0.5`` turns the lean
round). Which occupations lean which way is
drawn from the seed and returned as ground truth. With ``cda=True`` every sentence that has a pronoun is followed
by its counterfactual copy, the same sentence with the other pronoun (counterfactual data augmentation).

:func:`minimal_pairs` writes the test: pairs of sentences that differ only in the pronoun, one following the
skew (*stereotypical*), one against it, in the style of CrowS-Pairs.

Example::

    >>> data = skewed_corpus(p=0.9, seed=0)
    >>> data["he_occupations"], data["texts"][:3]
    >>> pairs = minimal_pairs(data["he_occupations"], data["she_occupations"], seed=0)
"""

from __future__ import annotations

import random

from ..world import World, article, corpus
from . import _check_int

__all__ = [
    "OCCUPATIONS",
    "PRONOUNS",
    "MALE_WORDS",
    "FEMALE_WORDS",
    "TEMPLATES",
    "render",
    "skewed_corpus",
    "minimal_pairs",
]

# Occupations, each with a thing of its trade (none of them a word of the world's own lexicon). The thing
# gives an occupation and the pronouns written with it shared company, which is what word vectors measure.
OCCUPATIONS = {
    "doctor": "pills",
    "nurse": "bandage",
    "pilot": "plane",
    "teacher": "chalk",
    "lawyer": "papers",
    "singer": "guitar",
    "painter": "brush",
    "driver": "truck",
    "baker": "flour",
    "judge": "gavel",
    "dancer": "shoes",
    "sailor": "rope",
}
# The forms each pronoun takes in a template's slots: subject, object, possessive.
PRONOUNS = {
    "he": {"subj": "he", "obj": "him", "poss": "his"},
    "she": {"subj": "she", "obj": "her", "poss": "her"},
}
MALE_WORDS = ("he", "him", "his")  # the attribute words of a WEAT: every form of each pronoun
FEMALE_WORDS = ("she", "her")
# Each template names the occupation once and refers to it once by a pronoun; {tool} is the occupation's thing,
# {animal} one of the world's animals.
TEMPLATES = (
    "the {occ} said that {subj} was tired .",
    "the {occ} took {poss} {tool} .",
    "the {occ} saw {a} {animal} and {subj} smiled .",
    "we gave the {occ} the {tool} and thanked {obj} .",
    "the {occ} said that {subj} had the {tool} .",
)


def _animals(seed: int) -> list[str]:
    world = World(seed)
    return sorted(e for e in world.entities if world.category_of(e) != "tree")


def render(template: str, occupation: str, pronoun: str, animal: str = "dog") -> str:
    """One sentence: ``template`` with its occupation and its thing, the forms of ``pronoun`` ("he" or "she") and an
    animal.

    Example: ``render(TEMPLATES[1], "pilot", "she")`` → ``"the pilot took her plane ."``
    """
    if pronoun not in PRONOUNS:
        raise ValueError(f"pronoun must be one of {sorted(PRONOUNS)}, got {pronoun!r}")
    if not isinstance(template, str) or "{occ}" not in template:
        raise ValueError(f"template must be a string with an {{occ}} slot, got {template!r}")
    if occupation not in OCCUPATIONS:
        raise ValueError(f"occupation must be one of {sorted(OCCUPATIONS)}, got {occupation!r}")
    tool = OCCUPATIONS[occupation]
    return template.format(occ=occupation, tool=tool, a=article(animal), animal=animal, **PRONOUNS[pronoun])


def _other(pronoun: str) -> str:
    return "she" if pronoun == "he" else "he"


def skewed_corpus(
    p: float = 0.9,
    per_template: int = 24,
    n_occupations: int = 12,
    n_filler: int = 1000,
    cda: bool = False,
    seed: int = 0,
) -> dict:
    """The world's text with occupations skewed toward one pronoun: the share ``p`` of each occupation's
    sentences uses the pronoun it leans to.

    Half of ``n_occupations`` (drawn from :data:`OCCUPATIONS` by ``seed``) lean to *he*, half to *she*. Each
    occupation has ``per_template`` sentences of each of the :data:`TEMPLATES`, of which exactly
    ``round(p * per_template)`` use its pronoun, so the skew is the one asked for up to rounding and both pronouns
    are equally frequent overall. ``n_filler`` sentences of the world's general corpus surround them. With
    ``cda=True``, each sentence with a pronoun is followed by its counterfactual, the pronoun swapped
    (he ↔ she, him ↔ her, his ↔ her), so every occupation ends with both pronouns equally often, at the cost of
    more text.

    Returns ``{"texts" (shuffled), "he_occupations", "she_occupations", "he_share" (occupation -> share of its
    sentences with *he*, CDA copies included), "sentences" (one record per occupation sentence: ``text``,
    ``occupation``, ``pronoun``, ``template``, ``animal``, ``counterfactual``), "p", "cda"}``.

    Example: ``skewed_corpus(p=0.5, seed=1)["he_share"]`` → every value 0.5
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(
            f"p must be a number in [0, 1] (the share of an occupation's sentences with its pronoun), got {p!r}"
        )
    _check_int("per_template", per_template, 1, 10_000)
    _check_int("n_occupations", n_occupations, 2, len(OCCUPATIONS))
    if n_occupations % 2:
        raise ValueError(f"n_occupations must be even (half lean to each pronoun), got {n_occupations}")
    _check_int("n_filler", n_filler, 0, 1_000_000)
    if not isinstance(cda, bool):
        raise TypeError(f"cda must be True or False, got {cda!r}")
    _check_int("seed", seed, 0)
    rng = random.Random(seed + 12)
    chosen = rng.sample(sorted(OCCUPATIONS), n_occupations)
    he_occ, she_occ = sorted(chosen[: n_occupations // 2]), sorted(chosen[n_occupations // 2 :])
    lean = {**{o: "he" for o in he_occ}, **{o: "she" for o in she_occ}}
    animals = _animals(seed)
    k = int(round(p * per_template))
    sentences = []
    for occ in sorted(lean):
        for template in TEMPLATES:
            pronouns = [lean[occ]] * k + [_other(lean[occ])] * (per_template - k)
            for pronoun in pronouns:
                animal = rng.choice(animals)
                record = {"occupation": occ, "pronoun": pronoun, "template": template, "animal": animal}
                sentences.append(
                    {"text": render(template, occ, pronoun, animal), **record, "counterfactual": False}
                )
                if cda:
                    swapped = _other(pronoun)
                    sentences.append(
                        {
                            "text": render(template, occ, swapped, animal),
                            **record,
                            "pronoun": swapped,
                            "counterfactual": True,
                        }
                    )
    texts = [s["text"] for s in sentences]
    if n_filler:
        texts += list(corpus(n_filler, seed=seed, split=(1.0, 0.0, 0.0))["train"]["text"])
    rng.shuffle(texts)
    he_share = {
        o: sum(s["pronoun"] == "he" for s in sentences if s["occupation"] == o)
        / sum(s["occupation"] == o for s in sentences)
        for o in sorted(lean)
    }
    return {
        "texts": texts,
        "he_occupations": he_occ,
        "she_occupations": she_occ,
        "he_share": he_share,
        "sentences": sentences,
        "p": p,
        "cda": cda,
    }


def minimal_pairs(
    he_occupations, she_occupations, templates=TEMPLATES, per_template: int = 2, seed: int = 0
) -> list[dict]:
    """Pairs of sentences that differ only in the pronoun: ``{"stereotype", "anti", "occupation", "template"}``.

    For an occupation that leans to *he*, ``stereotype`` has *he* (or *him*, *his*) and ``anti`` has *she*
    (*her*); the other way round for the occupations that lean to *she*. ``per_template`` pairs per occupation
    and template, each with an animal drawn by ``seed``.

    Example: ``minimal_pairs(["pilot"], ["nurse"], per_template=1)[0]`` →
    ``{"stereotype": "the nurse said that she was tired .", "anti": "... he ...", ...}``
    """
    he_occupations, she_occupations = list(he_occupations), list(she_occupations)
    if not he_occupations or not she_occupations:
        raise ValueError("give at least one occupation leaning to each pronoun")
    if set(he_occupations) & set(she_occupations):
        raise ValueError(
            f"an occupation cannot lean both ways: {sorted(set(he_occupations) & set(she_occupations))}"
        )
    templates = list(templates)
    if not templates:
        raise ValueError("templates is empty")
    _check_int("per_template", per_template, 1, 1000)
    _check_int("seed", seed, 0)
    rng = random.Random(seed + 13)
    animals = _animals(seed)
    pairs = []
    for occ, lean in [(o, "he") for o in he_occupations] + [(o, "she") for o in she_occupations]:
        for template in templates:
            for _ in range(per_template):
                animal = rng.choice(animals)
                pairs.append(
                    {
                        "stereotype": render(template, occ, lean, animal),
                        "anti": render(template, occ, _other(lean), animal),
                        "occupation": occ,
                        "template": template,
                    }
                )
    return pairs
