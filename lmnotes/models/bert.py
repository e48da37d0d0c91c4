"""BERT: a Transformer encoder pretrained with masked language modelling and next-sentence prediction.

Read top to bottom, in the order of Devlin et al. (2019):

* :class:`BertConfig` — the sizes (``bert-base``: 12 layers, 768 wide, 12 heads).
* :class:`BertEmbeddings` — token + segment + position embeddings, then layer norm and dropout.
* :class:`Bert` — the encoder: a stack of post-norm :class:`~lmnotes.models.transformer.Block` s
  (the block GPT reuses) and a pooler (``tanh(W h_[CLS])``) for sentence-level tasks.
* :class:`BertForPreTraining` — the encoder with its two pretraining heads: a masked-LM head whose
  output matrix is the token embedding matrix (tied) plus its own bias, and a next-sentence head on
  the pooled ``[CLS]``. Its loss is the mean MLM loss over masked positions plus the mean NSP loss.
* ``from_hf`` — load the weights of a Hugging Face ``BertModel`` / ``BertForPreTraining``.
* :class:`BertClassifier`, :class:`BertTagger` — the fine-tuning heads (a sentence label, a label per token).

The masking and the sentence pairs that pretrain it are in :mod:`lmnotes.recipes.bert`.

Example::

    model = BertForPreTraining(BertConfig(vocab_size=400, d_model=64, n_layer=2, n_head=4, d_ff=256))
    out = model(input_ids, segment_ids, attention_mask, mlm_labels=labels, nsp_labels=is_random)
    out.loss.backward()
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.batching import IGNORE_INDEX
from .common import check_config, check_hf_config, check_token_ids, load_exact, map_hf_state_dict
from .transformer import Block

# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------


@dataclass
class BertConfig:
    """Sizes of a BERT. Defaults are ``bert-base-uncased``.

    ``window``: local attention (each token sees the ``window`` tokens on either side) — not in the
    original BERT; the book uses it to show that depth tracks how many hops a cue needs.
    ``global_layers``: how many of the top blocks still attend to every position when ``window`` is set
    (so that ``[CLS]`` can compare the two sentences for next-sentence prediction).
    """

    vocab_size: int = 30522
    max_position: int = 512
    type_vocab_size: int = 2
    d_model: int = 768
    n_layer: int = 12
    n_head: int = 12
    d_ff: int = 3072
    dropout: float = 0.1
    ln_eps: float = 1e-12
    pad_id: int = 0
    window: int | None = None
    global_layers: int = 0

    def __post_init__(self):
        check_config(
            self,
            ("vocab_size", "max_position", "type_vocab_size", "d_model", "n_layer", "n_head", "d_ff"),
            divisible=("d_model", "n_head"),
        )
        if self.window is not None and (not isinstance(self.window, int) or self.window < 0):
            raise ValueError(f"window must be None or an int >= 0, got {self.window!r}")
        if not isinstance(self.global_layers, int) or not 0 <= self.global_layers <= self.n_layer:
            raise ValueError(
                f"global_layers must be an int in 0..n_layer={self.n_layer}, got {self.global_layers!r}"
            )


@dataclass
class BertOutput:
    """What every BERT model of this module returns: the same fields, each always of the shape given here,
    ``None`` when it was not asked for or does not apply.

    The encoder (:class:`Bert`, and inside every head):

    * ``last_hidden_state`` (B, T, C) and ``pooled`` (B, C), ``tanh(W h_[CLS])``;
    * ``hidden_states``, with ``output_hidden_states``: ``n_layer + 1`` tensors (B, T, C), the embeddings
      then each block's output;
    * ``attentions``, with ``output_attentions``: ``n_layer`` tensors (B, n_head, T, T).

    :class:`BertForPreTraining`: ``nsp_logits`` (B, 2); ``mlm_logits`` (B, T, V) when no ``mlm_labels`` are
    given. With ``mlm_labels`` only the masked positions go through the V-wide output layer (the rest would be
    thrown away by the loss), so ``mlm_logits`` is None and ``mlm_loss``, ``mlm_acc`` come from those positions;
    with ``nsp_labels``, ``nsp_loss`` and ``nsp_acc``; ``loss`` is the sum of the losses computed.

    :class:`BertClassifier` / :class:`BertTagger`: ``logits`` (B, n_classes) / (B, T, n_tags); with labels,
    ``loss`` and ``acc`` (the accuracy on the labelled sentences / tokens).
    """

    last_hidden_state: torch.Tensor
    pooled: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None
    mlm_logits: torch.Tensor | None = None
    nsp_logits: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    loss: torch.Tensor | None = None
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None
    acc: torch.Tensor | None = None
    mlm_acc: torch.Tensor | None = None
    nsp_acc: torch.Tensor | None = None


# ---------------------------------------------------------------------------------------------
# Input checks: a clear error instead of an index error deep inside torch
# ---------------------------------------------------------------------------------------------


def _check_inputs(config: BertConfig, input_ids, segment_ids, attention_mask):
    check_token_ids(input_ids, config.vocab_size)
    B, T = input_ids.shape
    if T > config.max_position:
        raise ValueError(
            f"sequence of {T} tokens is longer than the model's {config.max_position} positions "
            f"(max_position); truncate it or build the model with a larger max_position"
        )
    for name, t in (("segment_ids", segment_ids), ("attention_mask", attention_mask)):
        if t is not None and (not torch.is_tensor(t) or tuple(t.shape) != (B, T)):
            shape = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise ValueError(f"{name} must have the same shape as input_ids {(B, T)}, got {shape}")
    if segment_ids is not None and segment_ids.numel():
        lo, hi = int(segment_ids.min()), int(segment_ids.max())
        if lo < 0 or hi >= config.type_vocab_size:
            raise ValueError(
                f"segment id {hi if hi >= config.type_vocab_size else lo} is out of range: segment ids "
                f"must be in 0..{config.type_vocab_size - 1} (type_vocab_size={config.type_vocab_size})"
            )


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


class BertEmbeddings(nn.Module):
    """``x_t = LayerNorm(E_token[w_t] + E_segment[s_t] + E_position[t])``, then dropout."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.token = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_id)
        self.segment = nn.Embedding(config.type_vocab_size, config.d_model)
        self.position = nn.Embedding(config.max_position, config.d_model)
        self.ln = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: torch.Tensor, segment_ids: torch.Tensor | None = None) -> torch.Tensor:
        """input_ids, segment_ids: (B, T) → (B, T, C)."""
        T = input_ids.shape[1]
        if segment_ids is None:
            segment_ids = torch.zeros_like(input_ids)
        pos = torch.arange(T, device=input_ids.device)  # (T,), broadcast over the batch
        x = self.token(input_ids) + self.segment(segment_ids) + self.position(pos)  # (B, T, C)
        return self.dropout(self.ln(x))


