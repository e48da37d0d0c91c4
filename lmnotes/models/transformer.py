"""The Transformer pieces BERT and GPT share: multi-head attention, the feed-forward network, the block.

Attention has two paths that compute the same thing:

* ``explicit=True``: ``softmax(Q Kᵀ / √d_head + mask) V`` written out, returning the attention weights
  (for teaching and for the attention viewer);
* ``explicit=False`` (default): ``F.scaled_dot_product_attention``, which picks a fused kernel
  (FlashAttention on a recent GPU) and never materialises the weights.

A block is attention followed by a feed-forward network, each wrapped in a residual connection and a
layer norm: *after* the residual in the original Transformer and BERT (post-norm), *before* the
sub-layer in GPT-2 (pre-norm), which trains more stably when deep.

Example::

    block = Block(d_model=64, n_head=4, d_ff=256, norm_first=True)
    y = block(torch.randn(2, 10, 64), causal=True)     # (B, T, C)
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def build_mask(
    T: int,
    S: int,
    *,
    attention_mask: torch.Tensor | None = None,
    causal: bool = False,
    offset: int = 0,
    window: int | None = None,
    device=None,
) -> torch.Tensor | None:
    """Boolean attention mask, ``True`` where query ``i`` may attend to key ``j``.

    ``attention_mask``: (B, S) with 1 for real tokens, 0 for padding. ``offset``: the position of the first
    query (``S - T`` when a cache holds earlier keys). ``window``: attend only to keys with
    ``|i - j| <= window``. Returns (B or 1, 1, T, S), or ``None`` when nothing is masked.
    """
    mask = None
    if causal or window is not None:
        i = torch.arange(T, device=device).unsqueeze(1) + offset  # query positions (T, 1)
        j = torch.arange(S, device=device).unsqueeze(0)  # key positions   (1, S)
        mask = torch.ones(T, S, dtype=torch.bool, device=device)
        if causal:
            mask &= j <= i
        if window is not None:
            mask &= (i - j).abs() <= window
        mask = mask[None, None]  # (1, 1, T, S)
    if attention_mask is not None:
        if attention_mask.dim() != 2 or attention_mask.shape[1] != S:
            raise ValueError(
                f"attention_mask must have shape (batch, {S}), got {tuple(attention_mask.shape)}"
            )
        pad = attention_mask.bool()[:, None, None, :]  # (B, 1, 1, S)
        mask = pad if mask is None else mask & pad
    if mask is not None:
        # A query that may see no key at all (a padded position under a causal mask) would give NaN;
        # let it see every key instead: its output is never used.
        mask = mask | ~mask.any(dim=-1, keepdim=True)
    return mask


class KVCache:
    """Keys and values of earlier positions, allocated once for a whole generation call.

    ``k[layer]``, ``v[layer]``: (B, n_head, max_len, d_head); ``length`` positions are filled. Each layer's
    attention appends its new keys/values; the model calls :meth:`advance` once all layers have run.
    """

    def __init__(
        self, n_layer: int, batch: int, n_head: int, max_len: int, d_head: int, device=None, dtype=None
    ):
        shape = (n_layer, batch, n_head, max_len, d_head)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0
        self.max_len = max_len

    def advance(self, T: int) -> None:
        """Call once per forward pass, after every layer has appended its ``T`` new positions."""
        self.length += T

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store this step's (B, nh, T, hs) keys/values for ``layer``; return all keys/values so far."""
        start, T = self.length, k.shape[2]
        if start + T > self.max_len:
            raise ValueError(f"the cache holds {self.max_len} positions; {start + T} were asked for")
        self.k[layer, :, :, start : start + T] = k.to(self.k.dtype)
        self.v[layer, :, :, start : start + T] = v.to(self.v.dtype)
        return self.k[layer, :, :, : start + T], self.v[layer, :, :, : start + T]


