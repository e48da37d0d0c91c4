"""What a language left behind costs: at the tokenizer, and in the model's perplexity.

Read top to bottom:

* **the tokenizer** — :func:`train_mix_tokenizer` (byte-pair encoding over a mix of languages, every letter of
  both in its base vocabulary), :func:`fertility` (tokens per word), :func:`bytes_per_token`,
  :func:`tokenizer_stats` (both, with characters per token and the ``[UNK]`` rate), :func:`length_ratio` (tokens
  of a text against tokens of its translation: the *premium* of Petrov et al., 2023);
* **the model** — :func:`train_gpt_on` (a tiny GPT over a given tokenizer), :func:`text_nll` (the negative
  log-likelihood of whole texts, in nats, texts longer than the context read with a sliding window),
  :func:`perplexity_per_word`.

Perplexity per *token* cannot be compared between two tokenizations of one text: a tokenizer that cuts a word
into five tokens spreads the same uncertainty over five predictions. A text's total negative log-likelihood does
not depend on how it was cut, so it is divided by a unit both languages share: the words of the sentence in the
first language (for parallel sentences), or the text's own words.

Example::

    from lmnotes.challenges import languages as lang
    from lmnotes.data.challenges.languages import bilingual_corpus
    data = bilingual_corpus(2000, share=0.05, seed=0)
    tok = lang.train_mix_tokenizer(data["texts"], vocab_size=300)
    lang.fertility(tok, data["parallel"]["second"]), lang.fertility(tok, data["parallel"]["first"])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from ..data.challenges.languages import alphabet
from ..data.tokenizers import BPETokenizer, Tokenizer
from ..recipes.gpt import lm_batches, lm_stream
from ..train import fit
from ..utils import eval_mode
from . import _check_texts, _config, _device, _new_model, token_log_probs

__all__ = [
    "train_mix_tokenizer",
    "fertility",
    "bytes_per_token",
    "tokenizer_stats",
    "length_ratio",
    "train_gpt_on",
    "text_nll",
    "perplexity_per_word",
]


def _check_tokenizer(tok):
    if not isinstance(tok, Tokenizer):
        raise TypeError(
            f"tok must be a trained lmnotes tokenizer (e.g. BPETokenizer().train(texts)), got {type(tok).__name__}"
        )
    if not tok.trained:
        raise ValueError(f"this {type(tok).__name__} has not been trained yet; call .train(texts) first")
    return tok


def _words(texts: list[str]) -> int:
    n = sum(len(t.split()) for t in texts)
    if n == 0:
        raise ValueError("the texts hold no words (only whitespace); give texts with words")
    return n


def _n_tokens(tok, texts: list[str]) -> int:
    return sum(len(tok.encode(t)) for t in texts)


# ---------------------------------------------------------------------------------------------
# The tokenizer
# ---------------------------------------------------------------------------------------------


def train_mix_tokenizer(texts: Sequence[str], vocab_size: int = 300) -> BPETokenizer:
    """A :class:`~lmnotes.data.tokenizers.BPETokenizer` trained on ``texts``, with every character of both of the
    world's languages (:func:`lmnotes.data.challenges.languages.alphabet`) in its base vocabulary, so a letter
    rare in the mix is still a token, never ``[UNK]`` (as a byte-level tokenizer has every byte).

    The merges are learned from ``texts`` alone: the alphabet adds one occurrence of each letter, no more.
    Example: ``tok = train_mix_tokenizer(mix["texts"], vocab_size=300)``
    """
    texts = _check_texts("texts", texts)
    return BPETokenizer().train(texts + [" ".join(alphabet())], vocab_size=vocab_size)


def fertility(tok, texts: Sequence[str]) -> float:
    """Tokens per word: the number of tokens ``tok`` cuts ``texts`` into, over their number of words
    (whitespace-separated; the world's punctuation marks are words). 1.0 means every word is one token.

    Example: ``fertility(tok, ["the cat sat ."])`` → ``1.0`` when the three words and ``.`` are tokens
    """
    _check_tokenizer(tok)
    texts = _check_texts("texts", texts)
    return _n_tokens(tok, texts) / _words(texts)


def bytes_per_token(tok, texts: Sequence[str]) -> float:
    """UTF-8 bytes of ``texts`` (spaces between words included) per token: how much text one token carries.

    A Greek letter is two bytes, a Latin one one byte, so a language in Greek script carries more bytes per
    token at equal fertility. Example: ``bytes_per_token(tok, ["the cat sat ."])``
    """
    _check_tokenizer(tok)
    texts = _check_texts("texts", texts)
    _words(texts)
    return sum(len(t.encode("utf-8")) for t in texts) / _n_tokens(tok, texts)


def tokenizer_stats(tok, texts: Sequence[str]) -> dict:
    """How ``tok`` cuts ``texts``: ``{"words", "tokens", "fertility", "bytes_per_token", "chars_per_token",
    "unk_rate"}`` (``unk_rate``: the share of tokens that are ``[UNK]``).

    Example: ``tokenizer_stats(tok, data["parallel"]["second"])["fertility"]``
    """
    _check_tokenizer(tok)
    texts = _check_texts("texts", texts)
    words = _words(texts)
    ids = [i for t in texts for i in tok.encode(t)]
    return {
        "words": words,
        "tokens": len(ids),
        "fertility": len(ids) / words,
        "bytes_per_token": sum(len(t.encode("utf-8")) for t in texts) / len(ids),
        "chars_per_token": sum(len(t) for t in texts) / len(ids),
        "unk_rate": sum(i == tok.unk_id for i in ids) / len(ids),
    }


def length_ratio(tok, texts: Sequence[str], reference: Sequence[str]) -> dict:
    """How much longer ``texts`` are than their translations ``reference`` once tokenized (parallel lists).

    Returns ``{"ratio": total tokens of texts / total tokens of reference, "per_sentence": [ratio of each pair]}``;
    ``ratio`` is what Petrov et al. (2023) call the tokenization premium of a language (the reference being
    English). Example: ``length_ratio(tok, par["second"], par["first"])["ratio"]``
    """
    _check_tokenizer(tok)
    texts, reference = _check_texts("texts", texts), _check_texts("reference", reference)
    if len(texts) != len(reference):
        raise ValueError(
            f"{len(texts)} texts but {len(reference)} reference texts; give parallel lists, one translation each"
        )
    a = [len(tok.encode(t)) for t in texts]
    b = [len(tok.encode(t)) for t in reference]
    if 0 in b:
        raise ValueError("a reference text has no tokens; every reference text needs at least one word")
    return {"ratio": sum(a) / sum(b), "per_sentence": [x / y for x, y in zip(a, b)]}


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def train_gpt_on(texts: Sequence[str], tok, seed: int = 0, device=None, progress: bool = False, **config):
    """Train a tiny GPT (:data:`lmnotes.challenges.TINY_GPT`, overridden by ``config``) on ``texts`` cut by
    ``tok``: random windows of the stream ``[BOS] text [EOS] [BOS] ...``. ``seed`` decides the initial weights
    and the batches. Returns ``(model, history)``, the model in eval mode.

    Unlike :func:`lmnotes.challenges.train_tiny_gpt`, which builds a word tokenizer, the tokenizer is given, so
    models of one experiment can read one language mix through a subword tokenizer trained on it.
    Example: ``model, history = train_gpt_on(mix["texts"], tok, seed=0, block_size=32, steps=400)``
    """
    texts = _check_texts("texts", texts)
    _check_tokenizer(tok)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    c = _config(config)
    stream = lm_stream(texts, tok)
    if len(stream) < c["block_size"] + 2:
        raise ValueError(
            f"the texts hold {len(stream)} tokens, too few for windows of {c['block_size']}; "
            "give more texts or a smaller block_size"
        )
    model = _new_model(tok, c, seed)
    history = fit(
        model,
        lm_batches(stream, c["block_size"], c["batch_size"], seed=seed),
        steps=c["steps"],
        lr=c["lr"],
        device=device,
        progress=progress,
        warmup=0.05,
    )
    return model.eval(), history


@torch.no_grad()
def _long_text_nll(model, ids: list[int]) -> float:
    """-log p of ``ids[1:]`` given ``ids[0]`` when ``ids`` is longer than the context: windows of the full context
    that advance by half of it; each token is scored once, with at least half a context before it (or all
    there is)."""
    block = model.config.block_size
    stride = max(1, block // 2)
    total, done = 0.0, 1  # ids[:done] are scored (ids[0] is [BOS], never predicted)
    while done < len(ids):
        lo = max(0, min(done - stride, len(ids) - block))
        window = torch.tensor([ids[lo : lo + block]], device=_device(model))
        lp = model(window).logits[0].float().log_softmax(-1)  # (T, V)
        for j in range(done, lo + window.shape[1]):
            total -= float(lp[j - 1 - lo, ids[j]])
        done = lo + window.shape[1]
    return total


def text_nll(model, tok, texts: Sequence[str]) -> list[float]:
    """For each text, ``-log p(text | [BOS])`` in nats, summed over its tokens: a number that does not depend on
    how finely the tokenizer cut the text, so two languages (two tokenizations) can be compared on it.

    Texts that fit the model's context are scored by :func:`lmnotes.challenges.token_log_probs`; longer ones
    with a sliding window (each token sees at least half a context before it).
    Example: ``sum(text_nll(model, tok, ["the cat sat ."]))``
    """
    _check_tokenizer(tok)
    texts = _check_texts("texts", texts)
    block = model.config.block_size
    ids = [[tok.bos_id] + tok.encode(t) for t in texts]
    short = [i for i, x in enumerate(ids) if len(x) <= block]
    out = [0.0] * len(texts)
    if short:
        for i, lp in zip(short, token_log_probs(model, tok, [texts[i] for i in short])):
            out[i] = -float(lp.sum())
    with eval_mode(model):
        for i, x in enumerate(ids):
            if len(x) > block:
                out[i] = _long_text_nll(model, x)
    return out


def perplexity_per_word(model, tok, texts: Sequence[str], words: Sequence[int] | None = None) -> float:
    """``exp(total negative log-likelihood / total words)``: the perplexity per word of ``texts``.

    ``words[i]`` is the number of words text ``i`` counts for (default: its own words). For parallel texts in
    two languages pass the same counts (the words of the first language's sentences) for both, so both are
    measured per the same unit of meaning. Example: ``perplexity_per_word(model, tok, par["second"],
    par["words"])``
    """
    texts = _check_texts("texts", texts)
    if words is None:
        words = [len(t.split()) for t in texts]
    else:
        if isinstance(words, (str, int)) or not isinstance(words, Sequence):
            raise TypeError(f"words must be a list of ints, one per text, got {type(words).__name__}")
        words = list(words)
        if len(words) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(words)} word counts; give one count per text")
        if not all(isinstance(w, int) and not isinstance(w, bool) and w >= 0 for w in words):
            raise ValueError("words must hold ints >= 0 (the number of words of each text)")
    if sum(words) == 0:
        raise ValueError("the texts count no words; perplexity per word needs at least one")
    return math.exp(sum(text_nll(model, tok, texts)) / sum(words))
