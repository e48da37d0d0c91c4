import pytest
import torch

from lmnotes.analysis import control_labels, layer_probe, probe_accuracy


def _separable(n=200, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def test_probe_reads_linear_property():
    X, y = _separable(400)
    acc = probe_accuracy(X[:300], y[:300], X[300:], y[300:], epochs=200)
    assert acc > 0.9


def test_probe_on_noise_is_near_chance():
    g = torch.Generator().manual_seed(1)
    X = torch.randn(400, 8, generator=g)
    y = torch.randint(0, 2, (400,), generator=g)
    acc = probe_accuracy(X[:300], y[:300], X[300:], y[300:])
    assert 0.3 < acc < 0.7


def test_layer_probe_ranks_layers():
    X, y = _separable(400)
    noise = torch.randn(400, 8, generator=torch.Generator().manual_seed(3))
    accs = layer_probe({"noise": (noise[:300], noise[300:]), "signal": (X[:300], X[300:])}, y[:300], y[300:])
    assert list(accs) == ["noise", "signal"]
    assert accs["signal"] > accs["noise"] + 0.2


def test_control_labels_one_label_per_word_type():
    words = ["bank", "bat", "bank", "crane", "bat", "bank"]
    labels = [0, 1, 1, 0, 0, 1]
    ctrl = control_labels(words, labels, seed=0)
    assert len(ctrl) == len(words)
    assert ctrl[0] == ctrl[2] == ctrl[5] and ctrl[1] == ctrl[4]
    assert set(ctrl) <= set(labels)
    assert control_labels(words, labels, seed=0) == ctrl


def test_probe_errors_name_the_problem():
    X, y = _separable(10)
    with pytest.raises(ValueError, match="same length"):
        probe_accuracy(X, y[:5], X, y)
    with pytest.raises(ValueError, match="features"):
        probe_accuracy(X, y, X[:, :3], y)
    with pytest.raises(ValueError, match="pair"):
        layer_probe({"a": X}, y, y)
    with pytest.raises(ValueError, match="same length"):
        control_labels(["a"], [0, 1])
