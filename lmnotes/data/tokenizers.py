"""Tokenizers: text in, integer ids out, and back.

Three tokenizers share one interface, in the spirit of minbpe: a base class
:class:`Tokenizer` holds the vocabulary, the special tokens, encoding, decoding and
saving, and each variant is a short subclass that says only how text is cut into
tokens and how a vocabulary is learned.

- :class:`CharTokenizer`: one token per character seen in training.
- :class:`WordTokenizer`: one token per whitespace-separated word (the world's corpora
  are lower-case, with punctuation as words of their own).
- :class:`BPETokenizer`: byte-pair encoding, sub-word units learned by merging the most
  frequent adjacent pair of symbols, again and again.

Every tokenizer starts its vocabulary with the same seven special tokens, always with
the same ids::

    [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 [BOS]=5 [EOS]=6

A special token written literally in the text (``"the [MASK] sat"``) is read as that
special token, never split into characters.

Round trip: ``decode(encode(text)) == text`` whenever the tokenizer can represent
``text``: exactly for :class:`CharTokenizer`; after whitespace is normalised to single
spaces (``" ".join(text.split())``) for :class:`WordTokenizer` and :class:`BPETokenizer`.
Input the tokenizer cannot represent (a character or word never seen in training)
becomes ``[UNK]``, and that part of the text cannot come back.

Example:
    >>> tok = BPETokenizer().train(["the robin can fly .", "the cat sat ."], vocab_size=40)
    >>> tok.decode(tok.encode("the cat can fly ."))
    'the cat can fly .'
"""

from __future__ import annotations

import heapq
import json
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable

import torch

from .batching import pad_batch

__all__ = [
    "SPECIAL_TOKENS",
    "Tokenizer",
    "CharTokenizer",
    "WordTokenizer",
    "BPETokenizer",
    "ELMoTokenizer",
]

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]
_SPECIAL_SET = frozenset(SPECIAL_TOKENS)
# The capturing group makes re.split keep the specials: "a [MASK] b" -> ["a ", "[MASK]", " b"].
_SPECIAL_PATTERN = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")
_FILE_FORMAT = "lmnotes-tokenizer"
_FILE_VERSION = 1


def _split_specials(text: str) -> list[str]:
    """Cut ``text`` into pieces that are either one special token or plain text.

    Example: ``_split_specials("the [MASK] sat") == ["the ", "[MASK]", " sat"]``
    """
    return [piece for piece in _SPECIAL_PATTERN.split(text) if piece]


def _check_text(text, name: str = "text") -> str:
    if not isinstance(text, str):
        hint = (
            "; for several texts use batch_encode, or call the tokenizer"
            if isinstance(text, (list, tuple))
            else ""
        )
        raise TypeError(f"{name} must be a str, got {type(text).__name__}{hint}")
    return text


def _check_texts(texts, name: str = "texts") -> list[str]:
    """Return ``texts`` as a list of str, or raise an error a student can act on."""
    if isinstance(texts, str):
        raise TypeError(
            f"{name} must be a list of strings, got one str; wrap a single text in a list: [text]"
        )
    if not isinstance(texts, Iterable):
        raise TypeError(f"{name} must be a list of strings, got {type(texts).__name__}")
    texts = list(texts)
    if not texts:
        raise ValueError(f"{name} is empty; give at least one text")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(
                f"{name} must be a list of strings, but {name}[{i}] is {type(text).__name__}: {text!r}"
            )
    return texts


