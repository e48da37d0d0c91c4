"""Mixed precision in `fit`: which dtype it picks for which GPU (capabilities mocked), and the float16 +
gradient-scaler path, run for real on the CPU (torch's CPU autocast supports float16)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmnotes import train
from lmnotes.train import AmpChoice, amp_choice, fit


def model():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Embedding(12, 16),
        nn.Flatten(),
        nn.Linear(16 * 5, 32),
        nn.GELU(),
        nn.LayerNorm(32),
        nn.Linear(32, 3),
    )


def batches():
    g = torch.Generator().manual_seed(1)
    return [
        (torch.randint(0, 12, (32, 5), generator=g), torch.randint(0, 3, (32,), generator=g))
        for _ in range(4)
    ]


@pytest.mark.parametrize(
    "capability, dtype, scaler",
    [
        ((7, 5), torch.float16, True),  # T4 (Colab's free GPU)
        ((7, 0), torch.float16, True),  # V100
        ((8, 0), torch.bfloat16, False),  # A100
        ((9, 0), torch.bfloat16, False),
    ],
)  # H100 / H200
def test_gpu_choice_follows_compute_capability(monkeypatch, capability, dtype, scaler):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    c = amp_choice(torch.device("cuda"))
    assert (c.dtype, c.scaler) == (dtype, scaler)
    assert f"{capability[0]}.{capability[1]}" in c.why and str(dtype)[6:] in c.why
    assert amp_choice(torch.device("cuda"), False).dtype is None  # amp=False: float32 on any GPU


def test_cpu_uses_float32_unless_asked():
    assert amp_choice(torch.device("cpu")) == AmpChoice(None, False, amp_choice("cpu").why)
    assert "float32" in amp_choice("cpu").why
    assert amp_choice("cpu", "float16") == AmpChoice(
        torch.float16, True, amp_choice("cpu", torch.float16).why
    )
    assert amp_choice("cpu", "bf16").dtype == torch.bfloat16 and not amp_choice("cpu", "bf16").scaler
    for bad in ("int8", torch.float64, 3):
        with pytest.raises(ValueError, match="amp must be"):
            amp_choice("cpu", bad)


def test_float16_with_scaler_trains_on_cpu_and_says_so(capsys, monkeypatch):
    monkeypatch.setattr(train, "_ANNOUNCED", set())
    dtypes = []

    def loss_fn(m, b):
        logits = m(b[0])
        dtypes.append(logits.dtype)
        return F.cross_entropy(logits.float(), b[1])

    m = model()
    h = fit(m, batches(), loss_fn, steps=40, lr=1e-2, amp="float16", progress=False)
    assert dtypes[0] == torch.float16  # the forward really ran in float16
    assert all(p.dtype == torch.float32 for p in m.parameters())  # the weights stay float32
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["loss_scale"][0] == 2.0**16  # GradScaler's starting scale, logged every step
    assert "float16 autocast on cpu (asked for) with a gradient scaler" in capsys.readouterr().out
    fit(model(), batches(), loss_fn, steps=1, amp="float16", progress=False)
    assert capsys.readouterr().out == ""  # said once per process, not at every call


def test_scaler_skips_overflowing_updates_and_lowers_the_scale():
    # A loss 100x larger overflows float16 in backward at the starting scale of 2**16.
    def big_loss(m, b):
        return 100 * F.cross_entropy(m(b[0]).float(), b[1])

    m = model()
    before = [p.detach().clone() for p in m.parameters()]
    h = fit(m, batches(), big_loss, steps=1, amp="float16", progress=False)
    assert not math.isfinite(h["grad_norm"][0])  # the gradient overflowed ...
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))  # ... and the update was skipped

    m = model()
    h = fit(m, batches(), big_loss, steps=20, lr=1e-2, amp="float16", progress=False)
    scales = h["loss_scale"]
    assert scales[1] == scales[0] / 2 and min(scales) < 2.0**16  # halved after each overflow
    assert math.isfinite(h["grad_norm"][-1]) and all(torch.isfinite(p).all() for p in m.parameters())
    assert h["loss"][-1] < 0.8 * h["loss"][0]


def test_float32_on_cpu_by_default_logs_no_scale():
    h = fit(model(), batches(), lambda m, b: F.cross_entropy(m(b[0]), b[1]), steps=2, progress=False)
    assert "loss_scale" not in h
