"""A second language of the world, in another script, and corpora that mix it with the first.

The world's sentences (:mod:`lmnotes.data.world`) are the *first* language. The *second* says the same things
with its own spelling and a little morphology of its own, so it is not a letter-for-letter cipher:

* **script** — Latin letters become Greek ones (``b`` → ``β``, ``r`` → ``ρ``; ``c``, ``k`` and ``q`` all become
  ``κ``, yet no two words of the world's lexicon end up spelled alike), a few letter pairs one letter
  (``th`` → ``θ``, ``ch`` → ``χ``, ``ph`` → ``φ``, ``ps`` → ``ψ``, ``ks`` → ``ξ``), and ``s`` at the end of a
  word is written ``ς``, as in Greek;
* **articles are suffixes** — ``the`` and ``a``/``an`` are not words but endings of the word that follows
  (``-on`` definite, ``-en`` indefinite), so ``the cat saw a dog .`` is ``κατον σαω δογεν .``: fewer words,
  longer ones, and three forms of most nouns.

Every character of the second language takes two bytes in UTF-8, against one for the first.

* :func:`translate` — a sentence of the first language in the second;
* :func:`alphabet` — every character either language writes (a tokenizer's base vocabulary);
* :func:`mix_languages` — a chosen share of a list of texts translated, seeded;
* :func:`parallel_texts` — the same sentences in both languages, for evaluation;
* :func:`bilingual_corpus` — a training mix and held-out parallel sentences, from one world.

Example::

    >>> translate("the cat saw a dog .")
    'κατον σαω δογεν .'
"""

from __future__ import annotations

import random

from ..world import corpus
from . import _check_int, _check_share

__all__ = [
    "LETTERS",
    "DIGRAPHS",
    "ARTICLE_SUFFIXES",
    "transliterate",
    "translate",
    "alphabet",
    "mix_languages",
    "parallel_texts",
    "bilingual_corpus",
]

LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz", "αβκδεφγηιζκλμνοπκρστυβωξυζ"))
DIGRAPHS = {"th": "θ", "ch": "χ", "ph": "φ", "ps": "ψ", "ks": "ξ"}  # read before single letters
ARTICLE_SUFFIXES = {"the": "on", "a": "en", "an": "en"}  # the article becomes an ending of the next word
FINAL_SIGMA = "ς"


def _check_text(text, name="text"):
    if not isinstance(text, str):
        raise TypeError(f"{name} must be a str, got {type(text).__name__}")
    upper = sorted({c for c in text if "A" <= c <= "Z"})
    if upper:
        raise ValueError(
            f"{name} has upper-case letters {''.join(upper)!r}; the world's text is lower-case, "
            f"so lower-case it first (text.lower())"
        )
    return text


def _check_texts(texts, name="texts"):
    if isinstance(texts, str):
        raise TypeError(f"{name} must be a list of strings, got one str; wrap it in a list: [text]")
    try:
        texts = list(texts)
    except TypeError:
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}") from None
    if not texts:
        raise ValueError(f"{name} is empty; give at least one text")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"{name} must hold strings only, but {name}[{i}] is {type(t).__name__}")
    return texts


def transliterate(word: str) -> str:
    """One word in the second language's script: letter pairs first, then letters, ``σ`` → ``ς`` at the end.

    Characters other than ``a``–``z`` (punctuation, digits) are kept. Example: ``transliterate("fish")`` →
    ``'φιση'``, ``transliterate("birds")`` → ``'βιρδς'``
    """
    _check_text(word, "word")
    if any(c.isspace() for c in word):
        raise ValueError(
            f"word must be one word without spaces, got {word!r}; use translate() for a sentence"
        )
    out, i = [], 0
    while i < len(word):
        pair = word[i : i + 2]
        if pair in DIGRAPHS:
            out.append(DIGRAPHS[pair])
            i += 2
        else:
            out.append(LETTERS.get(word[i], word[i]))
            i += 1
    if out and out[-1] == "σ":
        out[-1] = FINAL_SIGMA
    return "".join(out)


