"""Defaults and their exceptions: birds can fly, the penguin is a bird that cannot fly.

:func:`defaults_corpus` writes the world's taxonomy as plain statements (``a robin is a bird .``, ``birds can fly
.``, ``a robin can fly .``, ``a salmon cannot fly .``) and adds made-up members of the three categories that have an
ability (``can fly``, ``can swim``, ``can run``). Among the made-up members are **exceptions** (a bird that cannot
fly) and as many ordinary members (the **control**), plus ``n_ordinary`` further ordinary members per category
that keep the exceptions a minority; for each count ``k`` of ``counts``, some of each are given their
ability (or its absence) in ``k`` sentences, ``k = 0`` meaning never. Everything else about a made-up member is
stated as often for an exception as for a control: its category, its other properties, what it cannot do. The
world's own exception, the penguin, has ``a penguin cannot fly .`` stated ``penguin`` times.

The questions (``can a kalo fly ?``) and their true answers are held out: no training text asks them, and the
measured sentences themselves appear only the chosen number of times.

Example::

    >>> data = defaults_corpus(counts=(0, 1, 4), per_count=1, seed=0)
    >>> [i for i in data["items"] if i["role"] == "exception"][0]["question"]
"""

from __future__ import annotations

import random

from ..world import PROPERTIES, TAXONOMY, World, article, corpus, property_question
from . import _check_int, person_names

__all__ = ["ABILITIES", "ability_statement", "category_default", "defaults_corpus"]

# The categories whose default is an ability, and that ability: the property a made-up exception lacks.
ABILITIES = {"bird": "can fly", "fish": "can swim", "mammal": "can run"}


def category_default(category: str, prop: str) -> bool:
    """Whether members of ``category`` have ``prop`` by default (what the category says, before any exception).

    Example: ``category_default("bird", "can fly")`` → True; ``category_default("bird", "can swim")`` → False
    """
    if category not in TAXONOMY:
        raise ValueError(f"unknown category {category!r}; the world has {sorted(TAXONOMY)}")
    if prop not in PROPERTIES:
        raise ValueError(f"unknown property {prop!r}; the world has {sorted(PROPERTIES)}")
    return prop in TAXONOMY[category][2]


def ability_statement(entity: str, ability: str, has: bool) -> str:
    """``a robin can fly .`` (``has=True``) or ``a robin cannot fly .`` (``has=False``).

    Example: ``ability_statement("penguin", "can fly", False)`` → ``"a penguin cannot fly ."``
    """
    if ability not in set(ABILITIES.values()):
        raise ValueError(f"ability must be one of {sorted(set(ABILITIES.values()))}, got {ability!r}")
    if not isinstance(entity, str) or not entity.isalpha():
        raise ValueError(f"entity must be one word of letters, got {entity!r}")
    if not isinstance(has, bool):
        raise TypeError(f"has must be True or False, got {has!r}")
    verb = ability.split()[1]
    return f"{article(entity)} {entity} {'can' if has else 'cannot'} {verb} ."


def _statement(entity: str, prop: str) -> str:
    """``a robin has feathers .``: a property in the world's singular form."""
    return " ".join([article(entity), entity] + [w for w, _ in PROPERTIES[prop].singular] + ["."])


def _generic(category: str, prop: str) -> str:
    """``birds can fly .``"""
    return " ".join([TAXONOMY[category][0]] + [w for w, _ in PROPERTIES[prop].plural] + ["."])


def _moves_against_exception(world: World, row: dict) -> bool:
    """Whether a sentence of the general corpus is a motion sentence (``the penguin flew ...``) about a member that
    lacks its category's ability."""
    if row["kind"] != "motion" or row["subject"] not in world.entities:
        return False
    cat = world.category_of(row["subject"])
    return cat in ABILITIES and not world.is_true(row["subject"], ABILITIES[cat])


def _item(entity, category, ability, role, count, world_entity=False):
    default = category_default(category, ability)
    true = default if role == "control" else not default
    return {
        "entity": entity,
        "category": category,
        "property": ability,
        "role": role,
        "count": count,
        "world": world_entity,
        "question": property_question(entity, ability),
        "answer": "yes" if true else "no",
        "default_answer": "yes" if default else "no",
        "default_text": ability_statement(entity, ability, default),
        "other_text": ability_statement(entity, ability, not default),
    }


