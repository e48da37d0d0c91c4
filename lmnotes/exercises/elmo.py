"""Exercises of the ELMo chapter: the scalar mix, the backward LM's targets, perplexity from a loss."""
from __future__ import annotations

import math

import torch

from . import Wrong, exercise


def _close(a, b, tol=1e-5) -> bool:
    return torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=tol, rtol=tol)


# ---------------------------------------------------------------------------------------------
@exercise("scalar_mix", hint="s = softmax(w) over the layer dimension; then γ times the weighted sum of the layers")
def check_scalar_mix(fn):
    g = torch.Generator().manual_seed(0)
    layers = torch.randn(3, 2, 4, 6, generator=g)
    w = torch.tensor([1.5, -0.5, 0.25])
    gamma = torch.tensor(2.0)
    out = fn(layers, w, gamma)
    want = scalar_mix(layers, w, gamma)
    if not torch.is_tensor(out):
        raise Wrong(f"return a tensor, got {type(out).__name__}")
    if out.shape != want.shape:
        raise Wrong(f"layers has shape (L, B, T, D) = {tuple(layers.shape)}; the mix must have shape (B, T, D) = "
                    f"{tuple(want.shape)}, got {tuple(out.shape)}. Sum over the layer dimension (dim 0).")
    if _close(out, want):
        return
    if _close(out, gamma * (w.reshape(-1, 1, 1, 1) * layers).sum(0)):
        raise Wrong("you weighted the layers by w itself; the weights must be s = softmax(w), so they are positive "
                    "and sum to 1")
    if _close(out, scalar_mix(layers, w, torch.tensor(1.0))):
        raise Wrong("the weighted sum is right but γ (gamma) is missing: multiply the sum by gamma")
    if _close(out, gamma * layers.mean(0)):
        raise Wrong("you averaged the layers; each layer needs its own weight s_j = softmax(w)_j")
    raise Wrong("the result differs from γ · Σ_j softmax(w)_j · h_j; check the softmax is over the layers (dim 0)")


@check_scalar_mix.reference
def scalar_mix(layers, w, gamma):
    """layers (L, ..., D), w (L,), gamma () -> gamma * sum_j softmax(w)_j * layers[j]."""
    s = torch.softmax(w, dim=0)  # (L,): positive, sums to 1
    s = s.reshape(-1, *([1] * (layers.dim() - 1)))  # broadcast over (..., D)
    return gamma * (s * layers).sum(dim=0)


# ---------------------------------------------------------------------------------------------
@exercise("backward_targets", hint="the backward LM reads right to left: position k predicts the token at k - 1")
def check_backward_targets(fn):
    ids = torch.tensor([[5, 11, 12, 13, 6], [5, 21, 6, 0, 0]])
    out = fn(ids)
    want = backward_targets(ids)
    if not torch.is_tensor(out):
        raise Wrong(f"return a tensor, got {type(out).__name__}")
    if out.shape != ids.shape:
        raise Wrong(f"return one target per position, shape {tuple(ids.shape)}; got {tuple(out.shape)}")
    if torch.equal(out, want):
        return
    forward = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1)
    if torch.equal(out, forward):
        raise Wrong("these are the forward LM's targets (position k predicts k + 1); the backward LM predicts the "
                    "token to the LEFT, at k - 1")
    if torch.equal(out[:, 1:], want[:, 1:]) and out[0, 0] != 0:
        raise Wrong("position 0 (<S>) has no token to its left, so its target must be 0 (padding: no prediction)")
    shifted = torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], 1)
    if torch.equal(out, shifted):
        raise Wrong("a padding position must not predict anything: in the second sentence, [5, 21, 6, 0, 0], "
                    "positions 3 and 4 are padding, yet your target at position 3 is a real token (6, the end "
                    "marker </S>). Set the target of every padding position to 0")
    raise Wrong(f"for {ids.tolist()} the targets should be {want.tolist()}, got {out.tolist()}")


@check_backward_targets.reference
def backward_targets(word_ids):
    """word_ids (B, T), right-padded with 0 -> targets (B, T): position k predicts word_ids[:, k-1]; 0 = none."""
    pad = torch.zeros_like(word_ids[:, :1])
    targets = torch.cat([pad, word_ids[:, :-1]], dim=1)  # shift right: the token to the left
    return targets.masked_fill(word_ids == 0, 0)  # padding positions predict nothing


# ---------------------------------------------------------------------------------------------
@exercise("perplexity_from_loss", hint="cross-entropy in PyTorch is in nats (natural log)")
def check_perplexity_from_loss(fn):
    for loss in (0.0, 1.0, 2.5):
        out = fn(loss)
        try:
            out = float(out)
        except (TypeError, ValueError):
            raise Wrong(f"return a number, got {type(out).__name__}") from None
        want = math.exp(loss)
        if math.isclose(out, want, rel_tol=1e-6):
            continue
        if math.isclose(out, 2 ** loss, rel_tol=1e-6):
            raise Wrong("2 ** loss is the perplexity of a loss in bits; F.cross_entropy uses the natural log, so "
                        "use exp(loss)")
        if math.isclose(out, math.exp(-loss), rel_tol=1e-6):
            raise Wrong("exp(-loss) is the geometric-mean probability of the correct tokens; perplexity is its "
                        "inverse, exp(+loss)")
        if math.isclose(out, loss, rel_tol=1e-6):
            raise Wrong("you returned the loss itself; perplexity is exp(loss) (a loss of 0 means perplexity 1)")
        raise Wrong(f"a mean loss of {loss} nats is a perplexity of {want:.4f}, got {out:.4f}")


@check_perplexity_from_loss.reference
def perplexity_from_loss(mean_loss):
    """Mean cross-entropy per token, in nats -> perplexity (the effective number of equally likely choices)."""
    return math.exp(mean_loss)
