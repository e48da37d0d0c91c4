"""The ELMo exercises: each reference passes, and a typical wrong answer gets its specific message."""
from __future__ import annotations

import math

import torch

from lmnotes.exercises import reference, run_check


def _wrong(name, fn, words):
    status, msg = run_check(name, fn)
    assert status == "wrong" and words in msg, msg


def test_references_pass():
    for name in ("scalar_mix", "backward_targets", "perplexity_from_loss"):
        assert run_check(name, reference(name))[0] == "correct"


def test_not_attempted():
    def stub(*a):
        raise NotImplementedError
    assert run_check("scalar_mix", stub)[0] == "not attempted"


def test_scalar_mix_mistakes():
    _wrong("scalar_mix", lambda h, w, g: g * (w.reshape(-1, 1, 1, 1) * h).sum(0), "softmax(w)")
    _wrong("scalar_mix", lambda h, w, g: (torch.softmax(w, 0).reshape(-1, 1, 1, 1) * h).sum(0), "gamma")
    _wrong("scalar_mix", lambda h, w, g: g * h.mean(0), "averaged")
    _wrong("scalar_mix", lambda h, w, g: g * h, "shape")


def test_backward_targets_mistakes():
    _wrong("backward_targets", lambda ids: torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1), "forward LM")
    _wrong("backward_targets", lambda ids: torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], 1), "padding")
    _wrong("backward_targets", lambda ids: torch.cat([ids[:, :1], ids[:, :-1]], 1).masked_fill(ids == 0, 0), "<S>")


def test_perplexity_mistakes():
    _wrong("perplexity_from_loss", lambda l: 2 ** l, "bits")
    _wrong("perplexity_from_loss", lambda l: math.exp(-l), "inverse")
    _wrong("perplexity_from_loss", lambda l: l, "loss itself")
