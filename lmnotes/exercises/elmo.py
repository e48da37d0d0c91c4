"""Exercises of the ELMo chapter: the scalar mix, the backward LM's targets, perplexity from a loss, the
input of a task model; questions on the number of representations, the learned mixes and data efficiency."""

from __future__ import annotations

import math

import torch

from . import Wrong, exercise, question


def _close(a, b, tol=1e-5) -> bool:
    return (
        torch.is_tensor(a) and a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=tol, rtol=tol)
    )


# ---------------------------------------------------------------------------------------------
@exercise(
    "scalar_mix",
    hint="the layer weights must be positive and sum to 1 whatever w is: which function of w "
    "does that? And γ scales the whole mix",
)
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
        raise Wrong(
            f"layers has shape (L, B, T, D) = {tuple(layers.shape)}; the mix must have shape (B, T, D) = "
            f"{tuple(want.shape)}, got {tuple(out.shape)}. Sum over the layer dimension (dim 0)."
        )
    if _close(out, want):
        return
    if _close(out, gamma * (w.reshape(-1, 1, 1, 1) * layers).sum(0)):
        raise Wrong(
            "you weighted the layers by w itself; the weights must be s = softmax(w), so they are positive "
            "and sum to 1"
        )
    if _close(out, scalar_mix(layers, w, torch.tensor(1.0))):
        raise Wrong("the weighted sum is right but γ (gamma) is missing: multiply the sum by gamma")
    if _close(out, gamma * layers.mean(0)):
        raise Wrong("you averaged the layers; each layer needs its own weight s_j = softmax(w)_j")
    raise Wrong(
        "the result differs from γ · Σ_j softmax(w)_j · h_j; check the softmax is over the layers (dim 0)"
    )


@check_scalar_mix.reference
def scalar_mix(layers, w, gamma):
    """layers (L, ..., D), w (L,), gamma () -> gamma * sum_j softmax(w)_j * layers[j]."""
    s = torch.softmax(w, dim=0)  # (L,): positive, sums to 1
    s = s.reshape(-1, *([1] * (layers.dim() - 1)))  # broadcast over (..., D)
    return gamma * (s * layers).sum(dim=0)


# ---------------------------------------------------------------------------------------------
@exercise(
    "backward_targets",
    hint="the backward LM reads right to left, so its next word is the one on the left; "
    "a position with nothing to predict gets 0",
)
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
        raise Wrong(
            "these are the forward LM's targets (position k predicts k + 1); the backward LM predicts the "
            "token to the LEFT, at k - 1"
        )
    if torch.equal(out[:, 1:], want[:, 1:]) and out[0, 0] != 0:
        raise Wrong(
            "position 0 (<S>) has no token to its left, so its target must be 0 (padding: no prediction)"
        )
    shifted = torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], 1)
    if torch.equal(out, shifted):
        raise Wrong(
            "a padding position must not predict anything: in the second sentence, [5, 21, 6, 0, 0], "
            "positions 3 and 4 are padding, yet your target at position 3 is a real token (6, the end "
            "marker </S>). Set the target of every padding position to 0"
        )
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
        if math.isclose(out, 2**loss, rel_tol=1e-6):
            raise Wrong(
                "2 ** loss is the perplexity of a loss in bits; F.cross_entropy uses the natural log, so "
                "use exp(loss)"
            )
        if math.isclose(out, math.exp(-loss), rel_tol=1e-6):
            raise Wrong(
                "exp(-loss) is the geometric-mean probability of the correct tokens; perplexity is its "
                "inverse, exp(+loss)"
            )
        if math.isclose(out, loss, rel_tol=1e-6):
            raise Wrong(
                "you returned the loss itself; perplexity is exp(loss) (a loss of 0 means perplexity 1)"
            )
        raise Wrong(f"a mean loss of {loss} nats is a perplexity of {want:.4f}, got {out:.4f}")


@check_perplexity_from_loss.reference
def perplexity_from_loss(mean_loss):
    """Mean cross-entropy per token, in nats -> perplexity (the effective number of equally likely choices)."""
    return math.exp(mean_loss)


# ---------------------------------------------------------------------------------------------
def _task_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(
        2, 5, 6, generator=g
    ).requires_grad_()  # the task's own word vectors (trained with the task)
    layers = torch.randn(3, 2, 5, 6, generator=g).requires_grad_()  # stands for the biLM's output
    w = torch.tensor([0.3, -1.0, 0.8], requires_grad=True)
    gamma = torch.tensor(1.5, requires_grad=True)
    return x, layers, w, gamma