def defaults_corpus(
    counts=(0, 1, 2, 4, 8, 16),
    per_count: int = 4,
    mentions: int = 6,
    repeats: int = 6,
    generic_repeats: int = 20,
    penguin: int = 1,
    n_ordinary: int = 40,
    ordinary_count: int = 2,
    n_filler: int = 14000,
    negatives: bool = False,
    seed: int = 0,
) -> dict:
    """A corpus of defaults and exceptions, and the held-out questions that measure them.

    * The world's birds, fish and mammals: ``a robin is a bird .`` and each of its properties (``a robin has
      feathers .``, ``a robin can fly .``) and each ability it lacks (``a robin cannot run .``), ``repeats`` times
      each; the generic statements of each category (``birds can fly .``) ``generic_repeats`` times each. The
      penguin's exception, ``a penguin cannot fly .``, appears ``penguin`` times (0: never).
    * Made-up members (names from :func:`~lmnotes.data.challenges.person_names`): for each category with an
      ability (:data:`ABILITIES`) and each ``k`` in ``counts``, ``per_count`` **exceptions** (``a kalo cannot fly
      .`` stated ``k`` times) and ``per_count`` **controls** (``a miru can fly .`` stated ``k`` times). Every
      made-up member also has ``mentions`` sentences that cycle through its category (``a kalo is a bird .``),
      its other properties and, with ``negatives``, the abilities it lacks, the same for exceptions and controls.
    * ``n_ordinary`` more made-up members per category, ordinary ones with their ability stated
      ``ordinary_count`` times: they make exceptions rare, as in the world (with ``n_ordinary=0`` half of the
      made-up members are exceptions, and the category's ability is no longer a default for them).
    * ``n_filler`` sentences of the world's general corpus, so that a sentence stated once is a small part of the
      text (less the few that have the penguin fly, ``the big penguin flew over the lake .``).

    Returns ``{"texts", "items"}``: ``texts`` (shuffled) to train on; ``items``, one per measured fact, each a dict
    with ``entity``, ``category``, ``property``, ``role`` (``"exception"`` or ``"control"``), ``count`` (how often
    the fact was stated), ``world`` (True for the penguin), ``question`` (``can a kalo fly ?``), ``answer`` (the
    truth, ``yes``/``no``), ``default_answer`` (what the category implies), ``default_text`` (``a kalo can fly
    .``) and ``other_text`` (``a kalo cannot fly .``). No text is a question.

    Example: ``data = defaults_corpus(seed=0); len(data["items"])`` → 145 (the penguin, and 3 categories x 6
    counts x 2 roles x 4)
    """
    if isinstance(counts, (int, str)):
        raise TypeError(f"counts must be a list of ints, e.g. (0, 1, 2, 4, 8, 16), got {counts!r}")
    counts = list(counts)
    if not counts:
        raise ValueError("counts is empty: give how often exceptions are stated, e.g. (0, 1, 2, 4, 8, 16)")
    for k in counts:
        _check_int("each count", k, 0, 10_000)
    if len(set(counts)) != len(counts):
        raise ValueError(f"counts must be distinct, got {counts}")
    _check_int("per_count", per_count, 1, 100)
    _check_int("mentions", mentions, 1, 1000)
    _check_int("repeats", repeats, 1, 1000)
    _check_int("generic_repeats", generic_repeats, 0, 10_000)
    _check_int("penguin", penguin, 0, 10_000)
    _check_int("n_ordinary", n_ordinary, 0, 10_000)
    _check_int("ordinary_count", ordinary_count, 1, 10_000)
    _check_int("n_filler", n_filler, 0, 1_000_000)
    if not isinstance(negatives, bool):
        raise TypeError(f"negatives must be True or False, got {negatives!r}")
    _check_int("seed", seed, 0)
    world = World(seed)
    if world.is_true("penguin", "can fly") or not category_default("bird", "can fly"):
        raise RuntimeError("the world no longer has its exception: a penguin is a bird that cannot fly")
    rng = random.Random(seed + 6)
    abilities = sorted(set(ABILITIES.values()))
    texts = []

    # The world's members: everything true about them, and what they cannot do, `repeats` times.
    for cat in sorted(ABILITIES):
        plural, members, props, _, _ = TAXONOMY[cat]
        texts += [_generic(cat, p) for p in props for _ in range(generic_repeats)]
        for x in members:
            facts = [f"{article(x)} {x} is {article(cat)} {cat} ."]
            for p in sorted(PROPERTIES):
                if p in abilities:
                    if (x, p) == ("penguin", "can fly"):
                        continue  # the measured exception: stated `penguin` times below
                    facts.append(ability_statement(x, p, world.is_true(x, p)))
                elif world.is_true(x, p):
                    facts.append(_statement(x, p))
            texts += [f for f in facts for _ in range(repeats)]
    texts += [ability_statement("penguin", "can fly", False)] * penguin
    items = [_item("penguin", "bird", "can fly", "exception", penguin, world_entity=True)]

    # Made-up members: exceptions and controls, matched in everything but the one ability.
    n_made_up = len(ABILITIES) * (len(counts) * 2 * per_count + n_ordinary)
    names = iter(person_names(n_made_up, seed))

    def member(cat, has, k):
        x = next(names)
        ability = ABILITIES[cat]
        background = [f"{article(x)} {x} is {article(cat)} {cat} ."]
        background += [_statement(x, p) for p in TAXONOMY[cat][2] if p not in abilities]
        if negatives:
            background += [ability_statement(x, a, False) for a in abilities if a != ability]
        texts.extend(background[i % len(background)] for i in range(mentions))
        texts.extend([ability_statement(x, ability, has)] * k)
        return x

    for cat in sorted(ABILITIES):
        for _ in range(n_ordinary):  # the rest of the category: ordinary, so that exceptions are rare
            member(cat, True, ordinary_count)
        for k in counts:
            for role in ("exception", "control"):
                for _ in range(per_count):
                    x = member(cat, role == "control", k)
                    items.append(_item(x, cat, ABILITIES[cat], role, k))
    if n_filler:
        filler = corpus(n_filler, seed=seed, split=(1.0, 0.0, 0.0))["train"]
        # The world's motion sentences give every bird the verb "flew", the penguin included: they would state the
        # default for the exception, so they are left out.
        texts += [r["text"] for r in filler if not _moves_against_exception(world, r)]
    rng.shuffle(texts)
    return {"texts": texts, "items": items}
