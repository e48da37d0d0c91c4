"""ELMo (Peters et al., 2018): a bidirectional LSTM language model and a learned mix of its layers.

The chapter's pieces, in the order a reader meets them:

* :class:`ELMoTokenizer` turns words into **characters** (the model's input) and into **word ids**
  (the softmax's targets). A sentence ``w_1 .. w_N`` becomes ``<S> w_1 .. w_N </S>``.
* :class:`CharCNN` builds a context-independent token vector ``x_k`` from the characters of word ``k``:
  character embeddings, convolutions of several widths, max-pooling over characters, two highway
  layers and a projection to the LSTM size ``d``.
* :class:`BiLM`: a forward LM (two LSTM layers reading left to right) and a backward LM (two more,
  reading right to left), each its own stack, a residual connection from the first to the second
  layer, and one softmax shared by both directions. Training maximises

  .. math:: \\sum_k \\log p(t_k \\mid t_1..t_{k-1}) + \\log p(t_k \\mid t_{k+1}..t_N).

* :meth:`BiLM.layers` returns the three representations the paper mixes,
  ``h_{k,0} = [x_k; x_k]``, ``h_{k,j} = [→h_{k,j}; ←h_{k,j}]`` for ``j = 1, 2``.
* :class:`ScalarMix`: ``ELMo_k = γ Σ_j s_j h_{k,j}`` with ``s = softmax(w)``, learned per task.

Example::

    model, tok = lmnotes.pretrained("elmo-world")
    batch = tok.batch(["the river bank was old ."])
    h = model.layers(batch["char_ids"])          # (3, 1, 8, 2d): <S>, 6 words, </S>
"""
from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.tokenizers import WordTokenizer

__all__ = ["ELMoConfig", "ELMoTokenizer", "CharCNN", "Highway", "BiLM", "ScalarMix", "lm_batches",
           "perplexity", "ngram_perplexity", "contextual_vectors", "nearest_neighbours", "pretrain", "ELMO_WORLD", "lm_targets", "fit_scalar_mix", "predict_scalar_mix", "ScratchClassifier", "scratch_accuracy",
           "reverse_padded"]


# ---------------------------------------------------------------------------------------------
# Words -> characters
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
            raise ValueError(f"max_word_len must be an int >= 3 (begin, one character, end), got {max_word_len!r}")
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
            raise ValueError("the sentence is empty; the biLM needs at least one word to read "
                             f"(got {sentence!r})")
        return words

    def encode(self, sentence) -> tuple[torch.Tensor, torch.Tensor]:
        """``(char_ids (N+2, max_word_len), word_ids (N+2,))`` for ``<S> w_1 .. w_N </S>``.

        Example: ``chars, ids = tok.encode("the bank was old .")``
        """
        words = ["[BOS]"] + self.split(sentence) + ["[EOS]"]
        chars = torch.tensor([self.word_to_chars(w) for w in words], dtype=torch.long)
        ids = torch.tensor([self.words.token_to_id(w) if w in self.words._ids else self.words.unk_id
                            for w in words], dtype=torch.long)
        return chars, ids

    def batch(self, sentences) -> dict:
        """Pad several sentences (right side): ``char_ids (B, T, W)``, ``word_ids (B, T)``, ``lengths (B,)``.

        ``T`` is the longest sentence plus 2 (``<S>``, ``</S>``). Example: ``tok.batch(["a b .", "c ."])``
        """
        if isinstance(sentences, str):
            raise TypeError("sentences must be a list of sentences; wrap a single sentence in a list: [sentence]")
        enc = [self.encode(s) for s in sentences]
        if not enc:
            raise ValueError("sentences is empty; give at least one sentence")
        T = max(len(ids) for _, ids in enc)
        char_ids = torch.zeros(len(enc), T, self.max_word_len, dtype=torch.long)
        word_ids = torch.zeros(len(enc), T, dtype=torch.long)
        for b, (c, ids) in enumerate(enc):
            char_ids[b, : len(ids)] = c
            word_ids[b, : len(ids)] = ids
        return {"char_ids": char_ids, "word_ids": word_ids,
                "lengths": torch.tensor([len(ids) for _, ids in enc])}

    def __repr__(self):
        return (f"ELMoTokenizer({self.vocab_size} words, {len(self.chars)} characters, "
                f"max_word_len={self.max_word_len})")

    def to_json(self) -> str:
        """The tokenizer as JSON: its character set, word length and word vocabulary.

        Example: ``ELMoTokenizer.from_json(tok.to_json())``
        """
        return json.dumps({"format": "lmnotes-elmo-tokenizer", "version": 1, "max_word_len": self.max_word_len,
                           "chars": self.chars, "words": self.words.to_dict()}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str, source: str = "this JSON") -> ELMoTokenizer:
        """Rebuild a tokenizer from :meth:`to_json`'s string. Example: ``ELMoTokenizer.from_json(s)``"""
        try:
            state = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{source} is not an ELMoTokenizer saved by lmnotes: it is not JSON ({err})") from None
        if not isinstance(state, dict) or state.get("format") != "lmnotes-elmo-tokenizer" or state.get("version") != 1:
            raise ValueError(f"{source} is not an ELMoTokenizer saved by lmnotes (ELMoTokenizer.save writes one)")
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
        return (type(other) is type(self) and self.max_word_len == other.max_word_len
                and self.chars == other.chars and self.words == other.words)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

