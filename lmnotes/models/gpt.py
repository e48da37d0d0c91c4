"""A GPT: a decoder-only Transformer that predicts each token from the tokens to its left.

Read top to bottom: the config, the model (embeddings → pre-norm causal blocks → final layer norm →
logits through the tied embedding matrix), the sampling filters (temperature, top-k, top-p), generation
with a key/value cache, and loading GPT-2's weights from Hugging Face.

Example::

    model = GPT(GPTConfig(vocab_size=100, block_size=32, n_layer=2, n_head=2, d_model=64))
    logits = model(idx).logits                               # (B, T, V)
    loss = model(idx, targets=idx).loss                     # the mean cross-entropy
    out = model.generate(idx[:, :4], max_new_tokens=10)      # (B, 4 + 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.batching import IGNORE_INDEX, pad_batch
from ..utils import eval_mode
from .common import check_config, check_hf_config, check_token_ids, load_exact, map_hf_state_dict
from .transformer import Block, KVCache, StaticKVCache

__all__ = ["GPTConfig", "GPT", "StaticDecoder", "top_k_filter", "top_p_filter", "check_sampling_args"]


@dataclass
class GPTConfig:
    """Sizes of a GPT. The defaults are GPT-2 small (124M parameters); set ``vocab_size`` to your tokenizer's.

    Example: ``GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layer=2, n_head=4, d_model=128)``
    """

    vocab_size: int = 50257
    block_size: int = 1024  # the context: the most positions the model can see
    n_layer: int = 12
    n_head: int = 12
    d_model: int = 768
    d_ff: int | None = None  # None: 4 * d_model, as in GPT-2
    dropout: float = 0.0
    bias: bool = True  # biases in the Linear layers (GPT-2 has them)
    ln_eps: float = 1e-5
    gelu_approx: str = "tanh"  # GPT-2's GELU is the tanh approximation

    def __post_init__(self):
        if self.d_ff is None:
            self.d_ff = 4 * self.d_model
        check_config(
            self,
            ("vocab_size", "block_size", "n_layer", "n_head", "d_model", "d_ff"),
            divisible=("d_model", "n_head"),
        )


@dataclass
class GPTOutput:
    """What :meth:`GPT.forward` returns: each field always of the shape given here, ``None`` when not asked for.

    * ``logits`` (B, T, V): the scores of the next token at every position;
    * ``loss``: with ``targets``, their mean cross-entropy (positions whose target is ``IGNORE_INDEX`` skipped);
    * ``last_hidden_state`` (B, T, C): the states after the final layer norm, what the output layer reads;
    * ``hidden_states``, with ``output_hidden_states``: ``n_layer + 1`` tensors (B, T, C), the embeddings then
      each block's output, the last one after the final layer norm (as in Hugging Face's GPT-2);
    * ``attentions``, with ``output_attentions``: ``n_layer`` tensors (B, n_head, T, S) of attention weights
      (``S`` = the positions attended to: ``T``, plus the cached ones with a cache).
    """

    logits: torch.Tensor
    loss: torch.Tensor | None = None
    last_hidden_state: torch.Tensor | None = None
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


class GPT(nn.Module):
    """Decoder-only Transformer language model (GPT-2's architecture).

    ``forward(idx (B, T))`` → :class:`GPTOutput` (``.logits`` (B, T, V); ``.loss`` with ``targets``);
    ``generate(idx, n)`` → (B, T + n) token ids.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        c = config
        self.wte = nn.Embedding(c.vocab_size, c.d_model)  # token embeddings (V, C)
        self.wpe = nn.Embedding(c.block_size, c.d_model)  # learned position embeddings (block_size, C)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            Block(
                c.d_model,
                c.n_head,
                c.d_ff,
                c.dropout,
                norm_first=True,
                gelu_approx=c.gelu_approx,
                ln_eps=c.ln_eps,
                bias=c.bias,
            )
            for _ in range(c.n_layer)
        )
        self.ln_f = nn.LayerNorm(c.d_model, eps=c.ln_eps)
        self.lm_head = nn.Linear(c.d_model, c.vocab_size, bias=False)
        # Tied input and output embeddings: the same matrix reads a token in and scores it out
        # (fewer parameters, and it helps small models).
        self.lm_head.weight = self.wte.weight
        self.apply(self._init_weights)
        # GPT-2's init: each residual projection is scaled by 1/sqrt(2 * n_layer), so the residual stream's
        # variance does not grow with depth (two residual additions per block).
        for name, p in self.named_parameters():
            if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_params(self, non_embedding: bool = True) -> int:
        """Parameter count; by default without the position embeddings (the token ones are tied to the head)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.wpe.weight.numel() if non_embedding else n

    # ------------------------------------------------------------------ forward

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        *,
        cache: KVCache | None = None,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        explicit: bool = False,
    ) -> GPTOutput:
        """Logits of the next token at every position, as a :class:`GPTOutput`.

        idx: (B, T) token ids in ``0 .. vocab_size - 1``, T <= block_size (positions continue after the
        cache's with a cache). targets: (B, T) the token that should come next at each position;
        ``IGNORE_INDEX`` (-100) is skipped. attention_mask: (B, T) 1 for real tokens, 0 for padding (right
        padding: positions stay 0..T-1). output_hidden_states / output_attentions: also return every layer's
        states / attention weights (the weights come from the written-out attention). explicit: use the
        written-out attention (same result as the fused kernel, slower).

        Example: ``loss = model(x, targets=y).loss``; ``logits = model(x).logits  # (B, T, V)``
        """
        check_token_ids(idx, self.config.vocab_size)
        h, hidden, attentions = self._states(
            idx, attention_mask, cache, output_hidden_states, output_attentions, explicit
        )
        logits = self.lm_head(h)  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(
                logits.float().view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=IGNORE_INDEX
            )
        return GPTOutput(logits, loss, h, hidden, attentions)

    def next_token_logits(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        """(B, T) → (B, V): the logits of the token after the last position of each row.

        Only the last position goes through the output layer: at inference the (T, V) matmul for the others
        would be thrown away. Example: ``model.next_token_logits(idx).argmax(-1)  # the greedy next tokens``
        """
        check_token_ids(idx, self.config.vocab_size)
        return self._next_logits(idx, cache)

    def _next_logits(self, idx: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        return self.lm_head(self._states(idx, cache=cache)[0][:, -1])  # (B, V)

    def _states(
        self,
        idx: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        output_hidden_states: bool = False,
        output_attentions: bool = False,
        explicit: bool = False,
    ):
        """The trunk: (B, T) ids → ``(h, hidden_states, attentions)``, h (B, T, C) after the final layer norm."""
        B, T = idx.shape
        static = getattr(cache, "static", False)  # a StaticKVCache: each row at its own position (a tensor)
        start = cache.length if cache is not None and not static else 0
        if start + T > self.config.block_size:
            raise ValueError(
                f"sequence of {start + T} tokens is longer than the model's context of "
                f"{self.config.block_size}; crop it or build the model with a larger block_size"
            )
        pos = (
            cache.positions(T) if static else torch.arange(start, start + T, device=idx.device)
        )  # (B, T) or (T,)
        x = self.drop(self.wte(idx) + self.wpe(pos))  # (B, T, C)
        if cache is not None and attention_mask is not None and attention_mask.shape[1] != start + T:
            raise ValueError(
                f"with a cache, attention_mask must cover all {start + T} positions so far, "
                f"got {attention_mask.shape[1]}"
            )
        hidden, weights = [x], []
        for i, block in enumerate(self.blocks):
            out = block(
                x,
                attention_mask=attention_mask,
                causal=True,
                cache=cache,
                layer=i,
                explicit=explicit,
                return_weights=output_attentions,
            )
            if output_attentions:
                x, w = out
                weights.append(w)  # (B, nh, T, S)
            else:
                x = out
            hidden.append(x)
        if cache is not None:
            cache.advance(T)
        h = self.ln_f(x)  # (B, T, C)
        hidden[-1] = h  # as in Hugging Face: the last hidden state is the one after the final layer norm
        return (
            h,
            (tuple(hidden) if output_hidden_states else None),
            (tuple(weights) if output_attentions else None),
        )

    # ------------------------------------------------------------------ generation

    def new_cache(
        self, batch: int, max_len: int | None = None, device=None, dtype=None, static: bool = False
    ) -> KVCache | StaticKVCache:
        """A key/value cache for ``batch`` sequences of up to ``max_len`` (default block_size) positions;
        ``static=True``: a :class:`StaticKVCache` (fixed shapes, for a compiled decode step)."""
        c = self.config
        p = self.wte.weight
        if max_len is not None and not 1 <= max_len <= c.block_size:
            raise ValueError(f"max_len must be in [1, block_size={c.block_size}], got {max_len}")
        kind = StaticKVCache if static else KVCache
        return kind(
            c.n_layer,
            batch,
            c.n_head,
            max_len or c.block_size,
            c.d_model // c.n_head,
            device=device or p.device,
            dtype=dtype or p.dtype,
        )

    def decoder(
        self,
        batch: int = 1,
        max_len: int | None = None,
        compile: bool = False,
        mode: str | None = None,
        backend="inductor",
        dtype=None,
    ) -> StaticDecoder:
        """A :class:`StaticDecoder` for ``batch`` rows: a static cache allocated once (of ``dtype``, default the
        weights'), and (``compile=True``) a compiled decode step, captured as a CUDA graph on a GPU. Build it
        once and call its ``generate`` often.

        Example: ``dec = model.decoder(batch=1, compile=True); dec.generate(idx, 256, temperature=0)``
        """
        return StaticDecoder(self, batch, max_len, compile=compile, mode=mode, backend=backend, dtype=dtype)

    @torch.no_grad()
    def next_token_probs(
        self,
        idx: torch.Tensor,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> torch.Tensor:
        """(B, T) → (B, V): the distribution the next token is drawn from, after temperature, top-k and top-p.

        Example: ``p = model.next_token_probs(idx, temperature=0.8, top_k=10)``
        """
        check_sampling_args(temperature, top_k, top_p)
        idx = idx[:, -self.config.block_size :]
        logits = self.next_token_logits(idx).float()  # (B, V)
        return logits_to_probs(logits, temperature, top_k, top_p)

    @torch.no_grad()
    def generate(
        self,
        idx: torch.Tensor,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop_token: int | None = None,
        use_cache: bool = True,
        crop: bool = True,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue ``idx`` (B, T) by ``max_new_tokens`` tokens; returns (B, T + n) with n <= max_new_tokens.

        temperature: 0 is greedy (always the most likely token); otherwise logits are divided by it and a
        token is drawn. top_k: keep only the k most likely tokens. top_p: keep the smallest set of most
        likely tokens whose probabilities sum to at least top_p (nucleus sampling). stop_token: a sequence
        that produced it produces only ``stop_token`` afterwards, and generation ends once every sequence
        has produced it. use_cache: keep the keys/values of earlier positions (allocated once per call)
        so each step processes one new token instead of the whole context. crop: a prompt longer than the
        context keeps its last ``block_size`` tokens (with ``crop=False`` it is refused); when the
        context fills up during generation the window slides to the last ``block_size`` tokens (each
        such step recomputes the window: the cache speeds up only the steps that fit in the context).
        generator: a ``torch.Generator`` to draw from (same seed → same tokens, with or without the cache).

        Example: ``model.generate(torch.tensor([[tok.bos_id] + tok.encode("a robin")]), 10, top_p=0.9)``
        """
        check_sampling_args(temperature, top_k, top_p)
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
        if idx.dim() == 1:
            idx = idx.unsqueeze(0)
        if idx.dim() != 2 or idx.shape[1] == 0:
            raise ValueError(
                f"idx must be a (batch, length) tensor of token ids with length >= 1, "
                f"got shape {tuple(idx.shape)}"
            )
        check_token_ids(idx, self.config.vocab_size)  # once: every token generated after it is in range
        L = self.config.block_size
        if idx.shape[1] > L:
            if not crop:
                raise ValueError(
                    f"the prompt has {idx.shape[1]} tokens but the model's context is {L}; "
                    f"shorten it, or pass crop=True to keep its last {L} tokens"
                )
        with eval_mode(self):
            return self._generate(
                idx, max_new_tokens, temperature, top_k, top_p, stop_token, use_cache, generator
            )

    def _generate(self, idx, max_new_tokens, temperature, top_k, top_p, stop_token, use_cache, generator):
        B, L = idx.shape[0], self.config.block_size
        done = torch.zeros(B, dtype=torch.bool, device=idx.device)
        cache = self.new_cache(B) if use_cache else None
        fed = 0  # how many tokens of ``idx`` have gone through the model
        for _ in range(max_new_tokens):
            if use_cache:
                if fed == 0 or cache.length >= L:
                    # Fill the cache from the (last L tokens of the) context. Once the context is full,
                    # the window slides and every token changes position; learned positions are absolute,
                    # so the cached keys are stale and the window is recomputed (as without a cache).
                    ctx = idx[:, -L:]
                    cache.length = 0
                    logits = self._next_logits(ctx, cache=cache)
                else:
                    logits = self._next_logits(idx[:, -1:], cache=cache)
                fed = idx.shape[1]
            else:
                logits = self._next_logits(idx[:, -L:])
            logits = logits.float()  # (B, V)
            nxt = sample_next(logits, temperature, top_k, top_p, generator)  # (B,)
            if stop_token is not None:
                nxt = torch.where(done, torch.full_like(nxt, stop_token), nxt)
                done |= nxt == stop_token
            idx = torch.cat([idx, nxt[:, None]], dim=1)
            if stop_token is not None and bool(done.all()):
                break
        return idx

    # ------------------------------------------------------------------ Hugging Face

    @classmethod
    def from_hf(cls, hf_model) -> GPT:
        """A GPT with the weights of a Hugging Face ``GPT2LMHeadModel`` (every key and shape checked).

        GPT-2 stores its projections as ``Conv1D`` with weights (in, out), the transpose of ``nn.Linear``'s.
        Example: ``GPT.from_hf(transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2)))``
        """
        hc = hf_model.config
        check_hf_config(hc, "gpt2", "GPT", "GPT2LMHeadModel")
        act = getattr(hc, "activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"only GPT-2's tanh GELU is supported, the model uses {act!r}")
        # Two GPT-2 options change the attention itself; this GPT always scales by 1/sqrt(d_head), as GPT-2 does.
        if not getattr(hc, "scale_attn_weights", True):
            raise ValueError(
                "the model sets scale_attn_weights=False (attention logits not divided by "
                "sqrt(d_head)); this GPT always scales them, so its logits would differ"
            )
        if getattr(hc, "scale_attn_by_inverse_layer_idx", False):
            raise ValueError(
                "the model sets scale_attn_by_inverse_layer_idx=True (attention logits divided by "
                "the layer number too); this GPT does not, so its logits would differ"
            )
        if getattr(hc, "add_cross_attention", False):
            raise ValueError(
                "the model has cross-attention layers (add_cross_attention=True); this GPT has none"
            )
        config = GPTConfig(
            vocab_size=hc.vocab_size,
            block_size=hc.n_positions,
            n_layer=hc.n_layer,
            n_head=hc.n_head,
            d_model=hc.n_embd,
            d_ff=hc.n_inner or 4 * hc.n_embd,
            dropout=0.0,
            bias=True,
            ln_eps=hc.layer_norm_epsilon,
            gelu_approx="tanh",
        )
        block = r"transformer\.h\.(\d+)\."
        rules = [
            (r"transformer\.(wte|wpe|ln_f)\.(weight|bias)", r"\1.\2"),
            (r"lm_head\.weight", "lm_head.weight"),
            (block + r"ln_(1|2)\.(weight|bias)", r"blocks.\1.ln\2.\3"),
            (block + r"attn\.c_attn\.(weight|bias)", r"blocks.\1.attn.qkv.\2"),
            (block + r"attn\.c_proj\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
            (block + r"mlp\.c_fc\.(weight|bias)", r"blocks.\1.mlp.fc.\2"),
            (block + r"mlp\.c_proj\.(weight|bias)", r"blocks.\1.mlp.proj.\2"),
        ]
        state = map_hf_state_dict(
            hf_model.state_dict(),
            rules,
            ignore=[r".*\.attn\.(masked_)?bias"],  # the causal-mask buffers of old versions
            transpose=[r".*\.(c_attn|c_proj|c_fc)\.weight"],
        )  # Conv1D: (in, out)
        return load_exact(cls(config), state).eval()

    @classmethod
    def from_pretrained(cls, name: str = "gpt2") -> GPT:
        """Download GPT-2 from the Hugging Face hub (needs a network) and load it. Example: ``GPT.from_pretrained()``"""
        from transformers import GPT2LMHeadModel

        return cls.from_hf(GPT2LMHeadModel.from_pretrained(name))


# ---------------------------------------------------------------------- fast decoding


class StaticDecoder:
    """Generation with a :class:`StaticKVCache` allocated once and a decode step that can be compiled.

    ``GPT.generate`` slices its cache to the positions filled so far, so every step has new shapes. Here each
    step feeds one token per row at that row's own position and attends over the whole (masked) buffer:
    every tensor keeps its shape, so ``torch.compile(mode="reduce-overhead")`` captures the step once as a
    CUDA graph and replays all layers with one launch, instead of a launch per kernel (at batch 1 the
    launches, not the arithmetic, bound the speed). The tokens are ``GPT.generate``'s.

        dec = model.decoder(batch=1, compile=True)     # build (and compile) once ...
        out = dec.generate(idx, 256, temperature=0)     # ... and reuse: (1, T + 256)
        dec2 = model.decoder(batch=2)
        dec2.generate([[5, 7, 9], [5, 2]], 20)          # prompts of different lengths: a list of id lists
    """

    def __init__(
        self,
        model: GPT,
        batch: int = 1,
        max_len: int | None = None,
        compile: bool = False,
        mode: str | None = None,
        backend="inductor",
        dtype=None,
    ):
        if not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        self.model, self.batch = model, batch
        self.cache = model.new_cache(batch, max_len, dtype=dtype, static=True)
        self.max_len = self.cache.max_len
        self.compiled = bool(compile)
        self._step = self._decode_step
        if compile:
            on_gpu = self.cache.k.is_cuda
            mode = mode or ("reduce-overhead" if on_gpu else None)
            self._step = torch.compile(self._decode_step, mode=mode, backend=backend, fullgraph=True)

    def _decode_step(self, idx: torch.Tensor) -> torch.Tensor:
        """(B, 1) the last token of each row → (B, V) float logits of the next; moves every row one on."""
        return self.model._next_logits(idx, cache=self.cache).float()

    def _prompts(self, idx) -> tuple[torch.Tensor, torch.Tensor]:
        device = self.cache.pos.device
        if torch.is_tensor(idx):
            if idx.dim() == 1:
                idx = idx.unsqueeze(0)
            if idx.dim() != 2 or idx.shape[1] == 0:
                raise ValueError(
                    f"idx must be a (batch, length) tensor with length >= 1, got {tuple(idx.shape)}"
                )
            return idx.to(device), torch.full((idx.shape[0],), idx.shape[1], device=device)
        rows = [list(r) for r in idx]
        if not rows or any(len(r) == 0 for r in rows):
            raise ValueError("every prompt needs at least one token")
        batch = pad_batch(rows)  # right padding: a row's padding keys sit after its own position, unseen
        return batch["input_ids"].to(device), batch["attention_mask"].sum(1).to(device)

    @torch.no_grad()
    def generate(
        self,
        idx,
        max_new_tokens: int,
        temperature: float = 0.0,
        top_k: int | None = None,
        top_p: float | None = None,
        stop_token: int | None = None,
        generator: torch.Generator | None = None,
    ):
        """Continue ``idx`` by ``max_new_tokens`` tokens, as :meth:`GPT.generate` does (greedy by default here).

        idx: a (B, T) tensor (returns (B, T + n)), or B lists of token ids of any lengths (returns B lists, each
        prompt followed by its continuation). B must be this decoder's ``batch``, and the longest prompt plus
        ``max_new_tokens`` must fit in ``max_len``.
        """
        check_sampling_args(temperature, top_k, top_p)
        if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
        as_tensor = torch.is_tensor(idx)
        prompt, lengths = self._prompts(idx)
        B, T = prompt.shape
        if B != self.batch:
            raise ValueError(
                f"this decoder was built for batch {self.batch}, got {B} prompts; "
                f"build one with model.decoder(batch={B})"
            )
        if T + max_new_tokens > self.max_len:
            raise ValueError(
                f"a prompt of {T} tokens plus {max_new_tokens} new ones is longer than the static "
                f"cache ({self.max_len} positions); use model.generate, which slides its window"
            )
        with eval_mode(self.model):
            new = self._decode(
                prompt, lengths, max_new_tokens, temperature, top_k, top_p, stop_token, generator
            )
        if as_tensor:
            return torch.cat([prompt, new], dim=1)
        return [prompt[b, : lengths[b]].tolist() + new[b].tolist() for b in range(B)]

    def _decode(self, prompt, lengths, max_new_tokens, temperature, top_k, top_p, stop_token, generator):
        """Prefill the static cache with the prompts, then decode step by step: (B, n) new tokens."""
        model = self.model
        B = prompt.shape[0]
        self.cache.pos.zero_()
        # Prefill (not compiled: its length varies): all prompts at once, then each row moves to its own end.
        logits = model(prompt, cache=self.cache).logits  # (B, T, V)
        self.cache.pos.copy_(lengths)
        logits = logits[torch.arange(B, device=prompt.device), lengths - 1].float()  # (B, V)
        out, done = [], torch.zeros(B, dtype=torch.bool, device=prompt.device)
        for i in range(max_new_tokens):
            nxt = sample_next(logits, temperature, top_k, top_p, generator)  # (B,)
            if stop_token is not None:
                nxt = torch.where(done, torch.full_like(nxt, stop_token), nxt)
                done |= nxt == stop_token
            out.append(nxt)
            if i + 1 == max_new_tokens or (stop_token is not None and bool(done.all())):
                break
            if self.compiled:
                torch.compiler.cudagraph_mark_step_begin()  # the previous step's outputs are no longer needed
            logits = self._step(nxt[:, None])
        return torch.stack(out, dim=1) if out else prompt.new_zeros(B, 0)  # (B, n)


# ---------------------------------------------------------------------- sampling


def check_sampling_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise a ValueError naming the argument and its accepted range."""
    if not isinstance(temperature, (int, float)) or math.isnan(temperature) or temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be an integer >= 1 (or None for no limit), got {top_k!r}")
    if top_p is not None and (not isinstance(top_p, (int, float)) or not 0.0 < top_p <= 1.0):
        raise ValueError(f"top_p must be in (0, 1] (or None for no limit), got {top_p!r}")


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """(…, V) → (…, V): keep the ``k`` largest logits, set the others to -inf (ties at the k-th value are kept).

    Example: ``top_k_filter(torch.tensor([1., 3., 2.]), 2)`` → ``[-inf, 3., 2.]``
    """
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (…, 1) the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """(…, V) → (…, V): keep the smallest set of most likely tokens whose probability sums to >= p.

    A token is kept when the probability of the tokens more likely than it sums to < p, so the most
    likely token is always kept. Example: probabilities [.5, .3, .2] with p=0.7 keep the first two.
    """
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = F.softmax(sorted_logits.float(), dim=-1)
    before = probs.cumsum(dim=-1) - probs  # probability mass strictly before each token
    drop_sorted = before >= p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def logits_to_probs(
    logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None
) -> torch.Tensor:
    """(B, V) logits → (B, V) the sampling distribution; temperature 0 puts all the mass on the argmax."""
    if temperature == 0:
        return F.one_hot(logits.argmax(-1), logits.size(-1)).float()
    logits = logits / temperature
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None:
        logits = top_p_filter(logits, top_p)
    return F.softmax(logits, dim=-1)


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(B, V) logits of the next token → (B,) the chosen tokens (argmax at temperature 0)."""
    if temperature == 0:
        return logits.argmax(-1)
    probs = logits_to_probs(logits, temperature, top_k, top_p)
    if generator is not None and generator.device != probs.device:
        # Draw on the generator's device so the same seed gives the same tokens wherever the model runs.
        return (
            torch.multinomial(probs.to(generator.device), 1, generator=generator).squeeze(-1).to(probs.device)
        )
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