class Bert(nn.Module):
    """The BERT encoder: embeddings, ``n_layer`` post-norm blocks, and a pooler on ``[CLS]``.

    Example: ``out = Bert(cfg)(ids, segment_ids, attention_mask); out.last_hidden_state  # (B, T, C)``
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.blocks = nn.ModuleList(
            Block(
                config.d_model,
                config.n_head,
                config.d_ff,
                config.dropout,
                norm_first=False,
                gelu_approx="none",
                ln_eps=config.ln_eps,
                window=config.window if i < config.n_layer - config.global_layers else None,
            )
            for i in range(config.n_layer)
        )
        # The pooler: a dense layer + tanh on the [CLS] vector, trained by next-sentence prediction.
        self.pooler = nn.Linear(config.d_model, config.d_model)
        self.apply(_init_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        explicit: bool = False,
    ) -> BertOutput:
        """input_ids (B, T), segment_ids (B, T) in {0, 1}, attention_mask (B, T) 1 = real token, 0 = padding.

        ``explicit=True`` uses the written-out attention (same result, slower); ``output_attentions``
        implies it. Returns :class:`BertOutput` with ``last_hidden_state`` and ``pooled``.
        """
        _check_inputs(self.config, input_ids, segment_ids, attention_mask)
        if attention_mask is not None and not torch.compiler.is_compiling() and bool(attention_mask.all()):
            attention_mask = None  # no padding: let attention use its fastest (mask-free) kernel
        x = self.embeddings(input_ids, segment_ids)  # (B, T, C)
        hidden, attentions = [x], []
        for i, block in enumerate(self.blocks):
            if output_attentions:
                x, w = block(x, attention_mask=attention_mask, layer=i, return_weights=True)
                attentions.append(w)  # (B, nh, T, T)
            else:
                x = block(x, attention_mask=attention_mask, layer=i, explicit=explicit)
            hidden.append(x)
        pooled = torch.tanh(self.pooler(x[:, 0]))  # (B, C): the [CLS] position
        return BertOutput(
            last_hidden_state=x,
            pooled=pooled,
            hidden_states=tuple(hidden) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )

    @classmethod
    def from_hf(cls, hf_model) -> Bert:
        """A :class:`Bert` with the weights of a Hugging Face ``BertModel`` (or the ``.bert`` of a pretraining model).

        Example: ``Bert.from_hf(transformers.BertModel.from_pretrained("bert-base-uncased"))``
        """
        hf_model = getattr(hf_model, "bert", hf_model)
        config = config_from_hf(hf_model.config, "Bert", "BertModel")
        return load_exact(cls(config), state_dict_from_hf(hf_model.state_dict(), heads=False)).eval()

    @classmethod
    def from_pretrained(cls, name: str = "bert-base-uncased") -> Bert:
        """Download a real BERT from the Hugging Face hub (needs the network): ``Bert.from_pretrained()``."""
        from transformers import BertModel

        return cls.from_hf(BertModel.from_pretrained(name))


def _init_weights(m: nn.Module) -> None:
    # BERT's initialisation: N(0, 0.02) for every weight matrix, zero biases, unit layer norms.
    if isinstance(m, (nn.Linear, nn.Embedding)):
        nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
        if isinstance(m, nn.Embedding) and m.padding_idx is not None:
            with torch.no_grad():
                m.weight[m.padding_idx].zero_()
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


class MLMHead(nn.Module):
    """``logits = LayerNorm(GELU(W h)) E_tokenᵀ + b``: the output matrix is the token embeddings (tied)."""

    def __init__(self, config: BertConfig, token_embedding: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)
        self.ln = nn.LayerNorm(config.d_model, eps=config.ln_eps)
        self.token_embedding = token_embedding  # shared, not a copy: one matrix reads and writes tokens
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h: (..., C) → logits (..., V)."""
        h = self.ln(F.gelu(self.dense(h)))
        return F.linear(h, self.token_embedding.weight, self.bias)