class Tokenizer:
    """Base class: a vocabulary (a list of token strings, id = position) and the
    machinery every tokenizer shares.

    A subclass defines three things:

    - ``_learn(pieces, **options) -> list[str]``: the tokens to put after the specials,
      learned from plain-text pieces (special tokens already removed);
    - ``_tokenize_plain(piece) -> list[str]``: cut plain text into tokens;
    - ``_detokenize(tokens) -> str``: glue tokens (specials included) back into text.

    Attributes:
        vocab: list[str], ``vocab[i]`` is the token with id ``i``; ``vocab[:7]`` are the specials.
        pad_id, unk_id, cls_id, sep_id, mask_id, bos_id, eos_id: ids 0..6 of the specials.
    """

    special_tokens = SPECIAL_TOKENS
    pad_token, unk_token, cls_token, sep_token, mask_token, bos_token, eos_token = SPECIAL_TOKENS
    pad_id, unk_id, cls_id, sep_id, mask_id, bos_id, eos_id = range(len(SPECIAL_TOKENS))

    _subclasses: dict[str, type[Tokenizer]] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Tokenizer._subclasses[cls.__name__] = cls  # so load() can rebuild the right class

    def __init__(self):
        self._set_vocab([])
        self.trained = False

    # ------------------------------------------------------------------ vocabulary
    def _set_vocab(self, learned: list[str]) -> None:
        self.vocab: list[str] = list(SPECIAL_TOKENS) + [t for t in learned if t not in _SPECIAL_SET]
        self._ids: dict[str, int] = {token: i for i, token in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        """Number of tokens, specials included: ids run over ``0 .. vocab_size - 1``."""
        return len(self.vocab)

    def __len__(self) -> int:
        return self.vocab_size

    @property
    def special_ids(self) -> list[int]:
        """Ids of the seven special tokens, ``[0, 1, ..., 6]``."""
        return list(range(len(SPECIAL_TOKENS)))

    def id_to_token(self, i: int) -> str:
        """The token string with id ``i``. Example: ``tok.id_to_token(4) == "[MASK]"``"""
        if isinstance(i, torch.Tensor):
            i = i.item()
        if not 0 <= i < self.vocab_size:
            raise ValueError(f"id must be in 0..{self.vocab_size - 1} (vocab_size - 1), got {i}")
        return self.vocab[i]

    def token_to_id(self, token: str) -> int:
        """The id of ``token``, or ``unk_id`` when it is not in the vocabulary.

        Example: ``tok.token_to_id("[MASK]") == 4``
        """
        return self._ids.get(token, self.unk_id)

    # ------------------------------------------------------------------ training
    def train(self, texts: Iterable[str], **options) -> Tokenizer:
        """Learn the vocabulary from ``texts`` (a list of str) and return ``self``.

        Special tokens written in the texts are not learned from (they already have ids).
        Options depend on the subclass (``min_freq``, ``max_size``, ``vocab_size``...).

        Example: ``tok = CharTokenizer().train(["the robin can fly ."])``
        """
        texts = _check_texts(texts)
        pieces = [piece for text in texts for piece in _split_specials(text) if piece not in _SPECIAL_SET]
        self._set_vocab(self._learn(pieces, **options))
        self.trained = True
        return self

    def _learn(self, pieces: list[str], **options) -> list[str]:
        raise NotImplementedError

    def _check_trained(self) -> None:
        if not self.trained:
            raise ValueError(f"this {type(self).__name__} has not been trained yet; call .train(texts) first")

    # ------------------------------------------------------------------ encoding
    def tokenize(self, text: str) -> list[str]:
        """Cut ``text`` into token strings (unknown ones become ``"[UNK]"``).

        Example: ``WordTokenizer().train(["the cat sat ."]).tokenize("the [MASK] sat") == ["the", "[MASK]", "sat"]``
        """
        _check_text(text)
        self._check_trained()
        tokens = []
        for piece in _split_specials(text):
            if piece in _SPECIAL_SET:
                tokens.append(piece)
            else:
                tokens.extend(t if t in self._ids else self.unk_token for t in self._tokenize_plain(piece))
        return tokens

    def _tokenize_plain(self, piece: str) -> list[str]:
        raise NotImplementedError

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Text -> list of ``T`` ids. With ``add_special_tokens=True`` the ids are wrapped
        as ``[BOS] ... [EOS]`` (the form a generative model reads; BERT-style inputs
        ``[CLS] a [SEP] b [SEP]`` come from :meth:`encode_pair`).

        Example: ``tok.encode("the cat", add_special_tokens=True)  # [5, ..., 6]``
        """
        ids = [self._ids[t] for t in self.tokenize(text)]  # tokenize() maps unknowns to [UNK]
        if add_special_tokens:
            ids = [self.bos_id] + ids + [self.eos_id]
        return ids

    def encode_pair(self, a: str, b: str | None = None) -> tuple[list[int], list[int]]:
        """BERT-style input: ``[CLS] a [SEP] b [SEP]`` (or ``[CLS] a [SEP]`` when ``b`` is None).

        Returns ``(ids, segment_ids)``, two lists of the same length ``T``; segment id 0
        covers ``[CLS] a [SEP]`` and 1 covers ``b [SEP]``.

        Example: ``ids, seg = tok.encode_pair("the cat sat .", "it was happy .")``
        """
        first = [self.cls_id] + self.encode(_check_text(a, "a")) + [self.sep_id]
        second = [] if b is None else self.encode(_check_text(b, "b")) + [self.sep_id]
        return first + second, [0] * len(first) + [1] * len(second)

    def batch_encode(
        self, texts: Iterable[str], add_special_tokens: bool = False, max_length: int | None = None
    ) -> dict[str, list[list[int]]]:
        """Encode many texts; returns ``{"input_ids": list of B lists}`` (not padded).

        Shaped for ``datasets.Dataset.map(batched=True)``; ``max_length`` cuts each list
        to its first ``max_length`` ids.

        Example: ``ds.map(lambda batch: tok.batch_encode(batch["text"]), batched=True)``
        """
        texts = _check_texts(texts)
        if max_length is not None and max_length < 1:
            raise ValueError(f"max_length must be >= 1 or None, got {max_length}")
        ids = [self.encode(text, add_special_tokens=add_special_tokens) for text in texts]
        if max_length is not None:
            ids = [seq[:max_length] for seq in ids]
        return {"input_ids": ids}

    # ------------------------------------------------------------------ decoding
    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """List (or 1-D tensor) of ``T`` ids -> text.

        ``skip_special_tokens=True`` drops ``[PAD] [CLS] [SEP] [MASK] [BOS] [EOS]`` but
        keeps ``[UNK]``, so the reader still sees where input was lost.

        Example: ``tok.decode(tok.encode("the cat sat .")) == "the cat sat ."``
        """
        if isinstance(ids, torch.Tensor):
            if ids.dim() > 1:
                raise ValueError(
                    f"ids must be one sequence (1-D), got shape {tuple(ids.shape)}; use batch_decode"
                )
            ids = ids.tolist()
        tokens = [self.id_to_token(i) for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t == self.unk_token or t not in _SPECIAL_SET]
        return self._detokenize(tokens)

    def batch_decode(self, batch, skip_special_tokens: bool = False) -> list[str]:
        """Decode each row of a ``(B, T)`` tensor or list of lists; returns ``B`` strings.

        Example: ``tok.batch_decode(batch["input_ids"], skip_special_tokens=True)``
        """
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in batch]

    def _detokenize(self, tokens: list[str]) -> str:
        raise NotImplementedError

    # ------------------------------------------------------------------ saving
    def _extra_state(self) -> dict:
        """What a subclass needs saved besides the vocabulary (BPE: its merges)."""
        return {}

    def _load_extra_state(self, state: dict) -> None:
        pass

    def to_dict(self) -> dict:
        """The tokenizer as plain JSON data: ``{"format", "version", "class", "vocab", ...}``.

        Example: ``json.dumps(tok.to_dict())``
        """
        self._check_trained()
        return {
            "format": _FILE_FORMAT,
            "version": _FILE_VERSION,
            "class": type(self).__name__,
            "vocab": list(self.vocab),
            **self._extra_state(),
        }

    def to_json(self) -> str:
        """The tokenizer as a JSON string (what :meth:`save` writes).

        Example: ``Tokenizer.from_json(tok.to_json()) == tok``
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, state, source: str = "this data") -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_dict`'s data; returns an instance of the class
        it was saved from (``Tokenizer.from_dict`` works for every kind). Only tokenizer
        classes defined in code can be named; the data is never run.

        Example: ``tok = Tokenizer.from_dict(json.load(open("bpe.json")))``
        """
        not_ours = f"{source} is not a tokenizer saved by lmnotes (Tokenizer.save writes one)"
        if not isinstance(state, dict) or state.get("format") != _FILE_FORMAT:
            raise ValueError(not_ours)
        if state.get("version") != _FILE_VERSION:
            raise ValueError(
                f"{source} has tokenizer file version {state.get('version')}; "
                f"this lmnotes reads version {_FILE_VERSION}"
            )
        kind = Tokenizer._subclasses.get(state.get("class"))
        if kind is None:
            raise ValueError(f"{not_ours}: unknown class {state.get('class')!r}")
        if not issubclass(kind, cls):
            raise ValueError(
                f"{source} holds a {kind.__name__}, not a {cls.__name__}; use Tokenizer.load to read any kind"
            )
        vocab = state.get("vocab")
        if not isinstance(vocab, list) or vocab[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError(f"{not_ours}: its vocab does not start with the special tokens {SPECIAL_TOKENS}")
        if not all(isinstance(t, str) for t in vocab):
            raise ValueError(f"{not_ours}: its vocab holds something other than strings")
        tok = kind()
        tok._set_vocab(vocab[len(SPECIAL_TOKENS) :])
        tok._load_extra_state(state)
        tok.trained = True
        return tok

    @classmethod
    def from_json(cls, text: str, source: str = "this JSON") -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_json`'s string.

        Example: ``Tokenizer.from_json(tok.to_json()) == tok``
        """
        try:
            state = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{source} is not a tokenizer saved by lmnotes (Tokenizer.save writes one): "
                f"it is not JSON ({err})"
            ) from None
        return cls.from_dict(state, source)

    def save(self, path: str | os.PathLike) -> None:
        """Write the tokenizer to ``path`` as JSON (readable in any text editor).

        Example: ``tok.save("bpe.json"); Tokenizer.load("bpe.json")``
        """
        text = self.to_json()
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        """Read a tokenizer written by :meth:`save`; returns an instance of the class it was
        saved from (``Tokenizer.load`` works for every kind).

        Example: ``tok = Tokenizer.load("bpe.json")  # a BPETokenizer``
        """
        source = repr(os.fspath(path))
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError as err:
            raise ValueError(
                f"{source} is not a tokenizer saved by lmnotes (Tokenizer.save writes one): "
                f"it is not JSON ({err})"
            ) from None
        return cls.from_json(text, source)

    def __eq__(self, other) -> bool:
        return (
            type(self) is type(other)
            and self.vocab == other.vocab
            and self._extra_state() == other._extra_state()
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class CharTokenizer(Tokenizer):
    """One token per character seen in training; any other character -> ``[UNK]``.

    Round trip is exact (spaces and newlines included) for text made of seen characters.

    Example:
        >>> tok = CharTokenizer().train(["the cat sat ."])
        >>> tok.tokenize("a dog")        # 'd', 'o' and 'g' were never seen
        ['a', ' ', '[UNK]', '[UNK]', '[UNK]']
    """

    def _learn(self, pieces: list[str]) -> list[str]:
        return sorted({ch for piece in pieces for ch in piece})

    def _tokenize_plain(self, piece: str) -> list[str]:
        return list(piece)

    def _detokenize(self, tokens: list[str]) -> str:
        return "".join(tokens)


class WordTokenizer(Tokenizer):
    """One token per whitespace-separated word; a word not in the vocabulary -> ``[UNK]``.

    The world's corpora are already lower-case with punctuation as separate words, so
    splitting on whitespace is all the tokenizer does. Decoding joins words with single
    spaces, so the round trip holds for whitespace-normalised text.

    Example:
        >>> tok = WordTokenizer().train(["the robin can fly .", "the cat sat ."])
        >>> tok.decode(tok.encode("the robin sat ."))
        'the robin sat .'
    """

    def train(self, texts: Iterable[str], min_freq: int = 1, max_size: int | None = None) -> WordTokenizer:
        """Keep words seen at least ``min_freq`` times, the most frequent first, until the
        vocabulary holds ``max_size`` tokens (the 7 specials included); ties go in
        alphabetical order. Returns ``self``.

        Example: ``WordTokenizer().train(texts, min_freq=2, max_size=5000)``
        """
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"min_freq must be an integer >= 1, got {min_freq!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size <= len(SPECIAL_TOKENS)):
            raise ValueError(
                f"max_size must be an integer >= {len(SPECIAL_TOKENS) + 1} "
                f"(the {len(SPECIAL_TOKENS)} special tokens and at least one word) or None, "
                f"got {max_size!r}"
            )
        return super().train(texts, min_freq=min_freq, max_size=max_size)

    def _learn(self, pieces: list[str], min_freq: int, max_size: int | None) -> list[str]:
        counts = Counter(word for piece in pieces for word in piece.split())
        words = sorted((w for w, c in counts.items() if c >= min_freq), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max_size - len(SPECIAL_TOKENS)]
        return words

    def _tokenize_plain(self, piece: str) -> list[str]:
        return piece.split()

    def _detokenize(self, tokens: list[str]) -> str:
        return " ".join(tokens)


def _merge(symbols: list[str], pair: tuple[str, str], new: str) -> list[str]:
    """Replace every adjacent ``pair`` in ``symbols`` with the single symbol ``new``.

    Example: ``_merge(["▁", "t", "h", "e"], ("t", "h"), "th") == ["▁", "th", "e"]``
    """
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and symbols[i] == pair[0] and symbols[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


class BPETokenizer(Tokenizer):
    """Byte-pair encoding (Sennrich et al., 2016) over characters.

    Text is first split on whitespace, and each word starts with the marker ``"▁"`` (as in
    SentencePiece), so ``"the cat"`` becomes the symbols ``▁ t h e ▁ c a t``. Training
    starts from the characters seen and repeatedly merges the most frequent adjacent pair
    (``t h -> th``, ``▁ th -> ▁th``, ...) until ``vocab_size`` tokens exist. Encoding
    replays the merges in the order they were learned. A character never seen in training
    becomes ``[UNK]`` inside its word (``"zoo" -> ▁ [UNK] oo``).

    Round trip holds for whitespace-normalised text without unseen characters, and
    without the marker character ``"▁"`` itself (it decodes to a space).

    Attributes:
        merges: list of ``(left, right)`` pairs, in the order they were learned.

    Example:
        >>> tok = BPETokenizer().train(["the cat sat on the mat ."] * 3, vocab_size=30)
        >>> tok.tokenize("the cat")
        ['▁the', '▁cat']
    """

    marker = "▁"  # U+2581, marks the start of a word

    def __init__(self):
        super().__init__()
        self.merges: list[tuple[str, str]] = []
        self._ranks: dict[tuple[str, str], int] = {}
        self._cache: dict[str, list[str]] = {}

    def train(self, texts: Iterable[str], vocab_size: int = 1000, min_frequency: int = 2) -> BPETokenizer:
        """Learn merges until the vocabulary holds ``vocab_size`` tokens (specials and the
        characters seen included), or until no pair occurs ``min_frequency`` times (then the
        vocabulary stays smaller). Returns ``self``.

        Counting runs over a table of distinct words with their frequencies, and each merge
        updates only the pair counts of the words that contain the merged pair, so a
        corpus of thousands of sentences trains in seconds.

        Example: ``BPETokenizer().train(texts, vocab_size=1000)``
        """
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool):
            raise TypeError(f"vocab_size must be an integer, got {type(vocab_size).__name__}")
        if not isinstance(min_frequency, int) or min_frequency < 1:
            raise ValueError(f"min_frequency must be an integer >= 1, got {min_frequency!r}")
        return super().train(texts, vocab_size=vocab_size, min_frequency=min_frequency)

    def _learn(self, pieces: list[str], vocab_size: int, min_frequency: int) -> list[str]:
        word_freqs = Counter(word for piece in pieces for word in piece.split())
        if not word_freqs:
            raise ValueError(
                "texts contain no words (only whitespace and special tokens); nothing to learn from"
            )
        words = sorted(word_freqs)  # sorted: training does not depend on the order of the texts
        freqs = [word_freqs[w] for w in words]
        symbols = [[self.marker, *w] for w in words]  # symbols[i]: word i, cut into its current tokens
        alphabet = sorted({s for syms in symbols for s in syms})
        smallest = len(SPECIAL_TOKENS) + len(alphabet)
        if vocab_size < smallest:
            raise ValueError(
                f"vocab_size must be >= {smallest} (the {len(SPECIAL_TOKENS)} special tokens + the "
                f"{len(alphabet)} characters seen in training, word marker included), got {vocab_size}"
            )

        # counts[pair]: how often the pair occurs in the corpus; where[pair]: the words holding it.
        counts: Counter[tuple[str, str]] = Counter()
        where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
        for i, syms in enumerate(symbols):
            for pair in zip(syms, syms[1:]):
                counts[pair] += freqs[i]
                where[pair].add(i)
        # A max-heap of (-count, pair); an entry whose count is out of date is skipped when
        # popped, so an update only pushes the new count. Ties go to the smaller pair.
        heap = [(-c, pair) for pair, c in counts.items()]
        heapq.heapify(heap)

        vocab = list(alphabet)
        known = set(vocab)
        merges: list[tuple[str, str]] = []
        while len(SPECIAL_TOKENS) + len(vocab) < vocab_size and heap:
            negative_count, pair = heapq.heappop(heap)
            if counts.get(pair, 0) != -negative_count:
                continue  # stale entry
            if -negative_count < min_frequency:
                break
            new = pair[0] + pair[1]
            merges.append(pair)
            if new not in known:  # ("a","bc") and ("ab","c") both make "abc"
                vocab.append(new)
                known.add(new)
            changed = set()
            for i in sorted(where.pop(pair)):
                old = symbols[i]
                merged = _merge(old, pair, new)
                if len(merged) == len(old):
                    continue  # word i lost this pair in an earlier merge
                for p in zip(old, old[1:]):
                    counts[p] -= freqs[i]
                    changed.add(p)
                for p in zip(merged, merged[1:]):
                    counts[p] += freqs[i]
                    where[p].add(i)
                    changed.add(p)
                symbols[i] = merged
            for p in changed:
                if counts[p] > 0:
                    heapq.heappush(heap, (-counts[p], p))
                else:
                    del counts[p]
        self.merges = merges
        self._ranks = {pair: rank for rank, pair in enumerate(merges)}
        self._cache = {}
        return vocab

    def _bpe(self, word: str) -> list[str]:
        """Cut one word into tokens by replaying the merges, earliest learned first.

        Example: ``tok._bpe("the") == ["▁the"]`` once ``▁the`` has been learned
        """
        if word in self._cache:
            return self._cache[word]
        symbols = [self.marker] + [ch if ch in self._ids else self.unk_token for ch in word]
        while len(symbols) > 1:
            pair = min(zip(symbols, symbols[1:]), key=lambda p: self._ranks.get(p, float("inf")))
            if pair not in self._ranks:
                break
            symbols = _merge(symbols, pair, pair[0] + pair[1])
        if len(self._cache) < 100_000:
            self._cache[word] = symbols
        return symbols

    def _tokenize_plain(self, piece: str) -> list[str]:
        return [token for word in piece.split() for token in self._bpe(word)]

    def _detokenize(self, tokens: list[str]) -> str:
        # The marker becomes a space; a special other than [UNK] is a word of its own;
        # [UNK] stands inside its word, where the unseen character was.
        parts = [
            f" {t} " if t in _SPECIAL_SET and t != self.unk_token else t.replace(self.marker, " ")
            for t in tokens
        ]
        return " ".join("".join(parts).split())

    def _extra_state(self) -> dict:
        return {"merges": [list(pair) for pair in self.merges]}

    def _load_extra_state(self, state: dict) -> None:
        merges = state.get("merges")
        if not isinstance(merges, list) or not all(isinstance(m, list) and len(m) == 2 for m in merges):
            raise ValueError("this BPETokenizer file has no valid 'merges' list of [left, right] pairs")
        self.merges = [tuple(m) for m in merges]
        self._ranks = {pair: rank for rank, pair in enumerate(self.merges)}
        self._cache = {}


# ---------------------------------------------------------------------------------------------
# ELMo's input: the characters of every word, and the word ids it predicts
# ---------------------------------------------------------------------------------------------


class ELMoTokenizer:
    """Words to character ids (the input) and word ids (the targets of the softmax).

    Character ids: 0 padding, 1 an unknown character (any character not seen in training),
    2 begin-of-word, 3 end-of-word, 4 the begin-of-sentence mark, 5 the end-of-sentence mark,
    then the characters seen in training. A word becomes ``[bow, c_1, .., c_n, eow]`` padded to
    ``max_word_len``; a word longer than ``max_word_len - 2`` characters keeps its first
    ``max_word_len - 2`` characters (the character window of the CharCNN).

    Word ids come from a :class:`~lmnotes.data.tokenizers.WordTokenizer` (``[BOS]`` = 5 and
    ``[EOS]`` = 6 mark the sentence ends, ``[PAD]`` = 0, unknown words ``[UNK]`` = 1).

    Example::

        tok = ELMoTokenizer().train(["the river bank was old ."])
        b = tok.batch(["the bank was old ."])   # char_ids (1, 7, 16), word_ids (1, 7), lengths (1,)
    """

    pad_char, unk_char, bow_char, eow_char, bos_char, eos_char = range(6)
    n_special_chars = 6

    def __init__(self, max_word_len: int = 16):
        if not isinstance(max_word_len, int) or max_word_len < 3:
            raise ValueError(
                f"max_word_len must be an int >= 3 (begin, one character, end), got {max_word_len!r}"
            )
        self.max_word_len = max_word_len
        self.words = WordTokenizer()
        self.chars: list[str] = []
        self._char_id: dict[str, int] = {}

    def train(self, texts) -> ELMoTokenizer:
        """Learn the word vocabulary and the character set from ``texts`` (strings). Returns ``self``."""
        texts = list(texts)
        self.words.train(texts)
        self.chars = sorted({c for t in texts for c in t if not c.isspace()})
        self._char_id = {c: i + self.n_special_chars for i, c in enumerate(self.chars)}
        return self

    @property
    def n_chars(self) -> int:
        return self.n_special_chars + len(self.chars)

    @property
    def vocab_size(self) -> int:
        return self.words.vocab_size

    def word_to_chars(self, word: str) -> list[int]:
        """``max_word_len`` character ids of one word (truncated, unknown characters -> 1, padded with 0)."""
        if word == "[BOS]":
            body = [self.bos_char]
        elif word == "[EOS]":
            body = [self.eos_char]
        else:
            body = [self._char_id.get(c, self.unk_char) for c in word[: self.max_word_len - 2]]
        ids = [self.bow_char] + body + [self.eow_char]
        return ids + [self.pad_char] * (self.max_word_len - len(ids))

    def split(self, sentence) -> list[str]:
        """A sentence (a string or a list of words) as its list of words; an empty one is an error."""
        if isinstance(sentence, str):
            words = sentence.split()
        elif isinstance(sentence, (list, tuple)) and all(isinstance(w, str) for w in sentence):
            words = list(sentence)
        else:
            raise TypeError(f"a sentence must be a string or a list of words, got {type(sentence).__name__}")
        if not words:
            raise ValueError(
                f"the sentence is empty; the biLM needs at least one word to read (got {sentence!r})"
            )
        return words

    def encode(self, sentence) -> tuple[torch.Tensor, torch.Tensor]:
        """``(char_ids (N+2, max_word_len), word_ids (N+2,))`` for ``<S> w_1 .. w_N </S>``.

        Example: ``chars, ids = tok.encode("the bank was old .")``
        """
        words = ["[BOS]"] + self.split(sentence) + ["[EOS]"]
        chars = torch.tensor([self.word_to_chars(w) for w in words], dtype=torch.long)
        ids = torch.tensor(
            [self.words.token_to_id(w) if w in self.words._ids else self.words.unk_id for w in words],
            dtype=torch.long,
        )
        return chars, ids

    def batch(self, sentences) -> dict:
        """Pad several sentences (right side): ``char_ids (B, T, W)``, ``word_ids (B, T)``, ``lengths (B,)``.

        ``T`` is the longest sentence plus 2 (``<S>``, ``</S>``). Example: ``tok.batch(["a b .", "c ."])``
        """
        if isinstance(sentences, str):
            raise TypeError(
                "sentences must be a list of sentences; wrap a single sentence in a list: [sentence]"
            )
        enc = [self.encode(s) for s in sentences]
        if not enc:
            raise ValueError("sentences is empty; give at least one sentence")
        words = pad_batch([ids for _, ids in enc], pad_id=self.words.pad_id)
        # characters: each sentence is (N + 2, max_word_len); a padding word is all pad_char (0)
        char_ids = torch.nn.utils.rnn.pad_sequence(
            [c for c, _ in enc], batch_first=True, padding_value=self.pad_char
        )
        return {
            "char_ids": char_ids,
            "word_ids": words["input_ids"],
            "lengths": words["attention_mask"].sum(1),
        }

    def __repr__(self):
        return (
            f"ELMoTokenizer({self.vocab_size} words, {len(self.chars)} characters, "
            f"max_word_len={self.max_word_len})"
        )

    def to_json(self) -> str:
        """The tokenizer as JSON: its character set, word length and word vocabulary.

        Example: ``ELMoTokenizer.from_json(tok.to_json())``
        """
        return json.dumps(
            {
                "format": "lmnotes-elmo-tokenizer",
                "version": 1,
                "max_word_len": self.max_word_len,
                "chars": self.chars,
                "words": self.words.to_dict(),
            },
            ensure_ascii=False,
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str, source: str = "this JSON") -> ELMoTokenizer:
        """Rebuild a tokenizer from :meth:`to_json`'s string. Example: ``ELMoTokenizer.from_json(s)``"""
        try:
            state = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(
                f"{source} is not an ELMoTokenizer saved by lmnotes: it is not JSON ({err})"
            ) from None
        if (
            not isinstance(state, dict)
            or state.get("format") != "lmnotes-elmo-tokenizer"
            or state.get("version") != 1
        ):
            raise ValueError(
                f"{source} is not an ELMoTokenizer saved by lmnotes (ELMoTokenizer.save writes one)"
            )
        chars = state.get("chars")
        if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError(f"{source}: 'chars' must be a list of single characters")
        tok = cls(state.get("max_word_len"))
        tok.words = WordTokenizer.from_dict(state.get("words"), f"{source} (its word vocabulary)")
        tok.chars = chars
        tok._char_id = {c: i + cls.n_special_chars for i, c in enumerate(chars)}
        return tok

    def save(self, path) -> None:
        """Write the tokenizer to ``path`` as JSON. Example: ``tok.save("elmo-tok.json")``"""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path) -> ELMoTokenizer:
        """Read a tokenizer written by :meth:`save`. Example: ``ELMoTokenizer.load("elmo-tok.json")``"""
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read(), repr(str(path)))

    def __eq__(self, other) -> bool:
        return (
            type(other) is type(self)
            and self.max_word_len == other.max_word_len
            and self.chars == other.chars
            and self.words == other.words
        )