class StaticKVCache:
    """A key/value cache whose every tensor keeps one shape for a whole generation, so a decode step can be
    compiled once and replayed as a CUDA graph (``torch.compile(mode="reduce-overhead")``).

    ``k[layer]``, ``v[layer]``: (B, n_head, max_len, d_head), allocated once. ``pos``: (B,) a tensor, where the
    next token of each row goes, so rows may be at different positions (prompts of different lengths).
    Attention reads the whole buffer and masks the keys after each row's position (:meth:`visible`), instead of
    slicing ``[:length]`` (a shape that would change every step).
    """

    static = True

    def __init__(
        self, n_layer: int, batch: int, n_head: int, max_len: int, d_head: int, device=None, dtype=None
    ):
        shape = (n_layer, batch, n_head, max_len, d_head)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.pos = torch.zeros(batch, dtype=torch.long, device=device)
        self.max_len = max_len
        if self.k.is_cuda:
            # Tell torch.compile these tensors live at fixed addresses: a captured CUDA graph writes into them.
            torch._dynamo.mark_static_address(self.k)
            torch._dynamo.mark_static_address(self.v)
            torch._dynamo.mark_static_address(self.pos)

    def positions(self, T: int) -> torch.Tensor:
        """(B, T) the positions of the ``T`` tokens about to be written: ``pos + 0 .. pos + T - 1``."""
        return self.pos[:, None] + torch.arange(T, device=self.pos.device)

    def visible(self, T: int) -> torch.Tensor:
        """(B, 1, T, max_len) boolean: new token ``t`` of row ``b`` sees key ``j`` iff ``j <= pos[b] + t``."""
        j = torch.arange(self.max_len, device=self.pos.device)
        return (j <= self.positions(T)[:, :, None])[:, None]

    def append(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write this step's (B, nh, T, hs) keys/values at each row's positions; return the whole buffers."""
        index = self.positions(k.shape[2])[:, None, :, None].expand_as(k)  # (B, nh, T, hs)
        self.k[layer].scatter_(2, index, k.to(self.k.dtype))
        self.v[layer].scatter_(2, index, v.to(self.v.dtype))
        return self.k[layer], self.v[layer]

    def advance(self, T: int) -> None:
        """Move every row ``T`` positions on (in place: the tensor keeps its address)."""
        self.pos.add_(T)


class MultiHeadAttention(nn.Module):
    """Multi-head self-attention with one fused input projection ``qkv`` and an output projection ``proj``."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.n_head, self.d_head = n_head, d_model // n_head
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.proj = nn.Linear(d_model, d_model, bias=bias)
        self.dropout = dropout
        self.resid_dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        *,
        attention_mask: torch.Tensor | None = None,
        causal: bool = False,
        window: int | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
        explicit: bool = False,
        return_weights: bool = False,
    ):
        """x: (B, T, C) → (B, T, C), and the weights (B, nh, T, S) when ``return_weights``."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q = q.view(B, T, self.n_head, self.d_head).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, self.d_head).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, self.d_head).transpose(1, 2)  # (B, nh, T, hs)
        offset = 0
        if getattr(cache, "static", False):
            if attention_mask is not None or window is not None or not causal:
                raise ValueError(
                    "a StaticKVCache supports causal attention only, without attention_mask or window"
                )
            k, v = cache.append(layer, k, v)  # (B, nh, max_len, hs): the whole buffer, one shape every step
            S, simple_causal, mask = k.shape[2], False, cache.visible(T)  # (B, 1, T, max_len)
        else:
            if cache is not None:
                offset = cache.length
                k, v = cache.append(layer, k, v)  # (B, nh, S, hs) with S = offset + T
            S = k.shape[2]
            # With no padding and no window, a causal mask is implied by is_causal (only valid when T == S).
            simple_causal = causal and attention_mask is None and window is None and offset == 0
            mask = (
                None
                if simple_causal
                else build_mask(
                    T,
                    S,
                    attention_mask=attention_mask,
                    causal=causal,
                    offset=offset,
                    window=window,
                    device=x.device,
                )
            )
        p = self.dropout if self.training else 0.0
        weights = None
        if explicit or return_weights:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.d_head)  # (B, nh, T, S)
            if simple_causal:
                mask = build_mask(T, S, causal=True, device=x.device)
            if mask is not None:
                att = att.masked_fill(~mask, float("-inf"))
            weights = F.softmax(att.float(), dim=-1).to(q.dtype)
            y = F.dropout(weights, p, self.training) @ v  # (B, nh, T, hs)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p, is_causal=simple_causal)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # re-assemble the heads side by side: (B, T, C)
        y = self.resid_dropout(self.proj(y))
        return (y, weights) if return_weights else y


class FeedForward(nn.Module):
    """Position-wise ``fc → GELU → proj``; GPT-2 uses the tanh approximation of GELU, BERT the exact one."""

    def __init__(
        self, d_model: int, d_ff: int, dropout: float = 0.0, gelu_approx: str = "none", bias: bool = True
    ):
        super().__init__()
        self.fc = nn.Linear(d_model, d_ff, bias=bias)
        self.proj = nn.Linear(d_ff, d_model, bias=bias)
        self.gelu_approx = gelu_approx
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.proj(F.gelu(self.fc(x), approximate=self.gelu_approx)))


class Block(nn.Module):
    """Attention + feed-forward, with residuals and layer norms (pre-norm or post-norm).

    ``window``: the local attention window this block uses by default (``None`` = full attention).
    """

    def __init__(
        self,
        d_model: int,
        n_head: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = True,
        gelu_approx: str = "none",
        ln_eps: float = 1e-5,
        bias: bool = True,
        window: int | None = None,
    ):
        super().__init__()
        self.norm_first, self.window = norm_first, window
        self.ln1 = nn.LayerNorm(d_model, eps=ln_eps)
        self.attn = MultiHeadAttention(d_model, n_head, dropout, bias)
        self.ln2 = nn.LayerNorm(d_model, eps=ln_eps)
        self.mlp = FeedForward(d_model, d_ff, dropout, gelu_approx, bias)

    def forward(
        self,
        x: torch.Tensor,
        *,
        attention_mask=None,
        causal=False,
        cache=None,
        layer=0,
        explicit=False,
        return_weights=False,
    ):
        """x: (B, T, C) → (B, T, C) (and the attention weights (B, nh, T, S) when ``return_weights``)."""
        kw = dict(
            attention_mask=attention_mask,
            causal=causal,
            window=self.window,
            cache=cache,
            layer=layer,
            explicit=explicit,
            return_weights=return_weights,
        )
        if self.norm_first:
            a = self.attn(self.ln1(x), **kw)
            a, w = a if return_weights else (a, None)
            x = x + a
            x = x + self.mlp(self.ln2(x))
        else:
            a = self.attn(x, **kw)
            a, w = a if return_weights else (a, None)
            x = self.ln1(x + a)
            x = self.ln2(x + self.mlp(x))
        return (x, w) if return_weights else x
