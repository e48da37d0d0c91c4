"""Corpora for the challenges chapter: each one a knob on one thing language models get wrong.

Every function is seeded (only ``random.Random``, sorted containers) and returns the texts to train on
together with the ground truth needed to score the model:

* :func:`commands`, :func:`command_split` — a SCAN-like command language (``jump twice and walk left`` →
  ``JUMP JUMP LTURN WALK``) with a random split and an *add-a-primitive* split (systematic generalisation);
* :func:`relation_corpus` — pairs stated one way only (``the partner of kalo is miru .``) or both ways
  (the reversal curse);
* :func:`negation_corpus` — the world's sentences with a chosen share of negated ones
  (``a robin is not a fish .``);
* :func:`fact_corpus` — people and the city each lives in, each fact stated ``f`` times, and people whose
  city is never stated (the long tail, hallucination);
* :func:`canary_corpus` — secret codes inserted ``r`` times (memorisation, exposure);
* :func:`benchmark_corpus` — a question-answering benchmark, part of which leaks into the training text
  (contamination).

Example::

    >>> data = relation_corpus(n_pairs=4, repeats=2, seed=0)
    >>> data["texts"][0], data["one_way"][0]
"""

from __future__ import annotations

import itertools
import random
import re

from ..world import TAXONOMY, World, article, corpus

__all__ = [
    "CITIES",
    "person_names",
    "commands",
    "command_split",
    "relation_corpus",
    "negation_corpus",
    "fact_corpus",
    "canary_corpus",
    "benchmark_corpus",
]


def _check_int(name, value, lo, hi=None):
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an int {rng}, got {value!r}")