def translate(text: str) -> str:
    """A sentence of the first language (lower-case, words separated by spaces) in the second.

    An article (``the``, ``a``, ``an``) followed by a word made of letters becomes that word's ending
    (``-on`` definite, ``-en`` indefinite); every word is then transliterated. Deterministic: the same text
    always gives the same translation. Example: ``translate("a robin is a bird .")`` → ``'ροβινεν ις βιρδεν .'``
    """
    words = _check_text(text).split()
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if w in ARTICLE_SUFFIXES and i + 1 < len(words) and words[i + 1].isalpha():
            out.append(transliterate(words[i + 1] + ARTICLE_SUFFIXES[w]))
            i += 2
        else:
            out.append(transliterate(w))
            i += 1
    return " ".join(out)


def alphabet() -> str:
    """Every character the two languages write, sorted: the Latin letters, their Greek counterparts, ``ς`` and
    the world's punctuation. A tokenizer that has them all in its base vocabulary never needs ``[UNK]``, as a
    byte-level tokenizer has every byte. Example: ``"θ" in alphabet()`` → ``True``
    """
    chars = set(LETTERS) | set(LETTERS.values()) | set(DIGRAPHS.values()) | {FINAL_SIGMA} | set(".,?:!;'")
    return "".join(sorted(chars))


def mix_languages(texts, share: float, seed: int = 0) -> dict:
    """Translate a ``share`` of ``texts`` (round(share * len(texts)) of them, chosen at random) into the second
    language; the others stay in the first. The order of the texts is kept.

    Returns ``{"texts": [...], "second": [bool, ...]}`` (``second[i]``: text ``i`` was translated).
    Example: ``mix_languages(["the cat sat ."] * 20, share=0.05, seed=0)["second"].count(True)`` → ``1``
    """
    texts = _check_texts(texts)
    _check_share("share", share)
    _check_int("seed", seed, 0)
    k = int(round(share * len(texts)))
    chosen = set(random.Random(seed).sample(range(len(texts)), k))
    second = [i in chosen for i in range(len(texts))]
    return {"texts": [translate(t) if s else _check_text(t) for t, s in zip(texts, second)], "second": second}


def parallel_texts(texts) -> dict:
    """The same sentences in both languages: ``{"first": texts, "second": translations, "words": [...]}``,
    ``words[i]`` being the number of words of ``first[i]`` (the unit both languages can be measured by, since
    the second language writes fewer, longer words). Example: ``parallel_texts(["a cat sat ."])["second"]``
    """
    texts = [_check_text(t) for t in _check_texts(texts)]
    return {"first": texts, "second": [translate(t) for t in texts], "words": [len(t.split()) for t in texts]}


def bilingual_corpus(n: int = 8000, share: float = 0.05, n_parallel: int = 300, seed: int = 0) -> dict:
    """A training mix of the world's sentences with a ``share`` in the second language, and held-out parallel
    sentences.

    ``n + n_parallel`` sentences are drawn from :func:`lmnotes.data.world.corpus` (``seed`` decides the world and
    the draw); the first ``n`` are mixed by :func:`mix_languages` (same ``seed``), the last ``n_parallel`` are held
    out and given in both languages (:func:`parallel_texts`). The held-out sentences come from the same world and
    templates as the training ones, so a short sentence may also occur in training, in either language.

    Returns ``{"texts", "second", "parallel": {"first", "second", "words"}}``.
    Example: ``data = bilingual_corpus(2000, share=0.2, seed=0); data["parallel"]["second"][0]``
    """
    _check_int("n", n, 1, 1_000_000)
    _check_share("share", share)
    _check_int("n_parallel", n_parallel, 1, 100_000)
    _check_int("seed", seed, 0)
    sentences = list(corpus(n + n_parallel, seed=seed, split=(1.0, 0.0, 0.0))["train"]["text"])
    mixed = mix_languages(sentences[:n], share, seed=seed)
    return {**mixed, "parallel": parallel_texts(sentences[n:])}