class BertForPreTraining(nn.Module):
    """BERT with its two pretraining heads: masked LM (tied to the embeddings) and next-sentence prediction.

    ``loss = mean cross-entropy over the masked positions + mean cross-entropy of the NSP labels``
    (``nsp_labels``: 0 = B follows A, 1 = B is a random sentence, as in Hugging Face; -100 = skip).

    Example: ``out = model(ids, seg, mask, mlm_labels=labels, nsp_labels=nsp); out.loss.backward()``
    """

    def __init__(self, config: BertConfig):
        super().__init__()
        self.config = config
        self.bert = Bert(config)
        self.mlm = MLMHead(config, self.bert.embeddings.token)
        self.nsp = nn.Linear(config.d_model, 2)
        for m in (self.mlm.dense, self.mlm.ln, self.nsp):
            _init_weights(m)

    def forward(
        self,
        input_ids: torch.Tensor,
        segment_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        mlm_labels: torch.Tensor | None = None,
        nsp_labels: torch.Tensor | None = None,
        *,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        explicit: bool = False,
    ) -> BertOutput:
        """As :meth:`Bert.forward`, plus ``nsp_logits`` (B, 2) and, without ``mlm_labels``, ``mlm_logits`` (B, T, V);
        with labels, the losses and accuracies (see :class:`BertOutput`).

        ``mlm_labels`` (B, T): the original id at masked positions, -100 elsewhere. ``nsp_labels`` (B,).
        """
        out = self.bert(
            input_ids,
            segment_ids,
            attention_mask,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            explicit=explicit,
        )
        h = out.last_hidden_state  # (B, T, C)
        if mlm_labels is not None:
            if tuple(mlm_labels.shape) != tuple(input_ids.shape):
                raise ValueError(
                    f"mlm_labels must have the shape of input_ids {tuple(input_ids.shape)}, "
                    f"got {tuple(mlm_labels.shape)}"
                )
            # Only the masked positions need the (V-wide) output layer: the loss ignores the rest.
            sel = mlm_labels != IGNORE_INDEX  # (B, T)
            masked_logits = self.mlm(h[sel])  # (n_masked, V)
            targets = mlm_labels[sel]
            if targets.numel():
                out.mlm_loss = F.cross_entropy(masked_logits.float(), targets)
                out.mlm_acc = (masked_logits.argmax(-1) == targets).float().mean()
            else:  # no masked token in the batch: nothing to learn from, but keep the graph
                out.mlm_loss = masked_logits.sum() * 0.0
        else:
            out.mlm_logits = self.mlm(h)  # (B, T, V)
        out.nsp_logits = self.nsp(out.pooled)  # (B, 2)
        if nsp_labels is not None:
            if tuple(nsp_labels.shape) != (input_ids.shape[0],):
                raise ValueError(
                    f"nsp_labels must have shape (batch,) = ({input_ids.shape[0]},), "
                    f"got {tuple(nsp_labels.shape)}"
                )
            keep = nsp_labels != IGNORE_INDEX
            if keep.any():
                out.nsp_loss = F.cross_entropy(out.nsp_logits.float()[keep], nsp_labels[keep])
                out.nsp_acc = (out.nsp_logits[keep].argmax(-1) == nsp_labels[keep]).float().mean()
            else:
                out.nsp_loss = out.nsp_logits.sum() * 0.0
        losses = [x for x in (out.mlm_loss, out.nsp_loss) if x is not None]
        if losses:
            out.loss = sum(losses)
        return out

    @classmethod
    def from_hf(cls, hf_model) -> BertForPreTraining:
        """A :class:`BertForPreTraining` with the weights of a Hugging Face ``BertForPreTraining``.

        Example: ``BertForPreTraining.from_hf(transformers.BertForPreTraining.from_pretrained("bert-base-uncased"))``
        """
        config = config_from_hf(hf_model.config, "BertForPreTraining", "BertForPreTraining")
        return load_exact(cls(config), state_dict_from_hf(hf_model.state_dict(), heads=True)).eval()

    @classmethod
    def from_pretrained(cls, name: str = "bert-base-uncased") -> BertForPreTraining:
        """Download a real BERT with its pretraining heads (needs the network)."""
        from transformers import BertForPreTraining as HFBertForPreTraining

        return cls.from_hf(HFBertForPreTraining.from_pretrained(name))