def _check_share(name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


# ---------------------------------------------------------------------------------------------
# People and places
# ---------------------------------------------------------------------------------------------

CITIES = ["berlin", "cairo", "dakar", "lima", "oslo", "paris", "quito", "rome", "seoul", "tokyo"]
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_FINAL_VOWELS = "aiou"  # no final e: fewer English words (bike, fire, ...)
_ENGLISH = {
    "dodo",
    "kilo",
    "kiwi",
    "lava",
    "mama",
    "menu",
    "papa",
    "pita",
    "polo",
    "puma",
    "sofa",
    "soda",
    "solo",
    "tofu",
    "tutu",
    "vodka",
    "zulu",
    "gala",
    "koala",
    "data",
    "diva",
    "toga",
    "tuba",
    "lulu",
    "nana",
    "mini",
    "taxi",
    "judo",
    "logo",
    "memo",
    "bingo",
    "pizza",
    "gaga",
    "visa",
    "zero",
    "hero",
    "halo",
    "limo",
    "mafia",
    "mono",
    "pesto",
    "polka",
    "rodeo",
    "silo",
    "sumo",
    "tempo",
    "vino",
    "yoga",
    "lasso",
}
_AVOID = (
    "nig",
    "fag",
    "tit",
    "put",
    "rap",
    "dik",
    "pis",
    "kak",
    "pup",
    "poo",
)  # names that read as slurs or worse


def _world_words() -> set[str]:
    """Every word the world's lexicon can write (so a made-up name never collides with one)."""
    from .. import world as w

    text = [
        str(v)
        for v in (
            w.TAXONOMY,
            w.PROPERTIES,
            w.ADJECTIVES,
            w.PEOPLE,
            w.SENSES,
            w.NOUN_VERB,
            w.POSITIVE,
            w.NEGATIVE,
            w.TOPICS,
            w.LIKE_VERBS,
            w.ANTONYMS,
            w._POS_OF,
            w.INSTRUCTION_TEMPLATES,
        )
    ]
    return set(re.findall(r"[a-z]+", " ".join(text))) | set(CITIES)


def person_names(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct made-up names (``kalo``, ``miru``, ...): two consonant-vowel syllables, none of them a word
    of the world. The same seed gives the same names, in the same order, and ``person_names(k)`` is the start of
    ``person_names(n)`` for ``k < n``.

    Example: ``person_names(3, seed=0)``
    """
    _check_int("n", n, 0, 2000)
    _check_int("seed", seed, 0)
    taken = _world_words() | _ENGLISH
    every = [
        a + b + c + d
        for a, b, c, d in itertools.product(_CONSONANTS, _VOWELS, _CONSONANTS, _FINAL_VOWELS)
        if a + b + c + d not in taken and not (a + b + c).startswith(_AVOID)
    ]
    random.Random(seed).shuffle(every)  # one order per seed: a shorter list is a prefix of a longer one
    return every[:n]


# ---------------------------------------------------------------------------------------------
# A SCAN-like command language (systematic generalisation)
# ---------------------------------------------------------------------------------------------

PRIMITIVES = {"walk": "WALK", "run": "RUN", "look": "LOOK", "jump": "JUMP"}
DIRECTIONS = {
    "": [],
    "left": ["LTURN"],
    "right": ["RTURN"],
    "opposite left": ["LTURN", "LTURN"],
    "opposite right": ["RTURN", "RTURN"],
}
REPEATS = {"": 1, "twice": 2, "thrice": 3}
CONJUNCTIONS = ("and", "after")


def _phrases(directions, repeats) -> list[tuple[str, list[str]]]:
    out = []
    for verb in sorted(PRIMITIVES) + ["turn"]:
        for d in directions:
            if verb == "turn" and not d:
                continue  # "turn" needs a direction
            for r in repeats:
                action = DIRECTIONS[d] + ([PRIMITIVES[verb]] if verb != "turn" else [])
                out.append((" ".join(w for w in (verb, d, r) if w), action * REPEATS[r]))
    return out


def commands(directions=tuple(DIRECTIONS), repeats=tuple(REPEATS), conjunctions=CONJUNCTIONS) -> list[dict]:
    """Every command of a SCAN-like language with its action sequence: ``{"command", "actions"}`` (both str).

    A phrase is a verb (``walk``, ``run``, ``look``, ``jump``, or ``turn`` with a direction), a direction
    (``left``: turn left first; ``opposite left``: turn left twice first) and a repetition (``twice``,
    ``thrice``). A command is a phrase or two phrases joined by ``and`` (in order) or ``after`` (the second
    first). Example: ``jump twice after walk left`` → ``LTURN WALK JUMP JUMP``.

    Example: ``len(commands())`` → 10440
    """
    bad = (
        [d for d in directions if d not in DIRECTIONS]
        + [r for r in repeats if r not in REPEATS]
        + [c for c in conjunctions if c not in CONJUNCTIONS]
    )
    if bad:
        raise ValueError(
            f"unknown words {bad}; directions come from {list(DIRECTIONS)}, repeats from "
            f"{list(REPEATS)}, conjunctions from {list(CONJUNCTIONS)}"
        )
    phrases = _phrases(directions, repeats)
    if not phrases:
        raise ValueError("no phrase can be built: give at least one direction and one repeat")
    out = [(c, a) for c, a in phrases]
    for conj in conjunctions:
        for (c1, a1), (c2, a2) in itertools.product(phrases, phrases):
            out.append((f"{c1} {conj} {c2}", a1 + a2 if conj == "and" else a2 + a1))
    return [{"command": c, "actions": " ".join(a)} for c, a in out]


def command_split(
    kind: str = "random", primitive: str = "jump", train_share: float = 0.8, seed: int = 0, **language
) -> dict:
    """Train and test commands: ``{"train": [rows], "test": [rows]}``, rows as :func:`commands` gives them.

    kind="random": a random ``train_share`` of all commands is train, the rest test.
    kind="add_primitive": ``primitive`` appears in train only alone (``jump`` → ``JUMP``); every other command
    that uses it is test, and every command without it is train (Lake and Baroni's "add jump" split).
    ``language``: the arguments of :func:`commands`.

    Example: ``split = command_split("add_primitive", seed=0); split["train"][0]``
    """
    if kind not in ("random", "add_primitive"):
        raise ValueError(f"kind must be 'random' or 'add_primitive', got {kind!r}")
    if primitive not in PRIMITIVES:
        raise ValueError(f"primitive must be one of {sorted(PRIMITIVES)}, got {primitive!r}")
    _check_share("train_share", train_share)
    _check_int("seed", seed, 0)
    rows = commands(**language)
    random.Random(seed).shuffle(rows)
    if kind == "random":
        k = int(round(train_share * len(rows)))
        return {"train": rows[:k], "test": rows[k:]}
    uses = [primitive in r["command"].split() for r in rows]
    train = [r for r, u in zip(rows, uses) if not u]
    test = [r for r, u in zip(rows, uses) if u and r["command"] != primitive]
    return {"train": train + [{"command": primitive, "actions": PRIMITIVES[primitive]}], "test": test}


# ---------------------------------------------------------------------------------------------
# Relations stated one way or both ways (the reversal curse)
# ---------------------------------------------------------------------------------------------

RELATION = "the partner of {a} is {b} ."


def relation_corpus(n_pairs: int = 40, two_way_share: float = 0.5, repeats: int = 10, seed: int = 0) -> dict:
    """Pairs of people linked by a symmetric relation: ``{"texts", "one_way", "two_way"}``.

    The first ``(1 - two_way_share)`` of the pairs are stated only as ``the partner of a is b .`` (``one_way``,
    a list of ``(a, b)``); the others are stated both ways (``two_way``). Each statement appears ``repeats``
    times; ``texts`` is shuffled.

    Example: ``relation_corpus(40, 0.5, 10, seed=0)["one_way"][:2]``
    """
    _check_int("n_pairs", n_pairs, 1, 1000)
    _check_share("two_way_share", two_way_share)
    _check_int("repeats", repeats, 1, 10_000)
    _check_int("seed", seed, 0)
    names = person_names(2 * n_pairs, seed)
    pairs = [(names[2 * i], names[2 * i + 1]) for i in range(n_pairs)]
    n_two = int(round(two_way_share * n_pairs))
    one, two = pairs[: n_pairs - n_two], pairs[n_pairs - n_two :]
    texts = [RELATION.format(a=a, b=b) for a, b in one for _ in range(repeats)]
    texts += [RELATION.format(a=x, b=y) for a, b in two for x, y in ((a, b), (b, a)) for _ in range(repeats)]
    random.Random(seed).shuffle(texts)
    return {"texts": texts, "one_way": one, "two_way": two}


# ---------------------------------------------------------------------------------------------
# Negation
# ---------------------------------------------------------------------------------------------

NEGATION_KINDS = {"isa": 3, "property": 2, "generic": 1, "review": 2}


def negation_corpus(n: int = 4000, share: float = 0.2, seed: int = 0) -> dict:
    """The world's sentences (taxonomy, properties, reviews) with a ``share`` of negated taxonomy sentences.

    Returns ``{"texts", "negated_entities", "test_entities"}``. Negated sentences (``a robin is not a fish .``,
    always true) are about ``negated_entities`` only, half of the world's animals and trees; the other half,
    ``test_entities``, are never negated, so a model is tested on negations of entities it never saw negated.
    ``share`` is the fraction of ``texts`` that are negated (``texts`` has about ``n / (1 - share)`` sentences).
    Reviews already use ``not`` (``the film was not bad``), so the word is known even at ``share=0``.

    Example: ``negation_corpus(4000, share=0.01, seed=0)["texts"][:3]``
    """
    _check_int("n", n, 1, 1_000_000)
    _check_share("share", share)
    if share >= 1:
        raise ValueError("share must be below 1: some sentences must not be negated")
    _check_int("seed", seed, 0)
    world = World(seed)
    rng = random.Random(seed + 1)
    texts = list(corpus(n, seed=seed, kinds=NEGATION_KINDS, split=(1.0, 0.0, 0.0))["train"]["text"])
    entities = list(world.entities)
    rng.shuffle(entities)
    negated, test = sorted(entities[: len(entities) // 2]), sorted(entities[len(entities) // 2 :])
    k = int(round(share * len(texts) / (1 - share)))
    for _ in range(k):
        x = rng.choice(negated)
        c = rng.choice([c for c in sorted(TAXONOMY) if c != world.category_of(x)])
        texts.append(f"{article(x)} {x} is not {article(c)} {c} .")
    rng.shuffle(texts)
    return {"texts": texts, "negated_entities": negated, "test_entities": test}


# ---------------------------------------------------------------------------------------------
# How often a fact was seen (the long tail) and facts never stated
# ---------------------------------------------------------------------------------------------

LIVES_IN = "{x} lives in {c} ."
LIKES = "{x} likes the {a} ."


def fact_corpus(
    frequencies=(1, 2, 4, 8, 16),
    per_frequency: int = 10,
    n_unstated: int = 10,
    mentions: int = 4,
    n_filler: int = 2000,
    seed: int = 0,
) -> dict:
    """People, the city each lives in, and how often the corpus says so.

    For every ``f`` in ``frequencies``, ``per_frequency`` people have ``x lives in c .`` stated ``f`` times.
    ``n_unstated`` more people never have their city stated. Every person is also mentioned ``mentions`` times
    in another kind of sentence (``x likes the owl .``), so an unstated person is a known name with an unknown
    city. ``n_filler`` sentences of the world's general corpus are mixed in.

    Returns ``{"texts", "facts": [{"person", "city", "frequency"}], "unstated": [{"person", "city"}]}``; an
    unstated person's ``city`` is the truth the corpus never tells.

    Example: ``fact_corpus(seed=0)["facts"][0]``  → ``{"person": ..., "city": ..., "frequency": 1}``
    """
    frequencies = list(frequencies)
    if not frequencies:
        raise ValueError("frequencies is empty: give at least one count, e.g. (1, 2, 4, 8, 16)")
    for f in frequencies:
        _check_int("each frequency", f, 1, 10_000)
    _check_int("per_frequency", per_frequency, 1, 1000)
    _check_int("n_unstated", n_unstated, 0, 1000)
    _check_int("mentions", mentions, 0, 1000)
    _check_int("n_filler", n_filler, 0, 1_000_000)
    _check_int("seed", seed, 0)
    rng = random.Random(seed + 2)
    people = person_names(len(frequencies) * per_frequency + n_unstated, seed)
    animals = sorted(e for e in World(seed).entities if World(seed).category_of(e) != "tree")
    facts = [
        {"person": p, "city": rng.choice(CITIES), "frequency": frequencies[i // per_frequency]}
        for i, p in enumerate(people[: len(frequencies) * per_frequency])
    ]
    unstated = [{"person": p, "city": rng.choice(CITIES)} for p in people[len(facts) :]]
    texts = [LIVES_IN.format(x=f["person"], c=f["city"]) for f in facts for _ in range(f["frequency"])]
    texts += [LIKES.format(x=p, a=rng.choice(animals)) for p in people for _ in range(mentions)]
    if n_filler:
        texts += list(corpus(n_filler, seed=seed, split=(1.0, 0.0, 0.0))["train"]["text"])
    rng.shuffle(texts)
    return {"texts": texts, "facts": facts, "unstated": unstated}


# ---------------------------------------------------------------------------------------------
# Canaries (memorisation)
# ---------------------------------------------------------------------------------------------

CANARY = "the code of {x} is {secret} ."


def canary_corpus(
    repeats=(1, 2, 4, 8, 16, 32),
    per_repeat: int = 2,
    n_unseen: int = 4,
    n_digits: int = 4,
    n_filler: int = 2000,
    seed: int = 0,
) -> dict:
    """Secret codes hidden in the world's text, as in Carlini et al. (2019).

    A canary is ``the code of <name> is <d d d d> .`` with random digits (one word each). For every ``r`` in
    ``repeats``, ``per_repeat`` canaries are inserted ``r`` times into ``n_filler`` sentences of the general
    corpus; ``n_unseen`` more are drawn the same way and never inserted (their exposure is the baseline).

    Returns ``{"texts", "canaries": [{"prefix", "secret", "repeats"}]}`` (``repeats`` 0 for the unseen ones);
    ``prefix`` is ``the code of <name> is``.

    Example: ``canary_corpus(seed=0)["canaries"][0]``  → ``{"prefix": "the code of ... is", "secret": "4 0 7 1", ...}``
    """
    repeats = list(repeats)
    for r in repeats:
        _check_int("each repeat count", r, 1, 100_000)
    _check_int("per_repeat", per_repeat, 1, 1000)
    _check_int("n_unseen", n_unseen, 0, 1000)
    _check_int("n_digits", n_digits, 1, 8)
    _check_int("n_filler", n_filler, 0, 1_000_000)
    _check_int("seed", seed, 0)
    if not repeats and not n_unseen:
        raise ValueError("no canaries: give some repeat counts or n_unseen > 0")
    rng = random.Random(seed + 3)
    counts = [r for r in repeats for _ in range(per_repeat)] + [0] * n_unseen
    if len(counts) > 500:
        raise ValueError(f"{len(counts)} canaries are too many; at most 500")
    names = person_names(2000, seed)[
        1500 : 1500 + len(counts)
    ]  # names no other corpus of the chapter uses first
    canaries = [
        {
            "prefix": f"the code of {x} is",
            "secret": " ".join(str(rng.randrange(10)) for _ in range(n_digits)),
            "repeats": r,
        }
        for x, r in zip(names, counts)
    ]
    texts = list(corpus(n_filler, seed=seed, split=(1.0, 0.0, 0.0))["train"]["text"]) if n_filler else []
    texts += [f"{c['prefix']} {c['secret']} ." for c in canaries for _ in range(c["repeats"])]
    rng.shuffle(texts)
    return {"texts": texts, "canaries": canaries}


# ---------------------------------------------------------------------------------------------
# A benchmark that leaks into the training text (contamination)
# ---------------------------------------------------------------------------------------------

QUESTION = "question : where does {x} live ? answer : {c}"


def benchmark_corpus(
    n_items: int = 120,
    leak_share: float = 0.5,
    leak_repeats=(1,),
    n_practice: int = 200,
    n_filler: int = 2000,
    seed: int = 0,
) -> dict:
    """A question-answering benchmark (``question : where does kalo live ? answer : rome``) and the training
    text it partly leaks into.

    Every benchmark person's city is stated once in the training text (``kalo lives in rome .``), as are the
    cities of ``n_practice`` other people, whose questions *with answers* are in the training text too (so the
    question format is familiar). A random ``leak_share`` of the benchmark items is copied verbatim into the
    training text, split evenly among the counts in ``leak_repeats`` (an int or a list: ``(1, 4)`` leaks half of
    them once and half four times). Every benchmark person is mentioned equally often in all (the item, or
    ``kalo likes the owl .`` instead), so leaked and clean names are equally familiar. ``n_filler`` sentences of
    the general corpus are mixed in.

    Returns ``{"texts", "items": [{"question", "answer", "text", "leaked", "repeats"}]}``; ``question`` ends with
    ``answer :``, ``text`` is the whole item, ``repeats`` how often it leaked (0 for a clean item).

    Example: ``data = benchmark_corpus(seed=0); sum(i["leaked"] for i in data["items"])``  → 60
    """
    _check_int("n_items", n_items, 1, 100_000)
    _check_share("leak_share", leak_share)
    leak_repeats = [leak_repeats] if isinstance(leak_repeats, int) else list(leak_repeats)
    if not leak_repeats:
        raise ValueError("leak_repeats is empty: give how often a leaked item is copied, e.g. 1 or (1, 4)")
    for r in leak_repeats:
        _check_int("leak_repeats", r, 1, 10_000)
    _check_int("n_practice", n_practice, 0, 100_000)
    _check_int("n_filler", n_filler, 0, 1_000_000)
    _check_int("seed", seed, 0)
    rng = random.Random(seed + 4)
    people = person_names(n_items + n_practice, seed)
    city = {p: rng.choice(CITIES) for p in people}
    leaked = rng.sample(range(n_items), int(round(leak_share * n_items)))
    repeats = {i: leak_repeats[k * len(leak_repeats) // len(leaked)] for k, i in enumerate(leaked)}
    items = []
    for i, p in enumerate(people[:n_items]):
        text = QUESTION.format(x=p, c=city[p])
        items.append(
            {
                "question": text.rsplit(" ", 1)[0],
                "answer": city[p],
                "text": text,
                "leaked": i in repeats,
                "repeats": repeats.get(i, 0),
            }
        )
    texts = [LIVES_IN.format(x=p, c=city[p]) for p in people]
    texts += [QUESTION.format(x=p, c=city[p]) for p in people[n_items:]]
    texts += [it["text"] for it in items for _ in range(it["repeats"])]
    # Each benchmark person is mentioned max(leak_repeats) times besides the fact: by the leaked item, or by another
    # sentence. Leaked and clean names are then equally familiar, and only the item itself tells them apart.
    animals = sorted(e for e in World(seed).entities if World(seed).category_of(e) != "tree")
    most = max(leak_repeats)
    texts += [
        LIKES.format(x=p, a=rng.choice(animals))
        for p, it in zip(people, items)
        for _ in range(most - it["repeats"])
    ]
    if n_filler:
        texts += list(corpus(n_filler, seed=seed, split=(1.0, 0.0, 0.0))["train"]["text"])
    rng.shuffle(texts)
    return {"texts": texts, "items": items}
