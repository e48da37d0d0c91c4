"""Exercises for "The world": counting, unknown words, one step of byte-pair encoding; a question on which
tokenizer loses an unseen word."""

from __future__ import annotations

from collections import Counter

from . import Wrong, exercise, question

_SENTS = [
    ["the", "robin", "can", "fly", "."],
    ["a", "robin", "is", "a", "bird", "."],
    ["the", "bank", "was", "old", "."],
]
_TAGS = [
    ["DET", "NOUN", "AUX", "VERB", "PUNCT"],
    ["DET", "NOUN", "AUX", "DET", "NOUN", "PUNCT"],
    ["DET", "NOUN", "AUX", "ADJ", "PUNCT"],
]


@exercise(
    "tag_shares",
    hint="count every tag of every sentence, then divide each count by the total number of tokens",
)
def check_tag_shares(fn):
    got = fn(_TAGS)
    if not isinstance(got, dict):
        raise Wrong(f"return a dict tag -> share, got {type(got).__name__}")
    total = sum(len(t) for t in _TAGS)
    want = {k: v / total for k, v in Counter(t for s in _TAGS for t in s).items()}
    if set(got) != set(want):
        raise Wrong(f"the tags should be {sorted(want)}, yours are {sorted(got)}")
    if abs(sum(got.values()) - 1) > 1e-6:
        if abs(got["DET"] - Counter(t for s in _TAGS for t in s)["DET"]) < 1e-9:
            raise Wrong("these look like counts: divide by the number of tokens so the shares sum to 1")
        raise Wrong(f"the shares should sum to 1, yours sum to {sum(got.values()):.3f}")
    for k in want:
        if abs(got[k] - want[k]) > 1e-6:
            raise Wrong(
                f"share of {k} should be {want[k]:.3f}, yours is {got[k]:.3f} "
                "(count over all tokens of all sentences, not per sentence)"
            )


@check_tag_shares.reference
def tag_shares(tag_lists):
    counts = Counter(tag for tags in tag_lists for tag in tags)
    total = sum(counts.values())
    return {tag: n / total for tag, n in counts.items()}


@exercise(
    "unk_rate", hint="a word is unknown when it is not in the vocabulary; divide by the number of words"
)
def check_unk_rate(fn):
    vocab = {"the", "robin", "can", "fly", "."}
    cases = [(_SENTS[:1], 0.0), (_SENTS, 7 / 16), ([["owl", "owl"]], 1.0)]
    for sents, want in cases:
        got = fn(sents, vocab)
        if not isinstance(got, float) and not isinstance(got, int):
            raise Wrong(f"return a number between 0 and 1, got {type(got).__name__}")
        if abs(got - want) > 1e-9:
            if abs(got - (1 - want)) < 1e-9:
                raise Wrong("you return the share of KNOWN words; the question asks for the unknown ones")
            raise Wrong(
                f"for {sents} with vocabulary {sorted(vocab)} the rate is {want:.3f}, yours is {got:.3f} "
                "(count word tokens, not distinct words)"
            )


@check_unk_rate.reference
def unk_rate(sentences, vocab):
    words = [w for s in sentences for w in s]
    return sum(w not in vocab for w in words) / len(words)


@exercise(
    "bpe_merge",
    hint="scan left to right; once two symbols have been merged, neither of them can take "
    "part in another merge in the same pass",
)
def check_bpe_merge(fn):
    cases = [
        (["t", "h", "e"], ("t", "h"), "th", ["th", "e"]),
        (["a", "a", "a"], ("a", "a"), "aa", ["aa", "a"]),
        (["b", "a", "n", "a", "n", "a"], ("a", "n"), "an", ["b", "an", "an", "a"]),
        (["c", "a", "t"], ("d", "o"), "do", ["c", "a", "t"]),
        ([], ("a", "b"), "ab", []),
    ]
    for symbols, pair, new, want in cases:
        got = fn(list(symbols), pair, new)
        if got != want:
            extra = ""
            if symbols == ["a", "a", "a"] and got == ["aa", "aa"]:
                extra = " — a merged symbol must not be merged again in the same pass (overlapping pairs)"
            raise Wrong(
                f"merging {pair} -> {new!r} in {symbols} should give {want}, yours gives {got}{extra}"
            )


@check_bpe_merge.reference
def bpe_merge(symbols, pair, new):
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


question(
    "unseen_word",
    "b",
    "The word tokenizer knows only the words it was trained on, so `zebra` becomes [UNK] and is lost for good. "
    "The character tokenizer has seen every letter of `zebra` in other words and spells it out; BPE falls back "
    "to the pieces it knows, down to single characters, and gives the word back too.",
    choices={"a": "characters", "b": "words", "c": "byte-pair encoding", "d": "all three"},
    mistakes={
        "a": "z, e, b, r and a all occur in the world's words: what would the character tokenizer not know?",
        "c": "BPE starts from characters and only merges them; a word it never saw splits into smaller "
        "pieces it knows",
        "d": "only one of the three has a vocabulary of whole words",
    },
)