@exercise(
    "elmo_task_input",
    hint="two vectors side by side along the feature dimension, the task's own first; "
    "and ask which of the four inputs the task's training may change",
)
def check_elmo_task_input(fn):
    x, layers, w, gamma = _task_inputs()
    out = fn(x, layers, w, gamma)
    if not torch.is_tensor(out):
        raise Wrong(f"return a tensor, got {type(out).__name__}")
    with torch.no_grad():
        mix = scalar_mix(layers, w, gamma)
        want = torch.cat([x, mix], -1)
    got = out.detach()
    if got.shape != want.shape:
        if _close(got, x.detach() + mix):
            raise Wrong(
                "you added x_k and ELMo_k; the task model reads them side by side: concatenate them "
                f"along the last dimension, shape {tuple(want.shape)}"
            )
        raise Wrong(
            f"x is (B, T, D0) = {tuple(x.shape)} and the layers (L, B, T, D) = {tuple(layers.shape)}; "
            f"[x_k; ELMo_k] has shape (B, T, D0 + D) = {tuple(want.shape)}, got {tuple(got.shape)}"
        )
    if _close(got, torch.cat([mix, x.detach()], -1)):
        raise Wrong("x_k comes first: the task model's input is [x_k; ELMo_k]")
    if not _close(got, want):
        D0 = x.shape[-1]
        if _close(got[..., :D0], x.detach()):
            part = got[..., D0:]
            if _close(part, gamma.detach() * (w.detach().reshape(-1, 1, 1, 1) * layers.detach()).sum(0)):
                raise Wrong("the ELMo half weights the layers by w itself; the weights are softmax(w)")
            if _close(part, scalar_mix(layers.detach(), w.detach(), torch.tensor(1.0))):
                raise Wrong("the ELMo half is missing γ: ELMo_k = γ Σ_j softmax(w)_j h_kj")
            raise Wrong("the first half (x_k) is right; the second half differs from γ Σ_j softmax(w)_j h_kj")
        raise Wrong("the result differs from [x_k; γ Σ_j softmax(w)_j h_kj]")
    if not out.requires_grad:
        raise Wrong(
            "no gradient flows through your result at all: only the biLM is frozen; x, w and γ are "
            "learned with the task (did you compute it under torch.no_grad()?)"
        )
    out.sum().backward()
    if layers.grad is not None and layers.grad.abs().sum() > 0:
        raise Wrong(
            "gradients flow into the biLM's layers: ELMo keeps the biLM frozen while the task trains. "
            "Detach the layers (w and γ are still learned)"
        )
    if w.grad is None or gamma.grad is None or w.grad.abs().sum() == 0:
        raise Wrong(
            "no gradient reaches w or γ: the mix is learned with the task, so detach the biLM's layers "
            "only, not the weights"
        )
    if x.grad is None or x.grad.abs().sum() == 0:
        raise Wrong(
            "no gradient reaches x: the task's own word vectors are trained with the task; detach only "
            "the biLM's layers"
        )


@check_elmo_task_input.reference
def elmo_task_input(x, layers, w, gamma):
    """x (B, T, D0) the task's word vectors, layers (L, B, T, D) from the biLM -> [x_k; ELMo_k] (B, T, D0 + D)."""
    elmo = scalar_mix(layers.detach(), w, gamma)  # the biLM is frozen: no gradient into it; w and γ learn
    return torch.cat([x, elmo], dim=-1)


# --------------------------------------------------------------------------------------------- questions
question(
    "elmo_vectors_per_token",
    5,
    "With L = 2 the biLM computes, for every token, the token layer x_k (shared by both directions) and a "
    "forward and a backward state in each of the 2 LSTM layers: 2L + 1 = 5 vectors. ELMo concatenates each "
    "layer's forward and backward states, which leaves L + 1 = 3 representations h_k0, h_k1, h_k2.",
    mistakes={
        3: "that is L + 1, the count after each layer's forward and backward states are concatenated; "
        "the question counts them apart",
        4: "you left out the token layer x_k (layer 0), which both directions share",
        6: "the token layer x_k is shared by both directions: count it once",
        2: "each of the 2 layers has a forward and a backward state, and there is the token layer too",
    },
)

question(
    "token_layer_weight",
    "a",
    "The token layer gives every `bank` the same vector, so it carries nothing for the sense; the far-cue mix "
    "puts almost no weight on it and the rest on the biLSTM layers (which of the two depends on the run). For the "
    "part of speech, layers 1 and 2 both solve the task perfectly, so the loss does not care how the weight "
    "is spread, and some of it stays on the token layer.",
    choices={"a": "the part-of-speech task", "b": "the far-cue sense task", "c": "both about the same"},
    mistakes={
        "b": "for `bank` the token layer is one vector whatever the sense: what would weight on it buy?",
        "c": "one task has a reason to move weight away from the token layer; the other barely does",
    },
)

question(
    "static_few_labels",
    "a",
    "The token layer gives `watch` one vector whether it is a noun or a verb, so a classifier on it can at "
    "best learn which part of speech each word has more often, and every one of these words is a noun about "
    "as often as a verb: a coin toss, however many labels it gets. More labels help a model only if its "
    "features carry the answer.",
    choices={"a": "near chance (about 0.5)", "b": "about 0.75", "c": "above 0.95, like ELMo"},
    mistakes={
        "b": "more labels cannot make up for features that are the same for the noun and the verb",
        "c": "layer 0 sees each word alone: does `watch` alone say whether it is a noun?",
    },
)