@dataclass
class ELMoConfig:
    """Sizes of a :class:`BiLM`. ``d`` is the LSTM size and the token vector size (the paper: 4096-unit
    LSTMs projected to 512; here one size ``d``). ``filters``: (width, number) of each convolution."""

    vocab_size: int = 256
    n_chars: int = 64
    max_word_len: int = 16
    char_dim: int = 16
    filters: tuple = ((1, 32), (2, 32), (3, 64), (4, 64))
    n_highway: int = 2
    d: int = 128
    dropout: float = 0.1

    def __post_init__(self):
        self.filters = tuple(tuple(int(v) for v in f) for f in self.filters)
        for name in ("vocab_size", "n_chars", "max_word_len", "char_dim", "d"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be an int >= 1, got {v!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        for w, n in self.filters:
            if not 1 <= w <= self.max_word_len or n < 1:
                raise ValueError(f"each filter needs width in [1, max_word_len={self.max_word_len}] and "
                                 f"number >= 1, got ({w}, {n})")


class Highway(nn.Module):
    """``y = g ⊙ relu(W_h x) + (1 - g) ⊙ x`` with ``g = σ(W_g x)``: a gated skip (Srivastava et al., 2015)."""

    def __init__(self, dim: int):
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.constant_(self.gate.bias, -1.0)  # start by mostly carrying x through, as the paper's code does

    def forward(self, x):
        g = torch.sigmoid(self.gate(x))
        return g * F.relu(self.transform(x)) + (1 - g) * x


class CharCNN(nn.Module):
    """The token encoder: characters of each word -> one context-independent vector ``x_k`` of size ``d``.

    ``char_ids`` (B, T, W) -> (B, T, d). Example: ``CharCNN(ELMoConfig())(torch.ones(2, 5, 16).long())``
    """

    def __init__(self, config: ELMoConfig):
        super().__init__()
        self.char_embedding = nn.Embedding(config.n_chars, config.char_dim, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(config.char_dim, n, w) for w, n in config.filters)
        n_filters = sum(n for _, n in config.filters)
        self.highways = nn.ModuleList(Highway(n_filters) for _ in range(config.n_highway))
        self.projection = nn.Linear(n_filters, config.d)

    def forward(self, char_ids):
        B, T, W = char_ids.shape
        # A batch repeats the same words many times: encode each distinct word once, then copy (same result).
        words, inverse = torch.unique(char_ids.reshape(B * T, W), dim=0, return_inverse=True)  # (U, W), (B*T,)
        return self.encode_words(words)[inverse].reshape(B, T, -1)  # (B, T, d)

    def encode_words(self, char_ids):
        """(U, W) character ids of U words -> (U, d) token vectors."""
        e = self.char_embedding(char_ids).transpose(1, 2)  # (U, char_dim, W)
        # max over character positions: each filter says how strongly its n-gram occurs anywhere in the word
        h = torch.cat([conv(e).amax(dim=-1) for conv in self.convs], dim=-1)  # (B*T, n_filters)
        h = F.relu(h)
        for hw in self.highways:
            h = hw(h)
        return self.projection(h)  # (U, d)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence of ``x`` (B, T, ...) within its length; padding stays at the end.

    Running a left-to-right LSTM on the result reads every sentence right to left, and the padding
    comes after the real tokens, so it never leaks into them. Example: ``reverse_padded(x, torch.tensor([3, 2]))``
    """
    T = x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(0)  # (1, T)
    lengths = lengths.to(x.device).unsqueeze(1)  # (B, 1)
    idx = torch.where(t < lengths, lengths - 1 - t, t)  # (B, T)
    idx = idx.reshape(*idx.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


class BiLM(nn.Module):
    """The bidirectional LSTM language model.

    ``forward(char_ids (B, T, W), word_ids (B, T))`` -> ``{"loss", "forward_loss", "backward_loss"}``
    (mean cross-entropies in nats; ``exp`` of each is that direction's perplexity).
    ``layers(char_ids)`` -> (3, B, T, 2d). Example: ``BiLM(ELMoConfig(vocab_size=100))``
    """

    def __init__(self, config: ELMoConfig):
        super().__init__()
        self.config = config
        d = config.d
        self.token_encoder = CharCNN(config)  # shared by both directions
        # Two separate stacks: each direction's second layer sees only its own first layer.
        self.forward_lstms = nn.ModuleList(nn.LSTM(d, d, batch_first=True) for _ in range(2))
        self.backward_lstms = nn.ModuleList(nn.LSTM(d, d, batch_first=True) for _ in range(2))
        self.drop = nn.Dropout(config.dropout)
        self.softmax = nn.Linear(d, config.vocab_size)  # one softmax, shared by both directions

    @staticmethod
    def lengths_of(char_ids: torch.Tensor) -> torch.Tensor:
        """Sentence lengths (B,) from right-padded ``char_ids`` (a padding token has only zeros)."""
        return (char_ids[..., 0] != 0).sum(dim=1)

    def _stack(self, lstms, x):
        h1, _ = lstms[0](self.drop(x))  # (B, T, d)
        h2, _ = lstms[1](self.drop(h1))
        return h1, h2 + h1  # residual connection from the first to the second layer

    def states(self, char_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> dict:
        """Every hidden state: ``x`` (B, T, d), ``forward`` and ``backward``: lists of 2 tensors (B, T, d).

        ``forward[j][:, k]`` has read tokens ``0..k``; ``backward[j][:, k]`` tokens ``k..end``.
        """
        if char_ids.dim() != 3:
            raise ValueError(f"char_ids must have shape (B, T, max_word_len), got {tuple(char_ids.shape)}; "
                             "make it with ELMoTokenizer.batch")
        if char_ids.shape[1] == 0:
            raise ValueError("char_ids holds no token (T = 0); a sentence needs at least one word")
        lengths = self.lengths_of(char_ids) if lengths is None else lengths
        x = self.token_encoder(char_ids)  # (B, T, d)
        fwd = self._stack(self.forward_lstms, x)
        bwd = self._stack(self.backward_lstms, reverse_padded(x, lengths))
        bwd = tuple(reverse_padded(h, lengths) for h in bwd)  # back to left-to-right order
        return {"x": x, "forward": list(fwd), "backward": list(bwd)}

    def layers(self, char_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The representations ELMo mixes: (3, B, T, 2d) = ``[x; x]``, ``[→h_1; ←h_1]``, ``[→h_2; ←h_2]``.

        Example: ``h = model.layers(tok.batch(["the bank was old ."])["char_ids"])``
        """
        s = self.states(char_ids, lengths)
        x = s["x"]
        return torch.stack([torch.cat([x, x], -1)] +
                           [torch.cat([f, b], -1) for f, b in zip(s["forward"], s["backward"])])

    def logits(self, char_ids, lengths=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(forward_logits, backward_logits)``, each (B, T, vocab): position k of the forward one scores
        token k+1, of the backward one token k-1. Both come from the same ``self.softmax``."""
        s = self.states(char_ids, lengths)
        return self.softmax(self.drop(s["forward"][-1])), self.softmax(self.drop(s["backward"][-1]))

    def forward(self, char_ids, word_ids, lengths=None) -> dict:
        f_logits, b_logits = self.logits(char_ids, lengths)
        f_target, b_target = lm_targets(word_ids)
        V = f_logits.shape[-1]
        f_loss = F.cross_entropy(f_logits.float().reshape(-1, V), f_target.reshape(-1), ignore_index=0)
        b_loss = F.cross_entropy(b_logits.float().reshape(-1, V), b_target.reshape(-1), ignore_index=0)
        return {"loss": (f_loss + b_loss) / 2, "forward_loss": f_loss.detach(), "backward_loss": b_loss.detach()}


def lm_targets(word_ids: torch.Tensor, pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets of both LMs for right-padded ``word_ids`` (B, T), as (B, T) tensors (``pad_id`` = no target).

    Forward: position k predicts token k+1 (the last position has none). Backward: position k predicts
    token k-1 (the first position, ``<S>``, has none; nor has a padding position).
    Example: ``lm_targets(torch.tensor([[5, 9, 8, 6]]))  # ([[9, 8, 6, 0]], [[0, 5, 9, 8]])``
    """
    pad = torch.full_like(word_ids[:, :1], pad_id)
    forward = torch.cat([word_ids[:, 1:], pad], dim=1)
    backward = torch.cat([pad, word_ids[:, :-1]], dim=1)
    backward = backward.masked_fill(word_ids == pad_id, pad_id)  # no prediction from a padding position
    return forward, backward


class ScalarMix(nn.Module):
    """``ELMo^task = γ Σ_j s_j h_j`` with ``s = softmax(w)``; ``w`` starts at zero (uniform), ``γ`` at 1.

    ``layers`` (L, ..., D) (a stacked tensor or a list of L equal-shaped tensors) -> (..., D).
    Example: ``ScalarMix(3)(model.layers(char_ids))  # (B, T, 2d)``
    """

    def __init__(self, n_layers: int = 3):
        super().__init__()
        if not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers must be an int >= 1, got {n_layers!r}")
        self.w = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    @property
    def weights(self) -> torch.Tensor:
        """The normalised layer weights ``s = softmax(w)`` (they sum to 1)."""
        return torch.softmax(self.w, dim=0)

    def forward(self, layers):
        if isinstance(layers, (list, tuple)):
            layers = torch.stack(list(layers))
        if layers.shape[0] != self.w.shape[0]:
            raise ValueError(f"ScalarMix was built for {self.w.shape[0]} layers but got {layers.shape[0]}")
        s = self.weights.to(layers.dtype).reshape(-1, *([1] * (layers.dim() - 1)))
        return self.gamma * (s * layers).sum(dim=0)


# ---------------------------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------------------------

def lm_batches(tok: ELMoTokenizer, sentences, batch_size: int = 64, seed: int = 0):
    """``get_batch(step) -> {"char_ids", "word_ids", "lengths"}`` over ``sentences``, for :func:`lmnotes.train.fit`.

    Sentences are encoded once; each step draws ``batch_size`` of them (a fresh shuffle every epoch,
    fixed by ``seed``) and trims the padding to the longest one.
    Example: ``fit(model, lm_batches(tok, texts), steps=100)``
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    data = tok.batch(list(sentences))
    n = len(data["lengths"])
    g = torch.Generator().manual_seed(seed)
    per_epoch = max(1, n // batch_size)
    orders: dict[int, torch.Tensor] = {}

    def get_batch(step: int) -> dict:
        epoch, i = divmod(step, per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = torch.randperm(n, generator=g)
        idx = orders[epoch][i * batch_size:(i + 1) * batch_size]
        T = int(data["lengths"][idx].max())
        return {"char_ids": data["char_ids"][idx, :T], "word_ids": data["word_ids"][idx, :T],
                "lengths": data["lengths"][idx]}

    return get_batch


@torch.no_grad()
def perplexity(model: BiLM, tok: ELMoTokenizer, sentences, batch_size: int = 256) -> dict[str, float]:
    """Token-level perplexity of each direction on ``sentences``: ``{"forward": .., "backward": ..}``.

    Every word and the sentence end (forward) or start (backward) are predicted once.
    Example: ``perplexity(model, tok, ds["validation"]["text"])``
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    sentences = list(sentences)
    total = {"forward": 0.0, "backward": 0.0}
    count = 0
    for i in range(0, len(sentences), batch_size):
        b = tok.batch(sentences[i:i + batch_size])
        f_logits, b_logits = model.logits(b["char_ids"].to(device), b["lengths"].to(device))
        f_t, b_t = (t.to(device) for t in lm_targets(b["word_ids"]))
        V = f_logits.shape[-1]
        total["forward"] += F.cross_entropy(f_logits.float().reshape(-1, V), f_t.reshape(-1), ignore_index=0,
                                            reduction="sum").item()
        total["backward"] += F.cross_entropy(b_logits.float().reshape(-1, V), b_t.reshape(-1), ignore_index=0,
                                             reduction="sum").item()
        count += int((f_t != 0).sum())
    model.train(was)
    return {k: math.exp(v / count) for k, v in total.items()}


def ngram_perplexity(train, test, n: int = 2, direction: str = "forward", k: float = 0.1) -> float:
    """Perplexity of an add-``k`` smoothed unigram (``n=1``) or bigram (``n=2``) model, as a baseline.

    ``train``/``test``: sentences (strings or word lists). The same tokens are scored as by
    :func:`perplexity`: every word plus ``</S>`` (forward; the previous word is the context) or
    ``<S>`` (backward; the next word is the context).
    Example: ``ngram_perplexity(ds["train"]["text"], ds["validation"]["text"], n=2)``
    """
    if n not in (1, 2):
        raise ValueError(f"n must be 1 (unigram) or 2 (bigram), got {n!r}")
    if direction not in ("forward", "backward"):
        raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
    if k <= 0:
        raise ValueError(f"k (add-k smoothing) must be > 0, got {k}")

    def seqs(sents):
        for s in sents:
            w = ["<S>"] + (s.split() if isinstance(s, str) else list(s)) + ["</S>"]
            yield w if direction == "forward" else w[::-1]

    vocab = {w for s in seqs(train) for w in s} | {"<UNK>"}
    unigram, bigram, context = Counter(), Counter(), Counter()
    for s in seqs(train):
        for a, b in zip(s, s[1:]):
            unigram[b] += 1
            bigram[a, b] += 1
            context[a] += 1
    V, N = len(vocab), sum(unigram.values())
    nll, count = 0.0, 0
    for s in seqs(test):
        s = [w if w in vocab else "<UNK>" for w in s]
        for a, b in zip(s, s[1:]):
            if n == 1:
                p = (unigram[b] + k) / (N + k * V)
            else:
                p = (bigram[a, b] + k) / (context[a] + k * V)
            nll -= math.log(p)
            count += 1
    return math.exp(nll / count)


@torch.no_grad()
def contextual_vectors(model: BiLM, tok: ELMoTokenizer, sentences, index=None, batch_size: int = 256):
    """The three layers' vectors of words in ``sentences``.

    With ``index`` (one word position per sentence, counting words from 0, ``<S>`` excluded): a tensor
    (3, N, 2d), the vectors of word ``index[i]`` of sentence ``i``. Without: a list with one tensor
    (3, n_words_i, 2d) per sentence. Vectors are returned on the CPU in float32.
    Example: ``v = contextual_vectors(model, tok, ["the river bank was old ."], index=[2])  # (3, 1, 2d)``
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    sentences = list(sentences)
    if index is not None and len(index) != len(sentences):
        raise ValueError(f"index needs one position per sentence: {len(index)} positions, {len(sentences)} sentences")
    out = []
    for i in range(0, len(sentences), batch_size):
        chunk = sentences[i:i + batch_size]
        b = tok.batch(chunk)
        h = model.layers(b["char_ids"].to(device), b["lengths"].to(device)).float().cpu()  # (3, B, T, 2d)
        for j in range(len(chunk)):
            n_words = int(b["lengths"][j]) - 2
            if index is None:
                out.append(h[:, j, 1:1 + n_words])
            else:
                k = int(index[i + j])
                if not 0 <= k < n_words:
                    raise ValueError(f"index[{i + j}] = {k} is outside sentence {i + j}, which has {n_words} words")
                out.append(h[:, j, 1 + k])
    model.train(was)
    return torch.stack(out, dim=1) if index is not None else out


def nearest_neighbours(model: BiLM, tok: ELMoTokenizer, sentence, index: int, pool, k: int = 5,
                       pool_vectors=None) -> list[list[tuple[float, str]]]:
    """For word ``index`` of ``sentence``, the ``k`` nearest word occurrences in ``pool`` in each layer.

    ``pool``: sentences (strings). Returns one list per layer of ``(cosine similarity, text)`` where the
    text is the pool sentence with the neighbour in brackets. ``pool_vectors`` (from
    ``contextual_vectors(model, tok, pool)``) saves recomputing the pool.
    Example: ``nearest_neighbours(model, tok, "the river bank was old .", 2, pool)[2][0]``
    """
    words = tok.split(sentence)
    if not 0 <= index < len(words):
        raise ValueError(f"index must be in [0, {len(words) - 1}] for a sentence of {len(words)} words, got {index}")
    pool = [p if isinstance(p, str) else " ".join(p) for p in pool]
    pool_vectors = pool_vectors if pool_vectors is not None else contextual_vectors(model, tok, pool)
    where = [(s, t) for s, v in enumerate(pool_vectors) for t in range(v.shape[1])]
    P = F.normalize(torch.cat(list(pool_vectors), dim=1), dim=-1)  # (3, M, 2d)
    q = F.normalize(contextual_vectors(model, tok, [words], index=[index])[:, 0], dim=-1)  # (3, 2d)
    sims = torch.einsum("lmd,ld->lm", P, q)
    out = []
    for layer in range(sims.shape[0]):
        top = sims[layer].topk(min(k, sims.shape[1]))
        row = []
        for sim, m in zip(top.values.tolist(), top.indices.tolist()):
            s, t = where[m]
            w = pool[s].split()
            row.append((sim, " ".join(w[:t] + [f"[{w[t]}]"] + w[t + 1:])))
        out.append(row)
    return out


def fit_scalar_mix(layers, labels, steps: int = 300, lr: float = 0.02, seed: int = 0):
    """Learn a task's :class:`ScalarMix` and a linear classifier on frozen biLM layers; returns ``(mix, classifier)``.

    ``layers`` (L, N, D): the vectors of N labelled examples; ``labels`` (N,) class ids. Each layer is
    centred (its mean over the N examples) and divided by **one** number, its root-mean-square deviation,
    so that the weights ``s_j`` compare layers rather than their scales (the paper adds layer normalisation
    for the same reason). One number per layer, not one per feature: with a handful of labels a feature's
    standard deviation is a poor estimate, and dividing by a tiny one blows that feature up on new examples.
    A layer that is the same for every example (layer 0 of one word) becomes zeros and carries nothing.
    Predict with :func:`predict_scalar_mix`.
    Example: ``mix, clf = fit_scalar_mix(contextual_vectors(model, tok, sents, index), y); mix.weights``
    """
    layers = torch.as_tensor(layers).float()
    labels = torch.as_tensor(labels).long()
    if layers.dim() != 3 or layers.shape[1] != len(labels):
        raise ValueError(f"layers must be (L, N, D) with N = len(labels) = {len(labels)}, got {tuple(layers.shape)}")
    if len(labels) < 2:
        raise ValueError(f"labels must hold at least 2 examples, got {len(labels)}")
    g = torch.Generator().manual_seed(seed)
    mix = ScalarMix(layers.shape[0])
    mean = layers.mean(dim=1, keepdim=True)  # (L, 1, D)
    mix.register_buffer("layer_mean", mean)
    mix.register_buffer("layer_scale", (layers - mean).pow(2).mean(dim=(1, 2), keepdim=True).sqrt() + 1e-6)  # (L, 1, 1)
    clf = nn.Linear(layers.shape[-1], int(labels.max()) + 1)
    with torch.no_grad():
        clf.weight.copy_(torch.randn(clf.weight.shape, generator=g) * 0.01)
        clf.bias.zero_()
    opt = torch.optim.Adam(list(mix.parameters()) + list(clf.parameters()), lr=lr)
    x = (layers - mix.layer_mean) / mix.layer_scale
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(clf(mix(x)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return mix, clf


@torch.no_grad()
def predict_scalar_mix(mix: ScalarMix, clf: nn.Module, layers) -> torch.Tensor:
    """Class ids (N,) for ``layers`` (L, N, D) with a mix and classifier from :func:`fit_scalar_mix`."""
    return clf(mix((torch.as_tensor(layers).float() - mix.layer_mean) / mix.layer_scale)).argmax(-1)


class ScratchClassifier(nn.Module):
    """A task model trained from scratch: word embeddings -> one biLSTM -> a linear layer at one word.

    The comparison for ELMo's data efficiency: the same kind of task model, with no pretraining.
    ``forward(word_ids (B, T), index (B,))`` -> logits (B, n_classes).
    """

    def __init__(self, vocab_size: int, n_classes: int, d: int = 32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d, padding_idx=0)
        self.lstm = nn.LSTM(d, d, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * d, n_classes)

    def forward(self, word_ids, index):
        h, _ = self.lstm(self.embedding(word_ids))  # (B, T, 2d)
        return self.out(h[torch.arange(len(index)), index])


def scratch_accuracy(tok: ELMoTokenizer, train_sents, train_index, train_y, test_sents, test_index, test_y,
                     d: int = 32, steps: int = 200, lr: float = 1e-2, seed: int = 0) -> float:
    """Train a :class:`ScratchClassifier` on the labelled words and return its test accuracy.

    Sentences are word lists; ``*_index`` counts words from 0. Example: see the chapter's data-efficiency plot.
    """
    torch.manual_seed(seed)
    tr, te = tok.batch(train_sents), tok.batch(test_sents)
    ytr, yte = torch.as_tensor(train_y).long(), torch.as_tensor(test_y).long()
    model = ScratchClassifier(tok.vocab_size, int(max(ytr.max(), yte.max())) + 1, d)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    itr, ite = torch.as_tensor(train_index) + 1, torch.as_tensor(test_index) + 1  # +1: <S>
    with torch.enable_grad():
        for _ in range(steps):
            loss = F.cross_entropy(model(tr["word_ids"], itr), ytr)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((model(te["word_ids"], ite).argmax(-1) == yte).float().mean())


# ---------------------------------------------------------------------------------------------
# The pretrained biLM the chapter reuses
# ---------------------------------------------------------------------------------------------

ELMO_WORLD = {"n_sentences": 4000, "d": 64, "steps": 600, "batch_size": 32, "lr": 3e-3, "seed": 0}


def pretrain(config: dict, progress: bool = True):
    """Train a :class:`BiLM` on the world's general corpus; returns ``(model, tokenizer)``.

    The model carries ``model.history`` (the training curves, a ``History.to_dict()``) and
    ``model.perplexity`` (validation perplexity of each direction). Deterministic for a given config.
    Example: ``model, tok = pretrain({**ELMO_WORLD, "steps": 50})``
    """
    from ..data import corpus
    from ..train import fit

    torch.manual_seed(config["seed"])
    ds = corpus(config["n_sentences"], seed=config["seed"])
    tok = ELMoTokenizer().train(ds["train"]["text"])
    model = BiLM(ELMoConfig(vocab_size=tok.vocab_size, n_chars=tok.n_chars, max_word_len=tok.max_word_len,
                            d=config["d"]))
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    model.to(device)
    val = ds["validation"]["text"]

    def eval_fn(m):
        ppl = perplexity(m, tok, val)
        return {"forward_ppl": ppl["forward"], "backward_ppl": ppl["backward"]}

    history = fit(model, lm_batches(tok, ds["train"]["text"], config["batch_size"], config["seed"]),
                  steps=config["steps"], lr=config["lr"], weight_decay=0.01, warmup=0.05,
                  eval_fn=eval_fn, eval_every=max(1, config["steps"] // 8), progress=progress,
                  desc="biLM pretraining")
    model.history = history.to_dict()
    model.perplexity = perplexity(model, tok, val)
    return model.cpu().eval(), tok


try:  # registering needs the package's zoo; importing this module alone must not fail without it
    from ..zoo import register

    register("elmo-world", config=ELMO_WORLD)(pretrain)
except ImportError:  # pragma: no cover
    pass
