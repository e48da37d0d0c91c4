"""Exercises for the challenges chapter's languages notebook: a tokenizer's fertility, and perplexity per word."""

from __future__ import annotations

from .. import Wrong, exercise, question


def _chunks(word, size=3):
    return [word[i : i + size] for i in range(0, len(word), size)]


def _toy_tokenize(text):
    """A stand-in tokenizer: each word cut into pieces of three characters."""
    return [piece for word in text.split() for piece in _chunks(word)]


@exercise(
    "tokenizer_fertility",
    hint="count the tokens of all the texts together and the words of all the texts together "
    "(words are separated by whitespace), then divide the first by the second",
)
def check_tokenizer_fertility(fn):
    cases = [
        (["the cat sat ."], "one short sentence"),
        (["the robin can fly .", "a penguin is a bird that cannot fly ."], "two sentences"),
        (["κατον σαω δογεν .", "ροβινεν ις βιρδεν ."], "two sentences of the second language"),
        (["a b c d e f g h .", "crocodiles"], "a long sentence of short words and a one-word text"),
    ]
    for texts, what in cases:
        got = fn(_toy_tokenize, list(texts))
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            raise Wrong(f"return a number (tokens per word), got {type(got).__name__}")
        tokens = [len(_toy_tokenize(t)) for t in texts]
        words = [len(t.split()) for t in texts]
        want = sum(tokens) / sum(words)
        if abs(got - want) <= 1e-9:
            continue
        if abs(got - sum(words) / sum(tokens)) <= 1e-9:
            raise Wrong("that is words per token; fertility is tokens per word (tokens / words)")
        if abs(got - sum(tokens) / len(texts)) <= 1e-9:
            raise Wrong("that is tokens per text; divide by the number of words, not the number of texts")
        if (
            abs(got - sum(tokens) / sum(len(t) for t in texts)) <= 1e-9
            or abs(got - sum(tokens) / sum(len(t.replace(" ", "")) for t in texts)) <= 1e-9
        ):
            raise Wrong("that is tokens per character; count words (text.split()), not characters")
        if abs(got - sum(t / w for t, w in zip(tokens, words)) / len(texts)) <= 1e-9:
            raise Wrong(
                "you average the fertility of each text, which gives a one-word text as much weight as a long "
                "sentence; divide the total tokens by the total words"
            )
        raise Wrong(f"for {what} {texts!r} the fertility is {want:.3f} tokens per word, yours is {got!r}")
    # A tokenizer whose word count differs from the tokens' own: a [UNK] or a marker is still a token.
    got = fn(lambda t: ["▁"] + t.split(), ["a b", "c d e f"])
    if abs(got - 8 / 6) > 1e-9:
        raise Wrong("count every token the tokenizer returns (len(tokenize(text))), whatever it looks like")


@check_tokenizer_fertility.reference
def tokenizer_fertility(tokenize, texts):
    tokens = sum(len(tokenize(t)) for t in texts)
    words = sum(len(t.split()) for t in texts)
    return tokens / words  # totals, so a long sentence weighs more than a short one


question(
    "per_word_perplexity",
    answer=256.0,
    tol=0.5,
    explanation="the loss of a word is the sum of the losses of its tokens; at 4 tokens per word a word's mean "
    "loss is 4 ln 4 nats, so the perplexity per word is exp(4 ln 4) = 4^4 = 256. The first language, at "
    "per-token perplexity 8 and 1.25 tokens per word, has 8^1.25 ≈ 13.5 per word: far better, although its "
    "per-token perplexity is the higher one.",
    mistakes={
        4: "that is the perplexity per token; a word is four tokens, and their losses add up",
        16: "4 × 4 multiplies the perplexity by the fertility; it is the losses (logs) that are multiplied, so "
        "the perplexity is raised to the power 4",
        1: "dividing by the fertility goes the wrong way: a word of four tokens is harder to predict than one token",
        13.45: "that is the first language's perplexity per word (8^1.25); the question asks about the second",
    },
    hint="perplexity is exp(mean loss); the loss of a word is the sum of its tokens' losses",
)