# ---------------------------------------------------------------------------------------------
# Loading Hugging Face weights
# ---------------------------------------------------------------------------------------------


def config_from_hf(hf_config, ours: str = "Bert", theirs: str = "BertModel") -> BertConfig:
    """Our :class:`BertConfig` from a ``transformers.BertConfig``: an encoder (post-norm, exact GELU, absolute
    positions).

    Anything else is refused with a ValueError rather than loaded into a model that would compute something else.
    """
    check_hf_config(hf_config, "bert", ours, theirs)
    if getattr(hf_config, "is_decoder", False) or getattr(hf_config, "add_cross_attention", False):
        raise ValueError(
            "the model is a decoder (is_decoder=True: causal attention, or cross-attention); this BERT "
            "is a bidirectional encoder, so its outputs would differ. Load an encoder (is_decoder=False)"
        )
    act = getattr(hf_config, "hidden_act", "gelu")
    if act != "gelu":
        raise ValueError(f"only hidden_act='gelu' (exact) is supported, got {act!r}")
    pe = getattr(hf_config, "position_embedding_type", "absolute")
    if pe not in (None, "absolute"):
        raise ValueError(f"only absolute position embeddings are supported, got {pe!r}")
    return BertConfig(
        vocab_size=hf_config.vocab_size,
        max_position=hf_config.max_position_embeddings,
        type_vocab_size=hf_config.type_vocab_size,
        d_model=hf_config.hidden_size,
        n_layer=hf_config.num_hidden_layers,
        n_head=hf_config.num_attention_heads,
        d_ff=hf_config.intermediate_size,
        dropout=hf_config.hidden_dropout_prob,
        ln_eps=hf_config.layer_norm_eps,
        pad_id=hf_config.pad_token_id or 0,
    )


