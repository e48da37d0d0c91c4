"""ELMo (Peters et al., 2018): a bidirectional LSTM language model and a learned mix of its layers.

The chapter's pieces, in the order a reader meets them:

* The input: :class:`~lmnotes.data.tokenizers.ELMoTokenizer` turns words into **characters** (the model's
  input) and into **word ids** (the softmax's targets); ``w_1 .. w_N`` becomes ``<S> w_1 .. w_N </S>``.
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

Pretraining on the world is in :mod:`lmnotes.recipes.elmo`; fitting a mix to a task in :mod:`lmnotes.analysis`.

Example::

    model, tok = lmnotes.pretrained("elmo-world")
    batch = tok.batch(["the river bank was old ."])
    h = model.layers(batch["char_ids"])          # (3, 1, 8, 2d): <S>, 6 words, </S>
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .common import check_config

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
        check_config(self, ("vocab_size", "n_chars", "max_word_len", "char_dim", "d"))
        for w, n in self.filters:
            if not 1 <= w <= self.max_word_len or n < 1:
                raise ValueError(
                    f"each filter needs width in [1, max_word_len={self.max_word_len}] and "
                    f"number >= 1, got ({w}, {n})"
                )


class Highway(nn.Module):
    """``y = g ⊙ relu(W_h x) + (1 - g) ⊙ x`` with ``g = σ(W_g x)``: a gated skip (Srivastava et al., 2015)."""

    def __init__(self, dim: int):
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.constant_(
            self.gate.bias, -1.0
        )  # start by mostly carrying x through, as the paper's code does

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
        words, inverse = torch.unique(
            char_ids.reshape(B * T, W), dim=0, return_inverse=True
        )  # (U, W), (B*T,)
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


@dataclass
class BiLMOutput:
    """What :meth:`BiLM.forward` returns: each field always of the shape given here, ``None`` when not asked for.

    ``forward_logits``, ``backward_logits`` (B, T, V): position ``k`` of the forward one scores token ``k+1``, of
    the backward one token ``k-1``; both come from the one shared softmax. With ``word_ids``: ``forward_loss`` and
    ``backward_loss``, each direction's mean cross-entropy in nats (``exp`` of it is its perplexity; detached,
    for logging), and ``loss``, their mean (what training minimises). With ``output_hidden_states``:
    ``hidden_states`` (3, B, T, 2d), the representations ELMo mixes (:meth:`BiLM.layers`).
    """

    forward_logits: torch.Tensor
    backward_logits: torch.Tensor
    loss: torch.Tensor | None = None
    forward_loss: torch.Tensor | None = None
    backward_loss: torch.Tensor | None = None
    hidden_states: torch.Tensor | None = None


class BiLM(nn.Module):
    """The bidirectional LSTM language model.

    ``forward(char_ids (B, T, W), word_ids (B, T))`` -> :class:`BiLMOutput` (logits of both directions, their
    losses); ``layers(char_ids)`` -> (3, B, T, 2d). Example: ``BiLM(ELMoConfig(vocab_size=100))``
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
            raise ValueError(
                f"char_ids must have shape (B, T, max_word_len), got {tuple(char_ids.shape)}; "
                "make it with ELMoTokenizer.batch"
            )
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
        return self._layers(self.states(char_ids, lengths))

    @staticmethod
    def _layers(s: dict) -> torch.Tensor:
        x = s["x"]
        return torch.stack(
            [torch.cat([x, x], -1)] + [torch.cat([f, b], -1) for f, b in zip(s["forward"], s["backward"])]
        )

    def forward(
        self,
        char_ids: torch.Tensor,
        word_ids: torch.Tensor | None = None,
        lengths: torch.Tensor | None = None,
        *,
        output_hidden_states: bool = False,
    ) -> BiLMOutput:
        """char_ids (B, T, W), word_ids (B, T) (the targets, optional), lengths (B,) -> :class:`BiLMOutput`.

        Example: ``model(b["char_ids"], b["word_ids"]).loss.backward()``
        """
        s = self.states(char_ids, lengths)
        # Both directions share self.softmax: one output matrix scores the next word and the previous word.
        out = BiLMOutput(
            self.softmax(self.drop(s["forward"][-1])),
            self.softmax(self.drop(s["backward"][-1])),
            hidden_states=self._layers(s) if output_hidden_states else None,
        )
        if word_ids is not None:
            f_target, b_target = lm_targets(word_ids)
            V = out.forward_logits.shape[-1]
            f_loss = F.cross_entropy(
                out.forward_logits.float().reshape(-1, V), f_target.reshape(-1), ignore_index=0
            )
            b_loss = F.cross_entropy(
                out.backward_logits.float().reshape(-1, V), b_target.reshape(-1), ignore_index=0
            )
            out.loss, out.forward_loss, out.backward_loss = (
                (f_loss + b_loss) / 2,
                f_loss.detach(),
                b_loss.detach(),
            )
        return out


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
