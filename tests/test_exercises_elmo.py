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
    _wrong(
        "backward_targets", lambda ids: torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], 1), "forward LM"
    )
    _wrong(
        "backward_targets", lambda ids: torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], 1), "padding"
    )
    _wrong(
        "backward_targets",
        lambda ids: torch.cat([ids[:, :1], ids[:, :-1]], 1).masked_fill(ids == 0, 0),
        "<S>",
    )


def test_perplexity_mistakes():
    _wrong("perplexity_from_loss", lambda l: 2**l, "bits")
    _wrong("perplexity_from_loss", lambda l: math.exp(-l), "inverse")
    _wrong("perplexity_from_loss", lambda l: l, "loss itself")


def _task(fn):
    return run_check("elmo_task_input", fn)


def _mix(h, w, g):
    return g * (torch.softmax(w, 0).reshape(-1, 1, 1, 1) * h).sum(0)


def test_elmo_task_input_reference_and_stub():
    assert _task(reference("elmo_task_input"))[0] == "correct"

    def stub(*a):
        raise NotImplementedError

    assert _task(stub)[0] == "not attempted"


def test_elmo_task_input_mistakes():
    _wrong("elmo_task_input", lambda x, h, w, g: torch.cat([x, _mix(h, w, g)], -1), "biLM's layers")
    _wrong(
        "elmo_task_input",
        lambda x, h, w, g: torch.cat([x, _mix(h.detach(), w.detach(), g.detach())], -1),
        "no gradient reaches w",
    )
    _wrong(
        "elmo_task_input",
        lambda x, h, w, g: torch.cat([x.detach(), _mix(h.detach(), w, g)], -1),
        "no gradient reaches x",
    )
    _wrong(
        "elmo_task_input", lambda x, h, w, g: torch.cat([_mix(h.detach(), w, g), x], -1), "x_k comes first"
    )
    _wrong("elmo_task_input", lambda x, h, w, g: x + _mix(h.detach(), w, g), "you added")
    _wrong("elmo_task_input", lambda x, h, w, g: torch.cat([x, _mix(h.detach(), w, 1.0)], -1), "missing γ")
    _wrong(
        "elmo_task_input",
        lambda x, h, w, g: torch.cat([x, g * (w.reshape(-1, 1, 1, 1) * h.detach()).sum(0)], -1),
        "softmax(w)",
    )

    def no_grad(x, h, w, g):
        with torch.no_grad():
            return torch.cat([x, _mix(h, w, g)], -1)

    _wrong("elmo_task_input", no_grad, "no gradient flows")


def test_questions():
    assert run_check("elmo_vectors_per_token", 5)[0] == "correct"
    _wrong("elmo_vectors_per_token", 3, "L + 1")
    _wrong("elmo_vectors_per_token", 4, "token layer")
    _wrong("elmo_vectors_per_token", 6, "count it once")
    assert run_check("token_layer_weight", "a")[0] == "correct"
    _wrong("token_layer_weight", "b", "one vector whatever the sense")
    assert run_check("static_few_labels", "(a)")[0] == "correct"
    _wrong("static_few_labels", "c", "does `watch` alone say")
    assert run_check("static_few_labels", None)[0] == "not attempted"
