"""A seeded, English-like world with ground truth on every token.

Every corpus in the book comes from here, so nothing is downloaded and every experiment can be
checked against the truth:

* a **taxonomy** with properties (``a robin is a bird``, ``birds can fly``), an exception
  (penguins are birds that cannot fly) and *held-out* facts that no training text states;
* **ambiguous words** (``bank``, ``bat``, ``crane``, ``plant``) whose sense is decided by a cue word at
  a distance and on a side you choose;
* **noun/verb words** (``watch``, ``duck``, ``bark``, ...) whose part of speech is decided by the word
  next to them;
* **reviews** with a sentiment label, **documents** on one topic, and **instructions** with answers.

Every sentence is a list of words with a universal part-of-speech tag and a sense label
(``""`` where the word is not ambiguous, else ``"bank/river"``). The same seed gives the same
corpus on every machine (only ``random.Random`` and sorted containers are used).

Example::

    >>> world = World(seed=0)
    >>> s = world.sense_sentence("bank", cue_side="left", cue_distance=5)
    >>> s["words"], s["pos"], s["sense"]
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

TAGS = ("DET", "NOUN", "VERB", "ADJ", "ADP", "AUX", "PRON", "ADV", "PART", "CONJ", "NUM", "PUNCT")

# ---------------------------------------------------------------------------------------------
# The lexicon
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Property:
    """A property such as "can fly": its singular, plural and question forms (with POS tags)."""

    name: str
    singular: tuple[tuple[str, str], ...]  # "can fly"   -> (("can","AUX"),("fly","VERB"))
    plural: tuple[tuple[str, str], ...]  # "can fly"   (birds can fly)
    question: tuple[tuple[str, str], ...]  # "can {x} fly" with ("{x}", "NOUN") as the slot


def _p(name, sing, plur, quest):
    split = lambda s: tuple((w.split("/")[0], w.split("/")[1]) for w in s.split())  # noqa: E731
    return Property(name, split(sing), split(plur), split(quest))


PROPERTIES = {
    p.name: p
    for p in [
        _p("can fly", "can/AUX fly/VERB", "can/AUX fly/VERB", "can/AUX {x}/NOUN fly/VERB"),
        _p("can swim", "can/AUX swim/VERB", "can/AUX swim/VERB", "can/AUX {x}/NOUN swim/VERB"),
        _p("can run", "can/AUX run/VERB", "can/AUX run/VERB", "can/AUX {x}/NOUN run/VERB"),
        _p(
            "has feathers",
            "has/VERB feathers/NOUN",
            "have/VERB feathers/NOUN",
            "does/AUX {x}/NOUN have/VERB feathers/NOUN",
        ),
        _p("has fins", "has/VERB fins/NOUN", "have/VERB fins/NOUN", "does/AUX {x}/NOUN have/VERB fins/NOUN"),
        _p("has fur", "has/VERB fur/NOUN", "have/VERB fur/NOUN", "does/AUX {x}/NOUN have/VERB fur/NOUN"),
        _p(
            "has scales",
            "has/VERB scales/NOUN",
            "have/VERB scales/NOUN",
            "does/AUX {x}/NOUN have/VERB scales/NOUN",
        ),
        _p(
            "has leaves",
            "has/VERB leaves/NOUN",
            "have/VERB leaves/NOUN",
            "does/AUX {x}/NOUN have/VERB leaves/NOUN",
        ),
        _p(
            "has six legs",
            "has/VERB six/NUM legs/NOUN",
            "have/VERB six/NUM legs/NOUN",
            "does/AUX {x}/NOUN have/VERB six/NUM legs/NOUN",
        ),
        _p("lays eggs", "lays/VERB eggs/NOUN", "lay/VERB eggs/NOUN", "does/AUX {x}/NOUN lay/VERB eggs/NOUN"),
        _p(
            "lives in water",
            "lives/VERB in/ADP water/NOUN",
            "live/VERB in/ADP water/NOUN",
            "does/AUX {x}/NOUN live/VERB in/ADP water/NOUN",
        ),
        _p(
            "drinks milk",
            "drinks/VERB milk/NOUN",
            "drink/VERB milk/NOUN",
            "does/AUX {x}/NOUN drink/VERB milk/NOUN",
        ),
        _p(
            "grows roots",
            "grows/VERB roots/NOUN",
            "grow/VERB roots/NOUN",
            "does/AUX {x}/NOUN grow/VERB roots/NOUN",
        ),
        _p("is small", "is/AUX small/ADJ", "are/AUX small/ADJ", "is/AUX {x}/NOUN small/ADJ"),
    ]
}

# category -> (plural, members, properties, movement verb, places it moves to)
TAXONOMY = {
    "bird": (
        "birds",
        ["robin", "sparrow", "eagle", "owl", "crow", "parrot", "duck", "penguin"],
        ["can fly", "has feathers", "lays eggs"],
        "flew",
        ["over the lake", "over the hill", "into the tree", "across the field"],
    ),
    "fish": (
        "fish",
        ["salmon", "trout", "shark", "cod", "tuna", "carp"],
        ["can swim", "has fins", "lives in water"],
        "swam",
        ["in the lake", "under the boat", "across the pond"],
    ),
    "mammal": (
        "mammals",
        ["dog", "cat", "horse", "cow", "lion", "rabbit", "goat"],
        ["has fur", "can run", "drinks milk"],
        "ran",
        ["across the field", "into the barn", "up the hill"],
    ),
    "reptile": (
        "reptiles",
        ["snake", "lizard", "turtle", "crocodile", "gecko"],
        ["has scales", "lays eggs"],
        "crawled",
        ["across the rock", "under the log", "into the grass"],
    ),
    "insect": (
        "insects",
        ["ant", "bee", "beetle", "moth", "wasp"],
        ["has six legs", "is small"],
        "crawled",
        ["across the leaf", "under the log", "into the grass"],
    ),
    "tree": (
        "trees",
        ["oak", "pine", "birch", "maple", "willow", "elm"],
        ["has leaves", "grows roots"],
        None,
        ["on the hill", "by the road", "in the field"],
    ),
}
# Exceptions override what the category implies (the penguin is a bird that cannot fly but can swim).
EXCEPTIONS = {("penguin", "can fly"): False, ("penguin", "can swim"): True, ("duck", "can swim"): True}

ADJECTIVES = ["old", "big", "small", "quiet", "dark", "long", "young", "brown", "white", "tall"]
PEOPLE = ["children", "boys", "girls", "men", "women", "farmers", "people"]

# ambiguous word -> sense -> cue nouns. The cue alone decides the sense.
SENSES = {
    "bank": {
        "river": ["river", "reeds", "mud", "fisher", "shore"],
        "money": ["money", "clerk", "loan", "cash", "coins"],
    },
    "bat": {
        "animal": ["cave", "wings", "night", "moth", "roost"],
        "club": ["ball", "player", "game", "swing", "team"],
    },
    "crane": {
        "bird": ["nest", "marsh", "feathers", "pond", "chick"],
        "machine": ["steel", "builder", "cargo", "tower", "dock"],
    },
    "plant": {
        "flora": ["soil", "seeds", "garden", "leaf", "pot"],
        "factory": ["workers", "engines", "machines", "shift", "smoke"],
    },
}

# noun/verb words: how each is used as a noun and as a verb. POS is decided by the neighbouring word.
NOUN_VERB = {
    "watch": {"noun": ["was", "old"], "verb": ["the", "birds"]},
    "duck": {"noun": ["was", "small"], "verb": ["under", "the", "branch"]},
    "bark": {"noun": ["was", "rough"], "verb": ["at", "night"]},
    "park": {"noun": ["was", "quiet"], "verb": ["near", "the", "shop"]},
    "fish": {"noun": ["was", "big"], "verb": ["in", "the", "lake"]},
    "ring": {"noun": ["was", "small"], "verb": ["the", "bell"]},
}

# sentiment lexicon (word -> polarity) and review topics
POSITIVE = ["good", "great", "lovely", "fine", "wonderful", "fun"]
NEGATIVE = ["bad", "awful", "boring", "poor", "dull", "terrible"]
TOPICS = {
    "film": ["plot", "acting", "music", "ending"],
    "book": ["story", "ending", "writing", "cover"],
    "meal": ["food", "service", "soup", "bread"],
    "show": ["music", "acting", "stage", "ending"],
}
LIKE_VERBS = {1: ["loved", "liked", "enjoyed"], -1: ["hated", "disliked"]}
ANTONYMS = {
    "big": "small",
    "small": "big",
    "old": "young",
    "young": "old",
    "good": "bad",
    "bad": "good",
    "dark": "light",
    "light": "dark",
    "long": "short",
    "short": "long",
    "tall": "short",
    "quiet": "loud",
    "loud": "quiet",
}

_POS_OF = {
    "a": "DET",
    "an": "DET",
    "the": "DET",
    "was": "AUX",
    "is": "AUX",
    "are": "AUX",
    "were": "AUX",
    "near": "ADP",
    "in": "ADP",
    "over": "ADP",
    "into": "ADP",
    "across": "ADP",
    "under": "ADP",
    "up": "ADP",
    "on": "ADP",
    "by": "ADP",
    "at": "ADP",
    "of": "ADP",
    ".": "PUNCT",
    "?": "PUNCT",
    ",": "PUNCT",
    ":": "PUNCT",
    "i": "PRON",
    "they": "PRON",
    "it": "PRON",
    "not": "PART",
    "very": "ADV",
    "really": "ADV",
    "and": "CONJ",
    "but": "CONJ",
    "saw": "VERB",
    "chased": "VERB",
    "watched": "VERB",
    "ate": "VERB",
    "stood": "VERB",
    "light": "ADJ",
    "short": "ADJ",
    "loud": "ADJ",
    "six": "NUM",
}


def pos_of(word: str) -> str:
    """The part-of-speech tag a word has when it is not ambiguous (nouns by default)."""
    if word in _POS_OF:
        return _POS_OF[word]
    if word in ADJECTIVES or word in POSITIVE or word in NEGATIVE:
        return "ADJ"
    if word in LIKE_VERBS[1] or word in LIKE_VERBS[-1] or word in {"flew", "swam", "ran", "crawled"}:
        return "VERB"
    return "NOUN"


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


class Sentence(dict):
    """A dict with ``words``, ``pos``, ``sense`` (lists of equal length) and ``text``; extra keys allowed."""

    @classmethod
    def build(cls, parts, **extra):
        words, pos, sense = [], [], []
        for part in parts:
            if isinstance(part, str):
                part = (part, pos_of(part), "")
            elif len(part) == 2:
                part = (part[0], part[1], "")
            w, t, s = part
            words.append(w)
            pos.append(t)
            sense.append(s)
        return cls(words=words, pos=pos, sense=sense, text=" ".join(words), **extra)


def _check_int(name, value, lo, hi=None):
    if not isinstance(value, int) or isinstance(value, bool) or value < lo or (hi is not None and value > hi):
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
        raise ValueError(f"{name} must be an int {rng}, got {value!r}")


# ---------------------------------------------------------------------------------------------
# The world
# ---------------------------------------------------------------------------------------------


@dataclass
class World:
    """The seeded world. ``seed`` decides which facts are held out and every random choice.

    Example: ``world = World(seed=0); world.is_true("penguin", "can fly")  # False``
    """

    seed: int = 0
    held_out_per_category: int = 1
    rng: random.Random = field(init=False, repr=False)

    def __post_init__(self):
        _check_int("seed", self.seed, 0)
        _check_int("held_out_per_category", self.held_out_per_category, 0, 3)
        self.rng = random.Random(self.seed)
        # Held-out facts: for a few members of each category, no training text states their properties;
        # only the category membership and the category's generic properties are seen.
        picker = random.Random(self.seed + 7919)
        held = []
        for cat in sorted(TAXONOMY):
            members = [m for m in TAXONOMY[cat][1] if not any(m == e[0] for e in EXCEPTIONS)]
            for m in picker.sample(members, self.held_out_per_category):
                held += [(m, p) for p in TAXONOMY[cat][2]]
        self.held_out_facts: list[tuple[str, str]] = sorted(held)

    # -- ground truth ---------------------------------------------------------------------------
    @property
    def categories(self) -> list[str]:
        return sorted(TAXONOMY)

    def members(self, category: str) -> list[str]:
        if category not in TAXONOMY:
            raise ValueError(f"unknown category {category!r}; the world has {self.categories}")
        return list(TAXONOMY[category][1])

    @property
    def entities(self) -> list[str]:
        return [m for c in self.categories for m in TAXONOMY[c][1]]

    def category_of(self, entity: str) -> str:
        for c in self.categories:
            if entity in TAXONOMY[c][1]:
                return c
        raise ValueError(f"unknown entity {entity!r}; the world has {self.entities}")

    def is_true(self, entity: str, prop: str) -> bool:
        """Whether ``entity`` has property ``prop`` in this world (exceptions included)."""
        if prop not in PROPERTIES:
            raise ValueError(f"unknown property {prop!r}; the world has {sorted(PROPERTIES)}")
        if (entity, prop) in EXCEPTIONS:
            return EXCEPTIONS[(entity, prop)]
        return prop in TAXONOMY[self.category_of(entity)][2]

    def true_properties(self, entity: str) -> list[str]:
        return [p for p in sorted(PROPERTIES) if self.is_true(entity, p)]

    def is_held_out(self, entity: str, prop: str) -> bool:
        return (entity, prop) in self.held_out_facts

    # -- sentences ------------------------------------------------------------------------------
    def isa_sentence(self, entity: str | None = None) -> Sentence:
        """``a robin is a bird .``"""
        x = entity or self.rng.choice(self.entities)
        c = self.category_of(x)
        return Sentence.build([article(x), x, "is", article(c), c, "."], kind="isa", subject=x)

    def property_sentence(
        self, entity: str | None = None, prop: str | None = None, generic: bool = False
    ) -> Sentence:
        """``a robin can fly .`` or, generic, ``birds can fly .``. Never states a held-out fact."""
        if generic:
            c = entity if entity in TAXONOMY else self.rng.choice(self.categories)
            p = PROPERTIES[prop or self.rng.choice(TAXONOMY[c][2])]
            return Sentence.build(
                [(TAXONOMY[c][0], "NOUN")] + list(p.plural) + ["."],
                kind="generic",
                subject=c,
                property=p.name,
            )
        for _ in range(100):
            x = entity or self.rng.choice(self.entities)
            choices = [q for q in self.true_properties(x) if not self.is_held_out(x, q)]
            if prop is not None:
                choices = [prop] if prop in choices else []
            if choices:
                break
            if entity is not None:
                raise ValueError(f"{entity!r} has no statable property {prop!r} (false or held out)")
        p = PROPERTIES[self.rng.choice(choices)]
        det = self.rng.choice([article(x), "the"])
        return Sentence.build(
            [det, x] + list(p.singular) + ["."], kind="property", subject=x, property=p.name
        )

    def motion_sentence(self, entity: str | None = None) -> Sentence:
        """``the small robin flew over the lake .``"""
        x = entity or self.rng.choice([e for e in self.entities if TAXONOMY[self.category_of(e)][3]])
        _, _, _, verb, places = TAXONOMY[self.category_of(x)]
        if verb is None:
            verb = "stood"
        adj = [self.rng.choice(ADJECTIVES)] if self.rng.random() < 0.5 else []
        return Sentence.build(
            ["the"] + adj + [x, (verb, "VERB")] + self.rng.choice(places).split() + ["."],
            kind="motion",
            subject=x,
        )

    def transitive_sentence(self, entity: str | None = None) -> Sentence:
        """``the lion saw the cow .``"""
        animals = [e for e in self.entities if self.category_of(e) != "tree"]
        x = entity or self.rng.choice(animals)
        y = self.rng.choice([a for a in animals if a != x])
        return Sentence.build(
            ["the", x, self.rng.choice(["saw", "chased", "watched"]), "the", y, "."],
            kind="transitive",
            subject=x,
        )

    def sense_sentence(
        self,
        word: str | None = None,
        sense: str | None = None,
        cue_side: str = "random",
        cue_distance: int | tuple[int, int] = (1, 8),
    ) -> Sentence:
        """A sentence where one cue noun decides the sense of an ambiguous word.

        ``cue_side``: "left", "right", "both" or "random" (left or right). ``cue_distance``: how many
        positions separate the cue from the word (an int or an inclusive range). Templates::

            left,  d = 1:   the river bank was old .
            left,  d >= 4:  the river was near the (d-4 adjectives) bank .
            right, d >= 4:  the bank was near the (d-4 adjectives) river .

        Extra keys: ``target_index``, ``cue_index`` (list), ``target``, ``label`` (the sense).
        """
        if word is None:
            word = self.rng.choice(sorted(SENSES))
        if word not in SENSES:
            raise ValueError(f"word must be one of {sorted(SENSES)}, got {word!r}")
        if sense is None:
            sense = self.rng.choice(sorted(SENSES[word]))
        if sense not in SENSES[word]:
            raise ValueError(f"{word!r} has senses {sorted(SENSES[word])}, got {sense!r}")
        if cue_side not in ("left", "right", "both", "random"):
            raise ValueError(f"cue_side must be 'left', 'right', 'both' or 'random', got {cue_side!r}")
        lo, hi = (cue_distance, cue_distance) if isinstance(cue_distance, int) else tuple(cue_distance)
        _check_int("cue_distance", lo, 1, 20)
        _check_int("cue_distance", hi, lo, 20)
        side = self.rng.choice(["left", "right"]) if cue_side == "random" else cue_side

        def pick_d(allowed):
            ds = [d for d in range(lo, hi + 1) if d in allowed]
            if not ds:
                raise ValueError(
                    f"cue_distance {cue_distance!r} has no distance the {side!r} template can make; "
                    f"use 1 or 4..20 on the left, 4..20 on the right"
                )
            return self.rng.choice(ds)

        tgt = (word, "NOUN", f"{word}/{sense}")
        cues = SENSES[word][sense]
        adjs = lambda k: [self.rng.choice(ADJECTIVES) for _ in range(k)]  # noqa: E731
        if side == "left":
            d = pick_d({1} | set(range(4, 21)))
            if d == 1:
                parts = ["the", self.rng.choice(cues), tgt, "was", self.rng.choice(ADJECTIVES), "."]
                cue_idx, t_idx = [1], 2
            else:
                parts = ["the", self.rng.choice(cues), "was", "near", "the"] + adjs(d - 4) + [tgt, "."]
                cue_idx, t_idx = [1], d + 1
        elif side == "right":
            d = pick_d(set(range(4, 21)))
            parts = ["the", tgt, "was", "near", "the"] + adjs(d - 4) + [self.rng.choice(cues), "."]
            cue_idx, t_idx = [d + 1], 1
        else:  # both: the cue left of the word and another one right of it
            d = pick_d(set(range(4, 21)))
            parts = (
                ["the", self.rng.choice(cues), "was", "near", "the"]
                + adjs(d - 4)
                + [tgt, "by", "the", self.rng.choice(cues), "."]
            )
            cue_idx, t_idx = [1, d + 4], d + 1
        return Sentence.build(
            parts,
            kind="sense",
            target=word,
            label=sense,
            target_index=t_idx,
            cue_index=cue_idx,
            cue_side=side,
        )

    def noun_verb_sentence(self, word: str | None = None, pos: str | None = None) -> Sentence:
        """``the watch was old .`` (noun) or ``the children watch the birds .`` (verb)."""
        word = word or self.rng.choice(sorted(NOUN_VERB))
        if word not in NOUN_VERB:
            raise ValueError(f"word must be one of {sorted(NOUN_VERB)}, got {word!r}")
        pos = pos or self.rng.choice(["noun", "verb"])
        if pos not in ("noun", "verb"):
            raise ValueError(f"pos must be 'noun' or 'verb', got {pos!r}")
        rest = NOUN_VERB[word][pos]
        if pos == "noun":
            parts = ["the", (word, "NOUN")] + rest + ["."]
            idx = 1
        else:
            subj = ["they"] if self.rng.random() < 0.3 else ["the", (self.rng.choice(PEOPLE), "NOUN")]
            parts = subj + [(word, "VERB")] + rest + ["."]
            idx = len(subj)
        return Sentence.build(parts, kind="noun_verb", target=word, label=pos.upper(), target_index=idx)

    def review(self, label: int | None = None) -> Sentence:
        """A short review and its sentiment (1 positive, 0 negative).

        Sentences may contradict the overall label, and negation flips an adjective (``not bad``), so a
        bag of words is not enough to get every review right.
        """
        if label is None:
            label = self.rng.randint(0, 1)
        if label not in (0, 1):
            raise ValueError(f"label must be 0 or 1, got {label!r}")
        topic = self.rng.choice(sorted(TOPICS))
        n = self.rng.choice([1, 2, 3])
        pols = [1 if label else -1] * n
        if n == 3 and self.rng.random() < 0.5:
            pols[self.rng.randrange(3)] *= -1  # one dissenting sentence, the majority still decides
        parts: list = []
        for i, pol in enumerate(pols):
            if i:
                parts.append("and" if pol == pols[i - 1] else "but")
            kind = self.rng.random()
            if kind < 0.4:
                negate = self.rng.random() < 0.3
                adj = self.rng.choice(NEGATIVE if (pol > 0) == negate else POSITIVE)
                adv = [self.rng.choice(["very", "really"])] if not negate and self.rng.random() < 0.3 else []
                parts += (
                    ["the", (topic if i == 0 else self.rng.choice(TOPICS[topic]), "NOUN"), "was"]
                    + (["not"] if negate else [])
                    + adv
                    + [adj]
                )
            elif kind < 0.7:
                parts += [
                    "i",
                    (self.rng.choice(LIKE_VERBS[pol]), "VERB"),
                    "the",
                    (self.rng.choice(TOPICS[topic]), "NOUN"),
                ]
            else:
                parts += [
                    "the",
                    (self.rng.choice(TOPICS[topic]), "NOUN"),
                    "was",
                    self.rng.choice(POSITIVE if pol > 0 else NEGATIVE),
                ]
        parts.append(".")
        return Sentence.build(parts, kind="review", label=label, topic=topic)

    def sentence(self, kinds: dict[str, float] | None = None) -> Sentence:
        """One sentence of the general corpus, its kind drawn with the weights ``kinds``."""
        kinds = kinds or DEFAULT_MIX
        bad = set(kinds) - set(_MAKERS)
        if bad:
            raise ValueError(f"unknown sentence kinds {sorted(bad)}; choose from {sorted(_MAKERS)}")
        names = sorted(kinds)
        kind = self.rng.choices(names, weights=[kinds[k] for k in names])[0]
        return getattr(self, _MAKERS[kind])()

    def document(self, entity: str | None = None, n_sentences: tuple[int, int] = (3, 6)) -> dict:
        """A few sentences about one entity: ``{"topic", "sentences": [str, ...]}``."""
        x = entity or self.rng.choice(self.entities)
        n = self.rng.randint(*n_sentences)
        makers = [self.property_sentence, self.motion_sentence, self.transitive_sentence]
        if self.category_of(x) == "tree":
            makers = [self.property_sentence, self.motion_sentence]
        if all(self.is_held_out(x, p) for p in self.true_properties(x)):
            makers = [m for m in makers if m != self.property_sentence]
        sents = [self.isa_sentence(x)["text"]]
        for _ in range(20 * n):  # no sentence twice in one document
            if len(sents) == n:
                break
            s = self.rng.choice(makers)(x)["text"]
            if s not in sents:
                sents.append(s)
        return {"topic": x, "category": self.category_of(x), "sentences": sents}


DEFAULT_MIX = {
    "isa": 2,
    "property": 3,
    "generic": 1,
    "motion": 2,
    "transitive": 2,
    "sense": 3,
    "noun_verb": 2,
    "review": 2,
}
_MAKERS = {
    "isa": "isa_sentence",
    "property": "property_sentence",
    "generic": "_generic",
    "motion": "motion_sentence",
    "transitive": "transitive_sentence",
    "sense": "sense_sentence",
    "noun_verb": "noun_verb_sentence",
    "review": "review",
}
World._generic = lambda self: self.property_sentence(generic=True)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Instructions: several tasks, each stated in natural language in several phrasings
# ---------------------------------------------------------------------------------------------

INSTRUCTION_TEMPLATES = {
    "isa": [
        "is {a} {x} {ac} {c} ?",
        "question : is {a} {x} {ac} {c} ?",
        "answer yes or no : is {a} {x} {ac} {c} ?",
        "tell me if {a} {x} is {ac} {c} .",
    ],
    "property": ["{q} ?", "question : {q} ?", "answer yes or no : {q} ?", "tell me : {q} ?"],
    "category": [
        "what is {a} {x} ?",
        "question : what kind of animal or plant is {a} {x} ?",
        "name the group of {a} {x} .",
        "{a} {x} is a kind of what ?",
    ],
    "sentiment": [
        "is this review positive or negative ? {r}",
        "review : {r} sentiment ?",
        "classify the review : {r}",
        "how does the writer feel ? {r}",
    ],
    "antonym": [
        "what is the opposite of {w} ?",
        "opposite of {w} ?",
        "give the antonym of {w} .",
        "the opposite of {w} is what ?",
    ],
}


def property_question(entity: str, prop: str, mark: bool = True) -> str:
    """``prop`` asked about ``entity`` as the world's instructions ask it (``mark=False``: without the "?").

    Example: ``property_question("robin", "can fly")  # "can a robin fly ?"``
    """
    q = " ".join(w for w, _ in PROPERTIES[prop].question).replace("{x}", f"{article(entity)} {entity}")
    return f"{q} ?" if mark else q


def _instruction(world: World, task: str, phrasing: int) -> dict:
    rng = world.rng
    t = INSTRUCTION_TEMPLATES[task][phrasing]
    if task == "isa":
        x = rng.choice(world.entities)
        c = (
            world.category_of(x)
            if rng.random() < 0.5
            else rng.choice([k for k in world.categories if k != world.category_of(x)])
        )
        prompt, answer = (
            t.format(a=article(x), x=x, ac=article(c), c=c),
            "yes" if c == world.category_of(x) else "no",
        )
        fact = (x, f"isa {c}")
    elif task == "property":
        x = rng.choice(world.entities)
        p = rng.choice(sorted(PROPERTIES))
        q = property_question(x, p, mark=False)
        prompt, answer = t.format(q=q), "yes" if world.is_true(x, p) else "no"
        fact = (x, p)
    elif task == "category":
        x = rng.choice(world.entities)
        prompt, answer = t.format(a=article(x), x=x), world.category_of(x)
        fact = (x, "category")
    elif task == "sentiment":
        r = world.review()
        prompt, answer = t.format(r=r["text"]), "positive" if r["label"] else "negative"
        fact = ("review", "")
    else:
        w = rng.choice(sorted(ANTONYMS))
        prompt, answer = t.format(w=w), ANTONYMS[w]
        fact = (w, "antonym")
    return {
        "task": task,
        "phrasing": phrasing,
        "prompt": prompt,
        "answer": answer,
        "text": f"{prompt} answer : {answer}",
        "held_out_fact": world.is_held_out(*fact) if task == "property" else False,
    }


# ---------------------------------------------------------------------------------------------
# Corpora as datasets.DatasetDict
# ---------------------------------------------------------------------------------------------

SPLITS = ("train", "validation", "test")


def _check_splits(split):
    if (
        len(split) != 3
        or any((not isinstance(f, (int, float))) or f < 0 for f in split)
        or abs(sum(split) - 1) > 1e-6
    ):
        raise ValueError(
            f"split must be three non-negative fractions (train, validation, test) summing to 1, "
            f"got {split!r}"
        )


def _datasets():
    # Imported on first use: the models import the world's lexicon, and need no `datasets` for that.
    from datasets import Dataset, DatasetDict

    return Dataset, DatasetDict


def _to_dict(rows: list[dict], split=(0.8, 0.1, 0.1)):
    Dataset, DatasetDict = _datasets()
    _check_splits(split)
    n = len(rows)
    a = int(round(n * split[0]))
    b = a + int(round(n * split[1]))
    parts = {"train": rows[:a], "validation": rows[a:b], "test": rows[b:]}
    return DatasetDict(
        {k: Dataset.from_list([dict(r) for r in v]) if v else Dataset.from_dict({}) for k, v in parts.items()}
    )


def _uniform(rows: list[dict]) -> list[dict]:
    """Give every row the same keys (datasets needs one schema): missing sense keys get neutral values."""
    defaults = {
        "target": "",
        "label": "",
        "target_index": -1,
        "cue_index": [],
        "subject": "",
        "property": "",
        "cue_side": "",
        "topic": "",
    }
    out = []
    for r in rows:
        r = {**defaults, **r}
        r["label"] = str(r["label"])
        out.append({k: r[k] for k in sorted(r)})
    return out


def corpus(
    n: int = 5000,
    seed: int = 0,
    kinds: dict[str, float] | None = None,
    split=(0.8, 0.1, 0.1),
    **sense_options,
):
    """The general corpus: ``n`` sentences of every kind, with ``words``, ``pos``, ``sense``, ``text``, ``kind``.

    ``kinds`` weights the sentence kinds (default ``DEFAULT_MIX``); ``sense_options`` (``cue_side``,
    ``cue_distance``) go to the ambiguous-word sentences. No sentence states a held-out fact.
    Example: ``ds = corpus(2000, seed=0); ds["train"][0]["words"]``
    """
    _check_int("n", n, 1, 10_000_000)
    world = World(seed)
    rows = []
    for _ in range(n):
        s = world.sentence(kinds)
        if s["kind"] == "sense" and sense_options:
            s = world.sense_sentence(**sense_options)
        rows.append(s)
    return _to_dict(_uniform(rows), split)


def sense_corpus(
    n: int = 2000,
    seed: int = 0,
    words: list[str] | None = None,
    cue_side: str = "random",
    cue_distance: int | tuple[int, int] = (1, 8),
    split=(0.8, 0.1, 0.1),
):
    """Sentences with one ambiguous word each: columns as :func:`corpus` plus ``target``, ``label``
    (the sense), ``target_index``, ``cue_index``, ``cue_side``. Senses are balanced per word."""
    _check_int("n", n, 1, 10_000_000)
    words = words or sorted(SENSES)
    bad = [w for w in words if w not in SENSES]
    if bad:
        raise ValueError(f"words must be among {sorted(SENSES)}, got {bad}")
    world = World(seed)
    rows = []
    for i in range(n):
        w = words[i % len(words)]
        senses = sorted(SENSES[w])
        rows.append(
            world.sense_sentence(
                w, senses[(i // len(words)) % 2], cue_side=cue_side, cue_distance=cue_distance
            )
        )
    world.rng.shuffle(rows)
    return _to_dict(_uniform(rows), split)


def pos_corpus(n: int = 2000, seed: int = 0, split=(0.8, 0.1, 0.1)):
    """Noun/verb sentences (``watch``, ``duck``, ...): ``label`` is NOUN or VERB for ``target_index``."""
    _check_int("n", n, 1, 10_000_000)
    world = World(seed)
    words = sorted(NOUN_VERB)
    rows = [
        world.noun_verb_sentence(words[i % len(words)], ["noun", "verb"][(i // len(words)) % 2])
        for i in range(n)
    ]
    world.rng.shuffle(rows)
    return _to_dict(_uniform(rows), split)


def reviews(n: int = 2000, seed: int = 0, split=(0.8, 0.1, 0.1)):
    """Reviews with ``label`` 1 (positive) or 0 (negative), balanced."""
    _check_int("n", n, 1, 10_000_000)
    world = World(seed)
    rows = [world.review(i % 2) for i in range(n)]
    world.rng.shuffle(rows)
    for r in rows:
        r["label"] = int(r["label"])
    return _to_dict(rows, split)


def documents(n: int = 1000, seed: int = 0, n_sentences: tuple[int, int] = (3, 6), split=(0.8, 0.1, 0.1)):
    """Multi-sentence documents, each about one entity: ``topic``, ``category``, ``sentences`` (list of str)."""
    _check_int("n", n, 1, 10_000_000)
    lo, hi = n_sentences
    _check_int("n_sentences[0]", lo, 2, 50)
    _check_int("n_sentences[1]", hi, lo, 50)
    world = World(seed)
    return _to_dict([world.document(n_sentences=(lo, hi)) for _ in range(n)], split)


def facts(seed: int = 0):
    """Every (entity, property) pair with its truth: ``text`` (``a robin can fly .``), ``entity``, ``property``,
    ``category``, ``true``, ``held_out``. Train holds stated facts only (true, not held out); validation a share of
    them; test holds the held-out true facts plus false statements, for systematic generalisation."""
    Dataset, DatasetDict = _datasets()
    world = World(seed)
    stated, test = [], []
    for x in world.entities:
        for p in sorted(PROPERTIES):
            s = Sentence.build([article(x), x] + list(PROPERTIES[p].singular) + ["."])
            row = {
                "text": s["text"],
                "entity": x,
                "property": p,
                "category": world.category_of(x),
                "true": world.is_true(x, p),
                "held_out": world.is_held_out(x, p),
            }
            (stated if row["true"] and not row["held_out"] else test).append(row)
    world.rng.shuffle(stated)
    k = max(1, len(stated) // 10)
    return DatasetDict(
        {
            "train": Dataset.from_list(stated[k:]),
            "validation": Dataset.from_list(stated[:k]),
            "test": Dataset.from_list(test),
        }
    )


def instructions(
    n: int = 3000,
    seed: int = 0,
    tasks: list[str] | None = None,
    held_out_phrasings: int = 1,
    split=(0.8, 0.1, 0.1),
):
    """Instructions with answers: ``task``, ``phrasing``, ``prompt``, ``answer``, ``text``
    (``prompt + " answer : " + answer``), ``held_out_phrasing``, ``held_out_fact``.

    The last ``held_out_phrasings`` phrasings of every task never appear in train or validation; the test
    split mixes them with seen phrasings. Property questions about held-out facts are kept out of train.
    """
    _check_int("n", n, 1, 10_000_000)
    tasks = tasks or sorted(INSTRUCTION_TEMPLATES)
    bad = [t for t in tasks if t not in INSTRUCTION_TEMPLATES]
    if bad:
        raise ValueError(f"tasks must be among {sorted(INSTRUCTION_TEMPLATES)}, got {bad}")
    n_phr = min(len(v) for v in INSTRUCTION_TEMPLATES.values())
    _check_int("held_out_phrasings", held_out_phrasings, 0, n_phr - 1)
    _check_splits(split)
    Dataset, DatasetDict = _datasets()
    world = World(seed)
    seen = n_phr - held_out_phrasings
    n_train = int(round(n * split[0]))
    n_val = int(round(n * split[1]))
    out = {"train": [], "validation": [], "test": []}
    for name, count in (("train", n_train), ("validation", n_val), ("test", n - n_train - n_val)):
        while len(out[name]) < count:
            task = tasks[len(out[name]) % len(tasks)]
            phr = world.rng.randrange(seen if name != "test" else n_phr)
            row = _instruction(world, task, phr)
            if name != "test" and row["held_out_fact"]:
                continue
            row["held_out_phrasing"] = phr >= seen
            out[name].append(row)
    return DatasetDict({k: Dataset.from_list(v) if v else Dataset.from_dict({}) for k, v in out.items()})


def load_text(path_or_name: str, split: str | None = None, **kwargs):
    """Read your own text: a local text file (one example per line) or, when online, a hub dataset name.

    Example: ``ds = load_text("my_notes.txt")``  (a ``DatasetDict`` with a ``text`` column)
    Offline, a hub name fails at once with a message naming the corpora that need no network.
    """
    import os

    from datasets import load_dataset

    if not isinstance(path_or_name, (str, os.PathLike)) or not str(path_or_name):
        raise TypeError(f"path_or_name must be a file path or a dataset name, got {path_or_name!r}")
    p = str(path_or_name)
    if os.path.exists(p):
        return load_dataset("text", data_files=p, split=split, **kwargs)
    if p.endswith((".txt", ".text", ".md", ".csv", ".json", ".jsonl")) or p.startswith((".", "/", "~")):
        raise FileNotFoundError(f"no text file at {p!r}")
    if not online():
        raise ConnectionError(
            f"cannot load {p!r}: this machine is offline (or HF_DATASETS_OFFLINE / HF_HUB_OFFLINE is set). "
            "The book's own corpora need no network: lmnotes.data.corpus, sense_corpus, pos_corpus, reviews, "
            "documents, facts, instructions; a local file works too: load_text('notes.txt')."
        )
    return load_dataset(p, split=split, **kwargs)


def online(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """Whether the Hugging Face hub can be reached (``False`` when ``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` is 1).

    Example: ``if lmnotes.data.online(): ...download something...``
    """
    import os
    import socket

    if os.environ.get("HF_DATASETS_OFFLINE") == "1" or os.environ.get("HF_HUB_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False