def state_dict_from_hf(hf_state: dict, heads: bool) -> dict:
    """A Hugging Face BERT state dict in our names; ``heads``: a ``BertForPreTraining`` (keys ``bert.*``, ``cls.*``).

    Hugging Face's separate query, key and value become one ``qkv`` (3C, C); the MLM decoder is the word
    embedding matrix (tied), which :func:`~lmnotes.models.common.load_exact` checks.
    """
    p = "bert\\." if heads else ""
    o = "bert." if heads else ""
    layer = p + r"encoder\.layer\.(\d+)\."
    rules = [
        (p + r"embeddings\.word_embeddings\.weight", o + "embeddings.token.weight"),
        (p + r"embeddings\.token_type_embeddings\.weight", o + "embeddings.segment.weight"),
        (p + r"embeddings\.position_embeddings\.weight", o + "embeddings.position.weight"),
        (p + r"embeddings\.LayerNorm\.(weight|bias)", o + r"embeddings.ln.\1"),
        (layer + r"attention\.self\.(?P<part>query|key|value)\.(weight|bias)", o + r"blocks.\1.attn.qkv.\3"),
        (layer + r"attention\.output\.dense\.(weight|bias)", o + r"blocks.\1.attn.proj.\2"),
        (layer + r"attention\.output\.LayerNorm\.(weight|bias)", o + r"blocks.\1.ln1.\2"),
        (layer + r"intermediate\.dense\.(weight|bias)", o + r"blocks.\1.mlp.fc.\2"),
        (layer + r"output\.dense\.(weight|bias)", o + r"blocks.\1.mlp.proj.\2"),
        (layer + r"output\.LayerNorm\.(weight|bias)", o + r"blocks.\1.ln2.\2"),
        (p + r"pooler\.dense\.(weight|bias)", o + r"pooler.\1"),
    ]
    if heads:
        rules += [
            (r"cls\.predictions\.transform\.dense\.(weight|bias)", r"mlm.dense.\1"),
            (r"cls\.predictions\.transform\.LayerNorm\.(weight|bias)", r"mlm.ln.\1"),
            (r"cls\.predictions\.bias", "mlm.bias"),
            (r"cls\.predictions\.decoder\.weight", "mlm.token_embedding.weight"),
            (r"cls\.seq_relationship\.(weight|bias)", r"nsp.\1"),
        ]
    ignore = [
        r".*embeddings\.(position_ids|token_type_ids)",  # buffers, not weights
        r"cls\.predictions\.decoder\.bias",
    ]  # the same tensor as cls.predictions.bias
    return map_hf_state_dict(hf_state, rules, ignore=ignore, fuse=("part", ("query", "key", "value")))


# ---------------------------------------------------------------------------------------------
# Fine-tuning: a head on [CLS] for sentence tasks, a head on every word for tagging
# ---------------------------------------------------------------------------------------------


class BertClassifier(nn.Module):
    """A sentence classifier: a linear layer on the pooled ``[CLS]`` vector (Devlin et al., Figure 4a/b).

    Example: ``clf = BertClassifier(pretrained.bert, 2); out = clf(ids, attention_mask=m, labels=y)``
    """

    def __init__(self, bert: Bert, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.config = bert.config
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.d_model, n_classes)
        _init_weights(self.head)

    def forward(self, input_ids, segment_ids=None, attention_mask=None, labels=None) -> BertOutput:
        """input_ids (B, T) → :class:`BertOutput` with ``logits`` (B, n_classes); with ``labels`` (B,), ``loss``
        and ``acc``."""
        out = self.bert(input_ids, segment_ids, attention_mask)
        out.logits = self.head(self.dropout(out.pooled))  # (B, n_classes), from the pooled [CLS] (B, C)
        if labels is not None:
            out.loss = F.cross_entropy(out.logits.float(), labels)
            out.acc = (out.logits.argmax(-1) == labels).float().mean()
        return out


class BertTagger(nn.Module):
    """A token tagger: a linear layer on every position's last hidden state (Devlin et al., Figure 4d).

    Example: ``tagger = BertTagger(pretrained.bert, len(TAGS)); out = tagger(ids, attention_mask=m, labels=tags)``
    """

    def __init__(self, bert: Bert, n_tags: int, dropout: float = 0.1):
        super().__init__()
        self.config = bert.config
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.d_model, n_tags)
        _init_weights(self.head)

    def forward(self, input_ids, segment_ids=None, attention_mask=None, labels=None) -> BertOutput:
        """input_ids (B, T) → :class:`BertOutput` with ``logits`` (B, T, n_tags); with ``labels`` (B, T), ``loss``
        and ``acc`` over the positions whose label is not ``IGNORE_INDEX`` (-100)."""
        out = self.bert(input_ids, segment_ids, attention_mask)
        out.logits = self.head(self.dropout(out.last_hidden_state))  # (B, T, n_tags)
        if labels is not None:
            sel = labels != IGNORE_INDEX
            out.loss = F.cross_entropy(out.logits[sel].float(), labels[sel])
            out.acc = (out.logits[sel].argmax(-1) == labels[sel]).float().mean()
        return out
